"""The alert schema of the data contract, stable ids and evidence references.

Examples
--------
>>> alert_id("payments.duplicate", "payee_account", "6222001", "V001|V002")
'...'
>>> len(alert_id("payments.duplicate", "payee_account", "6222001", "V001|V002"))
16
>>> escape_key("a;b|c%d")
'a%3Bb%7Cc%25d'
>>> import polars as pl
>>> df = pl.DataFrame({"unit_id": ["U1"], "employee_id": ["E;2"], "month": ["2025-05"]})
>>> df.select(ref("payroll", "unit_id", "employee_id", "month"))["ref"][0]
'payroll:U1|E%3B2|2025-05'
"""

from __future__ import annotations

import hashlib

import polars as pl

from auditlib.schemas import MONEY, datetime_type

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
SEP = "\x1f"


def alert_schema(timezone: str = "UTC") -> pl.Schema:
    """The columns of an alert frame, in order."""
    return pl.Schema(
        {
            "alert_id": pl.String(),
            "detector_id": pl.String(),
            "severity": pl.String(),
            "score": pl.Float64(),
            "entity_type": pl.String(),
            "entity_id": pl.String(),
            "unit_id": pl.String(),
            "event_time": datetime_type(timezone),
            "title": pl.String(),
            "title_en": pl.String(),
            "explanation": pl.String(),
            "explanation_en": pl.String(),
            "amount": MONEY,
            "evidence": pl.List(pl.String()),
        }
    )


def empty_alerts(timezone: str = "UTC") -> pl.DataFrame:
    return pl.DataFrame(schema=alert_schema(timezone))


def alert_id(detector_id: str, entity_type: str, entity_id: str, finding_key: str) -> str:
    """First 16 hex digits of SHA-256 over the four parts joined by U+001F (the contract)."""
    raw = SEP.join((detector_id, entity_type, entity_id, finding_key)).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:16]


def escape_key(value: str) -> str:
    """Escape ``%``, ``;`` and ``|`` inside one key value of an evidence reference."""
    return value.replace("%", "%25").replace(";", "%3B").replace("|", "%7C")


def escape_expr(expr: pl.Expr) -> pl.Expr:
    return (
        expr.cast(pl.String)
        .str.replace_all("%", "%25", literal=True)
        .str.replace_all(";", "%3B", literal=True)
        .str.replace_all("|", "%7C", literal=True)
    )


def ref(table: str, *key_cols: str) -> pl.Expr:
    """An expression building ``table:key`` evidence references (composite keys by ``|``)."""
    parts: list[pl.Expr] = []
    for i, c in enumerate(key_cols):
        if i:
            parts.append(pl.lit("|"))
        parts.append(escape_expr(pl.col(c)))
    return pl.concat_str(pl.lit(f"{table}:"), *parts).alias("ref")


def parse_ref(text: str) -> tuple[str, tuple[str, ...]]:
    """Split a reference into its table and unescaped key values."""
    table, _, key = text.partition(":")
    vals = tuple(
        v.replace("%7C", "|").replace("%3B", ";").replace("%25", "%") for v in key.split("|")
    )
    return table, vals

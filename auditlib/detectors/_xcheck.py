"""Shared steps of the ``xcheck.*`` detectors: the business log against the database log
(the "double insurance", 双保险) — a private module.

Business events and DB statements are tied by the *object*: the voucher or indicator
number a business event names (``object_id``) found in a statement's text or its bound
parameters. Candidate tokens are extracted with a regex of the id shapes the business
log shows (:func:`auditlib.detectors._dblog.id_pattern`) and joined to the set of
business ids, so no statement is scanned per id.

Examples
--------
>>> set_values("UPDATE payment SET amount = $1, memo = 'x' WHERE voucher_id = $2", "1200.50,V1", "postgres")
{'amount': '1200.50', 'memo': 'x'}
>>> set_values("UPDATE payment SET amount = amount + 1", None, "postgres")
{}
>>> same_value("1,200.50", "1200.5"), same_value("6222 0101", "62220101"), same_value("A", "B")
(True, True, False)
"""

from __future__ import annotations

import csv
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import polars as pl
from sqlglot import exp

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import (
    WRITE_VERBS,
    add_statement_key,
    id_pattern,
    object_tokens,
    prepare,
)
from auditlib.detectors._dbsql import parse
from auditlib.detectors.base import fmt_money
from auditlib.exprs import action_key, succeeded

OBJECT_ZH = {
    "voucher": "凭证",
    "indicator": "指标",
    "payee": "收款人",
    "user": "用户",
    "report": "报表",
    "config": "配置",
}


NOT_DATA = ("user", "report", "config")
"""Business object types that are not rows of the audited data (log-ins name the user)."""
SESSION_ACTIONS = ("login", "logout")


def business(lf: pl.LazyFrame, ctx) -> pl.LazyFrame:
    """Successful business operations on a data object (voucher, indicator, payee...;
    not log-ins, users, reports or configuration), times in the run's zone."""
    return lf.with_columns(
        pl.col("event_time").dt.convert_time_zone(ctx.timezone),
        action_key(pl.col("action")).alias("action"),
        action_key(pl.col("object_type")).alias("object_type"),
    ).filter(
        succeeded(pl.col("result"))
        & pl.col("object_id").is_not_null()
        & pl.col("event_time").is_not_null()
        & ~pl.col("action").is_in(SESSION_ACTIONS)
        & ~pl.col("object_type").fill_null("").is_in(NOT_DATA)
    )


def span(lf: pl.LazyFrame) -> tuple:
    """First and last ``event_time`` of a log (None, None when empty)."""
    row = lf.select(
        pl.col("event_time").min().alias("a"), pl.col("event_time").max().alias("b")
    ).collect()
    return row["a"][0], row["b"][0]


def writes(
    audit: pl.LazyFrame,
    ctx,
    *,
    users: list[str] | None = None,
    verbs: tuple[str, ...] = WRITE_VERBS,
) -> pl.DataFrame:
    """Successful DB writes (of ``users`` if given) as ``prepare`` rows with a ``stmt`` key."""
    lf = prepare(audit, ctx).filter(
        pl.col("ok")
        & pl.col("event_time").is_not_null()
        & (pl.col("verb").is_in(verbs) | (pl.col("audit_class") == "WRITE"))
    )
    if users is not None:
        lf = lf.filter(pl.col("user").is_in(users))
    return add_statement_key(lf.collect())


def statements(df: pl.DataFrame, *extra: pl.Expr) -> pl.DataFrame:
    """One row per statement of :func:`writes` rows: first event, time, account, text,
    parameters, command and evidence refs (plus ``extra`` aggregations)."""
    has_stmt = pl.col("statement").is_not_null()
    opt = [pl.col("template").drop_nulls().first()] if "template" in df.columns else []
    return (
        df.with_columns(ref("db_audit", "event_id"))
        .sort("stmt", "event_time", "event_id")
        .group_by("stmt")
        .agg(  # rows keep their order within a group
            pl.col("event_id").first().alias("db_event"),
            pl.col("event_time").first().alias("db_time"),
            pl.col("db_user").first(),
            pl.col("user").first(),
            pl.col("dialect").first(),
            pl.col("statement").drop_nulls().first(),
            pl.col("parameter").drop_nulls().first(),
            pl.coalesce(pl.col("verb").filter(has_stmt).first(), pl.col("verb").first()).alias(
                "command"
            ),
            pl.col("ref").alias("evidence"),
            *opt,
            *extra,
        )
    )


def links(stmts: pl.DataFrame, biz: pl.DataFrame) -> pl.DataFrame:
    """``(stmt, object_id)`` for business object ids found in the statements' text or
    parameters (``biz`` holds ``object_id``)."""
    pattern = id_pattern(biz["object_id"])
    return object_tokens(stmts, biz.select("object_id"), pattern)


def gap_text(col: str, lang: str) -> pl.Expr:
    """A duration as ``12.5 分钟`` / ``3.0 hours`` / ``11.2 days``, whichever reads best."""
    sec = pl.col(col).dt.total_seconds()
    units = ("分钟", "小时", "天") if lang == "zh" else ("minutes", "hours", "days")
    return (
        pl.when(sec < 2 * 3600)
        .then(pl.format("{} " + units[0], (sec / 60).round(1)))
        .when(sec < 2 * 86400)
        .then(pl.format("{} " + units[1], (sec / 3600).round(1)))
        .otherwise(pl.format("{} " + units[2], (sec / 86400).round(1)))
    )


def money_text(col: str) -> pl.Expr:
    """Money as ``1,234.50`` (null stays null)."""
    return pl.col(col).map_elements(fmt_money, return_dtype=pl.String)


def within(tolerance_s: int, a: str = "db_time", b: str = "biz_time") -> pl.Expr:
    """``a`` and ``b`` at most ``tolerance_s`` seconds apart."""
    return (pl.col(a) - pl.col(b)).abs() <= pl.duration(seconds=tolerance_s)


# ------------------------------------------------------------------------------ values
def _params(parameter: str | None) -> list[str | None]:
    if not parameter:
        return []
    try:
        row = next(csv.reader([parameter]))
    except (csv.Error, StopIteration):
        return []
    return [v if v != "" else None for v in row]


def _literal(
    node: exp.Expression, params: list[str | None], order: dict[int, int]
) -> tuple[bool, str | None]:
    """``(visible, value)`` of a SET value: a literal, NULL, a cast literal, or a bound
    parameter (``$n`` / ``?``) with its logged value."""
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return True, "-" + node.this.this
    if isinstance(node, exp.Literal):
        return True, node.this
    if isinstance(node, exp.Null):
        return True, None
    if (
        isinstance(node, exp.Parameter)
        and isinstance(node.this, exp.Literal)
        and not node.this.is_string
    ):
        i = int(node.this.this) - 1
        return (True, params[i]) if 0 <= i < len(params) else (False, None)
    if isinstance(node, exp.Placeholder) and id(node) in order:
        i = order[id(node)]
        return (True, params[i]) if i < len(params) else (False, None)
    return False, None


@lru_cache(maxsize=65536)
def _set_values(
    statement: str, parameter: str | None, dialect: str
) -> tuple[tuple[str, str | None], ...]:
    stmts = parse(statement, dialect)
    upd = next((s for s in stmts or () if isinstance(s, exp.Update)), None)
    if upd is None:
        return ()
    params = _params(parameter)
    order = {id(p): i for i, p in enumerate(upd.find_all(exp.Placeholder, bfs=False))}
    out = []
    for eq in upd.expressions:
        if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
            visible, value = _literal(eq.expression, params, order)
            if visible:
                out.append((eq.this.name.lower(), value))
    return tuple(out)


def set_values(statement: str, parameter: str | None, dialect: str) -> dict[str, str | None]:
    """Column → new value of an UPDATE's SET clause where the value is visible (literals,
    and bound parameters when the log has them); expressions are left out."""
    return dict(_set_values(statement, parameter, dialect))


def _norm(v: str) -> str:
    return "".join(unicodedata.normalize("NFKC", v).split()).strip("'\"")


def same_value(a: str | None, b: str | None) -> bool:
    """Whether two logged values are the same: numbers numerically (thousands separators
    allowed), other text after NFKC with spaces removed."""
    if a is None or b is None:
        return a is b
    x, y = _norm(a), _norm(b)
    try:
        return Decimal(x.replace(",", "")) == Decimal(y.replace(",", ""))
    except InvalidOperation:
        return x == y

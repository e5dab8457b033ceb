"""``payments.duplicate`` and ``payments.split`` as DuckDB SQL over the Parquet file.

The same findings as the polars detectors:

- loading types the table as ``auditlib.io.tables.load_dir`` does (ids
  trimmed of ASCII/full-width spaces, empty → NULL; money as exact BIGINT fen;
  enumerations mapped; naive times read in the ``timezone`` setting) into an
  in-memory table, and rejects it for a missing required value or a duplicate
  ``voucher_id``;
- ``duplicate`` is one ``lag()`` window per (unit, account, amount) ordered by
  date and voucher; the purpose's billing period is computed only for the
  candidate pairs (NFKC through a vectorised pyarrow UDF: DuckDB has only NFC);
- ``split`` sums each part's window ``[this part, day + window]`` with a
  ``RANGE`` frame minus the same-day parts that sort before it (the polars rule
  orders by date *then* voucher and windows start at the part itself), and
  merges overlapping windows with running maxima (gaps and islands).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

try:
    from benchmarks.common import (
        CN_NUM,
        ENUM_DEFAULT,
        KINDS,
        PERIOD_ISO,
        PERIOD_M,
        PERIOD_Q,
        PERIOD_YM,
        REQUIRED,
        SPACES,
        enum_lookup,
        resolve_header,
    )
except ImportError:  # run as a script from benchmarks/
    from common import (  # type: ignore[no-redef]
        CN_NUM,
        ENUM_DEFAULT,
        KINDS,
        PERIOD_ISO,
        PERIOD_M,
        PERIOD_Q,
        PERIOD_YM,
        REQUIRED,
        SPACES,
        enum_lookup,
        resolve_header,
    )


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.create_function(
        "nfkc",
        lambda a: pc.utf8_normalize(a, "NFKC"),
        [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"),
        type="arrow",
    )
    q = "nullif(regexp_extract(s, {p}, {g}), '')"
    x = lambda p, g: q.format(p=_lit(p), g=g)  # noqa: E731
    strip0 = (
        "CASE WHEN regexp_full_match({m}, '[0-9]+') THEN CAST(CAST({m} AS HUGEINT) AS VARCHAR) END"
    )
    qd = x(PERIOD_Q, 1)
    for cn, d in CN_NUM.items():
        qd = f"replace({qd}, {_lit(cn)}, {_lit(d)})"
    con.execute(
        "CREATE MACRO period_n(s) AS coalesce("
        f"{x(PERIOD_YM, 1)} || '-' || {strip0.format(m=x(PERIOD_YM, 2))}, "
        f"{x(PERIOD_ISO, 1)} || '-' || {strip0.format(m=x(PERIOD_ISO, 2))}, "
        f"{strip0.format(m=x(PERIOD_M, 1))}, "
        f"'Q' || {qd})"
    )
    con.execute(
        "CREATE MACRO ref(v) AS 'payments:' || "
        "replace(replace(replace(v, '%', '%25'), ';', '%3B'), '|', '%7C')"
    )
    return con


def load_payments(
    con: duckdb.DuckDBPyConnection, path: Path, timezone: str = "Asia/Shanghai"
) -> None:
    """Create table ``payments`` typed per the data contract (see the module docstring)."""
    con.execute(f"SET TimeZone = {_lit(timezone)}")
    src = f"read_parquet({_lit(str(path))})"
    schema = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    cols = {resolve_header(name) or name: (name, typ) for name, typ, *_ in schema}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise ValueError(f"{path}: required column '{missing[0]}' is missing")
    sp = _lit(SPACES)
    exprs = []
    for name, kind in KINDS.items():
        if name not in cols:
            exprs.append(f"NULL::VARCHAR AS {name}")
            continue
        raw, typ = cols[name]
        c = _ident(raw)
        if kind == "id":
            exprs.append(f"nullif(trim(CAST({c} AS VARCHAR), {sp}), '') AS {name}")
        elif kind == "text":
            exprs.append(
                f"CASE WHEN length(trim(CAST({c} AS VARCHAR), {sp})) > 0 "
                f"THEN CAST({c} AS VARCHAR) END AS {name}"
            )
        elif kind == "money":
            if not typ.upper().startswith("DECIMAL"):
                raise TypeError(f"amount: expected a decimal Parquet column, got {typ}")
            exprs.append(f"CAST(CAST({c} AS DECIMAL(38, 2)) * 100 AS BIGINT) AS fen")
        elif kind == "date":
            exprs.append(f"CAST({c} AS DATE) AS {name}")
        elif kind == "datetime":
            if "TIME ZONE" in typ.upper():
                exprs.append(f"CAST({c} AS TIMESTAMPTZ) AS {name}")
            else:
                exprs.append(f"timezone({_lit(timezone)}, CAST({c} AS TIMESTAMP)) AS {name}")
        elif kind == "enum":
            s = f"nullif(trim(CAST({c} AS VARCHAR), {sp}), '')"
            cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in enum_lookup(name).items())
            mapped = f"CASE lower({s}) {cases} END"
            default = ENUM_DEFAULT.get(name)
            if default is not None:
                mapped = f"CASE WHEN {s} IS NULL THEN {_lit(default)} ELSE {mapped} END"
            exprs.append(f"{mapped} AS {name}")
    con.execute(f"CREATE OR REPLACE TABLE payments AS SELECT {', '.join(exprs)} FROM {src}")
    req = [("fen" if c == "amount" else c) for c in REQUIRED]
    counts = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in req)
        + " FROM payments"
    ).fetchone()
    for c, n in zip(REQUIRED, counts, strict=True):
        if n:
            raise ValueError(f"{path}: {n} row(s) miss a value in required column '{c}'")
    dup = con.execute(
        "SELECT voucher_id FROM payments GROUP BY voucher_id HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if dup:
        raise ValueError(f"{path}: duplicate key voucher_id = {dup[0]!r}; the table is not loaded")


def duplicate(
    con: duckdb.DuckDBPyConnection, *, window_days: int = 10, min_amount: float = 0.0
) -> pa.Table:
    sql = f"""
    WITH a AS (
        SELECT unit_id, payee_account, fen, voucher_id, pay_date, purpose
        FROM payments
        WHERE coalesce(status, 'paid') = 'paid' AND fen > 0 AND fen / 100.0 >= {float(min_amount)!r}
    ), p AS (
        SELECT unit_id, payee_account, fen, voucher_id, purpose,
               lag(voucher_id) OVER w AS first_voucher,
               lag(purpose) OVER w AS first_purpose,
               pay_date - lag(pay_date) OVER w AS gap
        FROM a
        WINDOW w AS (PARTITION BY unit_id, payee_account, fen ORDER BY pay_date, voucher_id)
    ), c AS (
        SELECT *, nfkc(purpose) AS n2, nfkc(first_purpose) AS n1
        FROM p WHERE first_voucher IS NOT NULL AND gap <= {int(window_days)}
    ), t AS (
        SELECT *, period_n(n1) AS p1, period_n(n2) AS p2 FROM c
    )
    SELECT 'payments.duplicate' AS detector_id, payee_account AS entity_id,
           first_voucher || '|' || voucher_id AS finding_key, unit_id, fen AS amount_fen,
           [ref(first_voucher), ref(voucher_id)] AS evidence
    FROM t
    WHERE NOT (p1 IS NOT NULL AND p2 IS NOT NULL AND p1 <> p2)
    """
    return con.sql(sql).to_arrow_table()


def split(
    con: duckdb.DuckDBPyConnection,
    *,
    threshold: float = 50000.0,
    window_days: int = 7,
    min_parts: int = 2,
) -> pa.Table:
    limit = round(threshold * 100)
    sql = f"""
    WITH s AS (
        SELECT unit_id, payee_account, voucher_id, fen, pay_date - DATE '1970-01-01' AS d
        FROM payments
        WHERE coalesce(status, 'paid') = 'paid' AND fen > 0 AND fen < {limit}
    ), w AS (
        SELECT *,
            row_number() OVER o AS rn,
            sum(fen) OVER r AS range_sum,
            count(*) OVER r AS range_cnt,
            coalesce(sum(fen) OVER b, 0) AS before_sum,
            count(*) OVER b AS before_cnt
        FROM s
        WINDOW o AS (PARTITION BY unit_id, payee_account ORDER BY d, voucher_id),
               r AS (PARTITION BY unit_id, payee_account ORDER BY d
                     RANGE BETWEEN CURRENT ROW AND {int(window_days)} FOLLOWING),
               b AS (PARTITION BY unit_id, payee_account, d ORDER BY voucher_id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ), f AS (
        SELECT unit_id, payee_account, voucher_id, fen, rn,
               (range_sum - before_sum > {limit}
                AND range_cnt - before_cnt >= {int(min_parts)}) AS flagged,
               rn + range_cnt - before_cnt - 1 AS end_rn
        FROM w
    ), c AS (
        SELECT *,
            max(CASE WHEN flagged THEN end_rn END) OVER (o ROWS UNBOUNDED PRECEDING) AS reach,
            coalesce(max(CASE WHEN flagged THEN end_rn END)
                     OVER (o ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS prev_reach
        FROM f
        WINDOW o AS (PARTITION BY unit_id, payee_account ORDER BY rn)
    ), m AS (
        SELECT *,
            sum(CASE WHEN flagged AND prev_reach < rn THEN 1 ELSE 0 END)
                OVER (PARTITION BY unit_id, payee_account ORDER BY rn
                      ROWS UNBOUNDED PRECEDING) AS cluster
        FROM c WHERE reach >= rn
    )
    SELECT 'payments.split' AS detector_id, payee_account AS entity_id,
           payee_account || '|' || first(voucher_id ORDER BY rn) AS finding_key,
           unit_id, CAST(sum(fen) AS BIGINT) AS amount_fen,
           list(ref(voucher_id) ORDER BY rn) AS evidence
    FROM m
    GROUP BY unit_id, payee_account, cluster
    """
    return con.sql(sql).to_arrow_table()

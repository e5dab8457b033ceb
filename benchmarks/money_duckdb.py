"""The money rules as DuckDB SQL: the other twins polars is measured against.

The same findings as the polars detectors (``budget.overrun``,
``budget.class_mismatch``, ``sangong.total``, ``sangong.final_accounts``,
``amount.benford``'s ``benford_table``, ``subsidy.duplicate``,
``payroll.multi_unit``, ``funds.own_account``, ``timing.off_hours``), each one SQL
statement over typed in-memory tables:

- loading types every column of every table the rules read as ``load_dir`` does
  (payments by :func:`benchmarks.duckdb_rules.load_payments`, the others by
  :func:`load_table`: ids trimmed, empty → NULL, money as exact BIGINT fen,
  enumerations and months parsed, required values and keys checked);
- the running total of ``budget.overrun`` is a ``ROWS UNBOUNDED PRECEDING`` window
  ordered by date and voucher; the catch-up gap of ``subsidy.duplicate`` a ``lag``
  over the paid periods; the working-day calendar of ``timing.off_hours`` a table
  of the special days (holidays, 调休) joined to the local dates, ISO weekdays
  otherwise; masked beneficiary names go through the NFKC UDF of
  :func:`benchmarks.duckdb_rules.connect` (DuckDB has only NFC);
- Benford's per-unit quantiles are picked by ``row_number`` at polars' "nearest"
  index (``floor((n - 1) q + 0.5)``), decades are ``ln(q90 / q10) / ln(10)`` as polars
  computes ``log10``, and the Benford probabilities are numpy's, passed in as a table.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa

try:
    from benchmarks.common import _S as WHITE_SPACE
    from benchmarks.common import SPACES
    from benchmarks.duckdb_rules import _ident, _lit, load_payments
    from benchmarks.duckdb_rules import connect as _connect
    from benchmarks.money_common import (
        B1,
        B2,
        BANDS_FIRST,
        BANDS_TWO,
        ENUM_DEFAULT,
        MONEY_FINDINGS,
        SANGONG,
        TABLES,
        enum_lookup,
        resolve_header,
    )
except ImportError:  # run as a script from benchmarks/
    from common import _S as WHITE_SPACE  # type: ignore[no-redef]
    from common import SPACES  # type: ignore[no-redef]
    from duckdb_rules import _ident, _lit, load_payments  # type: ignore[no-redef]
    from duckdb_rules import connect as _connect  # type: ignore[no-redef]
    from money_common import (  # type: ignore[no-redef]
        B1,
        B2,
        BANDS_FIRST,
        BANDS_TWO,
        ENUM_DEFAULT,
        MONEY_FINDINGS,
        SANGONG,
        TABLES,
        enum_lookup,
        resolve_header,
    )

_ND = r"\p{Nd}"


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """duckdb_rules.connect (NFKC UDF, ``ref`` macro) plus the macros these rules share."""
    con = _connect(threads)
    con.execute(
        "CREATE MACRO esc(v) AS "
        "replace(replace(replace(CAST(v AS VARCHAR), '%', '%25'), ';', '%3B'), '|', '%7C')"
    )
    con.execute(
        "CREATE MACRO sangong(e) AS coalesce(substr(e, 1, 5) IN ("
        + ", ".join(_lit(c) for c in SANGONG)
        + "), false)"
    )
    con.execute("CREATE MACRO paid(status, fen) AS coalesce(status, 'paid') = 'paid' AND fen > 0")
    # polars' quantile(q, "nearest") of a sorted group of n: index round-half-up((n - 1) q)
    con.execute("CREATE MACRO nearest(n, q) AS floor(CAST(n - 1 AS DOUBLE) * q + 0.5)")
    con.register("benford2", pa.table({"d2": list(range(10, 100)), "b": B2.tolist()}))
    con.register("benford1", pa.table({"d1": list(range(1, 10)), "b": B1.tolist()}))
    return con


def fen_name(col: str) -> str:
    return "fen" if col == "amount" else f"{col}_fen"


# -------------------------------------------------------------------------- loading
def load_table(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, timezone: str = "Asia/Shanghai"
) -> None:
    """Create table ``name`` typed per the data contract (payments:
    :func:`benchmarks.duckdb_rules.load_payments`); money columns become BIGINT fen."""
    if name == "payments":
        load_payments(con, path, timezone)
        return
    cols, key = TABLES[name]
    src = f"read_parquet({_lit(str(path))})"
    schema = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    have = {resolve_header(n, name) or n: (n, typ) for n, typ, *_ in schema}
    required = [c for c, _, _, req in cols if req]
    missing = [c for c in required if c not in have]
    if missing:
        raise ValueError(f"{path}: required column '{missing[0]}' is missing")
    sp = _lit(SPACES)
    exprs, checks = [], []
    for cname, _, kind, req in cols:
        if cname not in have:
            exprs.append(f"NULL::VARCHAR AS {cname}")
            continue
        raw, typ = have[cname]
        c = _ident(raw)
        s = f"nullif(trim(CAST({c} AS VARCHAR), {sp}), '')"
        out = cname
        if kind == "id":
            e = s
        elif kind == "text":
            v = f"CAST({c} AS VARCHAR)"
            e = f"CASE WHEN length(trim({v}, {sp})) > 0 THEN {v} END"
        elif kind == "money":
            if not typ.upper().startswith("DECIMAL"):
                raise TypeError(f"{cname}: expected a decimal Parquet column, got {typ}")
            e = f"CAST(CAST({c} AS DECIMAL(38, 2)) * 100 AS BIGINT)"
            out = fen_name(cname)
        elif kind == "int":
            e = f"CAST({c} AS BIGINT)"
        elif kind == "date":
            e = f"CAST({c} AS DATE)"
        elif kind == "enum":
            lookup = enum_lookup(cname).items()
            cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in lookup)
            e = f"CASE lower({s}) {cases} END"
            if ENUM_DEFAULT.get(cname) is not None:
                e = f"CASE WHEN {s} IS NULL THEN {_lit(ENUM_DEFAULT[cname])} ELSE {e} END"
        elif kind == "month":
            ym = f"^({_ND}{{4}})[-/]({_ND}{{1,2}})$"
            bare = f"^({_ND}{{4}})({_ND}{{2}})$"
            y = (
                f"coalesce(nullif(regexp_extract({s}, {_lit(ym)}, 1), ''), "
                f"nullif(regexp_extract({s}, {_lit(bare)}, 1), ''))"
            )
            m = (
                f"coalesce(nullif(regexp_extract({s}, {_lit(ym)}, 2), ''), "
                f"nullif(regexp_extract({s}, {_lit(bare)}, 2), ''))"
            )
            e = (
                f"CASE WHEN regexp_full_match({m}, '[0-9]+') AND CAST({m} AS INTEGER) "
                f"BETWEEN 1 AND 12 THEN {y} || '-' || lpad({m}, 2, '0') END"
            )
        else:
            raise ValueError(f"{name}.{cname}: kind {kind} not handled")
        exprs.append(f"{e} AS {out}")
        if req:
            checks.append((cname, out))
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {', '.join(exprs)} FROM {src}")
    if checks:
        counts = con.execute(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {o} IS NULL)" for _, o in checks)
            + f" FROM {name}"
        ).fetchone()
        for (c, _), n in zip(checks, counts, strict=True):
            if n:
                raise ValueError(
                    f"{path}: {n} row(s) miss or mistype a value in required column '{c}'"
                )
    k = ", ".join(key)
    dup = con.execute(f"SELECT {k} FROM {name} GROUP BY {k} HAVING count(*) > 1 LIMIT 1").fetchone()
    if dup:
        raise ValueError(
            f"{path}: duplicate key {'+'.join(key)} = {dup!r}; the table is not loaded"
        )


# ---------------------------------------------------------------------------- rules
def _in_year(col: str, year: int, as_of: str) -> str:
    hi = min(dt.date(year, 12, 31), dt.date.fromisoformat(as_of))
    return f"{col} BETWEEN DATE '{year}-01-01' AND DATE '{hi.isoformat()}'"


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    t = con.sql(sql).to_arrow_table()
    return t.select(MONEY_FINDINGS.names).cast(MONEY_FINDINGS)


def overrun(con, *, year: int, as_of: str) -> pa.Table:
    return _arrow(
        con,
        f"""
    WITH p AS (
        SELECT p.indicator_id, p.voucher_id, p.pay_date, p.fen, i.fen AS budget,
               i.unit_id AS ind_unit
        FROM payments p JOIN indicators i ON i.indicator_id = p.indicator_id
        WHERE i.fiscal_year = {year} AND paid(p.status, p.fen)
          AND {_in_year("p.pay_date", year, as_of)}
    ), c AS (
        SELECT *,
            sum(fen) OVER (PARTITION BY indicator_id ORDER BY pay_date, voucher_id
                           ROWS UNBOUNDED PRECEDING) AS cum,
            count(*) OVER (PARTITION BY indicator_id) AS n_pay
        FROM p
    )
    SELECT 'budget.overrun' AS detector_id, indicator_id AS entity_id,
        indicator_id || '|{year}' AS finding_key, first(ind_unit) AS unit_id,
        CAST(max(cum) - first(budget) AS BIGINT) AS amount_fen,
        list_prepend('indicators:' || esc(indicator_id),
                     list(ref(voucher_id) ORDER BY pay_date, voucher_id)) AS evidence,
        first(voucher_id ORDER BY pay_date, voucher_id) || '|' || first(n_pay) || '|'
            || count(*) AS detail
    FROM c WHERE cum > budget
    GROUP BY indicator_id
    """,
    )


def class_mismatch(con, *, year: int, as_of: str) -> pa.Table:
    return _arrow(
        con,
        f"""
    WITH p AS (
        SELECT p.indicator_id, p.economic_class, p.unit_id, p.voucher_id, p.pay_date, p.fen,
            (i.economic_class IS NOT NULL
             AND NOT starts_with(p.economic_class, i.economic_class)) AS wc,
            i.unit_id <> p.unit_id AS ou
        FROM payments p JOIN indicators i ON i.indicator_id = p.indicator_id
        WHERE paid(p.status, p.fen) AND {_in_year("p.pay_date", year, as_of)}
          AND NOT sangong(p.economic_class)
    )
    SELECT 'budget.class_mismatch' AS detector_id, indicator_id AS entity_id,
        indicator_id || '|' || economic_class || '|' || unit_id || '|{year}' AS finding_key,
        unit_id, CAST(sum(fen) AS BIGINT) AS amount_fen,
        list(ref(voucher_id) ORDER BY pay_date, voucher_id) AS evidence,
        CASE WHEN first(ou) THEN 'high' ELSE 'medium' END || '|' || count(*) AS detail
    FROM p WHERE wc OR ou
    GROUP BY indicator_id, economic_class, unit_id
    """,
    )


def sangong_total(con, *, year: int, as_of: str) -> pa.Table:
    return _arrow(
        con,
        f"""
    WITH s AS (
        SELECT unit_id, voucher_id, fen FROM payments
        WHERE paid(status, fen) AND {_in_year("pay_date", year, as_of)} AND sangong(economic_class)
    ), pay AS (
        SELECT unit_id, sum(fen) AS spent, count(*) AS n_pay FROM s GROUP BY unit_id
    ), ind AS (
        SELECT unit_id, sum(fen) AS budget, count(*) AS n_ind,
               list(r ORDER BY r) AS ev
        FROM (SELECT *, 'indicators:' || esc(indicator_id) AS r FROM indicators)
        WHERE fiscal_year = {year} AND sangong(economic_class) GROUP BY unit_id
    ), f AS (
        SELECT pay.*, coalesce(ind.budget, 0) AS budget, coalesce(ind.n_ind, 0) AS n_ind,
               coalesce(ind.ev, []) AS ev_ind
        FROM pay LEFT JOIN ind USING (unit_id) WHERE pay.spent > coalesce(ind.budget, 0)
    ), ev AS (
        SELECT unit_id, list(ref(voucher_id) ORDER BY ref(voucher_id)) AS ev_pay
        FROM s SEMI JOIN f USING (unit_id) GROUP BY unit_id
    )
    SELECT 'sangong.total' AS detector_id, unit_id AS entity_id,
        unit_id || '|{year}' AS finding_key, unit_id,
        CAST(spent - budget AS BIGINT) AS amount_fen, list_concat(ev_pay, ev_ind) AS evidence,
        n_pay || '|' || n_ind || '|' || spent AS detail
    FROM f JOIN ev USING (unit_id)
    """,
    )


def final_accounts(con, *, year: int, as_of: str) -> pa.Table:
    last = year - 1
    return _arrow(
        con,
        f"""
    WITH s AS (
        SELECT unit_id, substr(economic_class, 1, 5) AS code, voucher_id, fen FROM payments
        WHERE paid(status, fen) AND {_in_year("pay_date", year, as_of)} AND sangong(economic_class)
    ), pay AS (
        SELECT unit_id, code, sum(fen) AS spent, count(*) AS n_pay FROM s GROUP BY unit_id, code
    ), fa AS (
        SELECT * FROM final_accounts WHERE fiscal_year = {last}
    ), fin AS (
        SELECT unit_id, substr(economic_class, 1, 5) AS code, sum(fen) AS final,
            list(r ORDER BY r) AS ev_fin
        FROM (SELECT *, 'final_accounts:' || esc(unit_id) || '|' || esc(fiscal_year) || '|'
                        || esc(economic_class) AS r FROM fa)
        WHERE sangong(economic_class) GROUP BY unit_id, code
    ), f AS (
        SELECT pay.*, coalesce(fin.final, 0) AS final, coalesce(fin.ev_fin, []) AS ev_fin
        FROM pay SEMI JOIN (SELECT DISTINCT unit_id FROM fa) u USING (unit_id)
        LEFT JOIN fin USING (unit_id, code)
    ), f2 AS (
        SELECT * FROM f WHERE spent > final
    ), ev AS (
        SELECT unit_id, code, list(ref(voucher_id) ORDER BY ref(voucher_id)) AS ev_pay
        FROM s SEMI JOIN f2 USING (unit_id, code) GROUP BY unit_id, code
    )
    SELECT 'sangong.final_accounts' AS detector_id, unit_id AS entity_id,
        unit_id || '|' || code || '|{year}' AS finding_key, unit_id,
        CAST(spent - final AS BIGINT) AS amount_fen, list_concat(ev_pay, ev_fin) AS evidence,
        n_pay || '|' || spent AS detail
    FROM f2 JOIN ev USING (unit_id, code)
    """,
    )


def own_account(con, *, year: int, as_of: str) -> pa.Table:
    return _arrow(
        con,
        f"""
    WITH p AS (
        SELECT p.unit_id, p.payee_account, p.voucher_id, p.pay_date, p.fen,
               a.unit_id = p.unit_id AS own
        FROM payments p JOIN unit_accounts a ON a.account_no = p.payee_account
        WHERE paid(p.status, p.fen) AND {_in_year("p.pay_date", year, as_of)}
          AND (a.unit_id = p.unit_id OR coalesce(a.account_type, 'unknown') IN ('basic', 'real'))
    )
    SELECT 'funds.own_account' AS detector_id, payee_account AS entity_id,
        unit_id || '|' || payee_account || '|{year}' AS finding_key, unit_id,
        CAST(sum(fen) AS BIGINT) AS amount_fen,
        list(ref(voucher_id) ORDER BY pay_date, voucher_id) AS evidence,
        CASE WHEN first(own) THEN 'high' ELSE 'medium' END || '|' || count(*) AS detail
    FROM p GROUP BY unit_id, payee_account
    """,
    )


def set_calendar(con, calendar: dict) -> None:
    """Table ``cal_special``: the days whose working-day status is not Monday-Friday's."""
    days = [dt.date.fromisoformat(d) for d, _ in calendar["special"]]
    work = [bool(w) for _, w in calendar["special"]]
    con.register("cal_src", pa.table({"d": pa.array(days, pa.date32()), "work": work}))
    con.execute("CREATE OR REPLACE TABLE cal_special AS SELECT * FROM cal_src")
    con.unregister("cal_src")


def off_hours(
    con,
    *,
    year: int,
    as_of: str,
    working_hours: tuple[str, str],
    grace_minutes: int,
    calendar: dict,
) -> pa.Table:
    set_calendar(con, calendar)
    (h0, m0), (h1, m1) = (map(int, t.split(":")) for t in working_hours)
    lo, hi = h0 * 60 + m0 - grace_minutes, h1 * 60 + m1 + grace_minutes

    def checks(c: str) -> tuple[str, str]:
        col = f"p.{c}"
        minutes = f"(hour({col}) * 60 + minute({col}))"
        off = f"({col} IS NOT NULL AND NOT coalesce(k_{c}.work, isodow(CAST({col} AS DATE)) <= 5))"
        night = f"({col} IS NOT NULL AND ({minutes} < {lo} OR {minutes} > {hi}))"
        return off, night

    (c_off, c_night), (a_off, a_night) = checks("created_at"), checks("approved_at")
    p_off = "NOT coalesce(k_pay.work, isodow(p.pay_date) <= 5)"
    return _arrow(
        con,
        f"""
    WITH x AS (
        SELECT p.voucher_id, p.unit_id, p.fen,
            {c_off} AS c_off, {c_night} AS c_night, {a_off} AS a_off, {a_night} AS a_night,
            {p_off} AS p_off
        FROM payments p
        LEFT JOIN cal_special k_created_at ON k_created_at.d = CAST(p.created_at AS DATE)
        LEFT JOIN cal_special k_approved_at ON k_approved_at.d = CAST(p.approved_at AS DATE)
        LEFT JOIN cal_special k_pay ON k_pay.d = p.pay_date
        WHERE {_in_year("p.pay_date", year, as_of)}
    )
    SELECT 'timing.off_hours' AS detector_id, voucher_id AS entity_id, voucher_id AS finding_key,
        unit_id, fen AS amount_fen, [ref(voucher_id)] AS evidence,
        CASE WHEN c_off OR a_off OR p_off THEN 'medium' ELSE 'low' END AS detail
    FROM x WHERE c_off OR c_night OR a_off OR a_night OR p_off
    """,
    )


def subsidy_duplicate(con, *, year: int, as_of: str) -> pa.Table:
    return _arrow(
        con,
        f"""
    WITH r AS (
        SELECT s.disbursement_id, s.beneficiary_id, s.beneficiary_name, s.program_code,
            s.unit_id, s.fen, s.pay_date, g.period,
            CASE WHEN contains(s.beneficiary_id, '*') THEN coalesce(
                regexp_replace(nfkc(s.beneficiary_name), {_lit(WHITE_SPACE)}, '', 'g'), '')
            END AS mname,
            CASE g.period
                WHEN 'month' THEN year(s.pay_date) * 12 + month(s.pay_date) - 1
                WHEN 'quarter' THEN year(s.pay_date) * 4 + quarter(s.pay_date) - 1
                WHEN 'year' THEN year(s.pay_date)
                ELSE 0 END AS pidx
        FROM subsidies s JOIN subsidy_programs g ON g.program_code = s.program_code
        WHERE s.pay_date <= DATE '{as_of}' AND s.fen <> 0
    ), per AS (
        SELECT beneficiary_id, mname, program_code, pidx, first(period) AS period,
            count(*) FILTER (WHERE fen > 0) - count(*) FILTER (WHERE fen <= 0) AS n_eff,
            sum(fen) AS net, min(pay_date) AS first_date, max(pay_date) AS last_date
        FROM r GROUP BY beneficiary_id, mname, program_code, pidx
    ), g AS (
        SELECT *, CASE WHEN lag(pidx) OVER w IS NULL THEN 0
                       ELSE greatest(pidx - lag(pidx) OVER w - 1, 0) END AS gap
        FROM per WHERE n_eff > 0 AND net > 0
        WINDOW w AS (PARTITION BY beneficiary_id, mname, program_code ORDER BY pidx)
    ), fl AS (
        SELECT *, gap + 1 AS allowed FROM g WHERE n_eff > gap + 1 AND year(last_date) = {year}
    ), d AS (
        SELECT fl.beneficiary_id, fl.mname, fl.program_code, fl.pidx,
            first(fl.period) AS period, first(fl.n_eff) AS n_eff, first(fl.net) AS net,
            first(fl.allowed) AS allowed, first(fl.first_date) AS first_date,
            first(r.unit_id ORDER BY r.pay_date, r.disbursement_id)
                FILTER (WHERE r.unit_id IS NOT NULL) AS unit_id,
            list(r.fen ORDER BY r.pay_date, r.disbursement_id) FILTER (WHERE r.fen > 0) AS pos,
            list('subsidies:' || esc(r.disbursement_id)
                 ORDER BY r.pay_date, r.disbursement_id) AS ev
        FROM fl JOIN r ON r.beneficiary_id = fl.beneficiary_id
            AND r.mname IS NOT DISTINCT FROM fl.mname
            AND r.program_code = fl.program_code AND r.pidx = fl.pidx
        GROUP BY fl.beneficiary_id, fl.mname, fl.program_code, fl.pidx
    )
    SELECT 'subsidy.duplicate' AS detector_id, beneficiary_id AS entity_id,
        program_code || '|' || CASE period
            WHEN 'month' THEN strftime(first_date, '%Y-%m')
            WHEN 'quarter' THEN year(first_date) || '-Q' || quarter(first_date)
            WHEN 'year' THEN CAST(year(first_date) AS VARCHAR)
            ELSE 'once' END
            || CASE WHEN mname IS NULL THEN '' ELSE '|' || mname END AS finding_key,
        unit_id,
        CAST(greatest(net - coalesce(list_sum(list_slice(pos, 1, allowed)), 0), 0) AS BIGINT)
            AS amount_fen,
        ev AS evidence, n_eff || '|' || allowed || '|' || net AS detail
    FROM d
    """,
    )


def multi_unit(con, *, year: int, as_of: str, max_share: float) -> pa.Table:
    return _arrow(
        con,
        f"""
    WITH r AS (
        SELECT * FROM payroll
        WHERE pay_date <= DATE '{as_of}' AND fen > 0 AND month BETWEEN '{year}-01' AND '{year}-12'
    ), k AS (
        SELECT employee_id, month, count(DISTINCT unit_id) AS n FROM r GROUP BY employee_id, month
    ), share AS (
        SELECT coalesce(avg(CASE WHEN n > 1 THEN 1.0 ELSE 0.0 END), 0.0) AS share FROM k
    ), m AS (
        SELECT r.* FROM r SEMI JOIN (SELECT * FROM k WHERE n > 1) k2 USING (employee_id, month)
    ), pu AS (
        SELECT employee_id, month, unit_id, sum(fen) AS fen, min(pay_date) AS d,
            array_to_string(list_sort(list_distinct(list(account_no))), '/') AS account
        FROM m GROUP BY employee_id, month, unit_id
    ), det AS (
        SELECT employee_id, month, count(*) AS n_units, sum(fen) AS total, max(fen) AS top,
            count(DISTINCT account) AS n_acc, last(unit_id ORDER BY d, unit_id) AS unit_id
        FROM pu GROUP BY employee_id, month
    ), ev AS (
        SELECT employee_id, month, list(x ORDER BY x) AS evidence
        FROM (SELECT employee_id, month, 'payroll:' || esc(unit_id) || '|' || esc(employee_id)
                     || '|' || esc(month) AS x FROM m)
        GROUP BY employee_id, month
    )
    SELECT 'payroll.multi_unit' AS detector_id, employee_id AS entity_id, month AS finding_key,
        unit_id, CAST(total - top AS BIGINT) AS amount_fen, evidence,
        n_units || '|' || top || '|' || total || '|' || CASE WHEN n_acc = 1 THEN 1 ELSE 0 END
            AS detail
    FROM det JOIN ev USING (employee_id, month), share
    WHERE share.share <= {float(max_share)!r}
    """,
    )


def benford_table(
    con,
    *,
    year: int,
    as_of: str,
    min_first: int = 300,
    min_two: int = 500,
    min_amount: float = 10.0,
    min_decades: float = 1.0,
    exclude_classes: tuple[str, ...] = ("301", "303"),
) -> pa.Table:
    excl = "".join(
        f" AND NOT starts_with(coalesce(economic_class, ''), {_lit(str(c))})"
        for c in exclude_classes
    )

    def band(mad: str, cuts: tuple[float, float, float], min_n: int) -> str:
        return (
            f"CASE WHEN n < {min_n} THEN 'too_small' "
            f"WHEN decades < {float(min_decades)!r} THEN 'too_narrow' "
            f"WHEN {mad} <= {cuts[0]!r} THEN 'close' "
            f"WHEN {mad} <= {cuts[1]!r} THEN 'acceptable' "
            f"WHEN {mad} <= {cuts[2]!r} THEN 'marginal' ELSE 'nonconformity' END"
        )

    return con.sql(f"""
    WITH d AS (
        SELECT DISTINCT unit_id, payee_account, fen, substr(coalesce(economic_class, ''), 1, 5) AS c
        FROM payments
        WHERE paid(status, fen) AND fen >= {float(min_amount) * 100!r}
          AND {_in_year("pay_date", year, as_of)}{excl}
    ), x AS (
        SELECT unit_id, fen, CAST(left(CAST(fen AS VARCHAR), 2) AS INTEGER) AS d2 FROM d
    ), cnt AS (
        SELECT unit_id, d2, count(*) AS k FROM x GROUP BY unit_id, d2
    ), q AS (
        SELECT unit_id, fen, row_number() OVER (PARTITION BY unit_id ORDER BY fen) - 1 AS r,
               count(*) OVER (PARTITION BY unit_id) AS n
        FROM x
    ), tot AS (
        SELECT unit_id, first(n) AS n,
            ln(CAST(max(fen) FILTER (WHERE r = nearest(n, 0.9)) AS DOUBLE)
               / CAST(max(fen) FILTER (WHERE r = nearest(n, 0.1)) AS DOUBLE)) / ln(10.0) AS decades
        FROM q GROUP BY unit_id
    ), two AS (
        SELECT t.unit_id, sum(abs(coalesce(c.k, 0) / t.n - b.b)) / 90 AS mad_two
        FROM tot t CROSS JOIN benford2 b LEFT JOIN cnt c ON c.unit_id = t.unit_id AND c.d2 = b.d2
        GROUP BY t.unit_id
    ), c1 AS (
        SELECT unit_id, d2 // 10 AS d1, sum(k) AS k FROM cnt GROUP BY unit_id, d1
    ), one AS (
        SELECT t.unit_id, sum(abs(coalesce(c.k, 0) / t.n - b.b)) / 9 AS mad_first
        FROM tot t CROSS JOIN benford1 b LEFT JOIN c1 c ON c.unit_id = t.unit_id AND c.d1 = b.d1
        GROUP BY t.unit_id
    ), m AS (
        SELECT * FROM tot JOIN one USING (unit_id) JOIN two USING (unit_id)
    )
    SELECT unit_id, n, decades,
        mad_first, {band("mad_first", BANDS_FIRST, min_first)} AS band_first,
        mad_two, {band("mad_two", BANDS_TWO, min_two)} AS band_two
    FROM m
    """).to_arrow_table()


# -------------------------------------------------------------------------- the set
def run_rules(con, p: dict, clock) -> tuple[pa.Table, pa.Table]:
    """Every twinned rule, each timed as a step of ``clock``; (findings, Benford table)."""
    y, a = p["year"], p["as_of"]
    out = []
    with clock.step("overrun"):
        out.append(overrun(con, year=y, as_of=a))
    with clock.step("class_mismatch"):
        out.append(class_mismatch(con, year=y, as_of=a))
    with clock.step("sangong_total"):
        out.append(sangong_total(con, year=y, as_of=a))
    with clock.step("final_accounts"):
        out.append(final_accounts(con, year=y, as_of=a))
    with clock.step("benford"):
        bt = benford_table(con, year=y, as_of=a, **p["benford"])
    with clock.step("subsidy_duplicate"):
        out.append(subsidy_duplicate(con, year=y, as_of=a))
    with clock.step("multi_unit"):
        out.append(multi_unit(con, year=y, as_of=a, **p["multi_unit"]))
    with clock.step("own_account"):
        out.append(own_account(con, year=y, as_of=a))
    with clock.step("off_hours"):
        out.append(
            off_hours(
                con,
                year=y,
                as_of=a,
                working_hours=p["working_hours"],
                calendar=p["calendar"],
                **p["off_hours"],
            )
        )
    return pa.concat_tables(out), bt

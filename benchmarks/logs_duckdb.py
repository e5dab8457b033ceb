"""The DuckDB twin of the log benchmark: csvlog parsing and the core of two log rules in SQL.

- **Reading**: ``read_csv`` with the csvlog's columns given (no sniffing), all VARCHAR,
  into a table whose ``rowid`` is the record number (insertion order is kept).
- **pgAudit payload**: one ``regexp_extract`` (RE2) of the ten CSV fields — a field is
  ``"..."`` with doubled quotes, or text without comma or quote; the 10th (``rows``) is
  optional — then quoted fields unquoted.
- **Times**: ``strptime`` of the first 23 characters; the zone: an abbreviation or none in
  the settings' time zone (``timezone(tz, ts)``), ``UTC``/``GMT``/``Z`` as UTC,
  ``+hh[:mm]`` as an offset.
- **Failed statements**: ``retcode`` from the SQLSTATE (digits, or PostgreSQL's packed
  code), the verb the statement's first word.
- **Rules**: window functions for the statement key (a new statement after a 60 s gap),
  ordered aggregates for first events and evidence, ``regexp_extract_all`` for object ids;
  change tickets are checked in Python on the few candidates.

What is twinned is stated in :mod:`benchmarks.logs_common`.
"""

from __future__ import annotations

import csv

import duckdb
import pyarrow as pa

try:
    from benchmarks import logs_common as C
    from benchmarks.common import findings_table
except ImportError:  # run from benchmarks/
    import common  # type: ignore[no-redef]
    import logs_common as C  # type: ignore[no-redef]

    findings_table = common.findings_table


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    return con


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _list(xs) -> str:
    return "[" + ", ".join(_lit(x) for x in xs) + "]::VARCHAR[]"


_FIELD = r'"(?:[^"]|"")*"|[^,"]*'
PAYLOAD_RE = (
    r"(?s)^(SESSION|OBJECT),([0-9]+),([0-9]+),"
    + ",".join(f"({_FIELD})" for _ in range(6))
    + r"(?:,([0-9]*))?$"
)
"""pgAudit's record: type, statement id, substatement id, six CSV fields, optional rows."""


def _unquote(x: str) -> str:
    return (
        f"CASE WHEN {x} = '' THEN NULL WHEN starts_with({x}, '\"') "
        f"THEN replace({x}[2:-2], '\"\"', '\"') ELSE {x} END"
    )


def parse_csvlog(con, path, rel: str, tz: str) -> None:
    """Create table ``db_audit`` (the canonical columns) from a csvlog."""
    with open(path, encoding="utf-8", newline="") as f:
        ncols = len(next(csv.reader(f)))
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols))
    con.execute(f"SET TimeZone = {_lit(tz)}")
    con.execute(
        f"""CREATE OR REPLACE TABLE raw AS SELECT c0, c1, c2, c4, c5, c11, c12, c13, c19,
        {"c22" if ncols > 22 else "NULL::VARCHAR AS c22"}
        FROM read_csv({_lit(str(path))}, header = false, delim = ',', quote = '"',
                      escape = '"', auto_detect = false, columns = {{{cols}}})"""
    )
    sev = (
        "CASE c11 "
        + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in C.SEVERITY_EN.items())
        + " ELSE c11 END"
    )
    fields = ["t", "sid", "sub", "cls", "cmd", "otype", "oname", "stmt", "param", "nrows"]
    packed = " | ".join(
        f"(((ascii(substr(c12, {i + 1}, 1)) - 48) & 63)::BIGINT << {6 * i})" for i in range(5)
    )
    zone = "substr(c0, 25)"
    naive = "strptime(substr(c0, 1, 23), '%Y-%m-%d %H:%M:%S.%g')"
    offset = (
        f"(CASE WHEN starts_with({zone}, '-') THEN -1 ELSE 1 END) * "
        f"(substr({zone}, 2, 2)::INT * 60 + coalesce(TRY_CAST("
        f"nullif(replace(substr({zone}, 4), ':', ''), '') AS INT), 0))"
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE db_audit AS
        WITH r AS (SELECT rowid + 1 AS n, *, {sev} AS sev FROM raw),
        a AS (
            SELECT n, c0, c1, c2, c4, c5, c22,
                   unnest(regexp_extract(substr(c13, 8), {_lit(PAYLOAD_RE)}, {_list(fields)}))
            FROM r WHERE starts_with(c13, 'AUDIT: ')
        ),
        e AS (
            SELECT n, c0, c1, c2, c4, c5, c22,
                   sid::BIGINT AS statement_id, sub::BIGINT AS substatement_id,
                   {_unquote("cls")} AS audit_class, {_unquote("cmd")} AS command,
                   {_unquote("otype")} AS object_type, {_unquote("oname")} AS object_name,
                   {_unquote("stmt")} AS statement, {_unquote("param")} AS parameter,
                   nullif(nrows, '')::BIGINT AS rows, NULL::BIGINT AS retcode, t
            FROM a
            UNION ALL
            SELECT n, c0, c1, c2, c4, c5, c22, NULL, NULL, NULL,
                   coalesce(upper(nullif(regexp_extract(
                                c19, '^[\\s(;]*([A-Za-z_][A-Za-z0-9_]*)', 1), '')),
                            CASE WHEN starts_with(c12, '28') THEN 'FAILED_CONNECT' ELSE sev END),
                   NULL, NULL, c19, NULL, NULL,
                   CASE WHEN regexp_full_match(c12, '[0-9]{{5}}') THEN c12::BIGINT
                        ELSE (1::BIGINT << 30) | {packed} END, 'FAILED'
            FROM r
            WHERE NOT starts_with(coalesce(c13, ''), 'AUDIT: ')
              AND sev IN ('ERROR', 'FATAL', 'PANIC')
              AND c1 IS NOT NULL AND regexp_full_match(c12, '[0-9A-Z]{{5}}')
        )
        SELECT {_lit(rel + ":")} || n AS event_id,
               CASE WHEN {zone} IN ('UTC', 'GMT', 'Z', 'UT') THEN timezone('UTC', {naive})
                    WHEN regexp_matches({zone}, '^[+-][0-9][0-9](:?[0-9][0-9])?$')
                    THEN timezone('UTC', {naive} - to_minutes({offset}))
                    ELSE timezone({_lit(tz)}, {naive}) END AS event_time,
               c1 AS db_user, command, c2 AS database,
               regexp_replace(c4, ':[0-9]+$', '') AS client_ip, c22 AS application_name,
               c5 AS session_id, statement_id, substatement_id, audit_class, object_type,
               object_name, statement, parameter, rows, retcode, t
        FROM e ORDER BY n"""
    )
    bad = con.execute("SELECT count(*) FROM db_audit WHERE t = '' OR t IS NULL").fetchall()[0][0]
    if bad:
        raise ValueError(f"{bad} pgAudit payload(s) unreadable")
    con.execute("ALTER TABLE db_audit DROP COLUMN t")
    con.execute("DROP TABLE raw")


def parsed(con) -> pa.Table:
    return con.sql("SELECT * FROM db_audit ORDER BY rowid").to_arrow_table()


def load_business_log(con, path, tz: str) -> None:
    """Table ``business_log`` typed as the contract says (ids stripped, blank text null,
    ``result`` mapped, naive times in ``tz``)."""
    cols = [
        r[0]
        for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(path))})").fetchall()
    ]
    sp = _lit(C.SPACES)
    res = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in C.RESULT.items())
    sel = []
    for c in cols:
        q = f'"{c}"'
        if c == "event_time":
            sel.append(f"timezone({_lit(tz)}, {q}::TIMESTAMP) AS {q}")
        elif c in ("event_id", "user_id", "unit_id", "object_id"):
            sel.append(f"nullif(trim({q}, {sp}), '') AS {q}")
        elif c == "result":
            sel.append(f"CASE lower(trim({q}, {sp})) {res} END AS {q}")
        else:
            sel.append(f"CASE WHEN trim({q}, {sp}) = '' THEN NULL ELSE {q} END AS {q}")
    con.execute(
        f"CREATE OR REPLACE TABLE business_log AS SELECT {', '.join(sel)} "
        f"FROM read_parquet({_lit(str(path))})"
    )


def load_tickets(con, path, tz: str) -> list[dict]:
    rows = con.execute(
        f"""SELECT lower(trim(db_user, {_lit(C.WHITESPACE)})) AS "user",
                   timezone({_lit(tz)}, start_time::TIMESTAMP) AS start_time,
                   timezone({_lit(tz)}, end_time::TIMESTAMP) AS end_time, objects
            FROM read_parquet({_lit(str(path))})"""
    ).fetchall()
    return [dict(zip(("user", "start_time", "end_time", "objects"), r, strict=True)) for r in rows]


# -------------------------------------------------------------------------------- rules
def _prepare(con) -> None:
    ws = _lit(C.WHITESPACE)
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW prep AS
        SELECT event_id, event_time, db_user, lower(trim(db_user, {ws})) AS "user",
               nullif(regexp_extract(upper(trim(command, {ws})), '^(\\w+)', 1), '') AS verb,
               coalesce(retcode, 0) = 0 AS ok, upper(audit_class) AS audit_class,
               session_id, statement_id, object_name,
               CASE WHEN regexp_full_match(statement, '<[a-z ]+>') THEN NULL ELSE statement END
                   AS statement,
               CASE WHEN regexp_full_match(parameter, '<[a-z ]+>') THEN NULL ELSE parameter END
                   AS parameter
        FROM db_audit"""
    )


def _writes() -> str:
    return f"(verb IN {tuple(C.WRITE_VERBS)} OR audit_class = 'WRITE')"


def _hit_cols(protected: list[str]) -> str:
    """``ooc`` (tables not from object_name: out of the core) and ``hit`` (protected tables
    written, from object_name)."""
    row_write = (
        f"(verb IN {tuple(C.WRITE_VERBS)} OR (audit_class = 'WRITE' AND "
        f"coalesce(verb NOT IN {tuple(C.READ_VERBS)}, true)))"
    )
    names = (
        "list_transform(string_split(lower(regexp_replace(object_name, '[\"`]', '', 'g')), '|'), "
        "lambda x: CASE WHEN contains(x, '.') THEN x ELSE 'public.' || x END)"
    )
    return f"""(object_name IS NULL OR coalesce(verb = 'COPY', false)) AS ooc,
        CASE WHEN object_name IS NOT NULL AND coalesce(verb <> 'COPY', true)
                  AND coalesce({row_write}, false)
             THEN list_filter({names}, lambda x: list_contains({_list(protected)}, x))
             ELSE []::VARCHAR[] END AS hit"""


def _keyed(src: str) -> str:
    """``src`` with ``k_*`` columns: the statement key (account, session, statement id,
    part — a new part after a 60 s gap — or the event id alone)."""
    part = f"""sum(CASE WHEN prev IS NULL OR event_time IS NULL
                        OR event_time - prev > INTERVAL {C.STATEMENT_GAP_S} SECOND
                   THEN 1 ELSE 0 END)
               OVER (PARTITION BY "user", session_id, statement_id ORDER BY event_time, event_id
                     ROWS UNBOUNDED PRECEDING)"""
    return f"""(SELECT *, CASE WHEN has THEN {part} END AS k_part,
                      CASE WHEN has THEN NULL ELSE event_id END AS k_event
               FROM (SELECT *,
                            session_id IS NOT NULL AND coalesce(statement_id, 0) > 0 AS has,
                            lag(event_time) OVER (PARTITION BY "user", session_id, statement_id
                                                  ORDER BY event_time, event_id) AS prev
                     FROM {src}))"""


_KEY = '"user", session_id, statement_id, k_part, k_event'
_ORDER = "ORDER BY event_time, event_id"
_REF = (
    "list('db_audit:' || replace(replace(replace(event_id, '%', '%25'), ';', '%3B'), '|', '%7C') "
    f"{_ORDER})"
)


def _table(det: str, rows: list[tuple]) -> pa.Table:
    n = len(rows)
    return findings_table(
        det,
        entity_id=pa.array([r[0] for r in rows], pa.string()),
        finding_key=pa.array([r[1] for r in rows], pa.string()),
        unit_id=pa.nulls(n, pa.string()),
        amount_fen=pa.nulls(n, pa.int64()),
        evidence=pa.array([list(r[2]) for r in rows], pa.list_(pa.string())),
    )


def direct_write(con, tickets: list[dict], p: dict) -> pa.Table:
    _prepare(con)
    w = f"""(SELECT *, {_hit_cols(p["protected"])} FROM prep
             WHERE ok AND "user" IS NOT NULL AND NOT list_contains({_list(p["app_users"])}, "user")
               AND {_writes()})"""
    rows = con.execute(
        f"""WITH w AS {w},
        u AS (SELECT * FROM w WHERE "user" IN (SELECT "user" FROM w WHERE len(hit) > 0))
        SELECT first(db_user {_ORDER}), first(event_id {_ORDER}), {_REF},
               first("user" {_ORDER}), min(event_time),
               list_sort(list_distinct(flatten(list(hit))))
        FROM {_keyed("u")}
        GROUP BY {_KEY}
        HAVING bool_or(len(hit) > 0) AND NOT bool_or(ooc)"""
    ).fetchall()
    out = [r for r in rows if not C.covered(tickets, r[3], r[4], r[5])]
    return _table(C.DIRECT, out)


def _shapes(con, sql: str) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT regexp_replace(object_id, '\\p{{Nd}}', chr(1), 'g') FROM ({sql})"
    ).fetchall()
    return [r[0].replace("\x01", "\x00") for r in rows if r[0] is not None]


def unexplained_write(con, p: dict, params: dict) -> pa.Table:
    tol = params["tolerance_seconds"]
    b0, b1 = con.execute("SELECT min(event_time), max(event_time) FROM business_log").fetchall()[0]
    if b0 is None:
        return _table(C.UNEXPLAINED, [])
    _prepare(con)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE biz AS SELECT object_id, event_time AS biz_time
        FROM business_log
        WHERE coalesce(result, 'success') <> 'failure' AND object_id IS NOT NULL
          AND event_time IS NOT NULL
          AND lower(trim(action, {_lit(C.WHITESPACE)})) NOT IN {tuple(C.SESSION_ACTIONS)}
          AND coalesce(lower(trim(object_type, {_lit(C.WHITESPACE)})), '')
              NOT IN {tuple(C.NOT_DATA)}"""
    )
    w = f"""(SELECT *, {_hit_cols(p["protected"])} FROM prep
             WHERE ok AND event_time IS NOT NULL AND list_contains({_list(p["app_users"])}, "user")
               AND {_writes()})"""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE stm AS
        SELECT row_number() OVER () AS rid, * FROM (
            SELECT first(event_id {_ORDER}) AS db_event, min(event_time) AS db_time,
                   first(statement {_ORDER}) FILTER (WHERE statement IS NOT NULL) AS statement,
                   first(parameter {_ORDER}) FILTER (WHERE parameter IS NOT NULL) AS parameter,
                   bool_or(ooc) AS ooc, {_REF} AS evidence
            FROM {_keyed(w)}
            GROUP BY {_KEY}
            HAVING bool_or(len(hit) > 0))
        WHERE db_time BETWEEN ?::TIMESTAMPTZ - INTERVAL {tol} SECOND
                          AND ?::TIMESTAMPTZ + INTERVAL {tol} SECOND""",
        [b0, b1],
    )
    judged = con.execute("SELECT count(*) FROM stm").fetchall()[0][0]
    if judged == 0:
        return _table(C.UNEXPLAINED, [])
    pattern = C.id_pattern(_shapes(con, "SELECT DISTINCT object_id FROM biz"), digit=r"\p{Nd}")
    text = "concat_ws(' ', statement, parameter)"
    if pattern:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE pairs AS
            SELECT DISTINCT rid, object_id FROM (
                SELECT rid, unnest(regexp_extract_all({text}, {_lit(pattern)})) AS object_id
                FROM stm)
            WHERE object_id IN (SELECT object_id FROM biz)"""
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE pairs (rid BIGINT, object_id VARCHAR)")
    upat = C.id_pattern(
        _shapes(con, "SELECT DISTINCT object_id FROM biz WHERE regexp_matches(object_id, '\\D')"),
        digit=r"\p{Nd}",
    )
    if upat in (None, C.GENERIC_ID):
        unknown = "SELECT NULL::BIGINT AS rid, NULL::VARCHAR[] AS ids WHERE false"
    else:
        unknown = f"""SELECT rid, list_sort(list_distinct(list(object_id))) AS ids FROM (
                SELECT rid, unnest(regexp_extract_all({text}, {_lit(upat)})) AS object_id FROM stm)
            WHERE object_id NOT IN (SELECT object_id FROM biz) GROUP BY rid"""
    rows = con.execute(
        f"""WITH matched AS (
            SELECT DISTINCT pairs.rid FROM pairs JOIN biz USING (object_id) JOIN stm USING (rid)
            WHERE abs(epoch_us(biz.biz_time) - epoch_us(stm.db_time)) <= {tol * 1_000_000}),
        known AS (SELECT rid, list_sort(list_distinct(list(object_id))) AS ids
                  FROM pairs GROUP BY rid),
        unknown AS ({unknown})
        SELECT stm.rid, coalesce(known.ids, unknown.ids) AS ids, db_event, ooc, evidence
        FROM stm LEFT JOIN known USING (rid) LEFT JOIN unknown USING (rid)
        WHERE rid NOT IN (SELECT rid FROM matched) AND len(coalesce(known.ids, unknown.ids)) > 0
        ORDER BY rid"""
    ).fetchall()
    if judged >= 20 and 1 - len(rows) / judged < params["min_link_rate"]:
        return _table(C.UNEXPLAINED, [])
    return _table(C.UNEXPLAINED, [(r[1][0], r[2], r[4]) for r in rows if not r[3]])

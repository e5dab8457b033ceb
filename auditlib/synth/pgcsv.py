"""The ``db_audit`` table as a genuine PostgreSQL 15 csvlog with pgAudit ``AUDIT:`` records.

:func:`write_pgaudit_csvlog` writes the events of a ``db_audit`` frame (the table form of
the data contract, as :mod:`auditlib.synth` makes it) the way a PostgreSQL 15 server with
``log_destination = 'csvlog'`` and pgAudit writes them, so that a data directory holding
the file in a ``db_audit/`` folder loads (:func:`auditlib.io.tables.load_dir`) to the same
canonical rows, except ``event_id``, which becomes ``<file>:<record>``.

One record (one CSV row of 26 columns) per event, in time order (stable), as the server
writes them:

- ``log_time`` with milliseconds and the zone's abbreviation (``CST`` for Asia/Shanghai;
  naive event times are local times of ``timezone``); ``user_name``, ``database_name``;
  ``connection_from`` ``<client_ip>:<port>``; ``session_id``; per session a
  ``process_id`` and ``session_start_time`` (both read from a PostgreSQL session id
  ``<start epoch hex>.<pid hex>``, else made up stably), ``session_line_num``, a
  ``virtual_transaction_id``, and a ``transaction_id`` for events that write;
  ``application_name``; ``backend_type`` ``client backend``; ``query_id`` 0.
- A successful event (``retcode`` null or 0) is a ``LOG`` record, SQLSTATE ``00000``,
  whose message is pgAudit's ``AUDIT: SESSION,<statement_id>,<substatement_id>,
  <class>,<command>,<object_type>,<object_name>,<statement>,<parameter>[,<rows>]``: a
  field is quoted (``"`` doubled) when it holds a comma, a quote or a line break, as
  pgAudit's ``append_valid_csv`` does; ``rows`` is written when known (``pgaudit.log_rows``);
  a null field is left empty.
- A failed event (``retcode`` non-zero) is the server's ``ERROR`` record (``FATAL`` for
  SQLSTATE class 28, authentication) with the SQLSTATE of ``retcode`` (its five digits,
  or PostgreSQL's packed ``MAKE_SQLSTATE`` integer unpacked) and the statement in the
  ``query`` column, as PostgreSQL logs a statement it refused; pgAudit wrote nothing for
  it, so the reader gives no pgAudit columns and takes ``command`` from the statement's
  verb. Such an event round-trips when its pgAudit columns are null and its command is its
  statement's verb (``FAILED_CONNECT`` for a class 28 failure without a statement).

What a csvlog cannot carry: ``retcode`` 0 of a successful event (the reader keeps it null:
pgAudit's record has no return code; null and 0 both mean success), times below the
millisecond (PostgreSQL writes milliseconds), and events that are not pgAudit records at
all (no ``statement_id``, e.g. MariaDB's CONNECT), which raise ValueError.

Examples
--------
>>> import datetime as dt, tempfile
>>> ev = pl.DataFrame({"event_id": ["E1"], "event_time": [dt.datetime(2026, 3, 2, 22, 5, 1)],
...     "db_user": ["dba_li"], "command": ["UPDATE"], "database": ["fmis"],
...     "client_ip": ["10.8.9.21"], "application_name": ["psql"],
...     "session_id": ["69a5976f.9c41"], "statement_id": [3], "substatement_id": [1],
...     "audit_class": ["WRITE"], "object_type": ["TABLE"], "object_name": ["public.payment"],
...     "statement": ["UPDATE public.payment SET payee_account = '6217' WHERE voucher_id = 'V1'"],
...     "parameter": ["<not logged>"], "rows": [1], "retcode": [0]})
>>> with tempfile.TemporaryDirectory() as d:
...     ids = write_pgaudit_csvlog(ev, Path(d) / "postgresql-2026-03-02.csv")
...     line = (Path(d) / "postgresql-2026-03-02.csv").read_text("utf-8")
>>> print(line.replace(",LOG,", ",LOG,\\n"), end="")
2026-03-02 22:05:01.000 CST,"dba_li","fmis",40001,"10.8.9.21:36687",69a5976f.9c41,1,"UPDATE",2026-03-02 21:58:07 CST,39/1,1000,LOG,
00000,"AUDIT: SESSION,3,1,WRITE,UPDATE,TABLE,public.payment,UPDATE public.payment SET payee_account = '6217' WHERE voucher_id = 'V1',<not logged>,1",,,,,,,,,"psql","client backend",,0
>>> ids.rows()
[('E1', 1)]
"""  # noqa: E501

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from auditlib.schemas import TABLES

_NEEDED = ("event_time", "db_user", "command")
_WRITING = ("WRITE", "DDL", "ROLE", "FUNCTION")  # classes whose statements get an xid
_ERRORS = {  # SQLSTATE → the server's message (the reader keeps only the SQLSTATE)
    "42501": "permission denied for table {table}",
    "42P01": 'relation "{table}" does not exist',
    "42601": "syntax error at or near \"{word}\"",
    "23505": 'duplicate key value violates unique constraint "{table}_pkey"',
    "57014": "canceling statement due to user request",
    "28P01": 'password authentication failed for user "{user}"',
    "28000": 'role "{user}" is not permitted to log in',
}


def sqlstate_text(code: int) -> str:
    """The five-character SQLSTATE of a ``retcode`` (the inverse of
    :func:`auditlib.io.raw.pgaudit.sqlstate_code`): an all-digit code is its digits
    (zero-padded), a code with letters is PostgreSQL's packed ``MAKE_SQLSTATE`` value with
    bit 30 set.

    >>> sqlstate_text(42501), sqlstate_text((1 << 30) | 16908420), sqlstate_text(1045)
    ('42501', '42P01', '01045')
    """
    if 0 < code <= 99999:
        return f"{code:05d}"
    packed = "".join(chr(((code >> (6 * i)) & 0x3F) + 48) for i in range(5))
    if not code & (1 << 30) or code >= 1 << 31 or not re.fullmatch(r"[0-9A-Z]{5}", packed):
        msg = f"retcode {code} is not a SQLSTATE (five digits, or a packed MAKE_SQLSTATE value)"
        raise ValueError(msg)
    return packed


def _q(e: pl.Expr) -> pl.Expr:
    """A csvlog text field: always quoted, quotes doubled; null → empty (unquoted)."""
    return pl.lit('"') + e.str.replace_all('"', '""', literal=True) + pl.lit('"')


def _pgaudit_field(name: str) -> pl.Expr:
    """A pgAudit payload field as ``append_valid_csv`` writes it; null → empty."""
    c = pl.col(name).cast(pl.String)
    return (
        pl.when(c.str.contains(r"[,\"\r\n]"))
        .then(pl.lit('"') + c.str.replace_all('"', '""', literal=True) + pl.lit('"'))
        .otherwise(c)
        .fill_null("")
    )


def _local(col: pl.Expr, dtype: pl.DataType, tz: str) -> pl.Expr:
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return col.dt.convert_time_zone(tz)
    if isinstance(dtype, pl.Datetime):
        return col.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="raise")
    msg = f"event_time must be a Datetime column, got {dtype}"
    raise ValueError(msg)


def _error_message(state: str, statement: str | None, obj: str | None, user: str) -> str:
    table = (obj or "").split("|")[0].split(".")[-1]
    if not table and statement:
        m = re.search(r"\b(?:update|into|from|table|on)\s+(?:only\s+)?\"?(?:\w+\.)?(\w+)",
                      statement, re.IGNORECASE)
        table = m.group(1) if m else ""
    word = (statement or "").split()[0] if (statement or "").split() else ""
    tmpl = _ERRORS.get(state)
    if tmpl is None or ("{table}" in tmpl and not table):
        return f"statement failed with SQLSTATE {state}"
    return tmpl.format(table=table, word=word, user=user)


def write_pgaudit_csvlog(db_audit: pl.DataFrame, path: Path, *,
                         timezone: str = "Asia/Shanghai") -> pl.DataFrame:
    """Write ``db_audit`` events to ``path`` as a PostgreSQL 15 csvlog with pgAudit records.

    Returns each event's ``event_id`` (as given) and its ``record`` number in the file
    (from 1), so that its id after loading is ``<path relative to db_audit/>:<record>``.
    Raises ValueError for an event a csvlog cannot hold (a required value missing, an
    event without ``statement_id`` that did not fail, a retcode that is no SQLSTATE).
    """
    cols = set(db_audit.columns)
    missing = [c for c in _NEEDED if c not in cols]
    if missing:
        msg = f"db_audit has no column {', '.join(missing)}"
        raise ValueError(msg)
    schema = TABLES["db_audit"].polars_schema(timezone)
    df = db_audit.select(
        (pl.col(c) if c in cols else pl.lit(None)).cast(t if c != "event_time" else
                                                        db_audit.schema["event_time"]).alias(c)
        for c, t in schema.items()
    ).with_row_index("_i")
    for c in _NEEDED:
        bad = df.filter(pl.col(c).is_null())
        if bad.height:
            msg = f"event {bad['event_id'][0]!r}: {c} is missing (required)"
            raise ValueError(msg)
    failed = pl.col("retcode").fill_null(0) != 0
    no_stmt = df.filter(~failed & (pl.col("statement_id").is_null()
                                   | pl.col("substatement_id").is_null()))
    if no_stmt.height:
        msg = (f"event {no_stmt['event_id'][0]!r} ({no_stmt['command'][0]}) has no "
               "statement_id/substatement_id: not a pgAudit record, a csvlog cannot hold it")
        raise ValueError(msg)

    t = _local(pl.col("event_time"), df.schema["event_time"], timezone)
    df = df.with_columns(t.alias("_t")).sort("_t", "_i", maintain_order=True)
    df = df.with_row_index("record", offset=1).with_columns(pl.col("record").cast(pl.Int64))

    # per session: pid, start time, client port, backend id; per record: its line number
    sid = pl.col("session_id")
    pg_sid = sid.str.extract_groups(r"^(?P<start>[0-9a-f]{1,12})\.(?P<pid>[0-9a-f]{1,8})$")
    df = df.with_columns(pg_sid.struct.field("start").str.to_integer(base=16, strict=False)
                         .alias("_start"),
                         pg_sid.struct.field("pid").str.to_integer(base=16, strict=False)
                         .alias("_pid"))
    made_pid = 20000 + sid.rank("dense").cast(pl.Int64).fill_null(0)
    start = pl.when(pl.col("_start").is_not_null()).then(
        pl.from_epoch(pl.col("_start"), time_unit="s").dt.replace_time_zone("UTC")
        .dt.convert_time_zone(timezone)).otherwise(pl.col("_t").min().over("session_id"))
    df = df.with_columns(
        pl.coalesce(pl.col("_pid"), made_pid).alias("_pid"),
        pl.min_horizontal(start, pl.col("_t").min().over("session_id")).alias("_start_t"),
        (pl.int_range(pl.len()).over("session_id") + 1).alias("_line"),
    ).with_columns(
        (32768 + (pl.col("_pid") * 7919) % 28000).alias("_port"),
        (2 + pl.col("_pid") % 97).alias("_backend"),
    )
    writes = (~failed & pl.col("audit_class").str.to_uppercase().is_in(_WRITING))
    df = df.with_columns(
        pl.when(writes).then(999 + writes.cast(pl.Int64).cum_sum()).otherwise(0).alias("_xid"),
    )

    # the message: pgAudit's record, or the server's error
    payload = pl.concat_str(
        [pl.lit("AUDIT: SESSION"), pl.col("statement_id").cast(pl.String),
         pl.col("substatement_id").cast(pl.String),
         *(_pgaudit_field(c) for c in ("audit_class", "command", "object_type", "object_name",
                                       "statement", "parameter"))],
        separator=",",
    )
    payload = pl.when(pl.col("rows").is_not_null()).then(
        payload + pl.lit(",") + pl.col("rows").cast(pl.String)).otherwise(payload)
    states = {c: sqlstate_text(int(c)) for c in df.filter(failed)["retcode"].unique()}
    err = df.filter(failed)
    messages = [
        _error_message(states[rc], st, obj, u)
        for rc, st, obj, u in err.select("retcode", "statement", "object_name", "db_user").rows()
    ]
    df = df.join(
        err.select("record", pl.Series("_emsg", messages, dtype=pl.String),
                   pl.Series("_state", [states[c] for c in err["retcode"]], dtype=pl.String)),
        on="record", how="left", maintain_order="left")
    auth = pl.col("_state").str.starts_with("28").fill_null(False)
    sev = pl.when(~failed).then(pl.lit("LOG")).when(auth).then(pl.lit("FATAL")).otherwise(
        pl.lit("ERROR"))
    ts = "%Y-%m-%d %H:%M:%S"
    ip = pl.col("client_ip")
    fields = [
        pl.col("_t").dt.strftime(ts + "%.3f %Z"),  # log_time
        _q(pl.col("db_user")).fill_null(""),  # user_name
        _q(pl.col("database")).fill_null(""),  # database_name
        pl.col("_pid").cast(pl.String),  # process_id
        _q(ip + pl.lit(":") + pl.col("_port").cast(pl.String)).fill_null(""),  # connection_from
        sid.fill_null(""),  # session_id
        pl.col("_line").cast(pl.String),  # session_line_num
        _q(pl.when(auth).then(pl.lit("authentication"))
           .otherwise(pl.col("command").str.to_uppercase())),  # command_tag
        pl.col("_start_t").dt.strftime(ts + " %Z"),  # session_start_time
        pl.col("_backend").cast(pl.String) + "/" + pl.col("_line").cast(pl.String),  # vxid
        pl.col("_xid").cast(pl.String),  # transaction_id
        sev,  # error_severity
        pl.when(failed).then(pl.col("_state")).otherwise(pl.lit("00000")),  # sql_state_code
        _q(pl.when(failed).then(pl.col("_emsg")).otherwise(payload)),  # message
        *[pl.lit("")] * 5,  # detail, hint, internal_query, internal_query_pos, context
        pl.when(failed).then(_q(pl.col("statement"))).otherwise(pl.lit(None)).fill_null(""),
        pl.lit(""), pl.lit(""),  # query_pos, location
        _q(pl.col("application_name").fill_null("")),  # application_name
        pl.lit('"client backend"'),  # backend_type
        pl.lit(""),  # leader_pid
        pl.lit("0"),  # query_id
    ]
    lines = df.select(pl.concat_str(fields, separator=",").alias("line"))["line"]
    if lines.null_count():
        msg = "internal error: a csvlog line came out null"
        raise AssertionError(msg)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("".join(line + "\n" for line in lines))
    return df.select("event_id", "record").sort("record")

"""What the log benchmark's engines share: csvlog and pgAudit layouts, rule constants, findings.

Kept free of polars so the pandas and DuckDB children import only their own engine.
``tests/test_benchmarks_logs_smoke.py`` checks these copies against
:mod:`auditlib.detectors._dblog`, :mod:`auditlib.detectors._xcheck` and
:mod:`auditlib.io.raw.pgaudit`.

The rules the twins implement (the *core*, see ``benchmarks/README.md``):

- ``db.direct_write``: successful writes (verb in :data:`WRITE_VERBS` or pgAudit class
  WRITE) by accounts other than ``db.app_users``; tables from ``object_name``; one finding
  per statement (account, session, statement id; a new statement after a 60 s gap) that
  writes a protected table, keyed by its first event; dropped when an approved change
  ticket of the account covers its time and tables. Out of the core: rows whose tables
  must come from the SQL text (no ``object_name``, or ``COPY``: its direction), which the
  real detector parses with sqlglot.
- ``xcheck.unexplained_write``: the application's successful writes to protected tables
  (same statement key), inside the business log's time span +- tolerance, whose statement
  or parameters name business object ids (tokens of the shapes of the business log's ids)
  of which none has a successful business operation within +- tolerance seconds — the
  ``known`` and ``unknown`` kinds of the detector. Out of the core: writes naming no id
  (``noid``: the real detector then checks for business events of the table's kind and
  for routine statements), and again rows without ``object_name`` or ``COPY``.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- csvlog
CSVLOG_COLUMNS = (
    "log_time",
    "user_name",
    "database_name",
    "process_id",
    "connection_from",
    "session_id",
    "session_line_num",
    "command_tag",
    "session_start_time",
    "virtual_transaction_id",
    "transaction_id",
    "error_severity",
    "sql_state_code",
    "message",
    "detail",
    "hint",
    "internal_query",
    "internal_query_pos",
    "context",
    "query",
    "query_pos",
    "location",
    "application_name",
    "backend_type",
    "leader_pid",
    "query_id",
)
"""PostgreSQL 15 csvlog columns (22 before 13, 23 in 13, 24 in 14, 26 from 15)."""

AUDIT_FIELDS = (
    "audit_type",
    "statement_id",
    "substatement_id",
    "audit_class",
    "command",
    "object_type",
    "object_name",
    "statement",
    "parameter",
    "rows",
)
"""pgAudit's payload (auditlib.io.raw.pgaudit._AUDIT)."""

DB_AUDIT = (
    ("event_id", "str"),
    ("event_time", "time"),
    ("db_user", "str"),
    ("command", "str"),
    ("database", "str"),
    ("client_ip", "str"),
    ("application_name", "str"),
    ("session_id", "str"),
    ("statement_id", "int"),
    ("substatement_id", "int"),
    ("audit_class", "str"),
    ("object_type", "str"),
    ("object_name", "str"),
    ("statement", "str"),
    ("parameter", "str"),
    ("rows", "int"),
    ("retcode", "int"),
)
"""The canonical db_audit columns (auditlib.schemas, table ``db_audit``) the parsers give."""

SEVERITY_EN = {
    "日志": "LOG",
    "错误": "ERROR",
    "致命错误": "FATAL",
    "语句": "STATEMENT",
    "详细信息": "DETAIL",
    "提示": "HINT",
    "上下文": "CONTEXT",
}
FAILED = ("ERROR", "FATAL", "PANIC")

# ------------------------------------------------------------------------ the rules
WRITE_VERBS = (
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "COPY",
    "MERGE",
    "REPLACE",
    "LOAD",
    "WRITE",
    "UPSERT",
)
READ_VERBS = ("SELECT", "READ", "COPY", "WITH", "TABLE", "VALUES", "FETCH")
MARKER = r"^<[a-z ]+>$"
"""pgAudit's ``<none>`` / ``<not logged>``: nulls."""
STATEMENT_GAP_S = 60
"""add_statement_key's default: records of one statement id more than this apart are two."""
SESSION_ACTIONS = ("login", "logout")
NOT_DATA = ("user", "report", "config")
GENERIC_ID = r"\b[A-Za-z0-9][A-Za-z0-9_\-./]*\d[A-Za-z0-9_\-./]*\b|\b\d+\b"
MAX_SHAPES = 64

WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
"""Unicode White_Space: what polars' ``strip_chars()`` strips (DuckDB's ``trim`` only spaces)."""
SPACES = " \t\r\n\u3000\u00a0\ufeff"
"""Stripped from ids (auditlib.io.values.SPACES)."""
RESULT = {"success": "success", "成功": "success", "failure": "failure", "失败": "failure"}
"""business_log.result spellings (auditlib.schemas.ENUMS); English matched in any case."""

DIRECT = "db.direct_write"
UNEXPLAINED = "xcheck.unexplained_write"
TWINNED = (DIRECT, UNEXPLAINED)


def normalise(name: str, default: str = "public") -> str:
    """A configured table name lower case, schema ``default`` if it names none."""
    n = name.strip().replace('"', "").replace("`", "").lower()
    return n if "." in n else f"{default}.{n}"


def obj_match(pattern: str, name: str) -> bool:
    """A change-ticket object matches a table (auditlib.detectors._dblog._obj_match)."""
    if pattern.endswith(".*"):
        return name.startswith(pattern[:-1])
    if "." in pattern or "." not in name:
        return pattern == name
    return name.split(".", 1)[1] == pattern


def ticket_objects(text: str | None) -> list[str]:
    return [o.strip().lower() for o in (text or "").split(";") if o.strip()]


def covered(tickets: list[dict], user: str, when, tables: list[str]) -> bool:
    """Whether an approved ticket of ``user`` holds ``when`` and every table (the first
    matching ticket of ``_dblog.cover``; only whether there is one matters here)."""
    for t in tickets:
        if t["user"] != user or not (t["start_time"] <= when <= t["end_time"]):
            continue
        pats = ticket_objects(t["objects"])
        if not pats or all(any(obj_match(p, n) for p in pats) for n in tables):
            return True
    return False


def id_pattern(shapes: list[str], digit: str = r"\d") -> str | None:
    """auditlib.detectors._dblog.id_pattern from the ids' distinct shapes (digits replaced
    by ``\\x00``), the engine computing the shapes; ``digit`` spells a digit class in the
    engine's dialect (``\\p{Nd}`` in RE2, whose ``\\d`` is ASCII where Rust's is Unicode)."""
    shapes = sorted(set(shapes))
    if not shapes:
        return None
    if len(shapes) > MAX_SHAPES:
        return GENERIC_ID
    out = []
    for s in shapes:
        parts = re.findall(r"\x00+|[^\x00]", s)
        body = "".join((digit + f"{{{len(p)}}}") if p[0] == "\x00" else re.escape(p) for p in parts)
        left = r"\b" if re.match(r"[\w\x00]", s) else ""
        right = r"\b" if re.search(r"[\w\x00]$", s) else ""
        out.append(f"{left}{body}{right}")
    return "|".join(sorted(out, key=lambda x: (-len(x), x)))


def sqlstate_code(state: str | None) -> int | None:
    """auditlib.io.raw.pgaudit.sqlstate_code."""
    if not state or not re.fullmatch(r"[0-9A-Z]{5}", state):
        return None
    if state.isdigit():
        return int(state)
    return (1 << 30) | sum(((ord(c) - 48) & 0x3F) << (6 * i) for i, c in enumerate(state))


def first_verb(sql: str | None) -> str | None:
    """The verb of a failed statement, simplified: its first word (auditlib's ``sql_verb``
    also skips leading comments and finds the main verb after ``WITH``)."""
    m = re.match(r"[\s(;]*([A-Za-z_][A-Za-z0-9_]*)", sql or "")
    return m.group(1).upper() if m else None


def params_of(settings) -> dict:
    """What the twins need from the settings (JSON-serialisable)."""
    db = settings.db
    return {
        "timezone": settings.timezone,
        "app_users": [u.strip().lower() for u in db.app_users],
        "protected": [normalise(t) for t in db.protected_tables],
    }

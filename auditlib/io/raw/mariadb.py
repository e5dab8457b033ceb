"""MariaDB ``server_audit`` plugin logs → ``db_audit``; and helpers the SQL-log parsers share.

One record per line: ``timestamp,serverhost,username,host,connectionid,queryid,
operation,database,object,retcode``. ``object`` of a QUERY record is the SQL in
single quotes with ``\\'``/``\\\\`` (and ``\\n``, ``\\t``...) escapes, and may contain
commas; ``retcode`` is the last field. Timestamps (``20250301 10:15:01``) have no
zone and are read in the ``timezone`` setting; a masked one (``TIME``, as the
MariaDB test suite writes) gives a null time, counted, and the record is kept.

Mapping: ``db_user`` = username, ``client_ip`` = host, ``session_id`` =
connectionid, ``statement_id`` = queryid (null unless a whole number),
``database``, ``retcode`` (null unless a whole number; table events carry none).
QUERY: ``statement`` = the SQL, ``command`` = its verb (:func:`sql_verb`).
Table events (READ, WRITE, CREATE, ALTER, DROP, RENAME): ``command`` = the
operation, ``object_type`` = ``TABLE``, ``object_name`` = the object qualified
with the record's database when it has no schema (``finance.expense``, the
``schema.table`` form of the column; RENAME keeps ``old|new``). Connection
events: ``command`` = the operation. ``audit_class`` follows pgAudit's classes:
READ/WRITE from the table events and the verb, DDL, ROLE (users, roles, grants,
passwords), FUNCTION (CALL/DO), MISC (SET, USE, SHOW, transactions...); null for
connection events and unknown verbs.

Examples
--------
>>> sql_verb("/*comment*/ (select 2)"), sql_verb("/*!40101 SET NAMES utf8 */")
('SELECT', 'SET')
>>> sql_verb("WITH t AS (SELECT 1) DELETE FROM x USING t"), sql_verb("  ")
('DELETE', None)
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.io.raw import register
from auditlib.io.report import FileReport
from auditlib.schemas import TABLES

_INT_COLUMNS = ("statement_id", "substatement_id", "rows", "retcode")


def read_text(path: Path) -> str:
    """A log file's text: UTF-8 (BOM dropped), else GB18030; undecodable bytes replaced."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    return text.removeprefix("\ufeff").replace("\r\n", "\n")


def frame(cols: dict[str, list] | pl.DataFrame, event_time: pl.Series, settings: Settings,
          report: FileReport) -> pl.DataFrame:
    """The canonical ``db_audit`` frame from columns (lists or a frame; missing ones null,
    extra ones dropped) and a parsed ``event_time``; counts the null times in ``report``."""
    schema = TABLES["db_audit"].polars_schema(settings.timezone)
    if not isinstance(cols, pl.DataFrame):
        cols = pl.DataFrame([pl.Series(c, v, dtype=schema[c]) for c, v in cols.items()
                             if c in schema and c != "event_time"], height=len(event_time))
    report.null_time += event_time.null_count()
    cols = cols.with_columns(event_time.alias("event_time"))
    return cols.select(
        (pl.col(c) if c in cols.columns else pl.lit(None)).cast(t).alias(c)
        for c, t in schema.items()
    )


# ------------------------------------------------------------------------------- SQL
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|--[^\n]*|#[^\n]*|/\*.*?\*/"""
                    r"|[()]|[A-Za-z_][A-Za-z0-9_]*", re.DOTALL)
_MAIN = {"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "VALUES", "TABLE"}


def _verb_at(sql: str) -> re.Match[str] | None:
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace() or c in "(;":
            i += 1
        elif c == "#" or sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith(("/*!", "/*M!"), i):  # MySQL executable comment: its text runs
            i += 3 if sql[i + 2] == "!" else 4
            while i < n and sql[i].isdigit():
                i += 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    return _WORD.match(sql, i)


def sql_verb(sql: str | None) -> str | None:
    """The statement's verb: its first keyword, upper-cased, after leading comments and
    parentheses (the main verb after a ``WITH`` clause); None if it has none."""
    m = _verb_at(sql or "")
    if m is None:
        return None
    word = m.group().upper()
    if word == "WITH":
        depth = 0
        for t in _TOKEN.finditer(sql or "", m.end()):
            tok = t.group()
            depth += (tok == "(") - (tok == ")")
            if depth == 0 and tok.upper() in _MAIN:
                return tok.upper()
    return word


_CLASS = {
    "READ": ("SELECT", "TABLE", "VALUES", "HANDLER"),
    "WRITE": ("INSERT", "UPDATE", "DELETE", "REPLACE", "TRUNCATE", "LOAD", "MERGE", "COPY"),
    "ROLE": ("GRANT", "REVOKE"),
    "DDL": ("CREATE", "ALTER", "DROP", "RENAME", "COMMENT"),
    "FUNCTION": ("CALL", "DO"),
    "MISC": ("SET", "USE", "SHOW", "FLUSH", "KILL", "BEGIN", "START", "COMMIT", "ROLLBACK",
             "SAVEPOINT", "RELEASE", "LOCK", "UNLOCK", "ANALYZE", "OPTIMIZE", "CHECK", "REPAIR",
             "INSTALL", "UNINSTALL", "PREPARE", "EXECUTE", "DEALLOCATE", "DESCRIBE", "DESC",
             "EXPLAIN", "HELP", "RESET", "PURGE", "CHECKSUM", "XA", "BINLOG", "CHANGE", "SHUTDOWN"),
}
_VERB_CLASS = {v: c for c, vs in _CLASS.items() for v in vs}
_ROLE_DDL = re.compile(
    r"\s+(?:OR\s+REPLACE\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:USER|ROLE)\b", re.I)
_ROLE_SET = re.compile(r"\s+(?:PASSWORD|DEFAULT\s+ROLE)\b", re.I)


def sql_class(sql: str | None) -> str | None:
    """pgAudit's class of a statement: READ, WRITE, DDL, ROLE, FUNCTION, MISC or None.

    >>> sql_class("CREATE USER u1 IDENTIFIED BY *****"), sql_class("create table t(i int)")
    ('ROLE', 'DDL')
    """
    m = _verb_at(sql or "")
    if m is None:
        return None
    verb = sql_verb(sql)
    if verb in ("CREATE", "ALTER", "DROP", "RENAME") and _ROLE_DDL.match(sql or "", m.end()):
        return "ROLE"
    if verb == "SET" and _ROLE_SET.match(sql or "", m.end()):
        return "ROLE"
    return _VERB_CLASS.get(verb or "")


# --------------------------------------------------------------------------- MariaDB
_LINE = re.compile(r"([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([A-Z][A-Z_]*),([^,]*),(.*),"
                   r"([^,]*)")
_SNIFF = re.compile(rb"^(?:\d{8} \d\d:\d\d:\d\d|TIME),[^,\n]*,[^,\n]*,[^,\n]*,(?:\d+|ID),"
                    rb"(?:\d+|ID),[A-Z_]+,", re.MULTILINE)
_DIGITS = re.compile(r"\d{1,18}", re.ASCII)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_TABLE_EVENTS = {"READ": "READ", "WRITE": "WRITE", "CREATE": "DDL", "ALTER": "DDL",
                 "DROP": "DDL", "RENAME": "DDL"}


def _unquote(obj: str) -> str:
    if len(obj) >= 2 and obj[0] == obj[-1] == "'":
        return _UNESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), obj[1:-1])
    return obj


def _int(s: str) -> int | None:
    return int(s) if _DIGITS.fullmatch(s) else None


def _qualify(obj: str, db: str) -> str:
    return "|".join(p if "." in p or not db else f"{db}.{p}" for p in obj.split("|"))


class ServerAuditParser:
    name = "mariadb-server_audit"
    table = "db_audit"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_SNIFF.match(head.lstrip(b"\xef\xbb\xbf")))

    def parse(self, path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
        report = FileReport("db_audit", rel, self.name)
        names = ("event_id", "time", "db_user", "client_ip", "session_id", "statement_id",
                 "command", "database", "object_type", "object_name", "statement",
                 "audit_class", "retcode")
        cols: dict[str, list] = {c: [] for c in names}
        n = 0
        for line in read_text(path).split("\n"):
            if not line.strip():
                continue
            n += 1
            report.read += 1
            m = _LINE.fullmatch(line)
            if m is None:
                report.error(n, f"not a server_audit line: {line[:80]!r}")
                continue
            ts, _host, user, client, conn, query, op, db, obj, ret = m.groups()
            statement = object_name = object_type = None
            if op == "QUERY":
                statement = _unquote(obj)
                command = sql_verb(statement) or op
                klass = sql_class(statement)
            else:
                command, klass = op, _TABLE_EVENTS.get(op)
                if klass and obj:
                    object_type, object_name = "TABLE", _qualify(obj, db)
            row = (f"{rel}:{n}", ts, user or None, client or None,
                   conn if _DIGITS.fullmatch(conn) else None, _int(query), command, db or None,
                   object_type, object_name, statement, klass, _int(ret))
            for c, v in zip(names, row, strict=True):
                cols[c].append(v)
            report.kept += 1
        times = pl.Series(cols.pop("time"), dtype=pl.String).str.to_datetime(
            "%Y%m%d %H:%M:%S", strict=False, time_unit="us"
        ).dt.replace_time_zone(settings.timezone, ambiguous="earliest", non_existent="null")
        return frame(cols, times, settings, report), report


register(ServerAuditParser())

"""PostgreSQL server logs carrying pgAudit ``AUDIT:`` records → ``db_audit``.

Two formats, detected from content:

* **csvlog** (PostgreSQL 8.4–17: 22, 23, 24 or 26 columns). A record is one CSV
  row however many lines its quoted message spans.
* **stderr** with the ``log_line_prefix`` of the settings (``db.log_line_prefix``,
  default ``'%m [%p] %q%u@%d '``). A record is a prefixed line plus its
  continuation lines (PostgreSQL indents those with a tab, which is removed).

Every record counts for ``event_id`` (``<rel path>:<record number>``). ``AUDIT:``
records become events. ERROR/FATAL/PANIC records of a session whose SQLSTATE is
known (csvlog always; stderr when the prefix has ``%e``) are kept as events too,
with ``retcode`` the SQLSTATE (read as a number when it is all digits, e.g.
42501; otherwise PostgreSQL's own packed integer ``MAKE_SQLSTATE``, non-zero)
and ``command`` the verb of the failed statement (csvlog ``query``; stderr the
``STATEMENT:`` record that follows in the session), else ``FAILED_CONNECT`` for
an authorization failure (SQLSTATE class 28), else the severity. Other records
are counted as ``other_class``.

Examples
--------
>>> r = parse_audit('AUDIT: SESSION,2,1,WRITE,INSERT,TABLE,public.t,"INSERT INTO t VALUES (1, \\'a\\')",<none>,1')
>>> r["audit_class"], r["object_name"], r["statement"], r["rows"]
('WRITE', 'public.t', "INSERT INTO t VALUES (1, 'a')", 1)
>>> prefix_regex("%m [%p] %q%u@%d ").match("2025-03-01 10:15:01.123 CST [42] LOG:  hi").group("p")
'42'
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.io.raw import register
from auditlib.io.raw.mariadb import frame, read_text, sql_verb
from auditlib.io.report import FileReport

_TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
_ZONE = r"(?: ?[+-]\d\d(?::?\d\d)?| [A-Za-z][A-Za-z0-9_/+-]*)?"
_ESCAPES = {
    "m": _TS + r"\.\d+" + _ZONE, "t": _TS + _ZONE, "s": _TS + _ZONE, "n": r"\d+(?:\.\d+)?",
    "p": r"\d+", "P": r"\d*", "l": r"\d+", "x": r"\d*", "e": r"[0-9A-Z]{5}",
    "c": r"[0-9a-f]+\.[0-9a-f]+", "v": r"\S*?", "r": r"\S*?", "h": r"\S*?", "L": r"\S*?",
    "u": r"\S*?", "d": r"\S*?", "a": r".*?", "i": r".*?", "b": r".*?", "Q": r"-?\d*",
}
_SEVERITIES = (
    "DEBUG[1-5]|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|"
    "LOCATION|STATEMENT|日志|信息|注意|警告|错误|致命错误|详细信息|提示|上下文|语句"
)
_SEVERITY_EN = {"日志": "LOG", "错误": "ERROR", "致命错误": "FATAL", "语句": "STATEMENT"}
_FAILED = ("ERROR", "FATAL", "PANIC")
_CSV_START = re.compile(_TS + r"(?:\.\d+)?" + _ZONE + r',(?:"[^"]*"|[^,"]*),(?:"[^"]*"|[^,"]*),\d+,')
_STDERR_SNIFF = re.compile(r"^[^\t].{0,300}?(?:" + _SEVERITIES + r"):  \S", re.MULTILINE)
_COLUMNS = (
    "event_id", "time", "db_user", "command", "database", "client_ip", "application_name",
    "session_id", "statement_id", "substatement_id", "audit_class", "object_type",
    "object_name", "statement", "parameter", "rows", "retcode",
)


def parse_audit(payload: str) -> dict[str, str | int | None]:
    """The fields of one pgAudit record (the message, with or without ``AUDIT: ``).

    ``audit_type`` (SESSION/OBJECT), ``statement_id``, ``substatement_id``,
    ``audit_class``, ``command``, ``object_type``, ``object_name``, ``statement``,
    ``parameter`` and ``rows`` (None in the 9-field variant); empty fields are None.
    Raises ValueError naming what is wrong.
    """
    text = payload[7:] if payload.startswith("AUDIT: ") else payload
    try:
        f = next(csv.reader((text,), strict=True))
    except (csv.Error, StopIteration) as exc:
        msg = f"pgAudit record is not valid CSV ({exc})"
        raise ValueError(msg) from None
    if len(f) not in (9, 10):
        msg = f"pgAudit record has {len(f)} fields, expected 9 or 10"
        raise ValueError(msg)
    if f[0] not in ("SESSION", "OBJECT"):
        msg = f"pgAudit audit type {f[0][:40]!r} is not SESSION or OBJECT"
        raise ValueError(msg)
    ints = [f[1], f[2]] + f[9:]
    if not all(x.isdigit() for x in ints):
        msg = f"pgAudit statement ids / rows are not whole numbers: {','.join(ints)[:60]!r}"
        raise ValueError(msg)
    return {
        "audit_type": f[0], "statement_id": int(f[1]), "substatement_id": int(f[2]),
        "audit_class": f[3] or None, "command": f[4] or None, "object_type": f[5] or None,
        "object_name": f[6] or None, "statement": f[7], "parameter": f[8],
        "rows": int(f[9]) if len(f) == 10 else None,
    }


def sqlstate_code(state: str | None) -> int | None:
    """A SQLSTATE as an int: its digits, or PostgreSQL's packed MAKE_SQLSTATE value.

    >>> sqlstate_code("42501"), sqlstate_code("42P01"), sqlstate_code("")
    (42501, 16908420, None)
    """
    if not state or not re.fullmatch(r"[0-9A-Z]{5}", state):
        return None
    if state.isdigit():
        return int(state)
    return sum(((ord(c) - 48) & 0x3F) << (6 * i) for i, c in enumerate(state))


def prefix_regex(prefix: str) -> re.Pattern[str]:
    """A regex matching a line that starts with ``log_line_prefix`` and a severity."""
    out, seen, i, optional = ["^"], set(), 0, False
    while i < len(prefix):
        ch = prefix[i]
        if ch != "%" or i + 1 >= len(prefix):
            out.append(re.escape(ch))
            i += 1
            continue
        m = re.match(r"%(-?\d+)?(.)", prefix[i:])
        assert m is not None
        pad, esc = m.group(1), m.group(2)
        i += m.end()
        if esc == "%":
            out.append("%")
        elif esc == "q":
            out.append("(?:")
            optional = True
        elif esc in _ESCAPES:
            body = _ESCAPES[esc]
            group = f"(?P<{esc}>{body})" if esc not in seen else f"(?:{body})"
            seen.add(esc)
            out.append(rf" *{group} *" if pad else group)
        # an unknown escape writes nothing in PostgreSQL: match nothing
    if optional:
        out.append(")?")
    out.append(r"(?P<sev>[^\s:]+):  (?P<msg>.*)$")
    return re.compile("".join(out), re.DOTALL)


class _Events:
    """Column lists of the events of one file, filled record by record."""

    def __init__(self, rel: str, report: FileReport) -> None:
        self.rel, self.report = rel, report
        self.cols: dict[str, list] = {c: [] for c in _COLUMNS}

    def add(self, n: int, server: dict[str, str | None], msg: str, sev: str, state: str | None,
            query: str | None) -> bool:
        """Record ``n``: add it as an event if it is one; count it otherwise."""
        row: dict[str, object] = {}
        if msg.startswith("AUDIT: "):
            try:
                row = parse_audit(msg)
            except ValueError as exc:
                self.report.error(n, str(exc))
                return False
        elif sev in _FAILED and server.get("db_user") and sqlstate_code(state) is not None:
            verb = sql_verb(query) if query else None
            row = {"statement": query or None, "retcode": sqlstate_code(state),
                   "command": verb or ("FAILED_CONNECT" if state and state[:2] == "28" else sev)}
        else:
            self.report.other_class += 1
            return False
        row.update(server, event_id=f"{self.rel}:{n}")
        for c, vals in self.cols.items():
            vals.append(row.get(c))
        self.report.kept += 1
        return True

    def frame(self, settings: Settings) -> pl.DataFrame:
        return frame(self.cols, to_event_time(pl.Series(self.cols.pop("time"), dtype=pl.String),
                                              settings.timezone), settings, self.report)


def to_event_time(raw: pl.Series, tz: str) -> pl.Series:
    """Server timestamps as ``Datetime('us', tz)``: an offset or UTC/GMT/Z is honoured, a
    zone abbreviation (CST) or none is read in ``tz``; epoch seconds (``%n``) are UTC;
    anything else is null."""
    rx = (r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)\s*"
          r"(?:(Z|UTC|GMT|UT)|([+-])(\d\d):?(\d\d)?|[A-Za-z][A-Za-z0-9_/+-]*)?$")
    g = raw.to_frame("t").select(pl.col("t").str.extract_groups(rx)).unnest("t")
    g.columns = ["d", "hms", "utc", "sign", "oh", "om"]
    naive = (pl.col("d") + " " + pl.col("hms")).str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    offset = pl.duration(minutes=(pl.col("oh").cast(pl.Int64) * 60
                                  + pl.col("om").cast(pl.Int64).fill_null(0)))
    epoch = raw.str.to_decimal(scale=6, strict=False) if False else None  # noqa: F841
    as_utc = naive.dt.replace_time_zone("UTC")
    out = g.with_columns(t=raw).select(
        pl.when(pl.col("utc").is_not_null()).then(as_utc)
        .when(pl.col("sign") == "+").then(as_utc - offset)
        .when(pl.col("sign") == "-").then(as_utc + offset)
        .when(pl.col("d").is_not_null()).then(
            naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC"))
        .when(pl.col("t").str.contains(r"^\d{9,11}(?:\.\d+)?$")).then(
            pl.from_epoch((pl.col("t").cast(pl.Float64, strict=False) * 1e6).round()
                          .cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC"))
        .dt.convert_time_zone(tz).alias("event_time")
    )
    return out.to_series()


# ---------------------------------------------------------------------------- csvlog
def _csv_records(lines: list[str]):
    """(first line number, record text) of each CSV record: lines joined while a quote is open.
    An open record interrupted by a line that starts a csvlog row is given up there."""
    start, buf, quotes = 0, [], 0
    for i, line in enumerate(lines):
        if buf and quotes % 2 and _CSV_START.match(line):
            yield start, "\n".join(buf)
            buf, quotes = [], 0
        if not buf:
            if not line.strip():
                continue
            start = i
        buf.append(line)
        quotes += line.count('"')
        if quotes % 2 == 0:
            yield start, "\n".join(buf)
            buf, quotes = [], 0
    if buf:
        yield start, "\n".join(buf)


def _first_csv_row(text: str) -> list[str] | None:
    for _, rec in _csv_records(text.split("\n")[:200]):
        try:
            return next(csv.reader((rec.rstrip("\r"),), strict=True))
        except (csv.Error, StopIteration):
            return None
    return None


class CsvlogParser:
    name = "pgaudit-csvlog"
    table = "db_audit"

    def sniff(self, head: bytes, path: Path) -> bool:
        row = _first_csv_row(head.decode("utf-8", "replace").lstrip("\ufeff"))
        return bool(row and len(row) >= 22 and re.match(_TS, row[0]))

    def parse(self, path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
        report = FileReport("db_audit", rel, self.name)
        events = _Events(rel, report)
        for n, (_, rec) in enumerate(_csv_records(read_text(path).split("\n")), start=1):
            report.read += 1
            try:
                f = next(csv.reader((rec.replace("\r\n", "\n").rstrip("\r"),), strict=True))
            except (csv.Error, StopIteration) as exc:
                report.error(n, f"not a csvlog row ({exc})")
                continue
            if len(f) < 22:
                report.error(n, f"not a csvlog row: {len(f)} fields, expected 22 to 26")
                continue
            server = {
                "time": f[0] or None, "db_user": f[1] or None, "database": f[2] or None,
                "client_ip": f[4].rsplit(":", 1)[0] if ":" in f[4] else (f[4] or None),
                "session_id": f[5] or None,
                "application_name": (f[22] or None) if len(f) > 22 else None,
            }
            events.add(n, server, f[13], _SEVERITY_EN.get(f[11], f[11]), f[12], f[19])
        return events.frame(settings), report


# ---------------------------------------------------------------------------- stderr
def _open_quote(msg: str) -> bool:
    return msg.startswith("AUDIT: ") and msg.count('"') % 2 == 1


class StderrParser:
    name = "pgaudit-stderr"
    table = "db_audit"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_STDERR_SNIFF.search(head.decode("utf-8", "replace")))

    def parse(self, path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
        prefix = settings.db.log_line_prefix
        rx = prefix_regex(prefix)
        report = FileReport("db_audit", rel, self.name)
        events = _Events(rel, report)
        pending: dict[str | None, int] = {}  # session → row of an ERROR event awaiting STATEMENT
        cur: list = []  # [record no, match or None, message lines]

        def flush() -> None:
            if not cur:
                return
            n, m, lines = cur
            if m is None:
                report.error(n, f"line does not start with log_line_prefix {prefix!r}: "
                                f"{lines[0][:80]!r}")
                return
            g = m.groupdict()
            user = None if g.get("u") in (None, "", "[unknown]") else g["u"]
            host = g.get("r") or g.get("h") or None
            server = {
                "time": g.get("m") or g.get("t") or g.get("n"), "db_user": user,
                "database": None if g.get("d") in (None, "", "[unknown]") else g["d"],
                "client_ip": re.sub(r"\(\d+\)$", "", host) if host else None,
                "application_name": None if g.get("a") in (None, "", "[unknown]") else g["a"],
                "session_id": g.get("c") or g.get("p"),
            }
            sev = _SEVERITY_EN.get(g["sev"], g["sev"])
            msg = "\n".join(lines)
            key = server["session_id"]
            row = pending.pop(key, None)
            if sev == "STATEMENT" and row is not None:
                events.cols["statement"][row] = msg
                events.cols["command"][row] = sql_verb(msg) or events.cols["command"][row]
            if events.add(n, server, msg, sev, g.get("e"), None) and sev in _FAILED:
                pending[key] = len(events.cols["event_id"]) - 1

        n = 0
        for line in read_text(path).split("\n"):
            line = line.removesuffix("\r")
            m = rx.match(line)
            if m is None and cur and (line[:1] in ("\t", " ") or _open_quote("\n".join(cur[2]))):
                cur[2].append(line[1:] if line[:1] == "\t" else line)
                continue
            if m is None and not line.strip():
                continue
            flush()
            n += 1
            report.read += 1
            cur = [n, m, [m.group("msg") if m else line]]
        flush()
        if report.read and report.read == report.skipped:
            msg = (f"no line starts with the log_line_prefix {prefix!r} "
                   "(set db.log_line_prefix in auditlib.yaml to the server's setting)")
            raise DataError(msg, file=str(path))
        return events.frame(settings), report


register(CsvlogParser())
register(StderrParser())

"""PostgreSQL server logs carrying pgAudit ``AUDIT:`` records → ``db_audit``.

Two formats, detected from content:

* **csvlog** (PostgreSQL 8.4–17: 22, 23, 24 or 26 columns). A record is one CSV
  row however many lines its quoted message spans.
* **stderr** with the ``log_line_prefix`` of the settings (``db.log_line_prefix``,
  default ``'%m [%p] %q%u@%d '``). A record is a prefixed line plus its
  continuation lines (PostgreSQL indents those with a tab, which is removed; an
  unindented line continues a record only inside an open quoted pgAudit field,
  otherwise it is an unreadable record of its own).

Every record counts for ``event_id`` (``<rel path>:<record number>``). ``AUDIT:``
records become events. ERROR/FATAL/PANIC records of a session whose SQLSTATE is
known (csvlog always; stderr when the prefix has ``%e``) are kept as events too:
``retcode`` is the SQLSTATE (its number when all digits, e.g. 42501; otherwise
PostgreSQL's own packed integer ``MAKE_SQLSTATE``, non-zero), ``command`` the
verb of the failed statement (csvlog ``query``; stderr the ``STATEMENT:`` record
that follows in the session), else ``FAILED_CONNECT`` for an authorization
failure (SQLSTATE class 28), else the severity; the pgAudit columns stay null.
Other records are counted as ``other_class``.

Clean files take a vectorised path (polars reads the csvlog's used columns straight
from the file when it is plain UTF-8, and every pgAudit payload); a file with an
unreadable record falls back to reading record by record, which reports each bad
one with its number.

Examples
--------
>>> r = parse_audit('AUDIT: SESSION,2,1,WRITE,INSERT,TABLE,public.t,"INSERT INTO t VALUES (1, 2)",<none>,1')
>>> r["audit_class"], r["object_name"], r["statement"], r["rows"]
('WRITE', 'public.t', 'INSERT INTO t VALUES (1, 2)', 1)
>>> prefix_regex("%m [%p] %q%u@%d ").match("2025-03-01 10:15:01.123 CST [42] LOG:  hi").group("p")
'42'
"""  # noqa: E501

from __future__ import annotations

import csv
import io
import mmap
import re
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.exprs import fixed_offset_us
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
_SEVERITY_EN = {  # zh_CN servers (lc_messages) translate the severity
    "日志": "LOG", "错误": "ERROR", "致命错误": "FATAL", "语句": "STATEMENT", "详细信息": "DETAIL",
    "提示": "HINT", "上下文": "CONTEXT",
}
_TRAILERS = ("DETAIL", "HINT", "CONTEXT", "QUERY", "LOCATION")
_FAILED = ("ERROR", "FATAL", "PANIC")
_CSV_START = re.compile(
    _TS + r"(?:\.\d+)?" + _ZONE + r',(?:"[^"]*"|[^,"]*),(?:"[^"]*"|[^,"]*),\d+,')
_STDERR_SNIFF = re.compile(r"^[^\t].{0,300}?(?:" + _SEVERITIES + r"):  \S", re.MULTILINE)
_SERVER = ("time", "db_user", "database", "client_ip", "application_name", "session_id")
_RECORD = ("n", *_SERVER, "sev", "state", "msg", "query")
_DIGITS = re.compile(r"\d{1,18}", re.ASCII)
_AUDIT = ("audit_type", "statement_id", "substatement_id", "audit_class", "command",
          "object_type", "object_name", "statement", "parameter", "rows")


# ---------------------------------------------------------------------- pgAudit payload
def _audit_fields(text: str) -> list:
    """The fields of one payload (text after ``AUDIT: ``), in ``_AUDIT`` order."""
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
    if not all(_DIGITS.fullmatch(x) for x in [f[1], f[2], *f[9:]]):
        msg = f"pgAudit statement ids / rows are not whole numbers: {','.join(f[1:3] + f[9:])!r}"
        raise ValueError(msg)
    return [f[0], int(f[1]), int(f[2]), *(x or None for x in f[3:9]),
            int(f[9]) if len(f) == 10 else None]


def parse_audit(payload: str) -> dict[str, str | int | None]:
    """The fields of one pgAudit record (the message, with or without ``AUDIT: ``):
    ``audit_type`` (SESSION/OBJECT), ``statement_id``, ``substatement_id``,
    ``audit_class``, ``command``, ``object_type``, ``object_name``, ``statement``,
    ``parameter`` and ``rows`` (None in the 9-field variant); empty fields are None.
    Raises ValueError naming what is wrong."""
    return dict(zip(_AUDIT, _audit_fields(payload.removeprefix("AUDIT: ")), strict=True))


_PAYLOAD_SCHEMA = {c: pl.String for c in _AUDIT}
_INT = r"^[0-9]{1,18}$"


def _payloads(payloads: pl.Series, ns: pl.Series, report: FileReport) -> pl.DataFrame:
    """The fields of each payload (``_AUDIT`` columns, typed) and ``ok``; bad ones reported.
    Vectorised when every payload reads cleanly, else one by one."""
    if payloads.len() == 0:
        return pl.DataFrame(schema={**_payload_types(), "ok": pl.Boolean})
    buf = io.BytesIO()  # one payload a line, as polars holds them (no Python str)
    payloads.to_frame("p").write_csv(buf, include_header=False, quote_style="never")
    try:
        df = pl.read_csv(buf.getvalue(), has_header=False,
                         schema=_PAYLOAD_SCHEMA, quote_char="\"", missing_columns="insert")
        good = df.height == payloads.len() and df.select(
            pl.col("audit_type").is_in(["SESSION", "OBJECT"])
            & pl.col("statement_id").str.contains(_INT)
            & pl.col("substatement_id").str.contains(_INT)
            & pl.col("statement").is_not_null() & pl.col("parameter").is_not_null()
            & (pl.col("rows").is_null() | pl.col("rows").str.contains(_INT))
        ).to_series().all()
    except pl.exceptions.PolarsError:
        good = False
    if good:
        return df.cast(_payload_types()).with_columns(ok=pl.lit(True))
    rows = []
    for n, text in zip(ns.to_list(), payloads.to_list(), strict=True):
        try:
            rows.append([*_audit_fields(text), True])
        except ValueError as exc:
            report.error(n, str(exc))
            rows.append([None] * len(_AUDIT) + [False])
    return pl.DataFrame(rows, schema={**_payload_types(), "ok": pl.Boolean}, orient="row")


def _payload_types() -> dict[str, pl.DataType]:
    ints = ("statement_id", "substatement_id", "rows")
    return {c: pl.Int64() if c in ints else pl.String() for c in _AUDIT}


def sqlstate_code(state: str | None) -> int | None:
    """A SQLSTATE as an int: its digits, or PostgreSQL's packed MAKE_SQLSTATE value with
    bit 30 set, so a code with letters never collides with an all-digit one.

    >>> sqlstate_code("42501"), sqlstate_code("42P01"), sqlstate_code("")
    (42501, 1090650244, None)
    >>> sqlstate_code("XX000") != sqlstate_code("02600")
    True
    """
    if not state or not re.fullmatch(r"[0-9A-Z]{5}", state):
        return None
    if state.isdigit():
        return int(state)
    return (1 << 30) | sum(((ord(c) - 48) & 0x3F) << (6 * i) for i, c in enumerate(state))


def _events(rec: pl.DataFrame, rel: str, report: FileReport, settings: Settings) -> pl.DataFrame:
    """Events of a file from its candidate records (``_RECORD`` columns)."""
    is_audit = pl.col("msg").str.starts_with("AUDIT: ")
    audit = rec.filter(is_audit)
    failed = rec.filter(~is_audit & pl.col("sev").is_in(_FAILED) & pl.col("db_user").is_not_null()
                        & pl.col("state").str.contains(r"^[0-9A-Z]{5}$"))
    report.other_class += rec.height - audit.height - failed.height
    fields = _payloads(audit["msg"].str.slice(7), audit["n"], report)
    audit = pl.concat([audit.select("n", *_SERVER), fields], how="horizontal").filter(
        pl.col("ok"))
    query, state = failed["query"].to_list(), failed["state"].to_list()
    failed = failed.select("n", *_SERVER, statement="query", command=pl.Series(
        [sql_verb(q) or ("FAILED_CONNECT" if s[:2] == "28" else v)
         for q, s, v in zip(query, state, failed["sev"].to_list(), strict=True)],
        dtype=pl.String), retcode=pl.Series([sqlstate_code(s) for s in state], dtype=pl.Int64))
    ev = pl.concat([audit.drop("ok", "audit_type"), failed], how="diagonal_relaxed")
    if failed.height:  # audit records alone are in record order already
        ev = ev.sort("n")
    report.kept += ev.height
    ev = ev.with_columns(event_id=pl.lit(rel + ":") + pl.col("n").cast(pl.String))
    return frame(ev, to_event_time(ev["time"], settings.timezone), settings, report)


_CSVLOG_TIME = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [A-Za-z][A-Za-z0-9_/+-]*$"
"""csvlog ``log_time`` as PostgreSQL writes it: milliseconds and a zone abbreviation."""


def to_event_time(raw: pl.Series, tz: str) -> pl.Series:
    """Server timestamps as ``Datetime('us', tz)``: an offset or UTC/GMT/Z is honoured, a
    zone abbreviation (CST) or none is read in ``tz``; epoch seconds (``%n``) are UTC;
    anything else is null. When every time has the csvlog's form with one abbreviation
    (the usual log), one ``strptime`` with that abbreviation as literal text does it."""
    s = raw.cast(pl.String)
    first = s[0] if s.len() and s.null_count() == 0 else None
    zone = first[24:] if first and re.fullmatch(_CSVLOG_TIME, first) else None
    naive = None
    if zone and zone not in ("Z", "UTC", "GMT", "UT"):
        # the first time's form with its abbreviation as literal text: one strptime checks
        # the form of every time and parses it (null where a time has another form or zone)
        naive = s.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.3f " + zone,
                               strict=False)
        if naive.null_count():
            naive = None
    if naive is not None:
        off = fixed_offset_us(tz, naive.min(), naive.max())
        if off is not None:  # one offset over the log: a subtraction
            return ((naive.to_physical() - off).cast(pl.Datetime("us", "UTC"))
                    .dt.convert_time_zone(tz).alias("event_time"))
        return (naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC").dt.convert_time_zone(tz).alias("event_time"))
    rx = (r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)\s*"
          r"(?:(Z|UTC|GMT|UT)|([+-])(\d\d):?(\d\d)?|[A-Za-z][A-Za-z0-9_/+-]*)?$")
    g = raw.cast(pl.String).to_frame("t").select(pl.col("t").str.extract_groups(rx)).unnest("t")
    g.columns = ["d", "hms", "utc", "sign", "oh", "om"]
    naive = (pl.col("d") + " " + pl.col("hms")).str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    offset = pl.duration(minutes=(pl.col("oh").cast(pl.Int64) * 60
                                  + pl.col("om").cast(pl.Int64).fill_null(0)))
    as_utc = naive.dt.replace_time_zone("UTC")
    epoch = (pl.col("t").cast(pl.Float64, strict=False) * 1e6).round().cast(pl.Int64)
    return g.with_columns(t=raw.cast(pl.String)).select(
        pl.when(pl.col("utc").is_not_null()).then(as_utc)
        .when(pl.col("sign") == "+").then(as_utc - offset)
        .when(pl.col("sign") == "-").then(as_utc + offset)
        .when(pl.col("d").is_not_null()).then(
            naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC"))
        .when(pl.col("t").str.contains(r"^\d{9,11}(?:\.\d+)?$")).then(
            pl.from_epoch(epoch, time_unit="us").dt.replace_time_zone("UTC"))
        .dt.convert_time_zone(tz).alias("event_time")
    ).to_series()


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


def _csvlog_fast(text: str) -> pl.DataFrame | None:
    """The csvlog's columns ``c0``.. read by polars, or None unless every row is a csvlog row."""
    try:
        df = pl.read_csv(text.rstrip("\n").encode() + b"\n", has_header=False,
                         infer_schema=False, quote_char='"')
    except pl.exceptions.PolarsError:
        return None
    if df.width < 22:
        return None
    df.columns = [f"c{i}" for i in range(df.width)]
    ok = df.select(pl.col("c0").str.contains("^" + _TS) & pl.col("c3").str.contains(r"^\d+$"))
    return df if ok.to_series().all() else None


_USED = (0, 1, 2, 3, 4, 5, 11, 12, 13, 19, 22)
"""csvlog columns read: log_time, user, database, process_id (checked), connection_from,
session_id, severity, SQLSTATE, message, query, application_name."""
BATCH = 500_000
"""Records parsed at a time when polars reads the file: the raw columns and the payloads
of one batch are in memory at once, not of the whole file."""


def _plain_csvlog(path: Path) -> tuple[list[int], int] | None:
    """The used columns' numbers when polars can read the file itself (UTF-8 without BOM
    or carriage return, which ``read_text`` would drop or normalise, and a first record
    of at least 22 fields), and the number of blank lines at its end (the text path
    strips them; polars reads each as an empty row); else None."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
        if not head.strip() or head.startswith(b"\xef\xbb\xbf"):
            return None
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            if mm.find(b"\r") >= 0:
                return None
            end = len(mm)
            while end and mm[end - 1] == 10:  # b"\n"
                end -= 1
            blank = max(len(mm) - end - 1, 0)
    try:
        first = next(csv.reader(io.StringIO(head.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    if len(first) < 22:
        return None
    return [i for i in _USED if i < len(first)], blank


def _records(df: pl.DataFrame) -> pl.DataFrame:
    """Candidate records (``_RECORD`` columns) from csvlog columns ``c<i>`` and ``n``."""
    if "c22" not in df.columns:
        df = df.with_columns(c22=pl.lit(None, pl.String))
    used = ("c0", "c1", "c2", "c4", "c5", "c11", "c12", "c13", "c19", "c22")
    return df.lazy().select(  # an empty field ("" quoted or not) is null
        pl.col("n").cast(pl.Int64), *(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)
                                      for c in used)
    ).select(
        "n", time="c0", db_user="c1", database="c2",
        client_ip=pl.col("c4").str.replace(r":\d+$", ""), application_name="c22",
        session_id="c5", sev=pl.col("c11").replace(_SEVERITY_EN), state="c12",
        msg=pl.col("c13").fill_null(""), query="c19",
    ).collect()


class _NotPlain(Exception):
    """A batch polars read is not all csvlog rows: the file takes the text path."""


def _csvlog_batched(path: Path, cols: list[int], blank: int, rel: str, report: FileReport,
                    settings: Settings) -> pl.DataFrame:
    """The events of a plain csvlog read by polars ``BATCH`` records at a time (raises
    ``_NotPlain`` or a polars error when a record does not read as a csvlog row); the
    ``blank`` empty rows of the blank lines at the end are not counted, as on the text
    path (which strips them; a blank line inside is an empty record on both)."""
    lf = pl.scan_csv(path, has_header=False, infer_schema=False, quote_char='"')
    names = lf.collect_schema().names()
    lf = lf.select(pl.col(names[i]).alias(f"c{i}") for i in cols).with_row_index("n", offset=1)
    parts, read = [], 0
    for df in lf.collect_batches(chunk_size=BATCH):
        ok = df.select(pl.col("c0").str.contains("^" + _TS) & pl.col("c3").str.contains(r"^\d+$"))
        if not ok.to_series().all():
            raise _NotPlain
        read += df.height
        rec = _records(df)
        del df
        parts.append(_events(rec, rel, report, settings))
        del rec
    report.read = read - blank
    report.other_class -= blank
    return pl.concat(parts, rechunk=False) if len(parts) > 1 else parts[0]


def _csvlog_slow(text: str, report: FileReport) -> pl.DataFrame:
    """The csvlog's columns ``c0``..``c22`` and ``n``, record by record; bad ones reported."""
    rows, n = [], 0
    for n, (_, rec) in enumerate(_csv_records(text.split("\n")), start=1):
        try:
            f = next(csv.reader((rec,), strict=True))
        except (csv.Error, StopIteration) as exc:
            report.error(n, f"not a csvlog row ({exc})")
            continue
        if len(f) < 22:
            report.error(n, f"not a csvlog row: {len(f)} fields, expected 22 to 26")
            continue
        rows.append([n, *f[:23], *[None] * (23 - len(f))])
    report.read = n
    return pl.DataFrame(rows, orient="row",
                        schema={"n": pl.Int64, **{f"c{i}": pl.String for i in range(23)}})


class CsvlogParser:
    name = "pgaudit-csvlog"
    table = "db_audit"

    def sniff(self, head: bytes, path: Path) -> bool:
        text = head.decode("utf-8", "replace").lstrip("\ufeff")
        for _, rec in _csv_records(text.split("\n")[:200]):
            try:
                row = next(csv.reader((rec.rstrip("\r"),), strict=True))
            except (csv.Error, StopIteration):
                return False
            return len(row) >= 22 and bool(re.match(_TS, row[0]))
        return False

    def parse(self, path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
        report = FileReport("db_audit", rel, self.name)
        plain = _plain_csvlog(path)
        if plain is not None:  # polars reads the file in batches: no Python text
            try:
                return _csvlog_batched(path, *plain, rel, report, settings), report
            except (_NotPlain, pl.exceptions.PolarsError):
                report = FileReport("db_audit", rel, self.name)  # start again, as text
        text = read_text(path)
        df = _csvlog_fast(text) if text.strip() else None
        if df is not None:
            report.read = df.height
            df = df.with_row_index("n", offset=1)
        else:
            df = _csvlog_slow(text, report)
        del text
        return _events(_records(df), rel, report, settings), report


# ---------------------------------------------------------------------------- stderr
def prefix_regex(prefix: str) -> re.Pattern[str]:
    """A regex matching a line that starts with ``log_line_prefix`` and a severity; the
    escapes' values are named groups (``m``, ``p``, ``u``...), then ``sev`` and ``msg``."""
    out, seen, i, optional = ["^"], set(), 0, False
    while i < len(prefix):
        m = re.match(r"%(-?\d+)?(.)", prefix[i:])
        if m is None:
            out.append(re.escape(prefix[i]))
            i += 1
            continue
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
        # an unknown escape writes nothing in PostgreSQL: it matches nothing here
    out.append(")?" if optional else "")
    out.append(r"(?P<sev>[^\s:]+):  (?P<msg>.*)$")
    return re.compile("".join(out), re.DOTALL)


class _StderrRecords:
    """Collects the candidate records of a stderr log; an ERROR waits for its STATEMENT."""

    _KEYS = ("m", "t", "n", "u", "d", "r", "h", "a", "c", "p", "e")

    def __init__(self, report: FileReport, prefix: str, rx: re.Pattern[str]) -> None:
        self.report, self.prefix = report, prefix
        self.rows: list[list] = []
        self.pending: dict[str | None, int] = {}  # session → row of an ERROR awaiting STATEMENT
        # positions in Match.groups() of each escape (absent: -1, a None appended last)
        self.at = tuple(rx.groupindex[k] - 1 if k in rx.groupindex else -1 for k in self._KEYS)

    def add(self, n: int, m: re.Match[str] | None, lines: list[str]) -> None:
        if m is None:
            self.report.error(n, f"line does not start with log_line_prefix {self.prefix!r}: "
                                 f"{lines[0][:80]!r}")
            return
        msg = lines[0] if len(lines) == 1 else "\n".join(lines)
        sev = m.group("sev")
        sev = _SEVERITY_EN.get(sev, sev)
        audit = msg.startswith("AUDIT: ")
        if not (audit or sev in _FAILED or self.pending):
            self.report.other_class += 1
            return
        g = (*m.groups(), None)
        im, it, in_, iu, id_, ir, ih, ia, ic, ip, ie = self.at
        session = g[ic] or g[ip]
        if self.pending:
            row = self.pending.pop(session, None)
            if row is not None and sev in _TRAILERS:
                self.pending[session] = row
            elif row is not None and sev == "STATEMENT":
                self.rows[row][-1] = msg
            if not (audit or sev in _FAILED):
                self.report.other_class += 1
                return
        if not audit:
            self.pending[session] = len(self.rows)
        self.rows.append([n, g[im] or g[it] or g[in_], g[iu], g[id_], g[ir] or g[ih], g[ia],
                          session, sev, g[ie], msg, None])

    def frame(self) -> pl.DataFrame:
        """The records (``_RECORD`` columns); ``[unknown]`` names null, ports dropped."""
        rec = pl.DataFrame(self.rows, orient="row",
                           schema={"n": pl.Int64, **{c: pl.String for c in _RECORD[1:]}})
        unknown = pl.col("db_user", "database", "application_name").is_in(["", "[unknown]"])
        return rec.with_columns(
            pl.when(~unknown).then(pl.col("db_user", "database", "application_name")),
            pl.col("client_ip").str.replace(r"\(\d+\)$", ""),
        )


class StderrParser:
    name = "pgaudit-stderr"
    table = "db_audit"

    def sniff(self, head: bytes, path: Path) -> bool:
        return bool(_STDERR_SNIFF.search(head.decode("utf-8", "replace")))

    def parse(self, path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
        prefix = settings.db.log_line_prefix
        rx = prefix_regex(prefix)
        match = rx.match
        report = FileReport("db_audit", rel, self.name)
        records = _StderrRecords(report, prefix, rx)
        n, cur_m, cur = 0, None, None  # the current record: its match and message lines
        quote_open: bool | None = None  # in an AUDIT payload: is a quoted field open?
        for line in read_text(path).split("\n"):
            m = match(line)
            if m is None and cur is not None and (line[:1] in ("\t", " ") or quote_open):
                cur.append(line[1:] if line[:1] == "\t" else line)
                if quote_open is not None and line.count('"') % 2:
                    quote_open = not quote_open
                continue
            if m is None and not line.strip():
                continue
            if cur is not None:
                records.add(n, cur_m, cur)
            n += 1
            msg = m.group("msg") if m else line
            cur_m, cur = m, [msg]
            quote_open = msg.count('"') % 2 == 1 if msg.startswith("AUDIT: ") else None
        if cur is not None:
            records.add(n, cur_m, cur)
        report.read = n
        if n and n == report.skipped:
            msg = (f"no line starts with the log_line_prefix {prefix!r} "
                   "(set db.log_line_prefix in auditlib.yaml to the server's setting)")
            raise DataError(msg, file=str(path))
        return _events(records.frame(), rel, report, settings), report


register(CsvlogParser())
register(StderrParser())

"""PostgreSQL csvlog / stderr logs with pgAudit records → db_audit."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.io.raw import pick
from auditlib.io.raw.pgaudit import (
    CsvlogParser,
    StderrParser,
    parse_audit,
    prefix_regex,
    sqlstate_code,
)
from auditlib.schemas import TABLES

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"shared samples folder {SAMPLES} is absent"
)
CAPTURED_PREFIX = "%m [%p] %q%u@%d %r %a "
SH = ZoneInfo("Asia/Shanghai")


def settings(prefix: str = "%m [%p] %q%u@%d ", tz: str = "Asia/Shanghai") -> Settings:
    return Settings.from_mapping({"timezone": tz, "db": {"log_line_prefix": prefix}})


def reference() -> list[dict]:
    lines = (SAMPLES / "pgaudit" / "pgaudit_records.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in lines.splitlines() if line.strip()]


def expected(r: dict) -> dict:
    """A reference record in our field names ('' → None)."""
    return {
        "audit_type": r["audit_type"], "statement_id": r["statement_id"],
        "substatement_id": r["substatement_id"], "audit_class": r["klass"] or None,
        "command": r["command"] or None, "object_type": r["object_type"] or None,
        "object_name": r["object_name"] or None, "statement": r["statement"] or None,
        "parameter": r["parameter"] or None, "rows": r["rows"],
    }


AUDIT_COLS = ("statement_id", "substatement_id", "audit_class", "command", "object_type",
              "object_name", "statement", "parameter", "rows")


# ------------------------------------------------------------------ the pgAudit payload
@needs_samples
def test_payload_parser_matches_every_reference_record():
    refs = reference()
    assert len(refs) == 415
    assert {r["n_fields"] for r in refs} == {9, 10}
    for r in refs:
        assert parse_audit(r["record"]) == expected(r), r["source_line"]


@needs_samples
def test_pgaudit_lines_split_into_415_records():
    text = (SAMPLES / "pgaudit" / "pgaudit_lines.txt").read_text(encoding="utf-8")
    records = re.split(r"\n(?=AUDIT: )", text.rstrip("\n"))
    assert len(records) == 415
    assert sum("\n" in r for r in records) == 179
    assert records == [r["record"] for r in reference()]


def _stderr_line(n: int, body: str) -> str:
    """A stderr record as PostgreSQL writes it: continuation lines indented with a tab."""
    return f"2025-03-01 10:15:{n % 60:02d}.123 CST [{1000 + n}] alice@fin LOG:  " + body.replace(
        "\n", "\n\t")


@needs_samples
def test_every_reference_record_through_a_stderr_log(tmp_path):
    refs = reference()
    lines = []
    for i, r in enumerate(refs):
        lines.append(_stderr_line(i, r["record"]))
        lines.append(_stderr_line(i, "duration: 0.1 ms"))  # a non-audit record between
    f = tmp_path / "pg.log"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    df, rep = StderrParser().parse(f, "pg.log", settings())
    assert (rep.read, rep.kept, rep.other_class, rep.skipped) == (830, 415, 415, 0)
    assert df["event_id"].to_list() == [f"pg.log:{2 * i + 1}" for i in range(415)]
    assert df.select(AUDIT_COLS).to_dicts() == [
        {k: v for k, v in expected(r).items() if k != "audit_type"} for r in refs
    ]
    assert df["session_id"][0] == "1000" and df["db_user"][0] == "alice"


@needs_samples
def test_every_reference_record_through_a_csvlog(tmp_path):
    refs = reference()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, r in enumerate(refs):
        w.writerow(["2025-03-01 02:15:01.123 UTC", "alice", "fin", 1000 + i, "10.0.0.9:5432",
                    "65e1.3e8", i, "SELECT", "2025-03-01 02:15:00 UTC", "3/1", 0, "LOG",
                    "00000", r["record"], "", "", "", "", "", "", "", "", "psql", "client backend",
                    "", "0"])
    f = tmp_path / "pg.csv"
    f.write_text(buf.getvalue(), encoding="utf-8")
    assert pick("db_audit", f).name == "pgaudit-csvlog"
    df, rep = CsvlogParser().parse(f, "pg.csv", settings())
    assert (rep.read, rep.kept, rep.skipped) == (415, 415, 0)
    assert df.select(AUDIT_COLS).to_dicts() == [
        {k: v for k, v in expected(r).items() if k != "audit_type"} for r in refs
    ]
    assert df["client_ip"].unique().to_list() == ["10.0.0.9"]


def test_multiline_quoted_sql_with_escaped_quotes_and_commas_in_parameters(tmp_path):
    payload = ('AUDIT: SESSION,7,2,WRITE,INSERT,TABLE,public.payee,"INSERT INTO payee (name, note)'
               '\nVALUES ($1, \'say ""hi"", then\nleave\')",",,张三,""x, y""",3')
    f = tmp_path / "a.log"
    f.write_text(
        "2025-03-01 10:00:00.000 CST [7] bob@fin LOG:  connection authorized\n"
        + _stderr_line(1, payload) + "\n"
        + "2025-03-01 10:00:02.000 CST [7] bob@fin LOG:  disconnection\n", encoding="utf-8")
    df, rep = StderrParser().parse(f, "a.log", settings())
    assert (rep.read, rep.kept, rep.other_class) == (3, 1, 2)
    row = df.row(0, named=True)
    assert row["event_id"] == "a.log:2"
    assert row["statement"] == ("INSERT INTO payee (name, note)\n"
                                "VALUES ($1, 'say \"hi\", then\nleave')")
    assert row["parameter"] == ',,张三,"x, y"'
    assert (row["rows"], row["statement_id"], row["substatement_id"]) == (3, 7, 2)
    assert parse_audit(payload)["parameter"] == ',,张三,"x, y"'


def test_bad_payloads_raise_value_errors():
    for bad in ('SESSION,1,1,READ,SELECT,,,"unterminated,<none>', "SESSION,1,1,READ",
                "BOGUS,1,1,READ,SELECT,,,x,<none>", "SESSION,x,1,READ,SELECT,,,x,<none>"):
        with pytest.raises(ValueError, match="pgAudit"):
            parse_audit(bad)


# ------------------------------------------------------------------ the captured logs
@needs_samples
def test_captured_csvlog():
    f = SAMPLES / "captured" / "postgresql-15-pgaudit.csv"
    parser = pick("db_audit", f)
    assert parser.name == "pgaudit-csvlog"
    df, rep = parser.parse(f, "pg/postgresql-15-pgaudit.csv", settings())
    assert df.schema == TABLES["db_audit"].polars_schema("Asia/Shanghai")
    assert (rep.read, rep.kept, rep.skipped, rep.other_class, rep.null_time) == (20, 13, 0, 7, 0)
    audit = df.filter(pl.col("audit_class").is_not_null())
    assert audit.height == 11
    assert audit["event_id"].to_list() == [
        f"pg/postgresql-15-pgaudit.csv:{n}" for n in (2, 3, 4, 5, 6, 7, 11, 12, 15, 16, 20)]
    first = audit.row(0, named=True)
    assert first["event_time"] == dt.datetime(2026, 11, 29, 9, 30, 0, 312000, tzinfo=SH)
    assert (first["db_user"], first["database"], first["client_ip"], first["session_id"],
            first["application_name"], first["command"]) == (
        "auditor_alice", "finance", "127.0.0.1", "6b0b8018.53a9", "auditlib-demo", "CREATE TABLE")
    grant = audit.filter(pl.col("statement_id") == 4).row(0, named=True)
    assert grant["statement"] == "GRANT SELECT, INSERT ON expense TO clerk_bob;"
    assert audit.filter(pl.col("command") == "SELECT")["parameter"].to_list() == [
        "<none>", "<none>", "50"]
    # the two refused statements are kept as events with their SQLSTATE
    failed = df.filter(pl.col("retcode").is_not_null())
    assert failed.select("event_id", "command", "retcode", "db_user").rows() == [
        ("pg/postgresql-15-pgaudit.csv:13", "UPDATE", 42501, "clerk_bob"),
        ("pg/postgresql-15-pgaudit.csv:14", "DELETE", 42501, "clerk_bob"),
    ]
    assert failed["statement"][0] == "UPDATE expense SET amount = 0 WHERE id = 1;"


@needs_samples
def test_captured_stderr_with_its_prefix():
    f = SAMPLES / "captured" / "postgresql-15-pgaudit.log"
    parser = pick("db_audit", f)
    assert parser.name == "pgaudit-stderr"
    df, rep = parser.parse(f, "postgresql-15-pgaudit.log", settings(CAPTURED_PREFIX))
    assert (rep.read, rep.kept, rep.skipped, rep.other_class) == (20, 10, 0, 10)
    assert df["audit_class"].null_count() == 0
    assert df["event_id"].to_list() == [
        f"postgresql-15-pgaudit.log:{n}" for n in (3, 4, 5, 6, 7, 8, 12, 13, 18, 19)]
    row = df.row(6, named=True)
    assert (row["db_user"], row["database"], row["client_ip"], row["application_name"],
            row["session_id"], row["command"], row["object_name"]) == (
        "clerk_bob", "finance", "127.0.0.1", "psql-bob", "21419", "SELECT", "public.expense")
    assert row["event_time"] == dt.datetime(2026, 11, 29, 9, 30, 0, 346000, tzinfo=SH)
    # no %e in the prefix: the SQLSTATE of the two ERRORs is unknown, they are not events
    assert df["retcode"].null_count() == 10


@needs_samples
def test_stderr_with_the_wrong_prefix_is_an_error_naming_the_file():
    f = SAMPLES / "captured" / "postgresql-15-pgaudit.log"
    with pytest.raises(DataError, match=r"postgresql-15-pgaudit\.log.*log_line_prefix"):
        StderrParser().parse(f, "x.log", settings("%t [%p]: [%l-1] "))


# ------------------------------------------------------------------ stderr details
def test_error_with_sqlstate_takes_the_following_statement(tmp_path):
    prefix = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h,e=%e "
    f = tmp_path / "e.log"
    f.write_text(
        "2025-03-01 10:00:00 CST [42]: [1-1] user=bob,db=fin,app=pgAdmin 4 - DB:fin,"
        "client=10.1.2.3,e=42501 ERROR:  permission denied for table payment\n"
        "2025-03-01 10:00:00 CST [42]: [2-1] user=bob,db=fin,app=pgAdmin 4 - DB:fin,"
        "client=10.1.2.3,e=42501 STATEMENT:  update payment\n\t   set amount = 0\n"
        "2025-03-01 10:00:01 CST [43]: [1-1] user=eve,db=fin,app=[unknown],"
        "client=10.1.2.4,e=28P01 FATAL:  password authentication failed for user \"eve\"\n"
        "2025-03-01 10:00:02 CST [9]: [1-1] user=,db=,app=,client=,e=00000 LOG:  checkpoint\n",
        encoding="utf-8")
    df, rep = StderrParser().parse(f, "e.log", settings(prefix))
    assert (rep.read, rep.kept, rep.other_class, rep.skipped) == (4, 2, 2, 0)
    assert df.select("event_id", "command", "retcode", "db_user", "client_ip",
                     "application_name", "session_id").rows() == [
        ("e.log:1", "UPDATE", 42501, "bob", "10.1.2.3", "pgAdmin 4 - DB:fin", "42"),
        ("e.log:3", "FAILED_CONNECT", sqlstate_code("28P01"), "eve", "10.1.2.4", None, "43"),
    ]
    assert df["statement"][0] == "update payment\n   set amount = 0"


def test_garbage_line_mid_stderr_file_is_reported_with_its_record_number(tmp_path):
    f = tmp_path / "g.log"
    f.write_text(
        _stderr_line(1, "AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<none>") + "\n"
        + "*** this is not a log line ***\n"
        + _stderr_line(2, 'AUDIT: SESSION,2,1,READ,SELECT,,,"select 2,\n3",<none>') + "\n"
        + _stderr_line(3, "AUDIT: SESSION,3,1,READ,SELECT,,,\"broken,<none>") + "\n"
        + _stderr_line(4, "AUDIT: SESSION,4,1,READ,SELECT,,,select 4,<none>") + "\n",
        encoding="utf-8")
    df, rep = StderrParser().parse(f, "g.log", settings())
    assert (rep.read, rep.kept, rep.skipped) == (5, 3, 2)
    assert rep.errors[0].startswith("g.log: record 2: line does not start with log_line_prefix")
    assert rep.errors[1].startswith("g.log: record 4: pgAudit record is not valid CSV")
    assert df["event_id"].to_list() == ["g.log:1", "g.log:3", "g.log:5"]
    assert df["statement"].to_list() == ["select 1", "select 2,\n3", "select 4"]


def test_chinese_server_messages_and_custom_escapes(tmp_path):
    prefix = "%m %c %l %% %x %v %q%u@%d(%r) "
    f = tmp_path / "zh.log"
    f.write_text(
        "2025-03-01 10:00:00.5 +08 65e1a.3f 1 % 0 3/1 bob@fin(10.0.0.2(5566)) 日志:  "
        "AUDIT: SESSION,1,1,WRITE,DELETE,TABLE,public.payment,delete from payment,<none>\n"
        "2025-03-01 10:00:01.5 +08 65e1a.3f 2 % 0 3/2 bob@fin(10.0.0.2(5566)) 错误:  语法错误\n"
        "2025-03-01 02:00:02.5 UTC 65e1b.3f 1 % 0  日志:  数据库系统准备接受连接\n",
        encoding="utf-8")
    assert StderrParser().sniff(f.read_bytes(), f)
    df, rep = StderrParser().parse(f, "zh.log", settings(prefix))
    assert (rep.read, rep.kept, rep.other_class) == (3, 1, 2)
    row = df.row(0, named=True)
    assert (row["session_id"], row["client_ip"], row["command"]) == ("65e1a.3f", "10.0.0.2",
                                                                     "DELETE")
    assert row["event_time"] == dt.datetime(2025, 3, 1, 10, 0, 0, 500000, tzinfo=SH)


def test_prefix_regex_escapes():
    rx = prefix_regex("%t [%-6p] %q%u@%d %h %a %e ")
    m = rx.match("2025-03-01 10:00:00 CST [42    ] bob@fin [local] psql 00000 LOG:  x")
    assert m is not None
    assert m.group("t", "p", "u", "d", "h", "a", "e", "sev", "msg") == (
        "2025-03-01 10:00:00 CST", "42", "bob", "fin", "[local]", "psql", "00000", "LOG", "x")
    assert rx.match("2025-03-01 10:00:00 CST [42    ] LOG:  checkpoint").group("u") is None
    assert rx.match("\tcontinuation") is None


# ------------------------------------------------------------------ times
@pytest.mark.parametrize(
    ("stamp", "tz", "utc"),
    [
        ("2025-03-01 10:15:01.250 CST", "Asia/Shanghai", dt.datetime(2025, 3, 1, 2, 15, 1, 250000)),
        ("2025-03-01 02:15:01.250 UTC", "Asia/Shanghai", dt.datetime(2025, 3, 1, 2, 15, 1, 250000)),
        ("2025-03-01 02:15:01.250 GMT", "Asia/Shanghai", dt.datetime(2025, 3, 1, 2, 15, 1, 250000)),
        ("2025-03-01 10:15:01.250 +08", "Europe/Berlin", dt.datetime(2025, 3, 1, 2, 15, 1, 250000)),
        ("2025-03-01 05:15:01.250 -03", "Asia/Shanghai", dt.datetime(2025, 3, 1, 8, 15, 1, 250000)),
        ("2025-03-01 10:15:01.250 CST", "UTC", dt.datetime(2025, 3, 1, 10, 15, 1, 250000)),
    ],
)
def test_csvlog_times(tmp_path, stamp, tz, utc):
    f = tmp_path / "t.csv"
    f.write_text(f'{stamp},"u","d",1,"h:1",a.b,1,"SELECT",{stamp},3/1,0,LOG,00000,'
                 '"AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<none>",,,,,,,,,"app"\n',
                 encoding="utf-8")
    df, rep = CsvlogParser().parse(f, "t.csv", settings(tz=tz))
    assert rep.kept == 1 and rep.null_time == 0
    assert df.schema["event_time"] == pl.Datetime("us", time_zone=tz)
    assert df["event_time"][0] == utc.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    assert df["application_name"][0] == "app"  # a 23-column (PG 9-12) csvlog


def test_garbage_mid_csvlog_is_reported_and_the_rest_loads(tmp_path):
    row = ('2025-03-01 10:15:0{n}.000 CST,"u","d",1,"h:1",a.b,{n},"SELECT",2025-03-01 10:00:00'
           ' CST,3/1,0,LOG,00000,"AUDIT: SESSION,{n},1,READ,SELECT,,,""select\n{n}"",<none>"'
           ',,,,,,,,,"app","client backend",,0\n')
    f = tmp_path / "g.csv"
    f.write_text(row.format(n=1) + 'garbage "with an open quote\n' + row.format(n=2)
                 + "short,row\n" + row.format(n=3), encoding="utf-8")
    df, rep = CsvlogParser().parse(f, "g.csv", settings())
    assert (rep.read, rep.kept, rep.skipped) == (5, 3, 2)
    assert [e.split(":")[1] for e in rep.errors] == [" record 2", " record 4"]
    assert df["event_id"].to_list() == ["g.csv:1", "g.csv:3", "g.csv:5"]
    assert df["statement"].to_list() == ['select\n1', "select\n2", "select\n3"]
    assert df["statement_id"].to_list() == [1, 2, 3]


def test_sniffing_tells_the_formats_apart():
    csvlog = (b'2025-03-01 10:15:01.000 CST,"u","d",1,"h:1",a.b,1,"",x,,0,LOG,00000,"hi",'
              b',,,,,,,,""\n')
    stderr = b"2025-03-01 10:15:01.000 CST [1] LOG:  database system is ready\n"
    maria = b"20250301 10:15:01,vm,u,localhost,5,15,QUERY,fin,'select 1',0\n"
    assert CsvlogParser().sniff(csvlog, Path("x")) and not CsvlogParser().sniff(stderr, Path("x"))
    assert StderrParser().sniff(stderr, Path("x")) and not StderrParser().sniff(csvlog, Path("x"))
    assert not CsvlogParser().sniff(maria, Path("x")) and not StderrParser().sniff(maria, Path("x"))

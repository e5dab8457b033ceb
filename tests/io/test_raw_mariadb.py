"""MariaDB server_audit logs → db_audit."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from auditlib.config import Settings
from auditlib.io.raw import pick
from auditlib.io.raw.mariadb import ServerAuditParser, sql_class, sql_verb
from auditlib.schemas import TABLES

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"shared samples folder {SAMPLES} is absent"
)


def settings(tz: str = "Asia/Shanghai") -> Settings:
    return Settings.from_mapping({"timezone": tz})


@needs_samples
def test_test_suite_sample_every_record_read_with_null_times():
    f = SAMPLES / "mariadb" / "server_audit_lines.log"
    parser = pick("db_audit", f)
    assert parser.name == "mariadb-server_audit"
    df, rep = parser.parse(f, "server_audit_lines.log", settings())
    assert (rep.read, rep.kept, rep.skipped, rep.null_time) == (138, 138, 0, 138)
    assert rep.other_class == 0
    assert df.schema == TABLES["db_audit"].polars_schema("Asia/Shanghai")
    assert df["event_time"].null_count() == 138
    assert df["event_id"][0] == "server_audit_lines.log:1"
    assert df["event_id"][137] == "server_audit_lines.log:138"
    ops = Counter(df["command"].to_list())
    assert (ops["WRITE"], ops["READ"], ops["CONNECT"], ops["DISCONNECT"], ops["FAILED_CONNECT"]) \
        == (42, 5, 2, 3, 1)
    # masked ids (ID) are null, not errors; real ones are kept
    assert df["session_id"].null_count() == 138
    assert df.filter(pl.col("command") == "CONNECT")["statement_id"].to_list() == [0, 0]
    by_id = {r["event_id"].rsplit(":", 1)[1]: r for r in df.iter_rows(named=True)}
    assert by_id["4"]["command"] == "FAILED_CONNECT" and by_id["4"]["retcode"] is None
    assert by_id["4"]["db_user"] == "no_such_user" and by_id["4"]["database"] is None
    assert by_id["6"]["statement"] == "set global server_audit_incl_users='odin, root, dva, tri'"
    assert (by_id["6"]["command"], by_id["6"]["audit_class"]) == ("SET", "MISC")
    assert (by_id["7"]["command"], by_id["7"]["object_type"], by_id["7"]["object_name"],
            by_id["7"]["audit_class"], by_id["7"]["retcode"]) == (
        "CREATE", "TABLE", "test.t2", "DDL", None)
    assert by_id["24"]["object_name"] == "test.t1|test.renamed_t1"
    assert by_id["30"]["retcode"] is None  # masked 'ID' return code
    statements = df["statement"].drop_nulls().to_list()
    assert "select 'A', " in statements
    assert "set global server_audit_events=''" in statements
    verbs = df.filter(pl.col("statement").is_in(["(select 2)", "/*! select 2*/",
                                                  "/*comment*/ select 2"]))["command"]
    assert verbs.to_list() == ["SELECT"] * 3
    roles = df.filter(pl.col("audit_class") == "ROLE")["statement"].to_list()
    assert "CREATE USER u1 IDENTIFIED BY *****" in roles
    assert "GRANT ALL ON sa_db TO u2 IDENTIFIED BY *****" in roles
    assert "SET PASSWORD FOR u1 = PASSWORD(*****)" in roles


@needs_samples
def test_captured_log():
    f = SAMPLES / "captured" / "mariadb-server_audit.log"
    df, rep = pick("db_audit", f).parse(f, "mariadb/server_audit.log", settings())
    assert (rep.read, rep.kept, rep.skipped, rep.null_time) == (10, 10, 0, 0)
    assert df["event_time"][0] == dt.datetime(2026, 11, 29, 1, 32, 13,
                                              tzinfo=ZoneInfo("Asia/Shanghai"))
    assert df.select("event_id", "command", "audit_class", "db_user", "session_id",
                     "statement_id", "object_name", "retcode").rows() == [
        ("mariadb/server_audit.log:1", "GRANT", "ROLE", "auditor_alice", "5", 15, None, 0),
        ("mariadb/server_audit.log:2", "READ", "READ", "auditor_alice", "5", 16,
         "finance.expense", None),
        ("mariadb/server_audit.log:3", "SELECT", "READ", "auditor_alice", "5", 16, None, 0),
        ("mariadb/server_audit.log:4", "DISCONNECT", None, "auditor_alice", "5", 0, None, 0),
        ("mariadb/server_audit.log:5", "CONNECT", None, "clerk_bob", "6", 0, None, 0),
        ("mariadb/server_audit.log:6", "READ", "READ", "clerk_bob", "6", 18, "finance.expense",
         None),
        ("mariadb/server_audit.log:7", "SELECT", "READ", "clerk_bob", "6", 18, None, 0),
        ("mariadb/server_audit.log:8", "DELETE", "WRITE", "clerk_bob", "6", 19, None, 1142),
        ("mariadb/server_audit.log:9", "DISCONNECT", None, "clerk_bob", "6", 0, None, 0),
        ("mariadb/server_audit.log:10", "FAILED_CONNECT", None, "clerk_bob", "7", 0, None, 1045),
    ]
    assert df["statement"][0] == "GRANT SELECT ON finance.expense TO 'clerk_bob'@'127.0.0.1'"
    assert df["client_ip"].unique().to_list() == ["localhost"]


def test_naive_times_are_read_in_the_timezone_setting(tmp_path):
    f = tmp_path / "a.log"
    f.write_text("20250301 10:15:01,db1,bob,10.0.0.5,12,99,QUERY,fin,'update t set a=1',0\n",
                 encoding="utf-8")
    for tz in ("Asia/Shanghai", "UTC"):
        df, _ = ServerAuditParser().parse(f, "a.log", settings(tz))
        assert df.schema["event_time"] == pl.Datetime("us", time_zone=tz)
        assert df["event_time"][0] == dt.datetime(2025, 3, 1, 10, 15, 1, tzinfo=ZoneInfo(tz))


def test_quoted_sql_with_commas_escapes_and_a_garbage_line(tmp_path):
    f = tmp_path / "b.log"
    f.write_text(
        "20250301 10:15:01,db1,bob,10.0.0.5,12,99,QUERY,fin,"
        "'insert into payee values (\\'Zhang, San\\', \\'C:\\\\tmp\\'), (2, \\'x\\')',0\n"
        "this line is not a server_audit record\n"
        "20250301 10:15:02,db1,bob,10.0.0.5,12,100,QUERY,fin,"
        "'/* batch */ WITH t AS (SELECT 1) UPDATE p SET a = 1',1064\n",
        encoding="utf-8")
    df, rep = ServerAuditParser().parse(f, "b.log", settings())
    assert (rep.read, rep.kept, rep.skipped) == (3, 2, 1)
    assert rep.errors == ["b.log: record 2: not a server_audit line: "
                          "'this line is not a server_audit record'"]
    assert df["event_id"].to_list() == ["b.log:1", "b.log:3"]
    assert df["statement"][0] == "insert into payee values ('Zhang, San', 'C:\\tmp'), (2, 'x')"
    assert df.select("command", "audit_class", "retcode").rows() == [
        ("INSERT", "WRITE", 0), ("UPDATE", "WRITE", 1064)]


@pytest.mark.parametrize(
    ("sql", "verb", "klass"),
    [
        ("select 1", "SELECT", "READ"),
        ("  -- note\n  DELETE FROM t", "DELETE", "WRITE"),
        ("# mysql comment\nTRUNCATE t", "TRUNCATE", "WRITE"),
        ("/*!40101 SET NAMES utf8 */", "SET", "MISC"),
        ("((SELECT 1) UNION (SELECT 2))", "SELECT", "READ"),
        ("WITH a AS (SELECT '(' AS x) SELECT * FROM a", "SELECT", "READ"),
        ("grant select on t to u", "GRANT", "ROLE"),
        ("DROP USER IF EXISTS u", "DROP", "ROLE"),
        ("CREATE OR REPLACE ROLE r", "CREATE", "ROLE"),
        ("create table t (i int)", "CREATE", "DDL"),
        ("call proc()", "CALL", "FUNCTION"),
        ("", None, None),
        ("/* only a comment */", None, None),
    ],
)
def test_sql_verb_and_class(sql, verb, klass):
    assert sql_verb(sql) == verb
    assert sql_class(sql) == klass


def test_sniff():
    p = ServerAuditParser()
    assert p.sniff(b"TIME,HOSTNAME,root,localhost,ID,ID,QUERY,test,'select 1',0\n", Path("x"))
    assert p.sniff(b"\xef\xbb\xbf20250301 10:15:01,h,u,localhost,5,0,CONNECT,db,,0\n", Path("x"))
    assert not p.sniff(b"2025-03-01 10:15:01.000 CST [1] LOG:  ready\n", Path("x"))

"""db.sql_injection: injection patterns found by parsing statements, not by regex alone."""

from __future__ import annotations

import polars as pl

from auditlib.config import Settings
from auditlib.detectors._dbinject import scan
from auditlib.detectors.base import Context
from auditlib.detectors.db_sql_injection import DbSqlInjection, signals
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {"as_of": "2026-06-30", "timezone": "Asia/Shanghai", "db": {"app_users": ["budget_app"]}}

POSITIVE = {
    "pg.log:1": ("budget_app", "SELECT * FROM payee WHERE name = 'x' OR '1'='1'", 0),
    "pg.log:2": (
        "budget_app",
        "SELECT id FROM payment WHERE voucher_id = 'V1' UNION SELECT usename FROM pg_shadow",
        0,
    ),
    "pg.log:3": ("budget_app", "SELECT * FROM payee WHERE id = '7'; DROP TABLE payment; --'", 0),
    "pg.log:4": ("budget_app", "SELECT * FROM app_user WHERE login = 'admin'--' AND pw = 'x'", 0),
    "pg.log:5": ("budget_app", "SELECT * FROM payee WHERE id = 1' OR '1'='1", 42601),
    "pg.log:6": (
        "budget_app",
        "SELECT name, account_no FROM payee WHERE id = 7 UNION ALL SELECT NULL, NULL",
        0,
    ),
    "pg.log:7": ("web_ro", "SELECT * FROM payee WHERE id = 5 OR 2>1", 0),
}
LOOKALIKE = {
    "pg.log:11": (
        "budget_app",
        "SELECT * FROM payee WHERE remark = '对账 -- 待核' AND unit_id = 'U1'",
        0,
    ),
    "pg.log:12": ("budget_app", "SELECT * FROM payee WHERE status = 'A' OR status = 'B'", 0),
    "pg.log:13": ("budget_app", "SELECT * FROM payee WHERE 1=1 AND unit_id = 'U1'", 0),
    "pg.log:14": (
        "budget_app",
        "BEGIN; UPDATE payment SET status = 'x' WHERE voucher_id = 'V1'; COMMIT;",
        0,
    ),
    "pg.log:15": ("budget_app", "SELECT * FROM payee /* route='/payee/list' */", 0),
    "pg.log:16": ("dba_li", "SELECT a, b FROM t -- look at the total", 0),
    "pg.log:17": (
        "dba_li",
        "SELECT tablename FROM pg_tables UNION SELECT table_name FROM information_schema.tables",
        0,
    ),
    "pg.log:18": ("budget_app", "SELECT cfg #>> '{a,b}' FROM settings WHERE k = 'x' OR k = 'y'", 0),
    "pg.log:19": (
        "budget_app",
        "INSERT INTO note (body) VALUES ('she typed '' OR 1=1 -- into the box')",
        0,
    ),
    "pg.log:20": (
        "budget_app",
        "SELECT u.name FROM unit u UNION SELECT d.name FROM dept d WHERE d.id = 3",
        0,
    ),
}


def _ev(eid, user, stmt, ret, i):
    return {
        "event_id": eid,
        "event_time": f"2026-03-0{2 + i % 5} 10:00:0{i % 10}",
        "db_user": user,
        "command": stmt.split()[0].upper(),
        "database": "budget",
        "client_ip": "10.9.8.7",
        "application_name": "budget-web",
        "session_id": f"s{i}",
        "statement_id": 1,
        "substatement_id": 1,
        "audit_class": "READ",
        "object_type": None,
        "object_name": None,
        "statement": stmt,
        "parameter": None,
        "rows": None,
        "retcode": ret,
    }


def _load(tmp_path):
    rows = [
        _ev(k, u, s, r, i) for i, (k, (u, s, r)) in enumerate({**POSITIVE, **LOOKALIKE}.items())
    ]
    # pgAudit logs a two-statement query twice (one record per statement, same text): one finding
    rows.append(
        {
            **rows[2],
            "event_id": "pg.log:3b",
            "statement_id": 2,
            "command": "DROP TABLE",
            "audit_class": "DDL",
        }
    )
    pl.DataFrame(rows).write_csv(tmp_path / "db_audit.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds):
    return DbSqlInjection().detect(ds.lazy(), Context.from_settings(ds.settings))


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path))
    firsts = sorted(e[0].removeprefix("db_audit:") for e in out["evidence"].to_list())
    assert firsts == sorted(POSITIVE)
    by = {e[0]: r for e, r in zip(out["evidence"].to_list(), out.to_dicts(), strict=True)}
    stacked = by["db_audit:pg.log:3"]
    assert stacked["evidence"] == ["db_audit:pg.log:3", "db_audit:pg.log:3b"]
    assert stacked["severity"] == "critical" and "2 项" in stacked["explanation"]
    assert (
        "堆叠查询" in stacked["explanation"] and "comment truncation" in stacked["explanation_en"]
    )
    assert by["db_audit:pg.log:1"]["severity"] == "high" and by["db_audit:pg.log:1"]["score"] == 0.9
    unparsed = by["db_audit:pg.log:5"]
    assert unparsed["severity"] == "medium" and unparsed["score"] == 0.5
    assert "42601" in unparsed["explanation"]
    assert "应用账号" in by["db_audit:pg.log:2"]["explanation"]


def test_comment_inside_quotes_is_not_a_comment():
    assert scan("SELECT * FROM t WHERE remark = 'a -- b' AND x = 'c # d'", "mysql").comments == ()
    assert (
        signals("SELECT * FROM t WHERE remark = 'a -- b'", "postgres", app=True, keyed=set()) == []
    )


def test_mysql_backslash_quote():
    assert (
        signals("SELECT * FROM t WHERE a = 'O\\'Brien' OR b = 2", "mysql", app=True, keyed=set())
        == []
    )
    assert signals(
        "SELECT * FROM t WHERE a = 'x' OR 'a'='a' # '", "mysql", app=False, keyed=set()
    ) == ["tautology", "comment"]


def test_conformance(tmp_path):
    check_detector(DbSqlInjection, world=_load(tmp_path))

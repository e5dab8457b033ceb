"""db.audit_tampering: audit settings changed or turned off, audit records deleted."""

from __future__ import annotations

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.db_audit_tampering import DbAuditTampering, audit_change
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {"as_of": "2026-06-30", "timezone": "Asia/Shanghai"}


def _ev(eid, t, user, cmd, stmt, sess, sid, sub=1, cls="MISC", obj=None, ret=0):
    return {
        "event_id": eid,
        "event_time": t,
        "db_user": user,
        "command": cmd,
        "database": "budget",
        "client_ip": "10.1.2.3",
        "application_name": "psql",
        "session_id": sess,
        "statement_id": sid,
        "substatement_id": sub,
        "audit_class": cls,
        "object_type": "TABLE" if obj else None,
        "object_name": obj,
        "statement": stmt,
        "parameter": None,
        "rows": None,
        "retcode": ret,
    }


AUDIT = [
    # positives: settings
    _ev("pg-1.log:1", "2026-03-02 10:00:00", "dba_li", "SET", "SET pgaudit.log = 'none'", "p1", 1),
    _ev(
        "pg-1.log:2",
        "2026-03-02 10:00:01",
        "dba_li",
        "ALTER SYSTEM",
        "ALTER SYSTEM SET pgaudit.log TO 'ddl'",
        "p2",
        1,
        cls="DDL",
    ),
    _ev(
        "pg-1.log:3",
        "2026-03-02 10:00:02",
        "dba_li",
        "ALTER ROLE",
        "ALTER ROLE budget_app SET pgaudit.log = 'none'",
        "p2",
        2,
        cls="ROLE",
    ),
    _ev(
        "pg-1.log:4",
        "2026-03-02 10:00:03",
        "dba_li",
        "DROP EXTENSION",
        "DROP EXTENSION IF EXISTS pgaudit",
        "p2",
        3,
        cls="DDL",
    ),
    _ev(
        "pg-1.log:5",
        "2026-03-02 10:00:04",
        "dba_li",
        "SET",
        "SET pgaudit.log_relation = on",
        "p2",
        4,
    ),
    _ev(
        "mysql.log:1",
        "2026-03-02 11:00:00",
        "root",
        "SET",
        "SET GLOBAL server_audit_logging=OFF",
        "9",
        500,
        sub=None,
    ),
    _ev(
        "mysql.log:2",
        "2026-03-02 11:00:01",
        "root",
        "UNINSTALL",
        "UNINSTALL PLUGIN server_audit",
        "9",
        505,
        sub=None,
    ),
    # look-alikes: SHOW, a literal mentioning pgaudit
    _ev("pg-1.log:6", "2026-03-02 10:00:05", "dba_li", "SHOW", "SHOW pgaudit.log", "p2", 5),
    _ev(
        "pg-1.log:7",
        "2026-03-02 10:00:06",
        "budget_app",
        "SELECT",
        "SELECT * FROM note WHERE body = 'how to SET pgaudit.log = none'",
        "p3",
        1,
        cls="READ",
    ),
    # positive: statement ids 3 -> 6 in session p5 (4 and 5 removed)
    _ev(
        "pg-1.log:20",
        "2026-03-03 09:00:00",
        "budget_app",
        "SELECT",
        "SELECT 1",
        "p5",
        1,
        cls="READ",
    ),
    _ev(
        "pg-1.log:21",
        "2026-03-03 09:00:01",
        "budget_app",
        "SELECT",
        "SELECT 1",
        "p5",
        2,
        cls="READ",
    ),
    _ev(
        "pg-1.log:22",
        "2026-03-03 09:00:02",
        "budget_app",
        "SELECT",
        "SELECT 1",
        "p5",
        3,
        cls="READ",
    ),
    _ev(
        "pg-1.log:25",
        "2026-03-03 09:00:05",
        "budget_app",
        "SELECT",
        "SELECT 1",
        "p5",
        6,
        cls="READ",
    ),
    # look-alikes: two records of one statement (one per relation), pid reused, a session
    # whose start is in an earlier file, MariaDB's server-wide query ids
    _ev(
        "pg-1.log:26",
        "2026-03-03 09:00:06",
        "budget_app",
        "UPDATE",
        "UPDATE a SET x = 1 FROM b",
        "p5",
        7,
        cls="WRITE",
        obj="public.a",
    ),
    _ev(
        "pg-1.log:27",
        "2026-03-03 09:00:06",
        "budget_app",
        "SELECT",
        "UPDATE a SET x = 1 FROM b",
        "p5",
        7,
        cls="WRITE",
        obj="public.b",
    ),
    _ev("pg-1.log:28", "2026-03-05 09:00:06", "clerk", "SELECT", "SELECT 1", "p5", 1, cls="READ"),
    _ev("pg-1.log:29", "2026-03-05 09:00:07", "clerk", "SELECT", "SELECT 1", "p5", 2, cls="READ"),
    _ev("pg-1.log:30", "2026-03-05 09:00:06", "clerk", "SELECT", "SELECT 1", "p6", 40, cls="READ"),
    _ev("pg-1.log:31", "2026-03-05 09:00:07", "clerk", "SELECT", "SELECT 1", "p6", 41, cls="READ"),
    _ev(
        "mysql.log:3",
        "2026-03-02 11:00:02",
        "root",
        "SELECT",
        "SELECT 1",
        "9",
        530,
        sub=None,
        cls="READ",
    ),
    # a gap across two log files: maybe a missing file (high, not critical)
    _ev(
        "pg-2.log:1", "2026-03-04 09:00:06", "budget_app", "SELECT", "SELECT 1", "p7", 8, cls="READ"
    ),
    _ev(
        "pg-3.log:1",
        "2026-03-06 09:00:06",
        "budget_app",
        "SELECT",
        "SELECT 1",
        "p7",
        10,
        cls="READ",
    ),
]


def _load(tmp_path):
    pl.DataFrame(AUDIT).write_csv(tmp_path / "db_audit.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds):
    return DbAuditTampering().detect(ds.lazy(), Context.from_settings(ds.settings))


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path))
    by = {tuple(r["evidence"]): r for r in out.to_dicts()}
    settings = sorted(k[0] for k in by if len(k) == 1)
    assert settings == [
        "db_audit:mysql.log:1",
        "db_audit:mysql.log:2",
        "db_audit:pg-1.log:1",
        "db_audit:pg-1.log:2",
        "db_audit:pg-1.log:3",
        "db_audit:pg-1.log:4",
        "db_audit:pg-1.log:5",
    ]
    gaps = sorted(k for k in by if len(k) == 2)
    assert gaps == [
        ("db_audit:pg-1.log:22", "db_audit:pg-1.log:25"),
        ("db_audit:pg-2.log:1", "db_audit:pg-3.log:1"),
    ]
    gap = by[("db_audit:pg-1.log:22", "db_audit:pg-1.log:25")]
    assert (
        gap["severity"] == "critical"
        and "缺失 2 条" in gap["explanation"]
        and "2 missing" in gap["explanation_en"]
    )
    assert by[("db_audit:pg-2.log:1", "db_audit:pg-3.log:1")]["severity"] == "high"
    off = by[("db_audit:pg-1.log:1",)]
    assert off["severity"] == "critical" and "none" in off["explanation"]
    assert by[("db_audit:pg-1.log:5",)]["severity"] == "high"  # turns auditing up


def test_audit_change_parsing():
    assert audit_change("SELECT set_config('pgaudit.log', 'none', false)", "postgres") == (
        "pgaudit.log",
        "none",
        False,
    )
    assert audit_change("ALTER SYSTEM RESET pgaudit.log", "postgres") == (
        "pgaudit.log",
        "RESET",
        False,
    )
    assert (
        audit_change(
            "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'", "postgres"
        )[0]
        == "shared_preload_libraries"
    )
    assert (
        audit_change(
            "ALTER SYSTEM SET shared_preload_libraries = 'pgaudit,pg_stat_statements'", "postgres"
        )
        is None
    )
    assert audit_change("SET GLOBAL server_audit_logging = ON", "mysql")[2] is True
    assert audit_change("SELECT 'SET pgaudit.log = none'", "postgres") is None


def test_conformance(tmp_path):
    check_detector(DbAuditTampering, world=_load(tmp_path))

"""db.privileged: DDL, TRUNCATE, grants and role changes outside an approved change ticket."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.db_privileged import DbPrivileged
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {
    "as_of": "2026-06-30",
    "timezone": "Asia/Shanghai",
    "working_hours": "08:00-19:00",
    "db": {"app_users": ["budget_app"], "protected_tables": ["public.payment", "public.indicator"]},
}


def _ev(eid, t, user, cmd, stmt, obj=None, cls="DDL", sess="s1", sid=1, ret=0):
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
        "substatement_id": 1,
        "audit_class": cls,
        "object_type": "TABLE" if obj else None,
        "object_name": obj,
        "statement": stmt,
        "parameter": None,
        "rows": None,
        "retcode": ret,
    }


def _etl_nights():
    out = []
    for i in range(10):
        day = dt.date(2026, 3, 2) + dt.timedelta(days=i)
        out.append(
            _ev(
                f"etl.log:{2 * i + 1}",
                f"{day} 02:0{i % 5}:00",
                "etl",
                "TRUNCATE TABLE",
                "TRUNCATE staging.load_payment",
                "staging.load_payment",
                cls="WRITE",
                sess=f"e{i}",
            )
        )
        out.append(
            _ev(
                f"etl.log:{2 * i + 2}",
                f"{day} 02:10:00",
                "etl",
                "CREATE TABLE",
                "CREATE TEMP TABLE t_load AS SELECT * FROM staging.load_payment",
                None,
                sess=f"e{i}",
                sid=2,
            )
        )
    return out


AUDIT = [
    # positives
    _ev(
        "pg.log:1",
        "2026-03-07 23:10:00",
        "dba_li",
        "GRANT",
        "GRANT SELECT, UPDATE ON payment TO clerk_bob",
        cls="ROLE",
        sess="l1",
    ),
    _ev(
        "pg.log:3",
        "2026-03-04 10:00:00",
        "dba_wang",
        "CREATE ROLE",
        "CREATE ROLE shadow LOGIN SUPERUSER PASSWORD <REDACTED>",
        cls="ROLE",
        sess="w2",
    ),
    _ev(
        "pg.log:4",
        "2026-03-04 10:05:00",
        "dba_wang",
        "CREATE TABLE",
        "CREATE TABLE public.tmp_fix (id serial primary key)",
        "public.tmp_fix",
        sess="w2",
        sid=2,
    ),
    _ev(
        "pg.log:5",
        "2026-03-04 10:05:00",
        "dba_wang",
        "CREATE SEQUENCE",
        "CREATE TABLE public.tmp_fix (id serial primary key)",
        "public.tmp_fix_id_seq",
        sess="w2",
        sid=2,
    ),
    _ev(
        "pg.log:6",
        "2026-03-12 02:03:00",
        "etl",
        "DROP TABLE",
        "DROP TABLE payment",
        "public.payment",
        sess="e99",
    ),
    # look-alikes: inside the ticket; refused; temp tables and the nightly truncate (routine)
    _ev(
        "pg.log:2",
        "2026-03-03 10:00:00",
        "dba_wang",
        "ALTER TABLE",
        "ALTER TABLE indicator ADD COLUMN memo text",
        "public.indicator",
        sess="w1",
    ),
    _ev(
        "pg.log:7",
        "2026-03-05 10:00:00",
        "clerk_bob",
        "DROP TABLE",
        "DROP TABLE payment",
        "public.payment",
        sess="b1",
        ret=42501,
    ),
    *_etl_nights(),
]
TICKETS = [
    {
        "ticket_id": "CHG-7",
        "db_user": "DBA_WANG",
        "start_time": "2026-03-03 09:00",
        "end_time": "2026-03-03 12:00",
        "objects": "public.indicator; public.payee",
        "description": "加字段",
    }
]


def _load(tmp_path, audit=AUDIT):
    pl.DataFrame(audit).write_csv(tmp_path / "db_audit.csv")
    pl.DataFrame(TICKETS).write_csv(tmp_path / "change_tickets.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds, **params):
    return DbPrivileged(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path))
    by_key = {r["evidence"][0]: r for r in out.to_dicts()}
    assert sorted(by_key) == [
        "db_audit:pg.log:1",
        "db_audit:pg.log:3",
        "db_audit:pg.log:4",
        "db_audit:pg.log:6",
    ]
    grant = by_key["db_audit:pg.log:1"]
    assert grant["severity"] == "high" and "休息日" in grant["explanation"]
    assert "clerk_bob" in grant["explanation"] and "public.payment" in grant["explanation"]
    role = by_key["db_audit:pg.log:3"]
    assert role["severity"] == "high" and "superuser" in role["explanation_en"]
    assert "CHG-7" in role["explanation"]  # the account's nearest ticket is named
    table = by_key["db_audit:pg.log:4"]
    assert (
        table["evidence"] == ["db_audit:pg.log:4", "db_audit:pg.log:5"]
        and table["severity"] == "medium"
    )
    drop = by_key["db_audit:pg.log:6"]
    assert drop["severity"] == "high" and "protected table" in drop["explanation_en"]
    assert drop["score"] == 1.0


def test_nightly_truncate_is_routine_but_not_when_rare(tmp_path):
    out = _run(_load(tmp_path), routine_days=20)
    assert out.filter(pl.col("entity_id") == "etl").height == 11  # 10 truncates + the drop


def test_conformance(tmp_path):
    check_detector(DbPrivileged, world=_load(tmp_path))

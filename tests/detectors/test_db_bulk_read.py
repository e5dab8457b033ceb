"""db.bulk_read: bulk reads of sensitive tables that are not an account's routine."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.db_bulk_read import DbBulkRead
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {
    "as_of": "2026-06-30",
    "timezone": "Asia/Shanghai",
    "db": {
        "app_users": ["budget_app"],
        "sensitive_tables": ["public.payee", "public.person", "fin.payee"],
    },
}


def _ev(
    eid, t, user, cmd, stmt, obj=None, sess="s1", sid=1, sub=1, rows=None, cls="READ", db="budget"
):
    return {
        "event_id": eid,
        "event_time": t,
        "db_user": user,
        "command": cmd,
        "database": db,
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
        "rows": rows,
        "retcode": 0,
    }


def _routine():
    out = []
    for i in range(12):
        day = dt.date(2026, 3, 2) + dt.timedelta(days=i)
        # the nightly ETL extract: a whole-table read at 01:3x every night (look-alike)
        out.append(
            _ev(
                f"etl.log:{i + 1}",
                f"{day} 01:3{i % 5}:00",
                "etl",
                "SELECT",
                "SELECT * FROM payee",
                "public.payee",
                sess=f"e{i}",
                rows=52000,
            )
        )
        # the application's filtered reads (look-alike)
        out.append(
            _ev(
                f"app.log:{i + 1}",
                f"{day} 10:00:00",
                "budget_app",
                "SELECT",
                "SELECT name, account_no FROM payee WHERE payee_id = 'P0001'",
                "public.payee",
                sess=f"a{i}",
                rows=1,
            )
        )
    return out


AUDIT = [
    *_routine(),
    # positives: an export on a Saturday night; a whole-table SELECT *; a MariaDB INTO OUTFILE
    _ev(
        "pg.log:1",
        "2026-03-07 23:10:00",
        "dba_li",
        "COPY",
        "COPY payee TO '/tmp/payee.csv' CSV HEADER",
        "public.payee",
        rows=48000,
        sess="l1",
    ),
    _ev(
        "pg.log:2",
        "2026-03-09 15:00:00",
        "analyst",
        "SELECT",
        "SELECT * FROM person",
        None,
        sess="n1",
    ),
    _ev(
        "mariadb.log:4",
        "2026-03-10 11:00:00",
        "ops",
        "READ",
        None,
        "fin.payee",
        sess="7",
        sid=100,
        sub=None,
        db="fin",
    ),
    _ev(
        "mariadb.log:5",
        "2026-03-10 11:00:00",
        "ops",
        "SELECT",
        "SELECT * FROM payee INTO OUTFILE '/tmp/p.txt'",
        sess="7",
        sid=100,
        sub=None,
        db="fin",
    ),
    # look-alikes: a filtered read, a limited read, another table
    _ev(
        "pg.log:3",
        "2026-03-09 15:05:00",
        "analyst",
        "SELECT",
        "SELECT * FROM person WHERE person_id = '3301'",
        None,
        sess="n1",
        sid=2,
    ),
    _ev(
        "pg.log:6",
        "2026-03-09 15:06:00",
        "analyst",
        "SELECT",
        "SELECT * FROM person LIMIT 20",
        None,
        sess="n1",
        sid=3,
    ),
    _ev(
        "pg.log:7",
        "2026-03-09 15:07:00",
        "analyst",
        "SELECT",
        "SELECT * FROM units",
        None,
        sess="n1",
        sid=4,
    ),
]


def _load(tmp_path, audit=AUDIT):
    pl.DataFrame(audit).write_csv(tmp_path / "db_audit.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds, **params):
    return DbBulkRead(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path))
    by = {r["entity_id"]: r for r in out.to_dicts()}
    assert sorted(by) == ["analyst", "dba_li", "ops"]
    li = by["dba_li"]
    assert li["severity"] == "high" and li["evidence"] == ["db_audit:pg.log:1"]
    assert "48000 行（阈值 10000 行）" in li["explanation"] and "COPY" in li["explanation"]
    assert "a rest day" in li["explanation_en"]
    assert by["analyst"]["severity"] == "medium" and "SELECT *" in by["analyst"]["explanation"]
    ops = by["ops"]
    assert ops["evidence"] == ["db_audit:mariadb.log:4", "db_audit:mariadb.log:5"]
    assert "fin.payee" in ops["explanation"]


def test_etl_not_routine_with_stricter_history(tmp_path):
    out = _run(_load(tmp_path), routine_days=30)
    assert "etl" in out["entity_id"].to_list()


def test_conformance(tmp_path):
    check_detector(DbBulkRead, world=_load(tmp_path))

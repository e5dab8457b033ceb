"""db.direct_write: a person's account writes to a protected table, bypassing the application."""

from __future__ import annotations

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.db_direct_write import DbDirectWrite
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {
    "as_of": "2026-06-30",
    "timezone": "Asia/Shanghai",
    "db": {"app_users": ["budget_app"], "protected_tables": ["public.payment", "public.indicator"]},
}


def _ev(
    eid,
    t,
    user,
    cmd,
    stmt,
    obj=None,
    cls="WRITE",
    sess="s1",
    sid=1,
    sub=1,
    rows=None,
    ret=0,
    db="budget",
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
        "retcode": ret,
    }


AUDIT = [
    # positive: a DBA edits a payee account on a Saturday night (2026-03-07), no ticket
    _ev(
        "pg-0307.log:12",
        "2026-03-07 23:10:05",
        "dba_li",
        "UPDATE",
        "UPDATE payment SET payee_account = '6222020200001111' WHERE voucher_id = 'V2026000002'",
        "public.payment",
        rows=1,
        sess="5f1.2a",
    ),
    # positive (MariaDB): the WRITE table record and the QUERY record of one statement
    _ev(
        "mariadb.log:7",
        "2026-03-04 10:00:00",
        "ops",
        "WRITE",
        None,
        "budget.payment",
        sess="31",
        sid=900,
        sub=None,
    ),
    _ev(
        "mariadb.log:8",
        "2026-03-04 10:00:00",
        "ops",
        "UPDATE",
        "UPDATE payment SET amount = 0",
        sess="31",
        sid=900,
        sub=None,
    ),
    # look-alike: the application's own write
    _ev(
        "pg-0302.log:1",
        "2026-03-02 10:00:00",
        "budget_app",
        "UPDATE",
        "UPDATE payment SET status = 'approved' WHERE voucher_id = 'V2026000001'",
        "public.payment",
        sess="a1",
    ),
    # look-alike: DBA work inside an approved ticket's window, on its objects
    _ev(
        "pg-0303.log:4",
        "2026-03-03 10:00:00",
        "dba_wang",
        "DELETE",
        "DELETE FROM indicator WHERE indicator_id = 'I2026-0099'",
        None,
        sess="w1",
        sid=4,
    ),
    # look-alikes: a read, a refused write, a write to an unprotected table
    _ev(
        "pg-0303.log:5",
        "2026-03-03 11:00:00",
        "dba_li",
        "SELECT",
        "SELECT * FROM payment WHERE voucher_id = 'V1'",
        "public.payment",
        cls="READ",
        sess="l2",
    ),
    _ev(
        "pg-0303.log:6",
        "2026-03-03 11:00:01",
        "clerk",
        "UPDATE",
        "UPDATE payment SET amount = 0 WHERE id = 1",
        None,
        sess="c1",
        ret=42501,
    ),
    _ev(
        "pg-0303.log:7",
        "2026-03-03 11:00:02",
        "dba_li",
        "INSERT",
        "INSERT INTO scratch.notes VALUES (1, 'x -- y')",
        "scratch.notes",
        sess="l2",
        sid=2,
    ),
]
TICKETS = [
    {
        "ticket_id": "CHG-2026-031",
        "db_user": "dba_wang",
        "start_time": "2026-03-03 09:00",
        "end_time": "2026-03-03 12:00",
        "objects": "public.indicator",
        "description": "删除重复指标",
    }
]


def _load(tmp_path, audit=AUDIT, tickets=TICKETS):
    pl.DataFrame(audit).write_csv(tmp_path / "db_audit.csv")
    if tickets is not None:
        pl.DataFrame(tickets).write_csv(tmp_path / "change_tickets.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds, **params):
    return DbDirectWrite(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path)).sort("entity_id")
    assert out["entity_id"].to_list() == ["dba_li", "ops"]
    li = out.row(0, named=True)
    assert li["evidence"] == ["db_audit:pg-0307.log:12"]
    assert li["severity"] == "critical"  # a rest day
    assert "public.payment" in li["explanation"] and "影响 1 行" in li["explanation"]
    assert "2026-03-07 23:10:05" in li["explanation"] and "休息日" in li["explanation"]
    assert "a rest day" in li["explanation_en"] and "budget_app" in li["explanation_en"]
    ops = out.row(1, named=True)
    assert ops["evidence"] == ["db_audit:mariadb.log:7", "db_audit:mariadb.log:8"]
    assert ops["severity"] == "critical" and "no WHERE" in ops["explanation_en"]


def test_ticket_named_when_covered_reported(tmp_path):
    out = _run(_load(tmp_path), report_covered=True)
    wang = out.filter(pl.col("entity_id") == "dba_wang").row(0, named=True)
    assert wang["severity"] == "info" and "CHG-2026-031" in wang["explanation"]
    assert wang["evidence"] == ["db_audit:pg-0303.log:4"]


def test_same_work_without_ticket_fires(tmp_path):
    out = _run(_load(tmp_path, tickets=None))
    assert "dba_wang" in out["entity_id"].to_list()


def test_ticket_for_other_objects_does_not_cover(tmp_path):
    tickets = [{**TICKETS[0], "objects": "public.payee"}]
    out = _run(_load(tmp_path, tickets=tickets))
    wang = out.filter(pl.col("entity_id") == "dba_wang").row(0, named=True)
    assert "CHG-2026-031" in wang["explanation"]  # named as the nearest ticket


def test_conformance(tmp_path):
    check_detector(DbDirectWrite, world=_load(tmp_path))

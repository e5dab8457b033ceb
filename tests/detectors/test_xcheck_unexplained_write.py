"""xcheck.unexplained_write: application writes to protected tables without a business operation."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.xcheck_unexplained_write import XcheckUnexplainedWrite
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {
    "as_of": "2026-06-30",
    "timezone": "Asia/Shanghai",
    "db": {"app_users": ["budget_app"], "protected_tables": ["public.payment", "public.indicator"]},
}


def _db(eid, t, stmt, param=None, user="budget_app", sess="a", sid=1, obj="public.payment", sub=1):
    return {
        "event_id": eid,
        "event_time": t,
        "db_user": user,
        "command": stmt.split()[0].upper(),
        "database": "budget",
        "client_ip": "10.0.0.8",
        "application_name": "budget-app",
        "session_id": sess,
        "statement_id": sid,
        "substatement_id": sub,
        "audit_class": "WRITE",
        "object_type": "TABLE" if obj else None,
        "object_name": obj,
        "statement": stmt,
        "parameter": param,
        "rows": 1,
        "retcode": 0,
    }


def _biz(eid, t, action, obj, otype="voucher"):
    return {
        "event_id": eid,
        "event_time": t,
        "user_id": "zhang",
        "action": action,
        "unit_id": "U0012",
        "object_type": otype,
        "object_id": obj,
        "result": "success",
        "detail": None,
    }


def world():
    db, biz = [], []
    for i in range(8):
        day = dt.date(2026, 3, 2) + dt.timedelta(days=i)
        v = f"V2026{i:06d}"
        # the application's own writes, each with its business event (look-alikes)
        biz.append(_biz(f"B{i}c", f"{day} 09:30:00", "voucher_create", v))
        db.append(
            _db(
                f"pg.log:{10 * i + 1}",
                f"{day} 09:30:02",
                "INSERT INTO payment (voucher_id, amount) VALUES ($1, $2)",
                f"{v},1200.00",
                sess=f"a{i}",
            )
        )
        biz.append(_biz(f"B{i}a", f"{day} 10:30:00", "voucher_approve", v))
        db.append(
            _db(
                f"pg.log:{10 * i + 2}",
                f"{day} 10:30:01",
                f"UPDATE payment SET status = 'approved' WHERE voucher_id = '{v}'",
                sess=f"a{i}",
                sid=2,
            )
        )
        # the application's nightly status sync, naming no voucher (routine look-alike)
        db.append(
            _db(
                f"pg.log:{10 * i + 3}",
                f"{day} 01:0{i % 3}:00",
                "UPDATE payment SET bank_status = 'synced' WHERE bank_status = 'pending'",
                sess=f"n{i}",
            )
        )
    # positives: a payee account changed 15 minutes after the approval; a voucher the business
    # log never names; an id-less mass delete at night (MariaDB-style record, table from the SQL)
    db.append(
        _db(
            "pg.log:901",
            "2026-03-05 10:45:00",
            "UPDATE payment SET payee_account = '6222999900001111' WHERE voucher_id = 'V2026000003'",
            sess="x1",
        )
    )
    db.append(
        _db(
            "pg.log:902",
            "2026-03-05 11:00:00",
            "UPDATE payment SET amount = 1 WHERE voucher_id = 'V2026099999'",
            sess="x1",
            sid=2,
        )
    )
    db.append(
        _db(
            "mariadb.log:903",
            "2026-03-07 23:30:00",
            "DELETE FROM indicator WHERE amount < 100",
            sess="77",
            sid=4400,
            obj=None,
            sub=None,
        )
    )
    # look-alikes: a read, another account's write (db.direct_write's business), a failed write
    db.append(
        _db(
            "pg.log:904",
            "2026-03-05 11:05:00",
            "SELECT * FROM payment WHERE voucher_id = 'V2026000004'",
            sess="x1",
            sid=3,
        )
    )
    db[-1]["audit_class"], db[-1]["command"] = "READ", "SELECT"
    db.append(
        _db(
            "pg.log:905",
            "2026-03-05 11:06:00",
            "UPDATE payment SET amount = 2 WHERE voucher_id = 'V2026000004'",
            user="dba_li",
            sess="l1",
        )
    )
    db.append(
        _db(
            "pg.log:906",
            "2026-03-05 11:07:00",
            "UPDATE payment SET amount = 3 WHERE voucher_id = 'V2026000004'",
            sess="x1",
            sid=4,
        )
    )
    db[-1]["retcode"] = 23505
    payments = [
        {
            "voucher_id": "V2026000003",
            "unit_id": "U0012",
            "indicator_id": "I1",
            "pay_date": "2026-03-05",
            "amount": "86,000.00",
            "payee_name": "某某公司",
            "payee_account": "6222000011112222",
            "economic_class": "30201",
        }
    ]
    return db, biz, payments


def _load(tmp_path, db, biz, payments=None):
    pl.DataFrame(db).write_csv(tmp_path / "db_audit.csv")
    pl.DataFrame(biz).write_csv(tmp_path / "business_log.csv")
    if payments:
        pl.DataFrame(payments).write_csv(tmp_path / "payments.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds, **params):
    return XcheckUnexplainedWrite(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, *world()))
    by = {r["entity_id"]: r for r in out.to_dicts()}
    assert sorted(by) == ["V2026000003", "V2026099999", "public.indicator"]
    v3 = by["V2026000003"]
    assert v3["severity"] == "high" and v3["evidence"] == [
        "db_audit:pg.log:901",
        "payments:V2026000003",
    ]
    assert str(v3["amount"]) == "86000.00" and v3["unit_id"] == "U0012"
    assert "相差 15.0 分钟" in v3["explanation"] and "300 秒" in v3["explanation"]
    assert (
        "数据变更无对应业务操作" in v3["explanation"] and "voucher approved" in v3["explanation_en"]
    )
    assert (
        "never names" in by["V2026099999"]["explanation_en"] and by["V2026099999"]["score"] == 0.9
    )
    idless = by["public.indicator"]
    assert idless["severity"] == "medium" and idless["evidence"] == ["db_audit:mariadb.log:903"]


def test_wider_tolerance_explains_the_late_write(tmp_path):
    out = _run(_load(tmp_path, *world()), tolerance_seconds=1200)
    assert "V2026000003" not in out["entity_id"].to_list()


def test_clocks_out_of_step_stay_silent(tmp_path):
    db, biz, payments = world()
    for e in biz:  # the business log written in UTC, read as local time: 8 hours off
        e["event_time"] = str(dt.datetime.fromisoformat(e["event_time"]) - dt.timedelta(hours=8))
    assert _run(_load(tmp_path, db, biz, payments)).height == 0


def test_conformance(tmp_path):
    check_detector(XcheckUnexplainedWrite, world=_load(tmp_path, *world()))

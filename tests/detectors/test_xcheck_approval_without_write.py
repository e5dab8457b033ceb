"""xcheck.approval_without_write: business operations that left no database write."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.xcheck_approval_without_write import XcheckApprovalWithoutWrite
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {"as_of": "2026-06-30", "timezone": "Asia/Shanghai", "db": {"app_users": ["budget_app"]}}


def _db(eid, t, stmt, param=None, sess="a", sid=1):
    return {
        "event_id": eid,
        "event_time": t,
        "db_user": "budget_app",
        "command": stmt.split()[0].upper(),
        "database": "budget",
        "client_ip": "10.0.0.8",
        "application_name": "budget-app",
        "session_id": sess,
        "statement_id": sid,
        "substatement_id": 1,
        "audit_class": "WRITE",
        "object_type": "TABLE",
        "object_name": "public.payment",
        "statement": stmt,
        "parameter": param,
        "rows": 1,
        "retcode": 0,
    }


def _biz(eid, t, action, obj, otype="voucher", result="success"):
    return {
        "event_id": eid,
        "event_time": t,
        "user_id": "li",
        "action": action,
        "unit_id": "U0012",
        "object_type": otype,
        "object_id": obj,
        "result": result,
        "detail": None,
    }


def world():
    db, biz = [], []
    for i in range(8):
        day = dt.date(2026, 3, 2) + dt.timedelta(days=i)
        v = f"V2026{i:06d}"
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
        biz.append(_biz(f"B{i}a", f"{day} 10:30:00", "Voucher_Approve", v))
        db.append(
            _db(
                f"pg.log:{10 * i + 2}",
                f"{day} 10:30:01",
                f"UPDATE payment SET status = 'approved' WHERE voucher_id = '{v}'",
                sess=f"a{i}",
                sid=2,
            )
        )
    # positive: an approval the database never saw
    biz.append(_biz("BX1", "2026-03-06 14:00:00", "voucher_approve", "V2026000005"))
    # look-alikes: a failed approval; an approval after the DB log ends; a log-in; a modify
    biz.append(
        _biz("BX2", "2026-03-06 14:10:00", "voucher_approve", "V2026000004", result="failure")
    )
    biz.append(_biz("BX3", "2026-03-20 14:10:00", "voucher_approve", "V2026000004"))
    biz.append(_biz("BX4", "2026-03-06 15:10:00", "login", None, otype=None))
    biz.append(_biz("BX5", "2026-03-06 15:20:00", "voucher_modify", "V2026000004"))
    return db, biz


def _load(tmp_path, db, biz):
    pl.DataFrame(db).write_csv(tmp_path / "db_audit.csv")
    pl.DataFrame(biz).write_csv(tmp_path / "business_log.csv")
    pl.DataFrame(
        [
            {
                "voucher_id": "V2026000005",
                "unit_id": "U0012",
                "indicator_id": "I1",
                "pay_date": "2026-03-06",
                "amount": "3,500.00",
                "payee_name": "某某公司",
                "payee_account": "6222000011112222",
                "economic_class": "30201",
            }
        ]
    ).write_csv(tmp_path / "payments.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds, **params):
    return XcheckApprovalWithoutWrite(**params).detect(
        ds.lazy(), Context.from_settings(ds.settings)
    )


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, *world()))
    assert out["entity_id"].to_list() == ["V2026000005"]
    r = out.row(0, named=True)
    assert r["evidence"] == ["business_log:BX1", "payments:V2026000005"]
    assert r["severity"] == "high" and str(r["amount"]) == "3500.00" and r["unit_id"] == "U0012"
    assert "审核凭证" in r["explanation"] and "300 秒" in r["explanation"]
    assert "相差 19.5 小时" in r["explanation"]  # its nearest write: the next day's draft
    assert "3,500.00" in r["explanation"]
    assert "2026-03-02 09:30:02" in r["explanation_en"]  # the DB log's span


def test_unlinkable_logs_stay_silent(tmp_path):
    db, biz = world()
    for e in db:  # bound parameters not logged, no ids in the text
        e["statement"], e["parameter"] = (
            "UPDATE payment SET status = $1 WHERE voucher_id = $2",
            "<not logged>",
        )
    biz += [
        _biz(f"BY{i}", f"2026-03-0{3 + i % 5} 11:{i:02d}:00", "voucher_approve", f"V2026{i:06d}")
        for i in range(20)
    ]
    assert _run(_load(tmp_path, db, biz)).height == 0


def test_conformance(tmp_path):
    check_detector(XcheckApprovalWithoutWrite, world=_load(tmp_path, *world()))

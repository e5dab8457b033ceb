"""xcheck.value_mismatch: the value written differs from the value the business approved."""

from __future__ import annotations

import json

import polars as pl

from auditlib.config import Settings
from auditlib.detectors._xcheck import set_values
from auditlib.detectors.base import Context
from auditlib.detectors.xcheck_value_mismatch import XcheckValueMismatch
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {"as_of": "2026-06-30", "timezone": "Asia/Shanghai", "db": {"app_users": ["budget_app"]}}


def _db(eid, t, stmt, param=None, sess="a", sid=1, sub=1):
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
        "substatement_id": sub,
        "audit_class": "WRITE",
        "object_type": None,
        "object_name": None,
        "statement": stmt,
        "parameter": param,
        "rows": 1,
        "retcode": 0,
    }


def _mod(eid, t, obj, field, new, old=None, otype="voucher"):
    detail = {"field": field, "new": new} | ({"old": old} if old else {})
    return {
        "event_id": eid,
        "event_time": t,
        "user_id": "zhang",
        "action": "voucher_modify" if otype == "voucher" else "indicator_modify",
        "unit_id": "U0012",
        "object_type": otype,
        "object_id": obj,
        "result": "success",
        "detail": json.dumps(detail, ensure_ascii=False),
    }


DB = [
    # look-alike: the approved account written through bound parameters
    _db(
        "pg.log:1",
        "2026-03-03 11:00:01",
        "UPDATE payment SET payee_account = $1 WHERE voucher_id = $2",
        "6222111100002222,V2026000001",
        sess="m1",
    ),
    # positive: the amount approved 1,500.00, the database got 15000.00
    _db(
        "pg.log:2",
        "2026-03-04 11:00:01",
        "UPDATE payment SET amount = 15000.00 WHERE voucher_id = 'V2026000002'",
        sess="m2",
    ),
    # positive (MariaDB placeholders): another payee account than approved
    _db(
        "mariadb.log:3",
        "2026-03-05 11:00:01",
        "UPDATE payment SET payee_account = ? WHERE voucher_id = ?",
        "6222999900009999,V2026000003",
        sess="9",
        sid=7001,
        sub=None,
    ),
    # look-alikes: two quick modifications of one field, each value written
    _db(
        "pg.log:4",
        "2026-03-06 11:00:01",
        "UPDATE payment SET purpose = '3月房租' WHERE voucher_id = 'V2026000004'",
        sess="m4",
    ),
    _db(
        "pg.log:5",
        "2026-03-06 11:01:01",
        "UPDATE payment SET purpose = '4月房租' WHERE voucher_id = 'V2026000004'",
        sess="m4",
        sid=2,
    ),
    # look-alike: a value the log does not show (an expression)
    _db(
        "pg.log:6",
        "2026-03-07 11:00:01",
        "UPDATE indicator SET amount = amount + 10 WHERE indicator_id = 'ZB-2026-0007'",
        sess="m6",
    ),
    # look-alike: the same number written another way
    _db(
        "pg.log:7",
        "2026-03-08 11:00:01",
        "UPDATE indicator SET amount = '200000' WHERE indicator_id = 'ZB-2026-0008'",
        sess="m7",
    ),
]
BIZ = [
    _mod(
        "M1",
        "2026-03-03 11:00:00",
        "V2026000001",
        "payee_account",
        "6222111100002222",
        old="6222000011112222",
    ),
    _mod("M2", "2026-03-04 11:00:00", "V2026000002", "amount", "1,500.00", old="1,200.00"),
    _mod("M3", "2026-03-05 11:00:00", "V2026000003", "Payee_Account", "6222333300003333"),
    _mod("M4", "2026-03-06 11:00:00", "V2026000004", "purpose", "3月房租"),
    _mod("M5", "2026-03-06 11:01:00", "V2026000004", "purpose", "4月房租"),
    _mod("M6", "2026-03-07 11:00:00", "ZB-2026-0007", "amount", "10", otype="indicator"),
    _mod("M7", "2026-03-08 11:00:00", "ZB-2026-0008", "amount", "200,000.00", otype="indicator"),
]


def _load(tmp_path):
    pl.DataFrame(DB).write_csv(tmp_path / "db_audit.csv")
    pl.DataFrame(BIZ).write_csv(tmp_path / "business_log.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds):
    return XcheckValueMismatch().detect(ds.lazy(), Context.from_settings(ds.settings))


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path))
    assert out["entity_id"].to_list() == ["V2026000002", "V2026000003"]
    amt = out.row(0, named=True)
    assert amt["evidence"] == ["business_log:M2", "db_audit:pg.log:2"]
    assert str(amt["amount"]) == "13500.00" and amt["severity"] == "high"
    assert "改为 1,500.00" in amt["explanation"] and "为 15000.00" in amt["explanation"]
    assert "相差 13500.00 元" in amt["explanation"] and "1 seconds apart" in amt["explanation_en"]
    acct = out.row(1, named=True)
    assert (
        acct["evidence"] == ["business_log:M3", "db_audit:mariadb.log:3"] and acct["amount"] is None
    )
    assert "6222999900009999" in acct["explanation"] and "6222333300003333" in acct["explanation"]


def test_set_values_reads_literals_and_parameters():
    assert set_values("UPDATE t SET a = ?, b = 'x', c = now() WHERE id = ?", "1,2", "mysql") == {
        "a": "1",
        "b": "x",
    }
    assert set_values("UPDATE t SET a = $2 WHERE id = $1", '7,"x,y"', "postgres") == {"a": "x,y"}


def test_conformance(tmp_path):
    check_detector(XcheckValueMismatch, world=_load(tmp_path))

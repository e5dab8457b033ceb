"""blog.maker_checker: the same user drafts and approves one voucher."""

from __future__ import annotations

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.blog_maker_checker import BlogMakerChecker
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(
        tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"})
    )


def _run(ds):
    return BlogMakerChecker().detect(ds.lazy(), Context.from_settings(ds.settings))


def _ev(eid, t, user, action, obj, result="success"):
    return {
        "event_id": eid,
        "event_time": t,
        "user_id": user,
        "action": action,
        "unit_id": "U1",
        "object_type": "voucher",
        "object_id": obj,
        "result": result,
    }


def _pay(vid, created_by, approved_by, amount="12,500.00", status="paid"):
    return {
        "voucher_id": vid,
        "unit_id": "U1",
        "indicator_id": "I1",
        "pay_date": "2026-03-03",
        "amount": amount,
        "payee_name": "某某公司",
        "payee_account": "6222000011112222",
        "economic_class": "30201",
        "status": status,
        "created_by": created_by,
        "approved_by": approved_by,
        "created_at": "2026-03-02 09:10",
        "approved_at": "2026-03-02 10:40",
    }


LOG = [
    # V1: zhang drafts and approves (positive, both sources)
    _ev("E1", "2026-03-02 09:10", "zhang", "voucher_create", "V1"),
    _ev("E2", "2026-03-02 10:40", "zhang", "voucher_approve", "V1"),
    # V2: li drafts, wang approves; li also modifies it (look-alike)
    _ev("E3", "2026-03-02 09:15", "li", "voucher_create", "V2"),
    _ev("E4", "2026-03-02 09:30", "li", "voucher_modify", "V2"),
    _ev("E5", "2026-03-02 11:00", "wang", "voucher_approve", "V2"),
    # V3: li drafts, li's approval attempt fails, wang approves (look-alike)
    _ev("E6", "2026-03-02 09:20", "li", "voucher_create", "V3"),
    _ev("E7", "2026-03-02 09:25", "li", "voucher_approve", "V3", result="failure"),
    _ev("E8", "2026-03-02 11:05", "wang", "voucher_approve", "V3"),
]
PAYMENTS = [
    _pay("V1", "zhang", "zhang"),
    _pay("V2", "li", "wang"),
    _pay("V3", "li", "wang"),
    _pay("V4", "zhao", "zhao", amount="800.00", status="returned"),  # payments only, not paid
]


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, business_log=LOG, payments=PAYMENTS)).sort("entity_id")
    assert out["entity_id"].to_list() == ["V1", "V4"]
    v1 = out.row(0, named=True)
    assert v1["evidence"] == ["business_log:E1", "business_log:E2", "payments:V1"]
    assert str(v1["amount"]) == "12500.00" and v1["severity"] == "high"
    assert "zhang" in v1["explanation"] and "12,500.00" in v1["explanation"]
    assert (
        "业务日志与支付明细" in v1["explanation"]
        and "business log and payments" in v1["explanation_en"]
    )
    v4 = out.row(1, named=True)
    assert v4["amount"] is None and v4["severity"] == "medium"
    assert v4["evidence"] == ["payments:V4"]


def test_log_only_without_payments(tmp_path):
    out = _run(_load(tmp_path, business_log=LOG))
    assert out["entity_id"].to_list() == ["V1"]
    assert out["evidence"][0].to_list() == ["business_log:E1", "business_log:E2"]


def test_colleague_approval_is_silent(tmp_path):
    out = _run(_load(tmp_path, business_log=LOG[2:], payments=PAYMENTS[1:3]))
    assert out.height == 0


def test_conformance(tmp_path):
    check_detector(BlogMakerChecker, world=_load(tmp_path, business_log=LOG, payments=PAYMENTS))

"""blog.payee_flip: a payee account switched before an approval and switched back after."""

from __future__ import annotations

import json

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.blog_payee_flip import BlogPayeeFlip
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(
        tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"})
    )


def _run(ds, **params):
    return BlogPayeeFlip(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _ev(eid, t, user, action, obj, otype="voucher", **detail):
    return {
        "event_id": eid,
        "event_time": t,
        "user_id": user,
        "action": action,
        "unit_id": "U1",
        "object_type": otype,
        "object_id": obj,
        "result": "success",
        "detail": json.dumps(detail, ensure_ascii=False) if detail else None,
    }


def _pay(vid, account, amount="48,000.00"):
    return {
        "voucher_id": vid,
        "unit_id": "U1",
        "indicator_id": "I1",
        "pay_date": "2026-04-08",
        "amount": amount,
        "payee_name": "某某公司",
        "payee_account": account,
        "economic_class": "30201",
        "created_by": "li",
        "approved_by": "wang",
    }


A, B = "6222000011112222", "6217999988887777"
LOG = [
    # V1: account switched A→B, approved 20 h later, switched back B→A 10 h after (positive)
    _ev(
        "E1", "2026-04-06 16:00", "li", "voucher_modify", "V1", field="payee_account", old=A, new=B
    ),
    _ev("E2", "2026-04-07 12:00", "wang", "voucher_approve", "V1"),
    _ev("E3", "2026-04-07 22:00", "li", "voucher_modify", "V1", field="收款账号", old=B, new=A),
    # V2: account corrected once, approved (look-alike)
    _ev(
        "E4", "2026-04-06 10:00", "li", "voucher_modify", "V2", field="payee_account", old=A, new=B
    ),
    _ev("E5", "2026-04-07 10:00", "wang", "voucher_approve", "V2"),
    # V3: corrected twice to a third account around the approval (look-alike: no revert)
    _ev(
        "E6", "2026-04-06 10:00", "li", "voucher_modify", "V3", field="payee_account", old=A, new=B
    ),
    _ev("E7", "2026-04-06 11:00", "wang", "voucher_approve", "V3"),
    _ev(
        "E8",
        "2026-04-06 12:00",
        "li",
        "voucher_modify",
        "V3",
        field="payee_account",
        old=B,
        new="6217000000000003",
    ),
    # V4: purpose edited, approved, purpose edited back (not an account field)
    _ev("E9", "2026-04-06 10:00", "li", "voucher_modify", "V4", field="purpose", old="x", new="y"),
    _ev("E10", "2026-04-06 11:00", "wang", "voucher_approve", "V4"),
    _ev("E11", "2026-04-06 12:00", "li", "voucher_modify", "V4", field="purpose", old="y", new="x"),
    # payee record P9: account flipped C→D, V5 (to D) approved in between, flipped back
    _ev(
        "E12",
        "2026-05-10 09:00",
        "zhao",
        "payee_modify",
        "P9",
        otype="payee",
        field="account_no",
        old="6222555500001111",
        new="6222666600002222",
    ),
    _ev("E13", "2026-05-11 09:30", "wang", "voucher_approve", "V5"),
    _ev(
        "E14",
        "2026-05-12 08:00",
        "zhao",
        "payee_modify",
        "P9",
        otype="payee",
        field="account_no",
        old="6222666600002222",
        new="6222555500001111",
    ),
    # payee record P8: flipped back after 5 days (outside the 72 h window)
    _ev(
        "E15",
        "2026-05-10 09:00",
        "zhao",
        "payee_modify",
        "P8",
        otype="payee",
        field="account_no",
        old="6222777700001111",
        new="6222888800002222",
    ),
    _ev("E16", "2026-05-11 09:30", "wang", "voucher_approve", "V6"),
    _ev(
        "E17",
        "2026-05-15 09:00",
        "zhao",
        "payee_modify",
        "P8",
        otype="payee",
        field="account_no",
        old="6222888800002222",
        new="6222777700001111",
    ),
]
PAYMENTS = [
    _pay("V1", A),
    _pay("V2", B),
    _pay("V3", B),
    _pay("V4", A),
    _pay("V5", "6222666600002222", "9,900.00"),
    _pay("V6", "6222888800002222"),
]


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, business_log=LOG, payments=PAYMENTS)).sort("entity_id")
    assert out["entity_id"].to_list() == ["V1", "V5"]
    v1 = out.row(0, named=True)
    assert v1["evidence"] == [
        "business_log:E1",
        "business_log:E2",
        "business_log:E3",
        "payments:V1",
    ]
    assert str(v1["amount"]) == "48000.00" and v1["severity"] == "high"
    assert "20.0 小时" in v1["explanation"] and "10.0 小时" in v1["explanation"]
    assert A in v1["explanation"] and B in v1["explanation_en"]
    v5 = out.row(1, named=True)
    assert v5["evidence"][:3] == ["business_log:E12", "business_log:E13", "business_log:E14"]
    assert "收款人 P9" in v5["explanation"]


def test_window_is_a_parameter(tmp_path):
    out = _run(_load(tmp_path, business_log=LOG, payments=PAYMENTS), window_hours=200.0)
    assert "V6" in out["entity_id"].to_list()


def test_without_values_only_on_the_voucher(tmp_path):
    log = [
        _ev("E1", "2026-04-06 16:00", "li", "voucher_modify", "V1", field="payee_account"),
        _ev("E2", "2026-04-07 12:00", "wang", "voucher_approve", "V1"),
        _ev("E3", "2026-04-07 22:00", "li", "voucher_modify", "V1", field="payee_account"),
        _ev("E4", "2026-04-06 16:00", "li", "payee_modify", "P1", otype="payee"),
        _ev("E5", "2026-04-07 12:00", "wang", "voucher_approve", "V2"),
        _ev("E6", "2026-04-07 22:00", "li", "payee_modify", "P1", otype="payee"),
    ]
    out = _run(_load(tmp_path, business_log=log))
    assert out["entity_id"].to_list() == ["V1"]
    assert out["severity"][0] == "medium" and "unverified" in out["explanation_en"][0]


def test_conformance(tmp_path):
    check_detector(BlogPayeeFlip, world=_load(tmp_path, business_log=LOG, payments=PAYMENTS))

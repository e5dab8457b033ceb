"""bank.returned_repaid_elsewhere: a returned payment re-paid to the same payee at another account."""

from __future__ import annotations

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.bank_returned_repaid_elsewhere import BankReturnedRepaidElsewhere
from auditlib.detectors.base import Context
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"}))


def _run(ds, **params):
    return BankReturnedRepaidElsewhere(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _pay(vid, day, amount, account, name, status="paid", unit="U1"):
    return {"voucher_id": vid, "unit_id": unit, "indicator_id": "I1", "pay_date": day, "amount": amount,
            "payee_name": name, "payee_account": account, "economic_class": "30201", "status": status}


CO = "杭州（某某）科技有限公司"
PAYMENTS = [
    # positive: returned, re-paid 5 days later to a new account, name written differently
    _pay("R1", "2026-03-02", "48,000.00", "6222000000000001", CO, status="退票"),
    _pay("N1", "2026-03-07", "48,000.00", "6217999900000001", "杭州(某某)科技 有限公司"),
    # look-alike: re-paid to the same account (written with spaces)
    _pay("R2", "2026-03-02", "12,000.00", "6222000000000002", "乙公司", status="退回"),
    _pay("N2", "2026-03-05", "12,000.00", "6222 0000 0000 0002", "乙公司"),
    # look-alike: re-paid to its own account, and a payment to another account besides
    _pay("R3", "2026-03-02", "9,000.00", "6222000000000003", "丙公司", status="returned"),
    _pay("N3a", "2026-03-04", "9,000.00", "6222000000000003", "丙公司"),
    _pay("N3b", "2026-03-06", "9,000.00", "6217999900000003", "丙公司"),
    # look-alike: re-paid to an account the payee was already paid on in January (another unit)
    _pay("K4", "2026-01-10", "1,000.00", "6217999900000004", "丁公司", unit="U9"),
    _pay("R4", "2026-03-02", "7,000.00", "6222000000000004", "丁公司", status="退票"),
    _pay("N4", "2026-03-06", "7,000.00", "6217999900000004", "丁公司"),
    # look-alikes: outside the window, another unit, another amount, a cancelled re-payment
    _pay("R5", "2026-03-02", "5,000.00", "6222000000000005", "戊公司", status="退票"),
    _pay("N5", "2026-04-15", "5,000.00", "6217999900000005", "戊公司"),
    _pay("R6", "2026-03-02", "6,000.00", "6222000000000006", "己公司", status="退票"),
    _pay("N6", "2026-03-06", "6,000.00", "6217999900000006", "己公司", unit="U2"),
    _pay("R7", "2026-03-02", "8,000.00", "6222000000000007", "庚公司", status="退票"),
    _pay("N7", "2026-03-06", "8,000.01", "6217999900000007", "庚公司"),
    _pay("R8", "2026-03-02", "3,000.00", "6222000000000008", "辛公司", status="退票"),
    _pay("N8", "2026-03-06", "3,000.00", "6217999900000008", "辛公司", status="作废"),
]


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, payments=PAYMENTS))
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["entity_id"] == "6217999900000001" and row["unit_id"] == "U1"
    assert row["evidence"] == ["payments:R1", "payments:N1"]
    assert str(row["amount"]) == "48000.00" and row["severity"] == "high"
    for text in (row["explanation"], row["explanation_en"]):
        assert "48,000.00" in text and "6222000000000001" in text and "6217999900000001" in text
        assert "2026-03-02" in text and "2026-03-07" in text and "30" in text
    assert "5 天后" in row["explanation"] and "5 day(s) later" in row["explanation_en"]


def test_window(tmp_path):
    ds = _load(tmp_path, payments=PAYMENTS)
    assert _run(ds, window_days=4).height == 0
    assert sorted(_run(ds, window_days=60)["entity_id"]) == ["6217999900000001", "6217999900000005"]


def test_conformance(tmp_path):
    check_detector(BankReturnedRepaidElsewhere, world=_load(tmp_path, payments=PAYMENTS))

"""bank.unmatched_debit: a debit from a budget unit's account that no voucher explains."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.bank_unmatched_debit import BankUnmatchedDebit
from auditlib.detectors.base import Context
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

ZERO, BASIC, TREASURY = "1001000000000001", "1001000000000002", "3300000000000009"


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"}))


def _run(ds, **params):
    return BankUnmatchedDebit(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _pay(vid, day, amount, account, status="paid"):
    return {"voucher_id": vid, "unit_id": "U1", "indicator_id": "I1", "pay_date": day, "amount": amount,
            "payee_name": "某某公司", "payee_account": account, "economic_class": "30201", "status": status}


def _bank(ref, day, amount, account, vid=None, direction="debit", payer=ZERO, currency=None):
    return {"bank_ref": ref, "value_date": day, "amount": amount, "payee_account": account,
            "voucher_id": vid, "payer_account": payer, "payee_name": "收款方", "direction": direction,
            "currency": currency}


ACCOUNTS = [
    {"account_no": ZERO, "unit_id": "U1", "account_name": "某局零余额账户", "account_type": "零余额账户"},
    {"account_no": BASIC, "unit_id": "U1", "account_name": "某局", "account_type": "基本账户"},
]


def _world():
    pays, bank = [], []
    days = [d for d in (dt.date(2026, 4, 1) + dt.timedelta(n) for n in range(60)) if d.weekday() < 5
            and not (dt.date(2026, 5, 1) <= d <= dt.date(2026, 5, 5))]
    for i, d in enumerate(days[::2][:20]):
        vid, acct = f"V{i:03d}", f"62220000{i:08d}"
        pays.append(_pay(vid, str(d), f"{2000 + i * 41}.50", acct))
        bank.append(_bank(f"B{i:03d}", str(d), f"{2000 + i * 41}.50", acct, vid))
    pays += [
        _pay("VCAN", "2026-04-21", "900.00", "6222777788889998", status="作废"),
        _pay("VRET", "2026-04-22", "800.00", "6222777788889999", status="退回"),
        _pay("VHOL", "2026-04-30", "4,321.00", "6222444455556666"),
        _pay("VS", "2026-04-14", "10,000.00", "6222000055550000"),
        _pay("VB1", "2026-04-16", "3,000.00", "6222000066660000"),
        _pay("VB2", "2026-04-16", "2,000.00", "6222000066660000"),
    ]
    bank += [
        _bank("BX", "2026-04-23", "8,888.00", "6217000011112222"),               # positive
        _bank("BCAN", "2026-04-21", "900.00", "6222777788889998", "VCAN"),       # names a cancelled voucher
        _bank("BRET", "2026-04-22", "800.00", "6222777788889999", "VRET"),       # returned: was debited
        _bank("BRETC", "2026-04-24", "800.00", ZERO, "VRET", direction="credit", payer="6222777788889999"),
        _bank("BHOL", "2026-05-06", "4321.00", "6222-4444-5555-6666"),           # after 劳动节, no id
        _bank("BS1", "2026-04-14", "4000.00", "6222000055550000"),               # split by the bank
        _bank("BS2", "2026-04-14", "6000.00", "6222000055550000"),
        _bank("BB", "2026-04-17", "5000.00", "6222000066660000"),                # batch of VB1 + VB2
        _bank("BOWN", "2026-04-23", "7,777.00", "6217000011113333", payer=BASIC),  # own funds
        _bank("BTRE", "2026-04-23", "6,666.00", "6217000011114444", payer=TREASURY),  # not a unit account
        _bank("BUSD", "2026-04-23", "555.00", "6217000011115555", currency="USD"),
        _bank("BCRED", "2026-04-23", "444.00", ZERO, direction="credit", payer="6217000011116666"),
    ]
    return pays, bank


def test_positive_and_lookalikes(tmp_path):
    pays, bank = _world()
    out = _run(_load(tmp_path, payments=pays, bank_transactions=bank, unit_accounts=ACCOUNTS))
    out = out.sort("alert_id")
    assert sorted(out["evidence"].list.first().to_list()) == [
        "bank_transactions:BCAN", "bank_transactions:BX"]
    row = out.filter(pl.col("evidence").list.first() == "bank_transactions:BX").row(0, named=True)
    assert row["entity_id"] == "6217000011112222" and row["unit_id"] == "U1"
    assert row["evidence"] == ["bank_transactions:BX", f"unit_accounts:{ZERO}"]
    assert str(row["amount"]) == "8888.00" and row["severity"] == "high"
    for text in (row["explanation"], row["explanation_en"]):
        assert "8,888.00" in text and ZERO in text and "2026-04-23" in text and "BX" in text
    assert "未载凭证号" in row["explanation"]
    can = out.filter(pl.col("evidence").list.first() == "bank_transactions:BCAN").row(0, named=True)
    assert "VCAN" in can["explanation"] and "作废" in can["explanation"]
    assert "cancelled" in can["explanation_en"]


def test_without_unit_accounts_every_covered_debit_is_judged(tmp_path):
    pays, bank = _world()
    out = _run(_load(tmp_path, payments=pays, bank_transactions=bank))
    got = {e[0]: u for e, u in zip(out["evidence"].to_list(), out["unit_id"].to_list(), strict=True)}
    # the basic and treasury accounts show no matched debit: not covered, not judged
    assert got == {"bank_transactions:BX": "U1", "bank_transactions:BCAN": "U1"}


def test_account_types_parameter(tmp_path):
    pays, bank = _world()
    ds = _load(tmp_path, payments=pays, bank_transactions=bank, unit_accounts=ACCOUNTS)
    # judging basic accounts too: BOWN's account has no matched debit, so it is still not covered
    out = _run(ds, account_types=("zero_balance", "basic"), min_share=0.0)
    assert "bank_transactions:BX" in out["evidence"].list.first().to_list()


def test_conformance(tmp_path):
    pays, bank = _world()
    check_detector(BankUnmatchedDebit,
                   world=_load(tmp_path, payments=pays, bank_transactions=bank, unit_accounts=ACCOUNTS))

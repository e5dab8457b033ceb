"""bank.mismatch: the debit carrying a voucher's id differs in amount or payee account."""

from __future__ import annotations

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.bank_mismatch import BankMismatch
from auditlib.detectors.base import Context
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

ZERO, TREASURY = "1001000000000001", "3300000000000009"


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"}))


def _run(ds):
    return BankMismatch().detect(ds.lazy(), Context.from_settings(ds.settings))


def _pay(vid, amount, account, status="paid"):
    return {"voucher_id": vid, "unit_id": "U1", "indicator_id": "I1", "pay_date": "2026-04-10",
            "amount": amount, "payee_name": "某某公司", "payee_account": account,
            "economic_class": "30201", "status": status}


def _bank(ref, vid, amount, account, payer=ZERO, currency="CNY", direction="debit"):
    return {"bank_ref": ref, "value_date": "2026-04-10", "amount": amount, "payee_account": account,
            "voucher_id": vid, "payer_account": payer, "direction": direction, "currency": currency}


PAYMENTS = [
    _pay("VACC", "4,589.00", "53655063171107830"),
    _pay("VAMT", "1,000.00", "6222000000000002"),
    _pay("VDUP", "500.00", "6222000000000003"),
    _pay("VOK", "700.00", "6222000000000004"),
    _pay("VMASK", "800.00", "6222000000000005"),
    _pay("VSPLIT", "10,000.00", "6222000000000006"),
    _pay("VUSD", "900.00", "6222000000000007"),
    _pay("VTWO", "1,200.00", "6222000000000008"),
    _pay("VCAN", "300.00", "6222000000000009", status="cancelled"),
]
BANK = [
    _bank("B1", "VACC", "4589.00", "6222000011112222"),       # positive: another account
    _bank("B2", "VAMT", "1100.00", "6222000000000002"),       # positive: 100 more
    _bank("B3a", "VDUP", "500.00", "6222000000000003"),       # positive: debited twice
    _bank("B3b", "VDUP", "500.00", "6222000000000003"),
    _bank("B4", "VOK", "700.00", "6222 0000 0000 0004"),      # spaces
    _bank("B5", "VMASK", "800.00", "6222********0005"),       # masked by the bank
    _bank("B6a", "VSPLIT", "4000.00", "6222000000000006"),    # split, adds up
    _bank("B6b", "VSPLIT", "6000.00", "6222000000000006"),
    _bank("B7", "VUSD", "126.50", "6222000000000007", currency="USD"),  # foreign: amount not compared
    _bank("B8a", "VTWO", "1200.00", "6222000000000008"),      # the same payment on two statements
    _bank("B8b", "VTWO", "1200.00", "6222000000000008", payer=TREASURY),
    _bank("B9", "VCAN", "300.00", "6222000000000000"),        # cancelled voucher: not compared here
    _bank("B10", "VAMT", "1100.00", ZERO, payer="6222000000000002", direction="credit"),  # a credit
]


def test_positives_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, payments=PAYMENTS, bank_transactions=BANK)).sort("entity_id")
    assert out["entity_id"].to_list() == ["VACC", "VAMT", "VDUP"]
    acc, amt, dup = out.iter_rows(named=True)
    assert acc["evidence"] == ["payments:VACC", "bank_transactions:B1"]
    assert str(acc["amount"]) == "4589.00" and acc["severity"] == "high" and acc["score"] >= 0.9
    assert "收款账号不符" in acc["title"] and "6222000011112222" in acc["explanation"]
    assert "53655063171107830" in acc["explanation_en"]
    assert str(amt["amount"]) == "100.00" and amt["severity"] == "high"
    assert "金额不符" in amt["explanation"] and "1,100.00" in amt["explanation"]
    assert "1,000.00" in amt["explanation_en"] and "100.00" in amt["explanation_en"]
    assert dup["evidence"] == ["payments:VDUP", "bank_transactions:B3a", "bank_transactions:B3b"]
    assert str(dup["amount"]) == "500.00" and "2 笔" in dup["explanation"]


def test_short_debit_is_medium(tmp_path):
    pays = [_pay("V", "1,000.00", "A1")]
    out = _run(_load(tmp_path, payments=pays, bank_transactions=[_bank("B", "V", "990.00", "A1")]))
    assert out["severity"].to_list() == ["medium"] and str(out["amount"][0]) == "10.00"


def test_conformance(tmp_path):
    check_detector(BankMismatch, world=_load(tmp_path, payments=PAYMENTS, bank_transactions=BANK))

"""subsidy.shared_account: many beneficiaries paid into one account (代领 / 截留)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.subsidy_shared_account import SubsidySharedAccount
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

HEAD = (
    "disbursement_id,program_code,beneficiary_id,beneficiary_name,account_no,amount,"
    "pay_date,unit_id"
)


def load(tmp_path: Path, rows: list[str]) -> Dataset:
    (tmp_path / "subsidies.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30"}))


def run(ds: Dataset, **params: int) -> pl.DataFrame:
    return SubsidySharedAccount(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


# a village official's account collecting for five villagers of one surname
POSITIVE = [
    f"V{i},P03,B10{i},陈{n},VILLAGE,1200.00,2026-03-01,U1" for i, n in enumerate("一二三四五")
]
LOOKALIKES = [
    # a household: husband, wife and son share a card (two surnames)
    "H1,P03,B201,刘大,FAM1,1200.00,2026-03-01,U1",
    "H2,P03,B202,王芳,FAM1,1200.00,2026-03-01,U1",
    "H3,P03,B203,刘小,FAM1,1200.00,2026-03-01,U1",
    # family members with distinct ids in their own accounts
    "F1,P03,B301,孙一,OWN1,1200.00,2026-03-01,U1",
    "F2,P03,B302,孙二,OWN2,1200.00,2026-03-01,U1",
    # one beneficiary paid by many programs into one account
    *[f"M{i},P0{i},B401,周九,ONE,100.00,2026-03-01,U1" for i in range(1, 6)],
    # masked accounts cannot be told apart
    *[f"K{i},P03,B50{i},郑{i},6222****1234,100.00,2026-03-01,U1" for i in range(5)],
    # last year
    *[f"Y{i},P03,B60{i},冯{i},OLD,100.00,2025-03-01,U1" for i in range(5)],
]


def test_positive_with_figures(tmp_path: Path) -> None:
    out = run(load(tmp_path, POSITIVE + LOOKALIKES))
    assert out["entity_id"].to_list() == ["VILLAGE"]
    a = out.row(0, named=True)
    assert a["evidence"] == [f"subsidies:V{i}" for i in range(5)]
    assert a["amount"] == Decimal("6000.00") and a["severity"] == "medium"
    assert "5 名不同受益人" in a["explanation"] and "陈三(B102)" in a["explanation"]
    assert "6,000.00" in a["explanation_en"]


def test_household_exemption_needs_names_and_few_people(tmp_path: Path) -> None:
    three_surnames = [
        "H1,P03,B201,刘大,FAM,1.00,2026-03-01,U1",
        "H2,P03,B202,王芳,FAM,1.00,2026-03-01,U1",
        "H3,P03,B203,李母,FAM,1.00,2026-03-01,U1",
    ]
    assert run(load(tmp_path, three_surnames))["severity"].to_list() == ["low"]
    assert run(load(tmp_path, LOOKALIKES[:3]), household_max=0).height == 1


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, LOOKALIKES)).height == 0


def test_conformance(tmp_path: Path) -> None:
    check_detector(SubsidySharedAccount, world=load(tmp_path, POSITIVE + LOOKALIKES))

"""subsidy.duplicate: one beneficiary paid twice for one program and period."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.subsidy_duplicate import SubsidyDuplicate
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

PROGRAMS = """program_code,program_name,max_amount,period,exclusive_group
P01,城乡低保,800.00,月,
P04,临时救助,2000.00,一次性,
"""
HEAD = (
    "disbursement_id,program_code,beneficiary_id,beneficiary_name,account_no,amount,"
    "pay_date,unit_id"
)


def load(tmp_path: Path, rows: list[str], as_of: str = "2026-06-20") -> Dataset:
    (tmp_path / "subsidy_programs.csv").write_text(PROGRAMS, encoding="utf-8")
    (tmp_path / "subsidies.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": as_of}))


def run(ds: Dataset) -> pl.DataFrame:
    return SubsidyDuplicate().detect(ds.lazy(), Context.from_settings(ds.settings))


POSITIVE = [
    "D1,P01,B001,张三,A1,800.00,2026-01-10,U1",
    "D2,P01,B001,张三,A1,800.00,2026-02-10,U1",
    "D3,P01,B001,张三,A1,800.00,2026-02-21,U1",
    "D4,P04,B009,孙七,A9,500.00,2025-06-01,U1",  # one-off program paid again a year later
    "D5,P04,B009,孙七,A9,500.00,2026-04-01,U1",
]
LOOKALIKES = [
    # the same person every month: different periods
    *[f"M{m},P01,B002,李四,A2,800.00,2026-0{m}-10,U1" for m in range(1, 7)],
    # a catch-up: January paid, February missed, two payments in March
    "C1,P01,B003,王一,A3,800.00,2026-01-10,U1",
    "C2,P01,B003,王一,A3,800.00,2026-03-10,U1",
    "C3,P01,B003,王一,A3,800.00,2026-03-12,U1",
    # a duplicate reversed in the same month
    "R1,P01,B004,赵二,A4,800.00,2026-02-10,U1",
    "R2,P01,B004,赵二,A4,800.00,2026-02-11,U1",
    "R3,P01,B004,赵二,A4,(800.00),2026-02-15,U1",
    # one masked id, two different people
    "K1,P01,1101**********1234,王五,A5,800.00,2026-03-10,U1",
    "K2,P01,1101**********1234,赵六,A6,800.00,2026-03-10,U1",
    # the second payment is after the audit date
    "F1,P01,B005,钱八,A7,800.00,2026-06-10,U1",
    "F2,P01,B005,钱八,A7,800.00,2026-06-25,U1",
]


def test_positive_duplicates_with_figures(tmp_path: Path) -> None:
    out = run(load(tmp_path, POSITIVE + LOOKALIKES))
    assert sorted(out["entity_id"]) == ["B001", "B009"]
    a = out.filter(pl.col("entity_id") == "B001").row(0, named=True)
    assert a["evidence"] == ["subsidies:D2", "subsidies:D3"]
    assert a["amount"] == Decimal("800.00")
    assert (
        "2026-02" in a["explanation"]
        and "1,600.00" in a["explanation"]
        and "800.00" in a["explanation"]
    )
    assert "paid 2 times" in a["explanation_en"]
    b = out.filter(pl.col("entity_id") == "B009").row(0, named=True)
    assert b["evidence"] == ["subsidies:D4", "subsidies:D5"] and b["amount"] == Decimal("500.00")
    assert "累计" in b["explanation"]


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, LOOKALIKES)).height == 0


def test_masked_id_same_person_is_compared_with_name(tmp_path: Path) -> None:
    rows = [
        "K1,P01,1101**********1234,王五,A5,800.00,2026-03-10,U1",
        "K2,P01,1101**********1234,王 五,A5,800.00,2026-03-11,U1",
    ]
    out = run(load(tmp_path, rows))
    assert out.height == 1 and out["evidence"][0].to_list() == ["subsidies:K1", "subsidies:K2"]


def test_finding_key_is_stable_as_payments_arrive(tmp_path: Path) -> None:
    first = run(load(tmp_path, POSITIVE[:3]))
    more = run(load(tmp_path, [*POSITIVE[:3], "D6,P01,B001,张三,A1,800.00,2026-02-25,U1"]))
    assert (
        first["alert_id"].to_list()
        == more.filter(pl.col("entity_id") == "B001")["alert_id"].to_list()
    )
    assert more.filter(pl.col("entity_id") == "B001")["amount"][0] == Decimal("1600.00")


def test_conformance(tmp_path: Path) -> None:
    check_detector(SubsidyDuplicate, world=load(tmp_path, POSITIVE + LOOKALIKES))

"""subsidy.over_standard: a beneficiary's period total above the program's standard."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.subsidy_over_standard import SubsidyOverStandard
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

PROGRAMS = """program_code,program_name,max_amount,period,exclusive_group
P01,城乡低保,800.00,month,
P03,高龄津贴,1200.00,年,
P05,无标准项目,0,month,
"""
HEAD = (
    "disbursement_id,program_code,beneficiary_id,beneficiary_name,account_no,amount,"
    "pay_date,unit_id"
)


def load(tmp_path: Path, rows: list[str]) -> Dataset:
    (tmp_path / "subsidy_programs.csv").write_text(PROGRAMS, encoding="utf-8")
    (tmp_path / "subsidies.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30"}))


def run(ds: Dataset) -> pl.DataFrame:
    return SubsidyOverStandard().detect(ds.lazy(), Context.from_settings(ds.settings))


POSITIVE = [
    "D1,P01,B001,张三,A1,800.00,2026-01-10,U1",
    "D2,P01,B001,张三,A1,950.00,2026-02-10,U1",  # 150 over the monthly standard
    "D3,P03,B002,李四,A2,1000.00,2026-03-01,U1",
    "D4,P03,B002,李四,A2,1000.00,2026-09-01,U1",  # after the audit date: not counted
    "D5,P03,B003,王一,A3,1000.00,2026-03-01,U1",
    "D6,P03,B003,王一,A3,500.00,2026-05-01,U1",  # yearly total 1,500 > 1,200
]
LOOKALIKES = [
    # the standard every month
    *[f"M{m},P01,B010,周九,A10,800.00,2026-0{m}-10,U2" for m in range(1, 7)],
    # under-paid January does not allow more in February... but a catch-up for an unpaid month does
    "C1,P01,B011,吴十,A11,800.00,2026-01-10,U2",
    "C2,P01,B011,吴十,A11,1600.00,2026-03-10,U2",
    # a reversed over-payment
    "R1,P01,B012,郑一,A12,900.00,2026-02-10,U2",
    "R2,P01,B012,郑一,A12,-100.00,2026-02-20,U2",
    # a program without a standard
    "Z1,P05,B013,冯二,A13,99999.00,2026-02-10,U2",
]


def test_positive_excess_is_the_amount(tmp_path: Path) -> None:
    out = run(load(tmp_path, POSITIVE + LOOKALIKES)).sort("entity_id")
    assert out["entity_id"].to_list() == ["B001", "B003"]
    a, b = out.row(0, named=True), out.row(1, named=True)
    assert a["evidence"] == ["subsidies:D2"] and a["amount"] == Decimal("150.00")
    assert (
        "950.00" in a["explanation"]
        and "800.00" in a["explanation"]
        and "150.00" in a["explanation"]
    )
    assert b["evidence"] == ["subsidies:D5", "subsidies:D6"] and b["amount"] == Decimal("300.00")
    assert "1,500.00" in b["explanation_en"] and "1,200.00" in b["explanation_en"]


def test_underpayment_builds_no_credit(tmp_path: Path) -> None:
    rows = [
        "U1,P01,B020,陈一,A20,300.00,2026-01-10,U1",
        "U2,P01,B020,陈一,A20,1000.00,2026-02-10,U1",
    ]
    out = run(load(tmp_path, rows))
    assert out["amount"].to_list() == [Decimal("200.00")]


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, LOOKALIKES)).height == 0


def test_conformance(tmp_path: Path) -> None:
    check_detector(SubsidyOverStandard, world=load(tmp_path, POSITIVE + LOOKALIKES))

"""subsidy.exclusive: programs of one exclusive group paid to one beneficiary in one period."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.subsidy_exclusive import SubsidyExclusive
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

PROGRAMS = """program_code,program_name,max_amount,period,exclusive_group
P01,城乡低保,800.00,month,G1
P02,特困人员救助供养,900.00,month,G1
P06,孤儿基本生活费,1500.00,month,G2
P07,事实无人抚养儿童补贴,3000.00,quarter,G2
P08,一次性生活补贴甲,500.00,once,G3
P09,一次性生活补贴乙,600.00,once,G3
P10,高龄津贴,1200.00,year,
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
    return SubsidyExclusive().detect(ds.lazy(), Context.from_settings(ds.settings))


POSITIVE = [
    "D1,P01,B001,张三,A1,800.00,2026-03-10,U1",
    "D2,P02,B001,张三,A1,900.00,2026-03-15,U1",  # 低保 and 特困 in March
    "D3,P06,B002,李四,A2,1500.00,2026-05-10,U1",
    "D4,P07,B002,李四,A2,3000.00,2026-06-01,U1",  # monthly and quarterly, both in Q2
    "D5,P08,B003,王一,A3,500.00,2025-08-01,U1",
    "D6,P09,B003,王一,A3,600.00,2026-02-01,U1",  # two one-off grants of one group, ever
]
LOOKALIKES = [
    # a switch from 低保 to 特困 between months
    "S1,P01,B010,周九,A10,800.00,2026-02-10,U2",
    "S2,P01,B010,周九,A10,800.00,2026-03-10,U2",
    "S3,P02,B010,周九,A10,900.00,2026-04-10,U2",
    # programs of no group, or of different groups
    "N1,P01,B011,吴十,A11,800.00,2026-03-10,U2",
    "N2,P10,B011,吴十,A11,1200.00,2026-03-10,U2",
    "N3,P06,B011,吴十,A11,1500.00,2026-03-10,U2",
    # a second program paid and reversed
    "R1,P01,B012,郑一,A12,800.00,2026-03-10,U2",
    "R2,P02,B012,郑一,A12,900.00,2026-03-12,U2",
    "R3,P02,B012,郑一,A12,-900.00,2026-03-13,U2",
]


def test_positive_cases_with_figures(tmp_path: Path) -> None:
    out = run(load(tmp_path, POSITIVE + LOOKALIKES)).sort("entity_id")
    assert out["entity_id"].to_list() == ["B001", "B002", "B003"]
    a, b, c = (out.row(i, named=True) for i in range(3))
    assert a["evidence"] == ["subsidies:D1", "subsidies:D2"] and a["amount"] == Decimal("800.00")
    assert (
        "2026-03" in a["explanation"]
        and "1,700.00" in a["explanation"]
        and "G1" in a["explanation"]
    )
    assert b["evidence"] == ["subsidies:D3", "subsidies:D4"] and b["amount"] == Decimal("1500.00")
    assert "2026-Q2" in b["explanation_en"]
    assert c["evidence"] == ["subsidies:D5", "subsidies:D6"] and c["amount"] == Decimal("500.00")


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, LOOKALIKES)).height == 0


def test_conformance(tmp_path: Path) -> None:
    check_detector(SubsidyExclusive, world=load(tmp_path, POSITIVE + LOOKALIKES))

"""subsidy.public_employee: public employees receiving means-tested subsidies."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.subsidy_public_employee import SubsidyPublicEmployee
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

PROGRAMS = """program_code,program_name,max_amount,period,exclusive_group
P01,城乡最低生活保障金,800.00,month,
P02,临时救助,2000.00,once,
P03,高龄津贴,1200.00,year,
P04,重度残疾人护理补贴,100.00,month,
P05,耕地地力保护补贴,500.00,year,
"""
PERSONS = """person_id,list_type,name,unit_id,effective_date
E001,财政供养人员,张三,U9,2015-07-01
E002,public_employee,李四,U8,2026-04-01
E003,public_employee,王一,,
E004,deceased,赵二,,2026-01-01
"""
HEAD = (
    "disbursement_id,program_code,beneficiary_id,beneficiary_name,account_no,amount,"
    "pay_date,unit_id"
)


def load(tmp_path: Path, rows: list[str]) -> Dataset:
    (tmp_path / "subsidy_programs.csv").write_text(PROGRAMS, encoding="utf-8")
    (tmp_path / "persons.csv").write_text(PERSONS, encoding="utf-8")
    (tmp_path / "subsidies.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30"}))


def run(ds: Dataset, **params: object) -> pl.DataFrame:
    return SubsidyPublicEmployee(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


POSITIVE = [
    "D1,P01,E001,张三,A1,800.00,2026-01-10,U1",
    "D2,P01,E001,张三,A1,800.00,2026-02-10,U1",
    "D3,P02,E001,张三,A1,1500.00,2026-03-01,U1",
    "D4,P03,E001,张三,A1,1200.00,2026-03-01,U1",  # universal: not counted
    "D5,P01,E002,李四,A2,800.00,2026-05-10,U1",  # employed from April
]
LOOKALIKES = [
    "L1,P01,E002,李四,A2,800.00,2026-03-10,U1",  # before employment started
    "L2,P03,E003,王一,A3,1200.00,2026-03-10,U1",  # universal programs only
    "L3,P04,E003,王一,A3,100.00,2026-03-10,U1",
    "L4,P05,E003,王一,A3,500.00,2026-03-10,U1",
    "L5,P01,E004,赵二,A4,800.00,2026-03-10,U1",  # not a public employee
    "L6,P01,E001,张三,A1,800.00,2025-12-10,U1",  # last year
]


def test_positive_with_figures(tmp_path: Path) -> None:
    out = run(load(tmp_path, POSITIVE + LOOKALIKES))
    assert out["entity_id"].to_list() == ["E001", "E002"]
    a, b = out.row(0, named=True), out.row(1, named=True)
    assert a["evidence"] == [
        "persons:E001|public_employee",
        "subsidies:D1",
        "subsidies:D2",
        "subsidies:D3",
    ]
    assert a["amount"] == Decimal("3100.00") and a["unit_id"] == "U9"
    assert "3,100.00" in a["explanation"] and "城乡最低生活保障金 1600.00" in a["explanation"]
    assert "临时救助" in a["explanation_en"] and "高龄津贴" not in a["explanation_en"]
    assert b["evidence"] == ["persons:E002|public_employee", "subsidies:D5"]


def test_program_codes_replace_keywords(tmp_path: Path) -> None:
    out = run(load(tmp_path, POSITIVE), programs=("P03",))
    assert out["amount"].to_list() == [Decimal("1200.00")]


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, LOOKALIKES)).height == 0


def test_conformance(tmp_path: Path) -> None:
    check_detector(SubsidyPublicEmployee, world=load(tmp_path, POSITIVE + LOOKALIKES))

"""payroll.multi_unit: one employee paid by two or more units in one month (吃空饷)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.payroll_multi_unit import PayrollMultiUnit
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

HEAD = "unit_id,employee_id,month,amount,account_no,pay_date"
MONTHS = [f"2026-{m:02d}" for m in range(1, 7)]
# a clean base: twelve employees in three units, every month
BASE = [f"U{e % 3 + 1},E{e:02d},{m},5000.00,A{e:02d},{m}-10" for e in range(12) for m in MONTHS]


def load(tmp_path: Path, rows: list[str]) -> Dataset:
    (tmp_path / "payroll.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30"}))


def run(ds: Dataset) -> pl.DataFrame:
    return PayrollMultiUnit().detect(ds.lazy(), Context.from_settings(ds.settings))


POSITIVE = ["U3,E00,2026-05,4200.00,A00,2026-05-12"]  # E00 of U1 also on U3's May payroll
LOOKALIKES = [
    # transferred from U1 to U2 in April: different months
    *[f"U1,T01,{m},4500.00,AT1,{m}-10" for m in MONTHS[:3]],
    *[f"U2,T01,{m},4500.00,AT1,{m}-10" for m in MONTHS[3:]],
    # a second unit's reversal in the same month
    "U2,E03,2026-02,-5000.00,A03,2026-02-20",
]


def test_positive_with_figures(tmp_path: Path) -> None:
    out = run(load(tmp_path, BASE + POSITIVE + LOOKALIKES))
    assert out["entity_id"].to_list() == ["E00"]
    a = out.row(0, named=True)
    assert a["evidence"] == ["payroll:U1|E00|2026-05", "payroll:U3|E00|2026-05"]
    assert a["amount"] == Decimal("4200.00") and a["unit_id"] == "U3"
    assert "9,200.00" in a["explanation"] and "5,000.00" in a["explanation"]
    assert "All went into the same account" in a["explanation_en"]


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, BASE + LOOKALIKES)).height == 0


def test_unit_local_employee_ids_are_not_judged(tmp_path: Path) -> None:
    local = [
        f"U{u},E{e},{m},5000.00,A{u}{e},{m}-10" for u in range(3) for e in range(5) for m in MONTHS
    ]
    assert run(load(tmp_path, local)).height == 0


def test_conformance(tmp_path: Path) -> None:
    check_detector(PayrollMultiUnit, world=load(tmp_path, BASE + POSITIVE + LOOKALIKES))

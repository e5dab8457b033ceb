"""payroll.shared_account: several employees' wages paid into one account in one month."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.payroll_shared_account import PayrollSharedAccount
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

HEAD = "unit_id,employee_id,month,amount,account_no,pay_date"
MONTHS = [f"2026-{m:02d}" for m in range(1, 7)]
BASE = [f"U{e % 3 + 1},E{e:02d},{m},5000.00,A{e:02d},{m}-10" for e in range(9) for m in MONTHS]


def load(tmp_path: Path, rows: list[str]) -> Dataset:
    (tmp_path / "payroll.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30"}))


def run(ds: Dataset) -> pl.DataFrame:
    return PayrollSharedAccount().detect(ds.lazy(), Context.from_settings(ds.settings))


# a ghost G01 on U2's payroll whose wage goes to E00's account, March and April
POSITIVE = [f"U2,G01,{m},3000.00,A00,{m}-10" for m in ("2026-03", "2026-04")]
LOOKALIKES = [
    # a married couple, each paid into their own account
    *[f"U1,H01,{m},4000.00,AH1,{m}-10" for m in MONTHS],
    *[f"U2,H02,{m},4000.00,AH2,{m}-10" for m in MONTHS],
    # one employee paid by two units into one account (payroll.multi_unit's finding)
    "U3,E01,2026-02,100.00,A01,2026-02-12",
    # masked account numbers
    "U1,K01,2026-02,100.00,6222****0001,2026-02-10",
    "U1,K02,2026-02,100.00,6222****0001,2026-02-10",
]


def test_positive_one_finding_per_account_and_year(tmp_path: Path) -> None:
    out = run(load(tmp_path, BASE + POSITIVE + LOOKALIKES))
    assert out["entity_id"].to_list() == ["A00"]
    a = out.row(0, named=True)
    assert a["evidence"] == [
        "payroll:U1|E00|2026-03",
        "payroll:U1|E00|2026-04",
        "payroll:U2|G01|2026-03",
        "payroll:U2|G01|2026-04",
    ]
    assert a["amount"] == Decimal("6000.00")
    assert "2026-03, 2026-04" in a["explanation"] and "16,000.00" in a["explanation"]
    assert "E00, G01" in a["explanation_en"]


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, BASE + LOOKALIKES)).height == 0


def test_conformance(tmp_path: Path) -> None:
    check_detector(PayrollSharedAccount, world=load(tmp_path, BASE + POSITIVE + LOOKALIKES))

"""payroll.late_or_missing and the 三保 table: wages paid late or not at all."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.payroll_late_or_missing import PayrollLateOrMissing
from auditlib.io.tables import Dataset, load_dir
from auditlib.sanbao import sanbao_table, unit_months
from auditlib.testing import check_detector

HEAD = "unit_id,employee_id,month,amount,account_no,pay_date"
UNITS = (
    "unit_id,unit_name,region_code\nU1,一局,330102\nU2,二局,330102\n"
    "U3,三局,330103\nU4,四局,330103\n"
)
MONTHS = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]


def pay(unit: str, emps: range, month: str, day: str) -> list[str]:
    return [f"{unit},{unit}E{e},{month},4000.00,{unit}A{e},{month}-{day}" for e in emps]


# U1: on the 10th; February's 15th is in the Spring Festival holiday, due moves to the 24th
U1 = [r for m in MONTHS for r in pay("U1", range(3), m, "24" if m == "2026-02" else "10")]
# U3: ten employees on the due day itself, one new hire paid late in March (10% < 20%)
U3 = [r for m in MONTHS for r in pay("U3", range(10), m, "15" if m != "2026-02" else "24")]
U3 += pay("U3", range(10, 11), "2026-03", "28")
# U4: starts paying in April (nothing expected before)
U4 = [r for m in MONTHS[4:] for r in pay("U4", range(2), m, "10")]
# U2: March paid on the 20th (late), May not paid
U2 = [
    r
    for m in MONTHS
    if m != "2026-05"
    for r in pay("U2", range(2), m, "20" if m == "2026-03" else "10")
]


def load(tmp_path: Path, rows: list[str], as_of: str = "2026-06-30", units: bool = True) -> Dataset:
    (tmp_path / "payroll.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    if units:
        (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": as_of}))


def run(ds: Dataset, **params: object) -> pl.DataFrame:
    return PayrollLateOrMissing(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def test_late_and_missing_with_figures(tmp_path: Path) -> None:
    out = run(load(tmp_path, U1 + U2 + U3 + U4)).sort("title")
    assert out["entity_id"].to_list() == ["U2", "U2"]
    missing = out.filter(pl.col("title").str.contains("未发放")).row(0, named=True)
    late = out.filter(pl.col("title").str.contains("逾期")).row(0, named=True)
    assert late["evidence"] == ["payroll:U2|U2E0|2026-03", "payroll:U2|U2E1|2026-03"]
    assert late["amount"] == Decimal("8000.00")
    assert (
        "2026-03-16" in late["explanation"] and "逾期 4 天" in late["explanation"]
    )  # 15 Mar is a Sunday
    assert missing["evidence"] == ["units:U2", "payroll:U2|U2E0|2026-04", "payroll:U2|U2E1|2026-04"]
    assert missing["amount"] == Decimal("8000.00") and missing["severity"] == "high"
    assert "2026-05" in missing["explanation_en"] and "8,000.00" in missing["explanation_en"]


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    # on the due day, on the day after a holiday, one late new hire, a unit starting late,
    # and the audit month itself not yet paid (U1 has no June rows)
    assert run(load(tmp_path, U1 + U3 + U4)).height == 0


def test_a_month_without_any_payroll_is_missing_data_not_missing_wages(tmp_path: Path) -> None:
    ds = load(tmp_path, U1 + U3, as_of="2026-08-31")
    assert run(ds).height == 0
    um = unit_months(ds.lazy(), Context.from_settings(ds.settings))
    assert set(um.filter(pl.col("month") == "2026-06")["status"]) == {"no_data"}
    assert set(um.filter(pl.col("month") == "2026-08")["status"]) == {"pending"}


def test_missing_run_keeps_its_id_as_months_pass(tmp_path: Path) -> None:
    rows = [r for m in MONTHS[:4] for r in pay("U2", range(2), m, "10")] + U1
    may = run(load(tmp_path, rows, as_of="2026-06-10"))
    june = run(load(tmp_path, rows + pay("U1", range(3), "2026-06", "10"), as_of="2026-07-20"))
    assert may["alert_id"].to_list() == june["alert_id"].to_list()
    assert may["amount"].to_list() == [Decimal("16000.00")]  # April and May at 8,000 a month
    assert june["amount"].to_list() == [Decimal("24000.00")]  # and June


def test_due_day_parameter_from_thresholds(tmp_path: Path) -> None:
    ds = load(tmp_path, U1 + U2)
    settings = Settings.from_mapping({"as_of": "2026-06-30", "thresholds": {"payroll_due_day": 25}})
    det = PayrollLateOrMissing.from_settings(settings)
    assert det.due_day == 25
    out = det.detect(ds.lazy(), Context.from_settings(ds.settings))
    assert not out["title"].str.contains("逾期").any()


def test_sanbao_table_per_region_and_month(tmp_path: Path) -> None:
    ds = load(tmp_path, U1 + U2 + U3 + U4)
    t = sanbao_table(ds.lazy(), Context.from_settings(ds.settings))
    row = t.filter((pl.col("region_code") == "330102") & (pl.col("month") == "2026-03")).row(
        0, named=True
    )
    assert (row["units"], row["on_time"], row["late"], row["missing"]) == (2, 1, 1, 0)
    assert row["paid_amount"] == Decimal("20000.00") and row["late_amount"] == Decimal("8000.00")
    may = t.filter((pl.col("region_code") == "330102") & (pl.col("month") == "2026-05")).row(
        0, named=True
    )
    assert (may["on_time"], may["missing"], may["on_time_rate"]) == (1, 1, 0.5)
    june = t.filter((pl.col("region_code") == "330103") & (pl.col("month") == "2026-06")).row(
        0, named=True
    )
    assert june["pending"] == 2
    zh = sanbao_table(ds.lazy(), Context.from_settings(ds.settings), lang="zh")
    assert zh.columns[:4] == ["行政区划代码", "月份", "应发单位数", "按时发放"]


def test_conformance(tmp_path: Path) -> None:
    check_detector(PayrollLateOrMissing, world=load(tmp_path, U1 + U2 + U3 + U4))


def test_conformance_without_units(tmp_path: Path) -> None:
    check_detector(PayrollLateOrMissing, world=load(tmp_path, U1 + U2 + U3 + U4, units=False))

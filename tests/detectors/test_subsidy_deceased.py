"""subsidy.deceased: subsidies paid after the beneficiary's date of death."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.subsidy_deceased import SubsidyDeceased
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

HEAD = (
    "disbursement_id,program_code,beneficiary_id,beneficiary_name,account_no,amount,"
    "pay_date,unit_id"
)
PERSONS = """person_id,list_type,name,unit_id,effective_date
B001,死亡人员,张三,,2026-03-05
B002,deceased,李四,,2026-05-20
B003,deceased,王一,,2026-04-28
B004,deceased,赵二,,
1101**********1234,deceased,王五,,2026-01-01
B005,public_employee,钱八,U9,2020-01-01
"""


def load(tmp_path: Path, rows: list[str]) -> Dataset:
    (tmp_path / "persons.csv").write_text(PERSONS, encoding="utf-8")
    (tmp_path / "subsidies.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30"}))


def run(ds: Dataset, **params: int) -> pl.DataFrame:
    return SubsidyDeceased(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


POSITIVE = [
    "D1,P01,B001,张三,A1,800.00,2026-03-01,U1",  # before death: not at risk
    "D2,P01,B001,张三,A1,800.00,2026-03-10,U1",  # in flight (5 days): at risk, alone no alert
    "D3,P01,B001,张三,A1,800.00,2026-04-10,U1",
    "D4,P01,B001,张三,A1,800.00,2026-05-10,U1",
]
LOOKALIKES = [
    "L1,P01,B002,李四,A2,800.00,2026-05-10,U1",  # died after the payment
    "L2,P01,B003,王一,A3,800.00,2026-05-08,U1",  # 10 days after death: in flight
    "L3,P01,B004,赵二,A4,800.00,2026-05-08,U1",  # no date of death
    "L4,P01,1101**********1234,赵六,A5,800.00,2026-03-01,U1",  # same masked id, another person
    "L5,P01,B005,钱八,A6,800.00,2026-03-01,U1",  # on the list, but not as deceased
]


def test_positive_whole_amount_after_death(tmp_path: Path) -> None:
    out = run(load(tmp_path, POSITIVE + LOOKALIKES))
    assert out["entity_id"].to_list() == ["B001"]
    a = out.row(0, named=True)
    assert a["evidence"] == [
        "persons:B001|deceased",
        "subsidies:D2",
        "subsidies:D3",
        "subsidies:D4",
    ]
    assert a["amount"] == Decimal("2400.00") and a["severity"] == "high"
    assert "2026-03-05" in a["explanation"] and "2,400.00" in a["explanation"]
    assert "66 days after death" in a["explanation_en"]


def test_masked_id_matches_by_name(tmp_path: Path) -> None:
    out = run(load(tmp_path, ["K1,P01,1101**********1234,王五,A5,800.00,2026-03-01,U1"]))
    assert out["evidence"].to_list() == [["persons:1101**********1234|deceased", "subsidies:K1"]]


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, LOOKALIKES)).height == 0


def test_grace_is_a_parameter(tmp_path: Path) -> None:
    out = run(load(tmp_path, LOOKALIKES), grace_days=0)
    assert out["entity_id"].to_list() == ["B003"]


def test_conformance(tmp_path: Path) -> None:
    check_detector(SubsidyDeceased, world=load(tmp_path, POSITIVE + LOOKALIKES))

"""subsidy.invalid_id: GB 11643-1999 ID numbers that cannot exist."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.subsidy_invalid_id import SubsidyInvalidId
from auditlib.io.tables import Dataset, load_dir
from auditlib.testing import check_detector

HEAD = (
    "disbursement_id,program_code,beneficiary_id,beneficiary_name,account_no,amount,"
    "pay_date,unit_id"
)
W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def valid(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, W, strict=True)) % 11]


def load(tmp_path: Path, rows: list[str]) -> Dataset:
    (tmp_path / "subsidies.csv").write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return load_dir(tmp_path, Settings.from_mapping({"as_of": "2026-06-30"}))


def run(ds: Dataset) -> pl.DataFrame:
    return SubsidyInvalidId().detect(ds.lazy(), Context.from_settings(ds.settings))


GOOD = [valid(f"3301021950010100{i}") for i in range(10)]
BAD_CHECK = GOOD[0][:17] + ("1" if GOOD[0][17] != "1" else "2")
BAD_BIRTH = valid("33010219500230001")  # 30 February
BAD_REGION = valid("99010219500101001")
POSITIVE = [
    f"D1,P01,{BAD_CHECK},张三,A1,800.00,2026-03-01,U1",
    f"D2,P01,{BAD_CHECK},张三,A1,800.00,2026-04-01,U1",
    f"D3,P01,{BAD_BIRTH},李四,A2,800.00,2026-03-01,U1",
    f"D4,P01,{BAD_REGION},王一,A3,800.00,2026-03-01,U1",
]
LOOKALIKES = [
    *[f"G{i},P01,{g},周{i},G{i},800.00,2026-03-01,U1" for i, g in enumerate(GOOD)],
    f"X1,P01,{valid('11010519491231002').lower()},赵二,X1,800.00,2026-03-01,U1",  # lower-case x
    "M1,P01,3301**********1234,钱八,M1,800.00,2026-03-01,U1",  # masked
    "P1,P01,PSN-000123,孙七,P1,800.00,2026-03-01,U1",  # pseudonym
    "O1,P01,330102500101001,吴十,O1,800.00,2026-03-01,U1",  # 15-digit old id
]


def test_positive_names_the_failed_check(tmp_path: Path) -> None:
    out = run(load(tmp_path, POSITIVE + LOOKALIKES))
    assert sorted(out["entity_id"]) == sorted([BAD_CHECK, BAD_BIRTH, BAD_REGION])
    a = out.filter(pl.col("entity_id") == BAD_CHECK).row(0, named=True)
    assert a["evidence"] == ["subsidies:D1", "subsidies:D2"] and a["amount"] == Decimal("1600.00")
    assert f"校验位应为 {GOOD[0][17]}" in a["explanation"] and "1,600.00" in a["explanation"]
    b = out.filter(pl.col("entity_id") == BAD_BIRTH).row(0, named=True)
    assert "birth date 19500230 is impossible" in b["explanation_en"]
    c = out.filter(pl.col("entity_id") == BAD_REGION).row(0, named=True)
    assert "region code 990102" in c["explanation_en"]


def test_lookalikes_do_not_fire(tmp_path: Path) -> None:
    assert run(load(tmp_path, LOOKALIKES)).height == 0


def test_pseudonyms_shaped_like_ids_are_not_judged(tmp_path: Path) -> None:
    rows = [
        f"H{i},P01,{700000000000000000 + i * 7919},某{i},H{i},1.00,2026-03-01,U1" for i in range(20)
    ]
    assert run(load(tmp_path, rows)).height == 0


def test_conformance(tmp_path: Path) -> None:
    check_detector(SubsidyInvalidId, world=load(tmp_path, POSITIVE + LOOKALIKES))

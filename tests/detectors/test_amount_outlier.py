"""amount.outlier: a payment far above its unit x class, never lumpy capital or wage months."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from auditlib.config import Settings
from auditlib.detectors.amount_outlier import AmountOutlier, robust_z
from auditlib.detectors.base import Context
from auditlib.io.tables import Dataset, load_dir
from auditlib.schemas import MONEY
from auditlib.synth import generate
from auditlib.testing import check_detector


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """A clean synthetic world (no injected positives), payments only."""
    out = tmp_path_factory.mktemp("amount-outlier")
    generate(out, seed=21, scale=1.0, clean=True, fmt="parquet")
    return load_dir(out, Settings.load(out), tables=["payments"])


def _rows(pay: pl.DataFrame, unit: str, amounts: list[float], cls: str, prefix: str,
          payees: list[str] | None = None) -> pl.DataFrame:
    tpl = pay.filter(pl.col("unit_id") == unit).head(1)
    n = len(amounts)
    return pl.concat([tpl] * n).with_columns(
        pl.Series("voucher_id", [f"{prefix}{i:04d}" for i in range(n)]),
        pl.Series("amount", [Decimal(f"{a:.2f}") for a in amounts], dtype=MONEY),
        pl.lit(cls).alias("economic_class"), pl.lit("paid").alias("status"),
        pl.Series("payee_account", payees or [f"{prefix}ACC{i}" for i in range(n)]),
    )


def _with(ds: Dataset, *parts: pl.DataFrame) -> Dataset:
    pay = pl.concat([ds["payments"], *parts])
    return Dataset(tables={"payments": pay}, report=ds.report, settings=ds.settings)


def _run(ds: Dataset, **params) -> pl.DataFrame:
    return AmountOutlier(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _office_group(ds: Dataset) -> tuple[str, pl.Series]:
    """The unit with the most paid 30201 payments, and their amounts."""
    pay = ds["payments"].filter((pl.col("economic_class") == "30201")
                                & (pl.col("status").fill_null("paid") == "paid"))
    unit = pay.group_by("unit_id").len().sort("len", "unit_id", descending=True)["unit_id"][0]
    return unit, pay.filter(pl.col("unit_id") == unit)["amount"].cast(pl.Float64)


@pytest.fixture(scope="module")
def positive(base: Dataset) -> tuple[Dataset, str, pl.Series, float]:
    unit, amounts = _office_group(base)
    big = round(float(amounts.median()) * 500, 2)
    return _with(base, _rows(base["payments"], unit, [big], "30201", "OUT")), unit, amounts, big


def test_clean_world_is_silent(base: Dataset) -> None:
    assert _run(base).height == 0


def test_positive_outlier_with_figures(positive) -> None:
    ds, unit, amounts, big = positive
    out = _run(ds)
    assert out["entity_id"].to_list() == ["OUT0000"]
    a = out.row(0, named=True)
    assert a["unit_id"] == unit and a["amount"] == Decimal(f"{big:.2f}")
    assert a["evidence"] == ["payments:OUT0000"]
    z = robust_z([*amounts.to_list(), big], big)
    median = math.exp(np.median(np.log([*amounts.to_list(), big])))
    expl = a["explanation_en"]
    assert f"robust z-score of the log amount is {z:.1f} against a threshold of 6.0" in expl
    assert f"median of {median:,.2f} yuan" in a["explanation_en"]
    assert f"{amounts.len() + 1} payments in that class" in a["explanation_en"]
    assert "稳健 z 值" in a["explanation"] and f"{big:,.2f}" in a["explanation"]
    assert 0.5 <= a["score"] <= 1


def test_two_outliers_in_one_group_are_both_found(base: Dataset) -> None:
    unit, amounts = _office_group(base)
    med = float(amounts.median())
    ds = _with(base, _rows(base["payments"], unit, [med * 400, med * 450], "30201", "TWO"))
    assert sorted(_run(ds)["entity_id"].to_list()) == ["TWO0000", "TWO0001"]


def _lumpy(pay: pl.DataFrame, unit: str, cls: str, prefix: str) -> pl.DataFrame:
    """40 ordinary purchases around 10,000 yuan, then three instalments of ~220,000."""
    rng = np.random.default_rng(5)
    small = list(np.exp(np.log(10_000) + 0.4 * rng.standard_normal(40)).round(2))
    big = [218_000.0, 221_500.0, 224_300.0]
    return _rows(pay, unit, small + big, cls, prefix,
                 [f"{prefix}S{i}" for i in range(40)] + [f"{prefix}BUILDER"] * 3)


def test_large_normal_capital_payments_do_not_fire(base: Dataset) -> None:
    unit = base["payments"]["unit_id"].sort()[0]
    capital = _run(_with(base, _lumpy(base["payments"], unit, "31099", "CAP")))
    assert capital.height == 0
    # the same amounts as goods and services are outliers: the capital rule is what spares them
    goods = _run(_with(base, _lumpy(base["payments"], unit, "30299", "GDS")))
    assert sorted(goods["entity_id"].to_list()) == ["GDS0040", "GDS0041", "GDS0042"]


def test_wage_month_and_small_group_do_not_fire(base: Dataset) -> None:
    unit = base["payments"]["unit_id"].sort()[1]
    wages = [100_000.0 + 37 * i for i in range(35)] + [250_000.0]  # a double month
    small = [2_000.0 + 10 * i for i in range(20)] + [900_000.0]  # 21 payments: too few
    ds = _with(base, _rows(base["payments"], unit, wages, "30199", "WAGE"),
               _rows(base["payments"], unit, small, "30298", "FEW"))
    assert _run(ds).height == 0
    assert _run(ds, min_group=20)["entity_id"].to_list() == ["FEW0020"]


def test_conformance(positive) -> None:
    check_detector(AmountOutlier, world=positive[0])


def test_module_path_matches_id() -> None:
    assert Path(__file__).name == "test_" + AmountOutlier.id.replace(".", "_") + ".py"

"""amount.just_below: a unit piling payments up under a threshold, judged statistically."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from math import comb

import numpy as np
import polars as pl
import pytest

from auditlib.config import Settings
from auditlib.detectors.amount_just_below import AmountJustBelow, binom_sf, expected_share
from auditlib.detectors.base import Context
from auditlib.io.tables import Dataset, load_dir
from auditlib.schemas import MONEY
from auditlib.synth import generate
from auditlib.testing import check_detector


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """A clean synthetic world (log-normal amounts, no injected positives)."""
    out = tmp_path_factory.mktemp("amount-just-below")
    generate(out, seed=22, scale=1.0, clean=True, fmt="parquet")
    return load_dir(out, Settings.load(out), tables=["payments"])


def _rows(pay: pl.DataFrame, unit: str, amounts: list[float], prefix: str,
          payees: list[str] | None = None, days: list[int] | None = None) -> pl.DataFrame:
    tpl = pay.head(1).with_columns(pl.lit(unit).alias("unit_id"), pl.lit("paid").alias("status"),
                                   pl.lit("30213").alias("economic_class"))
    n = len(amounts)
    dates = [dt.date(2026, 1, 5) + dt.timedelta(days=int(d)) for d in days or [0] * n]
    return pl.concat([tpl] * n).with_columns(
        pl.Series("voucher_id", [f"{prefix}{i:04d}" for i in range(n)]),
        pl.Series("amount", [Decimal(f"{a:.2f}") for a in amounts], dtype=MONEY),
        pl.Series("payee_account", payees or [f"{prefix}ACC{i}" for i in range(n)]),
        pl.Series("pay_date", dates, dtype=pl.Date),
    )


def _with(ds: Dataset, *parts: pl.DataFrame) -> Dataset:
    return Dataset(tables={"payments": pl.concat([ds["payments"], *parts])}, report=ds.report,
                   settings=ds.settings)


def _run(ds: Dataset, **params) -> pl.DataFrame:
    return AmountJustBelow(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


PILE = [47_650.0 + 170.5 * i for i in range(14)]  # 14 distinct amounts in [47,500, 50,000)


@pytest.fixture(scope="module")
def positive(base: Dataset) -> tuple[Dataset, str]:
    unit = base["payments"]["unit_id"].sort()[3]
    pile = _rows(base["payments"], unit, PILE, "PILE", days=list(range(0, 140, 10)))
    return _with(base, pile), unit


def test_clean_world_is_silent(base: Dataset) -> None:
    assert _run(base).height == 0
    assert _run(base, extra_thresholds=(10_000.0, 100_000.0, 200_000.0)).height == 0


def test_positive_pile_up_with_figures(positive) -> None:
    ds, unit = positive
    out = _run(ds)
    assert out["entity_id"].to_list() == [unit]
    a = out.row(0, named=True)
    pay = ds["payments"].filter((pl.col("unit_id") == unit) & (pl.col("status") == "paid"))
    amt = pay["amount"].cast(pl.Float64)
    below = pay.filter(amt.is_between(47_500, 50_000, closed="left"))
    above = int(amt.is_between(50_000, 52_500, closed="left").sum())
    assert {f"payments:{v}" for v in below["voucher_id"]} == set(a["evidence"])
    assert a["amount"] == below["amount"].sum()
    assert f"only {above} in [50,000.00, 52,500.00)" in a["explanation_en"]
    assert f"has {below.height} distinct payments in [47,500.00, 50,000.00)" in a["explanation_en"]
    p = binom_sf(below.height, below.height + above, expected_share(0.05, 0.25))
    assert p < 0.001
    assert "二项检验单侧 p 值" in a["explanation"] and "50,000.00" in a["title"]


def test_recurring_rent_and_a_few_payments_do_not_fire(base: Dataset) -> None:
    unit = base["payments"]["unit_id"].sort()[4]
    rent = _rows(base["payments"], unit, [49_800.0] * 6, "RENT", ["LANDLORD"] * 6,
                 days=[30 * m for m in range(6)])
    few = _rows(base["payments"], unit, PILE[:6], "FEW", days=list(range(0, 60, 10)))
    assert _run(_with(base, rent, few)).height == 0


def test_steep_log_normal_unit_does_not_fire(base: Dataset) -> None:
    """A big unit whose amounts sit around 40,000 and thin out fast at 50,000: more below
    than above is what a smooth density gives; the fitted slope absorbs it."""
    rng = np.random.default_rng(3)
    amounts = list(np.exp(np.log(40_000) + 0.15 * rng.standard_normal(5000)).round(2))
    ds = _with(base, _rows(base["payments"], "U9999", amounts, "STEEP",
                           days=list(rng.integers(0, 170, 5000))))
    assert _run(ds).height == 0
    amt = np.array(amounts)
    counts = [((amt >= lo) & (amt < hi)).sum() for lo, hi in
              ((40_000, 47_500), (47_500, 50_000), (50_000, 52_500), (52_500, 62_500))]
    share = expected_share(0.05, 0.25, lower_flank=counts[0], upper_flank=counts[3])
    assert share > 0.58  # Benford alone (0.5125) would call this a pile-up:
    assert binom_sf(counts[1], counts[1] + counts[2], 0.5125) < 0.001


def test_binomial_tail_is_exact() -> None:
    for k, n, p in ((14, 16, Fraction(41, 80)), (5, 9, Fraction(1, 2)), (30, 40, Fraction(27, 50))):
        exact = sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
        assert binom_sf(k, n, float(p)) == pytest.approx(float(exact), rel=1e-12)


def test_extra_thresholds_and_setting(base: Dataset) -> None:
    unit = base["payments"]["unit_id"].sort()[5]
    pile = _rows(base["payments"], unit, [x * 2 for x in PILE], "P100K",
                 days=list(range(0, 140, 10)))
    ds = _with(base, pile)
    assert _run(ds).height == 0
    out = _run(ds, extra_thresholds=(100_000,))
    assert out["entity_id"].to_list() == [unit]
    assert out["title_en"][0].startswith("Amounts just below 100,000.00 yuan")
    s = Settings.from_mapping({"as_of": "2026-06-30", "thresholds": {"split_payment": 100000}})
    assert AmountJustBelow.from_settings(s).threshold == 100000.0


def test_conformance(positive) -> None:
    check_detector(AmountJustBelow, world=positive[0])

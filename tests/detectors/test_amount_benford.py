"""amount.benford: invented digits in one unit; clean log-normal ledgers and small units pass."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from auditlib.config import Settings
from auditlib.detectors.amount_benford import B1, AmountBenford, benford_table
from auditlib.detectors.base import Context
from auditlib.io.tables import Dataset, load_dir
from auditlib.schemas import MONEY
from auditlib.synth import generate
from auditlib.testing import check_detector


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """A clean synthetic world (log-normal amounts, no injected positives)."""
    out = tmp_path_factory.mktemp("amount-benford")
    generate(out, seed=23, scale=1.0, clean=True, fmt="parquet")
    return load_dir(out, Settings.load(out), tables=["payments"])


def _rows(pay: pl.DataFrame, unit: str, amounts: list[str], prefix: str,
          cls: str = "30213") -> pl.DataFrame:
    tpl = pay.head(1).with_columns(pl.lit(unit).alias("unit_id"), pl.lit("paid").alias("status"),
                                   pl.lit(cls).alias("economic_class"))
    n = len(amounts)
    return pl.concat([tpl] * n).with_columns(
        pl.Series("voucher_id", [f"{prefix}{i:04d}" for i in range(n)]),
        pl.Series("amount", [Decimal(a) for a in amounts], dtype=MONEY),
        pl.Series("payee_account", [f"{prefix}ACC{i}" for i in range(n)]),
    )


def _invented(n: int, seed: int) -> list[str]:
    """Amounts a person makes up: first digits uniform, any size."""
    rng = np.random.default_rng(seed)
    first = rng.integers(1, 10, n)
    rest = rng.integers(0, 1000, n)
    scale = 10 ** rng.integers(0, 3, n)
    return [f"{(d * 1000 + r) * s / 10:.2f}" for d, r, s in zip(first, rest, scale, strict=True)]


def _with(ds: Dataset, *parts: pl.DataFrame) -> Dataset:
    return Dataset(tables={"payments": pl.concat([ds["payments"], *parts])}, report=ds.report,
                   settings=ds.settings)


def _run(ds: Dataset, **params) -> pl.DataFrame:
    return AmountBenford(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


@pytest.fixture(scope="module")
def positive(base: Dataset) -> Dataset:
    return _with(base, _rows(base["payments"], "UFAKE", _invented(700, 1), "FAB"))


def test_clean_world_is_silent(base: Dataset) -> None:
    assert _run(base).height == 0
    table = benford_table(base["payments"].lazy())
    assert table.height == base["payments"]["unit_id"].n_unique()
    assert set(table["band_first"]) <= {"close", "acceptable", "marginal", "nonconformity",
                                         "too_small"}


def test_positive_invented_digits_with_figures(positive: Dataset) -> None:
    out = _run(positive)
    assert out["entity_id"].to_list() == ["UFAKE"]
    a = out.row(0, named=True)
    amounts = positive["payments"].filter(pl.col("unit_id") == "UFAKE")["amount"]
    first = np.array([int(str(v).lstrip("0.")[0]) for v in amounts])
    share = np.bincount(first, minlength=10)[1:] / len(first)
    mad = np.abs(share - B1).mean()
    assert f"first-digit MAD {mad:.4f} (nonconformity" in a["explanation_en"]
    assert "700 payment amounts" in a["explanation_en"]
    top = int(np.argmax(share - B1)) + 1
    over = f"first digit {top} ({share[top - 1]:.1%} vs Benford {B1[top - 1]:.1%})"
    assert over in a["explanation_en"]
    assert "首位数字 MAD" in a["explanation"] and "不符合" in a["explanation"]
    assert len(a["evidence"]) == 700 and a["amount"] is None
    assert a["severity"] == "high"  # both tests fail


def test_leading_digits_come_from_fen_not_log10() -> None:
    """10,000.00 starts with 1 (a float log10 can put it at 9.99...)."""
    pay = pl.LazyFrame({
        "unit_id": ["U1"] * 4, "payee_account": ["A", "B", "C", "D"],
        "amount": ["1000.00", "10000.00", "100000.00", "0.10"],
        "economic_class": ["30201"] * 4, "status": ["paid"] * 4,
    }).with_columns(pl.col("amount").cast(MONEY))
    row = benford_table(pay, min_amount=0.1).row(0, named=True)
    assert row["n"] == 4 and row["band_first"] == "too_small"
    assert row["mad_first"] == pytest.approx(2 * (1 - B1[0]) / 9)


def test_small_unit_recurring_amounts_and_wages_do_not_fire(base: Dataset) -> None:
    small = _rows(base["payments"], "USMALL", _invented(250, 2), "SML")
    rent = _rows(base["payments"], "URENT", ["49800.00"] * 400, "RNT")  # one landlord, 400x
    rent = rent.with_columns(pl.lit("LANDLORD").alias("payee_account"))
    wages = _rows(base["payments"], "UWAGE", _invented(700, 3), "WAG", cls="30101")
    ds = _with(base, small, rent, wages)
    assert _run(ds).height == 0
    table = benford_table(ds["payments"].lazy()).filter(
        pl.col("unit_id").is_in(["USMALL", "URENT", "UWAGE"]))
    assert table.sort("unit_id").select("unit_id", "n", "band_first").rows() == [
        ("URENT", 1, "too_small"), ("USMALL", 250, "too_small")]


def test_narrow_ledger_is_not_benford_material(base: Dataset) -> None:
    """Telecom bills of a few hundred yuan break Benford's law by nature."""
    rng = np.random.default_rng(4)
    x = np.exp(np.log(600) + 0.35 * rng.standard_normal(700))
    ds = _with(base, _rows(base["payments"], "UTEL", [f"{v:.2f}" for v in x], "TEL", cls="30207"))
    table = benford_table(ds["payments"].lazy())
    row = table.filter(pl.col("unit_id") == "UTEL").row(0, named=True)
    assert row["band_first"] == "too_narrow" and row["decades"] < 1.0
    assert row["mad_first"] > 0.015 and row["p_first"] < 1e-10  # nonconforming, yet not tested
    assert _run(ds).height == 0


def test_a_unit_shaped_like_its_peers_does_not_fire(base: Dataset) -> None:
    """Six units share a wide but non-Benford class (log-uniform over 1.3 decades): each
    breaks Benford's law, none differs from its peers."""
    rng = np.random.default_rng(5)
    parts = [
        _rows(base["payments"], f"UPEER{u}",
              [f"{v:.2f}" for v in 10 ** rng.uniform(3.0, 4.3, 700)], f"P{u}_", cls="30299")
        for u in range(6)
    ]
    ds = _with(base, *parts)
    table = benford_table(ds["payments"].lazy()).filter(pl.col("unit_id").str.starts_with("UPEER"))
    assert (table["band_first"] == "nonconformity").all() and (table["p_first"] < 1e-5).all()
    assert _run(ds).height == 0


def test_conformance(positive: Dataset) -> None:
    check_detector(AmountBenford, world=positive)

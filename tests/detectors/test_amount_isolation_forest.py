"""amount.isolation_forest: the ML example: deterministic, quiet on clean data, capped."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import polars as pl
import pytest

from auditlib.config import Settings
from auditlib.detectors.amount_isolation_forest import AmountIsolationForest
from auditlib.detectors.base import Context
from auditlib.errors import DetectorError
from auditlib.io.tables import Dataset, load_dir
from auditlib.schemas import MONEY
from auditlib.synth import generate
from auditlib.testing import check_detector

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """A clean synthetic world (no injected positives), payments only."""
    out = tmp_path_factory.mktemp("amount-iforest")
    generate(out, seed=24, scale=1.0, clean=True, fmt="parquet")
    return load_dir(out, Settings.load(out), tables=["payments"])


def _glaring(pay: pl.DataFrame) -> pl.DataFrame:
    """3.6 million yuan of office supplies to a new payee, drafted and approved at 02:xx."""
    tpl = pay.filter(pl.col("economic_class") == "30201").sort("voucher_id").head(1)
    day = dt.date(2026, 4, 8)
    at = dt.datetime(2026, 4, 8, 2, 10)
    return tpl.with_columns(
        pl.lit("ISO0001").alias("voucher_id"), pl.lit("NEWPAYEE01").alias("payee_account"),
        pl.lit(Decimal("3600000.00")).cast(MONEY).alias("amount"),
        pl.lit(day).alias("pay_date"), pl.lit("paid").alias("status"),
        pl.lit(at).dt.replace_time_zone(TZ).alias("created_at"),
        (pl.lit(at) + dt.timedelta(minutes=9)).dt.replace_time_zone(TZ).alias("approved_at"),
    )


@pytest.fixture(scope="module")
def positive(base: Dataset) -> Dataset:
    pay = pl.concat([base["payments"], _glaring(base["payments"])])
    return Dataset(tables={"payments": pay}, report=base.report, settings=base.settings)


def _run(ds: Dataset, **params) -> pl.DataFrame:
    return AmountIsolationForest(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def test_clean_world_is_quiet(base: Dataset) -> None:
    out = _run(base)
    assert out.height <= base["payments"].height / 10_000  # the family's quality bar


def test_positive_glaring_payment_with_figures(positive: Dataset) -> None:
    out = _run(positive)
    assert "ISO0001" in out["entity_id"].to_list()
    a = out.filter(pl.col("entity_id") == "ISO0001").row(0, named=True)
    assert a["score"] >= 0.74 and a["evidence"] == ["payments:ISO0001"]
    assert a["amount"] == Decimal("3600000.00")
    assert f"scores it {a['score']:.3f} against a threshold of 0.74" in a["explanation_en"]
    assert "approved at 02:19" in a["explanation_en"]
    assert "Most unusual:" in a["explanation_en"] and "最不寻常的特征" in a["explanation"]
    # scores are the model's; the threshold is a parameter (PyOD-style)
    loose = _run(positive, score_threshold=0.5, max_alerts=10_000)
    assert loose.filter(pl.col("entity_id") == "ISO0001")["score"][0] == pytest.approx(a["score"])


def test_cap_keeps_the_highest_scores(positive: Dataset) -> None:
    loose = _run(positive, score_threshold=0.5, max_alerts=10_000)
    capped = _run(positive, score_threshold=0.5, max_alerts=3)
    assert capped.height == 3
    assert sorted(capped["score"], reverse=True) == sorted(loose["score"], reverse=True)[:3]


def test_small_amounts_and_small_data_never_alert(positive: Dataset) -> None:
    out = _run(positive, score_threshold=0.5, max_alerts=10_000)
    assert (out["amount"].cast(pl.Float64) >= 10_000).all()
    tiny = Dataset(tables={"payments": positive["payments"].head(500)}, report=positive.report,
                   settings=positive.settings)
    assert _run(tiny, score_threshold=0.5).height == 0


def test_unknown_feature_is_an_error(positive: Dataset) -> None:
    with pytest.raises(DetectorError, match="unknown features"):
        _run(positive, features=("log_amount", "colour"))


def test_sklearn_is_not_imported_with_the_module() -> None:
    code = ("import sys, auditlib.detectors.amount_isolation_forest as m; "
            "print('sklearn' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_conformance(positive: Dataset) -> None:
    check_detector(AmountIsolationForest, world=positive)

"""The money-rule injections (``auditlib.synth.inject_money``) against their detectors:
every positive caught with all its evidence, no look-alike in an alert, clean worlds
silent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from auditlib import engine
from auditlib.calendar import Calendar
from auditlib.config import Settings
from auditlib.io.tables import load_dir
from auditlib.synth import GROUND_TRUTH, generate

IDS = (
    "sangong.total", "sangong.indicator", "sangong.final_accounts", "sangong.disguised",
    "budget.class_mismatch", "budget.fund_label", "budget.overrun", "funds.own_account",
    "funds.round_trip", "timing.off_hours", "timing.december_rush",
)
SCALE = 0.3
SEED = 7
DECEMBER = dt.date(2026, 12, 28)


class World:
    def __init__(self, out: Path) -> None:
        self.dir = out
        self.gt = [json.loads(line) for line in
                   (out / GROUND_TRUTH).read_text("utf-8").splitlines()]
        self.data = load_dir(out, Settings.load(out))
        result = engine.run(self.data, detectors=engine.build_detectors(
            self.data.settings, only=IDS))
        assert not result.failed, result.failed
        self.alerts = result.alerts

    def cases(self, detector_id: str, kind: str) -> list[dict]:
        return [c for c in self.gt if c["detector_id"] == detector_id and c["kind"] == kind]

    def evidence(self, detector_id: str) -> list[set[str]]:
        return [set(e) for e in
                self.alerts.filter(pl.col("detector_id") == detector_id)["evidence"].to_list()]


def _world(tmp_path_factory: pytest.TempPathFactory, name: str, **kw) -> World:
    out = tmp_path_factory.mktemp(name)
    generate(out, seed=SEED, scale=SCALE, fmt="parquet", **kw)
    return World(out)


@pytest.fixture(scope="module")
def june(tmp_path_factory):
    return _world(tmp_path_factory, "june")


@pytest.fixture(scope="module")
def december(tmp_path_factory):
    return _world(tmp_path_factory, "december", as_of=DECEMBER)


@pytest.fixture(scope="module")
def clean_june(tmp_path_factory):
    return _world(tmp_path_factory, "clean_june", clean=True)


@pytest.fixture(scope="module")
def clean_december(tmp_path_factory):
    return _world(tmp_path_factory, "clean_december", clean=True, as_of=DECEMBER)


@pytest.fixture(params=["june", "december"])
def world(request) -> World:
    return request.getfixturevalue(request.param)


# ------------------------------------------------------------------------------ coverage
def test_every_detector_has_positives_and_lookalikes(june, december):
    for det in IDS:
        w = december if det == "timing.december_rush" else june
        assert w.cases(det, "positive"), det
        if det != "timing.december_rush":  # its docstring names no look-alike
            assert w.cases(det, "lookalike"), det
    # a year-end rush needs the year's end
    assert not june.cases("timing.december_rush", "positive")


def test_named_lookalikes_present(june):
    prefixes = {c["case_id"].rsplit("-", 1)[0] for c in june.gt if c["kind"] == "lookalike"}
    assert prefixes >= {
        "LA-SG-OK", "LA-SG-HIDE", "LA-SG-FINAL", "LA-BUD-CLASS", "LA-BUD-LABEL", "LA-BUD-OVER",
        "LA-FUNDS-OWN", "LA-FUNDS-RET", "LA-TIME-OFF",
    }
    texts = " ".join(c["description"] for c in june.gt if c["kind"] == "lookalike")
    for words in ("工作餐", "签证", "零余额账户", "退票", "调休"):
        assert words in texts, words


def test_makeup_day_lookalikes_fall_on_weekend_working_days(june):
    cal = Calendar()
    pay = june.data["payments"].select("voucher_id", "pay_date", "created_at", "approved_at")
    refs = [r.split(":", 1)[1] for c in june.cases("timing.off_hours", "lookalike")
            for r in c["evidence"] if "调休" in c["description"]]
    assert refs
    rows = pay.filter(pl.col("voucher_id").is_in(refs))
    for day, created, approved in rows.select("pay_date", "created_at", "approved_at").iter_rows():
        assert day.weekday() >= 5 and cal.is_workday(day)
        assert created.date() == day and approved.date() == day


# ------------------------------------------------------------------------------ detection
def test_positives_caught(world):
    for det in IDS:
        ev = world.evidence(det)
        for c in world.cases(det, "positive"):
            assert any(set(c["evidence"]) <= e for e in ev), (c["case_id"], c["description"])


def test_lookalikes_silent(world):
    for det in IDS:
        ev = world.evidence(det)
        for c in world.cases(det, "lookalike"):
            assert not any(set(c["evidence"]) & e for e in ev), (c["case_id"], c["description"])


def test_every_alert_is_a_recorded_case(world):
    """The ground truth is complete for these detectors: no alert without a positive.
    (Not ``timing.december_rush``: one very large December payment of any kind, say an
    ``amount.isolation_forest`` case, is enough to trip it.)"""
    for det in IDS[:-1]:
        cases = [set(c["evidence"]) for c in world.cases(det, "positive")]
        for e in world.evidence(det):
            assert any(c <= e for c in cases), (det, sorted(e)[:5])


def test_clean_worlds_silent(clean_june, clean_december):
    for w in (clean_june, clean_december):
        assert not [c for c in w.gt if c["kind"] == "positive"]
        assert any(c["detector_id"] in IDS for c in w.gt)  # look-alikes stay
        hits = w.alerts.filter(pl.col("detector_id").is_in(IDS))
        assert hits.height == 0, hits.select("detector_id", "entity_id", "title_en").to_dicts()

"""Shared fixtures for the workbench tests: the small synthetic world, run with a config.

The small world's default run gives only a couple of alerts; the ``busy`` run lowers the
split-payment threshold (``thresholds.split_payment`` in ``auditlib.yaml``) to 5,000 yuan
so the explorer has several pages of real alerts to filter, sort and page through.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from auditlib.io.tables import Dataset
from auditlib.testing import small_world
from auditlib.widgets.session import Session

BUSY_DETECTORS = ["payments.split", "payments.duplicate"]


@pytest.fixture(scope="session")
def busy_world() -> Dataset:
    ds = small_world()
    settings = replace(ds.settings, thresholds={**ds.settings.thresholds, "split_payment": 5000})
    return Dataset(ds.tables, ds.report, settings, ds.data_dir, ds.sources)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "alerts.sqlite"


@pytest.fixture
def session(busy_world: Dataset, store_path: Path) -> Session:
    """A fresh session (its own store) over the busy run: triage in one test stays there."""
    return Session.from_dataset(busy_world, store=store_path, detectors=BUSY_DETECTORS)

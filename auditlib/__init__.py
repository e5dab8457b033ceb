"""auditlib: the eagle eye (鹰眼) for public-finance audit.

Load a data directory per the data contract, run the registered detectors,
and get alerts that explain themselves in Chinese and English.
"""

from __future__ import annotations

__version__ = "0.1.0"


def timeline(dataset, entity, alerts=None):  # noqa: ANN001, ANN201
    """Every event about ``entity`` across all sources, in time order (see auditlib.timeline)."""
    from auditlib.timeline import timeline as _timeline

    return _timeline(dataset, entity, alerts)


def load(data_dir, *, config=None, as_of=None, tables=None):  # noqa: ANN001, ANN201
    """Load a data directory as ``auditlib detect`` does: a Dataset of typed tables + load report."""
    from pathlib import Path

    from auditlib.config import Settings
    from auditlib.io.tables import load_dir

    settings = Settings.load(Path(data_dir), Path(config) if config else None, as_of)
    return load_dir(Path(data_dir), settings, tables)


def detect(dataset, *, only=None):  # noqa: ANN001, ANN201
    """Run the enabled detectors over a loaded Dataset; returns a RunResult (``.alerts``)."""
    from auditlib.engine import build_detectors, run

    return run(dataset, detectors=build_detectors(dataset.settings, only))

"""The detector lab's logic: widgets specs from ``Param`` declarations, one detector re-run.

A re-run is ``Detector(**params).detect(dataset.lazy(), ctx)`` on the loaded data,
compared with the alerts the session's run gave (the *before*).

Examples
--------
>>> from auditlib.detectors.base import Param
>>> widget_kind(Param("n", int, 3, "count", min=1))
'int'
>>> widget_kind(Param("mode", str, "a", "mode", choices=("a", "b")))
'choice'
>>> parse_value(Param("classes", tuple, ("301",), "prefixes"), "301, 303")
('301', '303')
>>> from auditlib.testing import small_world
>>> from auditlib.widgets.session import Session
>>> s = Session.from_dataset(small_world(), detectors=["payments.split"])
>>> r = rerun(s, "payments.split", {"threshold": 5000.0})
>>> r.after.height > r.before.height
True
>>> r.added.height - r.removed.height == r.after.height - r.before.height
True
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from auditlib.detectors.base import Detector, Param
from auditlib.engine import apply_allowlist
from auditlib.errors import DetectorError
from auditlib.registry import all_detectors
from auditlib.widgets.session import Session


def widget_kind(p: Param) -> str:
    """``choice``, ``bool``, ``int``, ``float``, ``tuple`` or ``text`` for a parameter."""
    if p.choices is not None:
        return "choice"
    if p.type is bool:
        return "bool"
    if p.type is int:
        return "int"
    if p.type is float:
        return "float"
    if p.type is tuple:
        return "tuple"
    return "text"


def show_value(p: Param, value: Any) -> Any:
    """The value as its widget holds it (tuples as comma-separated text)."""
    if widget_kind(p) == "tuple":
        return ", ".join(str(v) for v in (value or ()))
    return value


def parse_value(p: Param, raw: Any) -> Any:
    """A widget's value back to the parameter's type (tuples from comma-separated text)."""
    if widget_kind(p) != "tuple":
        return raw
    items = [s.strip() for s in str(raw).replace("，", ",").split(",") if s.strip()]
    sample = next(iter(p.default), "") if p.default else ""
    if isinstance(sample, int | float) and not isinstance(sample, bool):
        return tuple(type(sample)(s) for s in items)
    return tuple(items)


def lab_detectors(session: Session) -> list[str]:
    """Registered detectors whose required tables are loaded, by id."""
    have = set(session.dataset.tables)
    return [d for d, cls in all_detectors().items() if set(cls.requires) <= have]


def current_params(session: Session, detector_id: str) -> dict[str, Any]:
    """The parameters the session's run used (settings applied), else the defaults."""
    det = session.detectors.get(detector_id)
    if det is not None:
        return det.get_params()
    return all_detectors()[detector_id].from_settings(session.dataset.settings).get_params()


@dataclass(frozen=True)
class LabResult:
    detector_id: str
    params: dict[str, Any]
    before: pl.DataFrame
    after: pl.DataFrame
    seconds: float

    @property
    def added(self) -> pl.DataFrame:
        return self.after.join(self.before.select("alert_id"), on="alert_id", how="anti")

    @property
    def removed(self) -> pl.DataFrame:
        return self.before.join(self.after.select("alert_id"), on="alert_id", how="anti")


def baseline(session: Session, detector_id: str) -> pl.DataFrame:
    """The session run's alerts of one detector (the lab's *before*)."""
    raw = session.result.alerts
    if raw.height == 0:
        return raw
    return raw.filter(pl.col("detector_id") == detector_id)


def rerun(session: Session, detector_id: str, params: Mapping[str, Any]) -> LabResult:
    """Run one detector with ``params`` on the session's data; raises DetectorError on a bad one."""
    cls: type[Detector] = all_detectors()[detector_id]
    missing = [t for t in cls.requires if t not in session.dataset.tables]
    if missing:
        msg = f"{detector_id} needs {', '.join(missing)}, not loaded"
        raise DetectorError(msg)
    det = cls(**dict(params))
    sev = session.dataset.settings.detectors.get(detector_id, {}).get("severity")
    t0 = time.perf_counter()
    after = det.detect(session.dataset.lazy(), session.ctx, severity=sev)
    after, _, _ = apply_allowlist(after, session.dataset.settings)  # the allowlist, as the run applies it
    return LabResult(
        detector_id,
        det.get_params(),
        baseline(session, detector_id),
        after,
        time.perf_counter() - t0,
    )

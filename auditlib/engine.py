"""The runner: every enabled detector over a loaded dataset, once.

It validates per-detector overrides (an unknown detector or parameter is an
error naming it), skips a detector whose tables are missing and says why,
catches a detector that fails (the others still report), applies the
allowlist, and returns alerts sorted most severe first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import polars as pl

from auditlib.alerts.schema import SEVERITY_RANK, alert_schema
from auditlib.config import Settings
from auditlib.detectors.base import Context, Detector
from auditlib.errors import DetectorError
from auditlib.io.tables import Dataset
from auditlib.registry import all_detectors


@dataclass
class RunResult:
    alerts: pl.DataFrame
    suppressed: pl.DataFrame
    suppressed_by: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    detectors: dict[str, Detector] = field(default_factory=dict)

    def summary(self) -> pl.DataFrame:
        """Alerts per detector and severity (one column per severity)."""
        counts = self.alerts.group_by("detector_id", "severity").len()
        rows = []
        for det_id in sorted(self.detectors):
            row: dict[str, object] = {"detector_id": det_id}
            for sev in SEVERITY_RANK:
                n = counts.filter((pl.col("detector_id") == det_id) & (pl.col("severity") == sev))
                row[sev] = int(n["len"].sum()) if n.height else 0
            row["total"] = sum(int(row[s]) for s in SEVERITY_RANK)  # type: ignore[arg-type]
            row["seconds"] = round(self.seconds.get(det_id, 0.0), 3)
            rows.append(row)
        return pl.DataFrame(rows)


def build_detectors(settings: Settings, only: Iterable[str] | None = None) -> dict[str, Detector]:
    """Instances of every enabled detector, parameters from the settings."""
    registry = all_detectors()
    for det_id, over in settings.detectors.items():
        if det_id not in registry:
            msg = f"detectors.{det_id}: unknown detector (known: {', '.join(registry)})"
            raise DetectorError(msg)
        sev = over.get("severity")
        if sev is not None and sev not in SEVERITY_RANK:
            msg = f"detectors.{det_id}.severity: {sev!r} is not one of {', '.join(SEVERITY_RANK)}"
            raise DetectorError(msg)
        en = over.get("enabled", True)
        if not isinstance(en, bool):
            msg = f"detectors.{det_id}.enabled: expected true or false, got {en!r}"
            raise DetectorError(msg)
    wanted = set(only) if only is not None else None
    out = {}
    for det_id, cls in registry.items():
        if wanted is not None and det_id not in wanted:
            continue
        if not settings.detectors.get(det_id, {}).get("enabled", True):
            continue
        try:
            out[det_id] = cls.from_settings(settings)
        except DetectorError as exc:
            msg = f"detectors.{det_id}: {exc}"
            raise DetectorError(msg) from None
    return out


def run(
    dataset: Dataset,
    *,
    detectors: dict[str, Detector] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> RunResult:
    settings = dataset.settings
    dets = detectors if detectors is not None else build_detectors(settings)
    ctx = Context.from_settings(settings)
    tables = dataset.lazy()
    frames, result = [], RunResult(pl.DataFrame(), pl.DataFrame(), detectors=dets)
    domain = None
    for i, (det_id, det) in enumerate(dets.items()):
        if det_id.split(".")[0] != domain:
            ctx.release()  # shared per-domain frames are not needed any more
            domain = det_id.split(".")[0]
        if progress:
            progress(det_id, i, len(dets))
        missing = [t for t in det.requires if t not in tables]
        if missing:
            why = "; ".join(
                f"needs {t} ({dataset.report.missing.get(t, 'not loaded')})" for t in missing
            )
            result.skipped[det_id] = why
            continue
        t0 = time.perf_counter()
        try:
            sev = settings.detectors.get(det_id, {}).get("severity")
            frames.append(det.detect(tables, ctx, severity=sev))
        except Exception as exc:  # noqa: BLE001 - one failing detector must not sink the run
            result.failed[det_id] = f"{type(exc).__name__}: {exc}"
        result.seconds[det_id] = time.perf_counter() - t0
    ctx.release()
    if progress:
        progress("", len(dets), len(dets))
    schema = alert_schema(settings.timezone)
    alerts = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)
    alerts, result.suppressed, result.suppressed_by = apply_allowlist(alerts, settings)
    result.alerts = sort_alerts(alerts)
    return result


def sort_alerts(alerts: pl.DataFrame) -> pl.DataFrame:
    rank = pl.col("severity").replace_strict(SEVERITY_RANK, return_dtype=pl.Int8)
    return alerts.sort(
        [rank, "score", "detector_id", "alert_id"], descending=[True, True, False, False]
    )


def apply_allowlist(
    alerts: pl.DataFrame, settings: Settings
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    live = [e for e in settings.allowlist if e.expires >= settings.as_of]
    if not live or alerts.height == 0:
        return alerts, alerts.clear(), {}
    mask = [False] * alerts.height
    by: dict[str, int] = {}
    for i, (det, ent) in enumerate(alerts.select("detector_id", "entity_id").iter_rows()):
        for e in live:
            if e.matches(det, ent):
                mask[i] = True
                label = f"{e.detector} / {e.entity} (owner {e.owner}, until {e.expires})"
                by[label] = by.get(label, 0) + 1
                break
    m = pl.Series(mask)
    return alerts.filter(~m), alerts.filter(m), by

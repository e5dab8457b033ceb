"""The auditlib path as a user runs it: ``load_dir`` then the two detectors through ``engine.run``.

``to_alerts`` of each detector is wrapped (on the instance, nothing in
auditlib is changed) to time the alert rendering apart from ``find`` and to
keep the findings frame for the comparison with the other engines.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa

DETECTORS = ("payments.duplicate", "payments.split")


def run(data_dir: Path) -> tuple[dict[str, float], pa.Table, dict]:
    """Load and detect with auditlib as it is."""
    import polars as pl

    from auditlib.config import Settings
    from auditlib.engine import build_detectors
    from auditlib.engine import run as run_detectors
    from auditlib.io.tables import load_dir

    try:
        from benchmarks.common import Clock, findings_table
    except ImportError:
        from common import Clock, findings_table  # type: ignore[no-redef]

    settings = Settings.load(data_dir)
    clock = Clock()
    with clock.step("load"):
        ds = load_dir(data_dir, settings, tables=["payments"])
    dets = build_detectors(settings, only=DETECTORS)
    captured: dict[str, pl.DataFrame] = {}
    render: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for det_id, det in dets.items():
        orig = det.to_alerts

        def wrapped(df, timezone, *, severity=None, _id=det_id, _orig=orig):
            captured[_id] = df
            t = time.perf_counter()
            out = _orig(df, timezone, severity=severity)
            render[_id] = time.perf_counter() - t
            return out

        det.to_alerts = wrapped  # type: ignore[method-assign]
        orig_detect = det.detect

        def detect(tables, ctx, *, severity=None, _id=det_id, _orig=orig_detect):
            c = time.process_time()
            out = _orig(tables, ctx, severity=severity)
            cpu[_id] = time.process_time() - c
            return out

        det.detect = detect  # type: ignore[method-assign]
    w, c = time.perf_counter(), time.process_time()
    result = run_detectors(ds, detectors=dets)
    t_run, c_run = time.perf_counter() - w, time.process_time() - c
    if result.failed or result.skipped:
        raise RuntimeError(f"detectors failed or skipped: {result.failed or result.skipped}")
    for det_id in DETECTORS:
        short = det_id.split(".")[1]
        clock.add(short, result.seconds[det_id], cpu[det_id])
        clock.times[f"{short}_find"] = result.seconds[det_id] - render.get(det_id, 0.0)
    times = clock.times
    # the runner's own work (alert sorting, allowlist) counts in the total
    times["total"] = times["load"] + t_run
    times["cpu_total"] = times["cpu_load"] + c_run
    tables = []
    for det_id in DETECTORS:
        df = captured.get(det_id)
        if df is None or df.height == 0:
            tables.append(
                findings_table(
                    det_id, entity_id=[], finding_key=[], unit_id=[], amount_fen=[], evidence=[]
                )
            )
            continue
        amount = df["amount"]
        fen = (
            (amount * 100).cast(pl.Int64)
            if isinstance(amount.dtype, pl.Decimal)
            else (amount * 100).round(0).cast(pl.Int64)
        )
        tables.append(
            findings_table(
                det_id,
                entity_id=df["entity_id"].to_arrow(),
                finding_key=df["finding_key"].to_arrow(),
                unit_id=df["unit_id"].to_arrow(),
                amount_fen=fen.to_arrow(),
                evidence=df["evidence"].to_arrow(),
            )
        )
    alerts = result.alerts
    extra = {
        "alerts": {d: int((alerts["detector_id"] == d).sum()) for d in DETECTORS},
        "rows": int(ds["payments"].height),
        "peaks": clock.peaks,
    }
    return times, pa.concat_tables(tables), extra

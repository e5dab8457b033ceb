"""The auditlib path as a user runs it: ``load_dir`` then the detectors through ``engine.run``.

Two runs:

- ``twins``: the tables the twinned rules read, the eight twinned detectors through
  ``engine.run``, and ``amount_benford.benford_table`` (what the Benford twins
  compute) timed as a step of its own;
- ``all``: every table the issue's detectors read and every detector of the issue
  (``payments.*``, ``sangong.*``, ``budget.*``, ``funds.*``, ``timing.*``,
  ``amount.*``, ``subsidy.*``, ``payroll.*``, ``bank.*``) through one ``engine.run``.

``to_alerts`` and ``detect`` of each detector are wrapped on the instance (nothing in
auditlib is changed) to time the alert rendering apart from ``find``, to take each
detector's CPU time and to keep the findings frame for the comparison.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pyarrow as pa

try:
    from benchmarks.common import Clock
    from benchmarks.money_common import (
        ALL_TABLES,
        PREFIXES,
        TWIN_TABLES,
        TWINNED,
        empty_findings,
        findings_table,
    )
except ImportError:  # run as a script from benchmarks/
    from common import Clock  # type: ignore[no-redef]
    from money_common import (  # type: ignore[no-redef]
        ALL_TABLES,
        PREFIXES,
        TWIN_TABLES,
        TWINNED,
        empty_findings,
        findings_table,
    )


def money_detector_ids() -> list[str]:
    from auditlib.registry import all_detectors

    return [d for d in all_detectors() if d.startswith(PREFIXES)]


def _fen(col: str):
    import polars as pl

    return (pl.col(col) * 100).cast(pl.Int64).cast(pl.String)


def _detail(step: str):
    """The rule-specific ``detail`` text of :data:`money_common.DETAIL`, as a polars expr."""
    import polars as pl

    s = lambda c: pl.col(c).cast(pl.String)  # noqa: E731
    sep = pl.lit("|")
    parts = {
        "overrun": [s("crossing"), s("n_pay"), s("n_after")],
        "class_mismatch": [s("severity"), s("n_pay")],
        "sangong_total": [s("n_pay"), s("n_ind"), _fen("spent")],
        "final_accounts": [s("n_pay"), _fen("spent")],
        "subsidy_duplicate": [s("n_eff"), s("allowed"), _fen("net")],
        "multi_unit": [
            s("n_units"),
            _fen("top"),
            _fen("total"),
            (pl.col("same_zh") != "").cast(pl.Int8).cast(pl.String),
        ],
        "own_account": [s("severity"), s("n_pay")],
        "off_hours": [s("severity")],
    }[step]
    out = []
    for i, p in enumerate(parts):
        out += [sep, p] if i else [p]
    return pl.concat_str(out)


def findings_of(det_id: str, df) -> pa.Table:
    """A captured findings frame of a twinned detector in the MONEY_FINDINGS schema."""
    import polars as pl

    if df is None or df.height == 0:
        return empty_findings(det_id)
    out = df.select(
        pl.col("entity_id").cast(pl.String),
        pl.col("finding_key").cast(pl.String),
        pl.col("unit_id").cast(pl.String),
        (pl.col("amount") * 100).cast(pl.Int64).alias("amount_fen"),
        pl.col("evidence").cast(pl.List(pl.String)),
        _detail(TWINNED[det_id]).alias("detail"),
    )
    return findings_table(det_id, **{c: out[c].to_arrow() for c in out.columns})


def run(
    data_dir: Path, mode: str = "twins", only: list[str] | None = None
) -> tuple[dict[str, float], pa.Table, dict]:
    """Load and detect (``mode`` ``twins`` or ``all``: see the module docstring);
    ``only`` (``all``) keeps the detectors whose id starts with one of these prefixes, and loads
    only the tables they read."""
    import polars as pl

    from auditlib.config import Settings
    from auditlib.detectors.amount_benford import benford_table
    from auditlib.detectors.base import Context
    from auditlib.engine import build_detectors
    from auditlib.engine import run as run_detectors
    from auditlib.io.tables import load_dir

    settings = Settings.load(data_dir)
    clock = Clock()
    if mode == "twins":
        ids = [d for d in TWINNED if d != "amount.benford"]
        tables = list(TWIN_TABLES)
    else:
        ids = [d for d in money_detector_ids() if not only or d.startswith(tuple(only))]
        from auditlib.registry import all_detectors

        reg = all_detectors()
        needed = {t for d in ids for t in (*reg[d].requires, *reg[d].optional)}
        tables = [t for t in ALL_TABLES if t in needed]  # what the detectors read
    with clock.step("load"):
        ds = load_dir(data_dir, settings, tables=tables)
    dets = build_detectors(settings, only=ids)
    captured: dict[str, pl.DataFrame] = {}
    render: dict[str, float] = {}
    cpu: dict[str, float] = {}
    peaks: dict[str, float] = {}  # the process's peak RSS (MB) after each detector
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
            peaks[_id] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            return out

        det.detect = detect  # type: ignore[method-assign]
    w, c = time.perf_counter(), time.process_time()
    result = run_detectors(ds, detectors=dets)
    t_run, c_run = time.perf_counter() - w, time.process_time() - c
    if result.failed or result.skipped:
        raise RuntimeError(f"detectors failed or skipped: {result.failed or result.skipped}")
    for det_id in dets:
        step = TWINNED.get(det_id, det_id) if mode == "twins" else det_id
        clock.add(step, result.seconds[det_id], cpu[det_id])
        clock.times[f"{step}_find"] = result.seconds[det_id] - render.get(det_id, 0.0)
    clock.times["run_overhead"] = t_run - sum(result.seconds.values())
    times = clock.times
    times["total"] = times["load"] + t_run
    times["cpu_total"] = times["cpu_load"] + c_run
    extra: dict = {
        "rows": {k: int(v.height) for k, v in ds.tables.items()},
        "alerts": {d: int(n) for d, n in result.alerts.group_by("detector_id").len().iter_rows()},
        "render": render,
        "peaks": clock.peaks,
        "peak_after": peaks,
    }
    if mode == "twins":
        ctx = Context.from_settings(settings)
        params = build_detectors(settings, only=["amount.benford"])["amount.benford"].get_params()
        params.pop("alpha")
        with clock.step("benford"):
            bt = benford_table(ds.lazy()["payments"], year=ctx.year, as_of=ctx.as_of, **params)
        # (clock.step has added the step to total and cpu_total: not again)
        times["benford_find"] = times["benford"]
        extra["benford_table"] = bt.to_arrow()
    # the twinned detectors' findings (amount.benford's twin is its table, not its alerts)
    found = pa.concat_tables(
        [findings_of(d, captured.get(d)) for d in TWINNED if d in dets and d != "amount.benford"]
        or [empty_findings("none")]
    )
    return times, found, extra

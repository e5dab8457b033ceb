"""The auditlib path of the log benchmark, as a user runs it: ``load_dir`` then ``engine.run``.

``run(data_dir, only)`` times, in this process:

- **parse**: ``load_dir(..., tables=["db_audit"])`` on a directory holding
  ``db_audit/postgresql.csv`` (the pgAudit csvlog parser, :mod:`auditlib.io.raw.pgaudit`);
- **load**: the other tables the detectors read (``business_log``, ``change_tickets``;
  ``payments`` too when every log detector runs, some read it);
- each detector through ``auditlib.engine.run(dataset, detectors=build_detectors(...))``:
  its time in the runner (``find`` + ``to_alerts``) and, apart, the alert rendering.

``to_alerts`` is wrapped on the instances (nothing in auditlib is changed) to time the
rendering and keep the findings frame; :func:`core_findings` turns the frames of the two
twinned detectors into the comparison's findings (the core the twins implement).
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa

LOG_FAMILIES = ("db", "blog", "xcheck")


def log_detectors() -> list[str]:
    """Every registered ``db.*``, ``blog.*`` and ``xcheck.*`` detector."""
    from auditlib.registry import all_detectors

    return [d for d in all_detectors() if d.split(".")[0] in LOG_FAMILIES]


def run(data_dir: Path, only: list[str], *, payments: bool = False):
    """(seconds per step, captured findings frames, dataset, extra)."""
    import polars as pl  # noqa: F401

    from auditlib.config import Settings
    from auditlib.engine import build_detectors
    from auditlib.engine import run as run_detectors
    from auditlib.io.tables import load_dir

    try:
        from benchmarks.common import Clock
    except ImportError:
        from common import Clock  # type: ignore[no-redef]

    settings = Settings.load(data_dir)
    clock = Clock()
    with clock.step("parse"):
        ds = load_dir(data_dir, settings, tables=["db_audit"])
    with clock.step("load"):
        other = ["business_log", "change_tickets"] + (["payments"] if payments else [])
        more = load_dir(data_dir, settings, tables=other)
        ds.tables.update(more.tables)
        ds.report.files.extend(more.report.files)
        ds.report.missing.update(more.report.missing)
    dets = build_detectors(settings, only=only)
    captured: dict = {}
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
    times = clock.times
    per = {}
    for det_id in dets:
        per[det_id] = {
            "seconds": result.seconds[det_id],
            "render": render.get(det_id, 0.0),
            "cpu": cpu.get(det_id, 0.0),
            "alerts": int((result.alerts["detector_id"] == det_id).sum()),
        }
    times["detectors"] = t_run
    times["cpu_detectors"] = c_run
    times["render"] = sum(render.values())
    times["total"] = times["parse"] + times["load"] + t_run
    times["cpu_total"] = times["cpu_parse"] + times["cpu_load"] + c_run
    extra = {
        "alerts": result.alerts,
        "rows": int(ds["db_audit"].height),
        "business_log_rows": int(ds["business_log"].height),
        "per_detector": per,
        "peaks": clock.peaks,
        "load_report": {
            "db_audit": [
                {"read": f.read, "kept": f.kept, "errors": len(f.errors)}
                for f in ds.report.files
                if f.table == "db_audit"
            ]
        },
    }
    return times, captured, ds, extra


def core_findings(captured: dict, db_audit) -> tuple[pa.Table, dict]:
    """The two twinned detectors' findings on the core (see benchmarks/logs_common.py):
    without findings that hold an event whose tables come from the SQL text (no
    ``object_name``, or ``COPY``), without ``xcheck.unexplained_write``'s id-less writes
    (score 0.6), evidence limited to the DB events; plus counts of what was left out."""
    import polars as pl

    try:
        from benchmarks import logs_common as C
        from benchmarks.common import findings_table
    except ImportError:
        import logs_common as C  # type: ignore[no-redef]
        from common import findings_table  # type: ignore[no-redef]

    verb = pl.col("command").str.strip_chars().str.to_uppercase().str.extract(r"^(\w+)", 1)
    ooc = set(
        db_audit.filter(pl.col("object_name").is_null() | (verb == "COPY"))["event_id"].to_list()
    )
    tables, left_out = [], {}
    for det in C.TWINNED:
        df = captured.get(det)
        if df is None or df.height == 0:
            tables.append(
                findings_table(
                    det, entity_id=[], finding_key=[], unit_id=[], amount_fen=[], evidence=[]
                )
            )
            left_out[det] = {"noid": 0, "sql_tables": 0, "covered": 0}
            continue
        ev = df["evidence"].to_list()
        db_refs = [[r for r in e if r.startswith("db_audit:")] for e in ev]
        sql = [any(r[len("db_audit:") :] in ooc for r in e) for e in db_refs]
        noid = (df["score"] == 0.6).to_list() if det == C.UNEXPLAINED else [False] * df.height
        cov = (
            (df["severity"] == "info").to_list()
            if "severity" in df.columns
            else [False] * df.height
        )
        keep = [not (a or b or c) for a, b, c in zip(sql, noid, cov, strict=True)]
        left_out[det] = {"noid": sum(noid), "sql_tables": sum(sql), "covered": sum(cov)}
        idx = [i for i, k in enumerate(keep) if k]
        n = len(idx)
        tables.append(
            findings_table(
                det,
                entity_id=pa.array([df["entity_id"][i] for i in idx], pa.string()),
                finding_key=pa.array([df["finding_key"][i] for i in idx], pa.string()),
                unit_id=pa.nulls(n, pa.string()),
                amount_fen=pa.nulls(n, pa.int64()),
                evidence=pa.array([db_refs[i] for i in idx], pa.list_(pa.string())),
            )
        )
    return pa.concat_tables(tables), left_out

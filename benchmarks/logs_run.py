"""Benchmark the pgAudit csvlog parser and the log detectors: auditlib (polars) vs pandas vs DuckDB.

    python benchmarks/logs_run.py --records 500000 [--records 5000000]

For each size it builds (or reuses, cached under ``benchmarks/out/``) a synthetic world
and its db_audit as a PostgreSQL csvlog (``benchmarks/logs_data.py``), then runs each
engine ONE AFTER ANOTHER, each repeat in its own subprocess (peak memory is the child's
``ru_maxrss``):

- ``polars``: auditlib's csvlog parser (``load_dir``) and ``db.direct_write`` +
  ``xcheck.unexplained_write`` through ``engine.run``;
- ``pandas``, ``duckdb``: the twins (``logs_pandas.py``, ``logs_duckdb.py``): the same
  parse and the core of the same two rules (``logs_common.py``);
- ``polars_all``: auditlib's parse, then every ``db.*``, ``blog.*`` and ``xcheck.*``
  detector together (the issue's memory and time budget; no twin);

It checks that the twins parse the same rows as auditlib and give the same findings on
the core (exit status 1 if not), prints a table and writes
``benchmarks/out/logs_<records>.json``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import warm_cache  # noqa: E402
from benchmarks.run import _fmt_s, _ratio, compare  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
ENGINES = ("polars", "pandas", "duckdb", "polars_all")
TWINNED = ("db.direct_write", "xcheck.unexplained_write")
SHORT = {"db.direct_write": "direct_write", "xcheck.unexplained_write": "unexplained_write"}


# ------------------------------------------------------------------------- params
def params_for(data_dir: Path) -> dict:
    """The settings the twins need and the two detectors' parameters."""
    from auditlib.config import Settings
    from auditlib.engine import build_detectors
    from benchmarks.logs_common import params_of

    settings = Settings.load(data_dir)
    dets = build_detectors(settings, only=TWINNED)
    return {
        **params_of(settings),
        "direct_write": dets["db.direct_write"].get_params(),
        "unexplained_write": dets["xcheck.unexplained_write"].get_params(),
    }


# ------------------------------------------------------------------------ engines
def run_engine(engine: str, d: Path, params: dict, keep: Path | None):
    """(seconds per step, findings, extra) of one engine in this process; the parsed
    db_audit and the findings are written under ``keep`` (after timing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks.common import Clock
    from benchmarks.logs_data import CSVLOG

    csv = d / "db_audit" / CSVLOG
    tz = params["timezone"]
    if engine.startswith("polars"):
        from benchmarks import logs_polars as P

        every = engine.startswith("polars_all")
        only = P.log_detectors() if every else list(TWINNED)
        times, captured, ds, extra = P.run(d, only, payments=every)
        extra["peak_mb_timed"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for det_id, v in extra["per_detector"].items():
            if det_id in SHORT:
                times[SHORT[det_id]] = v["seconds"]
                times[f"{SHORT[det_id]}_find"] = v["seconds"] - v["render"]
                times[f"cpu_{SHORT[det_id]}"] = v["cpu"]
        times["total_find"] = times["total"] - times["render"]
        found, left_out = P.core_findings(captured, ds["db_audit"])
        extra["left_out"] = left_out
        if keep is not None and not every:
            pq.write_table(ds["db_audit"].to_arrow(), keep / "parsed.parquet")
        if keep is not None and every:
            pq.write_table(extra.pop("alerts").to_arrow(), keep / "alerts.parquet")
        extra.pop("alerts", None)
        return times, found, extra
    clock = Clock()
    if engine == "pandas":
        from benchmarks import logs_pandas as R

        with clock.step("parse"):
            db = R.parse_csvlog(csv, CSVLOG, tz)
        with clock.step("load"):
            biz = R.load_business_log(d / "business_log.parquet", tz)
            tickets = R.load_tickets(d / "change_tickets.parquet", tz)
        with clock.step("direct_write"):
            f1 = R.direct_write(db, tickets, params)
        with clock.step("unexplained_write"):
            f2 = R.unexplained_write(db, biz, params, params["unexplained_write"])
        rows = len(db)
        parsed = pa.Table.from_pandas(db, preserve_index=False) if keep is not None else None
    elif engine == "duckdb":
        from benchmarks import logs_duckdb as R

        con = R.connect()
        with clock.step("parse"):
            R.parse_csvlog(con, csv, CSVLOG, tz)
        with clock.step("load"):
            R.load_business_log(con, d / "business_log.parquet", tz)
            tickets = R.load_tickets(con, d / "change_tickets.parquet", tz)
        with clock.step("direct_write"):
            f1 = R.direct_write(con, tickets, params)
        with clock.step("unexplained_write"):
            f2 = R.unexplained_write(con, params, params["unexplained_write"])
        rows = con.execute("SELECT count(*) FROM db_audit").fetchall()[0][0]
        parsed = R.parsed(con) if keep is not None else None
    else:
        raise ValueError(f"unknown engine {engine!r}")
    times = clock.times
    for k in ("direct_write", "unexplained_write", "total"):
        times[f"{k}_find"] = times[k]
    extra = {
        "rows": rows,
        "peaks": clock.peaks,
        "peak_mb_timed": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if parsed is not None:
        pq.write_table(parsed, keep / "parsed.parquet")
    return times, pa.concat_tables([f1, f2]), extra


def child_main(
    engine: str, d: Path, params_json: str, out: Path, keep: Path | None, tree: Path | None
) -> None:
    if engine.endswith("_next"):
        if tree is None:
            raise SystemExit(f"engine {engine} needs --next-tree")
        sys.path.insert(0, str(tree))  # import auditlib from the patched copy
    t0 = time.perf_counter()
    if engine.startswith("polars"):
        import polars  # noqa: F401

        import auditlib.engine
    elif engine == "pandas":
        import pandas  # noqa: F401
        import pyarrow.csv  # noqa: F401
    else:
        import duckdb  # noqa: F401
    t_import = time.perf_counter() - t0
    loadavg = os.getloadavg()[0]
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    times, found, extra = run_engine(engine, d, json.loads(params_json), keep)
    if engine.startswith("polars"):
        import auditlib

        extra["auditlib"] = str(Path(auditlib.__file__).parent)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    if keep is not None:
        import pyarrow.parquet as pq

        pq.write_table(found, keep / "findings.parquet")
    counts = {
        det: int(sum(1 for x in found.column("detector_id").to_pylist() if x == det))
        for det in TWINNED
    }
    out.write_text(
        json.dumps(
            {
                "engine": engine,
                "import": t_import,
                "times": times,
                "peak_mb": extra.pop("peak_mb_timed"),
                "peak_mb_end": ru.ru_maxrss / 1024,
                "loadavg": loadavg,
                "findings": counts,
                **extra,
            }
        )
    )


def spawn(
    engine: str, d: Path, params: dict, tag: str, keep: bool, tree: Path | None = None
) -> dict:
    tmp = OUT / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / f"{tag}_{engine}.json"
    keep_dir = tmp / f"{tag}_{engine}"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        engine,
        "--data",
        str(d),
        "--params",
        json.dumps(params),
        "--child-out",
        str(out),
    ]
    if keep:
        cmd += ["--child-keep", str(keep_dir)]
    if tree is not None:
        cmd += ["--next-tree", str(tree)]
    warm_cache(d)  # every engine starts with the input in the page cache
    t = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        # a guard for the shared machine: a child above MAX_RSS_MB is stopped, not left to
        # the kernel's OOM killer (which might pick someone else's process)
        killed = 0.0
        while proc.poll() is None:
            rss = _rss_mb(proc.pid)
            if rss > MAX_RSS_MB:
                killed = rss
                proc.kill()
            time.sleep(0.2)
        output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    wall = time.perf_counter() - t
    if killed:
        raise Stopped(f"stopped at {killed:.0f} MB RSS (limit {MAX_RSS_MB} MB), after {wall:.0f} s")
    if proc.returncode != 0:
        sys.stderr.write(output)
        raise SystemExit(f"engine {engine} failed (exit {proc.returncode})")
    res = json.loads(out.read_text())
    res["wall"] = wall
    if keep:
        res["keep"] = str(keep_dir)
    return res


MAX_RSS_MB = int(os.environ.get("LOGS_MAX_RSS_MB", 20_000))


class Stopped(Exception):
    """A child stopped by the memory guard."""


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ------------------------------------------------------------------------ compare
def compare_parsed(paths: dict[str, str]) -> list[str]:
    """Differences between the engines' parsed db_audit (column by column, in file order)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from benchmarks.logs_common import DB_AUDIT

    def norm(t: pa.Table) -> pa.Table:
        cols = {}
        for name, kind in DB_AUDIT:
            c = t.column(name)
            if kind == "time":
                c = pc.cast(c, pa.timestamp("us", "UTC"))
            else:
                c = pc.cast(c, pa.int64() if kind == "int" else pa.string())
            cols[name] = c.combine_chunks()
        return pa.table(cols)

    ref_engine = next(iter(paths))
    ref = norm(pq.read_table(paths[ref_engine]))
    problems = []
    for e, p in paths.items():
        if e == ref_engine:
            continue
        got = norm(pq.read_table(p))
        if got.num_rows != ref.num_rows:
            problems.append(f"{e} parsed {got.num_rows:,} rows, {ref_engine} {ref.num_rows:,}")
            continue
        for name, _ in DB_AUDIT:
            a, b = ref.column(name), got.column(name)
            same = pc.fill_null(pc.equal(a, b), False)
            both_null = pc.and_(pc.is_null(a), pc.is_null(b))
            bad = pc.invert(pc.or_(same, both_null))
            nbad = pc.sum(bad).as_py() or 0
            if nbad:
                i = pc.index(bad, True).as_py()
                problems.append(
                    f"{e} vs {ref_engine}: column {name}: {nbad:,} row(s) differ, e.g. row {i}: "
                    f"{ref_engine}={a[i].as_py()!r} {e}={b[i].as_py()!r}"
                )
        del got
    return problems


# ------------------------------------------------------------------------- report
def summarise(runs: dict[str, list[dict]]) -> dict:
    summary = {}
    for e, rs in runs.items():
        keys = list(rs[0]["times"])
        summary[e] = {
            "median": {k: statistics.median(r["times"][k] for r in rs) for k in keys},
            "best": {k: min(r["times"][k] for r in rs) for k in keys},
            "peak_mb": max(r["peak_mb"] for r in rs),
            "peak_mb_after_parse": max(r.get("peaks", {}).get("parse", 0.0) for r in rs),
            "import": statistics.median(r["import"] for r in rs),
            "loadavg": [r.get("loadavg") for r in rs],
            "findings": rs[0]["findings"],
            "rows": rs[0]["rows"],
        }
        if "per_detector" in rs[0]:
            summary[e]["per_detector"] = {
                k: {
                    "median": statistics.median(r["per_detector"][k]["seconds"] for r in rs),
                    "render": statistics.median(r["per_detector"][k]["render"] for r in rs),
                    "alerts": rs[0]["per_detector"][k]["alerts"],
                }
                for k in rs[0]["per_detector"]
            }
        if "left_out" in rs[0]:
            summary[e]["left_out"] = rs[0]["left_out"]
    return summary


ROWS = (
    ("parse csvlog", "parse"),
    ("load biz log, tickets", "load"),
    ("db.direct_write", "direct_write"),
    ("xcheck.unexplained", "unexplained_write"),
    ("total", "total"),
    ("  direct_write, find", "direct_write_find"),
    ("  unexplained, find", "unexplained_write_find"),
    ("  total, find only", "total_find"),
    ("CPU s: parse", "cpu_parse"),
    ("CPU s: direct_write", "cpu_direct_write"),
    ("CPU s: unexplained", "cpu_unexplained_write"),
    ("CPU s: total", "cpu_total"),
)


def print_table(records: int, summary: dict, repeats: int, stat: str) -> None:
    bases = [e for e in ("polars", "polars_next") if e in summary]
    twins = [e for e in ("pandas", "duckdb") if e in summary]
    cols = [*bases, *twins]
    pairs = [(t, b) for b in bases for t in twins]
    print(
        f"\n{records:,} csvlog records: seconds, {stat} of {repeats} run(s). Ratio = twin / "
        "polars (> 1: polars faster).\n'find' leaves out "
        "alert rendering (to_alerts); 'CPU s' is CPU time of all threads."
    )
    head = f"{'step':<24}" + "".join(f"{e:>12}" for e in cols)
    head += "".join(f"{t + '/' + ('pl' if b == 'polars' else 'next'):>13}" for t, b in pairs)
    print(head)
    print("-" * len(head))
    for label, k in ROWS:
        line = f"{label:<24}" + "".join(f"{_fmt_s(summary[e][stat].get(k)):>12}" for e in cols)
        line += "".join(
            f"{_ratio(summary[t][stat].get(k), summary[b][stat].get(k)):>13}" for t, b in pairs
        )
        print(line)
    print(f"{'peak RSS (MB)':<24}" + "".join(f"{summary[e]['peak_mb']:12.0f}" for e in cols))
    print(
        f"{'  of it by end of parse':<24}"
        + "".join(f"{summary[e]['peak_mb_after_parse']:12.0f}" for e in cols)
    )
    print(
        f"{'import s (not in total)':<24}" + "".join(f"{summary[e]['import']:12.2f}" for e in cols)
    )
    if cols:
        f = summary[cols[0]]["findings"]
        print("findings on the core: " + ", ".join(f"{k} {v:,}" for k, v in f.items()))
    for b in bases:
        if "left_out" in summary[b]:
            print(f"{b} findings outside the core: {summary[b]['left_out']}")
    alls = [e for e in ("polars_all", "polars_all_next") if e in summary]
    if not alls:
        return
    print(f"\nevery db.*, blog.*, xcheck.* detector ({stat}; seconds):")
    print(f"{'step':<34}" + "".join(f"{e:>16}" for e in alls))
    for label, k in (
        ("parse csvlog", "parse"),
        ("load biz log, tickets, payments", "load"),
        ("detectors (all 16)", "detectors"),
        ("  of it alert rendering", "render"),
        ("total", "total"),
        ("CPU s: total", "cpu_total"),
    ):
        print(f"{label:<34}" + "".join(f"{_fmt_s(summary[e][stat].get(k)):>16}" for e in alls))
    print(f"{'peak RSS (MB)':<34}" + "".join(f"{summary[e]['peak_mb']:16.0f}" for e in alls))
    per = summary[alls[0]]["per_detector"]
    for k in sorted(per, key=lambda k: -per[k]["median"]):
        print(
            f"  {k:<32}"
            + "".join(f"{summary[e]['per_detector'][k]['median']:16.2f}" for e in alls)
            + f"   ({per[k]['alerts']:,} alerts)"
        )


def verdict(summary: dict, stat: str) -> dict:
    out: dict[str, dict] = {}
    for b in ("polars", "polars_next"):
        if b not in summary:
            continue
        p = summary[b][stat]
        for e, need in (("pandas", 3.0), ("duckdb", 1.0)):
            if e not in summary:
                continue
            o = summary[e][stat]
            out[f"{b}: total vs {e}"] = {
                "ratio": o["total"] / p["total"],
                "target": need,
                "met": o["total"] / p["total"] >= need,
                "ratio_find_only": o["total"] / p["total_find"],
                "ratio_cpu": o["cpu_total"] / p["cpu_total"],
            }
            for step in ("parse", "load", "direct_write", "unexplained_write"):
                r = o[step] / p[step]
                out[f"{b}: {step} vs {e}"] = {"ratio": r, "within_1.5x": r >= 1 / 1.5}
    for e in ("polars_all", "polars_all_next"):
        if e in summary:
            out[f"{e}: peak memory"] = {
                "peak_mb": summary[e]["peak_mb"],
                "met": summary[e]["peak_mb"] <= 8 * 1024,
            }
    return out


FLOAT_NOISE = 1e-12
"""Relative difference of float columns (scores) reported as noise, not as a difference:
polars' float kernels can differ in the last bit with the frames' chunk layout."""


def compare_alerts(a: str, b: str, notes: list[str] | None = None) -> list[str]:
    """Differences between two runs' alerts (every column, in order); float differences
    within :data:`FLOAT_NOISE` go to ``notes``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    x, y = pq.read_table(a), pq.read_table(b)
    if x.num_rows != y.num_rows:
        return [f"alerts: {x.num_rows:,} vs {y.num_rows:,}"]
    out = []
    det = x.column("detector_id").to_pylist() if "detector_id" in x.column_names else None
    for name in x.column_names:
        if x.column(name).equals(y.column(name)):
            continue
        xs, ys = x.column(name).to_pylist(), y.column(name).to_pylist()
        bad = [i for i, (u, v) in enumerate(zip(xs, ys, strict=True)) if u != v]
        if pa.types.is_floating(x.schema.field(name).type) and all(
            xs[i] is not None
            and ys[i] is not None
            and abs(xs[i] - ys[i]) <= FLOAT_NOISE * max(abs(xs[i]), abs(ys[i]), 1.0)
            for i in bad
        ):
            if notes is not None:
                where = sorted({det[i] for i in bad}) if det else []
                notes.append(
                    f"alerts: {len(bad)} {name} value(s) differ by at most "
                    f"{max(abs(xs[i] - ys[i]) for i in bad):.1e} (float noise; {', '.join(where)})"
                )
            continue
        i = bad[0]
        out.append(
            f"alerts differ in {name} ({len(bad)} rows), e.g. row {i}: {xs[i]!r} vs {ys[i]!r}"
        )
    return out


def bench(
    records: int, repeats: int | None, engines: list[str], seed: int, ram: bool = False
) -> int:
    from benchmarks.logs_data import ensure_logs

    d = ensure_logs(records, seed)
    if ram:  # the inputs in tmpfs: no engine waits for the VM to read back evicted pages
        shm = Path("/dev/shm") / f"auditlib-bench-{d.name}"
        shutil.rmtree(shm, ignore_errors=True)
        shutil.copytree(d, shm, symlinks=False)
        try:
            return _bench(shm, records, repeats, engines, ram=True)
        finally:
            shutil.rmtree(shm, ignore_errors=True)
    return _bench(d, records, repeats, engines)


def _bench(d: Path, records: int, repeats: int | None, engines: list[str], *,
           ram: bool = False) -> int:
    params = params_for(d)
    tree = None  # (the *_next engines of a proposed patch are gone: the patch is applied)
    repeats = repeats or (3 if records <= 1_000_000 else 1)
    tag = d.name
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    stopped: dict[str, str] = {}
    for r in range(repeats):
        for e in engines:
            if e in stopped:
                continue
            try:
                res = spawn(
                    e,
                    d,
                    params,
                    f"{tag}_r{r}",
                    keep=(r == 0),
                    tree=tree if e.endswith("_next") else None,
                )
            except Stopped as exc:
                stopped[e] = str(exc)
                print(f"  repeat {r + 1}/{repeats} {e:<16} {exc}", flush=True)
                continue
            print(
                f"  repeat {r + 1}/{repeats} {e:<16} total {res['times']['total']:7.2f} s  "
                f"peak {res['peak_mb']:7.0f} MB  (load average {res['loadavg']:.1f})",
                flush=True,
            )
            runs[e].append(res)
    engines = [e for e in engines if e not in stopped]
    runs = {e: runs[e] for e in engines}
    if not engines:
        print("every engine was stopped by the memory guard", file=sys.stderr)
        return 1
    twinned = [e for e in engines if not e.startswith("polars_all")]
    problems: list[str] = []
    if len(twinned) > 1:
        problems += compare_parsed({e: runs[e][0]["keep"] + "/parsed.parquet" for e in twinned})
        problems += compare({e: runs[e][0]["keep"] + "/findings.parquet" for e in twinned})
    notes: list[str] = []
    if "polars_all" in engines and "polars_all_next" in engines:
        problems += compare_alerts(
            runs["polars_all"][0]["keep"] + "/alerts.parquet",
            runs["polars_all_next"][0]["keep"] + "/alerts.parquet",
            notes,
        )
    summary = summarise(runs)
    stat = "median" if repeats > 1 else "best"
    n = runs[engines[0]][0]["rows"]
    print_table(n, summary, repeats, stat)
    if repeats > 1:
        print_table(n, summary, repeats, "best")
    result = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "data_dir": str(d),
        "inputs_in_tmpfs": ram,
        "records": n,
        "repeats": repeats,
        "params": params,
        "stopped": stopped,
        "identical": not problems,
        "notes": notes,
        "problems": problems,
        "summary": summary,
        "runs": runs,
        "stat": stat,
        "targets": verdict(summary, stat),
        "targets_best": verdict(summary, "best"),
    }
    for e, why in stopped.items():
        print(f"engine {e}: {why}")
        if e.startswith("polars_all"):
            result["targets"][f"{e}: peak memory"] = {
                "peak_mb": MAX_RSS_MB,
                "met": False,
                "stopped": why,
            }
    for name, v in result["targets"].items():
        if "met" in v:
            how = (
                f"{v['ratio']:.2f}x ({stat}), need >= {v['target']}x; find only "
                f"{v['ratio_find_only']:.2f}x; CPU {v['ratio_cpu']:.2f}x"
                if "ratio" in v
                else f"stopped by the memory guard: {v['stopped']}"
                if "stopped" in v
                else f"peak {v['peak_mb']:.0f} MB, limit 8192 MB"
            )
            print(f"target {name}: {'MET' if v['met'] else 'NOT MET'} ({how})")
        elif not v.get("within_1.5x", True):
            print(f"note {name}: polars {1 / v['ratio']:.2f}x slower than the twin (limit 1.5x)")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"logs_{records}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {out}")
    for note in notes:
        print(f"note: {note}")
    if problems:
        print("\nENGINES DIFFER:", *problems, sep="\n", file=sys.stderr)
        return 1
    print("parsed rows and core findings identical: yes")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, action="append", help="csvlog records (repeatable)")
    ap.add_argument("--repeats", type=int, help="runs per engine (default 3 up to 1M, else 1)")
    ap.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated subset of " + ",".join(ENGINES),
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--ram",
        action="store_true",
        help="copy the inputs to tmpfs (/dev/shm) first: on a VM that reclaims page cache, "
        "an engine can otherwise wait for evicted pages to be read again",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-keep", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--next-tree", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        child_main(a.child, a.data, a.params, a.child_out, a.child_keep, a.next_tree)
        return 0
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    if unknown := [e for e in engines if e not in ENGINES]:
        ap.error(f"unknown engine(s) {unknown}")
    if not a.records:
        ap.error("give --records N (repeatable)")
    status = 0
    for n in a.records:
        status |= bench(n, a.repeats, engines, a.seed, ram=a.ram)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the money detectors: auditlib (polars) vs pandas vs DuckDB, and all of the issue's.

    python benchmarks/money_run.py --rows 1000000 [--rows 10000000] [--data DIR]

For each size it builds (or reuses, cached under ``benchmarks/out/``) a world with
every money table (``money_gen.money_world``), then runs, ONE AFTER ANOTHER and each
repeat in its own subprocess (peak memory is the child's own ``ru_maxrss``):

- ``polars``: auditlib's ``load_dir`` of the tables the twinned rules read, the
  twinned detectors through ``engine.run`` and ``benford_table``;
- ``pandas`` and ``duckdb``: the same tables typed the same way, the same rules
  (``money_pandas``, ``money_duckdb``);
- ``polars_all``: ``load_dir`` of every table the issue's detectors read and every
  ``payments.*``, ``sangong.*``, ``budget.*``, ``funds.*``, ``timing.*``,
  ``amount.*``, ``subsidy.*``, ``payroll.*``, ``bank.*`` detector in one ``engine.run``.

It checks that polars, pandas and DuckDB give identical findings (and Benford tables),
exits 1 if not, prints the tables and writes ``benchmarks/out/money_result_<world>.json``.
See the "money detectors" section of ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import warm_cache  # noqa: E402
from benchmarks.money_common import KIND_OF_WORK, TWIN_TABLES, TWINNED  # noqa: E402
from benchmarks.run import OUT, _fmt_s, _ratio  # noqa: E402

ENGINES = ("polars", "pandas", "duckdb", "polars_all")
DEFAULT_ENGINES = ENGINES[:3]
BASES = ("polars",)
TWINS = ("pandas", "duckdb")
STEPS = tuple(TWINNED.values())


# -------------------------------------------------------------------------- params
def calendar_params(settings) -> dict:
    """The run's working-day calendar for the twins: every day of the years the calendar
    covers whose status differs from Monday-Friday (holidays, 调休 make-up days)."""
    from auditlib.detectors.base import Context

    cal = Context.from_settings(settings).calendar
    special = []
    for year in sorted(cal.years):
        d = dt.date(year, 1, 1)
        while d.year == year:
            w = cal.is_workday(d)
            if w != (d.weekday() < 5) or cal.is_holiday(d):
                special.append([d.isoformat(), w])
            d += dt.timedelta(days=1)
    return {"special": special}


def rule_params(data_dir: Path) -> dict:
    """Year, audit date, time zone, working hours, the calendar and the twinned detectors'
    parameters, from the directory's settings (what the polars detectors use)."""
    from auditlib.config import Settings
    from auditlib.engine import build_detectors

    s = Settings.load(data_dir)
    dets = build_detectors(s, only=list(TWINNED))
    benford = dets["amount.benford"].get_params()
    benford.pop("alpha")
    benford["exclude_classes"] = list(benford["exclude_classes"])
    start, end = s.working_hours
    return {
        "year": s.year,
        "as_of": s.as_of.isoformat(),
        "timezone": s.timezone,
        "working_hours": [f"{start:%H:%M}", f"{end:%H:%M}"],
        "calendar": calendar_params(s),
        "benford": benford,
        "multi_unit": dets["payroll.multi_unit"].get_params(),
        "off_hours": dets["timing.off_hours"].get_params(),
    }


# ------------------------------------------------------------------------ engines
def run_engine(engine: str, data_dir: Path, params: dict):
    """(seconds per step, findings, Benford table or None, extra) of one engine, here."""
    from benchmarks.common import Clock

    if engine.startswith("polars"):
        from benchmarks import money_polars

        mode = "all" if engine.startswith("polars_all") else "twins"
        times, found, extra = money_polars.run(
            data_dir, mode, only=params.get("only")
        )
        return times, found, extra.pop("benford_table", None), extra
    paths = {t: data_dir / f"{t}.parquet" for t in TWIN_TABLES}
    clock = Clock()
    if engine == "pandas":
        from benchmarks import money_pandas as R

        with clock.step("load"):
            tables = R.load_all(paths, params["timezone"])
        found, bt = R.run_rules(tables, params, clock)
        rows = {k: len(v) for k, v in tables.items()}
    elif engine == "duckdb":
        from benchmarks import money_duckdb as R

        con = R.connect()
        with clock.step("load"):
            for t, p in paths.items():
                R.load_table(con, p, t, params["timezone"])
        found, bt = R.run_rules(con, params, clock)
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in paths}
    else:
        raise ValueError(f"unknown engine {engine!r}")
    return clock.times, found, bt, {"rows": rows, "peaks": clock.peaks}


def child_main(
    engine: str, data_dir: Path, params_path: Path, out: Path, keep: Path | None
) -> None:
    t0 = time.perf_counter()
    if engine.startswith("polars"):
        import polars  # noqa: F401

        import auditlib.engine  # noqa: F401
    elif engine == "pandas":
        import pandas  # noqa: F401
    else:
        import duckdb  # noqa: F401
    t_import = time.perf_counter() - t0
    loadavg = os.getloadavg()[0]
    params = json.loads(params_path.read_text())
    times, found, bt, extra = run_engine(engine, data_dir, params)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    if keep is not None:
        import pyarrow.parquet as pq

        pq.write_table(found, keep.with_name(keep.name + "_findings.parquet"))
        table_path = keep.with_name(keep.name + "_benford.parquet")
        if bt is not None:
            pq.write_table(bt, table_path)
        else:
            table_path.unlink(missing_ok=True)
    ids = found.column("detector_id").to_pylist()
    out.write_text(
        json.dumps(
            {
                "engine": engine,
                "import": t_import,
                "times": times,
                "peak_mb": ru.ru_maxrss / 1024,
                "cpu": ru.ru_utime + ru.ru_stime,
                "loadavg": loadavg,
                "findings": {d: ids.count(d) for d in TWINNED},
                **extra,
            }
        )
    )


MAX_RSS_MB = 14_000.0  # --max-rss-gb sets it
"""A child whose resident memory passes this is killed (``--max-rss-gb``): the machine is
shared, and the 8 GB target is answered either way."""


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


MIN_AVAILABLE_MB = 3_000.0
"""A child is killed too when the machine's available memory falls below this."""


def _available_mb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


def spawn(engine: str, data_dir: Path, params_path: Path, tag: str, keep: bool) -> dict:
    tmp = OUT / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / f"money_{tag}_{engine}.json"
    stem = tmp / f"money_{tag}_{engine}"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        engine,
        "--data",
        str(data_dir),
        "--params",
        str(params_path),
        "--child-out",
        str(out),
    ]
    if keep:
        cmd += ["--child-keep", str(stem)]
    warm_cache(data_dir)  # every engine starts with the tables in the page cache
    t = time.perf_counter()
    log = tmp / f"money_{tag}_{engine}.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        seen = 0.0
        while proc.poll() is None:  # a watchdog: the machine is shared
            seen = max(seen, _rss_mb(proc.pid))
            low = _available_mb() < MIN_AVAILABLE_MB
            if seen > MAX_RSS_MB or low:
                proc.kill()
                proc.wait()
                why = "the machine ran low on memory" if low else f"limit {MAX_RSS_MB:,.0f} MB"
                print(f"  {engine}: killed at {seen:,.0f} MB resident ({why})")
                return {
                    "why": why,
                    "engine": engine,
                    "killed": True,
                    "peak_mb": seen,
                    "wall": time.perf_counter() - t,
                }
            time.sleep(0.2)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.stderr.write(log.read_text()[-5000:])
        raise SystemExit(f"engine {engine} failed (exit {proc.returncode})")
    res = json.loads(out.read_text())
    res["wall"] = wall
    res["log"] = str(log)
    if keep:
        res["findings_path"] = str(stem) + "_findings.parquet"
        res["benford_path"] = str(stem) + "_benford.parquet"
    return res


def compare(runs: dict[str, dict]) -> list[str]:
    """Findings of every engine (the twinned detectors) and Benford tables of those that
    compute one, against the first engine's."""
    import pyarrow.parquet as pq

    from benchmarks.money_common import compare_benford, compare_findings

    engines = [e for e in ENGINES if e in runs]
    if len(engines) < 2:
        return []
    problems = compare_findings({e: pq.read_table(runs[e]["findings_path"]) for e in engines})
    with_table = [e for e in engines if Path(runs[e]["benford_path"]).exists()]
    if len(with_table) > 1:
        problems += compare_benford({e: pq.read_table(runs[e]["benford_path"]) for e in with_table})
    return problems


# -------------------------------------------------------------------------- summary
def _derived(t: dict[str, float]) -> dict[str, float]:
    t = dict(t)
    for s in STEPS:
        if s in t:
            t.setdefault(f"{s}_find", t[s])
    if all(s in t for s in STEPS):
        t["rules"] = sum(t[s] for s in STEPS)
        t["rules_find"] = sum(t[f"{s}_find"] for s in STEPS)
        t["cpu_rules"] = sum(t[f"cpu_{s}"] for s in STEPS)
        t["total_find"] = t["total"] - (t["rules"] - t["rules_find"])
    return t


def summarise(runs: dict[str, list[dict]]) -> dict:
    summary = {}
    for e, rs in runs.items():
        ts = [_derived(r["times"]) for r in rs]
        keys = set.intersection(*(set(t) for t in ts))
        summary[e] = {
            "median": {k: statistics.median(t[k] for t in ts) for k in keys},
            "best": {k: min(t[k] for t in ts) for k in keys},
            "peak_mb": max(r["peak_mb"] for r in rs),
            "peak_mb_after_load": max(r.get("peaks", {}).get("load", 0.0) for r in rs),
            "import": statistics.median(r["import"] for r in rs),
            "loadavg": [r.get("loadavg") for r in rs],
            "findings": rs[0]["findings"],
            "alerts": rs[0].get("alerts"),
            "rows": rs[0].get("rows"),
        }
    return summary


def _short(e: str) -> str:
    return {"polars": "pl"}.get(e, e)


def print_twins(summary: dict, stat: str, repeats: int) -> None:
    bases = [e for e in BASES if e in summary]
    twins = [e for e in TWINS if e in summary]
    if not bases:
        return
    print(
        f"\nTwinned rules: seconds, {stat} of {repeats} run(s). Per polars engine: with alert "
        "rendering, and 'find' without it.\nRatios = twin / polars 'find' (> 1: polars faster)."
    )
    head = f"{'step':<22}" + "".join(f"{_short(b):>8}{'find':>7}" for b in bases)
    head += "".join(f"{e:>8}" for e in twins)
    ratio_cols = [(t, b) for b in bases for t in twins]
    head += "".join(f"{t + '/' + _short(b):>12}" for t, b in ratio_cols) + "  work"
    print(head)
    print("-" * len(head))

    def get(e: str, k: str) -> float | None:
        return summary[e][stat].get(k)

    rows = (
        [("load", "load", "load")]
        + [(s, s, f"{s}_find") for s in STEPS]
        + [
            ("rules (set)", "rules", "rules_find"),
            ("load + rules", "total", "total_find"),
            ("CPU s: rules", "cpu_rules", "cpu_rules"),
            ("CPU s: load + rules", "cpu_total", "cpu_total"),
        ]
    )
    for label, k, kf in rows:
        line = f"{label:<22}" + "".join(
            f"{_fmt_s(get(b, k)):>8}{_fmt_s(get(b, kf)).strip():>7}" for b in bases
        )
        line += "".join(f"{_fmt_s(get(e, k)):>8}" for e in twins)
        line += "".join(f"{_ratio(get(t, k), get(b, kf)):>12}" for t, b in ratio_cols)
        if k in KIND_OF_WORK:
            line += f"  {KIND_OF_WORK[k]}"
        print(line)
    print(
        f"{'peak RSS (MB)':<22}"
        + "".join(f"{summary[b]['peak_mb']:8.0f}{'':>7}" for b in bases)
        + "".join(f"{summary[e]['peak_mb']:8.0f}" for e in twins)
    )
    f = summary[bases[0]]["findings"]
    print(
        "findings: "
        + ", ".join(f"{TWINNED[d]} {n:,}" for d, n in f.items() if n or d != "amount.benford")
        + " (benford: the table of every unit is compared)"
    )


def print_all(summary: dict, stat: str, repeats: int) -> None:
    alls = [e for e in ("polars_all",) if e in summary]
    if not alls:
        return
    s0 = summary[alls[0]]
    t0 = s0[stat]
    dets = sorted((k[:-5] for k in t0 if k.endswith("_find") and "." in k), key=lambda d: -t0[d])
    print(
        f"\nAll {len(dets)} detectors of the issue (polars, one engine.run over "
        f"{len(s0['rows'])} tables): seconds, {stat} of {repeats} run(s)"
    )
    head = f"{'detector':<34}" + "".join(
        f"{e.replace('polars_all', 'all'):>10}{'find':>8}{'CPU s':>8}" for e in alls
    )
    head += f"{'alerts':>9}"
    print(head)
    print("-" * len(head))
    for d in dets:
        print(
            f"{d:<34}"
            + "".join(
                f"{summary[e][stat][d]:10.2f}{summary[e][stat][d + '_find']:8.2f}"
                f"{summary[e][stat]['cpu_' + d]:8.2f}"
                for e in alls
            )
            + f"{(s0['alerts'] or {}).get(d, 0):9,}"
        )
    print(
        f"{'load':<34}"
        + "".join(
            f"{summary[e][stat]['load']:10.2f}{'':>8}{summary[e][stat]['cpu_load']:8.2f}"
            for e in alls
        )
    )
    print(
        f"{'detectors':<34}"
        + "".join(
            f"{sum(summary[e][stat][d] for d in dets):10.2f}"
            f"{sum(summary[e][stat][d + '_find'] for d in dets):8.2f}"
            f"{sum(summary[e][stat]['cpu_' + d] for d in dets):8.2f}"
            for e in alls
        )
        + f"{sum((s0['alerts'] or {}).values()):9,}"
    )
    print(
        f"{'total (load + engine.run)':<34}"
        + "".join(
            f"{summary[e][stat]['total']:10.2f}{'':>8}{summary[e][stat]['cpu_total']:8.2f}"
            for e in alls
        )
    )
    print(
        f"{'peak RSS (MB)':<34}" + "".join(f"{summary[e]['peak_mb']:10.0f}{'':>16}" for e in alls)
    )
    print(
        f"{'  of it after load':<34}"
        + "".join(f"{summary[e]['peak_mb_after_load']:10.0f}{'':>16}" for e in alls)
    )
    print(f"rows: {s0['rows']}")


def verdict(summary: dict, rows: int, stat: str) -> dict:
    out: dict[str, dict] = {}
    for b in BASES:
        if b not in summary:
            continue
        p = summary[b][stat]
        for e, need in (("pandas", 3.0), ("duckdb", 1.0)):
            if e not in summary:
                continue
            o = summary[e][stat]
            for name, k in (("rules (set)", "rules"), ("load + rules", "total")):
                r = o[k] / p[f"{k}_find"]
                out[f"{b}: {name} vs {e}"] = {
                    "ratio": r,
                    "target": need,
                    "met": r >= need,
                    "ratio_with_rendering": o[k] / p[k],
                }
            for step in ("load", *STEPS):
                kf = step if step == "load" else f"{step}_find"
                r = o[step] / p[kf]
                out[f"{b}: {step} vs {e}"] = {"ratio": r, "within_1.5x": r >= 1 / 1.5}
    for a in ("polars_all",):
        if a in summary:
            out[f"{a}: peak memory"] = {
                "peak_mb": summary[a]["peak_mb"],
                "met": summary[a]["peak_mb"] <= 8 * 1024,
                "applies": rows >= 10_000_000,
            }
    return out


def bench(
    rows: int | None,
    data: Path | None,
    repeats: int | None,
    engines: list[str],
    seed: int,
    only: list[str] | None = None,
) -> int:
    from benchmarks.money_gen import money_world

    data_dir = data if data is not None else money_world(rows, seed)
    tag = data_dir.name
    params_path = OUT / "tmp" / f"money_params_{tag}.json"
    params_path.parent.mkdir(parents=True, exist_ok=True)
    params = rule_params(data_dir)
    if only:
        params["only"] = only
        tag += "_only_" + "_".join(p.strip(".") for p in only)
        params_path = OUT / "tmp" / f"money_params_{tag}.json"
    params_path.write_text(json.dumps(params))
    n_pay = rows or 0
    repeats = repeats or (3 if n_pay <= 2_000_000 else 1)
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    killed: dict[str, dict] = {}
    for r in range(repeats):
        for e in engines:
            if e in killed:
                continue
            res = spawn(e, data_dir, params_path, f"{tag}_r{r}", keep=(r == 0))
            if res.get("killed"):
                killed[e] = res
                continue
            print(
                f"  repeat {r + 1}/{repeats} {e:<15} total {res['times']['total']:7.2f} s  "
                f"peak {res['peak_mb']:7.0f} MB  (load average {res['loadavg']:.1f})",
                flush=True,
            )
            runs[e].append(res)
    runs = {e: rs for e, rs in runs.items() if rs}
    problems = compare({e: runs[e][0] for e in runs})
    summary = summarise(runs)
    stat = "median" if repeats > 1 else "best"
    n = next(iter(summary.values()))["rows"]["payments"] if summary else (rows or 0)
    print(f"\n{n:,} payments ({tag})")
    print_twins(summary, stat, repeats)
    print_all(summary, stat, repeats)
    targets = verdict(summary, n, stat)
    for e, k in killed.items():
        targets[f"{e}: peak memory"] = {
            "peak_mb": k["peak_mb"],
            "met": False,
            "killed": True,
            "why": k.get("why"),
            "applies": n >= 10_000_000,
        }
    for name, v in targets.items():
        if "met" in v and "ratio" in v:
            print(
                f"target {name}: {'MET' if v['met'] else 'NOT MET'} ({v['ratio']:.2f}x, need "
                f">= {v['target']}x; with rendering {v['ratio_with_rendering']:.2f}x)"
            )
        elif "peak_mb" in v:
            if v.get("killed"):
                print(
                    f"target {name} within 8 GB: NOT MET (killed at {v['peak_mb']:,.0f} MB "
                    f"resident: {v.get('why')})"
                )
                continue
            print(
                f"target {name} within 8 GB: {'MET' if v['met'] else 'NOT MET'} "
                f"(peak {v['peak_mb']:.0f} MB{'' if v['applies'] else '; the target is at 10M'})"
            )
        elif not v.get("within_1.5x", True):
            print(f"note {name}: polars {1 / v['ratio']:.2f}x slower than the twin (limit 1.5x)")
    result = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "data_dir": str(data_dir),
        "rows": n,
        "repeats": repeats,
        "params": params,
        "killed": killed,
        "identical": not problems,
        "problems": problems,
        "summary": summary,
        "runs": runs,
        "stat": stat,
        "targets": targets,
        "targets_best": verdict(summary, n, "best"),
    }
    result["params"]["calendar"] = f"{len(params['calendar']['special'])} special days"
    out = OUT / f"money_result_{tag}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {out}")
    if problems:
        print("\nFINDINGS DIFFER BETWEEN ENGINES:", *problems, sep="\n", file=sys.stderr)
        return 1
    if len([e for e in engines if e != "polars_all"]) > 1:
        print("findings identical across engines: yes")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, action="append", help="payments (repeatable)")
    ap.add_argument("--data", type=Path, help="use this data directory instead")
    ap.add_argument("--repeats", type=int, help="runs per engine (default 3 up to 2M rows, else 1)")
    ap.add_argument(
        "--engines",
        default=",".join(DEFAULT_ENGINES),
        help="comma-separated subset of "
        + ",".join(ENGINES)
        + f" (default {','.join(DEFAULT_ENGINES)})",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--only",
        help="polars_all engines: only the detectors whose id starts with one of these "
        "comma-separated prefixes (e.g. bank.), loading only the tables they read",
    )
    ap.add_argument(
        "--max-rss-gb",
        type=float,
        default=14.0,
        help="kill a child whose resident memory passes this (default 14)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--params", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-keep", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        child_main(a.child, a.data, a.params, a.child_out, a.child_keep)
        return 0
    global MAX_RSS_MB
    MAX_RSS_MB = a.max_rss_gb * 1000
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    if unknown := [e for e in engines if e not in ENGINES]:
        ap.error(f"unknown engine(s) {unknown}")
    if a.data is None and not a.rows:
        ap.error("give --rows N (repeatable) or --data DIR")
    status = 0
    for rows in [None] if a.data is not None else a.rows:
        only = [p.strip() for p in a.only.split(",") if p.strip()] if a.only else None
        status |= bench(rows, a.data, a.repeats, engines, a.seed, only)
    return status


if __name__ == "__main__":
    sys.exit(main())

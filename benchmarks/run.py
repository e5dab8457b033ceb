"""Benchmark the payments detectors: auditlib (polars) vs pandas vs DuckDB.

    python benchmarks/run.py --rows 1000000 [--rows 10000000] [--data DIR]

For each size it generates (or reuses, cached under ``benchmarks/out/``) a
world with that many payments, then runs each engine ONE AFTER ANOTHER, each
repeat in its own subprocess (so peak memory, the child's ``ru_maxrss``, is
per engine and per run), checks that the three engines' findings are
identical (exit status 1 if not), prints a table and writes
``benchmarks/out/result_<rows>.json``. See ``benchmarks/README.md``.
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

OUT = ROOT / "benchmarks" / "out"
ENGINES = ("polars", "pandas", "duckdb")
DETECTORS = ("payments.duplicate", "payments.split")
ROWS_PER_SCALE = 20_000  # auditlib.synth: scale=1 ≈ 20k payments


# ------------------------------------------------------------------------- data
def _synth_generate():
    try:
        from auditlib.synth import generate  # type: ignore[attr-defined]
    except ImportError:
        return None
    return generate


SYNTH_MAX_ROWS = 1_000_000
"""Above this, a synth world of ``rows / k`` payments is tiled ``k`` times (see gen.tile):
generating a whole synthetic world of 10M payments takes long and needs much memory."""


def _generate(kind: str, d: Path, rows: int, seed: int) -> None:
    if (d / "payments.parquet").exists() and (d / ".complete").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    print(f"generating {rows:,} payments ({kind}) in {d} ...", flush=True)
    # in a subprocess, so the parent stays small and the memory is given back
    if kind == "synth":
        code = (
            "from auditlib.synth import generate;"
            f" generate(Path(sys.argv[2]), seed=int(sys.argv[3]), scale=int(sys.argv[4]) / "
            f"{ROWS_PER_SCALE}, fmt='parquet')"
        )
    else:
        code = (
            "from benchmarks.gen import generate;"
            " generate(Path(sys.argv[2]), int(sys.argv[4]), seed=int(sys.argv[3]))"
        )
    code = "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);\n" + code
    subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(d), str(seed), str(rows)], check=True
    )
    (d / ".complete").write_text(f"{kind} rows={rows} seed={seed}\n")
    print(f"  done in {time.perf_counter() - t:.1f} s", flush=True)


def ensure_world(rows: int, seed: int = 7, generator: str = "auto") -> Path:
    """A data directory with about ``rows`` payments, generated once and cached in ``OUT``."""
    use_synth = generator == "synth" or (generator == "auto" and _synth_generate() is not None)
    if generator == "synth" and _synth_generate() is None:
        raise SystemExit("auditlib.synth.generate is not available (use --generator own)")
    if not use_synth:
        d = OUT / f"own_{rows}_s{seed}"
        _generate("own", d, rows, seed)
        return d
    copies = -(-rows // SYNTH_MAX_ROWS)
    base_rows = -(-rows // copies)
    base = OUT / f"synth_{base_rows}_s{seed}"
    _generate("synth", base, base_rows, seed)
    if copies == 1:
        return base
    d = OUT / f"synth_{base_rows}x{copies}_s{seed}"
    if not (d / ".complete").exists():
        from benchmarks.gen import tile

        print(f"tiling {base.name} x{copies} into {d} ...", flush=True)
        tile(base, d, copies)
        (d / ".complete").write_text(f"tiled {base.name} x{copies}\n")
    return d


def detector_params(data_dir: Path) -> dict:
    """The two detectors' parameters and the time zone, from the directory's settings."""
    from auditlib.config import Settings
    from auditlib.engine import build_detectors

    settings = Settings.load(data_dir)
    dets = build_detectors(settings, only=DETECTORS)
    return {
        "timezone": settings.timezone,
        "duplicate": dets["payments.duplicate"].get_params(),
        "split": dets["payments.split"].get_params(),
    }


# ------------------------------------------------------------------------ engines
def run_engine(engine: str, data_dir: Path, params: dict):
    """(seconds per step, findings as a pyarrow table, extra) of one engine, in this process."""
    if engine == "polars":
        from benchmarks import polars_path

        return polars_path.run(data_dir)
    import pyarrow as pa

    from benchmarks.common import Clock

    path = data_dir / "payments.parquet"
    clock = Clock()
    if engine == "pandas":
        from benchmarks import pandas_rules as R

        with clock.step("load"):
            df = R.load_payments(path, params["timezone"])
        with clock.step("duplicate"):
            dup = R.duplicate(df, **params["duplicate"])
        with clock.step("split"):
            spl = R.split(df, **params["split"])
        return clock.times, pa.concat_tables([dup, spl]), {"rows": len(df), "peaks": clock.peaks}
    if engine == "duckdb":
        from benchmarks import duckdb_rules as R

        con = R.connect()
        with clock.step("load"):
            R.load_payments(con, path, params["timezone"])
        with clock.step("duplicate"):
            dup = R.duplicate(con, **params["duplicate"])
        with clock.step("split"):
            spl = R.split(con, **params["split"])
        rows = con.execute("SELECT count(*) FROM payments").fetchone()[0]
        return clock.times, pa.concat_tables([dup, spl]), {"rows": rows, "peaks": clock.peaks}
    raise ValueError(f"unknown engine {engine!r}")


def child_main(
    engine: str, data_dir: Path, params_json: str, out: Path, findings: Path | None
) -> None:
    t0 = time.perf_counter()
    import pyarrow.parquet as pq

    if engine == "polars":
        import polars  # noqa: F401

        import auditlib.engine  # noqa: F401
    elif engine == "pandas":
        import pandas  # noqa: F401
    else:
        import duckdb  # noqa: F401
    t_import = time.perf_counter() - t0
    loadavg = os.getloadavg()[0]
    times, found, extra = run_engine(engine, data_dir, json.loads(params_json))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = ru.ru_maxrss
    if findings is not None:
        import pyarrow.parquet as pq

        pq.write_table(found, findings)
    counts = {
        d: int(sum(1 for x in found.column("detector_id").to_pylist() if x == d)) for d in DETECTORS
    }
    out.write_text(
        json.dumps(
            {
                "engine": engine,
                "import": t_import,
                "times": times,
                "peak_mb": peak_kb / 1024,
                "cpu": ru.ru_utime + ru.ru_stime,
                "loadavg": loadavg,
                "findings": counts,
                **extra,
            }
        )
    )


def spawn(engine: str, data_dir: Path, params: dict, tag: str, keep_findings: bool) -> dict:
    tmp = OUT / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / f"{tag}_{engine}.json"
    fnd = tmp / f"{tag}_{engine}_findings.parquet"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        engine,
        "--data",
        str(data_dir),
        "--params",
        json.dumps(params),
        "--child-out",
        str(out),
    ]
    if keep_findings:
        cmd += ["--child-findings", str(fnd)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"engine {engine} failed (exit {proc.returncode})")
    res = json.loads(out.read_text())
    res["wall"] = wall
    if keep_findings:
        res["findings_path"] = str(fnd)
    return res


# ------------------------------------------------------------------------- compare
def compare(paths: dict[str, str]) -> list[str]:
    """Differences between the engines' findings (empty when identical)."""
    import pyarrow.parquet as pq

    from benchmarks.common import canonical

    found = {e: canonical(pq.read_table(p)) for e, p in paths.items()}
    ref_engine = next(iter(found))
    ref = found[ref_engine]
    problems = []
    for e, got in found.items():
        if e == ref_engine:
            continue
        only_ref = sorted(set(ref) - set(got))
        only_got = sorted(set(got) - set(ref))
        differ = sorted(k for k in set(ref) & set(got) if ref[k] != got[k])
        if only_ref or only_got or differ:
            problems.append(
                f"{e} vs {ref_engine}: {len(only_ref)} finding(s) only in {ref_engine}, "
                f"{len(only_got)} only in {e}, {len(differ)} differ"
            )
            for k in only_ref[:5]:
                problems.append(f"  only {ref_engine}: {k} {ref[k]}")
            for k in only_got[:5]:
                problems.append(f"  only {e}: {k} {got[k]}")
            for k in differ[:5]:
                problems.append(f"  differ {k}: {ref_engine}={ref[k]} {e}={got[k]}")
    return problems


# ------------------------------------------------------------------------- report
def _fmt_s(x: float | None) -> str:
    return f"{'-':>8}" if x is None else f"{x:8.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{'-':>8}" if not a or not b else f"{a / b:7.2f}x"


def _with_derived(t: dict[str, float]) -> dict[str, float]:
    t = dict(t)
    if "duplicate_find" in t:
        t["total_find"] = (
            t["total"] - (t["duplicate"] - t["duplicate_find"]) - (t["split"] - t["split_find"])
        )
    else:  # the twins render no alerts: their find-only time is their time
        t.update(duplicate_find=t["duplicate"], split_find=t["split"], total_find=t["total"])
    return t


def summarise(runs: dict[str, list[dict]]) -> dict:
    summary = {}
    for e, rs in runs.items():
        ts = [_with_derived(r["times"]) for r in rs]
        keys = list(ts[0])
        summary[e] = {
            "median": {k: statistics.median(t[k] for t in ts) for k in keys},
            "best": {k: min(t[k] for t in ts) for k in keys},
            "peak_mb": max(r["peak_mb"] for r in rs),
            "import": statistics.median(r["import"] for r in rs),
            "loadavg": [r.get("loadavg") for r in rs],
            "findings": rs[0]["findings"],
            "peak_mb_after_load": max(r.get("peaks", {}).get("load", 0.0) for r in rs),
        }
    return summary


ROWS = (
    ("load", "load"),
    ("duplicate", "duplicate"),
    ("split", "split"),
    ("total", "total"),
    ("duplicate, find only", "duplicate_find"),
    ("split, find only", "split_find"),
    ("total, find only", "total_find"),
    ("CPU s: load", "cpu_load"),
    ("CPU s: duplicate", "cpu_duplicate"),
    ("CPU s: split", "cpu_split"),
    ("CPU s: total", "cpu_total"),
)


def print_table(rows: int, summary: dict, repeats: int, stat: str) -> None:
    base = [e for e in ("polars",) if e in summary]
    twins = [e for e in ("pandas", "duckdb") if e in summary]
    cols = [*base, *twins]
    print(
        f"\n{rows:,} payments: seconds, {stat} of {repeats} run(s). Ratio = twin / polars "
        "(> 1: polars faster).\n'find only' leaves out alert rendering (to_alerts); 'CPU s' "
        "is CPU time of all threads (robust when the machine is shared)."
    )
    ratio_cols = [(t, b) for b in base for t in twins]
    head = f"{'step':<22}" + "".join(f"{e:>12}" for e in cols)
    head += "".join(f"{t + '/' + ('pl' if b == 'polars' else 'next'):>13}" for t, b in ratio_cols)
    print(head)
    print("-" * len(head))

    def get(e: str, k: str) -> float | None:
        return summary[e][stat].get(k)

    for label, k in ROWS:
        line = f"{label:<22}" + "".join(f"{_fmt_s(get(e, k)):>12}" for e in cols)
        line += "".join(f"{_ratio(get(t, k), get(b, k)):>13}" for t, b in ratio_cols)
        print(line)
    print(f"{'peak RSS (MB)':<22}" + "".join(f"{summary[e]['peak_mb']:12.0f}" for e in cols))
    print(
        f"{'  of it after load':<22}"
        + "".join(f"{summary[e]['peak_mb_after_load']:12.0f}" for e in cols)
    )
    print(
        f"{'import s (not in total)':<22}" + "".join(f"{summary[e]['import']:12.2f}" for e in cols)
    )
    f = summary[cols[0]]["findings"]
    print(f"findings: duplicate {f['payments.duplicate']:,}, split {f['payments.split']:,}")


def verdict(summary: dict, rows: int, stat: str) -> dict:
    out: dict[str, dict] = {}
    for b in ("polars",):
        if b not in summary:
            continue
        p = summary[b][stat]
        for e, need in (("pandas", 3.0), ("duckdb", 1.0)):
            if e not in summary:
                continue
            o = summary[e][stat]
            r = o["total"] / p["total"]
            out[f"{b}: total vs {e}"] = {
                "ratio": r,
                "target": need,
                "met": r >= need,
                "ratio_find_only": o["total"] / p["total_find"],
            }
            for step in ("load", "duplicate", "split"):
                rr = o[step] / p[step]
                out[f"{b}: {step} vs {e}"] = {
                    "ratio": rr,
                    "within_1.5x": rr >= 1 / 1.5,
                    "ratio_find_only": o[step] / p[f"{step}_find"] if step != "load" else rr,
                }
        if rows >= 10_000_000:
            out[f"{b}: peak memory"] = {
                "peak_mb": summary[b]["peak_mb"],
                "met": summary[b]["peak_mb"] <= 8 * 1024,
            }
    return out


def bench(
    rows: int | None,
    data: Path | None,
    repeats: int | None,
    engines: list[str],
    generator: str,
    seed: int,
) -> int:
    data_dir = data if data is not None else ensure_world(rows, seed, generator)
    params = detector_params(data_dir)
    repeats = repeats or (3 if (rows or 0) <= 2_000_000 else 1)
    tag = data_dir.name
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    for r in range(repeats):
        for e in engines:
            res = spawn(e, data_dir, params, f"{tag}_r{r}", keep_findings=(r == 0))
            print(
                f"  repeat {r + 1}/{repeats} {e:<11} total {res['times']['total']:7.2f} s  "
                f"peak {res['peak_mb']:7.0f} MB  (load average {res['loadavg']:.1f})",
                flush=True,
            )
            runs[e].append(res)
    n_rows = runs[engines[0]][0]["rows"]
    problems = (
        compare({e: runs[e][0]["findings_path"] for e in engines}) if len(engines) > 1 else []
    )
    summary = summarise(runs)
    stat = "median" if repeats > 1 else "best"
    print_table(n_rows, summary, repeats, stat)
    if repeats > 1:
        print_table(n_rows, summary, repeats, "best")
    result = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "data_dir": str(data_dir),
        "rows": n_rows,
        "repeats": repeats,
        "params": params,
        "identical": not problems,
        "problems": problems,
        "summary": summary,
        "runs": runs,
        "stat": stat,
        "targets": verdict(summary, n_rows, stat),
        "targets_best": verdict(summary, n_rows, "best"),
    }
    for name, v in result["targets"].items():
        if "met" in v:
            how = (
                f"{v['ratio']:.2f}x ({stat}), need >= {v['target']}x; "
                f"find only {v['ratio_find_only']:.2f}x"
                if "ratio" in v
                else f"peak {v['peak_mb']:.0f} MB, limit 8192 MB"
            )
            print(f"target {name}: {'MET' if v['met'] else 'NOT MET'} ({how})")
        elif not v.get("within_1.5x", True):
            print(f"note {name}: polars {1 / v['ratio']:.2f}x slower than the twin (limit 1.5x)")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"result_{tag}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {out}")
    if problems:
        print("\nFINDINGS DIFFER BETWEEN ENGINES:", *problems, sep="\n", file=sys.stderr)
        return 1
    print("findings identical across engines: yes")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, action="append", help="payments to generate (repeatable)")
    ap.add_argument("--data", type=Path, help="use this data directory (payments.parquet) instead")
    ap.add_argument("--repeats", type=int, help="runs per engine (default 3 up to 2M rows, else 1)")
    ap.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated subset of " + ",".join(ENGINES) + ")",
    )
    ap.add_argument(
        "--generator",
        choices=("auto", "synth", "own"),
        default="auto",
        help="auditlib.synth when available (auto), or benchmarks/gen.py (own)",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-findings", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        child_main(a.child, a.data, a.params, a.child_out, a.child_findings)
        return 0
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    if unknown := [e for e in engines if e not in ENGINES]:
        ap.error(f"unknown engine(s) {unknown}")
    if a.data is None and not a.rows:
        ap.error("give --rows N (repeatable) or --data DIR")
    status = 0
    for rows in [None] if a.data is not None else a.rows:
        status |= bench(rows, a.data, a.repeats, engines, a.generator, a.seed)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""A scheduled run's fixed cost and the eagle-eye daily run end to end, with a breakdown.

    .venv/bin/python benchmarks/report_overhead.py [--world DIR]

1. fixed cost: a notebook that only takes its parameters, through ``run_report``
   (kernel start + papermill + HTML + PDF), three times;
2. eagle_eye_daily on a world (default: a fresh scale-1 world; pass a 1M-payment world
   made by ``auditlib synth DIR --scale 50 --format parquet`` for the large run):
   execute (load, detect, store, sections), HTML, PDF, from the run manifest.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from auditlib.report.execute import run_report
from auditlib.synth import generate


def fixed_cost(tmp: Path, n: int = 3) -> dict:
    nb = new_notebook(cells=[new_code_cell('data_dir: str = ""\nas_of: str = ""'),
                             new_code_cell("print('hello')")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp / "empty.ipynb"
    nbformat.write(nb, path)
    runs = []
    for _ in range(n):
        t0 = time.perf_counter()
        res = run_report(path, {"as_of": "2026-06-30"}, out_root=tmp / "reports")
        runs.append({"total_s": round(time.perf_counter() - t0, 2), **res.manifest["timings"]})
    return {"runs": runs, "median_total_s": statistics.median(r["total_s"] for r in runs)}


def daily(world: Path, tmp: Path) -> dict:
    t0 = time.perf_counter()
    res = run_report("eagle_eye_daily", {"data_dir": str(world), "store": str(tmp / "a.sqlite")},
                     out_root=tmp / "reports")
    m = res.manifest
    return {"status": m["status"], "total_s": round(time.perf_counter() - t0, 2),
            "runner": m["timings"], "inside_notebook": m.get("notebook_timings"),
            "alerts": m.get("alerts_total"), "error": m.get("error")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", type=Path)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="auditlib-overhead-"))
    out = {"fixed_cost": fixed_cost(tmp)}
    world = args.world
    if world is None:
        world = tmp / "world"
        generate(world, seed=1, scale=1.0, fmt="parquet")
    out["eagle_eye_daily"] = daily(world, tmp)
    out["world"] = str(world)
    print(json.dumps(out, indent=1))
    Path("benchmarks/out").mkdir(parents=True, exist_ok=True)
    Path(f"benchmarks/out/report_overhead_{world.name}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

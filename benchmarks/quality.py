"""Detection quality on synthetic worlds: recall on injected cases, look-alike hits, and
false alerts per 10,000 input records on clean worlds, per detector and family.

    .venv/bin/python benchmarks/quality.py --seeds 1 2 3 --scale 1

Prints a table and writes benchmarks/out/quality.json. (A measurement, not a test: the
tests assert the same properties on small worlds.)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.engine import run
from auditlib.evaluate import read_truth, score
from auditlib.io.tables import load_dir
from auditlib.synth import generate


def world(seed: int, scale: float, clean: bool, as_of: str | None) -> tuple[pl.DataFrame, int, list]:
    d = Path(tempfile.mkdtemp(prefix="auditlib-quality-"))
    import datetime as dt

    generate(d, seed=seed, scale=scale, clean=clean, fmt="parquet",
             as_of=dt.date.fromisoformat(as_of) if as_of else None)
    ds = load_dir(d, Settings.load(d))
    res = run(ds)
    if res.failed:
        print("FAILED detectors:", res.failed)
    records = sum(df.height for df in ds.tables.values())
    return res.alerts, records, read_truth(d)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--as-of", default=None)
    args = ap.parse_args()
    frames, clean_frames, records, clean_records = [], [], 0, 0
    for s in args.seeds:
        alerts, n, truth = world(s, args.scale, False, args.as_of)
        frames.append(score(alerts, truth))
        records += n
        alerts, n, truth = world(s, args.scale, True, args.as_of)
        clean_frames.append(score(alerts, truth).select("detector_id", pl.col("alerts").alias("clean_alerts"),
                                                        pl.col("lookalike_hits").alias("clean_lookalike_hits")))
        clean_records += n
    inj = pl.concat(frames).group_by("detector_id").agg(pl.all().exclude("recall").sum())
    clean = pl.concat(clean_frames).group_by("detector_id").agg(pl.all().sum())
    out = (
        inj.join(clean, on="detector_id", how="full", coalesce=True).fill_null(0)
        .with_columns(
            (pl.col("caught") / pl.col("positives")).alias("recall"),
            (pl.col("clean_alerts") / clean_records * 10_000).round(3).alias("clean_per_10k"),
            (pl.col("unexplained") / records * 10_000).round(3).alias("unexplained_per_10k"),
        )
        .sort("detector_id")
    )
    with pl.Config(tbl_rows=200, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        print(out.select("detector_id", "positives", "caught", "recall", "lookalikes", "lookalike_hits",
                         "unexplained_per_10k", "clean_alerts", "clean_per_10k"))
    fam = out.with_columns(pl.col("detector_id").str.split(".").list.first().alias("family")).group_by("family").agg(
        pl.col("positives", "caught", "lookalike_hits", "clean_alerts").sum()
    ).with_columns((pl.col("caught") / pl.col("positives")).alias("recall"),
                   (pl.col("clean_alerts") / clean_records * 10_000).round(3).alias("clean_per_10k")).sort("family")
    with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True):
        print(fam)
    print(f"records: injected worlds {records:,}, clean worlds {clean_records:,}")
    Path("benchmarks/out").mkdir(parents=True, exist_ok=True)
    Path("benchmarks/out/quality.json").write_text(json.dumps(
        {"seeds": args.seeds, "scale": args.scale, "records": records, "clean_records": clean_records,
         "detectors": out.to_dicts(), "families": fam.to_dicts()}, indent=1, default=str))


if __name__ == "__main__":
    main()

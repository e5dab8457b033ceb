"""Data of the log benchmark: a synthetic world and its db_audit as a PostgreSQL csvlog.

``ensure_logs(records)`` generates (once, cached under ``benchmarks/out/``) a synthetic
world of scale ``records / 40000`` (about ``records`` db_audit rows and twice as many
business-log rows) with :func:`benchmarks.run._generate`, then a data directory
``out/logs_<records>_s<seed>/`` holding

- ``db_audit/postgresql.csv``: the world's db_audit written by
  :func:`auditlib.synth.pgcsv.write_pgaudit_csvlog` (one csvlog record per event);
- ``business_log.parquet``, ``change_tickets.parquet``, ``payments.parquet`` and
  ``auditlib.yaml``: links to the world's.

The record count is the world's (within a few per cent of ``records``), not cut to it:
cutting the DB log would leave business events without their writes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "out"
RECORDS_PER_SCALE = 40_000
"""auditlib.synth: scale 1 ≈ 40k db_audit rows (scale 50 ≈ 2M, 125 ≈ 5M)."""
CSVLOG = "postgresql.csv"
LINKED = ("business_log.parquet", "change_tickets.parquet", "payments.parquet", "auditlib.yaml")


def world_dir(records: int, seed: int = 7) -> Path:
    return OUT / f"logs_world_{records}_s{seed}"


def data_dir(records: int, seed: int = 7) -> Path:
    return OUT / f"logs_{records}_s{seed}"


def write_csvlog(world: Path, d: Path) -> int:
    """The world's db_audit as ``d/db_audit/postgresql.csv`` and links to the other tables;
    returns the number of records."""
    import polars as pl

    from auditlib.config import Settings
    from auditlib.synth.pgcsv import write_pgaudit_csvlog

    settings = Settings.load(world)
    (d / "db_audit").mkdir(parents=True, exist_ok=True)
    audit = pl.read_parquet(world / "db_audit.parquet")
    write_pgaudit_csvlog(audit, d / "db_audit" / CSVLOG, timezone=settings.timezone)
    for name in LINKED:
        link = d / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to((world / name).resolve())
    return audit.height


def ensure_logs(records: int, seed: int = 7, *, quiet: bool = False) -> Path:
    """The data directory for ``records`` (generated once; each heavy step in a subprocess
    so the caller stays small and the memory is given back)."""
    from benchmarks.run import ROWS_PER_SCALE, _generate

    d = data_dir(records, seed)
    if (d / ".complete").exists():
        return d
    world = world_dir(records, seed)
    # benchmarks.run._generate takes payments: scale = rows / ROWS_PER_SCALE
    _generate("synth", world, records * ROWS_PER_SCALE // RECORDS_PER_SCALE, seed)
    t = time.perf_counter()
    if not quiet:
        print(f"writing the csvlog of {world.name} into {d} ...", flush=True)
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from benchmarks.logs_data import write_csvlog;"
        "print(write_csvlog(Path(sys.argv[2]), Path(sys.argv[3])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(world), str(d)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    (d / ".complete").write_text(f"{out} records from {world.name}\n")
    if not quiet:
        print(f"  {int(out):,} records in {time.perf_counter() - t:.1f} s", flush=True)
    return d


def build_small(out: Path, scale: float, seed: int = 7) -> Path:
    """A small world and its csvlog data directory under ``out`` (for the smoke test), in
    this process."""
    from auditlib.synth import generate

    world = out / "world"
    generate(world, seed=seed, scale=scale, fmt="parquet")
    d = out / "data"
    write_csvlog(world, d)
    return d


if __name__ == "__main__":
    for n in sys.argv[1:]:
        print(ensure_logs(int(n)))

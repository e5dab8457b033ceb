"""Rebuild data_samples/: a small synthetic province in the forms users really hand over.

- ``payments.csv`` in GB18030 with Chinese headers (as exported by a budget system),
- ``units.xlsx`` (the first sheet, ids as text),
- ``db_audit/postgresql-2026.csv``: the database audit log as a real PostgreSQL csvlog
  with pgAudit records (ground-truth refs rewritten to ``<file>:<record>``),
- every other table as UTF-8 CSV with English headers,
- ``ground_truth.jsonl`` beside the data: the injected cases and look-alikes.

Run: ``.venv/bin/python scripts/make_data_samples.py`` (deterministic).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import polars as pl

from auditlib.schemas import TABLES
from auditlib.synth import generate
from auditlib.synth.pgcsv import write_pgaudit_csvlog

OUT = Path(__file__).resolve().parents[1] / "data_samples"
SEED, SCALE = 2026, 0.2


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    generate(tmp, seed=SEED, scale=SCALE, fmt="csv")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    for f in tmp.iterdir():
        if f.name not in ("payments.csv", "units.csv", "db_audit.csv"):
            shutil.copy(f, OUT / f.name)

    t = TABLES["payments"]
    text = (tmp / "payments.csv").read_text(encoding="utf-8").splitlines()
    header = [t.column(c).zh for c in text[0].split(",")]
    (OUT / "payments.csv").write_bytes(("\n".join([",".join(header), *text[1:]]) + "\n").encode("gb18030"))

    import openpyxl

    units = pl.read_csv(tmp / "units.csv", infer_schema=False)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "预算单位"
    ws.append([TABLES["units"].column(c).zh for c in units.columns])
    for row in units.iter_rows():
        ws.append(list(row))
    for col in ws.iter_cols():
        for cell in col:
            cell.number_format = "@"
    wb.save(OUT / "units.xlsx")

    from auditlib.config import Settings
    from auditlib.io.tables import load_dir

    settings = Settings.load(tmp)
    db = load_dir(tmp, settings, ["db_audit"])["db_audit"]
    (OUT / "db_audit").mkdir()
    name = "postgresql-2026.csv"
    written = write_pgaudit_csvlog(db, OUT / "db_audit" / name, timezone=settings.timezone)
    mapping = dict(zip(written["event_id"], written["record"], strict=True))
    lines = []
    for line in (tmp / "ground_truth.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        case["evidence"] = [
            f"db_audit:{name}:{mapping[r.split(':', 1)[1]]}" if r.startswith("db_audit:") else r
            for r in case["evidence"]
        ]
        lines.append(json.dumps(case, ensure_ascii=False))
    (OUT / "ground_truth.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (OUT / "README.md").write_text(README, encoding="utf-8")
    shutil.rmtree(tmp)
    print(f"data_samples rebuilt (seed {SEED}, scale {SCALE})")


README = """# data_samples/

A small synthetic province (seed 2026, scale 0.2) in the data contract's format, written
by `scripts/make_data_samples.py` from `auditlib synth`. Nothing here is real data.

It shows the forms users hand over: `payments.csv` in GB18030 with Chinese headers,
`units.xlsx`, the database audit log as a real PostgreSQL csvlog with pgAudit records in
`db_audit/`, the other tables as UTF-8 CSV, and `auditlib.yaml` with the run's settings.
`ground_truth.jsonl` lists the injected findings (`positive`) and the legitimate
look-alikes that must not fire (`lookalike`); it is not a table and the loader ignores it.
"""


if __name__ == "__main__":
    main()

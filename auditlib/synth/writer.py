"""Write tables chunk by chunk, as CSV (appended) or Parquet (parts merged at the end).

Columns are the canonical ones of :data:`auditlib.schemas.TABLES`, in order; money is
``Decimal(18, 2)``; datetimes are naive (local time of the ``timezone`` setting). CSV is
UTF-8 without BOM, dates ``YYYY-MM-DD``, datetimes ``YYYY-MM-DD HH:MM:SS``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO

import polars as pl

from auditlib.schemas import MONEY, TABLES

NAIVE = pl.Datetime("us")


def canonical_types(table: str) -> dict[str, pl.DataType]:
    out: dict[str, pl.DataType] = {}
    for c in TABLES[table].columns:
        out[c.name] = {
            "id": pl.String(), "text": pl.String(), "enum": pl.String(), "month": pl.String(),
            "money": MONEY, "date": pl.Date(), "datetime": NAIVE, "int": pl.Int64(),
        }[c.kind]
    return out


def conform(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """The frame in the table's canonical columns and types (missing optional columns
    null)."""
    types = canonical_types(table)
    cols = []
    for name, dtype in types.items():
        if name in df.columns:
            cols.append(pl.col(name).cast(dtype))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(cols)


class TableWriter:
    def __init__(self, out_dir: Path, fmt: str) -> None:
        if fmt not in ("csv", "parquet"):
            msg = f"fmt must be 'csv' or 'parquet', got {fmt!r}"
            raise ValueError(msg)
        self.out_dir = out_dir
        self.fmt = fmt
        self.counts: dict[str, int] = {}
        self._files: dict[str, IO[bytes]] = {}
        self._parts: dict[str, list[Path]] = {}
        self._tmp = out_dir / ".synth-parts"

    def path(self, table: str) -> Path:
        return self.out_dir / f"{table}.{self.fmt}"

    def add(self, table: str, df: pl.DataFrame) -> None:
        df = conform(table, df)
        first = table not in self.counts
        self.counts[table] = self.counts.get(table, 0) + df.height
        if self.fmt == "csv":
            if first:
                self._files[table] = self.path(table).open("wb")
            df.write_csv(self._files[table], include_header=first,
                         datetime_format="%Y-%m-%d %H:%M:%S", date_format="%Y-%m-%d")
        else:
            parts = self._parts.setdefault(table, [])
            folder = self._tmp / table
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f"part-{len(parts):05d}.parquet"
            df.write_parquet(part, statistics=False)
            parts.append(part)

    def close(self) -> dict[str, int]:
        """Finish every file; a table never added is written empty (header only)."""
        for table in TABLES:
            if table not in self.counts:
                self.add(table, pl.DataFrame())
        for f in self._files.values():
            f.close()
        self._files.clear()
        for table, parts in self._parts.items():
            target = self.path(table)
            if len(parts) == 1:
                shutil.move(parts[0], target)
            else:
                pl.scan_parquet(parts).sink_parquet(target, statistics=False)
        self._parts.clear()
        if self._tmp.exists():
            shutil.rmtree(self._tmp)
        return dict(self.counts)

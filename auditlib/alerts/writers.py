"""Writing frames (alerts, loaded tables) as CSV, Parquet or JSON lines, atomically.

A file is written beside its target under a temporary name and renamed over it
only when complete, so a reader never sees half a file.

CSV per the contract: UTF-8 without BOM, nulls empty, times ISO 8601 with
offset, money with 2 decimals; lists (evidence) joined by ``;``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from auditlib.errors import AuditlibError

FORMATS = (".csv", ".parquet", ".jsonl")


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path beside ``target``; rename it over ``target`` on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_format(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in FORMATS:
        msg = f"{path}: output must end in {', '.join(FORMATS)}"
        raise AuditlibError(msg)
    return ext


def _text_columns(df: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in df.schema.items():
        c = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            fmt = "%Y-%m-%dT%H:%M:%S%.f%:z" if dtype.time_zone else "%Y-%m-%dT%H:%M:%S%.f"
            exprs.append(c.dt.strftime(fmt).str.replace(r"\.0+(\+|-|Z|$)", "$1").alias(name))
        elif isinstance(dtype, pl.Date):
            exprs.append(c.dt.strftime("%Y-%m-%d").alias(name))
        elif isinstance(dtype, pl.Decimal):
            exprs.append(c.cast(pl.Decimal(38, 2)).cast(pl.String).alias(name))
        elif isinstance(dtype, pl.List):
            exprs.append(c.list.join(";").alias(name))
        else:
            exprs.append(c)
    return df.select(exprs)


def _jsonable(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if v.__class__.__name__ == "Decimal":
        return f"{v:.2f}"
    return v


def write_frame(df: pl.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` by its extension, atomically."""
    ext = check_format(path)
    writers: dict[str, Callable[[Path], None]] = {
        ".csv": lambda p: _text_columns(df).write_csv(p, include_bom=False, null_value=""),
        ".parquet": lambda p: df.write_parquet(p),
        ".jsonl": lambda p: _write_jsonl(df, p),
    }
    with atomic_path(path) as tmp:
        writers[ext](tmp)


def _write_jsonl(df: pl.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in df.iter_rows(named=True):
            rec = {
                k: ([_jsonable(x) for x in v] if isinstance(v, list) else _jsonable(v))
                for k, v in row.items()
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")

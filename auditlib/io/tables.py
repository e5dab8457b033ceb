"""Loading a data directory exactly as the data contract says.

One file per table (``<table>.csv|parquet|xlsx``, ``.jsonl``/``.json`` where
allowed, or a folder ``<table>/`` of raw server files); two sources for one
table is an error naming both. Each table is typed once against
:mod:`auditlib.schemas`; a required value that does not parse, a missing
required column or a duplicate key rejects the table whole with its file, row
and column; a bad optional value is nulled and counted.

Row numbers in messages count data rows from 1 (the header is not a row).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.exprs import fixed_offset_us
from auditlib.io import files, raw, values
from auditlib.io.report import FileReport, LoadReport
from auditlib.schemas import TABLES, Table, polars_type, resolve_header

TABLE_EXTS = (".csv", ".parquet", ".xlsx")
ROW = "__row"
_DISTINCT_KINDS = ("enum",)
"""Kinds parsed on their distinct values only (an enumeration has a handful; for CSV,
low-cardinality dates and money would pay off too)."""


@dataclass(frozen=True)
class Source:
    table: str
    path: Path
    kind: str  # csv | parquet | xlsx | json | folder


def discover(data_dir: Path) -> dict[str, Source]:
    """The source of each table present in ``data_dir``; two for one table is an error."""
    if not data_dir.is_dir():
        msg = "not a directory"
        raise DataError(msg, file=str(data_dir))
    found: dict[str, list[Source]] = {}
    for p in sorted(data_dir.iterdir()):
        name, ext = p.stem, p.suffix.lower()
        table = TABLES.get(p.name if p.is_dir() else name)
        if table is None:
            continue
        if p.is_dir():
            if table.raw_folder:
                found.setdefault(table.name, []).append(Source(table.name, p, "folder"))
        elif ext in TABLE_EXTS:
            found.setdefault(table.name, []).append(Source(table.name, p, ext[1:]))
        elif ext in (".jsonl", ".json") and table.json_file:
            found.setdefault(table.name, []).append(Source(table.name, p, "json"))
    out = {}
    for t, srcs in found.items():
        if len(srcs) > 1:
            names = " and ".join(s.path.name for s in srcs)
            msg = f"table '{t}' has two sources: {names}; keep one"
            raise DataError(msg, file=str(data_dir))
        out[t] = srcs[0]
    return out


@dataclass
class Dataset:
    """The loaded tables of a directory, typed, with the load report."""

    tables: dict[str, pl.DataFrame]
    report: LoadReport
    settings: Settings
    data_dir: Path | None = None
    sources: dict[str, Source] = field(default_factory=dict)

    def lazy(self) -> dict[str, pl.LazyFrame]:
        return {k: v.lazy() for k, v in self.tables.items()}

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]


def load_dir(
    data_dir: Path, settings: Settings, tables: list[str] | None = None
) -> Dataset:
    """Load every table (or the ones named) of a data directory."""
    sources = discover(data_dir)
    report = LoadReport()
    loaded: dict[str, pl.DataFrame] = {}
    for name in tables or list(TABLES):
        if name not in TABLES:
            msg = f"unknown table {name!r} (known: {', '.join(TABLES)})"
            raise DataError(msg)
        src = sources.get(name)
        if src is None:
            report.missing[name] = "no file"
            continue
        loaded[name] = load_source(src, settings, report, base=data_dir)
    return Dataset(loaded, report, settings, data_dir, sources)


def load_source(src: Source, settings: Settings, report: LoadReport, base: Path) -> pl.DataFrame:
    table = TABLES[src.table]
    if src.kind == "folder":
        return _load_folder(src, table, settings, report)
    if src.kind == "json":
        from auditlib.io.raw import ocsf

        df, fr = ocsf.parse_ocsf_file(src.path, src.path.name, settings)
        report.add(fr)
        return conform(df, table, settings.timezone)
    label = str(src.path)
    if src.kind == "parquet":
        return _load_parquet(src, table, settings, report)
    if src.kind == "csv":
        df, header, encoding = files.read_csv(src.path)
        fmt = f"csv {encoding}"
    else:
        df, header = files.read_xlsx(src.path, lambda h: _kind_of(h, table))
        fmt = "xlsx"
    fr = FileReport(table.name, label, fmt, read=df.height)
    out = type_table(df, header, table, settings.timezone, label, fr)
    fr.kept = out.height
    report.add(fr)
    return out


def _load_parquet(
    src: Source, table: Table, settings: Settings, report: LoadReport
) -> pl.DataFrame:
    """Parquet typed while it is scanned (streaming engine): raw columns exist only a morsel
    at a time, not as a whole raw copy beside the typed one."""
    label = str(src.path)
    try:
        lf = pl.scan_parquet(src.path)
        header = list(lf.collect_schema().names())
    except Exception as exc:
        msg = f"not a readable Parquet file: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        raise DataError(msg, file=label) from None
    lf = lf.rename({h: f"__c{i}" for i, h in enumerate(header)})
    fr = FileReport(table.name, label, "parquet")
    out = type_table(lf, header, table, settings.timezone, label, fr)
    fr.read = fr.kept = out.height
    report.add(fr)
    return out


def _kind_of(h: str, table: Table) -> str | None:
    name = resolve_header(h, table)
    return table.column(name).kind if name is not None else None


def map_header(header: list[str], table: Table, label: str) -> dict[str, str]:
    """Position column (``__c<i>``) → canonical or extra name; errors for clashes and gaps."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for i, h in enumerate(header):
        raw_h = h.strip(values.SPACES)
        name = resolve_header(raw_h, table) or raw_h or f"column_{i + 1}"
        if name in seen:
            msg = (
                f"the file carries column '{name}' twice (as '{seen[name]}' and '{raw_h}'); "
                "keep one"
            )
            raise DataError(msg, file=label, column=name)
        seen[name] = raw_h
        mapping[f"__c{i}"] = name
    missing = [c for c in table.required if c not in seen]
    if missing:
        col = table.column(missing[0])
        msg = (
            f"required column '{col.name}' ({col.zh}) is missing; "
            f"the header has: {', '.join(h for h in header)}"
        )
        raise DataError(msg, file=label, column=col.name)
    return mapping


def type_table(
    df: pl.DataFrame, header: list[str], table: Table, tz: str, label: str, fr: FileReport
) -> pl.DataFrame:
    """Type an all-String (or Parquet-typed) frame, or a LazyFrame scanning a file (collected
    with the streaming engine), against the table's schema.

    A failure flag only where a value can fail: ids and text can only be missing, so they
    get a null check when required and nothing when optional. Enumerations are parsed on
    their distinct values and mapped back with ``replace_strict``.
    """
    mapping = map_header(header, table, label)
    df = df.rename(mapping).with_row_index(ROW, offset=1)
    lazy = isinstance(df, pl.LazyFrame)
    schema = df.collect_schema() if lazy else df.schema
    exprs, flags = [], []
    clean = _clean_text_columns(df, table, schema)
    for col in table.columns:
        target = polars_type(col.kind, tz)
        if col.name not in schema:
            exprs.append(pl.lit(None, dtype=target).alias(col.name))
            continue
        src = pl.col(col.name)
        dtype = schema[col.name]
        bad: pl.Expr | None
        if (dtype == target and dtype != pl.String) or (col.kind == "int" and dtype.is_integer()):
            parsed = src.cast(target)
            bad = src.is_null() if col.required else None
        elif col.kind == "datetime" and isinstance(dtype, pl.Datetime):
            parsed = (
                (_naive_to_zone(df, col.name, tz) if dtype.time_zone is None else src)
                .dt.convert_time_zone(tz)
                .cast(target)
            )
            bad = src.is_null() if col.required else None
        elif col.kind == "date" and isinstance(dtype, pl.Datetime):
            parsed = src.dt.date()
            bad = src.is_null() if col.required else None
        elif col.name in clean:
            # no surrounding space and no empty value anywhere: the column is its own typed
            # value (no string copy: a 10M-row table keeps one copy of its texts, not two)
            parsed = src
            bad = src.is_null() if col.required else None
        elif col.kind in _DISTINCT_KINDS:
            parsed, bad = _parse_distinct(df, col.name, col.kind, col.required, tz)
        else:
            text = src.cast(pl.String)
            parsed = values.parse(text, col.kind, name=col.name, timezone=tz)
            if col.kind in ("id", "text"):
                # parse gives null exactly where the stripped text is empty
                bad = parsed.is_null() if col.required else None
            else:
                bad = parsed.is_null() & (
                    values.stripped(text).is_not_null() | pl.lit(col.required)
                )
        exprs.append(parsed.alias(col.name))
        if bad is not None:
            flags.append(bad.alias(f"__bad_{col.name}"))
    extras = [c for c in schema if c not in table.names and c != ROW]
    typed = df.select(pl.col(ROW), *exprs, *flags, *[pl.col(c).cast(pl.String) for c in extras])
    if lazy:
        typed = typed.collect(engine="streaming")
        raw = _RawRows(df)
    else:
        raw = df
    _check_flags(typed, raw, table, label, fr)
    typed = typed.drop([f.meta.output_name() for f in flags])
    _check_key(typed, table, label)
    return typed.drop(ROW)


_EDGE_SPACE = f"^[{values.SPACES}]|[{values.SPACES}]$"
_LEAD_SPACE = f"^[{values.SPACES}]"


def _clean_text_columns(
    df: pl.DataFrame | pl.LazyFrame, table: Table, schema: pl.Schema
) -> set[str]:
    """The id and text columns (String already) with no value to strip or empty out: one
    cheap pass (a streamed scan for a file) instead of stripping every value."""
    kinds = {c.name: c.kind for c in table.columns
             if c.kind in ("id", "text") and schema.get(c.name) == pl.String}
    if not kinds:
        return set()
    # an id changes if it has a space at either end; free text keeps its spaces and only a
    # blank one (empty, or spaces from its first character) becomes null
    check = [
        (pl.col(c).str.contains(_EDGE_SPACE if kind == "id" else _LEAD_SPACE)
         | (pl.col(c).str.len_bytes() == 0)).any().alias(c)
        for c, kind in kinds.items()
    ]
    cols = list(kinds)
    if isinstance(df, pl.LazyFrame):
        dirty = df.select(check).collect(engine="streaming").row(0, named=True)
    else:
        dirty = df.select(check).row(0, named=True)
    return {c for c in cols if not dirty[c]}


class _RawRows:
    """What ``_check_flags`` asks of the raw frame (``filter(...)[column]``), read on demand."""

    def __init__(self, lf: pl.LazyFrame) -> None:
        self.lf = lf

    def filter(self, *predicates: pl.Expr) -> pl.DataFrame:
        return self.lf.filter(*predicates).collect()


def _parse_distinct(
    df: pl.DataFrame | pl.LazyFrame, name: str, kind: str, required: bool, tz: str
) -> tuple[pl.Expr, pl.Expr]:
    """Parse a column's distinct values once; map parsed value and failure flag back."""
    if isinstance(df, pl.LazyFrame):
        u = df.select(pl.col(name).unique()).collect().to_series()
    else:
        u = df.get_column(name).unique()
    text = pl.col(name).cast(pl.String)
    m = pl.DataFrame({name: u}).select(
        pl.col(name),
        values.parse(text, kind, name=name, timezone=tz).alias("v"),
        values.stripped(text).is_not_null().alias("raw"),
    )
    parsed_u = m.select(pl.col("v").is_null() & (pl.col("raw") | pl.lit(required))).to_series()
    nonnull = m.filter(pl.col(name).is_not_null())
    null_row = m.filter(pl.col(name).is_null())
    v_null = null_row["v"][0] if null_row.height else None
    bad_null = bool(parsed_u.filter(m[name].is_null())[0]) if null_row.height else False
    dtype = m.schema["v"]
    parsed = (
        pl.when(pl.col(name).is_null())
        .then(pl.lit(v_null, dtype=dtype))
        .otherwise(
            pl.col(name).replace_strict(
                nonnull[name], nonnull["v"], default=None, return_dtype=dtype
            )
        )
    )
    bad_map = parsed_u.filter(m[name].is_not_null())
    bad = (
        pl.when(pl.col(name).is_null())
        .then(pl.lit(bad_null))
        .otherwise(
            pl.col(name).replace_strict(
                nonnull[name], bad_map, default=False, return_dtype=pl.Boolean
            )
        )
    )
    return parsed, bad


def _check_flags(
    typed: pl.DataFrame, raw_df: pl.DataFrame, table: Table, label: str, fr: FileReport
) -> None:
    names = [c.name for c in table.columns if f"__bad_{c.name}" in typed.columns]
    if not names or typed.height == 0:
        return
    counts = typed.select(pl.col(f"__bad_{n}").sum().alias(n) for n in names).row(0, named=True)
    for n in names:
        if not counts[n]:
            continue
        col = table.column(n)
        if col.required:
            row = typed.filter(pl.col(f"__bad_{n}"))[ROW][0]
            value = raw_df.filter(pl.col(ROW) == row)[n][0]
            what = f"{col.kind} value {value!r} does not parse" if value not in (None, "") else "value is missing"
            if col.kind == "enum" and col.enum:
                what += f" (accepted: {', '.join(sorted({v for v in col.enum.values()}))})"
            msg = f"{what} in required column '{n}' ({col.zh}); {counts[n]} such row(s); the table is not loaded"
            raise DataError(msg, file=label, row=row, column=n)
        fr.nulled[n] = int(counts[n])


def _naive_to_zone(df: pl.DataFrame | pl.LazyFrame, name: str, tz: str) -> pl.Expr:
    """A naive datetime column read as wall-clock time in ``tz``: a subtraction when the
    zone keeps one offset over the column's span (China's does), else the per-row zone
    lookup of ``replace_time_zone`` (five times slower)."""
    col = pl.col(name)
    span = df.select(col.min().alias("lo"), col.max().alias("hi"))
    lo, hi = (span.collect() if isinstance(span, pl.LazyFrame) else span).row(0)
    off = fixed_offset_us(tz, lo, hi)
    if off is not None:
        return (col.dt.cast_time_unit("us").to_physical() - off).cast(pl.Datetime("us", "UTC"))
    return col.dt.replace_time_zone(tz)


def _check_key(df: pl.DataFrame, table: Table, label: str) -> None:
    key = list(table.key)
    if not key or df.height == 0:
        return
    k = pl.col(key[0]) if len(key) == 1 else pl.struct(key)
    # the usual case, one cheap pass: as many distinct hashes as rows means no key repeats
    if df.select(k.hash().n_unique()).item() == df.height:
        return
    if df.select(k.n_unique()).item() == df.height:  # hashes collided, keys did not
        return
    dup = df.lazy().filter(k.is_duplicated()).select(*key, ROW).sort(ROW).collect()
    first = dup.row(0)[: len(key)]
    same = dup.filter(pl.all_horizontal(
        pl.col(c).eq_missing(pl.lit(v, dtype=dup.schema[c])) for c, v in zip(key, first)))
    vals = "|".join(str(v) for v in first)
    rows = same[ROW].head(2).to_list()
    msg = (
        f"duplicate key {'+'.join(key)} = {vals!r} (rows {rows[0]} and {rows[-1]}); "
        "the table is not loaded"
    )
    raise DataError(msg, file=label, row=rows[-1], column=key[0])


def conform(df: pl.DataFrame, table: Table, tz: str) -> pl.DataFrame:
    """Canonical column order and types for a parser's output; extra columns after."""
    exprs = []
    for col in table.columns:
        t = polars_type(col.kind, tz)
        exprs.append((pl.col(col.name) if col.name in df.columns else pl.lit(None)).cast(t).alias(col.name))
    extras = [c for c in df.columns if c not in table.names]
    return df.select(*exprs, *extras)


def _load_folder(src: Source, table: Table, settings: Settings, report: LoadReport) -> pl.DataFrame:
    frames, reports = [], []
    paths = sorted(p for p in src.path.rglob("*") if p.is_file() and not p.name.startswith("."))
    for i, p in enumerate(paths):
        rel = p.relative_to(src.path).as_posix()
        parser = raw.pick(table.name, p)
        df, fr = parser.parse(p, rel, settings)
        fr.file = fr.file or str(p)
        report.add(fr)
        reports.append(fr)
        frames.append(conform(df, table, settings.timezone).with_columns(pl.lit(i).alias("__file")))
        del df
    if not frames:
        return table.empty(settings.timezone)
    out = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    del frames
    key = table.key[0]
    if out[key].n_unique() == out.height:  # no id repeats (the usual case): nothing to do
        return out.drop("__file")
    nth = pl.int_range(pl.len()).over(key)
    # distinct records sharing an id (upstream tools reuse uids): kept, the repeats made
    # unique as '<id>#<n>' and reported, never dropped
    for fi, k, n in out.with_columns(nth.alias("_n")).filter(pl.col("_n") > 0).select("__file", key, "_n").iter_rows():
        fr = reports[fi]
        if len(fr.errors) < 50:
            fr.errors.append(f"{fr.file}: {key} {k!r} repeats an earlier record's; kept as '{k}#{n + 1}'")
    out = out.with_columns(
        pl.when(nth > 0).then(pl.concat_str(pl.col(key), pl.lit("#"), (nth + 1).cast(pl.String)))
        .otherwise(pl.col(key)).alias(key)
    )
    return out.drop("__file")

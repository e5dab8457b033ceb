"""Proposed faster versions of the polars path, measured as engine ``polars_next``.

Nothing in ``auditlib`` is changed: the benchmark child patches these in (the
loader's ``type_table``, the two detectors' ``find`` and ``to_alerts``) and
checks that the findings stay identical to the other engines'. Each function
is written so it can replace its counterpart in auditlib as is; the reasons
are in ``benchmarks/README.md`` ("What to change").
"""

from __future__ import annotations

import string
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from auditlib.alerts.schema import SEVERITIES, alert_id, alert_schema, ref
from auditlib.detectors.base import Detector, fmt_money
from auditlib.detectors.payments_duplicate import PaymentsDuplicate
from auditlib.detectors.payments_split import PaymentsSplit, _empty
from auditlib.exprs import active_payment, fen, period_token
from auditlib.io import tables as T
from auditlib.io import values
from auditlib.schemas import MONEY, Table, polars_type

# ============================================================== loader: type_table
_DISTINCT_KINDS = ("enum",)
"""Kinds parsed on the distinct values only (enumerations have a handful). For CSV the same
pays off for ``date``/``datetime``/``money`` columns of low cardinality."""


def type_table(
    df: pl.DataFrame, header: list[str], table: Table, tz: str, label: str, fr: T.FileReport
) -> pl.DataFrame:
    """``auditlib.io.tables.type_table`` with the same results, cheaper:

    - a failure flag only where a value can fail: ids and text can only be missing, so
      they get a null check when required and nothing when optional (the flag
      expression re-ran ``strip_chars`` on every id and text column);
    - enumerations are parsed on their distinct values and mapped back with
      ``replace_strict`` (lower-casing and matching 10M strings for ten spellings was the
      single most expensive step of loading payments).
    """
    mapping = T.map_header(header, table, label)
    df = df.rename(mapping).with_row_index(T.ROW, offset=1)
    lazy = isinstance(df, pl.LazyFrame)
    schema = df.collect_schema() if lazy else df.schema
    exprs, flags = [], []
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
                (src.dt.replace_time_zone(tz) if dtype.time_zone is None else src)
                .dt.convert_time_zone(tz)
                .cast(target)
            )
            bad = src.is_null() if col.required else None
        elif col.kind == "date" and isinstance(dtype, pl.Datetime):
            parsed = src.dt.date()
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
    extras = [c for c in schema if c not in table.names and c != T.ROW]
    typed = df.select(pl.col(T.ROW), *exprs, *flags, *[pl.col(c).cast(pl.String) for c in extras])
    if lazy:
        typed = typed.collect(engine="streaming")
        raw = _RawRows(df)
    else:
        raw = df
    T._check_flags(typed, raw, table, label, fr)
    typed = typed.drop([f.meta.output_name() for f in flags])
    T._check_key(typed, table, label)
    return typed.drop(T.ROW)


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


# ============================================================== loader: Parquet, streamed
_orig_load_source = T.load_source


def load_source(src: T.Source, settings, report, base):
    """``auditlib.io.tables.load_source`` with Parquet typed while it is scanned.

    ``files.read_parquet`` materialised every raw column and ``type_table`` then built a
    typed copy: the raw copy (and the allocator keeping it) is most of the loader's peak
    memory. Here the typing expressions run over ``scan_parquet`` with the streaming
    engine, so raw columns only exist a morsel at a time. The raw value quoted in an
    error message is read back from the file (only when there is an error).
    """
    if src.kind != "parquet":
        return _orig_load_source(src, settings, report, base)
    table = T.TABLES[src.table]
    label = str(src.path)
    try:
        lf = pl.scan_parquet(src.path)
        header = list(lf.collect_schema().names())
    except Exception as exc:
        msg = f"not a readable Parquet file: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        raise T.DataError(msg, file=label) from None
    lf = lf.rename({h: f"__c{i}" for i, h in enumerate(header)})
    fr = T.FileReport(table.name, label, "parquet")
    out = type_table(lf, header, table, settings.timezone, label, fr)
    fr.read = fr.kept = out.height
    report.add(fr)
    return out


# ============================================================== payments.duplicate
class PaymentsDuplicateNext(PaymentsDuplicate):
    """Same findings; the purpose's billing period is computed only for candidate pairs
    (it was computed by NFKC + six regexes on every paid row), and the previous row of
    the sorted candidates is taken with one ``shift`` and a same-key mask instead of five
    ``shift().over(keys)`` windows (each a group-by of its own)."""

    def find(self, tables, ctx):
        # integer keys: categorical codes of unit and account, amount in fen
        keys = ["_u", "_a", "_fen"]
        pay = (
            tables["payments"]
            .filter(active_payment() & (pl.col("amount") >= self.min_amount))
            .select(
                "unit_id",
                "payee_account",
                "amount",
                "voucher_id",
                "pay_date",
                "payee_name",
                "purpose",
                _codes("unit_id").alias("_u"),
                _codes("payee_account").alias("_a"),
                fen(pl.col("amount")).alias("_fen"),
            )
            # a key seen once pairs with nothing: drop it before sorting
            .filter(pl.len().over(keys) > 1)
            .sort([*keys, "pay_date", "voucher_id"])
        )
        same = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in keys])
        pairs = (
            pay.with_columns(
                pl.col("voucher_id").shift(1).alias("first_voucher"),
                pl.col("pay_date").shift(1).alias("first_date"),
                pl.col("payee_name").shift(1).alias("first_name"),
                pl.col("purpose").shift(1).alias("first_purpose"),
                same.alias("_same"),
            )
            .with_columns(gap=(pl.col("pay_date") - pl.col("first_date")).dt.total_days())
            .filter(pl.col("_same") & (pl.col("gap") <= self.window_days))
            .with_columns(
                period_token(pl.col("purpose")).alias("period"),
                period_token(pl.col("first_purpose")).alias("first_period"),
            )
        )
        distinct_period = (
            pl.col("period").is_not_null()
            & pl.col("first_period").is_not_null()
            & (pl.col("period") != pl.col("first_period"))
        )
        return pairs.filter(~distinct_period).select(
            pl.col("payee_account").alias("entity_id"),
            pl.concat_str("first_voucher", pl.lit("|"), "voucher_id").alias("finding_key"),
            pl.concat_list(
                ref("payments", "first_voucher").alias("a"),
                ref("payments", "voucher_id").alias("b"),
            ).alias("evidence"),
            "unit_id",
            "amount",
            "payee_name",
            "first_name",
            "purpose",
            "first_purpose",
            pl.col("first_voucher"),
            pl.col("voucher_id").alias("second_voucher"),
            pl.col("first_date").cast(pl.String),
            pl.col("pay_date").cast(pl.String).alias("second_date"),
            "gap",
            pl.col("first_date")
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone(ctx.timezone)
            .alias("event_time"),
            (1.0 - pl.col("gap") / (2.0 * (self.window_days + 1))).alias("score"),
        )


# ============================================================== payments.split
def _codes(col: str) -> pl.Expr:
    """Dense integer codes of a string column (categorical codes: one hash pass, exact)."""
    return pl.col(col).cast(pl.Categorical).to_physical().cast(pl.Int64)


class PaymentsSplitNext(PaymentsSplit):
    """Same findings; the group is an integer (categorical codes of unit and account,
    instead of ``struct(...).rank("dense")``, a sort of string pairs), only integers and
    the voucher id go through the sort (names are gathered for the parts at the end), the
    voucher tiebreak is sorted only where date and group tie, and overlapping windows
    merge with a running maximum in numpy instead of a Python loop."""

    def find(self, tables, ctx):
        limit = round(self.threshold * 100)
        base = (
            tables["payments"]
            .filter(active_payment())
            .with_columns(fen(pl.col("amount")).alias("fen"))
            .filter(pl.col("fen") < limit)
            .select("unit_id", "payee_account", "payee_name", "voucher_id", "pay_date", "fen")
            .with_row_index("_i")
            .collect()
        )
        k = base.select(
            (_codes("unit_id") * (1 << 32) + _codes("payee_account")).alias("grp"),
            pl.col("pay_date").cast(pl.Int32).alias("day"),
            "fen",
            "_i",
        )
        if k.height == 0:
            return _empty()
        grp = k["grp"].to_numpy()
        day = k["day"].to_numpy().astype(np.int64)
        order = np.lexsort((day, grp))
        grp, day = grp[order], day[order]
        idx_rows = k["_i"].to_numpy()[order]
        tie = (grp[1:] == grp[:-1]) & (day[1:] == day[:-1])
        if tie.any():  # order equal (group, day) runs by voucher id
            in_run = np.zeros(len(order), dtype=bool)
            in_run[1:] |= tie
            in_run[:-1] |= tie
            pos = np.flatnonzero(in_run)
            run = np.cumsum(np.concatenate(([True], ~tie)))[pos]
            sub = pl.DataFrame(
                {"run": run, "v": base["voucher_id"].gather(idx_rows[pos]), "p": pos}
            ).sort("run", "v")
            idx_rows[pos] = idx_rows[sub["p"].to_numpy()]
        fen_ = base["fen"].to_numpy()[idx_rows]
        dense = np.cumsum(np.concatenate(([0], grp[1:] != grp[:-1])))
        p = dense * 1_000_000 + day
        end = np.searchsorted(p, p + self.window_days, side="right") - 1
        cum = np.concatenate(([0], np.cumsum(fen_)))
        i = np.arange(len(p))
        flagged = (cum[end + 1] - cum[i] > limit) & (end - i + 1 >= self.min_parts)
        f = np.flatnonzero(flagged)
        if len(f) == 0:
            return _empty()
        reach = np.maximum.accumulate(end[f])
        new = np.ones(len(f), dtype=bool)
        new[1:] = f[1:] > reach[:-1]
        starts = f[new]
        ends = np.maximum.reduceat(end[f], np.flatnonzero(new))
        lengths = ends - starts + 1
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        members = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        cluster = np.repeat(np.arange(len(starts)), lengths)
        parts = (
            base.select(pl.exclude("_i"))
            .gather(idx_rows[members])
            .with_columns(pl.Series("cluster", cluster))
        )
        limit_ = limit
        return (
            parts.lazy()
            .group_by("cluster", maintain_order=True)
            .agg(
                pl.col("unit_id").first(),
                pl.col("payee_account").first().alias("entity_id"),
                pl.col("payee_name").first(),
                pl.col("voucher_id").first().alias("first_voucher"),
                pl.col("voucher_id").alias("vouchers"),
                ref("payments", "voucher_id").alias("evidence"),
                pl.col("pay_date").min().alias("first_date"),
                pl.col("pay_date").max().alias("last_date"),
                (pl.col("fen").sum() / 100).alias("amount"),
                (pl.col("fen").max() / 100).alias("max_part"),
                pl.len().alias("n_parts"),
                (pl.col("fen").min() / limit_).alias("closeness"),
            )
            .select(
                "entity_id",
                "unit_id",
                "payee_name",
                "vouchers",
                "evidence",
                "n_parts",
                "max_part",
                pl.concat_str("entity_id", pl.lit("|"), "first_voucher").alias("finding_key"),
                pl.col("amount"),
                (pl.col("amount") - self.threshold).alias("excess"),
                pl.col("first_date").cast(pl.String),
                pl.col("last_date").cast(pl.String),
                (pl.col("last_date") - pl.col("first_date")).dt.total_days().alias("span"),
                pl.col("first_date")
                .cast(pl.Datetime("us"))
                .dt.replace_time_zone(ctx.timezone)
                .alias("event_time"),
                (0.5 + 0.5 * pl.col("closeness").clip(0, 1)).alias("score"),
                pl.when(pl.col("closeness") >= 0.8)
                .then(pl.lit("high"))
                .otherwise(pl.lit("medium"))
                .alias("severity"),
            )
            .sort("finding_key")
        )


# ============================================================== Detector.to_alerts
_FMT = string.Formatter()
_PARSED: dict[str, list[tuple[str, str | None, str]]] = {}


def _parsed(template: str) -> list[tuple[str, str | None, str]]:
    p = _PARSED.get(template)
    if p is None:
        p = _PARSED[template] = [
            (lit, name, spec or "") for lit, name, spec, _ in _FMT.parse(template)
        ]
    return p


def _render_all(template: str, cols: dict[str, list[Any]], n: int, lang: str) -> list[str]:
    """``base.render`` for every row: template parsed once, each field formatted per column."""
    import datetime as dt

    from auditlib.detectors.base import render as render_one

    pieces: list[list[str] | str] = []
    for lit, name, spec in _parsed(template):
        if lit:
            pieces.append(lit)
        if name is None:
            continue
        vals = cols.get(name)
        if vals is None:
            pieces.append("—")
            continue
        sample = next((v for v in vals if v is not None), None)
        if spec == "money":
            out = ["—" if v is None else fmt_money(v) for v in vals]
        elif (
            spec == ""
            and (sample is None or isinstance(sample, str | int))
            and not isinstance(sample, bool)
        ):
            out = ["—" if v is None else str(v) for v in vals]
        elif spec == "" and isinstance(sample, list | tuple):
            sep = "、" if lang == "zh" else ", "
            out = ["—" if v is None else sep.join(map(str, v)) for v in vals]
        elif spec == "" and isinstance(sample, dt.datetime):
            out = ["—" if v is None else v.strftime("%Y-%m-%d %H:%M") for v in vals]
        else:  # anything else exactly as render() does it
            out = [
                render_one("{x" + (":" + spec if spec else "") + "}", {"x": v}, lang) for v in vals
            ]
        pieces.append(out)
    rows = []
    for r in range(n):
        rows.append("".join(p if isinstance(p, str) else p[r] for p in pieces))
    return rows


def to_alerts(
    self: Detector, df: pl.DataFrame, timezone: str, *, severity: str | None = None
) -> pl.DataFrame:
    """``Detector.to_alerts`` with the same output, column-wise: ids, severities, scores,
    amounts, times and evidence are columns; only the hash and the texts are per row, and
    only the fields the templates name are taken out of polars (``to_dicts`` converted
    every column, time-zone-aware datetimes included, and the evidence lists were rebuilt
    one Series per row)."""
    from auditlib.detectors.base import FINDING_REQUIRED
    from auditlib.errors import DetectorError

    missing = [c for c in FINDING_REQUIRED if c not in df.columns]
    if missing:
        raise DetectorError(f"{self.id}: find() returned no {', '.join(missing)} column")
    schema = alert_schema(timezone)
    if df.height == 0:
        return pl.DataFrame(schema=schema)
    n = df.height
    params = self.get_params()
    names = {
        name
        for t in (
            self.alert_title.zh,
            self.alert_title.en,
            self.alert_explanation.zh,
            self.alert_explanation.en,
        )
        for _, name, _ in _parsed(t)
        if name
    }
    cols: dict[str, list[Any]] = {}
    for name in names:
        if name in df.columns:
            cols[name] = df[name].to_list()
        elif name in params:
            cols[name] = [params[name]] * n
    ent = df["entity_id"].cast(pl.String).to_list()
    fk = df["finding_key"].cast(pl.String).to_list()
    ids = [alert_id(self.id, self.entity, e, k) for e, k in zip(ent, fk, strict=True)]
    default_sev = severity or self.severity
    if severity or "severity" not in df.columns:
        sev = pl.lit(default_sev)
    else:  # a row's own severity unless missing or empty, as render did
        row_sev = pl.col("severity").cast(pl.String)
        sev = (
            pl.when(row_sev.is_null() | (row_sev == ""))
            .then(pl.lit(default_sev))
            .otherwise(row_sev)
        )
    score = (
        pl.col("score").cast(pl.Float64).clip(0.0, 1.0).fill_null(1.0)
        if "score" in df.columns
        else pl.lit(1.0)
    )
    amount = df["amount"].to_list() if "amount" in df.columns else [None] * n
    amounts = [None if a is None else Decimal(a).quantize(Decimal("0.01")) for a in amount]
    event_time = (
        pl.col("event_time").cast(schema["event_time"])
        if "event_time" in df.columns
        else pl.lit(None, dtype=schema["event_time"])
    )
    unit = (
        pl.col("unit_id").cast(pl.String)
        if "unit_id" in df.columns
        else pl.lit(None, dtype=pl.String)
    )
    base = df.select(
        sev.alias("severity"),
        score.alias("score"),
        unit.alias("unit_id"),
        event_time.alias("event_time"),
        pl.col("evidence").cast(pl.List(pl.String)),
    )
    alerts = pl.DataFrame(
        {
            "alert_id": ids,
            "detector_id": [self.id] * n,
            "severity": base["severity"],
            "score": base["score"],
            "entity_type": [self.entity] * n,
            "entity_id": ent,
            "unit_id": base["unit_id"],
            "event_time": base["event_time"],
            "title": _render_all(self.alert_title.zh, cols, n, "zh"),
            "title_en": _render_all(self.alert_title.en, cols, n, "en"),
            "explanation": _render_all(self.alert_explanation.zh, cols, n, "zh"),
            "explanation_en": _render_all(self.alert_explanation.en, cols, n, "en"),
            "amount": pl.Series("amount", amounts, dtype=MONEY),
            "evidence": base["evidence"],
        },
        schema=schema,
    )
    bad = set(alerts["severity"].unique().to_list()) - set(SEVERITIES)
    if bad:
        raise DetectorError(f"{self.id}: severity {sorted(bad)} not one of {SEVERITIES}")
    return alerts.unique("alert_id", keep="first", maintain_order=True)


NEXT = {"payments.duplicate": PaymentsDuplicateNext, "payments.split": PaymentsSplitNext}

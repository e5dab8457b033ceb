"""``payments.duplicate`` and ``payments.split`` in pandas, the twin polars is measured against.

A competent, vectorised pandas implementation (pandas 3, pyarrow-backed
strings; numpy for the windows; no row loops), giving exactly the findings of
:mod:`auditlib.detectors.payments_duplicate` and
:mod:`auditlib.detectors.payments_split`:

- loading types the table the way ``auditlib.io.tables.load_dir`` does for a
  Parquet file: ids and codes stripped of ASCII/full-width spaces (empty →
  null), text kept unless blank, money as exact integer fen (never a float),
  dates, naive times read in the ``timezone`` setting, enumerations mapped
  (``已支付`` → ``paid``; a missing status is ``paid``); a missing required
  value or a duplicate ``voucher_id`` rejects the table;
- string keys (unit, payee account) become integer codes once
  (``pd.factorize``, which pyarrow strings do by dictionary encoding); rows
  whose key occurs once are dropped before sorting; the voucher-id tiebreak of
  the sort order is applied only to rows that tie on the numeric keys;
- ``split`` windows are cumulative sums and ``np.searchsorted`` over one
  sort, overlapping windows merged into clusters with a running maximum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

try:
    from benchmarks.common import (
        ENUM_DEFAULT,
        KINDS,
        REQUIRED,
        SPACES,
        enum_lookup,
        findings_table,
        period_token_arrow,
        refs,
        resolve_header,
    )
except ImportError:  # run as a script from benchmarks/
    from common import (  # type: ignore[no-redef]
        ENUM_DEFAULT,
        KINDS,
        REQUIRED,
        SPACES,
        enum_lookup,
        findings_table,
        period_token_arrow,
        refs,
        resolve_header,
    )

DAY_SPAN = 1_000_000  # dates fit well inside 10^6 days (as in payments_split)


# -------------------------------------------------------------------------- loading
def _fen(col: pa.ChunkedArray) -> np.ndarray:
    """``decimal128(p, s)`` → exact integer fen (the unscaled value at scale 2)."""
    if not pa.types.is_decimal(col.type):
        raise TypeError(f"amount: expected a decimal Parquet column, got {col.type}")
    if col.type.scale != 2:
        col = pc.cast(col, pa.decimal128(38, 2))  # exact (raises where it would not be)
    parts = []
    for chunk in col.chunks:
        words = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
        parts.append(words[2 * chunk.offset : 2 * (chunk.offset + len(chunk)) : 2])
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _arrow(s: pd.Series) -> pa.ChunkedArray:
    return s.array.__arrow_array__()


def _to_numpy(a: pa.ChunkedArray, dtype: str) -> np.ndarray:
    """A temporal Arrow column as numpy (nulls → NaT), without Python objects."""
    a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
    ints = pc.fill_null(a.cast(pa.int64()), np.iinfo(np.int64).min).to_numpy()
    return ints.view(dtype)


def load_payments(path, timezone: str = "Asia/Shanghai") -> pd.DataFrame:
    """The payments table typed per the data contract (see the module docstring)."""
    df = pd.read_parquet(path, dtype_backend="pyarrow")
    df = df.rename(columns={c: resolve_header(c) or c for c in df.columns})
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: required column '{missing[0]}' is missing")
    out = {}
    for name, kind in KINDS.items():
        if name not in df.columns:
            out[name] = pd.Series(pd.NA, index=df.index, dtype=pd.ArrowDtype(pa.string()))
            continue
        s = df[name]
        if kind == "money":
            out["fen"] = pd.Series(_fen(_arrow(s)), index=df.index)
            out["amount_valid"] = s.notna().to_numpy()
            continue
        if kind == "id":
            s = s.astype(pd.ArrowDtype(pa.string())).str.strip(SPACES)
            s = s.where(s.str.len() > 0)
        elif kind == "text":
            s = s.astype(pd.ArrowDtype(pa.string()))
            s = s.where(s.str.strip(SPACES).str.len() > 0)
        elif kind == "enum":
            s = s.astype(pd.ArrowDtype(pa.string())).str.strip(SPACES)
            s = s.where(s.str.len() > 0)
            codes, uniques = pd.factorize(s)
            table = enum_lookup(name)
            mapped = pd.array(
                [table.get(str(u).lower()) for u in uniques], dtype=pd.ArrowDtype(pa.string())
            )
            default = ENUM_DEFAULT.get(name)
            vals = mapped.take(codes, allow_fill=True)  # -1 (missing) → NA
            s = pd.Series(vals, index=df.index)
            if default is not None:
                s = s.where(codes >= 0, default)
        elif kind == "date":
            # through Arrow: pandas' astype on an Arrow date column iterates Python objects
            a = _arrow(s)
            if pa.types.is_timestamp(a.type):
                a = pc.cast(a, pa.date32())
            s = pd.Series(_to_numpy(pc.cast(a, pa.date64()), "datetime64[ms]"), index=df.index)
            s = s.astype("datetime64[s]")
        elif kind == "datetime":
            a = _arrow(s)
            tz = getattr(a.type, "tz", None)
            s = pd.Series(
                _to_numpy(pc.cast(a, pa.timestamp("us", tz)), "datetime64[us]"), index=df.index
            )
            s = (
                s.dt.tz_localize(timezone)
                if tz is None
                else s.dt.tz_localize("UTC").dt.tz_convert(timezone)
            )
        out[name] = s
    typed = pd.DataFrame(out)
    for c in REQUIRED:
        bad = ~typed["amount_valid"] if c == "amount" else typed[c].isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 1
            raise ValueError(f"{path}: row {row}: value missing in required column '{c}'")
    dup = typed["voucher_id"].duplicated()
    if dup.any():
        v = typed["voucher_id"][dup].iloc[0]
        raise ValueError(f"{path}: duplicate key voucher_id = {v!r}; the table is not loaded")
    return typed.drop(columns="amount_valid")


# -------------------------------------------------------------------------- helpers
def _keys(df: pd.DataFrame) -> np.ndarray:
    """(unit_id, payee_account) as one int64 code."""
    u, _ = pd.factorize(df["unit_id"])
    a, au = pd.factorize(df["payee_account"])
    return u.astype(np.int64) * (len(au) + 1) + a


def _days(df: pd.DataFrame) -> np.ndarray:
    return df["pay_date"].to_numpy().astype("datetime64[D]").astype(np.int64)


def _order(keys: list[np.ndarray], vouchers: pa.Array) -> np.ndarray:
    """Sort order by ``keys`` (most significant first) then voucher_id (code points).

    Sorts the numbers with numpy and orders by voucher only the runs that tie."""
    order = np.lexsort(keys[::-1])
    ks = [k[order] for k in keys]
    tie = np.ones(len(order) - 1, dtype=bool) if len(order) else np.zeros(0, bool)
    for k in ks:
        tie &= k[1:] == k[:-1]
    if not tie.any():
        return order
    in_run = np.zeros(len(order), dtype=bool)
    in_run[1:] |= tie
    in_run[:-1] |= tie
    pos = np.flatnonzero(in_run)
    run = np.cumsum(np.concatenate(([True], ~tie)))[pos]  # run id per position
    sub = pa.table({"run": run, "v": vouchers.take(pa.array(order[pos]))})
    idx = pc.sort_indices(sub, sort_keys=[("run", "ascending"), ("v", "ascending")]).to_numpy()
    order[pos] = order[pos][idx]
    return order


def _str(s: pd.Series, idx: np.ndarray) -> pa.Array:
    return _arrow(s).take(pa.array(idx)).combine_chunks()


# -------------------------------------------------------------------------- rules
def duplicate(
    df: pd.DataFrame,
    *,
    window_days: int = 10,
    min_amount: float = 0.0,
    keys: np.ndarray | None = None,
    days: np.ndarray | None = None,
) -> pa.Table:
    """payments.duplicate: consecutive paid vouchers of one (unit, account, amount) in window."""
    fen = df["fen"].to_numpy()
    key = _keys(df) if keys is None else keys
    day = _days(df) if days is None else days
    active = (
        (df["status"].fillna("paid") == "paid").to_numpy(dtype=bool)
        & (fen > 0)
        & (fen / 100 >= min_amount)
    )
    rows = np.flatnonzero(active)
    k, f = key[rows], fen[rows]
    twice = pd.DataFrame({"k": k, "f": f}).duplicated(keep=False).to_numpy()
    rows, k, f = rows[twice], k[twice], f[twice]
    order = _order([k, f, day[rows]], _str(df["voucher_id"], rows))
    rows, k, f = rows[order], k[order], f[order]
    d = day[rows]
    pair = (k[1:] == k[:-1]) & (f[1:] == f[:-1]) & (d[1:] - d[:-1] <= window_days)
    first, second = rows[:-1][pair], rows[1:][pair]
    # period tokens only for the rows of candidate pairs
    both = np.unique(np.concatenate([first, second]))
    tok = pd.Series(
        period_token_arrow(_str(df["purpose"], both)).to_numpy(zero_copy_only=False), index=both
    )
    p1, p2 = tok.reindex(first).to_numpy(), tok.reindex(second).to_numpy()
    distinct = pd.notna(p1) & pd.notna(p2) & (p1 != p2)
    first, second = first[~distinct], second[~distinct]
    v1, v2 = _str(df["voucher_id"], first), _str(df["voucher_id"], second)
    evidence = pa.ListArray.from_arrays(
        np.arange(0, 2 * len(first) + 1, 2, dtype=np.int32),
        pa.concat_arrays([refs(v1), refs(v2)]).take(
            pa.array(
                np.column_stack([np.arange(len(first)), np.arange(len(first)) + len(first)]).ravel()
            )
        ),
    )
    return findings_table(
        "payments.duplicate",
        entity_id=_str(df["payee_account"], second),
        finding_key=pc.binary_join_element_wise(v1, v2, "|"),
        unit_id=_str(df["unit_id"], second),
        amount_fen=pa.array(fen[second]),
        evidence=evidence,
    )


def split(
    df: pd.DataFrame,
    *,
    threshold: float = 50000.0,
    window_days: int = 7,
    min_parts: int = 2,
    keys: np.ndarray | None = None,
    days: np.ndarray | None = None,
) -> pa.Table:
    """payments.split: parts under the threshold whose sum in the window from a part exceeds it."""
    limit = round(threshold * 100)
    fen = df["fen"].to_numpy()
    key = _keys(df) if keys is None else keys
    day = _days(df) if days is None else days
    active = (
        (df["status"].fillna("paid") == "paid").to_numpy(dtype=bool) & (fen > 0) & (fen < limit)
    )
    rows = np.flatnonzero(active)
    codes, uniq = pd.factorize(key[rows])
    enough = np.bincount(codes, minlength=len(uniq))[codes] >= min_parts
    rows, codes = rows[enough], codes[enough]
    order = _order([codes, day[rows]], _str(df["voucher_id"], rows))
    rows, g = rows[order], codes[order].astype(np.int64)
    if len(rows) == 0:
        return findings_table(
            "payments.split", entity_id=[], finding_key=[], unit_id=[], amount_fen=[], evidence=[]
        )
    grp = np.cumsum(np.concatenate(([0], g[1:] != g[:-1])))  # dense, increasing
    pos = grp * DAY_SPAN + day[rows]
    end = np.searchsorted(pos, pos + window_days, side="right") - 1
    part = fen[rows]
    cum = np.concatenate(([0], np.cumsum(part)))
    idx = np.arange(len(rows))
    flagged = (cum[end + 1] - cum[idx] > limit) & (end - idx + 1 >= min_parts)
    f = np.flatnonzero(flagged)
    if len(f) == 0:
        return findings_table(
            "payments.split", entity_id=[], finding_key=[], unit_id=[], amount_fen=[], evidence=[]
        )
    # merge overlapping windows: a flagged row past every earlier window starts a cluster
    reach = np.maximum.accumulate(end[f])
    new = np.ones(len(f), dtype=bool)
    new[1:] = f[1:] > reach[:-1]
    starts = f[new]
    ends = np.maximum.reduceat(end[f], np.flatnonzero(new))
    lengths = ends - starts + 1
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    members = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    mrows = rows[members]
    first = rows[starts]
    v_first = _str(df["voucher_id"], first)
    acct = _str(df["payee_account"], first)
    return findings_table(
        "payments.split",
        entity_id=acct,
        finding_key=pc.binary_join_element_wise(acct, v_first, "|"),
        unit_id=_str(df["unit_id"], first),
        amount_fen=pa.array(cum[ends + 1] - cum[starts]),
        evidence=pa.ListArray.from_arrays(
            offsets.astype(np.int32), refs(_str(df["voucher_id"], mrows))
        ),
    )

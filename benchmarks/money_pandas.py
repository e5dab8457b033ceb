"""The money rules in pandas: the twins polars is measured against (``benchmarks/money_run.py``).

A competent, vectorised pandas implementation (pandas 3, pyarrow-backed strings,
numpy for sorts, windows and group arithmetic; no row loops) of

``budget.overrun``, ``budget.class_mismatch``, ``sangong.total``,
``sangong.final_accounts``, ``amount.benford`` (its ``benford_table``),
``subsidy.duplicate``, ``payroll.multi_unit``, ``funds.own_account`` and
``timing.off_hours``,

giving exactly the findings of the polars detectors (their keys, entities, units,
amounts, evidence lists in order and the ``detail`` of
:data:`benchmarks.money_common.DETAIL`). What it does the way a careful pandas
user would:

- loading types every column of every table the rules read as ``load_dir`` does
  (payments by :func:`benchmarks.pandas_rules.load_payments`; the others by
  :func:`load_table`: ids stripped, empty → missing, money as exact integer fen,
  enumerations and months parsed, required values and keys checked);
- string keys become integer codes (``pd.factorize``) and lookups into small
  tables are hash lookups (``pyarrow.compute.index_in``), never merges of
  millions of string rows; the year filter is a range of day numbers;
- sorts are numpy ``lexsort`` over integers, the voucher-id tiebreak only for
  rows that tie (:func:`benchmarks.pandas_rules._order`); group sums of money
  are exact (``reduceat`` over int64 fen, never float weights);
- texts (evidence references, keys) are built only for the rows findings need.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

try:
    from benchmarks.common import _S as WHITE_SPACE
    from benchmarks.common import SPACES, escape_key, refs
    from benchmarks.money_common import (
        B1,
        B2,
        BANDS_FIRST,
        BANDS_TWO,
        ENUM_DEFAULT,
        SANGONG,
        TABLES,
        band_of,
        empty_findings,
        enum_lookup,
        findings_table,
        nearest_index,
        resolve_header,
    )
    from benchmarks.pandas_rules import _arrow, _days, _fen, _order, _to_numpy, load_payments
except ImportError:  # run as a script from benchmarks/
    from common import _S as WHITE_SPACE  # type: ignore[no-redef]
    from common import SPACES, escape_key, refs  # type: ignore[no-redef]
    from money_common import (  # type: ignore[no-redef]
        B1,
        B2,
        BANDS_FIRST,
        BANDS_TWO,
        ENUM_DEFAULT,
        SANGONG,
        TABLES,
        band_of,
        empty_findings,
        enum_lookup,
        findings_table,
        nearest_index,
        resolve_header,
    )
    from pandas_rules import (  # type: ignore[no-redef]
        _arrow,
        _days,
        _fen,
        _order,
        _to_numpy,
        load_payments,
    )

EPOCH = dt.date(1970, 1, 1)
US_PER_DAY = 86_400_000_000
US_PER_MIN = 60_000_000
_ND = r"\p{Nd}"


# -------------------------------------------------------------------------- loading
def fen_name(col: str) -> str:
    """The integer-fen column a money column becomes (``amount`` → ``fen``)."""
    return "fen" if col == "amount" else f"{col}_fen"


def _month(a: pa.Array) -> pa.Array:
    """auditlib.io.values.month: ``YYYY-MM`` / ``YYYY-M`` / ``YYYY/MM`` / ``YYYYMM`` →
    ``YYYY-MM`` (month 1-12), else null. The month's digits must be ASCII (polars casts
    them to an integer); the year's may be any decimal digits (Rust's Unicode ``\\d``)."""
    a = pc.utf8_trim(a, SPACES)
    seps = pc.extract_regex(a, rf"^(?P<y>{_ND}{{4}})[-/](?P<m>{_ND}{{1,2}})$")
    bare = pc.extract_regex(a, rf"^(?P<y>{_ND}{{4}})(?P<m>{_ND}{{2}})$")

    def field(st: pa.Array, name: str) -> pa.Array:
        return pc.if_else(pc.is_valid(st), pc.struct_field(st, name), pa.scalar(None, pa.string()))

    y = pc.coalesce(field(seps, "y"), field(bare, "y"))
    m = pc.coalesce(field(seps, "m"), field(bare, "m"))
    ascii_m = pc.fill_null(pc.match_substring_regex(m, "^[0-9]+$"), False)
    mm = pc.cast(pc.if_else(ascii_m, m, pa.scalar(None, pa.string())), pa.int64())
    ok = pc.fill_null(pc.and_(pc.greater_equal(mm, 1), pc.less_equal(mm, 12)), False)
    text = pc.binary_join_element_wise(y, pc.utf8_lpad(m, 2, "0"), "-")
    return pc.if_else(ok, text, pa.scalar(None, pa.string()))


def load_table(path, name: str, timezone: str = "Asia/Shanghai") -> pd.DataFrame:
    """A table of :data:`money_common.TABLES` typed as the data contract says (payments:
    :func:`benchmarks.pandas_rules.load_payments`). Money columns become integer fen
    (:func:`fen_name`)."""
    if name == "payments":
        return load_payments(path, timezone)
    cols, key = TABLES[name]
    df = pd.read_parquet(path, dtype_backend="pyarrow")
    df = df.rename(columns={c: resolve_header(c, name) or c for c in df.columns})
    required = [c for c, _, _, req in cols if req]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: required column '{missing[0]}' is missing")
    out: dict[str, pd.Series] = {}
    bad: dict[str, np.ndarray] = {}
    for cname, _, kind, _req in cols:
        if cname not in df.columns:
            out[cname] = pd.Series(pd.NA, index=df.index, dtype=pd.ArrowDtype(pa.string()))
            continue
        s = df[cname]
        if kind == "money":
            out[fen_name(cname)] = pd.Series(_fen(_arrow(s)), index=df.index)
            bad[cname] = s.isna().to_numpy()
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
            table = enum_lookup(cname)
            mapped = pd.array(
                [table.get(str(u).lower()) for u in uniques], dtype=pd.ArrowDtype(pa.string())
            )
            vals = mapped.take(codes, allow_fill=True)
            if ENUM_DEFAULT.get(cname) is not None:
                vals = pd.Series(vals, index=df.index).where(codes >= 0, ENUM_DEFAULT[cname])
            s = pd.Series(vals, index=df.index)
        elif kind == "int":
            s = pd.Series(
                pc.cast(_arrow(s), pa.int64()), index=df.index, dtype=pd.ArrowDtype(pa.int64())
            )
        elif kind == "month":
            a = _arrow(s.astype(pd.ArrowDtype(pa.string()))).combine_chunks()
            s = pd.Series(_month(a), index=df.index, dtype=pd.ArrowDtype(pa.string()))
        elif kind == "date":
            a = _arrow(s)
            if pa.types.is_timestamp(a.type):
                a = pc.cast(a, pa.date32())
            s = pd.Series(_to_numpy(pc.cast(a, pa.date64()), "datetime64[ms]"), index=df.index)
            s = s.astype("datetime64[s]")
        else:
            raise ValueError(f"{name}.{cname}: kind {kind} not handled")
        out[cname] = s
    typed = pd.DataFrame(out)
    for c in required:
        miss = bad[c] if c in bad else typed[c].isna().to_numpy()
        if miss.any():
            row = int(np.flatnonzero(miss)[0]) + 1
            raise ValueError(
                f"{path}: row {row}: value missing or invalid in required column '{c}'"
            )
    dup = typed.duplicated(subset=list(key))
    if dup.any():
        v = typed.loc[dup, list(key)].iloc[0].tolist()
        raise ValueError(f"{path}: duplicate key {'+'.join(key)} = {v!r}; the table is not loaded")
    return typed


def load_all(paths: dict[str, object], timezone: str) -> dict[str, pd.DataFrame]:
    return {name: load_table(p, name, timezone) for name, p in paths.items()}


# -------------------------------------------------------------------------- helpers
def _day(d: dt.date | str) -> int:
    if isinstance(d, str):
        d = dt.date.fromisoformat(d)
    return (d - EPOCH).days


def _year_days(year: int, as_of: str) -> tuple[int, int]:
    """in_year(pay_date, year, as_of) as a range of day numbers."""
    return _day(dt.date(year, 1, 1)), min(_day(dt.date(year, 12, 31)), _day(as_of))


def _a(s: pd.Series) -> pa.Array:
    """A column as one pyarrow array."""
    a = _arrow(s)
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _paid(df: pd.DataFrame) -> np.ndarray:
    """status.fill_null('paid') == 'paid' and a positive amount (exprs.active_payment)."""
    return (df["status"].fillna("paid") == "paid").to_numpy(dtype=bool) & (df["fen"].to_numpy() > 0)


def _in_year(days: np.ndarray, year: int, as_of: str) -> np.ndarray:
    lo, hi = _year_days(year, as_of)
    return (days >= lo) & (days <= hi)


def _sangong(econ: pa.Array) -> np.ndarray:
    """exprs.sangong_code(...).is_not_null(): the first five characters a 三公 code."""
    return pc.fill_null(
        pc.is_in(pc.utf8_slice_codeunits(econ, 0, 5), value_set=pa.array(SANGONG)), False
    ).to_numpy(zero_copy_only=False)


def _index_in(values: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Position of each value in ``value_set`` (a hash lookup), -1 where absent or null."""
    return (
        pc.fill_null(pc.index_in(values, value_set=value_set), -1)
        .to_numpy(zero_copy_only=False)
        .astype(np.int64)
    )


def _starts(g: np.ndarray) -> np.ndarray:
    """Start positions of the runs of equal values in a sorted ``g``."""
    if len(g) == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1])))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenated ``arange(s, s + n)`` of each (start, length)."""
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    return np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])


def _lists(gid: np.ndarray, values: pa.Array, n_groups: int, *, sort: bool = False) -> pa.Array:
    """One list per group ``0..n_groups-1`` of ``values`` (group ``gid``), in their order
    (``sort``: in code-point order)."""
    if sort:
        t = pa.table({"g": gid, "v": values})
        order = pc.sort_indices(t, sort_keys=[("g", "ascending"), ("v", "ascending")])
    else:
        order = pa.array(np.argsort(gid, kind="stable"))
    counts = np.bincount(gid, minlength=n_groups)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values.take(order))


def _concat_lists(a: pa.Array, b: pa.Array) -> pa.Array:
    """Element-wise concatenation of two list arrays of the same length."""
    la = pc.list_value_length(a).to_numpy(zero_copy_only=False).astype(np.int64)
    lb = pc.list_value_length(b).to_numpy(zero_copy_only=False).astype(np.int64)
    fa, fb = pc.list_flatten(a), pc.list_flatten(b)
    n = len(la)
    out_len = la + lb
    offsets = np.concatenate(([0], np.cumsum(out_len)))
    a_off = np.concatenate(([0], np.cumsum(la)))
    b_off = np.concatenate(([0], np.cumsum(lb)))
    idx = np.empty(offsets[-1], np.int64)
    pos_a = _ranges(offsets[:-1], la)
    pos_b = _ranges(offsets[:-1] + la, lb)
    idx[pos_a] = _ranges(a_off[:-1], la)
    idx[pos_b] = len(fa) + _ranges(b_off[:-1], lb)
    vals = pa.concat_arrays([fa, fb]).take(pa.array(idx)) if n else pa.array([], pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), vals)


def _ref(table: str, *cols: pa.Array) -> pa.Array:
    """``table:k1|k2`` evidence references (keys escaped as alerts.schema.ref does)."""
    parts: list = [pa.scalar(f"{table}:")]
    for i, c in enumerate(cols):
        if i:
            parts.append(pa.scalar("|"))
        parts.append(escape_key(c.cast(pa.string())))
    return pc.binary_join_element_wise(*parts, "")


def _join(*parts, sep: str = "|") -> pa.Array:
    return pc.binary_join_element_wise(
        *[p if isinstance(p, pa.Array | pa.Scalar) else pa.array(p) for p in parts], sep
    )


def _codes(a: pa.Array) -> tuple[np.ndarray, pd.Index]:
    """pd.factorize of a pyarrow string array (missing → -1)."""
    return pd.factorize(pd.Series(a, dtype=pd.ArrowDtype(pa.string())))


def _s(x: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(x), pa.string())


def _sum_sorted(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Exact group sums of runs starting at ``starts`` (int64 reduceat)."""
    if len(starts) == 0:
        return np.zeros(0, values.dtype)
    return np.add.reduceat(values, starts)


def _local_us(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A time-zone-aware column as local wall-clock microseconds, and where it is set."""
    local = s.dt.tz_localize(None).to_numpy()  # wall time in the column's zone
    valid = ~np.isnat(local)
    return local.astype("datetime64[us]").astype(np.int64), valid


class Workdays:
    """The run's calendar as arrays: special days (holidays, 调休) override Monday-Friday."""

    def __init__(self, calendar: dict) -> None:
        special = sorted((_day(d), w) for d, w in calendar["special"])
        self.days = np.array([d for d, _ in special], np.int64)
        self.work = np.array([w for _, w in special], bool)

    def workday(self, day: np.ndarray) -> np.ndarray:
        out = ((day + 3) % 7) < 5  # 1970-01-01 was a Thursday
        i = np.clip(np.searchsorted(self.days, day), 0, max(len(self.days) - 1, 0))
        hit = self.days[i] == day if len(self.days) else np.zeros(len(day), bool)
        out[hit] = self.work[i[hit]]
        return out


# ---------------------------------------------------------------------------- rules
def overrun(pay: pd.DataFrame, ind: pd.DataFrame, *, year: int, as_of: str) -> pa.Table:
    """budget.overrun: paid vouchers accumulated per indicator (date, voucher order)."""
    days = _days(pay)
    rows = np.flatnonzero(_paid(pay) & _in_year(days, year, as_of))
    iy = np.flatnonzero((ind["fiscal_year"] == year).to_numpy(dtype=bool))
    ind_ids = _a(ind["indicator_id"]).take(pa.array(iy))
    pos = _index_in(_a(pay["indicator_id"]).take(pa.array(rows)), ind_ids)
    keep = pos >= 0
    rows, pos = rows[keep], pos[keep]
    order = _order([pos, days[rows]], _a(pay["voucher_id"]).take(pa.array(rows)))
    rows, g = rows[order], pos[order]
    fen = pay["fen"].to_numpy()[rows]
    starts = _starts(g)
    if len(starts) == 0:
        return empty_findings("budget.overrun")
    ends = np.append(starts[1:], len(g))
    cum = np.cumsum(fen)
    base = np.repeat(np.concatenate(([0], cum[starts[1:] - 1])), ends - starts)
    cum_g = cum - base
    budget = ind["fen"].to_numpy()[iy][g]
    over = np.flatnonzero(cum_g > budget)  # a suffix of each group (amounts are positive)
    if len(over) == 0:
        return empty_findings("budget.overrun")
    first = over[_starts(g[over])]
    gi = np.searchsorted(starts, first, side="right") - 1
    end = ends[gi]
    n_after = end - first
    n_pay = end - starts[gi]
    paid = cum_g[end - 1]
    ind_pos = g[first]
    ind_id = ind_ids.take(pa.array(ind_pos))
    vouchers = _a(pay["voucher_id"])
    members = _ranges(first, n_after)
    ev_ind = pa.ListArray.from_arrays(
        pa.array(np.arange(len(first) + 1, dtype=np.int32)), _ref("indicators", ind_id)
    )
    ev_pay = pa.ListArray.from_arrays(
        pa.array(np.concatenate(([0], np.cumsum(n_after))).astype(np.int32)),
        refs(vouchers.take(pa.array(rows[members]))),
    )
    crossing = vouchers.take(pa.array(rows[first]))
    return findings_table(
        "budget.overrun",
        entity_id=ind_id,
        finding_key=_join(ind_id, pa.scalar(str(year))),
        unit_id=_a(ind["unit_id"]).take(pa.array(iy[ind_pos])),
        amount_fen=pa.array(paid - budget[first]),
        evidence=_concat_lists(ev_ind, ev_pay),
        detail=_join(crossing, _s(n_pay), _s(n_after)),
    )


def class_mismatch(pay: pd.DataFrame, ind: pd.DataFrame, *, year: int, as_of: str) -> pa.Table:
    """budget.class_mismatch: payment class outside its indicator's, or another unit's one."""
    days = _days(pay)
    econ_all = _a(pay["economic_class"])
    rows = np.flatnonzero(_paid(pay) & _in_year(days, year, as_of) & ~_sangong(econ_all))
    take = pa.array(rows)
    pos = _index_in(_a(pay["indicator_id"]).take(take), _a(ind["indicator_id"]))
    keep = pos >= 0
    rows, pos = rows[keep], pos[keep]
    econ = econ_all.take(pa.array(rows))
    # the prefix test on the (payment class, indicator class) pairs: a handful
    e_code, e_uniq = pd.factorize(pd.Series(econ, dtype=pd.ArrowDtype(pa.string())))
    c_code, c_uniq = pd.factorize(ind["economic_class"])
    wrong = np.array(
        [[False] + [not str(e).startswith(str(c)) for c in c_uniq] for e in e_uniq], dtype=bool
    ).reshape(len(e_uniq), len(c_uniq) + 1)
    wc = wrong[e_code, c_code[pos] + 1]
    # another unit's indicator: unit codes against the indicators' units
    u_code, u_uniq = pd.factorize(ind["unit_id"])
    pay_u = _index_in(_a(pay["unit_id"]).take(pa.array(rows)), pa.array(u_uniq.to_numpy()))
    ou = pay_u != u_code[pos]
    flag = wc | ou
    rows, pos, wc, ou = rows[flag], pos[flag], wc[flag], ou[flag]
    if len(rows) == 0:
        return empty_findings("budget.class_mismatch")
    vouchers = _a(pay["voucher_id"]).take(pa.array(rows))
    d = days[rows]
    o = pc.sort_indices(
        pa.table({"d": d, "v": vouchers}), sort_keys=[("d", "ascending"), ("v", "ascending")]
    )
    o = o.to_numpy()
    rows, pos, wc, ou, vouchers = rows[o], pos[o], wc[o], ou[o], vouchers.take(pa.array(o))
    econ = _a(pay["economic_class"]).take(pa.array(rows))
    unit = _a(pay["unit_id"]).take(pa.array(rows))
    keys = pd.DataFrame(
        {"i": pos, "e": pd.factorize(pd.Series(econ))[0], "u": pd.factorize(pd.Series(unit))[0]}
    )
    gid = keys.groupby(["i", "e", "u"], sort=False).ngroup().to_numpy()
    ng = int(gid.max()) + 1
    first = np.full(ng, len(gid))
    np.minimum.at(first, gid, np.arange(len(gid)))
    fen = pay["fen"].to_numpy()[rows]
    amount = np.zeros(ng, np.int64)
    np.add.at(amount, gid, fen)
    n_pay = np.bincount(gid, minlength=ng)
    ind_id = _a(ind["indicator_id"]).take(pa.array(pos[first]))
    sev = np.where(ou[first], "high", "medium")
    return findings_table(
        "budget.class_mismatch",
        entity_id=ind_id,
        finding_key=_join(
            ind_id, econ.take(pa.array(first)), unit.take(pa.array(first)), pa.scalar(str(year))
        ),
        unit_id=unit.take(pa.array(first)),
        amount_fen=pa.array(amount),
        evidence=_lists(gid, refs(vouchers), ng),
        detail=_join(pa.array(sev), _s(n_pay)),
    )


def _sangong_spent(pay: pd.DataFrame, year: int, as_of: str, by_code: bool):
    """Paid 三公 vouchers of the year per unit (and code): rows, group ids, sums."""
    days = _days(pay)
    econ = _a(pay["economic_class"])
    rows = np.flatnonzero(_paid(pay) & _in_year(days, year, as_of) & _sangong(econ))
    unit = _a(pay["unit_id"]).take(pa.array(rows))
    u_code, u_uniq = pd.factorize(pd.Series(unit, dtype=pd.ArrowDtype(pa.string())))
    if by_code:
        code = pc.utf8_slice_codeunits(econ.take(pa.array(rows)), 0, 5)
        c_code = _index_in(code, pa.array(SANGONG))
        key = u_code.astype(np.int64) * len(SANGONG) + c_code
    else:
        key = u_code.astype(np.int64)
    gid, g_uniq = pd.factorize(key)
    order = np.argsort(gid, kind="stable")
    starts = _starts(gid[order])
    fen = pay["fen"].to_numpy()[rows][order]
    spent = _sum_sorted(fen, starts)
    n_pay = np.diff(np.append(starts, len(order)))
    first_day = np.minimum.reduceat(days[rows][order], starts) if len(starts) else starts
    g_unit = u_uniq.to_numpy()[g_uniq // (len(SANGONG) if by_code else 1)]
    g_code = np.array(SANGONG)[g_uniq % len(SANGONG)] if by_code else None
    return rows, gid, spent, n_pay, first_day, pa.array(g_unit, pa.string()), g_code


def sangong_total(pay: pd.DataFrame, ind: pd.DataFrame, *, year: int, as_of: str) -> pa.Table:
    """sangong.total: a unit's 三公 spending against the total of its 三公 indicators."""
    rows, gid, spent, n_pay, _, g_unit, _ = _sangong_spent(pay, year, as_of, by_code=False)
    iy = (ind["fiscal_year"] == year).to_numpy(dtype=bool)
    ii = np.flatnonzero(iy & _sangong(_a(ind["economic_class"])))
    i_unit = _a(ind["unit_id"]).take(pa.array(ii))
    i_pos = _index_in(i_unit, g_unit)  # the indicator's unit among the spending units
    n = len(g_unit)
    budget = np.zeros(n, np.int64)
    n_ind = np.zeros(n, np.int64)
    ok = i_pos >= 0
    np.add.at(budget, i_pos[ok], ind["fen"].to_numpy()[ii][ok])
    np.add.at(n_ind, i_pos[ok], 1)
    flagged = np.flatnonzero(spent > budget)
    if len(flagged) == 0:
        return empty_findings("sangong.total")
    fmap = np.full(n, -1)
    fmap[flagged] = np.arange(len(flagged))
    prow = fmap[gid] >= 0
    ev_pay = _lists(
        fmap[gid][prow],
        refs(_a(pay["voucher_id"]).take(pa.array(rows[prow]))),
        len(flagged),
        sort=True,
    )
    irow = ok & (fmap[np.where(ok, i_pos, 0)] >= 0)
    ev_ind = _lists(
        fmap[i_pos[irow]],
        _ref("indicators", _a(ind["indicator_id"]).take(pa.array(ii[irow]))),
        len(flagged),
        sort=True,
    )
    unit = g_unit.take(pa.array(flagged))
    return findings_table(
        "sangong.total",
        entity_id=unit,
        finding_key=_join(unit, pa.scalar(str(year))),
        unit_id=unit,
        amount_fen=pa.array(spent[flagged] - budget[flagged]),
        evidence=_concat_lists(ev_pay, ev_ind),
        detail=_join(_s(n_pay[flagged]), _s(n_ind[flagged]), _s(spent[flagged])),
    )


def final_accounts(pay: pd.DataFrame, fin: pd.DataFrame, *, year: int, as_of: str) -> pa.Table:
    """sangong.final_accounts: spending per unit and 三公 category against last year's."""
    rows, gid, spent, n_pay, _, g_unit, g_code = _sangong_spent(pay, year, as_of, by_code=True)
    last = np.flatnonzero((fin["fiscal_year"] == year - 1).to_numpy(dtype=bool))
    f_unit = _a(fin["unit_id"]).take(pa.array(last))
    has_final = pc.fill_null(pc.is_in(g_unit, value_set=f_unit), False).to_numpy(
        zero_copy_only=False
    )
    f_econ = _a(fin["economic_class"]).take(pa.array(last))
    f_code = _index_in(pc.utf8_slice_codeunits(f_econ, 0, 5), pa.array(SANGONG))
    # each final-accounts row's (unit, code) among the spending groups
    g_key = pa.array(pc.binary_join_element_wise(g_unit, pa.array(g_code), "\x1f"))
    f_key = pc.binary_join_element_wise(
        f_unit, pa.array(np.array(SANGONG)[np.maximum(f_code, 0)]), "\x1f"
    )
    f_pos = np.where(f_code >= 0, _index_in(f_key, g_key), -1)
    n = len(g_unit)
    final = np.zeros(n, np.int64)
    ok = f_pos >= 0
    np.add.at(final, f_pos[ok], fin["fen"].to_numpy()[last][ok])
    flagged = np.flatnonzero(has_final & (spent > final))
    if len(flagged) == 0:
        return empty_findings("sangong.final_accounts")
    fmap = np.full(n, -1)
    fmap[flagged] = np.arange(len(flagged))
    prow = fmap[gid] >= 0
    ev_pay = _lists(
        fmap[gid][prow],
        refs(_a(pay["voucher_id"]).take(pa.array(rows[prow]))),
        len(flagged),
        sort=True,
    )
    frow = ok & (fmap[np.where(ok, f_pos, 0)] >= 0)
    fr = last[frow]
    ev_fin = _lists(
        fmap[f_pos[frow]],
        _ref(
            "final_accounts",
            _a(fin["unit_id"]).take(pa.array(fr)),
            _a(fin["fiscal_year"]).take(pa.array(fr)),
            _a(fin["economic_class"]).take(pa.array(fr)),
        ),
        len(flagged),
        sort=True,
    )
    unit = g_unit.take(pa.array(flagged))
    code = pa.array(g_code[flagged])
    return findings_table(
        "sangong.final_accounts",
        entity_id=unit,
        finding_key=_join(unit, code, pa.scalar(str(year))),
        unit_id=unit,
        amount_fen=pa.array(spent[flagged] - final[flagged]),
        evidence=_concat_lists(ev_pay, ev_fin),
        detail=_join(_s(n_pay[flagged]), _s(spent[flagged])),
    )


def own_account(pay: pd.DataFrame, acc: pd.DataFrame, *, year: int, as_of: str) -> pa.Table:
    """funds.own_account: paid into the unit's own account, or any unit's basic/real one."""
    days = _days(pay)
    rows = np.flatnonzero(_paid(pay) & _in_year(days, year, as_of))
    pos = _index_in(_a(pay["payee_account"]).take(pa.array(rows)), _a(acc["account_no"]))
    keep = pos >= 0
    rows, pos = rows[keep], pos[keep]
    acct_unit = _a(acc["unit_id"]).take(pa.array(pos))
    own = pc.fill_null(pc.equal(acct_unit, _a(pay["unit_id"]).take(pa.array(rows))), False)
    own = own.to_numpy(zero_copy_only=False)
    acct_type = pc.fill_null(_a(acc["account_type"]), "unknown")
    other = pc.is_in(acct_type.take(pa.array(pos)), value_set=pa.array(["basic", "real"]))
    flag = own | other.to_numpy(zero_copy_only=False)
    rows, pos, own = rows[flag], pos[flag], own[flag]
    if len(rows) == 0:
        return empty_findings("funds.own_account")
    vouchers = _a(pay["voucher_id"]).take(pa.array(rows))
    o = pc.sort_indices(
        pa.table({"d": days[rows], "v": vouchers}),
        sort_keys=[("d", "ascending"), ("v", "ascending")],
    ).to_numpy()
    rows, pos, own, vouchers = rows[o], pos[o], own[o], vouchers.take(pa.array(o))
    unit = _a(pay["unit_id"]).take(pa.array(rows))
    u = pd.factorize(pd.Series(unit, dtype=pd.ArrowDtype(pa.string())))[0]
    gid = pd.DataFrame({"u": u, "a": pos}).groupby(["u", "a"], sort=False).ngroup().to_numpy()
    ng = int(gid.max()) + 1
    first = np.full(ng, len(gid))
    np.minimum.at(first, gid, np.arange(len(gid)))
    amount = np.zeros(ng, np.int64)
    np.add.at(amount, gid, pay["fen"].to_numpy()[rows])
    n_pay = np.bincount(gid, minlength=ng)
    acct = _a(acc["account_no"]).take(pa.array(pos[first]))
    ufirst = unit.take(pa.array(first))
    return findings_table(
        "funds.own_account",
        entity_id=acct,
        finding_key=_join(ufirst, acct, pa.scalar(str(year))),
        unit_id=ufirst,
        amount_fen=pa.array(amount),
        evidence=_lists(gid, refs(vouchers), ng),
        detail=_join(pa.array(np.where(own[first], "high", "medium")), _s(n_pay)),
    )


def off_hours(
    pay: pd.DataFrame,
    *,
    year: int,
    as_of: str,
    working_hours: tuple[str, str],
    grace_minutes: int,
    calendar: dict,
) -> pa.Table:
    """timing.off_hours: drafted or approved out of working time, or paid on a day off."""
    cal = Workdays(calendar)
    (h0, m0), (h1, m1) = (map(int, t.split(":")) for t in working_hours)
    lo, hi = h0 * 60 + m0 - grace_minutes, h1 * 60 + m1 + grace_minutes
    days = _days(pay)
    rows = np.flatnonzero(_in_year(days, year, as_of))
    sub = pay.iloc[rows]
    bad = ~cal.workday(days[rows])
    offday = bad.copy()
    for col in ("created_at", "approved_at"):
        us, valid = _local_us(sub[col])
        day = us // US_PER_DAY
        minutes = (us - day * US_PER_DAY) // US_PER_MIN
        off = valid & ~cal.workday(day)
        night = valid & ((minutes < lo) | (minutes > hi))
        bad |= off | night
        offday |= off
    f = np.flatnonzero(bad)
    r = rows[f]
    v = _a(pay["voucher_id"]).take(pa.array(r))
    ev = pa.ListArray.from_arrays(pa.array(np.arange(len(r) + 1, dtype=np.int32)), refs(v))
    return findings_table(
        "timing.off_hours",
        entity_id=v,
        finding_key=v,
        unit_id=_a(pay["unit_id"]).take(pa.array(r)),
        amount_fen=pa.array(pay["fen"].to_numpy()[r]),
        evidence=ev,
        detail=pa.array(np.where(offday[f], "medium", "low")),
    )


def subsidy_duplicate(sub: pd.DataFrame, progs: pd.DataFrame, *, year: int, as_of: str) -> pa.Table:
    """subsidy.duplicate: a beneficiary paid more often in a period than the period (and a
    catch-up of the unpaid periods before it) allows."""
    days = _days(sub)
    fen_all = sub["fen"].to_numpy()
    pos_prog = _index_in(_a(sub["program_code"]), _a(progs["program_code"]))
    rows = np.flatnonzero((days <= _day(as_of)) & (fen_all != 0) & (pos_prog >= 0))
    prog = pos_prog[rows]
    period = _a(progs["period"]).take(pa.array(prog))
    d = days[rows].astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m0 = d.astype("datetime64[M]").astype(np.int64) % 12
    q0 = m0 // 3
    per = pd.factorize(pd.Series(period, dtype=pd.ArrowDtype(pa.string())))
    kind = np.array([str(x) for x in per[1]], dtype=object)[per[0]]
    pidx = np.select(
        [kind == "month", kind == "quarter", kind == "year"], [y * 12 + m0, y * 4 + q0, y], 0
    )
    ben = _a(sub["beneficiary_id"]).take(pa.array(rows))
    masked = pc.fill_null(pc.match_substring(ben, "*"), False)
    mname = pa.nulls(len(rows), pa.string())
    if pc.any(masked).as_py():
        name = _a(sub["beneficiary_name"]).take(pa.array(rows))
        norm = pc.fill_null(
            pc.replace_substring_regex(pc.utf8_normalize(name, "NFKC"), WHITE_SPACE, ""), ""
        )
        mname = pc.if_else(masked, norm, mname)
    b_code = pd.factorize(pd.Series(ben, dtype=pd.ArrowDtype(pa.string())))[0]
    n_code = pd.factorize(pd.Series(mname, dtype=pd.ArrowDtype(pa.string())))[0]  # NA → -1
    order = np.lexsort((pidx, prog, n_code, b_code))
    rows, b_code, n_code, prog, pidx = (a[order] for a in (rows, b_code, n_code, prog, pidx))
    ben, mname, kind = ben.take(pa.array(order)), mname.take(pa.array(order)), kind[order]
    key_change = np.concatenate(
        (
            [True],
            (b_code[1:] != b_code[:-1])
            | (n_code[1:] != n_code[:-1])
            | (prog[1:] != prog[:-1])
            | (pidx[1:] != pidx[:-1]),
        )
    )
    starts = np.flatnonzero(key_change)
    fen = fen_all[rows]
    pos = fen > 0
    n_pos = _sum_sorted(pos.astype(np.int64), starts)
    n_neg = (np.diff(np.append(starts, len(rows)))) - n_pos
    net = _sum_sorted(fen, starts)
    drow = days[rows]
    first_d = np.minimum.reduceat(drow, starts) if len(starts) else starts
    last_d = np.maximum.reduceat(drow, starts) if len(starts) else starts
    n_eff = n_pos - n_neg
    paid = np.flatnonzero((n_eff > 0) & (net > 0))  # paid periods, in key order
    s = starts[paid]
    same = np.zeros(len(paid), bool)
    if len(paid) > 1:
        same[1:] = (
            (b_code[s[1:]] == b_code[s[:-1]])
            & (n_code[s[1:]] == n_code[s[:-1]])
            & (prog[s[1:]] == prog[s[:-1]])
        )
    gap = np.zeros(len(paid), np.int64)
    gap[1:] = np.maximum(pidx[s[1:]] - pidx[s[:-1]] - 1, 0)
    gap = np.where(same, gap, 0)
    allowed = gap + 1
    last_year = last_d[paid].astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    fl = np.flatnonzero((n_eff[paid] > allowed) & (last_year + 1970 == year))
    if len(fl) == 0:
        return empty_findings("subsidy.duplicate")
    grp = paid[fl]  # group numbers of the flagged periods
    g_start = starts[grp]
    g_len = np.diff(np.append(starts, len(rows)))[grp]
    members = _ranges(g_start, g_len)
    gid = np.repeat(np.arange(len(grp)), g_len)
    disb = _a(sub["disbursement_id"]).take(pa.array(rows[members]))
    o = pc.sort_indices(
        pa.table({"g": gid, "d": drow[members], "v": disb}),
        sort_keys=[("g", "ascending"), ("d", "ascending"), ("v", "ascending")],
    ).to_numpy()
    members, disb = members[o], disb.take(pa.array(o))
    mfen = fen[members]
    # payments due: the first `allowed` positive ones by date
    posm = mfen > 0
    rank = np.cumsum(posm) - 1
    gstart_pos = np.concatenate(([0], np.cumsum(np.bincount(gid[posm], minlength=len(grp)))))[:-1]
    nth = rank - gstart_pos[gid]
    due_rows = posm & (nth < allowed[fl][gid])
    due = np.zeros(len(grp), np.int64)
    np.add.at(due, gid[due_rows], mfen[due_rows])
    # unit: the first non-null by date
    unit_m = _a(sub["unit_id"]).take(pa.array(rows[members]))
    has_unit = pc.is_valid(unit_m).to_numpy(zero_copy_only=False)
    iu = np.flatnonzero(has_unit)
    fu = np.full(len(grp), len(members))
    np.minimum.at(fu, gid[iu], iu)
    unit = pa.concat_arrays([unit_m, pa.nulls(1, pa.string())]).take(pa.array(fu))
    # the period's label from its first date
    fd = first_d[grp].astype("datetime64[D]")
    fy = fd.astype("datetime64[Y]").astype(np.int64) + 1970
    fm = fd.astype("datetime64[M]").astype(np.int64) % 12 + 1
    gk = kind[g_start]
    label = np.select(
        [gk == "month", gk == "quarter", gk == "year", gk == "once"],
        [
            np.char.add(np.char.add(fy.astype(str), "-"), np.char.zfill(fm.astype(str), 2)),
            np.char.add(np.char.add(fy.astype(str), "-Q"), ((fm - 1) // 3 + 1).astype(str)),
            fy.astype(str),
            np.full(len(grp), "once"),
        ],
        None,
    )
    prog_code = _a(progs["program_code"]).take(pa.array(prog[g_start]))
    mn = mname.take(pa.array(g_start))
    key = _join(prog_code, pa.array(label, pa.string()))
    key = pc.if_else(pc.is_valid(mn), _join(key, pc.fill_null(mn, "")), key)
    net_f = net[grp]
    return findings_table(
        "subsidy.duplicate",
        entity_id=ben.take(pa.array(g_start)),
        finding_key=key,
        unit_id=unit,
        amount_fen=pa.array(np.maximum(net_f - due, 0)),
        evidence=_lists(gid, _ref("subsidies", disb), len(grp)),
        detail=_join(_s(n_eff[grp]), _s(allowed[fl]), _s(net_f)),
    )


def multi_unit(pr: pd.DataFrame, *, year: int, as_of: str, max_share: float) -> pa.Table:
    """payroll.multi_unit: one employee id paid by two or more units for one month."""
    days = _days(pr)
    fen = pr["fen"].to_numpy()
    month = _a(pr["month"])
    in_months = pc.fill_null(
        pc.and_(pc.greater_equal(month, f"{year}-01"), pc.less_equal(month, f"{year}-12")), False
    )
    rows = np.flatnonzero(
        (days <= _day(as_of)) & (fen > 0) & in_months.to_numpy(zero_copy_only=False)
    )
    take = pa.array(rows)
    e = _codes(_a(pr["employee_id"]).take(take))[0]
    mo, mo_u = _codes(month.take(take))
    u = _codes(_a(pr["unit_id"]).take(take))[0]
    key = e.astype(np.int64) * (len(mo_u) + 1) + mo
    k_code, k_uniq = pd.factorize(key)
    n_keys = len(k_uniq)
    pair = np.unique(k_code.astype(np.int64) * (int(u.max(initial=0)) + 1) + u)
    n_units = np.bincount(pair // (int(u.max(initial=0)) + 1), minlength=n_keys)
    share = float((n_units > 1).mean()) if n_keys else 0.0
    if share > max_share:
        return empty_findings("payroll.multi_unit")
    multi = n_units[k_code] > 1
    rows, k_code, u = rows[multi], k_code[multi], u[multi]
    if len(rows) == 0:
        return empty_findings("payroll.multi_unit")
    take = pa.array(rows)
    unit = _a(pr["unit_id"]).take(take)
    acct = _a(pr["account_no"]).take(take)
    emp = _a(pr["employee_id"]).take(take)
    mon = month.take(take)
    # per (employee-month, unit): amount, first date, accounts
    pu = pd.DataFrame(
        {
            "k": k_code,
            "u": u,
            "fen": fen[rows],
            "d": days[rows],
            "a": pd.Series(acct, dtype=pd.ArrowDtype(pa.string())),
            "unit": pd.Series(unit, dtype=pd.ArrowDtype(pa.string())),
        }
    )
    per = (
        pu.groupby(["k", "u"], sort=False)
        .agg(
            fen=("fen", "sum"),
            d=("d", "min"),
            unit=("unit", "first"),
            account=("a", lambda s: "/".join(sorted(set(s)))),
        )
        .reset_index()
    )
    per = per.sort_values(["k", "d", "unit"], kind="stable")
    g = per.groupby("k", sort=False)
    agg = g.agg(
        n_units=("u", "size"),
        total=("fen", "sum"),
        top=("fen", "max"),
        n_accounts=("account", "nunique"),
        unit=("unit", "last"),
    )
    kk = agg.index.to_numpy()
    kpos = pd.Index(kk)
    first_row = pd.Series(np.arange(len(rows))).groupby(k_code).first()
    fr = first_row.reindex(kk).to_numpy()
    ev = _ref("payroll", unit, emp, mon)
    gid = kpos.get_indexer(k_code)
    return findings_table(
        "payroll.multi_unit",
        entity_id=emp.take(pa.array(fr)),
        finding_key=mon.take(pa.array(fr)),
        unit_id=pa.array(agg["unit"].astype(str).to_numpy(), pa.string()),
        amount_fen=pa.array((agg["total"] - agg["top"]).to_numpy(np.int64)),
        evidence=_lists(gid, ev, len(kk), sort=True),
        detail=_join(
            _s(agg["n_units"].to_numpy()),
            _s(agg["top"].to_numpy()),
            _s(agg["total"].to_numpy()),
            _s((agg["n_accounts"].to_numpy() == 1).astype(np.int8)),
        ),
    )


def benford_table(
    pay: pd.DataFrame,
    *,
    year: int,
    as_of: str,
    min_first: int = 300,
    min_two: int = 500,
    min_amount: float = 10.0,
    min_decades: float = 1.0,
    exclude_classes: tuple[str, ...] = ("301", "303"),
) -> pa.Table:
    """amount_benford.benford_table without the p-values: per unit the distinct numbers
    (unit, payee, fen, class), their spread in decades, first- and first-two-digit MAD
    against Benford and Nigrini's band (too_small / too_narrow gates first)."""
    days = _days(pay)
    fen_all = pay["fen"].to_numpy()
    econ = pc.fill_null(_a(pay["economic_class"]), "")
    keep = _paid(pay) & (fen_all >= min_amount * 100) & _in_year(days, year, as_of)
    for c in exclude_classes:
        keep &= ~pc.starts_with(econ, str(c)).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(keep)
    take = pa.array(rows)
    u, u_uniq = pd.factorize(
        pd.Series(_a(pay["unit_id"]).take(take), dtype=pd.ArrowDtype(pa.string()))
    )
    a = pd.factorize(
        pd.Series(_a(pay["payee_account"]).take(take), dtype=pd.ArrowDtype(pa.string()))
    )[0]
    c = pd.factorize(
        pd.Series(pc.utf8_slice_codeunits(econ.take(take), 0, 5), dtype=pd.ArrowDtype(pa.string()))
    )[0]
    fen = fen_all[rows]
    dup = pd.DataFrame({"u": u, "a": a, "f": fen, "c": c}).duplicated().to_numpy()
    u, fen = u[~dup], fen[~dup]
    nu = len(u_uniq)
    pow10 = 10 ** np.arange(19, dtype=np.int64)
    digits = np.searchsorted(pow10, fen, side="right")  # number of digits, exactly
    d2 = fen // pow10[np.maximum(digits - 2, 0)]
    obs = np.zeros((nu, 90))
    np.add.at(obs, (u, d2 - 10), 1.0)
    n = obs.sum(1)
    share = obs / n[:, None]
    mad_two = np.abs(share - B2[None, :]).mean(1)
    s1 = obs.reshape(nu, 9, 10).sum(2) / n[:, None]
    mad_first = np.abs(s1 - B1[None, :]).mean(1)
    order = np.lexsort((fen, u))
    us, fs = u[order], fen[order]
    starts = _starts(us)
    cnt = np.diff(np.append(starts, len(us)))
    q90 = fs[starts + nearest_index(cnt, 0.9)].astype(float)
    q10 = fs[starts + nearest_index(cnt, 0.1)].astype(float)
    with np.errstate(divide="ignore"):
        decades = np.log10(q90 / q10)
    gu = us[starts]
    dec = np.empty(nu)
    dec[gu] = decades
    n_int = n.astype(np.int64)
    return pa.table(
        {
            "unit_id": pa.array(u_uniq.to_numpy(), pa.string()),
            "n": pa.array(n_int),
            "decades": pa.array(dec),
            "mad_first": pa.array(mad_first),
            "band_first": pa.array(
                [
                    band_of(m, BANDS_FIRST, k, min_first, d, min_decades)
                    for m, k, d in zip(mad_first, n_int, dec, strict=True)
                ]
            ),
            "mad_two": pa.array(mad_two),
            "band_two": pa.array(
                [
                    band_of(m, BANDS_TWO, k, min_two, d, min_decades)
                    for m, k, d in zip(mad_two, n_int, dec, strict=True)
                ]
            ),
        }
    )


# -------------------------------------------------------------------------- the set
def run_rules(t: dict[str, pd.DataFrame], p: dict, clock) -> tuple[pa.Table, pa.Table]:
    """Every twinned rule, each timed as a step of ``clock``; (findings, Benford table)."""
    y, a = p["year"], p["as_of"]
    out = []
    with clock.step("overrun"):
        out.append(overrun(t["payments"], t["indicators"], year=y, as_of=a))
    with clock.step("class_mismatch"):
        out.append(class_mismatch(t["payments"], t["indicators"], year=y, as_of=a))
    with clock.step("sangong_total"):
        out.append(sangong_total(t["payments"], t["indicators"], year=y, as_of=a))
    with clock.step("final_accounts"):
        out.append(final_accounts(t["payments"], t["final_accounts"], year=y, as_of=a))
    with clock.step("benford"):
        bt = benford_table(t["payments"], year=y, as_of=a, **p["benford"])
    with clock.step("subsidy_duplicate"):
        out.append(subsidy_duplicate(t["subsidies"], t["subsidy_programs"], year=y, as_of=a))
    with clock.step("multi_unit"):
        out.append(multi_unit(t["payroll"], year=y, as_of=a, **p["multi_unit"]))
    with clock.step("own_account"):
        out.append(own_account(t["payments"], t["unit_accounts"], year=y, as_of=a))
    with clock.step("off_hours"):
        out.append(
            off_hours(
                t["payments"],
                year=y,
                as_of=a,
                working_hours=p["working_hours"],
                calendar=p["calendar"],
                **p["off_hours"],
            )
        )
    return pa.concat_tables(out), bt

"""Bank reconciliation shared by the ``bank.*`` detectors, computed once per run.

The rules are :mod:`auditlib.detectors.bank_missing_debit`'s (see its docstring); this
module holds the matching helpers and a compact, memory-lean implementation of the
matching that :meth:`Context.shared` keeps while the ``bank.*`` detectors run:

- :func:`by_id` (``bank.by_id``): the bank rows that may be debits, the payments each
  names by voucher id, and the vouchers that moved money — as row-position arrays
  over the loaded tables, never as copies of them. Used by ``bank.mismatch`` and by
- :func:`matching` (``bank.reconcile:match_days=N``): :func:`by_id` plus the greedy
  passes (amount, split, batch) on what the voucher ids leave unmatched — a few rows.

Only the columns needed are read from the tables (a column of an in-memory table is
shared, not copied); whole-table work is masks, integer positions and one hash join on
the voucher id. Keys are taken as unique (``voucher_id`` of ``payments``, ``bank_ref``
of ``bank_transactions``), as :func:`auditlib.io.tables.load_dir` guarantees.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from auditlib.calendar import Calendar
from auditlib.exprs import fen
from auditlib.schemas import TABLES

CNY_CODES = ("CNY", "RMB", "156", "人民币")
"""Currency values read as Chinese yuan (an empty currency is CNY by the contract)."""

PARTNER_STATUSES = ("paid", "returned")
"""Vouchers that moved money: a returned voucher was debited, then credited back."""


# ----------------------------------------------------------------------------- expressions
def account_key(expr: pl.Expr) -> pl.Expr:
    """An account number compared loosely: NFKC, no spaces or dashes, upper case.

    >>> df = pl.DataFrame({"a": ["6222 0012-3456", "gb82west"]})
    >>> df.select(account_key(pl.col("a")))["a"].to_list()
    ['622200123456', 'GB82WEST']
    """
    return expr.str.normalize("NFKC").str.replace_all(r"[\s\-]", "").str.to_uppercase()


def _masked_fits(x: pl.Expr, y: pl.Expr) -> pl.Expr:
    head = x.str.extract(r"^([^*]*)\*", 1)
    tail = x.str.extract(r"\*([^*]*)$", 1)
    return (
        x.str.contains("*", literal=True)
        & y.str.starts_with(head)
        & y.str.ends_with(tail)
        & (y.str.len_chars() >= head.str.len_chars() + tail.str.len_chars())
    ).fill_null(False)


def accounts_match(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Two account keys name the same account: equal, or one is masked (``*``) and the
    other agrees with its visible head and tail.

    >>> df = pl.DataFrame({"a": ["6222001234", "6222001234", "123"],
    ...                    "b": ["6222****1234", "6222****9999", "124"]})
    >>> df.select(accounts_match(pl.col("a"), pl.col("b")).alias("m"))["m"].to_list()
    [True, False, False]
    """
    return (a == b).fill_null(False) | _masked_fits(a, b) | _masked_fits(b, a)


def cny() -> pl.Expr:
    """A bank row in Chinese yuan (empty currency defaults to CNY)."""
    cur = pl.col("currency").str.strip_chars().str.to_uppercase()
    return cur.is_null() | cur.is_in(list(CNY_CODES))


def canonical(lf: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """Add any canonical column a frame lacks, as nulls (a hand-built frame may omit them)."""
    have = lf.collect_schema().names()
    schema = TABLES[table].polars_schema()
    add = [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in have]
    return lf.with_columns(add) if add else lf


def partner_expr() -> pl.Expr:
    """A voucher that moved money: paid or returned (null status is paid), amount > 0."""
    return pl.col("status").fill_null("paid").is_in(list(PARTNER_STATUSES)) & (
        pl.col("amount") > 0
    )


def workday_index(cal: Calendar, dates: list[pl.Series]) -> pl.DataFrame:
    """``date → wd``: the number of working days up to and including each date, over the
    span of the dates given (a weekend day has the index of the working day before).
    A year the calendar does not cover is an error (CalendarError), never a guess."""
    days = pl.concat([d.drop_nulls().cast(pl.Date) for d in dates])
    if days.len() == 0:
        return pl.DataFrame(schema={"date": pl.Date, "wd": pl.Int64})
    cal.check_years(days.dt.year().unique().to_list())
    lo, hi = days.min(), days.max()
    span = pl.date_range(lo - dt.timedelta(days=1), hi, "1d", eager=True).alias("date")
    return pl.DataFrame(span).with_columns(
        cal.workday_expr(pl.col("date")).cast(pl.Int64).cum_sum().alias("wd")
    )


# ----------------------------------------------------------------------------- greedy passes
def items(df: pl.DataFrame, key: str, date: str, by: list[str] | None) -> pl.DataFrame:
    """Rows (``by`` None) or groups of two or more rows as match items: ``id``, ``members``,
    ``fen``, ``acct``, ``date``, ``wd``."""
    if by is None:
        return df.select(
            pl.col(key).alias("id"), pl.concat_list(key).alias("members"), "fen", "acct",
            pl.col(date).alias("date"), "wd",
        )
    return (
        df.filter(pl.col("acct").is_not_null())
        .group_by(by)
        .agg(pl.col(key).sort().alias("members"), pl.col("fen").sum(), pl.col("wd").first())
        .filter(pl.col("members").list.len() >= 2)
        .select(
            pl.col("members").list.join("+").alias("id"), "members", "fen", "acct",
            pl.col(date).alias("date"), "wd",
        )
    )


def greedy(left: pl.DataFrame, right: pl.DataFrame, match_days: int) -> pl.DataFrame:
    """One-to-one pairs of items on (account, fen, date), closest first, ties by ids — a
    greedy assignment found as rounds of mutual best choices — as ``voucher_id, bank_ref``.

    Identical items (same account, amount and date) are paired in order of their ids
    first, so a bulk of identical payments resolves in one round, not one per pair."""
    k4 = pl.col("acct").str.slice(-4).alias("k4")
    rank = pl.col("id").rank("ordinal").over("fen", "acct", "date").alias("rank")
    r = right.select(
        pl.col("id").alias("rid"), pl.col("members").alias("refs"), "fen",
        pl.col("acct").alias("acct_r"), pl.col("date").alias("date_r"),
        pl.col("wd").alias("wd_r"), k4, rank.alias("rank_r"),
    )
    gap = (pl.col("wd_r") - pl.col("wd")).abs()
    days = (pl.col("date_r") - pl.col("date")).dt.total_days().abs()
    skew = (pl.col("rank_r").cast(pl.Int64) - pl.col("rank").cast(pl.Int64)).abs()
    left = left.with_columns(k4, rank)
    masked = pl.col("acct").str.contains("*", literal=True)
    masked_r = pl.col("acct_r").str.contains("*", literal=True)
    exact = left.join(r.with_columns(pl.col("acct_r").alias("acct")), on=["fen", "acct"])
    fuzzy = pl.concat([
        left.filter(masked).join(r, on=["fen", "k4"]),
        left.filter(~masked).join(r.filter(masked_r), on=["fen", "k4"]),
    ], how="diagonal_relaxed").filter(accounts_match(pl.col("acct"), pl.col("acct_r")))
    cand = (
        pl.concat([exact, fuzzy], how="diagonal_relaxed")
        .filter(gap <= match_days)
        .sort(gap, days, skew, "id", "rid")
        .with_row_index("r")
        .select("r", "id", "rid", "members", "refs")
    )
    out = []
    while cand.height:
        r_min = pl.col("r").min()
        best = cand.filter((pl.col("r") == r_min.over("id")) & (pl.col("r") == r_min.over("rid")))
        out.append(best)
        cand = cand.join(best.select("id"), on="id", how="anti")
        cand = cand.join(best.select("rid"), on="rid", how="anti")
    if not out:
        return pl.DataFrame(schema={"voucher_id": pl.String, "bank_ref": pl.String})
    return (
        pl.concat(out).explode("members").explode("refs")
        .select(pl.col("members").alias("voucher_id"), pl.col("refs").alias("bank_ref"))
    )


# ----------------------------------------------------------------------------- coverage
def stream_coverage(counts: pl.DataFrame, stream: list[str], date: str) -> pl.DataFrame:
    """Coverage of each stream (a unit and payment method) from counts: ``counts`` has one
    row per (stream, ``date``) with ``n`` rows and ``m`` matched rows; the result one row
    per stream with ``first``,
    ``last`` (its first and last matched ``date``), ``n_stream``, ``n_matched``, ``share``.
    A row of the stream is in the span when ``first <= date <= last``."""
    has = pl.col("m") > 0
    span = counts.group_by(stream).agg(
        pl.col(date).filter(has).min().alias("first"), pl.col(date).filter(has).max().alias("last"),
    )
    inside = pl.col(date).is_between(pl.col("first"), pl.col("last")).fill_null(False)
    return (
        counts.join(span, on=stream, how="left", nulls_equal=True)
        .group_by(stream)
        .agg(
            pl.col("first", "last").first(),
            pl.col("n").filter(inside).sum().alias("n_stream"),
            pl.col("m").filter(inside).sum().alias("n_matched"),
        )
        .with_columns((pl.col("n_matched") / pl.col("n_stream").clip(1)).alias("share"))
    )


def in_span(date: str) -> pl.Expr:
    """A row inside its stream's span (after a join with :func:`stream_coverage`)."""
    return pl.col(date).is_between(pl.col("first"), pl.col("last")).fill_null(False)


# ----------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class ById:
    """Bank rows that may be debits and the vouchers their ids name, by row position.

    Positions index the tables as given (``p`` into ``payments``, ``b`` into
    ``bank_transactions``)."""

    n_pay: int
    n_bank: int
    partner: np.ndarray
    """bool per payments row: the voucher moved money (paid or returned, amount > 0)."""
    keep: np.ndarray
    """bool per bank row: may be a debit (not ``credit``, amount > 0)."""
    cls_debit: np.ndarray
    """bool per bank row: ``direction`` debit, or empty in a table with no credit."""
    cny: np.ndarray
    """bool per bank row: in yuan."""
    named_b: np.ndarray
    named_p: np.ndarray
    """Kept bank rows whose ``voucher_id`` names a payments row (any status), and that
    row: ``named_p[i]`` is the payments position of bank row ``named_b[i]``."""

    @property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(b, p) of the matches by voucher id: the named voucher moved money."""
        ok = self.partner[self.named_p]
        return self.named_b[ok], self.named_p[ok]


def by_id(payments: pl.LazyFrame, bank: pl.LazyFrame) -> ById:
    """Match bank rows to vouchers by the voucher id they carry (see :class:`ById`)."""
    pay = canonical(payments, "payments")
    bnk = canonical(bank, "bank_transactions")
    partner = pay.select(partner_expr().fill_null(False).alias("x")).collect()["x"]
    has_credit = bool(
        bnk.select((pl.col("direction") == "credit").any()).collect().item() or False
    )
    cur = bnk.select(pl.col("currency").unique()).collect()["currency"]
    cny_values = (
        pl.DataFrame({"currency": cur}).filter(cny() & pl.col("currency").is_not_null())["currency"]
    )
    is_credit = (pl.col("direction") == "credit").fill_null(False)
    flags = bnk.select(
        (~is_credit & (pl.col("amount") > 0)).fill_null(False).alias("keep"),
        ((pl.col("direction") == "debit").fill_null(False) | (~is_credit & pl.lit(not has_credit)))
        .alias("cls_debit"),
        (pl.col("currency").is_null() | pl.col("currency").is_in(cny_values.implode()))
        .alias("cny"),
    ).collect()
    keep = flags["keep"].to_numpy()
    bid = bnk.select("voucher_id").collect()["voucher_id"]
    sel = keep & bid.is_not_null().to_numpy()
    named = (
        pl.DataFrame({"voucher_id": bid.filter(pl.Series(sel)),
                      "b": np.flatnonzero(sel).astype(np.int64)})
        .lazy()
        .join(pay.select("voucher_id").with_row_index("p"), on="voucher_id", how="inner")
        .select("b", "p")
        .collect()
    )
    return ById(
        n_pay=partner.len(),
        n_bank=keep.shape[0],
        partner=partner.to_numpy(),
        keep=keep,
        cls_debit=flags["cls_debit"].to_numpy(),
        cny=flags["cny"].to_numpy(),
        named_b=named["b"].to_numpy(),
        named_p=named["p"].cast(pl.Int64).to_numpy(),
    )


@dataclass(frozen=True)
class Matching:
    """The outcome of matching vouchers to bank debits (see :func:`matching`)."""

    ids: ById
    p_matched: np.ndarray
    """bool per payments row: a voucher that moved money and has a bank debit."""
    b_voucher: np.ndarray
    """int64 per bank row: payments position of the voucher the row pays, else -1."""
    greedy_links: pl.DataFrame
    """The matches not by voucher id: ``voucher_id``, ``bank_ref``, ``how``, ``p``, ``b``."""
    wd: pl.DataFrame
    """The working-day index (``date``, ``wd``)."""
    first_v: dt.date | None
    last_v: dt.date | None
    """First and last value date of the bank rows that may be debits."""
    pay_min: dt.date | None
    pay_max: dt.date | None
    """First and last pay date of the vouchers that moved money."""

    @property
    def n_debits(self) -> int:
        return int(self.ids.keep.sum())

    @property
    def n_partner(self) -> int:
        return int(self.ids.partner.sum())

    def wd_of(self, day: dt.date | None) -> int | None:
        if day is None:
            return None
        hit = self.wd.filter(pl.col("date") == day)["wd"]
        return int(hit[0]) if hit.len() else None

    def last_wd_date(self, limit: int) -> dt.date | None:
        """The last date whose working-day index is at most ``limit`` (None if none)."""
        hit = self.wd.filter(pl.col("wd") <= limit)["date"]
        return hit.max() if hit.len() else None


def matching(
    payments: pl.LazyFrame, bank: pl.LazyFrame, cal: Calendar, ids: ById, *, match_days: int
) -> Matching:
    """Match vouchers to bank debits by voucher id, else by account, amount and date."""
    pay = canonical(payments, "payments")
    bnk = canonical(bank, "bank_transactions")
    b_pairs, p_pairs = ids.pairs
    p_matched = np.zeros(ids.n_pay, dtype=bool)
    p_matched[p_pairs] = True
    b_voucher = np.full(ids.n_bank, -1, dtype=np.int64)
    b_voucher[b_pairs] = p_pairs
    named = np.zeros(ids.n_bank, dtype=bool)
    named[ids.named_b] = True

    pay_dates = pay.select("pay_date").collect()["pay_date"]
    value_dates = bnk.select("value_date").collect()["value_date"]
    partner, keep = pl.Series(ids.partner), pl.Series(ids.keep)
    v_days = pay_dates.filter(partner)
    b_days = value_dates.filter(keep)
    wd = workday_index(cal, [v_days.unique(), b_days.unique()])

    # what the voucher ids leave: vouchers unmatched by id, CNY rows naming no voucher
    rest_v = pl.Series(ids.partner & ~p_matched)
    rest_b = pl.Series(ids.keep & ids.cny & ~named)
    def left_over(lf: pl.LazyFrame, mask: pl.Series, pos: str, day: str, cols: tuple[str, ...],
                  keys: dict[str, str]) -> pl.DataFrame:
        """The rows ``mask`` keeps, with their position (``pos``), ``fen``, account keys
        (``keys``: column → name) and working-day index of ``day``."""
        return (
            lf.select(*cols, "amount", *keys).collect()
            .filter(mask)
            .with_columns(pl.Series(pos, np.flatnonzero(mask.to_numpy())),
                          fen(pl.col("amount")).alias("fen"),
                          *(account_key(pl.col(c)).alias(k) for c, k in keys.items()))
            .join(wd, left_on=day, right_on="date", how="left")
        )

    rest = left_over(pay, rest_v, "p", "pay_date", ("voucher_id", "unit_id", "pay_date"),
                     {"payee_account": "acct"})
    rest_rows = left_over(bnk, rest_b, "b", "value_date", ("bank_ref", "value_date"),
                          {"payee_account": "acct", "payer_account": "payer_key"})
    v_pos, b_pos = rest.select("voucher_id", "p"), rest_rows.select("bank_ref", "b")
    passes = (
        ("amount", None, None),
        ("split", None, ["payer_key", "acct", "value_date"]),
        ("batch", ["unit_id", "acct", "pay_date"], None),
    )
    matched = []
    for how, v_by, b_by in passes:
        left = items(rest, "voucher_id", "pay_date", v_by)
        right = items(rest_rows, "bank_ref", "value_date", b_by)
        pairs = greedy(left, right, match_days).with_columns(pl.lit(how).alias("how"))
        matched.append(pairs)
        rest = rest.join(pairs, on="voucher_id", how="anti")
        rest_rows = rest_rows.join(pairs, on="bank_ref", how="anti")
    links = (
        pl.concat(matched)
        .join(v_pos, on="voucher_id", how="inner")
        .join(b_pos, on="bank_ref", how="inner")
        .sort("voucher_id", "bank_ref")
    )
    p_matched[links["p"].to_numpy()] = True
    per_row = links.unique("bank_ref", keep="first", maintain_order=True)
    b_voucher[per_row["b"].to_numpy()] = per_row["p"].to_numpy()
    return Matching(
        ids=ids, p_matched=p_matched, b_voucher=b_voucher, greedy_links=links, wd=wd,
        first_v=b_days.min(), last_v=b_days.max(), pay_min=v_days.min(), pay_max=v_days.max(),
    )


# ----------------------------------------------------------------------------- per run
def shared_by_id(tables, ctx) -> ById:
    """:func:`by_id` of the run's tables, once per run (``ctx.shared``)."""
    pay, bank = tables["payments"], tables["bank_transactions"]
    return ctx.shared("bank.by_id", (pay, bank), lambda: by_id(pay, bank))


def shared_matching(tables, ctx, match_days: int) -> Matching:
    """:func:`matching` of the run's tables with ``match_days``, once per run and value."""
    pay, bank = tables["payments"], tables["bank_transactions"]
    return ctx.shared(
        f"bank.reconcile:match_days={match_days}", (pay, bank),
        lambda: matching(pay, bank, ctx.calendar, shared_by_id(tables, ctx),
                         match_days=match_days),
    )


def take(lf: pl.LazyFrame, positions: np.ndarray, name: str) -> pl.LazyFrame:
    """The rows of ``lf`` at ``positions`` (a few), with their position as column ``name``."""
    pos = pl.Series(name, np.unique(positions), dtype=pl.UInt32)
    return lf.with_row_index(name).filter(pl.col(name).is_in(pos.implode()))

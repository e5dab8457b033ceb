"""``bank.missing_debit``: a voucher recorded as paid that the bank never debited.

Bank reconciliation (银行对账), the payments side. Every paid voucher
(``status`` paid, positive amount) should have a debit in the bank records.
Matching, shared by the ``bank.*`` detectors (:func:`reconcile`):

1. **by voucher id**: the bank row's ``voucher_id`` (camt.053 ``EndToEndId``)
   equals the voucher's; every bank row carrying the id belongs to it, in any
   currency;
2. **else by payee account, amount and date**, for banks that do not carry the
   voucher id: same payee account (spaces and dashes ignored; a masked bank
   account such as ``6222****1234`` matches on its visible digits), exactly
   the same amount (integer fen), value date within ``match_days`` *working*
   days of the pay date (so a payment on the eve of a holiday debited after it
   still matches). One bank row pays one voucher: candidates are paired
   closest first (a greedy assignment), so two identical vouchers and one
   debit leave one voucher unmatched. Then, among what is left, one voucher
   against several debits of one payer to that account on one day (a payment
   the bank split), and several vouchers of one unit to one account on one day
   against one debit (a batch the bank booked as one sum). Only CNY rows, and
   never a row whose ``voucher_id`` names another voucher of the payments table.

Bank rows taken: not ``credit``; an empty ``direction`` counts as a debit
when the table holds no credit row at all (a debit-only receipt export), and
otherwise may still *match* a voucher but is never judged on its own; amount
> 0 (negative rows are reversals; a signed export without a direction column
is therefore not reconciled, and stays silent). Currency empty or CNY
(``CNY``, ``RMB``, ``156``, ``人民币``) for matching by amount; a
foreign-currency row counts only through its voucher id, and is never judged.

Only vouchers the bank data covers are judged, because bank files come late
and often from only some agent banks:

- the pay date is on or after the first bank value date, and at least
  ``lag_days`` working days before the *last* one (records still on their way
  are not missing);
- the voucher's stream — its unit and payment method (direct payments leave
  the treasury's account, authorised ones the unit's zero-balance account,
  often at different banks) — is covered: the voucher lies between the
  stream's first and last matched pay dates and at least ``min_share`` of the
  stream's paid vouchers there are matched. A stream with no match at all is
  a bank file nobody delivered, not a thousand missing debits.

What must not fire: a voucher whose debit carries a differently formatted
account or arrives a few working days later (matched); a returned or cancelled
voucher (never judged); vouchers paid after the bank data ends, before it
starts, or through a bank whose statements are not in the data.

Known false positives: a debit booked more than ``match_days`` working days
away from the pay date without the voucher id; batches mixing payees or days.
Known misses: a stream whose vouchers are *all* fictitious is taken for an
uncovered bank file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.calendar import Calendar
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import fen, to_time
from auditlib.registry import register
from auditlib.schemas import TABLES

CNY_CODES = ("CNY", "RMB", "156", "人民币")
"""Currency values read as Chinese yuan (an empty currency is CNY by the contract)."""

METHOD_ZH = {"direct": "直接支付", "authorized": "授权支付", "unknown": "未注明"}

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


# ----------------------------------------------------------------------------- matching
def _canonical(lf: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """Add any canonical column a frame lacks, as nulls (a hand-built frame may omit them)."""
    have = lf.collect_schema().names()
    schema = TABLES[table].polars_schema()
    add = [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in have]
    return lf.with_columns(add) if add else lf


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


@dataclass(frozen=True)
class Reconciliation:
    """The outcome of matching vouchers to bank debits."""

    vouchers: pl.DataFrame
    """Vouchers that moved money (paid, returned; amount > 0), with ``wd`` (working-day
    index of ``pay_date``), ``bank_ref`` (a matching bank row, else null), ``how``
    (``id`` | ``amount`` | ``split`` | ``batch``) and ``acct`` (account key)."""
    bank: pl.DataFrame
    """Bank rows that may be debits (see the module docstring), with ``wd``, ``cls``
    (``debit`` | ``unknown``), ``cny``, ``acct``, ``payer_key``, ``matched_voucher`` and
    ``how``."""
    all_vouchers: pl.DataFrame
    """Every voucher id of the payments table with its status and amount."""
    wd: pl.DataFrame
    """The working-day index (``date``, ``wd``)."""

    def wd_of(self, day: dt.date | None) -> int | None:
        if day is None:
            return None
        hit = self.wd.filter(pl.col("date") == day)["wd"]
        return int(hit[0]) if hit.len() else None


def partner_vouchers(payments: pl.LazyFrame) -> pl.LazyFrame:
    """Vouchers that moved money (paid or returned, amount > 0), with ``fen`` and ``acct``."""
    status = pl.col("status").fill_null("paid")
    return (
        _canonical(payments, "payments")
        .filter(status.is_in(list(PARTNER_STATUSES)) & (pl.col("amount") > 0))
        .with_columns(
            status.alias("status"), fen(pl.col("amount")).alias("fen"),
            account_key(pl.col("payee_account")).alias("acct"),
        )
    )


def debit_rows(bank: pl.LazyFrame) -> pl.LazyFrame:
    """Bank rows that may be debits, with ``cls`` (``debit``, or ``unknown`` for an empty
    direction in a table that also holds credits), ``cny`` (in yuan), ``fen``, ``acct``
    and ``payer_key``."""
    direction = pl.col("direction")
    cls = (
        pl.when(direction == "credit").then(pl.lit("credit"))
        .when(direction == "debit").then(pl.lit("debit"))
        .when((direction == "credit").any()).then(pl.lit("unknown"))
        .otherwise(pl.lit("debit"))
    )
    return (
        _canonical(bank, "bank_transactions")
        .with_columns(cls.alias("cls"))
        .filter((pl.col("cls") != "credit") & (pl.col("amount") > 0))
        .with_columns(
            cny().alias("cny"), fen(pl.col("amount")).alias("fen"),
            account_key(pl.col("payee_account")).alias("acct"),
            account_key(pl.col("payer_account")).alias("payer_key"),
        )
    )


def reconcile(
    payments: pl.LazyFrame, bank: pl.LazyFrame, cal: Calendar, *, match_days: int
) -> Reconciliation:
    """Match vouchers to bank debits by voucher id, else by account, amount and date."""
    all_vouchers = _canonical(payments, "payments").select(
        "voucher_id", pl.col("status").fill_null("paid"), "amount"
    ).collect()
    vouchers = partner_vouchers(payments).collect()
    rows = debit_rows(bank).collect()
    wd = workday_index(cal, [vouchers["pay_date"], rows["value_date"]])
    vouchers = vouchers.join(wd, left_on="pay_date", right_on="date", how="left")
    rows = rows.join(wd, left_on="value_date", right_on="date", how="left")

    by_id = rows.join(vouchers.select("voucher_id"), on="voucher_id", how="semi")
    matched = [by_id.select("voucher_id", "bank_ref", pl.lit("id").alias("how"))]
    known = all_vouchers["voucher_id"].implode()
    rest_rows = rows.join(by_id.select("bank_ref"), on="bank_ref", how="anti").filter(
        pl.col("cny") & (pl.col("voucher_id").is_null() | ~pl.col("voucher_id").is_in(known))
    )
    rest = vouchers.join(by_id.select("voucher_id"), on="voucher_id", how="anti")
    passes = (
        ("amount", None, None),
        ("split", None, ["payer_key", "acct", "value_date"]),
        ("batch", ["unit_id", "acct", "pay_date"], None),
    )
    for how, v_by, b_by in passes:
        left = _items(rest, "voucher_id", "pay_date", v_by)
        right = _items(rest_rows, "bank_ref", "value_date", b_by)
        pairs = _greedy(left, right, match_days).with_columns(pl.lit(how).alias("how"))
        matched.append(pairs)
        rest = rest.join(pairs, on="voucher_id", how="anti")
        rest_rows = rest_rows.join(pairs, on="bank_ref", how="anti")

    links = pl.concat(matched).sort("voucher_id", "bank_ref")
    per_row = links.unique("bank_ref", keep="first", maintain_order=True)
    rows = rows.join(per_row.rename({"voucher_id": "matched_voucher"}), on="bank_ref", how="left")
    vouchers = vouchers.join(
        links.unique("voucher_id", keep="first", maintain_order=True), on="voucher_id", how="left"
    )
    return Reconciliation(vouchers, rows, all_vouchers, wd)


def _items(df: pl.DataFrame, key: str, date: str, by: list[str] | None) -> pl.DataFrame:
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


def _greedy(left: pl.DataFrame, right: pl.DataFrame, match_days: int) -> pl.DataFrame:
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


def with_coverage(df: pl.DataFrame, stream: list[str], date: str) -> pl.DataFrame:
    """Add the coverage of each row's stream: ``in_span`` (between the stream's first and
    last matched ``date``), ``n_stream`` (rows in that span), ``n_matched`` and ``share``.
    ``df`` needs a boolean ``matched`` column."""
    m = pl.col("matched")
    first = pl.col(date).filter(m).min().over(stream)
    last = pl.col(date).filter(m).max().over(stream)
    df = df.with_columns(pl.col(date).is_between(first, last).fill_null(False).alias("in_span"))
    span = pl.col("in_span")
    return df.with_columns(
        span.sum().over(stream).alias("n_stream"), (m & span).sum().over(stream).alias("n_matched"),
    ).with_columns((pl.col("n_matched") / pl.col("n_stream").clip(1)).alias("share"))


# ----------------------------------------------------------------------------- detector
@register
class BankMissingDebit(Detector):
    id = "bank.missing_debit"
    title = Text("已支付凭证无银行扣款", "Paid voucher with no bank debit")
    description = Text(
        "支付明细中已支付的凭证，在银行流水中找不到对应的扣款记录（按凭证号，或按收款账号、金额、日期）。",
        "A voucher recorded as paid with no matching debit in the bank records (by voucher id, "
        "else by payee account, amount and date).",
    )
    requires = ("payments", "bank_transactions")
    entity = "voucher"
    severity = "high"
    params = (
        Param("match_days", int, 5, "Working days between pay date and bank value date, at most, "
              "when matching without a voucher id.", min=0, max=60),
        Param("lag_days", int, 5, "Working days before the last bank value date a voucher must be "
              "paid to be judged (bank records arrive late).", min=0, max=120),
        Param("min_share", float, 0.8, "Share of a stream's (unit, payment method) paid vouchers "
              "that must be matched for the bank data to count as covering it.", min=0.0, max=1.0),
    )
    alert_title = Text(
        "凭证 {voucher_id} 已支付 {amount:money} 元，银行无扣款记录",
        "Voucher {voucher_id}: {amount:money} yuan paid, no bank debit",
    )
    alert_explanation = Text(
        "单位 {unit_id} 的凭证 {voucher_id} 于 {pay_date} 记为已支付，向 {payee_name}（账号 "
        "{payee_account}）支付 {amount:money} 元，但银行流水（记账日期 {bank_first} 至 {bank_last}）"
        "中既无凭证号为 {voucher_id} 的扣款，也无支付日前后 {match_days} 个工作日内向该账号支付相同金额"
        "的扣款。支付日距银行数据最后记账日 {days_out} 个工作日，超过到账延迟容许的 {lag_days} 个工作日。"
        "同单位同支付方式（{pay_method_zh}）在该期间的 {n_stream} 笔已支付凭证中有 {n_matched} 笔在银行"
        "流水中找到（{share:pct}，覆盖阈值 {min_share:pct}），故银行数据覆盖该凭证。未见扣款金额 "
        "{amount:money} 元。",
        "Voucher {voucher_id} of unit {unit_id} is recorded as paid on {pay_date}: {amount:money} "
        "yuan to {payee_name} (account {payee_account}). The bank records (value dates "
        "{bank_first} to {bank_last}) hold no debit with voucher id {voucher_id}, nor any debit of the same "
        "amount to that account within {match_days} working days of the pay date. The pay date is "
        "{days_out} working days before the last bank value date, beyond the {lag_days}-day "
        "allowance for late records. Of the unit's {n_stream} paid vouchers of this payment method "
        "({pay_method}) in that span, {n_matched} were found in the bank data ({share:pct}; "
        "coverage threshold {min_share:pct}), so the bank data covers this voucher. Amount with no "
        "debit: {amount:money} yuan.",
    )

    def find(self, tables, ctx):
        rec = reconcile(tables["payments"], tables["bank_transactions"], ctx.calendar,
                        match_days=self.match_days)
        if rec.bank.height == 0:
            return empty_findings()
        first_v, last_v = rec.bank["value_date"].min(), rec.bank["value_date"].max()
        hi = rec.wd_of(last_v)
        stream = ["unit_id", "method"]
        df = (
            rec.vouchers.filter(
                (pl.col("status") == "paid") & (pl.col("pay_date") <= ctx.as_of)
                & (pl.col("pay_date") >= first_v) & (pl.col("wd") + self.lag_days <= hi)
            )
            .with_columns(
                pl.col("bank_ref").is_not_null().alias("matched"),
                pl.col("pay_method").fill_null("unknown").alias("method"),
            )
        )
        return (
            with_coverage(df, stream, "pay_date")
            .filter(pl.col("in_span") & (pl.col("share") >= self.min_share) & ~pl.col("matched"))
            .with_columns((hi - pl.col("wd")).alias("days_out"))
            .select(
                pl.col("voucher_id").alias("entity_id"), pl.col("voucher_id").alias("finding_key"),
                pl.concat_list(ref("payments", "voucher_id")).alias("evidence"),
                "voucher_id", "unit_id", "payee_name", "payee_account", "amount",
                pl.col("method").alias("pay_method"),
                pl.col("method").replace(METHOD_ZH).alias("pay_method_zh"),
                "n_stream", "n_matched", "days_out", "share",
                pl.col("pay_date").cast(pl.String),
                pl.lit(str(first_v)).alias("bank_first"), pl.lit(str(last_v)).alias("bank_last"),
                to_time(pl.col("pay_date"), ctx.timezone).alias("event_time"),
                (0.6 + 0.4 * ((pl.col("days_out") - self.lag_days) / 20).clip(0, 1))
                .alias("score"),
            )
            .sort("finding_key")
        )


def empty_findings() -> pl.DataFrame:
    """No finding, with the required columns."""
    return pl.DataFrame(
        schema={"entity_id": pl.String, "finding_key": pl.String, "evidence": pl.List(pl.String)}
    )

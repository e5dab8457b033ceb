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
from auditlib.detectors._bank import (  # noqa: F401 - the helpers' public home stays here
    CNY_CODES,
    PARTNER_STATUSES,
    account_key,
    accounts_match,
    by_id,
    cny,
    in_span,
    matching,
    shared_matching,
    stream_coverage,
)
from auditlib.detectors._bank import canonical as _canonical
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import fen, to_time
from auditlib.registry import register

METHOD_ZH = {"direct": "直接支付", "authorized": "授权支付", "unknown": "未注明"}


@dataclass(frozen=True)
class Reconciliation:
    """The outcome of matching vouchers to bank debits, as frames (:func:`reconcile`)."""

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
    """Match vouchers to bank debits by voucher id, else by account, amount and date, as
    whole frames (the detectors use the lean :func:`auditlib.detectors._bank.matching`)."""
    m = matching(payments, bank, cal, by_id(payments, bank), match_days=match_days)
    pay = _canonical(payments, "payments").with_row_index("_p")
    bnk = _canonical(bank, "bank_transactions").with_row_index("_b")
    all_vouchers = pay.select(
        "voucher_id", pl.col("status").fill_null("paid"), "amount"
    ).collect()
    ids = pay.select("_p", "voucher_id").collect()
    refs = bnk.select("_b", "bank_ref").collect()
    b_pairs, p_pairs = m.ids.pairs
    by_ids = pl.DataFrame({"_p": p_pairs, "_b": b_pairs}, schema={"_p": pl.UInt32, "_b": pl.UInt32})
    links = pl.concat([
        by_ids.join(ids, on="_p").join(refs, on="_b")
        .select("voucher_id", "bank_ref", pl.lit("id").alias("how")),
        m.greedy_links.select("voucher_id", "bank_ref", "how"),
    ]).sort("voucher_id", "bank_ref")
    per_row = links.unique("bank_ref", keep="first", maintain_order=True)
    vouchers = (
        partner_vouchers(payments).collect()
        .join(m.wd, left_on="pay_date", right_on="date", how="left")
        .join(links.unique("voucher_id", keep="first", maintain_order=True), on="voucher_id",
              how="left")
    )
    rows = (
        debit_rows(bank).collect()
        .join(m.wd, left_on="value_date", right_on="date", how="left")
        .join(per_row.rename({"voucher_id": "matched_voucher"}), on="bank_ref", how="left")
    )
    return Reconciliation(vouchers, rows, all_vouchers, m.wd)


def empty_findings() -> pl.DataFrame:
    """No finding, with the required columns."""
    return pl.DataFrame(
        schema={"entity_id": pl.String, "finding_key": pl.String, "evidence": pl.List(pl.String)}
    )


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
        m = shared_matching(tables, ctx, self.match_days)
        if m.n_debits == 0:
            return empty_findings()
        first_v, last_v = m.first_v, m.last_v
        hi = m.wd_of(last_v)
        until = m.last_wd_date(hi - self.lag_days)  # wd + lag_days <= hi
        if until is None:
            return empty_findings()
        stream = ["unit_id", "method"]
        status = pl.col("status").fill_null("paid")
        judged = (
            (status == "paid") & (pl.col("amount") > 0) & (pl.col("pay_date") <= ctx.as_of)
            & (pl.col("pay_date") >= first_v) & (pl.col("pay_date") <= until)
        )
        pay = (
            _canonical(tables["payments"], "payments")
            .select("voucher_id", "unit_id", "pay_method", "pay_date", "status", "amount",
                    "payee_name", "payee_account")
            .collect()  # the table's own columns, not copies
            .with_columns(pl.Series("matched", m.p_matched))
            .lazy()
        )
        method = pl.col("pay_method").fill_null("unknown").alias("method")
        counts = (
            pay.filter(judged)
            .group_by("unit_id", method, "pay_date")
            .agg(pl.len().alias("n"), pl.col("matched").sum().alias("m"))
            .collect(engine="streaming")
        )
        missing = (
            pay.filter(~pl.col("matched") & judged)
            .select("voucher_id", "unit_id", method, "pay_date", "payee_name", "payee_account",
                    "amount")
            .collect()
        )
        return (
            missing.join(stream_coverage(counts, stream, "pay_date"), on=stream, how="inner",
                         nulls_equal=True)
            .filter(in_span("pay_date") & (pl.col("share") >= self.min_share))
            .join(m.wd, left_on="pay_date", right_on="date", how="left")
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

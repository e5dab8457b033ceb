"""``bank.mismatch``: a voucher and its own bank debit disagree on amount or payee account.

The bank rows carrying a voucher's id (camt.053 ``EndToEndId``) are that
voucher's debits. They must pay the voucher's amount, exactly (compared as
integer fen), to the voucher's payee account. A different account means the
money went somewhere the approved voucher did not say (the amount at risk is
the whole sum: the larger of the voucher amount and the bank total); a
different amount means more or less left the account than was approved (at
risk: the difference). Two debits of the full amount under one voucher id show
here as a bank total of twice the voucher.

Vouchers compared: paid or returned (a returned voucher was debited before the
refund), amount > 0. Bank rows: not credits, amount > 0, ``direction`` empty
counts. Amounts are compared only when every row is in CNY (empty currency,
``CNY``, ``RMB``, ``156``, ``人民币``); a foreign-currency debit is checked for
its account only, its amount at risk being the voucher amount. The rows of one
voucher are totalled per payer account, and the voucher is in order when the
rows of *any* payer account pay it exactly — a statement of the unit's
zero-balance account and one of the treasury account may both show the same
payment.

What must not fire: accounts written with spaces or dashes, or masked by the
bank (``6222****1234`` agrees with ``62220000001234``); a payment split into
several debits to the right account that add up to the voucher.

Known false positives: bank fees deducted from the transferred amount (the
difference is the fee); a payee account legitimately corrected at the bank
after a return, under the old voucher id (see ``bank.returned_repaid_elsewhere``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from auditlib.alerts.schema import escape_expr, ref
from auditlib.detectors._bank import accounts_match, canonical, shared_by_id, take
from auditlib.detectors.bank_missing_debit import debit_rows, empty_findings, partner_vouchers
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import fen, to_time
from auditlib.registry import register


@register
class BankMismatch(Detector):
    id = "bank.mismatch"
    title = Text("凭证与银行扣款不符", "Voucher and bank debit disagree")
    description = Text(
        "按凭证号对应的银行扣款与凭证的金额或收款账号不一致。",
        "The bank debit carrying a voucher's id differs from the voucher in amount or payee "
        "account.",
    )
    requires = ("payments", "bank_transactions")
    entity = "voucher"
    severity = "high"
    alert_title = Text(
        "凭证 {voucher_id} 与银行扣款不符：{what_zh}",
        "Voucher {voucher_id} disagrees with its bank debit: {what_en}",
    )
    alert_explanation = Text(
        "单位 {unit_id} 的凭证 {voucher_id}（{pay_date}）向 {payee_name} 账号 {payee_account} 支付 "
        "{voucher_amount:money} 元；银行流水中载有该凭证号的扣款 {n_bank} 笔（{bank_refs}，付款账户 "
        "{payer_account}，记账日期 {value_date}），合计 {bank_total:money} 元，收款账号 {bank_accounts}。"
        "结论：{what_zh}（银行与凭证金额相差 {diff:money} 元）。风险金额 {amount:money} 元。",
        "Voucher {voucher_id} of unit {unit_id} ({pay_date}) pays {voucher_amount:money} yuan to "
        "{payee_name}, account {payee_account}. The bank holds {n_bank} debit(s) with that voucher "
        "id ({bank_refs}; payer account {payer_account}; value date {value_date}) totalling "
        "{bank_total:money} yuan to account(s) {bank_accounts}. Finding: {what_en} (the bank "
        "total differs from the voucher by {diff:money} yuan). Amount at risk: {amount:money} "
        "yuan.",
    )

    def find(self, tables, ctx):
        pay, bank = tables["payments"], tables["bank_transactions"]
        suspects = _suspects(pay, bank, shared_by_id(tables, ctx), ctx.as_of)
        if not len(suspects[0]):
            return empty_findings()
        # the rule, on the vouchers the quick test could not clear and their bank rows
        v = partner_vouchers(take(pay, suspects[1], "_p")).filter(
            pl.col("pay_date") <= ctx.as_of
        ).select(
            "voucher_id", "unit_id", "pay_date", "payee_name", "payee_account", "acct", "fen",
            pl.col("amount").alias("voucher_amount"),
        )
        bank = debit_rows(take(bank, suspects[0], "_b")).filter(pl.col("voucher_id").is_not_null())
        b = bank.select(
            "voucher_id", "bank_ref", "value_date", pl.col("fen").alias("b_fen"),
            pl.col("acct").alias("b_acct"), pl.col("payee_account").alias("b_account"),
            pl.col("amount").alias("b_amount"), pl.col("payer_account").fill_null("—"), "cny",
        )
        groups = (
            v.join(b, on="voucher_id", how="inner")
            .with_columns(accounts_match(pl.col("acct"), pl.col("b_acct")).alias("acct_ok"))
            .sort("voucher_id", "payer_account", "value_date", "bank_ref")
            .group_by("voucher_id", "payer_account", maintain_order=True)
            .agg(
                pl.col("unit_id", "pay_date", "payee_name", "payee_account", "fen",
                       "voucher_amount").first(),
                pl.col("b_fen").sum().alias("total_fen"),
                pl.col("b_amount").sum().alias("bank_total"),
                pl.col("acct_ok").all().alias("acct_ok"), pl.col("cny").all().alias("cny"),
                pl.len().alias("n_bank"),
                pl.col("bank_ref").alias("bank_refs"), pl.col("value_date").min(),
                pl.col("b_account").unique(maintain_order=True).alias("bank_accounts"),
            )
            .with_columns(
                (pl.col("cny") & (pl.col("total_fen") != pl.col("fen"))).alias("amt_bad"),
                (pl.col("total_fen") - pl.col("fen")).abs().alias("abs_diff"),
            )
            .with_columns((pl.col("acct_ok") & ~pl.col("amt_bad")).alias("exact"))
            .filter(~pl.col("exact").any().over("voucher_id"))
            .sort(["voucher_id", "acct_ok", "abs_diff", "payer_account"],
                  descending=[False, True, False, False])
            .unique("voucher_id", keep="first", maintain_order=True)
        )
        acct_bad, amt_bad = ~pl.col("acct_ok"), pl.col("amt_bad")
        diff = (pl.col("bank_total") - pl.col("voucher_amount")).abs()
        diff = pl.when(pl.col("cny")).then(diff)

        def what(acct: str, amt: str, both: str) -> pl.Expr:
            return (
                pl.when(acct_bad & amt_bad).then(pl.lit(both))
                .when(acct_bad).then(pl.lit(acct)).otherwise(pl.lit(amt))
            )

        rel = diff.cast(pl.Float64) / pl.col("voucher_amount").cast(pl.Float64)
        rel = rel.clip(0, 1).fill_null(0)
        whole = pl.max_horizontal("voucher_amount", "bank_total")
        over = amt_bad & (pl.col("total_fen") > pl.col("fen"))
        return groups.select(
            pl.col("voucher_id").alias("entity_id"), pl.col("voucher_id").alias("finding_key"),
            pl.concat_list(
                ref("payments", "voucher_id"),
                pl.col("bank_refs").list.eval(
                    pl.concat_str(pl.lit("bank_transactions:"), escape_expr(pl.element()))
                ),
            ).alias("evidence"),
            "voucher_id", "unit_id", "payee_name", "payee_account", "voucher_amount", "bank_total",
            "n_bank", "bank_refs", "bank_accounts", "payer_account",
            pl.col("pay_date").cast(pl.String), pl.col("value_date").cast(pl.String),
            diff.alias("diff"),
            pl.when(acct_bad & pl.col("cny")).then(whole)
            .when(acct_bad).then(pl.col("voucher_amount"))
            .otherwise(diff).alias("amount"),
            what("收款账号不符", "金额不符", "收款账号与金额均不符").alias("what_zh"),
            what("payee account differs", "amount differs", "payee account and amount differ")
            .alias("what_en"),
            pl.when(acct_bad).then(0.9 + 0.1 * rel).otherwise(0.5 + 0.4 * rel).alias("score"),
            pl.when(acct_bad | over).then(pl.lit("high")).otherwise(pl.lit("medium"))
            .alias("severity"),
            to_time(pl.col("pay_date"), ctx.timezone).alias("event_time"),
        ).sort("finding_key")


def _suspects(pay: pl.LazyFrame, bank: pl.LazyFrame, ids, as_of) -> tuple[np.ndarray, np.ndarray]:
    """(bank rows, vouchers) by position of the vouchers that may disagree with their bank
    rows: all but those paid by a single CNY bank row of exactly their amount to exactly
    (character for character) their payee account, which the rule clears anyway."""
    b, p = ids.pairs
    cols = ["pay_date", "amount", "payee_account"]
    v = canonical(pay, "payments").select(cols).collect()
    r = canonical(bank, "bank_transactions").select("amount", "payee_account").collect()
    in_time = (v["pay_date"].gather(p) <= as_of).fill_null(False).to_numpy()
    b, p = b[in_time], p[in_time]
    single = np.bincount(p, minlength=v.height)[p] == 1
    vs, rs = v.select("amount", "payee_account")[p], r[b]
    exact = pl.DataFrame({
        "fen": fen(vs["amount"]) == fen(rs["amount"]),
        "acct": vs["payee_account"] == rs["payee_account"],
    }).select((pl.col("fen") & pl.col("acct")).fill_null(False))["fen"].to_numpy()
    bad = ~(single & exact & ids.cny[b])
    if not bad.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    sus = np.zeros(v.height, dtype=bool)
    sus[p[bad]] = True
    keep = sus[p]
    return b[keep], p[keep]

"""``bank.unmatched_debit``: money left a budget unit's account with no voucher behind it.

Bank reconciliation (银行对账), the bank side: a bank debit that no voucher
explains is money paid outside the budget system (体外支付). Matching is the
one :func:`~auditlib.detectors.bank_missing_debit.reconcile` does — by voucher
id, else by payee account, exact amount and a value date within
``match_days`` working days of the pay date, one debit per voucher (or a
split payment, or a batch: see there) — against
every voucher that moved money (paid, or returned: a returned voucher *was*
debited before the money came back).

Which debits are judged:

- with ``unit_accounts``: debits whose payer account is a budget unit's account
  of a type in ``account_types`` (default zero-balance accounts, the ones
  vouchers pay from) or of no stated type. Basic, real-funds and special
  accounts spend the unit's own money without treasury vouchers and are not
  judged here (``funds.*`` watches them);
- without it: every debit (the payer's unit is then taken from the vouchers
  its other debits matched, when they all belong to one unit);
- ``direction`` debit, or empty in a table holding no credit at all; amount >
  0; CNY only (other currencies skipped); value date not after the audit date;
- covered by the payments data: at least ``match_days`` working days inside the
  span of pay dates on both ends, and the payer account's stream is reconciled
  — the debit lies between the account's first and last matched debits and
  at least ``min_share`` of the account's debits there match a voucher. An
  account none of whose debits match anything (a clearing or fee account, a
  payer whose vouchers are not in this extract) is not judged.

What must not fire: credits and refunds; a debit whose voucher is returned;
bank charges and interest rows of other accounts; a debit booked a few
working days after the voucher (Spring Festival included) or with a
differently formatted or masked payee account; a payment the bank split into
several debits, or a batch of one unit's vouchers to one account on one day
booked as one debit.

Known false positives: a batch debit summing vouchers of several payees or
days; payments another system (payroll, a separate subsidy platform) makes
from the same zero-balance account without vouchers in this extract. A debit
naming a voucher that is cancelled (or absent from the payments table) is
reported, with that fact in the explanation.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._bank import (
    account_key,
    canonical,
    in_span,
    shared_matching,
    stream_coverage,
)
from auditlib.detectors.bank_missing_debit import empty_findings
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import to_time
from auditlib.registry import register

_STATUS_ZH = {"paid": "已支付", "returned": "退回", "cancelled": "作废"}


@register
class BankUnmatchedDebit(Detector):
    id = "bank.unmatched_debit"
    title = Text("银行扣款无对应凭证", "Bank debit with no voucher")
    description = Text(
        "预算单位账户的银行扣款在支付明细中找不到对应凭证（按凭证号，或按收款账号、金额、日期）。",
        "A bank debit from a budget unit's account that no voucher explains (by voucher id, else "
        "by payee account, amount and date).",
    )
    requires = ("payments", "bank_transactions")
    optional = ("unit_accounts",)
    entity = "payee_account"
    severity = "high"
    params = (
        Param("match_days", int, 5, "Working days between pay date and bank value date, at most, "
              "when matching without a voucher id.", min=0, max=60),
        Param("min_share", float, 0.8, "Share of a payer account's debits that must match a "
              "voucher for the payments data to count as covering the account.", min=0.0, max=1.0),
        Param("account_types", tuple, ("zero_balance",), "Unit account types whose debits are "
              "judged (accounts of no stated type are judged too)."),
    )
    alert_title = Text(
        "银行扣款 {amount:money} 元无对应凭证：付往 {entity_id}",
        "Bank debit of {amount:money} yuan to {entity_id} with no voucher",
    )
    alert_explanation = Text(
        "付款账户 {payer_account}（单位 {unit_id}）于 {value_date} 被扣款 {amount:money} 元，付往账号 "
        "{entity_id}（{payee_name}），银行流水号 {bank_ref}。{note_zh}支付明细中没有与之对应的凭证："
        "既无该凭证号，也无记账日前后 {match_days} 个工作日内向该账号支付相同金额的已支付或退回凭证。"
        "该付款账户在此期间的 {n_stream} 笔扣款中有 {n_matched} 笔对应到凭证（{share:pct}，覆盖阈值 "
        "{min_share:pct}），故支付数据覆盖该账户。无凭证支出 {amount:money} 元。",
        "Payer account {payer_account} (unit {unit_id}) was debited {amount:money} yuan on "
        "{value_date} to account {entity_id} ({payee_name}), bank ref {bank_ref}. {note_en}No "
        "voucher explains it: none carries that voucher id, and no paid or returned voucher paid "
        "the same amount to that account within {match_days} working days. Of this payer "
        "account's {n_stream} debits in the span, {n_matched} match a voucher ({share:pct}; "
        "coverage threshold {min_share:pct}), so the payments data covers the account. Paid "
        "without a voucher: {amount:money} yuan.",
    )

    def find(self, tables, ctx):
        m = shared_matching(tables, ctx, self.match_days)
        if m.n_debits == 0 or m.n_partner == 0:
            return empty_findings()
        lo, hi = m.wd_of(m.pay_min), m.wd_of(m.pay_max)
        ids = m.ids
        bank = canonical(tables["bank_transactions"], "bank_transactions")
        rows = (
            bank.select("bank_ref", "value_date", "payer_account", "payee_account", "payee_name",
                        "amount", "voucher_id")
            .collect()  # the table's own columns, not copies
            .with_columns(pl.Series("judged", ids.keep & ids.cls_debit & ids.cny),
                          pl.Series("matched", m.b_voucher >= 0))
            .lazy()
            .filter(pl.col("judged") & (pl.col("value_date") <= ctx.as_of))
        )
        counts = (
            rows.group_by("payer_account", "value_date")
            .agg(pl.len().alias("n"), pl.col("matched").sum().alias("m"))
            .collect(engine="streaming")
        )
        found = rows.filter(~pl.col("matched")).drop("judged", "matched").collect()
        owner = _payer_units(tables, m, self.account_types)
        with_units = "unit_accounts" in tables

        def judged_streams(df: pl.DataFrame) -> pl.DataFrame:
            df = df.with_columns(account_key(pl.col("payer_account")).alias("payer_key"))
            if with_units:
                df = df.join(owner, on="payer_key", how="inner")
            else:
                df = df.join(owner, on="payer_key", how="left").with_columns(
                    pl.lit(None, dtype=pl.String).alias("account_no")
                )
            return (
                df.join(m.wd, left_on="value_date", right_on="date", how="left")
                .filter((pl.col("wd") >= lo + self.match_days)
                        & (pl.col("wd") + self.match_days <= hi))
                .with_columns(pl.col("payer_key").fill_null("").alias("stream"))
            )

        counts = (
            judged_streams(counts)
            .group_by("stream", "value_date")
            .agg(pl.col("n").sum(), pl.col("m").sum())
        )
        found = (
            judged_streams(found)
            .join(stream_coverage(counts, ["stream"], "value_date"), on="stream", how="inner")
            .filter(in_span("value_date") & (pl.col("share") >= self.min_share))
        )
        named = found["voucher_id"].drop_nulls().unique()
        status = (
            canonical(tables["payments"], "payments")
            .filter(pl.col("voucher_id").is_in(named.implode()))
            .select(
                "voucher_id", pl.col("status").fill_null("paid").alias("named_status"),
                pl.lit(True).alias("named"),
                pl.col("amount").cast(pl.String).alias("named_amount"),
            )
            .collect()
        )
        found = found.join(status, on="voucher_id", how="left")
        v = pl.col("voucher_id")
        note_zh = (
            pl.when(v.is_null()).then(pl.lit("银行记录未载凭证号。"))
            .when(pl.col("named").is_null())
            .then(pl.concat_str(pl.lit("银行记录所载凭证号 "), v, pl.lit(" 在支付明细中不存在。")))
            .otherwise(pl.concat_str(
                pl.lit("银行记录所载凭证号 "), v, pl.lit(" 在支付明细中状态为“"),
                pl.col("named_status").replace(_STATUS_ZH), pl.lit("”、金额 "),
                pl.col("named_amount"), pl.lit(" 元，并非一笔有效付款。"),
            ))
        )
        note_en = (
            pl.when(v.is_null()).then(pl.lit("The bank record carries no voucher id. "))
            .when(pl.col("named").is_null())
            .then(pl.concat_str(pl.lit("The voucher id it carries, "), v,
                                pl.lit(", is not in the payments table. ")))
            .otherwise(pl.concat_str(
                pl.lit("The voucher it names, "), v, pl.lit(", has status '"),
                pl.col("named_status"), pl.lit("' and amount "), pl.col("named_amount"),
                pl.lit(" in the payments table: not a payment that moved money. "),
            ))
        )
        evidence = pl.concat_list(
            ref("bank_transactions", "bank_ref"),
            *([ref("unit_accounts", "account_no").alias("a")] if with_units else []),
        )
        return found.select(
            pl.col("payee_account").alias("entity_id"), pl.col("bank_ref").alias("finding_key"),
            evidence.alias("evidence"), "bank_ref", "unit_id", "amount", "payee_name",
            pl.col("payer_account").fill_null("—"), "n_stream", "n_matched", "share",
            pl.col("value_date").cast(pl.String),
            note_zh.alias("note_zh"), note_en.alias("note_en"),
            to_time(pl.col("value_date"), ctx.timezone).alias("event_time"),
            (0.6 + 0.4 * (pl.col("amount").cast(pl.Float64).log10() / 7).clip(0, 1))
            .alias("score"),
        ).sort("finding_key")


def _payer_units(tables, m, account_types: tuple[str, ...]) -> pl.DataFrame:
    """``payer_key → unit_id, account_no``: from ``unit_accounts`` (filtered to the judged
    types), else the single unit whose vouchers the account's matched debits paid."""
    if "unit_accounts" in tables:
        t = pl.col("account_type")
        return (
            tables["unit_accounts"]
            .filter(t.is_null() | t.is_in(list(account_types)))
            .select(account_key(pl.col("account_no")).alias("payer_key"), "unit_id", "account_no")
            .filter(pl.col("payer_key").is_not_null())
            .sort("payer_key", "account_no")
            .unique("payer_key", keep="first", maintain_order=True)
            .collect()
        )
    hit = np.flatnonzero(m.ids.keep & (m.b_voucher >= 0))
    units = (
        canonical(tables["payments"], "payments").select("unit_id").collect()["unit_id"]
        .gather(m.b_voucher[hit])
    )
    payer = (
        canonical(tables["bank_transactions"], "bank_transactions")
        .select("payer_account").collect()["payer_account"].gather(hit)
    )
    return (
        pl.DataFrame({"payer_account": payer, "unit_id": units})
        .unique()
        .with_columns(account_key(pl.col("payer_account")).alias("payer_key"))
        .filter(pl.col("payer_key").is_not_null())
        .group_by("payer_key")
        .agg(pl.col("unit_id").unique().alias("units"))
        .filter(pl.col("units").list.len() == 1)
        .select("payer_key", pl.col("units").list.first().alias("unit_id"))
    )

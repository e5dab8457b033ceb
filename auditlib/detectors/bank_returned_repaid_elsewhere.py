"""``bank.returned_repaid_elsewhere``: a returned payment re-paid to a different account.

A voucher with status returned (退回/退票), then within ``window_days`` a new
paid voucher of the same unit, for exactly the same amount, to the same payee
(names compared with :func:`auditlib.exprs.payee_key`, so full-width brackets,
spaces and company suffixes do not matter) but to a *different* account: the
classic way to divert a payment — have it bounce, then "correct" the account
details to one the fraudster controls.

What must not fire (legit look-alikes):

- the return re-paid to the *same* account (the usual correction of a bad
  bank name or branch, typically after the payee's bank returned it); once a
  returned voucher is re-paid to its own account within the window, no other
  voucher is taken for its re-payment;
- a re-payment to an account the same payee (by name key) had already been
  paid on, by any unit, before the returned voucher: a known account of the
  payee (companies often hold a basic and a general account);
- a new voucher to another payee, of another amount, of another unit, or
  more than ``window_days`` after the returned voucher's pay date; cancelled
  vouchers (neither side).

Known false positives: a genuine account change after the original account
was closed (销户) and the bank returned the payment — the auditor asks for the
payee's account-change letter. Bank records are not consulted to tell a
closed-account return from another (keeping the rule simple); the returned
voucher's status is trusted as given.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.bank_missing_debit import account_key, accounts_match
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import active_payment, fen, payee_key, to_time
from auditlib.registry import register


@register
class BankReturnedRepaidElsewhere(Detector):
    id = "bank.returned_repaid_elsewhere"
    title = Text("退回后改账号重付", "Returned payment re-paid to another account")
    description = Text(
        "凭证退回后，同一单位短期内向同一收款人支付相同金额，但收款账号变为此前未用过的其他账号。",
        "After a voucher is returned, the same unit pays the same amount to the same payee shortly "
        "after, but to a different account the payee had not been paid on.",
    )
    requires = ("payments",)
    entity = "payee_account"
    severity = "high"
    params = (
        Param("window_days", int, 30, "Days from the returned voucher's pay date to the "
              "re-payment.", min=0, max=366),
    )
    alert_title = Text(
        "退回后改账号重付：{payee_name} {amount:money} 元改付 {entity_id}",
        "Returned then re-paid elsewhere: {amount:money} yuan to {payee_name}, now to {entity_id}",
    )
    alert_explanation = Text(
        "单位 {unit_id} 的凭证 {returned_voucher}（{returned_date}）向“{returned_name}”账号 "
        "{returned_account} 支付 {amount:money} 元，状态为退回；{gap} 天后（{new_date}，窗口 {window_days} "
        "天内）以凭证 {new_voucher} 向同一收款人“{payee_name}”支付相同金额，收款账号却改为 {entity_id}。"
        "原账号未获重付，新账号此前从未收到过该收款人名下的支付。退回后改账号重付是截留、冒领资金的典型"
        "手法，应核对收款人的账户变更证明。涉及金额 {amount:money} 元。",
        "Voucher {returned_voucher} of unit {unit_id} ({returned_date}) paying {amount:money} yuan "
        "to '{returned_name}', account {returned_account}, was returned; {gap} day(s) later "
        "({new_date}, within the {window_days}-day window) voucher {new_voucher} paid the same "
        "amount to the same payee ('{payee_name}') but to account {entity_id}. The original "
        "account was not re-paid, and the new account had never been paid under this payee's "
        "name before. Re-paying a returned payment to a changed account is a classic way to divert "
        "funds: check the payee's account-change letter. Amount: {amount:money} yuan.",
    )

    def find(self, tables, ctx):
        payments = tables["payments"]
        keyed = [
            payee_key(pl.col("payee_name")).alias("key"),
            account_key(pl.col("payee_account")).alias("acct"),
        ]
        has_key = pl.col("key").is_not_null() & (pl.col("key") != "")
        returned = (
            payments.filter(
                (pl.col("amount") > 0) & (pl.col("status") == "returned")
                & (pl.col("pay_date") <= ctx.as_of)
            )
            .with_columns(*keyed, fen(pl.col("amount")).alias("fen"))
            .filter(has_key)
            .select(
                pl.col("voucher_id").alias("returned_voucher"), "unit_id", "key", "fen",
                pl.col("acct").alias("r_acct"), pl.col("payee_account").alias("returned_account"),
                pl.col("payee_name").alias("returned_name"), pl.col("pay_date").alias("r_date"),
            )
            .collect()
        )
        if returned.height == 0:
            return _empty()
        paid = payments.filter(active_payment() & (pl.col("pay_date") <= ctx.as_of))
        # names are normalised only for the payments of a returned voucher's unit and amount
        new = (
            paid.select(
                pl.col("voucher_id").alias("new_voucher"), "unit_id", "amount", "payee_name",
                "payee_account", pl.col("pay_date").alias("n_date"),
                fen(pl.col("amount")).alias("fen"),
            )
            .join(returned.lazy().select("unit_id", "fen").unique(), on=["unit_id", "fen"],
                  how="semi")
            .with_columns(*keyed)
            .filter(has_key)
            .collect()
        )
        gap = (pl.col("n_date") - pl.col("r_date")).dt.total_days()
        pairs = (
            returned.join(new, on=["unit_id", "key", "fen"], how="inner")
            .with_columns(gap.alias("gap"))
            .filter(pl.col("gap").is_between(0, self.window_days)
                    & (pl.col("new_voucher") != pl.col("returned_voucher")))
            .with_columns(accounts_match(pl.col("r_acct"), pl.col("acct")).alias("same"))
        )
        repaid_same = pairs.filter(pl.col("same")).select("returned_voucher").unique()
        cand = pairs.filter(~pl.col("same")).join(repaid_same, on="returned_voucher", how="anti")
        # when each (payee, account) of a candidate was first paid: names and accounts are
        # normalised once per distinct pair, not per payment
        first_use = (
            paid.group_by("payee_name", "payee_account")
            .agg(pl.col("pay_date").min())
            .with_columns(*keyed)
            .filter(has_key)
            .join(cand.lazy().select("key", "acct").unique(), on=["key", "acct"], how="semi")
            .group_by("key", "acct")
            .agg(pl.col("pay_date").min().alias("first_use"))
            .collect()
        )
        return (
            cand.join(first_use, on=["key", "acct"], how="left")
            .filter(pl.col("first_use").is_null() | (pl.col("first_use") >= pl.col("r_date")))
            .sort("returned_voucher", "gap", "new_voucher")
            .unique("returned_voucher", keep="first", maintain_order=True)
            .select(
                pl.col("payee_account").alias("entity_id"),
                pl.concat_str("returned_voucher", pl.lit("|"), "new_voucher").alias("finding_key"),
                pl.concat_list(
                    ref("payments", "returned_voucher").alias("r"),
                    ref("payments", "new_voucher").alias("n"),
                ).alias("evidence"),
                "unit_id", "amount", "payee_name", "returned_name", "returned_account",
                "returned_voucher", "new_voucher", "gap",
                pl.col("r_date").cast(pl.String).alias("returned_date"),
                pl.col("n_date").cast(pl.String).alias("new_date"),
                to_time(pl.col("r_date"), ctx.timezone).alias("event_time"),
                (0.7 + 0.3 * (1 - pl.col("gap") / (self.window_days + 1))).alias("score"),
            )
            .sort("finding_key")
        )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"entity_id": pl.String, "finding_key": pl.String, "evidence": pl.List(pl.String)}
    )

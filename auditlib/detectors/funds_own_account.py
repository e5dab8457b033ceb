"""``funds.own_account``: budget money paid into budget units' own accounts (资金体外循环).

Treasury payments should reach suppliers and beneficiaries. Money paid from a
unit's budget into its *own* accounts (basic, real-funds, special...) leaves
the controlled treasury system and can then be spent without control; so can
money paid into *another* budget unit's basic or real-funds account. Findings
are grouped per paying unit and receiving account.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import active_payment, in_year, to_time
from auditlib.registry import register

_TYPE_ZH = {"zero_balance": "零余额账户", "basic": "基本账户", "special": "专用账户", "real": "实有资金账户"}


@register
class FundsOwnAccount(Detector):
    id = "funds.own_account"
    title = Text("资金转入单位自有账户", "Budget funds paid into a unit's own account")
    description = Text(
        "预算资金支付到本单位账户，或其他预算单位的基本账户/实有资金账户，资金脱离国库监控（体外循环）。",
        "Budget payments into the paying unit's own accounts, or another budget unit's basic or "
        "real-funds account: money leaving treasury control.",
    )
    requires = ("payments", "unit_accounts")
    entity = "account"
    severity = "high"
    alert_title = Text(
        "资金体外循环：{unit_id} 向{whose_zh}账户 {entity_id} 支付 {amount:money} 元",
        "Funds leaving the system: {unit_id} paid {amount:money} yuan into {whose_en} account {entity_id}",
    )
    alert_explanation = Text(
        "单位 {unit_id} 以预算资金向账号 {entity_id}（{acct_unit} 的{type_zh}，户名“{account_name}”）"
        "支付 {n_pay} 笔，合计 {amount:money} 元（凭证 {vouchers}），{whose_zh}账户。预算资金应直接"
        "支付给最终收款人，转入预算单位自有账户即脱离国库集中支付监控。",
        "Unit {unit_id} paid {n_pay} budget payment(s), {amount:money} yuan in all (vouchers "
        "{vouchers}), into account {entity_id}, the {acct_type} account of unit {acct_unit} "
        "('{account_name}'): {whose_en} account. Budget money should go to the final payee; "
        "paid into a budget unit's own account it leaves treasury control.",
    )

    def find(self, tables, ctx):
        acc = tables["unit_accounts"].select(
            pl.col("account_no").alias("payee_account"), pl.col("unit_id").alias("acct_unit"),
            "account_name", pl.col("account_type").fill_null("unknown").alias("acct_type"),
        )
        own = pl.col("acct_unit") == pl.col("unit_id")
        other = pl.col("acct_type").is_in(["basic", "real"])
        return (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .join(acc, on="payee_account", how="inner")
            .filter(own | other)
            .sort("pay_date", "voucher_id")
            .group_by("unit_id", "payee_account")
            .agg(
                pl.col("amount").sum(), pl.len().alias("n_pay"), pl.col("voucher_id").alias("vouchers"),
                ref("payments", "voucher_id").alias("evidence"),
                pl.col("acct_unit", "account_name", "acct_type").first(),
                pl.col("pay_date").min().alias("first"),
            )
            .with_columns((pl.col("acct_unit") == pl.col("unit_id")).alias("own"))
            .select(
                pl.col("payee_account").alias("entity_id"), "unit_id", "amount", "n_pay", "vouchers",
                "evidence", "acct_unit", "account_name", "acct_type",
                pl.col("acct_type").replace_strict(_TYPE_ZH, default="账户").alias("type_zh"),
                pl.when("own").then(pl.lit("本单位")).otherwise(pl.lit("其他预算单位")).alias("whose_zh"),
                pl.when("own").then(pl.lit("its own")).otherwise(pl.lit("another budget unit's")).alias("whose_en"),
                pl.when("own").then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
                pl.when("own").then(pl.lit(0.9)).otherwise(pl.lit(0.6)).alias("score"),
                pl.concat_str("unit_id", pl.lit("|"), "payee_account", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                to_time(pl.col("first"), ctx.timezone).alias("event_time"),
            )
        )

"""``funds.round_trip``: money paid out and back in (资金体外循环 by round trip).

A paid voucher from unit U to account A, followed within ``window_days`` by a
bank credit *from A* into one of U's own accounts for at least ``min_share``
of the amount: the payment went out through the treasury and came back into
an account the unit controls. Returned vouchers are not payments (their money
comes back by design) and do not count.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import active_payment, in_year, to_time
from auditlib.registry import register


@register
class FundsRoundTrip(Detector):
    id = "funds.round_trip"
    title = Text("资金回流", "Round trip: paid out, credited back")
    description = Text(
        "单位支付给某账户的资金在短期内又从该账户转回本单位账户。",
        "Money a unit paid to an account comes back from that account into the unit's own "
        "account within days.",
    )
    requires = ("payments", "unit_accounts", "bank_transactions")
    entity = "payee_account"
    severity = "high"
    params = (
        Param("window_days", int, 30, "Days from payment to the credit back.", min=0, max=366),
        Param("min_share", float, 0.5, "Share of the payment that must come back.", min=0.01, max=1.0),
    )
    alert_title = Text(
        "资金回流：{unit_id} 付出 {paid:money} 元，{gap} 天后收回 {amount:money} 元",
        "Round trip: {unit_id} paid {paid:money} yuan, {amount:money} came back {gap} days later",
    )
    alert_explanation = Text(
        "单位 {unit_id} 于 {pay_date} 以凭证 {voucher_id} 向账号 {entity_id}（{payee_name}）支付 "
        "{paid:money} 元；{gap} 天后（{value_date}）该账号向本单位账户 {back_account} 转回 "
        "{amount:money} 元（银行流水 {bank_ref}，占 {share:pct}，阈值 {min_share:pct}、窗口 "
        "{window_days} 天）。资金经外部账户回流单位，脱离国库监控。",
        "Unit {unit_id} paid {paid:money} yuan to account {entity_id} ({payee_name}) with voucher "
        "{voucher_id} on {pay_date}; {gap} day(s) later ({value_date}) that account credited "
        "{amount:money} yuan ({share:pct}; threshold {min_share:pct}, window {window_days} days) "
        "back into the unit's account {back_account} (bank ref {bank_ref}). The money came back "
        "through an outside account, outside treasury control.",
    )

    def find(self, tables, ctx):
        acc = tables["unit_accounts"].select(
            pl.col("account_no").alias("back_account"), pl.col("unit_id").alias("unit_id"),
        )
        credits = (
            tables["bank_transactions"]
            .filter((pl.col("direction").fill_null("debit") == "credit") & pl.col("payer_account").is_not_null())
            .join(acc, left_on="payee_account", right_on="back_account", how="inner")
            .select(
                "bank_ref", "value_date", pl.col("amount").alias("back"),
                pl.col("payer_account").alias("payee_account"), "unit_id",
                pl.col("payee_account").alias("back_account"),
            )
        )
        pays = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .select("voucher_id", "unit_id", "payee_account", "payee_name", "pay_date",
                    pl.col("amount").alias("paid"))
        )
        gap = (pl.col("value_date") - pl.col("pay_date")).dt.total_days()
        share = pl.col("back").cast(pl.Float64) / pl.col("paid").cast(pl.Float64)
        return (
            pays.join(credits, on=["unit_id", "payee_account"], how="inner")
            .with_columns(gap.alias("gap"), share.alias("share"))
            .filter(pl.col("gap").is_between(0, self.window_days) & (pl.col("share") >= self.min_share)
                    & (pl.col("share") <= 1.05))
            .sort("voucher_id", "gap", "bank_ref")
            .unique("voucher_id", keep="first", maintain_order=True)
            .select(
                pl.col("payee_account").alias("entity_id"), "unit_id", "voucher_id", "payee_name",
                "paid", pl.col("back").alias("amount"), "gap", "share", "bank_ref", "back_account",
                pl.col("pay_date").cast(pl.String), pl.col("value_date").cast(pl.String),
                pl.concat_str("voucher_id", pl.lit("|"), "bank_ref").alias("finding_key"),
                pl.concat_list(ref("payments", "voucher_id").alias("p"),
                               ref("bank_transactions", "bank_ref").alias("b")).alias("evidence"),
                to_time(pl.col("pay_date"), ctx.timezone).alias("event_time"),
                (0.5 + 0.5 * pl.col("share").clip(0, 1)).alias("score"),
            )
        )

"""``budget.overrun``: cumulative payments on an indicator above its amount.

With budget control working, an indicator cannot be overspent; an overrun
means a bypass. Paid vouchers are accumulated per indicator in payment order
(pay date, then voucher id); the evidence is the indicator, the crossing
payment and every payment after it, and the amount at risk is the overrun.
Returned and cancelled vouchers, and reversals, do not count.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import active_payment, in_year, to_time
from auditlib.registry import register


@register
class BudgetOverrun(Detector):
    id = "budget.overrun"
    title = Text("指标超支", "Indicator overrun")
    description = Text(
        "指标累计支付超过指标金额，说明指标控制被绕过。",
        "Cumulative payments on an indicator exceed its amount: budget control was bypassed.",
    )
    requires = ("payments", "indicators")
    entity = "indicator"
    severity = "critical"
    alert_title = Text(
        "指标超支：{entity_id} 超出 {amount:money} 元",
        "Indicator overrun: {entity_id} over by {amount:money} yuan",
    )
    alert_explanation = Text(
        "指标 {entity_id}（单位 {unit_id}，{year} 年，金额 {budget:money} 元）累计支付 "
        "{paid:money} 元（{n_pay} 笔），超出 {amount:money} 元。凭证 {crossing} 于 {cross_date} "
        "使累计支付首次超过指标金额，其后共 {n_after} 笔支付。",
        "Indicator {entity_id} (unit {unit_id}, {year}, amount {budget:money} yuan) has paid "
        "{paid:money} yuan in {n_pay} payments, {amount:money} yuan over. Voucher {crossing} on "
        "{cross_date} first took the total above the indicator; {n_after} payment(s) from it on.",
    )

    def find(self, tables, ctx):
        ind = tables["indicators"].filter(pl.col("fiscal_year") == ctx.year).select(
            "indicator_id", pl.col("amount").alias("budget"), pl.col("unit_id").alias("ind_unit"),
        )
        pay = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .select("indicator_id", "voucher_id", "pay_date", "amount")
        )
        # amounts are positive, so an indicator is overrun exactly when its total is above
        # its amount: one hash group-by finds those; only their vouchers are sorted
        hit = (
            pay.group_by("indicator_id")
            .agg(pl.col("amount").sum().alias("total"), pl.len().alias("n_pay"))
            .join(ind, on="indicator_id", how="inner")
            .filter(pl.col("total") > pl.col("budget"))
            .select("indicator_id", "budget", "ind_unit", "n_pay")
        )
        over = (
            pay.join(hit, on="indicator_id", how="inner")
            .sort("indicator_id", "pay_date", "voucher_id")
            .with_columns(pl.col("amount").cum_sum().over("indicator_id").alias("cum"))
            .filter(pl.col("cum") > pl.col("budget"))
        )
        return (
            over.group_by("indicator_id")
            .agg(
                pl.col("voucher_id").first().alias("crossing"),
                pl.col("pay_date").first().alias("cross_date"),
                pl.col("cum").last().alias("paid"), pl.col("budget").first(),
                pl.col("ind_unit").first().alias("unit_id"), pl.len().alias("n_after"),
                pl.col("n_pay").first(),
                ref("payments", "voucher_id").alias("ev"),
            )
            .select(
                pl.col("indicator_id").alias("entity_id"), "unit_id", "crossing", "paid", "budget",
                "n_pay", "n_after",
                pl.col("cross_date").cast(pl.String),
                pl.concat_str("indicator_id", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                pl.concat_list(ref("indicators", "indicator_id").alias("i"), "ev").alias("evidence"),
                (pl.col("paid") - pl.col("budget")).alias("amount"), pl.lit(ctx.year).alias("year"),
                to_time(pl.col("cross_date"), ctx.timezone).alias("event_time"),
                (0.5 + 0.5 * ((pl.col("paid") - pl.col("budget")).cast(pl.Float64)
                              / pl.col("paid").cast(pl.Float64))).alias("score"),
            )
        )

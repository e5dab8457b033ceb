"""``sangong.total``: 三公 total control (总量控制).

A unit's year-to-date 三公 spending (economic classes 30212, 30217, 30231,
31013: paid vouchers up to the audit date) against its 三公 budget (the sum of
its indicators for the year whose economic class is a 三公 code). An alert
when spending exceeds the budget; the excess is the amount at risk.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import active_payment, in_year, sangong_code, to_time, with_evidence
from auditlib.registry import register


@register
class SangongTotal(Detector):
    id = "sangong.total"
    title = Text("三公经费超预算总额", "三公 spending above its total budget")
    description = Text(
        "单位本年累计三公经费支出超过其三公预算指标总额（总量控制）。",
        "A unit's year-to-date 三公 spending exceeds the total of its 三公 indicators "
        "(total control).",
    )
    requires = ("payments", "indicators")
    entity = "unit"
    severity = "high"
    alert_title = Text(
        "三公经费超预算：单位 {entity_id} 超出 {amount:money} 元",
        "三公 spending over budget: unit {entity_id} by {amount:money} yuan",
    )
    alert_explanation = Text(
        "单位 {entity_id} {year} 年截至 {as_of} 三公经费支出 {spent:money} 元（{n_pay} 笔），"
        "三公预算指标合计 {budget:money} 元（{n_ind} 个指标），超出 {amount:money} 元"
        "（{ratio:pct}）。三公经费实行总量控制，只减不增。",
        "Unit {entity_id} spent {spent:money} yuan on 三公 in {year} up to {as_of} "
        "({n_pay} payments) against 三公 indicators of {budget:money} yuan ({n_ind} "
        "indicators): {amount:money} yuan ({ratio:pct}) over. 三公 spending is under total "
        "control and may only fall.",
    )

    def find(self, tables, ctx):
        rows = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .filter(sangong_code(pl.col("economic_class")).is_not_null())
            .select("unit_id", "voucher_id", "amount", "pay_date")
            .collect()
            .lazy()
        )
        pay = rows.group_by("unit_id").agg(
            pl.col("amount").sum().alias("spent"), pl.len().alias("n_pay"),
            pl.col("pay_date").min().alias("first"),
        )
        ind = (
            tables["indicators"]
            .filter((pl.col("fiscal_year") == ctx.year)
                    & sangong_code(pl.col("economic_class")).is_not_null())
            .group_by("unit_id")
            .agg(
                pl.col("amount").sum().alias("budget"), pl.len().alias("n_ind"),
                ref("indicators", "indicator_id").sort().alias("ev_ind"),
            )
        )
        over = (
            pay.join(ind, on="unit_id", how="left")
            .with_columns(pl.col("budget").fill_null(0), pl.col("n_ind").fill_null(0))
            .filter(pl.col("spent") > pl.col("budget"))
        )
        return (
            with_evidence(over, rows, ["unit_id"], ref("payments", "voucher_id"), "ev_pay")
            .select(
                pl.col("unit_id").alias("entity_id"), "unit_id",
                pl.concat_str("unit_id", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                pl.concat_list("ev_pay", pl.col("ev_ind").fill_null([])).alias("evidence"),
                (pl.col("spent") - pl.col("budget")).alias("amount"),
                "spent", "budget", "n_pay", "n_ind",
                ((pl.col("spent") - pl.col("budget")).cast(pl.Float64)
                 / pl.col("budget").cast(pl.Float64)).alias("ratio"),
                pl.lit(ctx.year).alias("year"), pl.lit(str(ctx.as_of)).alias("as_of"),
                to_time(pl.col("first"), ctx.timezone).alias("event_time"),
                (0.5 + 0.5 * ((pl.col("spent") - pl.col("budget")).cast(pl.Float64)
                              / pl.col("spent").cast(pl.Float64))).alias("score"),
            )
        )

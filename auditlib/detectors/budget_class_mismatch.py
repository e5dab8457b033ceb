"""``budget.class_mismatch``: 串用指标, an indicator paying for what it was not allotted for.

A payment whose economic class does not start with its indicator's economic
class (the contract's prefix rule; an indicator with no class allows any), or
that is charged to another unit's indicator. 三公 classes are left to
``sangong.indicator``, which applies the stricter 三公 rule. Findings are
grouped per indicator and payment class, listing every voucher.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import active_payment, in_year, sangong_code, to_time
from auditlib.registry import register


@register
class BudgetClassMismatch(Detector):
    id = "budget.class_mismatch"
    title = Text("串用指标", "Indicator used for another purpose")
    description = Text(
        "支付的经济分类不属于所用指标下达的经济分类，或使用了其他单位的指标。",
        "A payment's economic class is outside what its indicator was allotted for, or it "
        "uses another unit's indicator.",
    )
    requires = ("payments", "indicators")
    entity = "indicator"
    severity = "medium"
    alert_title = Text(
        "串用指标：指标 {entity_id} 支付 {pay_class} 类 {amount:money} 元",
        "Indicator misuse: {entity_id} paid {amount:money} yuan of class {pay_class}",
    )
    alert_explanation = Text(
        "单位 {unit_id} 以指标 {entity_id}（所属单位 {ind_unit}，经济分类“{ind_class}”，用途"
        "“{ind_purpose}”）支付经济分类 {pay_class} 的款项 {n_pay} 笔，合计 {amount:money} 元"
        "（凭证 {vouchers}）。{reason_zh}",
        "Unit {unit_id} paid {n_pay} payment(s) of economic class {pay_class}, {amount:money} "
        "yuan in all (vouchers {vouchers}), from indicator {entity_id} (unit {ind_unit}, "
        "economic class '{ind_class}', purpose '{ind_purpose}'). {reason_en}",
    )

    def find(self, tables, ctx):
        ind = tables["indicators"].select(
            "indicator_id", pl.col("unit_id").alias("ind_unit"),
            pl.col("economic_class").alias("ind_class"), pl.col("purpose").alias("ind_purpose"),
        )
        pay = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .filter(sangong_code(pl.col("economic_class")).is_null())
            .join(ind, on="indicator_id", how="inner")
        )
        wrong_class = pl.col("ind_class").is_not_null() & ~pl.col("economic_class").str.starts_with(
            pl.col("ind_class")
        )
        other_unit = pl.col("ind_unit") != pl.col("unit_id")
        return (
            pay.filter(wrong_class | other_unit)
            .with_columns(wrong_class.alias("wc"), other_unit.alias("ou"))
            .sort("pay_date", "voucher_id")
            .group_by("indicator_id", "economic_class", "unit_id")
            .agg(
                pl.col("amount").sum(), pl.len().alias("n_pay"), pl.col("voucher_id").alias("vouchers"),
                ref("payments", "voucher_id").alias("evidence"),
                pl.col("ind_unit", "ind_class", "ind_purpose", "wc", "ou").first(),
                pl.col("pay_date").min().alias("first"),
            )
            .select(
                pl.col("indicator_id").alias("entity_id"), "unit_id", "amount", "n_pay", "vouchers",
                pl.col("economic_class").alias("pay_class"), "ind_unit",
                pl.col("ind_class").fill_null("不限/any"), "ind_purpose", "evidence",
                pl.concat_str("indicator_id", pl.lit("|"), "economic_class", pl.lit("|"), "unit_id",
                              pl.lit(f"|{ctx.year}")).alias("finding_key"),
                pl.concat_str(
                    pl.when("wc").then(pl.lit("支付经济分类不以指标经济分类开头。")).otherwise(pl.lit("")),
                    pl.when("ou").then(pl.lit("指标属于其他单位。")).otherwise(pl.lit("")),
                ).alias("reason_zh"),
                pl.concat_str(
                    pl.when("wc").then(pl.lit("The payment's class does not start with the indicator's. ")).otherwise(pl.lit("")),
                    pl.when("ou").then(pl.lit("The indicator belongs to another unit.")).otherwise(pl.lit("")),
                ).alias("reason_en"),
                pl.when("ou").then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
                to_time(pl.col("first"), ctx.timezone).alias("event_time"),
            )
        )

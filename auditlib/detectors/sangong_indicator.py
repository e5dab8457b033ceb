"""``sangong.indicator``: 三公 indicator control (指标控制).

A 三公 payment (economic class 30212, 30217, 30231 or 31013) belongs only on
an indicator whose economic class starts with that same 三公 code (the data
contract's rule). Payments charged elsewhere are grouped per indicator and
三公 code: one alert lists every voucher, the amount is their total.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import active_payment, in_year, sangong_code, sangong_name, to_time
from auditlib.registry import register


@register
class SangongIndicator(Detector):
    id = "sangong.indicator"
    title = Text("三公经费列支非三公指标", "三公 spending charged to an indicator not allotted for it")
    description = Text(
        "三公经费支出只能列支对应三公经济分类的指标；列支其他指标即为串用指标。",
        "三公 spending may only be charged to indicators allotted for that 三公 class; "
        "charging it elsewhere is indicator misuse (串用指标).",
    )
    requires = ("payments", "indicators")
    entity = "indicator"
    severity = "high"
    alert_title = Text(
        "三公经费串用指标：{cat_zh} {amount:money} 元列支指标 {entity_id}",
        "三公 on the wrong indicator: {cat_en}, {amount:money} yuan on {entity_id}",
    )
    alert_explanation = Text(
        "单位 {unit_id} 的 {n_pay} 笔{cat_zh}支出（经济分类 {code}，合计 {amount:money} 元，凭证 "
        "{vouchers}）列支于指标 {entity_id}，该指标经济分类为“{ind_class}”，用途“{ind_purpose}”，"
        "并非 {code} 三公指标。三公经费只能使用专门下达的三公指标。",
        "{n_pay} {cat_en} payment(s) of unit {unit_id} (economic class {code}, {amount:money} "
        "yuan in all; vouchers {vouchers}) were charged to indicator {entity_id}, whose economic "
        "class is '{ind_class}' (purpose '{ind_purpose}'), not the 三公 code {code}. 三公 "
        "spending may only use indicators allotted for it.",
    )

    def find(self, tables, ctx):
        ind = tables["indicators"].select(
            "indicator_id", pl.col("economic_class").alias("ind_class"),
            pl.col("purpose").alias("ind_purpose"),
        )
        return (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .with_columns(sangong_code(pl.col("economic_class")).alias("code"))
            .filter(pl.col("code").is_not_null())
            .join(ind, on="indicator_id", how="left")
            .filter(~pl.col("ind_class").fill_null("").str.starts_with(pl.col("code")))
            .sort("pay_date", "voucher_id")
            .group_by("indicator_id", "code")
            .agg(
                pl.col("unit_id").first(), pl.col("amount").sum(), pl.len().alias("n_pay"),
                pl.col("voucher_id").alias("vouchers"),
                ref("payments", "voucher_id").alias("evidence"),
                pl.col("ind_class").first().fill_null("无/none"), pl.col("ind_purpose").first(),
                pl.col("pay_date").min().alias("first"),
            )
            .select(
                pl.col("indicator_id").alias("entity_id"), "unit_id", "code", "amount", "n_pay",
                "vouchers", "ind_class", "ind_purpose",
                pl.concat_str("indicator_id", pl.lit("|"), "code", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                pl.col("evidence"),
                sangong_name(pl.col("code"), "zh").alias("cat_zh"),
                sangong_name(pl.col("code"), "en").alias("cat_en"),
                to_time(pl.col("first"), ctx.timezone).alias("event_time"),
            )
        )

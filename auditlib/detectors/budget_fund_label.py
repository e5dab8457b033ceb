"""``budget.fund_label``: labelled funds (资金标识) paying for something else.

An indicator's ``fund_label`` says what its money is for. This detector reads
the label by keywords (documented in ``RULES``) and checks each payment's
economic class against it:

| label mentions | may pay (economic class prefixes) |
| --- | --- |
| 工资 / 保工资 | 301 wages, 303 (pensions and allowances to individuals) |
| 民生 / 保基本民生 | 303 subsidies to individuals and households, 302/310 |
| 运转 / 保运转 | 301, 302 (unit operations) |
| 三保 (no detail) | 301, 302, 303 |
| 直达 (direct funds) | anything except the 三公 classes |

Payments of 三保 or direct funds into 三公 are always findings. A label the
rules do not recognise is not judged. Grouped per indicator and class.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import SANGONG, active_payment, in_year, to_time
from auditlib.registry import register

RULES: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("工资", ("301", "303"), "工资", "wages"),
    ("民生", ("303", "302", "310"), "基本民生", "basic livelihood"),
    ("运转", ("301", "302"), "运转", "operations"),
    ("三保", ("301", "302", "303"), "三保", "三保 (wages, livelihood, operations)"),
    ("直达", ("3",), "直达资金", "direct funds"),
)
"""(keyword in the label, allowed class prefixes, zh name, en name), first match wins."""


@register
class BudgetFundLabel(Detector):
    id = "budget.fund_label"
    title = Text("专项资金改变用途", "Labelled funds used for another purpose")
    description = Text(
        "带资金标识（三保、直达资金等）的指标支付了标识用途之外的经济分类。",
        "An indicator with a fund label (三保, direct funds...) paid an economic class outside "
        "the label's purpose.",
    )
    requires = ("payments", "indicators")
    entity = "indicator"
    severity = "high"
    alert_title = Text(
        "资金标识“{label}”的指标 {entity_id} 支付 {pay_class} 类 {amount:money} 元",
        "Fund '{label}' on indicator {entity_id} paid class {pay_class}: {amount:money} yuan",
    )
    alert_explanation = Text(
        "指标 {entity_id}（单位 {unit_id}）资金标识为“{label}”，只能用于{use_zh}"
        "（经济分类 {allowed}），但支付了经济分类 {pay_class} 的款项 {n_pay} 笔，合计 "
        "{amount:money} 元（凭证 {vouchers}）。",
        "Indicator {entity_id} (unit {unit_id}) carries fund label '{label}', for {use_en} only "
        "(economic classes {allowed}), yet paid {n_pay} payment(s) of class {pay_class}, "
        "{amount:money} yuan in all (vouchers {vouchers}).",
    )

    def find(self, tables, ctx):
        label = pl.col("fund_label")
        rule_idx = pl.coalesce(
            [pl.when(label.str.contains(k, literal=True)).then(pl.lit(i)) for i, (k, *_) in enumerate(RULES)]
        )
        ind = (
            tables["indicators"]
            .filter(label.is_not_null())
            .with_columns(rule_idx.alias("rule"))
            .filter(pl.col("rule").is_not_null())
            .select("indicator_id", pl.col("fund_label").alias("label"), "rule")
        )
        allowed_ok = pl.coalesce(
            [
                pl.when(pl.col("rule") == i).then(
                    pl.any_horizontal([pl.col("economic_class").str.starts_with(p) for p in prefixes])
                )
                for i, (_, prefixes, *_) in enumerate(RULES)
            ]
        )
        is_sangong = pl.col("economic_class").str.slice(0, 5).is_in(list(SANGONG))

        def pick(j: int) -> pl.Expr:
            return pl.col("rule").replace_strict({i: r[j] for i, r in enumerate(RULES)}, return_dtype=pl.String)

        return (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .join(ind, on="indicator_id", how="inner")
            .filter(~allowed_ok | is_sangong)
            .sort("pay_date", "voucher_id")
            .group_by("indicator_id", "economic_class")
            .agg(
                pl.col("unit_id").first(), pl.col("label").first(), pl.col("rule").first(),
                pl.col("amount").sum(), pl.len().alias("n_pay"), pl.col("voucher_id").alias("vouchers"),
                ref("payments", "voucher_id").alias("evidence"), pl.col("pay_date").min().alias("first"),
            )
            .select(
                pl.col("indicator_id").alias("entity_id"), "unit_id", "label", "amount", "n_pay",
                "vouchers", "evidence", pl.col("economic_class").alias("pay_class"),
                pick(2).alias("use_zh"), pick(3).alias("use_en"),
                pl.col("rule").replace_strict(
                    {i: "/".join(r[1]) + ("（非三公）" if r[0] == "直达" else "") for i, r in enumerate(RULES)},
                    return_dtype=pl.String,
                ).alias("allowed"),
                pl.concat_str("indicator_id", pl.lit("|"), "economic_class", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                to_time(pl.col("first"), ctx.timezone).alias("event_time"),
            )
        )

"""``amount.outlier``: a payment far larger than everything its unit pays in that class.

Per unit and economic class (the first five digits, 款 level: ``3020101`` counts as
``30201``), robust statistics on ``ln(amount)`` of the year's paid vouchers: the median
and the MAD (scaled by 1.4826 to estimate a standard deviation, and never below
``min_scale`` so a group of near-identical amounts, such as monthly wages, does not make
a modest rise look extreme). Only groups of at least ``min_group`` payments are judged.
A payment alerts when *all* hold:

- its robust z-score is at least ``z_threshold`` (``capital_z_threshold`` for capital
  classes, ``310xx``, whose amounts are naturally heavy-tailed);
- it is materially large: above the 99th percentile of the group's ordinary payments
  (those below the z threshold) and at least ``min_amount`` yuan;
- it stands apart: at least ``gap_ratio`` times the largest *ordinary* payment of the
  group (the largest one below the z threshold, so two planted outliers in one group
  are both found). For capital classes the reference is the largest *other* payment:
  capital spending is lumpy, and a second payment of the same size (a progress payment,
  another purchase of the project) makes it ordinary;
- it is unusual for its class across all units too: robust z against the class's
  payments in every unit at least ``population_z_threshold``, so a payment large for a
  small unit but ordinary for the class elsewhere (a school's first server) is not an
  alert.

What must not fire: large but normal capital payments (several large payments in the
group, or an amount ordinary for the class province-wide); a year-end wage or bonus
month (the MAD floor); groups too small to have a distribution.

Known false positives: a genuine one-off purchase booked under a class the unit rarely
uses for large amounts (a misclassified capital item under goods and services); the
explanation shows the group's median and largest ordinary payment so an auditor can
judge.
"""

from __future__ import annotations

import math

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import active_payment, in_year, to_time
from auditlib.registry import register

MAD_TO_SD = 1.4826


@register
class AmountOutlier(Detector):
    id = "amount.outlier"
    title = Text("异常大额支付", "Amount outlier")
    description = Text(
        "单笔支付金额远超同一单位同一经济分类的日常水平（对数金额的稳健 z 值，中位数与 MAD）。",
        "A payment far above what the unit usually pays in that economic class (robust z-score "
        "of the log amount: median and MAD).",
    )
    requires = ("payments",)
    entity = "voucher"
    severity = "medium"
    params = (
        Param("min_group", int, 30, "Fewest paid vouchers of a unit x class group to judge it.",
              min=5),
        Param("z_threshold", float, 6.0, "Robust z-score of ln(amount) at or above which a "
              "payment is extreme.", min=1.0),
        Param("capital_z_threshold", float, 8.0, "The z threshold for capital classes.",
              min=1.0),
        Param("capital_prefixes", tuple, ("310",), "Economic class prefixes treated as capital."),
        Param("gap_ratio", float, 2.0, "How many times the group's largest ordinary payment "
              "(capital: largest other payment) the amount must be.", min=1.0),
        Param("min_amount", float, 10000.0, "Payments below this (yuan) never alert.", min=0),
        Param("min_scale", float, 0.25, "Floor of the robust standard deviation of ln(amount).",
              min=0.01),
        Param("population_z_threshold", float, 3.0, "Robust z against the class in all units "
              "at or above which the amount is unusual for the class.", min=0.0),
    )
    alert_title = Text(
        "异常大额支付：{amount:money} 元，为单位同类中位数的 {ratio_median:.0f} 倍",
        "Amount outlier: {amount:money} yuan, {ratio_median:.0f}x the unit's class median",
    )
    alert_explanation = Text(
        "单位 {unit_id} 于 {pay_date} 以凭证 {entity_id} 向 {payee_name} 支付 {amount:money} 元"
        "（经济分类 {class_code}）。该单位本年同类 {n:int} 笔支付的中位数为 {median:money} 元，"
        "对数金额稳健 z 值 {z:.1f}，阈值 {threshold:.1f}；金额高于同类正常支付的第 99 百分位数 "
        "{p99:money} 元，为参照最大支付 {reference:money} 元的 {gap:.1f} 倍（要求 {gap_ratio:.1f} "
        "倍）；对全部单位同类支付（中位数 {pop_median:money} 元）的稳健 z 值 {pop_z:.1f}。",
        "Unit {unit_id} paid {amount:money} yuan to {payee_name} with voucher {entity_id} on "
        "{pay_date} (economic class {class_code}). The unit's {n:int} payments in that class "
        "this year have a median of {median:money} yuan; the robust z-score of the log amount "
        "is {z:.1f} against a threshold of {threshold:.1f}. The amount is above the 99th "
        "percentile of the class's ordinary payments ({p99:money} yuan) and {gap:.1f}x the "
        "reference largest payment of {reference:money} yuan ({gap_ratio:.1f}x required); "
        "against the class in all units (median {pop_median:money} yuan) its robust z-score "
        "is {pop_z:.1f}.",
    )

    def find(self, tables, ctx):
        grp = ["unit_id", "class_code"]
        capital = pl.lit(False)
        for p in self.capital_prefixes:
            capital = capital | pl.col("class_code").str.starts_with(str(p))
        la = pl.col("la")
        paid = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .select(
                "voucher_id", "unit_id", "amount", "payee_name", "pay_date",
                pl.col("economic_class").str.slice(0, 5).alias("class_code"),
                pl.col("amount").cast(pl.Float64).alias("af"),
            )
        )

        def stats(lf: pl.LazyFrame) -> pl.LazyFrame:
            return (
                lf.with_columns(la=pl.col("af").log(), n=pl.len().over(grp))
                .with_columns(med=la.median().over(grp))
                .with_columns(
                    scale=((la - pl.col("med")).abs().median().over(grp) * MAD_TO_SD)
                    .clip(lower_bound=self.min_scale),
                    threshold=pl.when(capital).then(pl.lit(self.capital_z_threshold))
                    .otherwise(pl.lit(self.z_threshold)),
                    capital=capital,
                )
                .with_columns(z=(la - pl.col("med")) / pl.col("scale"))
            )

        # the class-wide statistics over every unit, and the groups holding a payment that
        # passes every test but the group's p99 and reference: only those groups are read again
        pop = pl.col("pmed")
        first = (
            stats(paid.select("unit_id", "class_code", "af"))
            .with_columns(pmed=la.median().over("class_code"))
            .with_columns(
                pscale=((la - pop).abs().median().over("class_code") * MAD_TO_SD)
                .clip(lower_bound=self.min_scale),
            )
            .with_columns(pop_z=(la - pop) / pl.col("pscale"))
        )
        classes, groups = pl.collect_all([
            first.group_by("class_code").agg(pl.col("pmed", "pscale").first()),
            first.filter(
                (pl.col("n") >= self.min_group) & (pl.col("z") >= pl.col("threshold"))
                & (pl.col("af") >= self.min_amount)
                & (pl.col("pop_z") >= self.population_z_threshold)
            ).select(grp).unique(),
        ])
        pay = (
            stats(paid.join(groups.lazy(), on=grp, how="semi", nulls_equal=True))
            .join(classes.lazy(), on="class_code", how="left", nulls_equal=True)
            .with_columns(pop_z=(la - pop) / pl.col("pscale"))
        )
        af = pl.col("af")
        top = af.max().over(grp)
        max_rest = (
            pl.when((af == top) & ((af == top).sum().over(grp) == 1))
            .then(af.filter(af < top).max().over(grp))
            .otherwise(top)
        )
        ordinary_max = af.filter(pl.col("z") < pl.col("threshold")).max().over(grp)
        pay = pay.filter(pl.col("n") >= self.min_group).with_columns(
            p99=af.filter(pl.col("z") < pl.col("threshold"))
            .quantile(0.99, interpolation="higher").over(grp),
            reference=pl.when(pl.col("capital")).then(max_rest).otherwise(ordinary_max),
        )
        gap = af / pl.col("reference")
        hit = (
            (pl.col("z") >= pl.col("threshold"))
            & (af > pl.col("p99"))
            & (af >= self.min_amount)
            & (pl.col("reference").is_null() | (gap >= self.gap_ratio))
            & (pl.col("pop_z") >= self.population_z_threshold)
        )
        return (
            pay.filter(hit)
            .select(
                pl.col("voucher_id").alias("entity_id"),
                pl.col("voucher_id").alias("finding_key"),
                pl.concat_list(ref("payments", "voucher_id")).alias("evidence"),
                "unit_id", "amount", "payee_name", "class_code", "n", "z", "pop_z", "threshold",
                pl.col("pay_date").cast(pl.String),
                pl.col("med").exp().alias("median"),
                pl.col("pmed").exp().alias("pop_median"),
                (pl.col("la") - pl.col("med")).exp().alias("ratio_median"),
                "p99", "reference", gap.alias("gap"),
                to_time(pl.col("pay_date"), ctx.timezone).alias("event_time"),
                (1.0 - 0.5 * pl.col("threshold") / pl.col("z")).alias("score"),
                pl.when((gap >= 10.0) & (af >= 100_000.0))
                .then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
            )
            .with_columns(pl.col("median", "pop_median", "p99", "reference").round(2))
            .sort("entity_id")
        )


def robust_z(values: list[float], x: float, *, min_scale: float = 0.25) -> float:
    """The robust z-score of ``ln(x)`` among ``ln(values)`` (median, MAD x 1.4826, floored).

    >>> round(robust_z([100.0, 110.0, 90.0, 105.0, 95.0], 10_000.0), 1)
    18.4
    """
    logs = sorted(math.log(v) for v in values)
    med = _median(logs)
    mad = _median(sorted(abs(v - med) for v in logs))
    return (math.log(x) - med) / max(mad * MAD_TO_SD, min_scale)


def _median(xs: list[float]) -> float:
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

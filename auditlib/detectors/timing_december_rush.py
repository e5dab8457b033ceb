"""``timing.december_rush``: year-end spending rush (年底突击花钱).

A unit that pays out an outsized share of its annual budget in the last
``days`` days of the year: the December share of the year's indicators above
``min_share`` *and* December spending above ``ratio`` times the unit's average
for the same number of days earlier in the year — both also without the window's single
largest payment, and with at least ``min_payments`` payments, so one lumpy capital
progress payment landing in December is not a rush. Runs only once the audit date
reaches the window (before that there is nothing to judge, and it says so by
returning no finding).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import active_payment, to_time
from auditlib.registry import register


@register
class TimingDecemberRush(Detector):
    id = "timing.december_rush"
    title = Text("年底突击花钱", "Year-end spending rush")
    description = Text(
        "单位在年末最后几周支付了其全年预算中过高的比例。",
        "A unit pays out an outsized share of its annual budget in the last weeks of the year.",
    )
    requires = ("payments", "indicators")
    entity = "unit"
    severity = "medium"
    params = (
        Param("days", int, 31, "Length of the year-end window in days.", min=7, max=92),
        Param("min_share", float, 0.3, "Share of the annual budget spent in the window.", min=0.0, max=1.0),
        Param("ratio", float, 3.0, "Times the unit's earlier pace for the same length.", min=1.0),
        Param("min_payments", int, 5, "Fewest payments in the window.", min=1),
    )
    alert_title = Text(
        "年底突击花钱：单位 {entity_id} 年末支付 {amount:money} 元（占预算 {share:pct}）",
        "Year-end rush: unit {entity_id} paid {amount:money} yuan ({share:pct} of budget)",
    )
    alert_explanation = Text(
        "单位 {entity_id} 在 {start} 至 {end} 的 {days} 天内支付 {amount:money} 元（{n_pay} 笔），"
        "占全年预算 {budget:money} 元的 {share:pct}（阈值 {min_share:pct}）；是此前同样天数平均支出"
        " {pace:money} 元的 {times:.1f} 倍（阈值 {ratio:.1f} 倍）。",
        "Unit {entity_id} paid {amount:money} yuan ({n_pay} payments) in the {days} days from "
        "{start} to {end}: {share:pct} of its annual budget of {budget:money} yuan (threshold "
        "{min_share:pct}), {times:.1f} times its earlier pace of {pace:money} yuan per {days} "
        "days (threshold {ratio:.1f}).",
    )

    def find(self, tables, ctx):
        year_end = dt.date(ctx.year, 12, 31)
        start = year_end - dt.timedelta(days=self.days - 1)
        if ctx.as_of < start:
            return _empty()
        end = min(ctx.as_of, year_end)
        jan1 = dt.date(ctx.year, 1, 1)
        before_days = max((start - jan1).days, 1)
        pay = tables["payments"].filter(
            active_payment() & pl.col("pay_date").is_between(jan1, end)
        )
        win = pl.col("pay_date") >= start
        budget = (
            tables["indicators"].filter(pl.col("fiscal_year") == ctx.year)
            .group_by("unit_id").agg(pl.col("amount").sum().alias("budget"))
        )
        per = (
            pay.group_by("unit_id")
            .agg(
                pl.col("amount").filter(win).sum().alias("amount"),
                pl.col("amount").filter(win).max().alias("largest"),
                pl.col("amount").filter(~win).sum().alias("before"),
                win.sum().alias("n_pay"),
                ref("payments", "voucher_id").filter(win).sort().alias("evidence"),
                pl.col("pay_date").filter(win).min().alias("first"),
            )
            .join(budget, on="unit_id", how="inner")
            .with_columns(
                (pl.col("amount").cast(pl.Float64) / pl.col("budget").cast(pl.Float64)).alias("share"),
                (pl.col("before").cast(pl.Float64) * self.days / before_days).alias("pace"),
            )
            .with_columns(
                (pl.col("amount").cast(pl.Float64) / pl.col("pace")).alias("times"),
                ((pl.col("amount") - pl.col("largest")).cast(pl.Float64)).alias("rest"),
            )
        )
        rest_share = pl.col("rest") / pl.col("budget").cast(pl.Float64)
        rest_times = pl.col("rest") / pl.col("pace")
        return per.filter(
            (pl.col("share") > self.min_share) & (pl.col("times") > self.ratio)
            & (rest_share > self.min_share) & (rest_times > self.ratio)
            & (pl.col("n_pay") >= self.min_payments)
        ).select(
            pl.col("unit_id").alias("entity_id"), "unit_id", "amount", "budget", "share", "pace",
            "times", "n_pay", "evidence",
            pl.lit(str(start)).alias("start"), pl.lit(str(end)).alias("end"),
            pl.concat_str("unit_id", pl.lit(f"|{ctx.year}")).alias("finding_key"),
            to_time(pl.col("first"), ctx.timezone).alias("event_time"),
            pl.col("share").clip(0, 1).alias("score"),
        )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"entity_id": pl.String, "finding_key": pl.String, "evidence": pl.List(pl.String)})

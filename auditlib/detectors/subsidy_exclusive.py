"""``subsidy.exclusive``: mutually exclusive programs paid to one beneficiary in one period.

Programs sharing an ``exclusive_group`` of ``subsidy_programs`` (e.g. 低保 and
特困供养) must not pay the same beneficiary in one period. Programs of a
group may run on different periods; they are compared on the group's
*coarsest* period (a monthly and a quarterly program: per quarter), since
periods nest and two payments overlap exactly when they share the coarse
period. A one-off (``once``) program is compared in the year it is paid
when the group has periodic programs; a group of one-off programs only is
compared over all time (one or the other, ever).

A program counts in a period when its net total there is above zero
(reversed payments do not count). The money at risk is what the beneficiary
received in the period beyond the single most generous program. Beneficiaries
as in ``subsidy.duplicate`` (masked ids with the name). Findings are periods
whose latest payment falls in the fiscal year.

What must NOT fire: one program of the group per period, a switch from one
program to the other between periods (left 低保 in March, 特困 from April),
programs of different groups or of none.

Known false positives: a switch inside one coarse period (a monthly 低保 then
a quarterly 特困 in the same quarter) can be legitimate; the explanation lists
the dates.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.detectors.subsidy_duplicate import payment_text, subsidy_rows
from auditlib.exprs import PERIOD_RANK, period_index, period_label, to_time
from auditlib.registry import register

_NAMES = {v: k for k, v in PERIOD_RANK.items()}


@register
class SubsidyExclusive(Detector):
    id = "subsidy.exclusive"
    title = Text("互斥补贴重复享受", "Mutually exclusive subsidies")
    description = Text(
        "同一受益人在同一周期内同时领取同一互斥组的两个或以上补贴项目。",
        "One beneficiary paid by two or more programs of one exclusive group in one period.",
    )
    requires = ("subsidies", "subsidy_programs")
    entity = "beneficiary"
    severity = "high"
    alert_title = Text(
        "互斥补贴：{beneficiary_name} {when_zh}同时领取 {n_programs} 个互斥项目",
        "Exclusive subsidies: {beneficiary_name} paid by {n_programs} programs of one group "
        "{when_en}",
    )
    alert_explanation = Text(
        "受益人 {entity_id}（{beneficiary_name}）{when_zh}同时领取互斥组 {group} 的 {n_programs} 个"
        "项目，合计 {total:money} 元：{programs_zh}。明细：{payments_zh}。互斥项目同一"
        "期只能享受一项，"
        "按金额最高的一项（{top:money} 元）计，多领 {amount:money} 元。",
        "Beneficiary {entity_id} ({beneficiary_name}) was paid {when_en} by {n_programs} programs "
        "of exclusive group {group}, {total:money} yuan in all: {programs_en}. Payments: "
        "{payments_en}. Only one program of the group may pay in a period; counting the largest "
        "({top:money} yuan), {amount:money} yuan too much.",
    )

    def find(self, tables, ctx):
        progs = tables["subsidy_programs"].filter(pl.col("exclusive_group").is_not_null())
        rank = pl.col("period").replace_strict(PERIOD_RANK, default=None, return_dtype=pl.Int64)
        groups = (
            progs.group_by("exclusive_group")
            .agg(rank.filter(rank < 3).max().fill_null(3).alias("grank"))
            .with_columns(
                pl.col("grank").replace_strict(_NAMES, return_dtype=pl.String).alias("gperiod")
            )
            .select("exclusive_group", "gperiod")
        )
        order = ["pay_date", "disbursement_id"]
        rows = (
            subsidy_rows(tables, ctx, extra=("exclusive_group",))
            .filter(pl.col("exclusive_group").is_not_null())
            .join(groups, on="exclusive_group", how="inner")
            .with_columns(period_index(pl.col("pay_date"), pl.col("gperiod")).alias("gidx"))
        )
        gkeys = ["beneficiary_id", "mname", "exclusive_group", "gidx"]
        names = tables["subsidy_programs"].select("program_code", "program_name")
        per_prog = (
            rows.group_by(*gkeys, "program_code")
            .agg(
                pl.col("amount").sum().alias("net"),
                pl.len().alias("n"),
                pl.col("pay_date").min().alias("p_first"),
            )
            .filter(pl.col("net") > 0)
            .filter(pl.len().over(gkeys) >= 2)
            .join(names, on="program_code", how="left")
        )
        kept = rows.join(
            per_prog.select(*gkeys, "program_code"),
            on=[*gkeys, "program_code"],
            how="semi",
            nulls_equal=True,
        )
        progs_text = (
            per_prog.sort("p_first", "program_code")
            .group_by(gkeys)
            .agg(
                pl.len().alias("n_programs"),
                pl.col("net").sum().alias("total"),
                pl.col("net").max().alias("top"),
                pl.format("{} {} {} 元（{} 笔）", "program_code", "program_name", "net", "n")
                .str.join("；")
                .alias("programs_zh"),
                pl.format(
                    "{} {} {} yuan ({} payment(s))", "program_code", "program_name", "net", "n"
                )
                .str.join("; ")
                .alias("programs_en"),
            )
        )
        detail = kept.group_by(gkeys).agg(
            pl.col("gperiod").first(),
            pl.col("beneficiary_name").sort_by(order).first(),
            pl.col("unit_id").sort_by(order).drop_nulls().first(),
            pl.col("pay_date").min().alias("first_date"),
            pl.col("pay_date").max().alias("last_date"),
            payment_text("zh").sort_by(order).str.join("；").alias("payments_zh"),
            payment_text("en").sort_by(order).str.join("; ").alias("payments_en"),
            ref("subsidies", "disbursement_id").sort_by(order).alias("evidence"),
        )
        once = pl.col("gperiod") == "once"
        return (
            progs_text.filter(pl.col("n_programs") >= 2)
            .join(detail, on=gkeys, how="inner", nulls_equal=True)
            .filter(pl.col("last_date").dt.year() == ctx.year)
            .with_columns(period_label(pl.col("first_date"), pl.col("gperiod")).alias("glabel"))
            .select(
                pl.col("beneficiary_id").alias("entity_id"),
                pl.concat_str(
                    [pl.col("exclusive_group"), pl.col("glabel"), pl.col("mname")],
                    separator="|",
                    ignore_nulls=True,
                ).alias("finding_key"),
                "evidence",
                "unit_id",
                "beneficiary_name",
                "n_programs",
                "total",
                "top",
                "programs_zh",
                "programs_en",
                "payments_zh",
                "payments_en",
                pl.col("exclusive_group").alias("group"),
                pl.when(once)
                .then(pl.lit("累计"))
                .otherwise(pl.format("{} 期内", "glabel"))
                .alias("when_zh"),
                pl.when(once)
                .then(pl.lit("over time"))
                .otherwise(pl.format("in period {}", "glabel"))
                .alias("when_en"),
                (pl.col("total") - pl.col("top")).alias("amount"),
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
                (
                    0.6
                    + 0.4
                    * (
                        (pl.col("total") - pl.col("top")).cast(pl.Float64)
                        / pl.col("total").cast(pl.Float64)
                    )
                ).alias("score"),
            )
            .sort("entity_id", "finding_key")
        )

"""``subsidy.over_standard``: a beneficiary paid above the program's standard in one period.

``max_amount`` of ``subsidy_programs`` is the standard per beneficiary per
period (the program's ``period``; ``once`` = in all). A beneficiary's net
total for one program and period above it is paid beyond the standard; the
excess is the amount at risk.

What must NOT fire:

- the same standard paid every period (each period on its own);
- a catch-up (补发) for *unpaid* periods: when the beneficiary's previous paid
  period is ``k`` periods back, this period may carry ``k`` times the
  standard. Underpaid periods do not build up credit (a standard of 500 paid
  as 300 does not allow 700 next month), so varying means-tested amounts
  (低保 pays the gap to the standard) never hide an overpayment;
- reversals (negative amounts) count against the total; programs with no
  positive standard (``max_amount`` ≤ 0) are not judged.

Beneficiaries as in ``subsidy.duplicate`` (masked ids with the name). A
duplicate at the full standard also exceeds it, so a duplicate usually
raises this alert too; the two say different things (count vs money).

Known false positives: a raised standard applied retroactively (补差) paid in
one go; arrears for periods before the loaded data.
"""

from __future__ import annotations

import polars as pl

from auditlib.detectors.base import Detector, Text
from auditlib.detectors.subsidy_duplicate import (
    catchup_note,
    paid_periods,
    period_names,
    period_when,
    with_details,
)
from auditlib.exprs import to_time
from auditlib.registry import register


@register
class SubsidyOverStandard(Detector):
    id = "subsidy.over_standard"
    title = Text("补贴超标准发放", "Subsidy above the standard")
    description = Text(
        "受益人在一个发放周期内从同一补贴项目领取的合计金额超过项目标准金额（已考虑补发）。",
        "A beneficiary's total from one program in one period exceeds the program's standard "
        "(catch-ups for unpaid periods allowed).",
    )
    requires = ("subsidies", "subsidy_programs")
    entity = "beneficiary"
    severity = "medium"
    alert_title = Text(
        "补贴超标准：{beneficiary_name} {program_name} {when_zh}超出 {amount:money} 元",
        "Subsidy above standard: {program_name} {when_en}, {amount:money} yuan over for "
        "{beneficiary_name}",
    )
    alert_explanation = Text(
        "受益人 {entity_id}（{beneficiary_name}）在补贴项目 {program_code}（{program_name}，"
        "{period_zh}发放，标准 {max_amount:money} 元/期）{when_zh}共领取 {net:money} 元"
        "：{payments_zh}。"
        "可领上限 {limit:money} 元{note_zh}，超出 {amount:money} 元（{ratio:pct}）。",
        "Beneficiary {entity_id} ({beneficiary_name}) received {net:money} yuan from program "
        "{program_code} ({program_name}, paid {period_en}, standard {max_amount:money} yuan per "
        "period) {when_en}: {payments_en}. The most due is {limit:money} yuan{note_en}; "
        "{amount:money} yuan ({ratio:pct}) over.",
    )

    def find(self, tables, ctx):
        limit = pl.col("max_amount") * pl.col("allowed")
        excess = pl.col("net") - pl.col("limit")
        ratio = excess.cast(pl.Float64) / pl.col("limit").cast(pl.Float64)
        flagged = (
            paid_periods(tables, ctx, pl.col("net") > pl.col("max_amount"))
            .filter((pl.col("max_amount") > 0) & (pl.col("last_date").dt.year() == ctx.year))
            .with_columns(limit.alias("limit"))
            .filter(pl.col("net") > pl.col("limit"))
        )
        return (
            with_details(flagged, tables, ctx)
            .select(
                pl.col("beneficiary_id").alias("entity_id"),
                pl.concat_str(
                    [pl.col("program_code"), pl.col("period_label"), pl.col("mname")],
                    separator="|",
                    ignore_nulls=True,
                ).alias("finding_key"),
                "evidence",
                "unit_id",
                "beneficiary_name",
                "program_code",
                "program_name",
                "period_label",
                "net",
                "max_amount",
                "limit",
                "allowed",
                "gap",
                "payments_zh",
                "payments_en",
                excess.alias("amount"),
                ratio.alias("ratio"),
                *period_names(),
                *period_when(),
                *catchup_note(),
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
                (0.5 + 0.5 * (ratio / (1 + ratio))).alias("score"),
                pl.when(ratio >= 1)
                .then(pl.lit("high"))
                .otherwise(pl.lit("medium"))
                .alias("severity"),
            )
            .sort("entity_id", "finding_key")
        )

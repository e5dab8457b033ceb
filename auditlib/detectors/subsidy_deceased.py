"""``subsidy.deceased``: subsidies paid after the beneficiary's death.

``persons`` rows of ``list_type`` ``deceased`` with an ``effective_date`` (the
date of death) are matched to ``subsidies.beneficiary_id`` as given; for a
masked id the name must match too (when the list has one). A death with no
date cannot be judged and is skipped.

Grace: a payment batch is compiled days before the pay date and civil-affairs
death records arrive with a lag, so a payment already in flight when the
person died is normal. An alert needs at least one payment more than
``grace_days`` (default 15) after the death, in the fiscal year and not after
the audit date. Once alerted, the *whole* amount paid after the date of death
(grace period included, every loaded year) is the amount at risk and every
such payment is evidence. Reversals (negative amounts) reduce it.

What must NOT fire: payments on or before the date of death; a single
payment within the grace days (in flight); a person on the deceased list
under another id.

Known false positives: a program that pays for the month of death by rule
(丧葬补助, 死亡当月待遇) more than ``grace_days`` later; a wrong date of
death in the reference list.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import is_masked, masked_name, to_time
from auditlib.registry import register


def name_matches(id_col: str, name_col: str, list_name_col: str) -> pl.Expr:
    """A reference-list row matches a payment: always for an id compared as given; for a
    masked id, when the list has no name or the normalised names agree."""
    norm = lambda c: pl.col(c).str.normalize("NFKC").str.replace_all(r"\s", "")  # noqa: E731
    return (
        ~is_masked(pl.col(id_col))
        | pl.col(list_name_col).is_null()
        | (norm(list_name_col) == norm(name_col))
    )


@register
class SubsidyDeceased(Detector):
    id = "subsidy.deceased"
    title = Text("向已死亡人员发放补贴", "Subsidy paid after death")
    description = Text(
        "补贴在受益人死亡日期之后仍在发放（超过在途宽限天数）。",
        "Subsidies still paid after the beneficiary's date of death (beyond a grace for "
        "payments in flight).",
    )
    requires = ("subsidies", "persons")
    entity = "beneficiary"
    severity = "high"
    params = (
        Param(
            "grace_days",
            int,
            15,
            "Days after death in which a payment is taken as already "
            "in flight (alone it does not alert).",
            min=0,
            max=92,
        ),
    )
    alert_title = Text(
        "死亡后仍发放补贴：{beneficiary_name} {n_after} 笔 {amount:money} 元",
        "Paid after death: {beneficiary_name}, {n_after} payments, {amount:money} yuan",
    )
    alert_explanation = Text(
        "受益人 {entity_id}（{beneficiary_name}）在死亡人员名单中，死亡日期 {death_date}。"
        "此后仍发放补贴 {n_after} 笔，合计 {amount:money} 元（{first_after} 至 {last_after}，"
        "最晚一笔在死亡后 {days_after} 天；宽限 {grace_days} 天）：{payments_zh}。"
        "死亡后发放的金额均存在风险。",
        "Beneficiary {entity_id} ({beneficiary_name}) is on the deceased list, date of death "
        "{death_date}. {n_after} payment(s) totalling {amount:money} yuan were made after it "
        "({first_after} to {last_after}, the latest {days_after} days after death; grace "
        "{grace_days} days): {payments_en}. All money paid after death is at risk.",
    )

    def find(self, tables, ctx):
        dead = (
            tables["persons"]
            .filter((pl.col("list_type") == "deceased") & pl.col("effective_date").is_not_null())
            .select(
                "person_id",
                "list_type",
                pl.col("effective_date").alias("death"),
                pl.col("name").alias("list_name"),
            )
        )
        order = ["pay_date", "disbursement_id"]
        grace_end = pl.col("death") + pl.duration(days=self.grace_days)
        rows = (
            tables["subsidies"]
            .filter((pl.col("pay_date") <= ctx.as_of) & (pl.col("amount") != 0))
            .join(dead, left_on="beneficiary_id", right_on="person_id", how="inner")
            .filter(
                (pl.col("pay_date") > pl.col("death"))
                & name_matches("beneficiary_id", "beneficiary_name", "list_name")
            )
            .with_columns(
                masked_name(pl.col("beneficiary_id"), pl.col("beneficiary_name")).alias("mname"),
                (
                    (pl.col("pay_date") > grace_end)
                    & (pl.col("amount") > 0)
                    & (pl.col("pay_date").dt.year() == ctx.year)
                ).alias("late"),
            )
        )
        text = lambda fmt: pl.format(fmt, "disbursement_id", "program_code", "pay_date", "amount")  # noqa: E731
        days = (pl.col("last_after") - pl.col("death")).dt.total_days()
        return (
            rows.group_by("beneficiary_id", "mname", "death")
            .agg(
                pl.col("late").sum().alias("n_late"),
                pl.len().alias("n_after"),
                pl.col("amount").sum().alias("amount"),
                pl.col("beneficiary_name").sort_by(order).first(),
                pl.col("unit_id").sort_by(order).drop_nulls().first(),
                pl.col("pay_date").min().alias("first_after"),
                pl.col("pay_date").max().alias("last_after"),
                pl.col("list_type").first(),
                text("{}（{}，{}，{} 元）").sort_by(order).str.join("；").alias("payments_zh"),
                text("{} ({}, {}, {} yuan)").sort_by(order).str.join("; ").alias("payments_en"),
                ref("subsidies", "disbursement_id").sort_by(order).alias("ev"),
            )
            .filter((pl.col("n_late") > 0) & (pl.col("amount") > 0))
            .select(
                pl.col("beneficiary_id").alias("entity_id"),
                pl.concat_str(
                    [pl.col("death").cast(pl.String), pl.col("mname")],
                    separator="|",
                    ignore_nulls=True,
                ).alias("finding_key"),
                pl.concat_list(
                    ref("persons", "beneficiary_id", "list_type").alias("p"), "ev"
                ).alias("evidence"),
                "unit_id",
                "beneficiary_name",
                "n_after",
                "amount",
                "payments_zh",
                "payments_en",
                pl.col("death").cast(pl.String).alias("death_date"),
                pl.col("first_after").cast(pl.String),
                pl.col("last_after").cast(pl.String),
                days.alias("days_after"),
                to_time(pl.col("first_after"), ctx.timezone).alias("event_time"),
                (0.6 + 0.4 * (days.cast(pl.Float64) / 365).clip(0, 1)).alias("score"),
                pl.when((pl.col("n_late") >= 2) | (days > 60))
                .then(pl.lit("high"))
                .otherwise(pl.lit("medium"))
                .alias("severity"),
            )
            .sort("entity_id", "finding_key")
        )

"""``subsidy.shared_account``: many beneficiaries paid into one account (代领 / 截留).

一卡通 money belongs on each beneficiary's own card. One account receiving
the subsidies of at least ``min_beneficiaries`` (default 3) distinct
beneficiaries in the fiscal year (up to the audit date) is the mark of a
village official or an agent collecting for others (代领), or of subsidies
diverted (截留). Beneficiaries as in ``subsidy.duplicate`` (masked ids with
the name).

Households: relatives do share a card (an adult child holding a parent's
高龄津贴). An account with at most ``household_max`` (default 4)
beneficiaries whose names carry at most two surnames (husband's line and
wife's — Chinese women keep their own surname) reads as one household and
is not flagged; with any name unknown or masked to ``*`` the exemption does
not apply. From ``household_max + 1`` beneficiaries on, the count alone
decides (a single-surname village must not hide a collector). Severity grows
with the count (≥ 10 high, ≥ 5 medium, else low).

What must NOT fire: family members with distinct ids in their own accounts;
one beneficiary paid by many programs into one account; a small household.
Masked account numbers (containing ``*``) cannot be told apart and are
skipped. Only positive payments count.

Known false positives: an institution's account receiving for its residents
by arrangement (敬老院 collecting 特困供养 for residents); a household of
three surnames (a widowed mother-in-law); the explanation lists the names.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import beneficiary_key, in_year, is_masked, to_time
from auditlib.registry import register


@register
class SubsidySharedAccount(Detector):
    id = "subsidy.shared_account"
    title = Text("多人补贴发放至同一账户", "Many beneficiaries paid into one account")
    description = Text(
        "同一账户年内收到多名不同受益人的补贴，疑似代领、截留。",
        "One account receives the subsidies of several distinct beneficiaries in a year: "
        "collected by someone else (代领) or diverted (截留).",
    )
    requires = ("subsidies",)
    entity = "account"
    severity = "medium"
    params = (
        Param(
            "min_beneficiaries",
            int,
            3,
            "Fewest distinct beneficiaries in one account that alert.",
            min=2,
        ),
        Param(
            "household_max",
            int,
            4,
            "Up to this many beneficiaries with at most two surnames are taken as one household.",
            min=0,
        ),
    )
    alert_title = Text(
        "{n_bene} 名受益人的补贴发放至同一账户 {entity_id}",
        "Subsidies of {n_bene} beneficiaries paid into one account {entity_id}",
    )
    alert_explanation = Text(
        "{year} 年截至 {as_of}，账号 {entity_id} 收到 {n_bene} 名不同受益人（"
        "{n_surnames} 个姓氏）的"
        "补贴 {n_pay} 笔，合计 {amount:money} 元，涉及项目 {programs}。受益人：{people}"
        "{more_zh}。一卡通补贴应"
        "发放至受益人本人账户，阈值 {min_beneficiaries} 人（{household_max} 人以内且不"
        "超过两个姓氏视为"
        "同一家庭）；多人共用账户疑似代领或截留。",
        "In {year} up to {as_of}, account {entity_id} received {n_pay} subsidy payments, "
        "{amount:money} yuan, for {n_bene} distinct beneficiaries ({n_surnames} surnames), "
        "programs {programs}. Beneficiaries: {people}{more_en}. 一卡通 subsidies belong on each "
        "beneficiary's own account; threshold {min_beneficiaries} (up to {household_max} with "
        "at most two surnames count as one household). Suspected collection by another "
        "(代领) or diversion (截留).",
    )

    def find(self, tables, ctx):
        order = ["pay_date", "disbursement_id"]
        name = pl.col("beneficiary_name").str.normalize("NFKC").str.replace_all(r"\s", "")
        surname = name.str.slice(0, 1)
        rows = (
            tables["subsidies"]
            .filter(
                in_year(pl.col("pay_date"), ctx.year, ctx.as_of)
                & (pl.col("amount") > 0)
                & pl.col("account_no").is_not_null()
                & ~is_masked(pl.col("account_no"))
            )
            .with_columns(
                beneficiary_key(pl.col("beneficiary_id"), pl.col("beneficiary_name")).alias("bkey"),
                pl.when(surname.is_not_null() & (surname != "*")).then(surname).alias("surname"),
            )
            .filter(pl.col("bkey").n_unique().over("account_no") >= self.min_beneficiaries)
        )
        people = (
            rows.group_by("account_no", "bkey")
            .agg(
                pl.col("beneficiary_id").first(), pl.col("beneficiary_name").sort_by(order).first()
            )
            .sort("account_no", "beneficiary_id", "bkey")
            .group_by("account_no")
            .agg(
                pl.format("{}({})", pl.col("beneficiary_name").fill_null("—"), "beneficiary_id")
                .head(20)
                .alias("people")
            )
        )
        n_bene = pl.col("n_bene")
        household = (
            (n_bene <= self.household_max) & (pl.col("n_surnames") <= 2) & pl.col("all_named")
        )
        return (
            rows.group_by("account_no")
            .agg(
                pl.col("bkey").n_unique().alias("n_bene"),
                pl.col("surname").drop_nulls().n_unique().alias("n_surnames"),
                pl.col("surname").is_not_null().all().alias("all_named"),
                pl.len().alias("n_pay"),
                pl.col("amount").sum().alias("amount"),
                pl.col("program_code").unique().sort().str.join(", ").alias("programs"),
                pl.col("unit_id").sort_by(order).drop_nulls().first(),
                pl.col("pay_date").min().alias("first_date"),
                ref("subsidies", "disbursement_id").sort_by(order).alias("evidence"),
            )
            .filter(~household)
            .join(people, on="account_no", how="left")
            .with_columns(
                pl.when(n_bene > 20)
                .then(pl.format(" 等 {} 人", "n_bene"))
                .otherwise(pl.lit(""))
                .alias("more_zh"),
                pl.when(n_bene > 20)
                .then(pl.format(" and others, {} in all", "n_bene"))
                .otherwise(pl.lit(""))
                .alias("more_en"),
            )
            .select(
                pl.col("account_no").alias("entity_id"),
                pl.lit(str(ctx.year)).alias("finding_key"),
                "evidence",
                "unit_id",
                "n_bene",
                "n_surnames",
                "n_pay",
                "amount",
                "programs",
                "people",
                "more_zh",
                "more_en",
                pl.lit(ctx.year).alias("year"),
                pl.lit(str(ctx.as_of)).alias("as_of"),
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
                (
                    0.4
                    + 0.6 * ((n_bene - self.min_beneficiaries + 1).cast(pl.Float64) / 10).clip(0, 1)
                ).alias("score"),
                pl.when(n_bene >= 10)
                .then(pl.lit("high"))
                .when(n_bene >= 5)
                .then(pl.lit("medium"))
                .otherwise(pl.lit("low"))
                .alias("severity"),
            )
            .sort("entity_id", "finding_key")
        )

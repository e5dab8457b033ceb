"""``sangong.final_accounts``: 三公 final-accounts control (决算控制, 超上年决算执行).

Year-to-date spending per unit and 三公 category against the same unit and
category in last year's final accounts (上年决算). 三公 may only fall
(只减不增), so spending above last year's figure alerts. A unit with final
accounts for last year but no row for a category counts that category as 0
there; a unit with no final accounts at all is not compared.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Text
from auditlib.exprs import (
    active_payment,
    in_year,
    sangong_code,
    sangong_name,
    to_time,
    with_evidence,
)
from auditlib.registry import register


@register
class SangongFinalAccounts(Detector):
    id = "sangong.final_accounts"
    title = Text("三公经费超上年决算", "三公 spending above last year's final accounts")
    description = Text(
        "单位某类三公经费本年累计支出超过上年决算数（只减不增）。",
        "A unit's year-to-date spending in a 三公 category exceeds last year's final accounts "
        "for it (may only fall).",
    )
    requires = ("payments", "final_accounts")
    entity = "unit"
    severity = "high"
    alert_title = Text(
        "超上年决算执行：单位 {entity_id} {cat_zh} 超出 {amount:money} 元",
        "Above last year's final accounts: unit {entity_id}, {cat_en}, {amount:money} yuan over",
    )
    alert_explanation = Text(
        "单位 {entity_id} {year} 年截至 {as_of} {cat_zh}（{code}）支出 {spent:money} 元（{n_pay} 笔），"
        "上年（{last_year} 年）决算数 {final:money} 元，超出 {amount:money} 元。三公经费只减不增。",
        "Unit {entity_id} spent {spent:money} yuan on {cat_en} ({code}) in {year} up to {as_of} "
        "({n_pay} payments); last year's ({last_year}) final accounts show {final:money} yuan: "
        "{amount:money} yuan over. 三公 spending may only fall.",
    )

    def find(self, tables, ctx):
        last = ctx.year - 1
        rows = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .with_columns(sangong_code(pl.col("economic_class")).alias("code"))
            .filter(pl.col("code").is_not_null())
            .select("unit_id", "code", "voucher_id", "amount", "pay_date")
            .collect()
            .lazy()
        )
        pay = rows.group_by("unit_id", "code").agg(
            pl.col("amount").sum().alias("spent"), pl.len().alias("n_pay"),
            pl.col("pay_date").min().alias("first"),
        )
        fin_all = tables["final_accounts"].filter(pl.col("fiscal_year") == last)
        units_with_final = fin_all.select("unit_id").unique()
        fin = (
            fin_all.with_columns(sangong_code(pl.col("economic_class")).alias("code"))
            .filter(pl.col("code").is_not_null())
            .group_by("unit_id", "code")
            .agg(
                pl.col("amount").sum().alias("final"),
                ref("final_accounts", "unit_id", "fiscal_year", "economic_class").sort().alias("ev_fin"),
            )
        )
        over = (
            pay.join(units_with_final, on="unit_id", how="semi")
            .join(fin, on=["unit_id", "code"], how="left")
            .with_columns(pl.col("final").fill_null(0))
            .filter(pl.col("spent") > pl.col("final"))
        )
        return (
            with_evidence(over, rows, ["unit_id", "code"], ref("payments", "voucher_id"), "ev_pay")
            .select(
                pl.col("unit_id").alias("entity_id"), "unit_id", "code",
                pl.concat_str("unit_id", pl.lit("|"), "code", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                pl.concat_list("ev_pay", pl.col("ev_fin").fill_null([])).alias("evidence"),
                (pl.col("spent") - pl.col("final")).alias("amount"), "spent", "final", "n_pay",
                sangong_name(pl.col("code"), "zh").alias("cat_zh"),
                sangong_name(pl.col("code"), "en").alias("cat_en"),
                pl.lit(ctx.year).alias("year"), pl.lit(last).alias("last_year"),
                pl.lit(str(ctx.as_of)).alias("as_of"),
                to_time(pl.col("first"), ctx.timezone).alias("event_time"),
                (0.5 + 0.5 * ((pl.col("spent") - pl.col("final")).cast(pl.Float64)
                              / pl.col("spent").cast(pl.Float64))).alias("score"),
            )
        )

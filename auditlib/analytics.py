"""Aggregates reports and widgets show beside the alerts (no detection here).

``sangong_overview``: per unit and 三公 category, year-to-date spending against
the three limits (budget indicators, last year's final accounts).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from auditlib.detectors.base import Context
from auditlib.exprs import active_payment, in_year, sangong_code, sangong_name


def sangong_overview(tables: Mapping[str, pl.LazyFrame], ctx: Context) -> pl.DataFrame:
    """unit_id, code, category (zh, en), spent, budget, last_final, over_budget, over_final."""
    if "payments" not in tables:
        return pl.DataFrame()
    spent = (
        tables["payments"]
        .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
        .with_columns(sangong_code(pl.col("economic_class")).alias("code"))
        .filter(pl.col("code").is_not_null())
        .group_by("unit_id", "code").agg(pl.col("amount").sum().alias("spent"))
    )
    out = spent
    if "indicators" in tables:
        budget = (
            tables["indicators"].filter(pl.col("fiscal_year") == ctx.year)
            .with_columns(sangong_code(pl.col("economic_class")).alias("code"))
            .filter(pl.col("code").is_not_null())
            .group_by("unit_id", "code").agg(pl.col("amount").sum().alias("budget"))
        )
        out = out.join(budget, on=["unit_id", "code"], how="full", coalesce=True)
    else:
        out = out.with_columns(pl.lit(None, pl.Decimal(18, 2)).alias("budget"))
    if "final_accounts" in tables:
        final = (
            tables["final_accounts"].filter(pl.col("fiscal_year") == ctx.year - 1)
            .with_columns(sangong_code(pl.col("economic_class")).alias("code"))
            .filter(pl.col("code").is_not_null())
            .group_by("unit_id", "code").agg(pl.col("amount").sum().alias("last_final"))
        )
        out = out.join(final, on=["unit_id", "code"], how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Decimal(18, 2)).alias("last_final"))
    return (
        out.with_columns(
            pl.col("spent").fill_null(0),
            sangong_name(pl.col("code"), "zh").alias("category"),
            sangong_name(pl.col("code"), "en").alias("category_en"),
        )
        .with_columns(
            (pl.col("spent") > pl.col("budget").fill_null(0)).alias("over_budget"),
            (pl.col("spent") > pl.col("last_final")).fill_null(False).alias("over_final"),
        )
        .sort("unit_id", "code")
        .collect()
    )

# ruff: noqa: E501  (the detectors' code as it would read in auditlib, long lines included)
"""Proposed faster ``timing.off_hours``, ``budget.overrun``, ``payroll.multi_unit`` and
``amount.benford`` (its ``_stats``).

The same changes as ``benchmarks/money_proposed.patch`` (to ``auditlib/``), as code the
benchmark patches in at run time (engine ``polars_next`` of ``money_run.py``): nothing
in auditlib is changed. Same findings, same alerts (``tests/test_benchmarks_money_smoke.py``
checks it on a small world; ``money_run.py`` on the benchmark worlds).

1. ``timing.off_hours``: the drafted/approved time stamps were decomposed with one
   time-zone conversion per ``dt.*`` call, and again for every flag that reused the
   expression (~12 conversions of each column), and the texts of the explanation
   (``strftime``, holiday lookup, four ``concat_str``) were built for every payment of
   the year before the filter. Now: the wall-clock time once per column
   (``replace_time_zone(None)``), day and minute of day from it by integer arithmetic,
   the flags, the filter, and the texts only for the flagged vouchers.
2. ``budget.overrun``: every paid voucher of the year was sorted by (indicator, date,
   voucher: two string keys) and accumulated per indicator. Amounts are positive, so an
   indicator is overrun exactly when its total is above its amount: one hash group-by
   finds those (and ``n_pay``), and only their vouchers are sorted and accumulated.
3. ``payroll.multi_unit``: ``n_unique().over(employee, month)`` ran twice over every
   payroll row (8x the cost of a group-by). Now one group-by counts the units per
   employee-month; the share and a semi join of the rows to keep both use it.
4. ``amount.benford`` (``_stats``, shared with ``benford_table``): the distinct numbers
   were taken with ``unique()`` on four columns (two of them strings; 3-5x slower than
   a group-by) and computed twice, once for the digit counts and once for the spread
   (two ``collect`` calls share no work). Now one group-by on categorical keys, collected
   once, counts and spread from it with ``collect_all``; whole-number count matrices by
   ``np.bincount`` instead of ``np.add.at``. (The p-values against peers move in the last
   bits: their ``np.subtract.at`` order follows the group-by's row order, which was never
   deterministic; the MADs, bands and p-values against Benford are unchanged.)
"""

from __future__ import annotations

import numpy as np
import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors import amount_benford as AB
from auditlib.detectors.budget_overrun import BudgetOverrun
from auditlib.detectors.payroll_multi_unit import PayrollMultiUnit
from auditlib.detectors.timing_off_hours import TimingOffHours
from auditlib.exprs import active_payment, in_year, to_time

# ------------------------------------------------------------------- timing.off_hours
US_PER_DAY = 86_400_000_000
US_PER_MINUTE = 60_000_000


class TimingOffHoursNext(TimingOffHours):
    def find(self, tables, ctx):
        cal = ctx.calendar
        start, end = ctx.settings.working_hours
        lo = start.hour * 60 + start.minute - self.grace_minutes
        hi = end.hour * 60 + end.minute + self.grace_minutes
        pay = tables["payments"].filter(in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
        years = pay.select(pl.col("pay_date").dt.year().unique()).collect().to_series().to_list()
        cal.check_years([y for y in years if y is not None])
        cols = ("created_at", "approved_at")

        def local(col: str) -> pl.Expr:
            # wall-clock microseconds in the run's zone, converted once (every dt.* of a
            # zone-aware column converts again, and so does every flag reusing the expression)
            t = pl.col(col).dt.replace_time_zone(None).dt.cast_time_unit("us")
            return t.cast(pl.Int64).alias(f"_{col}_us")

        def parts(col: str) -> list[pl.Expr]:
            us = pl.col(f"_{col}_us")
            day = us // US_PER_DAY
            return [
                day.cast(pl.Int32).cast(pl.Date).alias(f"_{col}_day"),
                ((us - day * US_PER_DAY) // US_PER_MINUTE).cast(pl.Int32).alias(f"_{col}_min"),
            ]

        def flags(col: str) -> list[pl.Expr]:
            minutes = pl.col(f"_{col}_min")
            offday = pl.col(col).is_not_null() & ~cal.workday_expr(pl.col(f"_{col}_day"))
            night = pl.col(col).is_not_null() & ((minutes < lo) | (minutes > hi))
            return [(offday | night).alias(f"{col}_bad"), offday.alias(f"{col}_off")]

        def texts(col: str, zh: str, en: str) -> list[pl.Expr]:
            t = pl.col(col)
            holiday = cal.holiday_expr(pl.col(f"_{col}_day"))
            offday = pl.col(f"{col}_off")
            kind_zh = pl.when(holiday).then(pl.lit("法定节假日")).when(offday).then(pl.lit("休息日")).otherwise(pl.lit("夜间"))
            kind_en = pl.when(holiday).then(pl.lit("a public holiday")).when(offday).then(pl.lit("a rest day")).otherwise(pl.lit("night"))
            stamp = t.dt.strftime("%Y-%m-%d %H:%M")
            return [
                pl.concat_str(pl.lit(zh), pl.lit("于 "), stamp, pl.lit("（"), kind_zh, pl.lit("）；")).alias(f"{col}_zh"),
                pl.concat_str(pl.lit(en), pl.lit(" at "), stamp, pl.lit(" ("), kind_en, pl.lit("). ")).alias(f"{col}_en"),
            ]

        pay_off = pl.col("pay_off")
        bad = pl.col("created_at_bad") | pl.col("approved_at_bad") | pay_off
        offday = pl.col("created_at_off") | pl.col("approved_at_off") | pay_off
        parts_zh = [pl.when(pl.col(f"{c}_bad")).then(pl.col(f"{c}_zh")).otherwise(pl.lit("")) for c in cols]
        parts_en = [pl.when(pl.col(f"{c}_bad")).then(pl.col(f"{c}_en")).otherwise(pl.lit("")) for c in cols]
        return (
            pay.select("voucher_id", "unit_id", "amount", "payee_name", "pay_date", *cols)
            .with_columns(local("created_at"), local("approved_at"))
            .with_columns(*parts("created_at"), *parts("approved_at"))
            .with_columns(
                *flags("created_at"), *flags("approved_at"),
                (~cal.workday_expr(pl.col("pay_date"))).alias("pay_off"),
            )
            .filter(bad)  # the texts only for the vouchers found
            .with_columns(
                *texts("created_at", "制单", "drafted"), *texts("approved_at", "审核", "approved"),
                pl.col("pay_date").cast(pl.Datetime("us")).dt.replace_time_zone(ctx.timezone).alias("paid_at"),
            )
            .select(
                pl.col("voucher_id").alias("entity_id"), "unit_id", "amount", "payee_name",
                pl.col("voucher_id").alias("finding_key"),
                pl.concat_list(ref("payments", "voucher_id")).alias("evidence"),
                pl.concat_str(*parts_zh, pl.when(pay_off).then(pl.concat_str(pl.lit("支付日期 "), pl.col("pay_date").cast(pl.String), pl.lit(" 非工作日；"))).otherwise(pl.lit(""))).alias("detail_zh"),
                pl.concat_str(*parts_en, pl.when(pay_off).then(pl.concat_str(pl.lit("paid on "), pl.col("pay_date").cast(pl.String), pl.lit(", not a working day. "))).otherwise(pl.lit(""))).alias("detail_en"),
                pl.when(offday).then(pl.lit("休息日")).otherwise(pl.lit("夜间")).alias("when_zh"),
                pl.when(offday).then(pl.lit("rest day")).otherwise(pl.lit("night")).alias("when_en"),
                pl.when(offday).then(pl.lit("medium")).otherwise(pl.lit("low")).alias("severity"),
                pl.when(offday).then(pl.lit(0.7)).otherwise(pl.lit(0.4)).alias("score"),
                pl.lit(f"{start:%H:%M}-{end:%H:%M}").alias("hours"),
                pl.coalesce("created_at", "approved_at", "paid_at").alias("event_time"),
            )
        )


# --------------------------------------------------------------------- budget.overrun
class BudgetOverrunNext(BudgetOverrun):
    def find(self, tables, ctx):
        ind = tables["indicators"].filter(pl.col("fiscal_year") == ctx.year).select(
            "indicator_id", pl.col("amount").alias("budget"), pl.col("unit_id").alias("ind_unit"),
        )
        pay = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .select("indicator_id", "voucher_id", "pay_date", "amount")
        )
        # amounts are positive, so an indicator is overrun exactly when its total is above
        # its amount: one hash group-by finds those; only their vouchers are sorted
        hit = (
            pay.group_by("indicator_id")
            .agg(pl.col("amount").sum().alias("total"), pl.len().alias("n_pay"))
            .join(ind, on="indicator_id", how="inner")
            .filter(pl.col("total") > pl.col("budget"))
            .select("indicator_id", "budget", "ind_unit", "n_pay")
        )
        over = (
            pay.join(hit, on="indicator_id", how="inner")
            .sort("indicator_id", "pay_date", "voucher_id")
            .with_columns(pl.col("amount").cum_sum().over("indicator_id").alias("cum"))
            .filter(pl.col("cum") > pl.col("budget"))
        )
        return (
            over.group_by("indicator_id")
            .agg(
                pl.col("voucher_id").first().alias("crossing"),
                pl.col("pay_date").first().alias("cross_date"),
                pl.col("cum").last().alias("paid"), pl.col("budget").first(),
                pl.col("ind_unit").first().alias("unit_id"), pl.len().alias("n_after"),
                pl.col("n_pay").first(),
                ref("payments", "voucher_id").alias("ev"),
            )
            .select(
                pl.col("indicator_id").alias("entity_id"), "unit_id", "crossing", "paid", "budget",
                "n_pay", "n_after",
                pl.col("cross_date").cast(pl.String),
                pl.concat_str("indicator_id", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                pl.concat_list(ref("indicators", "indicator_id").alias("i"), "ev").alias("evidence"),
                (pl.col("paid") - pl.col("budget")).alias("amount"), pl.lit(ctx.year).alias("year"),
                to_time(pl.col("cross_date"), ctx.timezone).alias("event_time"),
                (0.5 + 0.5 * ((pl.col("paid") - pl.col("budget")).cast(pl.Float64)
                              / pl.col("paid").cast(pl.Float64))).alias("score"),
            )
        )


# ------------------------------------------------------------------ payroll.multi_unit
class PayrollMultiUnitNext(PayrollMultiUnit):
    def find(self, tables, ctx):
        first = f"{ctx.year}-01"
        last = f"{ctx.year}-12"
        rows = tables["payroll"].filter(
            (pl.col("pay_date") <= ctx.as_of)
            & (pl.col("amount") > 0)
            & pl.col("month").is_between(pl.lit(first), pl.lit(last))
        )
        keys = ["employee_id", "month"]
        # units per employee-month by one group-by, shared by the share and the rows kept
        # (n_unique().over(keys), twice, cost 8x a group-by and a semi join)
        per_key = rows.group_by(keys).agg(pl.col("unit_id").n_unique().alias("n"))
        share = per_key.select((pl.col("n") > 1).mean().fill_null(0.0).alias("share"))
        multi_rows = rows.join(
            per_key.filter(pl.col("n") > 1).select(keys), on=keys, how="semi"
        )
        order = ["pay_date", "unit_id"]
        per_unit = (
            multi_rows.group_by(*keys, "unit_id")
            .agg(
                pl.col("amount").sum(),
                pl.col("pay_date").min(),
                pl.col("account_no").unique().sort().str.join("/").alias("account"),
            )
        )
        detail = (
            per_unit.sort(*keys, *order)
            .group_by(keys)
            .agg(
                pl.len().alias("n_units"),
                pl.col("amount").sum().alias("total"),
                pl.col("amount").max().alias("top"),
                pl.col("account").n_unique().alias("n_accounts"),
                pl.col("pay_date").min().alias("first_date"),
                # the unit concerned: the one that paid last (the second payroll)
                pl.col("unit_id").last().alias("unit_id"),
                pl.format(
                    "单位 {} 于 {} 发放 {} 元至账号 {}", "unit_id", "pay_date", "amount", "account"
                )
                .str.join("；")
                .alias("detail_zh"),
                pl.format(
                    "unit {} paid {} yuan on {} into account {}",
                    "unit_id",
                    "amount",
                    "pay_date",
                    "account",
                )
                .str.join("; ")
                .alias("detail_en"),
            )
        )
        ev = (
            multi_rows
            .group_by(keys)
            .agg(
                ref("payroll", "unit_id", "employee_id", "month").sort().alias("evidence"),
            )
        )
        same = pl.col("n_accounts") == 1
        return (
            detail.join(ev, on=keys, how="inner")
            .join(share, how="cross")
            .filter(pl.col("share") <= self.max_share)
            .select(
                pl.col("employee_id").alias("entity_id"),
                pl.col("month").alias("finding_key"),
                "evidence",
                "unit_id",
                "month",
                "n_units",
                "total",
                "top",
                "detail_zh",
                "detail_en",
                (pl.col("total") - pl.col("top")).alias("amount"),
                pl.when(same)
                .then(pl.lit("各单位工资发放至同一账户。"))
                .otherwise(pl.lit(""))
                .alias("same_zh"),
                pl.when(same)
                .then(pl.lit("All went into the same account. "))
                .otherwise(pl.lit(""))
                .alias("same_en"),
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
                pl.when(same).then(pl.lit(0.9)).otherwise(pl.lit(0.75)).alias("score"),
            )
            .sort("entity_id", "finding_key")
        )


# --------------------------------------------------------------- amount.benford _stats
def _stats(numbers: pl.LazyFrame) -> pl.DataFrame:
    """amount_benford._stats: the distinct numbers by one group-by on categorical keys,
    collected once; counts and spread from them together."""
    keys = ("unit_id", "payee_account", "class_code")
    distinct = (
        numbers.with_columns(pl.col(k).cast(pl.Categorical) for k in keys)
        .group_by(*keys, "fen")
        .agg(pl.col("d2").first())
        .with_columns(pl.col("unit_id", "class_code").cast(pl.String))
        .collect()
        .lazy()
    )
    counts, spread = pl.collect_all([
        distinct.group_by("unit_id", "class_code", "d2").agg(pl.len().alias("k")),
        distinct.group_by("unit_id").agg(
            (pl.col("fen").quantile(0.9) / pl.col("fen").quantile(0.1)).log10().alias("decades")),
    ])
    units = counts["unit_id"].unique().sort()
    classes = counts["class_code"].unique().sort()
    nu, nc = units.len(), classes.len()
    ui = AB._index(counts["unit_id"], units)
    ci = AB._index(counts["class_code"], classes)
    di = counts["d2"].to_numpy() - 10
    k = counts["k"].to_numpy().astype(float)
    # whole-number counts: bincount sums them exactly whatever the order (np.add.at is slow)
    obs = np.bincount(ui * 90 + di, weights=k, minlength=nu * 90).reshape(nu, 90)
    nuc = np.bincount(ui * nc + ci, weights=k, minlength=nu * nc).reshape(nu, nc)
    pop = np.bincount(ci * 90 + di, weights=k, minlength=nc * 90).reshape(nc, 90)
    m_eff = pop.sum(1)[None, :] - nuc + AB.PRIOR  # peers of each unit in each class, + prior
    w = nuc / m_eff
    prior = pop + AB.PRIOR * AB.B2[None, :]
    exp = w @ prior  # sum_c n_uc q_ucd, before removing the unit itself
    var_peer = (w * w) @ prior
    np.subtract.at(exp, (ui, di), w[ui, ci] * k)
    np.subtract.at(var_peer, (ui, di), w[ui, ci] ** 2 * k)
    n = obs.sum(1)
    rows = {"unit_id": units, "n": n.astype(np.int64)}
    for name, o, e, v, b in (
        ("two", obs, exp, var_peer, AB.B2),
        ("first", AB._fold(obs), AB._fold(exp), AB._fold(var_peer), AB.B1),
    ):
        share = o / n[:, None]
        rows[f"mad_{name}"] = np.abs(share - b[None, :]).mean(1)
        rows[f"mad_{name}_peers"] = np.abs(share - e / n[:, None]).mean(1)
        x_b = ((o - n[:, None] * b) ** 2 / (n[:, None] * b)).sum(1)
        x_e = ((o - e) ** 2 / np.maximum(e + v, 1e-9)).sum(1)
        df = len(b) - 1
        rows[f"p_{name}"] = [AB.chi2_sf(float(x), df) for x in x_b]
        rows[f"p_{name}_peers"] = [AB.chi2_sf(float(x), df) for x in x_e]
        rows[f"share_{name}"] = list(share)
        rows[f"expected_{name}"] = list(e / n[:, None])
    return pl.DataFrame(rows).join(spread, on="unit_id", how="left")


NEXT = {
    "timing.off_hours": TimingOffHoursNext,
    "budget.overrun": BudgetOverrunNext,
    "payroll.multi_unit": PayrollMultiUnitNext,
}
"""Detector id → the proposed class (same id, parameters and texts)."""


def install() -> None:
    """Patch ``amount_benford._stats`` (used by the detector and ``benford_table``)."""
    AB._stats = _stats

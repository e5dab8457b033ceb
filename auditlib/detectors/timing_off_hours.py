"""``timing.off_hours``: vouchers drafted, approved or paid out of working time.

Working time is the ``working_hours`` setting on Chinese working days: the
official holiday calendar *including* 调休 make-up working days (a voucher
approved on a make-up Sunday is normal; one on a holiday Monday is not).
Times within ``grace_minutes`` of the working hours are not flagged (people
stay late). A voucher on a holiday or weekend is ``medium``; only at night,
``low``.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import fixed_offset_us, in_year
from auditlib.registry import register

US_PER_DAY = 86_400_000_000
US_PER_MINUTE = 60_000_000


@register
class TimingOffHours(Detector):
    id = "timing.off_hours"
    title = Text("非工作时间办理支付", "Payment handled out of working time")
    description = Text(
        "支付凭证在周末、法定节假日或夜间制单/审核/支付（按中国节假日及调休安排）。",
        "A voucher drafted, approved or paid on a weekend, a public holiday or at night "
        "(Chinese calendar with make-up working days).",
    )
    requires = ("payments",)
    entity = "voucher"
    severity = "low"
    params = (
        Param("grace_minutes", int, 120, "Minutes outside working hours still tolerated.", min=0, max=720),
    )
    alert_title = Text(
        "非工作时间办理：凭证 {entity_id}（{when_zh}）",
        "Out of working time: voucher {entity_id} ({when_en})",
    )
    alert_explanation = Text(
        "凭证 {entity_id}（单位 {unit_id}，{amount:money} 元，收款人 {payee_name}）{detail_zh}"
        "工作时间为工作日 {hours}（含调休上班日，宽限 {grace_minutes} 分钟）。",
        "Voucher {entity_id} (unit {unit_id}, {amount:money} yuan to {payee_name}): {detail_en}"
        "Working time is {hours} on working days (make-up days included; {grace_minutes} "
        "minutes of grace).",
    )

    def find(self, tables, ctx):
        cal = ctx.calendar
        start, end = ctx.settings.working_hours
        lo = start.hour * 60 + start.minute - self.grace_minutes
        hi = end.hour * 60 + end.minute + self.grace_minutes
        pay = tables["payments"].filter(in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
        cols = ("created_at", "approved_at")
        span = pay.select(
            pl.col("pay_date").min().dt.year().alias("first_year"),
            pl.col("pay_date").max().dt.year().alias("last_year"),
            pl.min_horizontal(pl.col(cols).min()).dt.convert_time_zone(ctx.timezone).alias("lo"),
            pl.max_horizontal(pl.col(cols).max()).dt.convert_time_zone(ctx.timezone).alias("hi"),
        ).collect().row(0, named=True)
        if span["first_year"] is not None:
            cal.check_years(range(span["first_year"], span["last_year"] + 1))
        offset = fixed_offset_us(ctx.timezone, span["lo"], span["hi"])

        def local(col: str) -> pl.Expr:
            # wall-clock microseconds in the run's zone, converted once (every dt.* of a
            # zone-aware column converts again, and so does every flag reusing the expression);
            # a zone with one offset over the data (China's) is a plain addition
            t = pl.col(col).dt.convert_time_zone(ctx.timezone).dt.cast_time_unit("us")
            if offset is not None:
                return (t.to_physical() + offset).alias(f"_{col}_us")
            return t.dt.replace_time_zone(None).cast(pl.Int64).alias(f"_{col}_us")

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

"""三保 wage monitoring (保工资): which units paid each month's wages on time.

Every unit that has paid wages is *expected* to pay them every month after.
For each expected unit and month of the fiscal year up to the audit date's
month, the status is

- ``on_time``: paid, and no more than ``min_late_share`` of the month's
  amount after the due date;
- ``late``: at least ``min_late_share`` of the month's amount paid after the
  due date (the ``due_day`` of the month, moved to the next working day of
  the Chinese calendar when it is a weekend or holiday, plus ``grace_days``);
  one new hire paid late does not make a unit late;
- ``missing``: nothing paid for a month up to the audit date's *previous*
  month (wages of the audit month may still come);
- ``pending``: nothing paid yet for the audit date's own month;
- ``no_data``: nothing paid, but the month holds no payroll at all in the
  data: an export that stops early, not a unit that stopped paying.

A unit is expected from the first month it paid for, counting from the
December before the fiscal year (so January is checked against December).
Only positive amounts paid on or before the audit date count; a month is the
payroll's ``month`` (the wage month), not the pay date's.

:func:`sanbao_table` is the auditors' table: per region (``units.region_code``
when the ``units`` table is there) and month, how many units were on time,
late or missing and how much was paid. :func:`unit_months` is the per-unit
status it and the ``payroll.late_or_missing`` detector rest on.

Examples
--------
>>> import datetime as dt
>>> from auditlib.calendar import Calendar
>>> due_date("2026-02", 15, Calendar())   # 15 Feb 2026 is in the Spring Festival holiday
datetime.date(2026, 2, 24)
>>> fiscal_months(2026, dt.date(2026, 3, 9))
['2026-01', '2026-02', '2026-03']
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Mapping

import polars as pl

from auditlib.calendar import Calendar
from auditlib.detectors.base import Context

STATUSES = ("on_time", "late", "missing", "pending", "no_data")

ZH_COLUMNS = {
    "region_code": "行政区划代码",
    "month": "月份",
    "units": "应发单位数",
    "on_time": "按时发放",
    "late": "逾期发放",
    "missing": "未发放",
    "pending": "待发放",
    "no_data": "无数据",
    "paid_amount": "发放金额",
    "late_amount": "逾期发放金额",
    "on_time_rate": "按时发放率",
}
"""Chinese headers of :func:`sanbao_table` (``lang="zh"``)."""


def due_date(month: str, due_day: int, cal: Calendar) -> dt.date:
    """The day a month's wages are due: ``due_day`` (at most the month's last day), moved
    to the next working day when it is not one."""
    y, m = (int(p) for p in month.split("-"))
    day = dt.date(y, m, min(due_day, _cal.monthrange(y, m)[1]))
    while not cal.is_workday(day):
        day += dt.timedelta(days=1)
    return day


def fiscal_months(year: int, as_of: dt.date) -> list[str]:
    """The fiscal year's months up to the audit date's month (``YYYY-MM``)."""
    if as_of.year < year:
        return []
    last = 12 if as_of.year > year else as_of.month
    return [f"{year}-{m:02d}" for m in range(1, last + 1)]


def _prev_month(d: dt.date) -> str:
    first = d.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def paid_rows(payroll: pl.LazyFrame, ctx: Context) -> pl.LazyFrame:
    """Payroll rows that paid money by the audit date (positive amounts)."""
    return payroll.filter(
        (pl.col("pay_date") <= ctx.as_of) & (pl.col("amount") > 0) & pl.col("month").is_not_null()
    )


def unit_months(
    tables: Mapping[str, pl.LazyFrame],
    ctx: Context,
    *,
    due_day: int = 15,
    grace_days: int = 0,
    min_late_share: float = 0.2,
) -> pl.DataFrame:
    """Status of every expected unit in every fiscal-year month up to the audit month.

    Columns: ``unit_id``, ``month``, ``status`` (one of :data:`STATUSES`), ``due``
    (the due date, grace included), ``paid_amount``, ``late_amount``, ``n_employees``,
    ``n_late``, ``first_late`` (earliest late pay date), ``last_pay`` (latest pay date),
    ``region_code`` (null without ``units``).
    """
    months = fiscal_months(ctx.year, ctx.as_of)
    schema = {
        "unit_id": pl.String,
        "month": pl.String,
        "status": pl.String,
        "due": pl.Date,
        "paid_amount": pl.Decimal(38, 2),
        "late_amount": pl.Decimal(38, 2),
        "n_employees": pl.UInt32,
        "n_late": pl.UInt32,
        "first_late": pl.Date,
        "last_pay": pl.Date,
        "region_code": pl.String,
    }
    if not months:
        return pl.DataFrame(schema=schema)
    dues = pl.DataFrame(
        {
            "month": months,
            "due": [
                due_date(m, due_day, ctx.calendar) + dt.timedelta(days=grace_days) for m in months
            ],
        }
    )
    start = f"{ctx.year - 1}-12"
    paid = paid_rows(_lazy(tables["payroll"]), ctx).filter(
        (pl.col("month") >= start) & (pl.col("month") <= months[-1])
    )
    first = paid.group_by("unit_id").agg(pl.col("month").min().alias("first_month"))
    per = (
        paid.filter(pl.col("month") >= months[0])
        .join(dues.lazy(), on="month", how="inner")
        .with_columns((pl.col("pay_date") > pl.col("due")).alias("is_late"))
        .group_by("unit_id", "month")
        .agg(
            pl.col("amount").sum().alias("paid_amount"),
            pl.col("amount").filter(pl.col("is_late")).sum().alias("late_amount"),
            pl.col("employee_id").n_unique().alias("n_employees"),
            pl.col("is_late").sum().cast(pl.UInt32).alias("n_late"),
            pl.col("pay_date").filter(pl.col("is_late")).min().alias("first_late"),
            pl.col("pay_date").max().alias("last_pay"),
        )
    )
    with_data = paid.select(pl.col("month").unique()).collect().to_series().to_list()
    share = pl.col("late_amount").cast(pl.Float64) / pl.col("paid_amount").cast(pl.Float64)
    prev = _prev_month(ctx.as_of)
    status = (
        pl.when(pl.col("paid_amount").is_not_null())
        .then(
            pl.when((pl.col("late_amount") > 0) & (share >= min_late_share))
            .then(pl.lit("late"))
            .otherwise(pl.lit("on_time"))
        )
        .when(pl.col("month") > prev)
        .then(pl.lit("pending"))
        .when(~pl.col("month").is_in(with_data))
        .then(pl.lit("no_data"))
        .otherwise(pl.lit("missing"))
    )
    grid = (
        first.join(dues.lazy(), how="cross")
        .filter(pl.col("month") >= pl.col("first_month"))
        .join(per, on=["unit_id", "month"], how="left")
        .with_columns(status.alias("status"))
    )
    units = tables.get("units")
    if units is not None:
        grid = grid.join(_lazy(units).select("unit_id", "region_code"), on="unit_id", how="left")
    else:
        grid = grid.with_columns(pl.lit(None, pl.String).alias("region_code"))
    return grid.select(*schema).sort("unit_id", "month").collect().cast(schema)  # type: ignore[arg-type]


def sanbao_table(
    tables: Mapping[str, pl.LazyFrame],
    ctx: Context,
    *,
    due_day: int | None = None,
    grace_days: int | None = None,
    min_late_share: float | None = None,
    lang: str = "en",
) -> pl.DataFrame:
    """Per region and month: units expected, on time, late, missing, pending, and money.

    Parameters default to those of the ``payroll.late_or_missing`` detector as the
    settings configure it (``thresholds.payroll_due_day``, ``detectors:`` overrides), so
    the table and the alerts agree. ``lang="zh"`` gives Chinese column headers.
    """
    from auditlib.registry import get

    det = get("payroll.late_or_missing").from_settings(ctx.settings)
    um = unit_months(
        tables,
        ctx,
        due_day=det.due_day if due_day is None else due_day,
        grace_days=det.grace_days if grace_days is None else grace_days,
        min_late_share=det.min_late_share if min_late_share is None else min_late_share,
    )
    counts = [(pl.col("status") == s).sum().cast(pl.Int64).alias(s) for s in STATUSES]
    out = (
        um.with_columns(pl.col("region_code").fill_null(""))
        .group_by("region_code", "month")
        .agg(
            pl.len().cast(pl.Int64).alias("units"),
            *counts,
            pl.col("paid_amount").sum().fill_null(0).cast(pl.Decimal(18, 2)).alias("paid_amount"),
            pl.col("late_amount").sum().fill_null(0).cast(pl.Decimal(18, 2)).alias("late_amount"),
        )
        .with_columns(
            (pl.col("on_time") / (pl.col("units") - pl.col("pending") - pl.col("no_data")))
            .fill_nan(None)
            .alias("on_time_rate")
        )
        .sort("region_code", "month")
    )
    return out.rename(ZH_COLUMNS) if lang == "zh" else out


def _lazy(frame: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame

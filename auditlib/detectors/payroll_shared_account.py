"""``payroll.shared_account``: several employees' wages paid into one account.

Each employee's wage goes to the employee's own salary card. One account
receiving the wages of at least ``min_employees`` (default 2) distinct
employee ids for the same wage month, in one unit or across units, means
someone draws a wage that is not theirs (a ghost employee's pay collected by
a real one, 吃空饷) or wages are diverted. One finding per account and fiscal
year, with every month it happened in; the money at risk is, per month,
what the account received beyond the single largest employee's wage.

What must NOT fire: two family members each paid into their own account;
one employee paid into one account every month; one employee paid by two
units into one account (that is ``payroll.multi_unit``). Masked account
numbers (containing ``*``) cannot be told apart and are skipped; only
positive amounts paid by the audit date count.

Known false positives: a spouse's wage paid into a joint account by
request (rare for salary cards, which banks issue per person); a unit
booking an allowance under a second employee id of the same person.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import is_masked, to_time
from auditlib.registry import register


@register
class PayrollSharedAccount(Detector):
    id = "payroll.shared_account"
    title = Text("多人工资发放至同一账户", "Several employees' wages into one account")
    description = Text(
        "同一账户在同一月份收到两名或以上不同人员的工资，疑似吃空饷或冒领。",
        "One account receives the wages of two or more distinct employees for the same month: "
        "a ghost employee's pay collected, or wages diverted.",
    )
    requires = ("payroll",)
    entity = "account"
    severity = "high"
    params = (
        Param(
            "min_employees",
            int,
            2,
            "Fewest distinct employees paid into one account in one month that alert.",
            min=2,
        ),
    )
    alert_title = Text(
        "多人工资发放至同一账户 {entity_id}（{n_months} 个月）",
        "Wages of several employees into account {entity_id} ({n_months} months)",
    )
    alert_explanation = Text(
        "账号 {entity_id} 在 {year} 年 {n_months} 个月（{months}）同月收到多名人员的工"
        "资：{detail_zh}。"
        "共 {n_employees} 名人员（{employees}），涉及单位 {units}，合计 {total:money} "
        "元。每人工资应"
        "发放至本人账户（阈值同月 {min_employees} 人）；按每月最高一人计，其余 "
        "{amount:money} 元存疑。",
        "Account {entity_id} received the wages of several employees in the same month in "
        "{n_months} month(s) of {year} ({months}): {detail_en}. {n_employees} employees "
        "({employees}) of units {units}, {total:money} yuan in all. Each wage belongs on the "
        "employee's own account (threshold {min_employees} in a month); beyond the largest wage "
        "each month, {amount:money} yuan is in question.",
    )

    def find(self, tables, ctx):
        rows = tables["payroll"].filter(
            (pl.col("pay_date") <= ctx.as_of)
            & (pl.col("amount") > 0)
            & pl.col("month").is_between(pl.lit(f"{ctx.year}-01"), pl.lit(f"{ctx.year}-12"))
            & pl.col("account_no").is_not_null()
            & ~is_masked(pl.col("account_no"))
        )
        keys = ["account_no", "month"]
        rows = rows.filter(pl.col("employee_id").n_unique().over(keys) >= self.min_employees)
        per_emp = rows.group_by(*keys, "employee_id").agg(pl.col("amount").sum())
        months = (
            per_emp.group_by(keys)
            .agg(
                pl.len().alias("n"),
                pl.col("amount").sum().alias("m_total"),
                pl.col("amount").max().alias("m_top"),
            )
            .sort(keys)
            .group_by("account_no")
            .agg(
                pl.len().alias("n_months"),
                pl.col("month").str.join(", ").alias("months"),
                pl.col("m_total").sum().alias("total"),
                (pl.col("m_total") - pl.col("m_top")).sum().alias("amount"),
                pl.format("{} 月 {} 人", "month", "n").str.join("，").alias("detail_zh"),
                pl.format("{}: {} employees", "month", "n").str.join("; ").alias("detail_en"),
            )
        )
        info = rows.group_by("account_no").agg(
            pl.col("employee_id").unique().sort().alias("employees"),
            pl.col("employee_id").n_unique().alias("n_employees"),
            pl.col("unit_id").unique().sort().alias("units"),
            pl.col("unit_id").mode().sort().first().alias("unit_id"),
            pl.col("pay_date").min().alias("first_date"),
            ref("payroll", "unit_id", "employee_id", "month").sort().alias("evidence"),
        )
        return (
            months.join(info, on="account_no", how="inner")
            .select(
                pl.col("account_no").alias("entity_id"),
                pl.lit(str(ctx.year)).alias("finding_key"),
                "evidence",
                "unit_id",
                "n_months",
                "months",
                "total",
                "amount",
                "detail_zh",
                "detail_en",
                "n_employees",
                "employees",
                "units",
                pl.lit(ctx.year).alias("year"),
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
                (0.6 + 0.4 * (pl.col("n_months").cast(pl.Float64) / 6).clip(0, 1)).alias("score"),
            )
            .sort("entity_id", "finding_key")
        )

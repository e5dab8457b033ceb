"""``payroll.multi_unit``: one employee paid by two or more units in one month (吃空饷).

A person draws one wage. The same ``employee_id`` on the payroll of two or
more units for the same wage month (positive amounts paid by the audit date,
fiscal year) is a double salary: a ghost on one payroll (吃空饷) or a
transfer that was never taken off the old unit's list. The money at risk is
what the employee received beyond the single largest wage.

What must NOT fire: a transfer between units in different months (old unit
up to March, new unit from April); a reversal (negative amount) by one unit.

``employee_id`` must be a person-wide number (ID card number or a unified
personnel code). Where a province numbers employees *within* each unit
(E0001 in every unit), ids collide across units everywhere: if more than
``max_share`` of employee-months span several units, the ids are taken as
unit-local and nothing is reported (a real double salary is rare).

Known false positives: a transfer in the middle of a month with both units
paying part of it (the explanation shows both amounts and dates); a person
with a legitimate part-time post paid separately (兼职, normally not allowed
for public employees).
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import repeated, to_time
from auditlib.registry import register


@register
class PayrollMultiUnit(Detector):
    id = "payroll.multi_unit"
    title = Text("同一人员多单位领薪", "One employee paid by several units")
    description = Text(
        "同一人员编号在同一月份从两个或以上单位领取工资，疑似吃空饷或调动未减员。",
        "One employee id paid by two or more units for the same month: a ghost on a payroll "
        "(吃空饷) or a transfer not taken off the old unit's list.",
    )
    requires = ("payroll",)
    entity = "employee"
    severity = "high"
    params = (
        Param(
            "max_share",
            float,
            0.1,
            "Share of employee-months in several units above which "
            "employee ids are taken as unit-local and nothing is reported.",
            min=0.0,
            max=1.0,
        ),
    )
    alert_title = Text(
        "多单位领薪：人员 {entity_id} {month} 从 {n_units} 个单位领取工资",
        "Paid by several units: employee {entity_id} by {n_units} units for {month}",
    )
    alert_explanation = Text(
        "人员 {entity_id} {month} 月同时从 {n_units} 个单位领取工资，合计 {total:money}"
        " 元：{detail_zh}。"
        "{same_zh}一人同月只应领取一份工资，按最高一份（{top:money} 元）计，多领 "
        "{amount:money} 元。",
        "Employee {entity_id} was paid for {month} by {n_units} units, {total:money} yuan in all: "
        "{detail_en}. {same_en}One person draws one wage a month; counting the largest "
        "({top:money} yuan), {amount:money} yuan too much.",
    )

    def find(self, tables, ctx):
        first = f"{ctx.year}-01"
        last = f"{ctx.year}-12"
        rows = tables["payroll"].filter(
            (pl.col("pay_date") <= ctx.as_of)
            & (pl.col("amount") > 0)
            & pl.col("month").is_between(pl.lit(first), pl.lit(last))
        )
        keys = ["employee_id", "month"]
        # only an employee-month on two rows can have two units: find those rows by a hash
        # of the key (a collision only brings a row more to the exact grouping below;
        # grouping millions of id strings costs more than the whole rule else)
        numbered = rows.with_row_index("_r")
        base = numbered.select("_r", pl.struct(keys).hash().alias("_h")).collect()
        twice = base.filter(repeated(base, "_h"))
        twice_rows = (
            numbered.filter(pl.col("_r").is_in(twice["_r"].implode())).drop("_r").collect().lazy()
        )
        # distinct employee-months: the rows, less the repeats among the rows seen twice
        n_keys = base.height - twice.height + twice_rows.select(keys).unique().collect().height
        per_key = twice_rows.group_by(keys).agg(pl.col("unit_id").n_unique().alias("n"))
        share = per_key.select(
            ((pl.col("n") > 1).sum() / max(n_keys, 1)).cast(pl.Float64).alias("share")
        )
        multi_rows = twice_rows.join(
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

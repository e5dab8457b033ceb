"""``payroll.late_or_missing``: wages paid late or not at all (三保 保工资 early warning).

Per unit and wage month of the fiscal year, from :func:`auditlib.sanbao.unit_months`:

- **late**: at least ``min_late_share`` (default 20%) of the month's wages
  paid after the due date: day ``due_day`` of the month (default the 15th,
  ``thresholds.payroll_due_day`` in ``auditlib.yaml``), moved to the next
  working day when it falls on a weekend or public holiday (Chinese calendar
  with 调休), plus ``grace_days``. Evidence: the rows paid late; amount: the
  late money.
- **missing**: a unit that paid wages in an earlier month (from the December
  before the fiscal year) paid nothing for a month up to the audit date's
  previous month. Consecutive missing months are one finding keyed by the
  first of them; evidence: the unit's payroll of its last paid month (and its
  ``units`` row); amount: that month's wages times the months missing (the
  wage bill left unpaid, estimated).

What must NOT fire: wages paid on the due day, or on the next working day
when the due day is a holiday; wages paid before the month; one or two
employees paid late (a new hire) below ``min_late_share``; a month that
holds no payroll at all in the data (an export that stops early); the audit
date's own month.

Known false positives: a unit dissolved or merged (撤并) keeps "missing"
until its payroll history is cut; a unit whose wages are paid by its parent
(统发) in some months.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import escape_key, ref
from auditlib.detectors.base import Detector, Param, Text, render
from auditlib.exprs import to_time
from auditlib.registry import register
from auditlib.sanbao import paid_rows, unit_months

LATE = Text(
    "单位 {unit_id} {month} 月工资应于 {due}（含）前发放（每月 {due_day} 日，遇节假日顺延，含宽限 "
    "{grace_days} 天）。当月共发放 {paid:money} 元（{n_employees} 人），其中 {late:money} 元"
    "（{share:pct}，{n_late} 笔）逾期发放，最晚 {last_pay}，逾期 {days} 天（逾期占比阈值 "
    "{min_late_share:pct}）。",
    "Unit {unit_id}'s wages for {month} were due by {due} (day {due_day}, moved past "
    "holidays, {grace_days} days' grace included). Of {paid:money} yuan paid for the month "
    "({n_employees} employees), {late:money} yuan ({share:pct}, {n_late} payments) came late, "
    "the last on {last_pay}, {days} days late (late-share threshold {min_late_share:pct}).",
)
MISSING = Text(
    "单位 {unit_id} 此前按月发放工资（最近一次为 {prev} 月，{n_emp} 笔，{total:money} 元），但 "
    "{months} 共 {n} 个月截至 {as_of} 未发放工资（应于 {due}（含）前发放）。按最近一月估算欠发 "
    "{amount:money} 元。保工资预警。",
    "Unit {unit_id} paid wages monthly (last for {prev}: {n_emp} payments, {total:money} yuan) "
    "but paid nothing for {months_en}, {n} month(s), by {as_of} (due by {due}). Estimated "
    "unpaid at the last month's rate: {amount:money} yuan. 保工资 (wage guarantee) warning.",
)


def _texts(template: Text, fields: dict) -> dict[str, str]:
    return {
        "detail_zh": render(template.zh, fields, "zh"),
        "detail_en": render(template.en, fields, "en"),
    }


@register
class PayrollLateOrMissing(Detector):
    id = "payroll.late_or_missing"
    title = Text("工资逾期或未发放（三保预警）", "Wages late or missing (三保 warning)")
    description = Text(
        "单位当月工资在发放日之后发放，或此前按月发放的单位某月未发放工资（保工资预警）。",
        "A unit's wages paid after the due day, or a unit paying monthly pays nothing for a "
        "month (保工资 early warning).",
    )
    requires = ("payroll",)
    optional = ("units",)
    entity = "unit"
    severity = "medium"
    params = (
        Param(
            "due_day",
            int,
            15,
            "Day of the month wages are due (moved to the next working day when not one).",
            min=1,
            max=31,
            setting="payroll_due_day",
        ),
        Param("grace_days", int, 0, "Days after the due date still on time.", min=0, max=31),
        Param(
            "min_late_share",
            float,
            0.2,
            "Share of a month's wages paid late that makes the unit late.",
            min=0.0,
            max=1.0,
        ),
    )
    alert_title = Text(
        "工资{kind_zh}：单位 {entity_id} {months}",
        "Wages {kind_en}: unit {entity_id} {months_en}",
    )
    alert_explanation = Text("{detail_zh}", "{detail_en}")

    def find(self, tables, ctx):
        um = unit_months(
            tables,
            ctx,
            due_day=self.due_day,
            grace_days=self.grace_days,
            min_late_share=self.min_late_share,
        )
        rows = paid_rows(tables["payroll"], ctx)
        late = self._late(um.filter(pl.col("status") == "late"), rows, ctx)
        missing = self._missing(um, rows, ctx, units=tables.get("units"))
        return pl.concat([late, missing], how="diagonal_relaxed").sort("entity_id", "finding_key")

    # ------------------------------------------------------------------ late
    def _late(self, um: pl.DataFrame, rows: pl.LazyFrame, ctx) -> pl.DataFrame:
        if um.height == 0:
            return _empty()
        order = ["pay_date", "employee_id"]
        ev = (
            rows.join(
                um.lazy().select("unit_id", "month", "due"), on=["unit_id", "month"], how="inner"
            )
            .filter(pl.col("pay_date") > pl.col("due"))
            .group_by("unit_id", "month")
            .agg(ref("payroll", "unit_id", "employee_id", "month").sort_by(order).alias("evidence"))
            .collect()
        )
        df = um.join(ev, on=["unit_id", "month"], how="inner").sort("unit_id", "month")
        out = []
        for r in df.iter_rows(named=True):
            days = (r["last_pay"] - r["due"]).days
            share = float(r["late_amount"]) / float(r["paid_amount"])
            fields = {
                **r,
                **self.get_params(),
                "paid": r["paid_amount"],
                "late": r["late_amount"],
                "share": share,
                "days": days,
            }
            out.append(
                {
                    "entity_id": r["unit_id"],
                    "unit_id": r["unit_id"],
                    "finding_key": f"late|{r['month']}",
                    "evidence": r["evidence"],
                    "amount": r["late_amount"],
                    "kind_zh": "逾期发放",
                    "kind_en": "paid late",
                    "months": r["month"],
                    "months_en": r["month"],
                    **_texts(LATE, fields),
                    "event_day": r["first_late"],
                    "score": 0.5 + 0.5 * min(days, 30) / 30,
                    "severity": "high" if days > 30 else "medium",
                }
            )
        return _frame(out, ctx)

    # --------------------------------------------------------------- missing
    def _missing(
        self, um: pl.DataFrame, rows: pl.LazyFrame, ctx, *, units: pl.LazyFrame | None
    ) -> pl.DataFrame:
        if um.filter(pl.col("status") == "missing").height == 0:
            return _empty()
        miss = pl.col("status") == "missing"
        runs = (
            um.with_columns(miss.alias("miss"))
            .with_columns(
                (pl.col("miss") != pl.col("miss").shift(1).over("unit_id"))
                .fill_null(True)
                .cum_sum()
                .over("unit_id")
                .alias("run")
            )
            .filter(pl.col("miss"))
            .group_by("unit_id", "run")
            .agg(
                pl.col("month").min().alias("first"),
                pl.col("month").max().alias("last"),
                pl.len().alias("n"),
                pl.col("due").min().alias("due"),
                pl.col("region_code").first(),
            )
            .sort("unit_id", "first")
        )
        # the unit's last paid month before each run, and what it paid then
        monthly = (
            rows.filter(pl.col("unit_id").is_in(runs["unit_id"].unique().implode()))
            .group_by("unit_id", "month")
            .agg(
                pl.col("amount").sum().alias("total"),
                pl.len().alias("n_emp"),
                ref("payroll", "unit_id", "employee_id", "month").sort().alias("ev"),
            )
            .sort("unit_id", "month")
            .collect()
        )
        known: set[str] = set()
        if units is not None:
            known = set(
                units.filter(pl.col("unit_id").is_in(runs["unit_id"].unique().implode()))
                .select("unit_id")
                .collect()
                .to_series()
                .to_list()
            )
        out = []
        for r in runs.iter_rows(named=True):
            before = monthly.filter(
                (pl.col("unit_id") == r["unit_id"]) & (pl.col("month") < r["first"])
            )
            if before.height == 0:
                continue
            prev = before.row(-1, named=True)
            months = r["first"] if r["n"] == 1 else f"{r['first']} 至 {r['last']}"
            months_en = r["first"] if r["n"] == 1 else f"{r['first']} to {r['last']}"
            amount = prev["total"] * r["n"]
            fields = {
                **r,
                **prev,
                "prev": prev["month"],
                "months": months,
                "months_en": months_en,
                "amount": amount,
                "as_of": ctx.as_of,
            }
            ev = ([f"units:{escape_key(r['unit_id'])}"] if r["unit_id"] in known else []) + list(
                prev["ev"]
            )
            out.append(
                {
                    "entity_id": r["unit_id"],
                    "unit_id": r["unit_id"],
                    "finding_key": f"missing|{r['first']}",
                    "evidence": ev,
                    "amount": amount,
                    "kind_zh": "未发放",
                    "kind_en": "missing",
                    "months": months,
                    "months_en": months_en,
                    **_texts(MISSING, fields),
                    "event_day": r["due"],
                    "score": min(1.0, 0.7 + 0.1 * r["n"]),
                    "severity": "high",
                }
            )
        return _frame(out, ctx)


def _frame(out: list[dict], ctx) -> pl.DataFrame:
    if not out:
        return _empty()
    df = pl.DataFrame(out, infer_schema_length=None)
    return df.with_columns(to_time(pl.col("event_day"), ctx.timezone).alias("event_time")).drop(
        "event_day"
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"entity_id": pl.String, "finding_key": pl.String, "evidence": pl.List(pl.String)}
    )

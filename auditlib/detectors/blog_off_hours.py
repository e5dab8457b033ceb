"""``blog.off_hours``: sensitive business actions on holidays, rest days or at night.

Sensitive actions are approvals (``voucher_approve``), payee and indicator
changes (``payee_modify``, ``indicator_modify``, ``indicator_adjust``), exports
(``data_export``), grants (``role_grant``) and configuration changes
(``config_change``, ``audit_config_change``). Out of working time means a public
holiday, a rest day (a weekend that is not a 调休 make-up working day), or a
working day outside ``working_hours`` widened by ``grace_minutes`` — the CN
calendar of ``ctx.calendar`` with its corrections.

One alert per user and session day (an evening and the small hours after it
are one night), whatever the number of actions; the evidence lists them all.

Must NOT fire: work on a 调休 make-up Saturday or Sunday in working hours;
actions within the grace after closing time; failed attempts; a user's
*routine* out-of-hours action — the same action out of hours on at least
``routine_days`` different days, making up at least ``routine_share`` of that
user's actions of that kind (a scheduled export job, a night-shift operator).

Known false positives: year-end closing and budget-adjustment weekends worked
on purpose without a make-up-day entry in the calendar; add such days under
``calendar.workdays``.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import (
    OFF_KIND_NAMES,
    action_key,
    action_name,
    off_hours_kind,
    session_day,
    succeeded,
)
from auditlib.registry import register

SENSITIVE = (
    "voucher_approve",
    "payee_modify",
    "indicator_modify",
    "indicator_adjust",
    "data_export",
    "role_grant",
    "config_change",
    "audit_config_change",
)
_RANK = {"night": 1, "rest_day": 2, "holiday": 3}


@register
class BlogOffHours(Detector):
    id = "blog.off_hours"
    title = Text("非工作时间敏感操作", "Sensitive actions out of working time")
    description = Text(
        "在法定节假日、休息日或夜间执行审核、修改收款人/指标、导出、授权、配置等敏感操作（按中国节假日及调休安排）。",
        "Approvals, payee/indicator changes, exports, grants or configuration changes on a "
        "public holiday, a rest day or at night (Chinese calendar with make-up working days).",
    )
    requires = ("business_log",)
    entity = "user"
    severity = "low"
    params = (
        Param(
            "grace_minutes",
            int,
            120,
            "Minutes outside working hours still tolerated.",
            min=0,
            max=720,
        ),
        Param(
            "routine_days",
            int,
            8,
            "Out-of-hours days of one action that make it a user's routine.",
            min=2,
        ),
        Param(
            "routine_share",
            float,
            0.5,
            "Share of a user's actions of a kind out of hours that makes them routine.",
            min=0.0,
            max=1.0,
        ),
    )
    alert_title = Text(
        "非工作时间敏感操作：{entity_id} {day}（{kind_zh}，{n_events} 次）",
        "Sensitive actions out of hours: {entity_id} on {day} ({kind_en}, {n_events})",
    )
    alert_explanation = Text(
        "用户 {entity_id} 于 {day}（{kind_zh}）在非工作时间执行敏感操作 {n_events} 次"
        "（{acts_zh}），时间 {first_at} 至 {last_at}。工作时间为工作日 {hours}"
        "（按国家法定节假日及调休安排，调休上班日视为工作日；宽限 {grace_minutes} 分钟）。",
        "User {entity_id} did {n_events} sensitive action(s) out of working time on {day} "
        "({kind_en}): {acts_en}, from {first_at} to {last_at}. Working time is {hours} on working "
        "days (Chinese public holidays and make-up working days; {grace_minutes} minutes of "
        "grace).",
    )

    def find(self, tables, ctx):
        tz, hours = ctx.timezone, ctx.settings.working_hours
        ev = (
            tables["business_log"]
            .with_columns(action_key(pl.col("action")).alias("action"))
            .filter(
                pl.col("action").is_in(SENSITIVE)
                & succeeded(pl.col("result"))
                & pl.col("event_time").is_not_null()
                & pl.col("user_id").is_not_null()
            )
            .select(
                "event_id",
                "user_id",
                "unit_id",
                "action",
                pl.col("event_time").dt.convert_time_zone(tz).alias("t"),
            )
        )
        years = (
            ev.select(pl.col("t").dt.year().unique()).collect().to_series().drop_nulls().to_list()
        )
        ctx.calendar.check_years(years)
        ev = ev.with_columns(
            off_hours_kind(pl.col("t"), ctx.calendar, hours, self.grace_minutes).alias("kind"),
            session_day(pl.col("t"), hours).alias("day"),
        )
        off = pl.col("kind").is_not_null()
        routine = (
            ev.group_by("user_id", "action")
            .agg(
                pl.len().alias("n"),
                off.sum().alias("n_off"),
                pl.col("day").filter(off).n_unique().alias("off_days"),
            )
            .filter(
                (pl.col("off_days") >= self.routine_days)
                & (pl.col("n_off") >= self.routine_share * pl.col("n"))
            )
            .select("user_id", "action")
        )
        flagged = (
            ev.filter(off)
            .join(routine, on=["user_id", "action"], how="anti")
            .with_columns(pl.col("kind").replace_strict(_RANK, return_dtype=pl.Int8).alias("rank"))
            .sort("user_id", "t", "event_id")
        )
        per_action = (
            flagged.group_by("user_id", "day", "action")
            .agg(pl.len().alias("n"))
            .sort("user_id", "day", "n", "action", descending=[False, False, True, False])
            .with_columns(
                pl.concat_str(
                    action_name(pl.col("action"), "zh"),
                    pl.lit(" "),
                    pl.col("n").cast(pl.String),
                    pl.lit(" 次"),
                ).alias("zh"),
                pl.concat_str(
                    action_name(pl.col("action"), "en"), pl.lit(" ×"), pl.col("n").cast(pl.String)
                ).alias("en"),
            )
            .group_by("user_id", "day", maintain_order=True)
            .agg(pl.col("zh").alias("acts_zh"), pl.col("en").alias("acts_en"))
        )
        days = flagged.group_by("user_id", "day", maintain_order=True).agg(
            ref("business_log", "event_id").alias("evidence"),
            pl.len().alias("n_events"),
            pl.col("t").min().alias("first_at"),
            pl.col("t").max().alias("last_at"),
            pl.col("unit_id").drop_nulls().first(),
            pl.col("rank").max(),
            pl.col("action")
            .is_in(["role_grant", "config_change", "audit_config_change", "payee_modify"])
            .any()
            .alias("risky"),
        )
        kind = pl.col("rank").replace_strict(
            {v: k for k, v in _RANK.items()}, return_dtype=pl.String
        )
        names = OFF_KIND_NAMES
        rest = pl.col("rank") >= 2
        return (
            days.join(per_action, on=["user_id", "day"], how="left")
            .select(
                pl.col("user_id").alias("entity_id"),
                pl.concat_str("user_id", pl.lit("|"), pl.col("day").cast(pl.String)).alias(
                    "finding_key"
                ),
                "evidence",
                "unit_id",
                pl.col("first_at").alias("event_time"),
                "first_at",
                "last_at",
                pl.col("first_at").dt.date().cast(pl.String).alias("day"),
                "n_events",
                "acts_zh",
                "acts_en",
                kind.replace_strict({k: v[0] for k, v in names.items()}).alias("kind_zh"),
                kind.replace_strict({k: v[1] for k, v in names.items()}).alias("kind_en"),
                pl.lit(f"{hours[0]:%H:%M}-{hours[1]:%H:%M}").alias("hours"),
                pl.when(rest | pl.col("risky"))
                .then(pl.lit("medium"))
                .otherwise(pl.lit("low"))
                .alias("severity"),
                (
                    0.3
                    + 0.1 * pl.col("rank").cast(pl.Float64)
                    + 0.2 * pl.col("risky").cast(pl.Float64)
                    + 0.1 * (pl.col("n_events") >= 10).cast(pl.Float64)
                ).alias("score"),
            )
            .sort("event_time", "finding_key", nulls_last=True)
        )

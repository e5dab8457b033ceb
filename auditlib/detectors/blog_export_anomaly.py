"""``blog.export_anomaly``: data exports out of hours, or far larger than usual.

A successful ``data_export`` is flagged when

- **off hours**: on a rest day or public holiday (the CN calendar; 调休 make-up
  days are working days) or outside ``working_hours`` widened by
  ``grace_minutes`` — unless the user exports out of hours *routinely*: on at
  least ``routine_days`` different days, making up at least ``routine_share`` of
  the user's exports (a scheduled ETL/backup job);
- **volume**: ``detail.rows`` at least ``min_rows`` and at least ``ratio`` times
  both the user's own median export (when the user has ``min_history`` other
  exports with rows; the robust z-score of log rows against the user's
  median/MAD must also reach ``min_z``, so users whose exports always vary widely
  are not flagged) and the peer group's median (the median of the user medians
  of the users sharing the ``user_role``, when there are ``min_peers`` of them).
  A user without enough history is judged against peers only, and vice versa.

One alert per user and session day (an evening and the small hours after it
are one day), with every flagged export as evidence.

Must NOT fire: routine nightly exports by a service account with steady
volumes; exports on a 调休 make-up Saturday in working hours; a large export by
a user who always exports that much.

Known false positives: year-end or audit-season reporting (large legitimate
exports) and staff working a late evening; routine out-of-hours exports of a
*person* are treated as a job (a habitual leaker is missed by the off-hours
rule, not by the volume rule).
"""

from __future__ import annotations

import math

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import (
    OFF_KIND_NAMES,
    action_key,
    json_number,
    off_hours_kind,
    session_day,
    succeeded,
)
from auditlib.registry import register

ROWS_KEYS = ("rows", "row_count", "rowcount", "records", "count", "行数", "记录数", "导出行数")
_KIND_ZH = {k: v[0] for k, v in OFF_KIND_NAMES.items()}
_KIND_EN = {k: v[1] for k, v in OFF_KIND_NAMES.items()}


@register
class BlogExportAnomaly(Detector):
    id = "blog.export_anomaly"
    title = Text("异常数据导出", "Unusual data export")
    description = Text(
        "非工作时间导出数据，或导出行数远超本人与同岗位人员的常规水平。",
        "Data exported out of working time, or far more rows than the user and their peers "
        "usually export.",
    )
    requires = ("business_log",)
    entity = "user"
    severity = "medium"
    params = (
        Param(
            "grace_minutes",
            int,
            60,
            "Minutes outside working hours still tolerated.",
            min=0,
            max=720,
        ),
        Param(
            "routine_days",
            int,
            8,
            "Out-of-hours export days that make a user's habit routine.",
            min=2,
        ),
        Param(
            "routine_share",
            float,
            0.5,
            "Share of a user's exports out of hours that makes them routine.",
            min=0.0,
            max=1.0,
        ),
        Param(
            "ratio",
            float,
            10.0,
            "Rows at least this many times the user's and the peers' median.",
            min=1.0,
        ),
        Param(
            "min_z",
            float,
            3.0,
            "Robust z-score of log rows against the user's history, at least.",
            min=0,
        ),
        Param("min_rows", int, 10000, "Rows at least, for a volume alert.", min=0),
        Param(
            "min_history",
            int,
            5,
            "Other exports with rows a user needs for a personal baseline.",
            min=1,
        ),
        Param("min_peers", int, 3, "Users of one role needed for a peer baseline.", min=2),
    )
    alert_title = Text(
        "异常数据导出：{entity_id} {day}（{reasons_zh}）",
        "Unusual data export: {entity_id} on {day} ({reasons_en})",
    )
    alert_explanation = Text(
        "用户 {entity_id}（角色 {role}）在 {day} 有 {n_flagged} 次导出被标记（{reasons_zh}），"
        "共 {total_rows:int} 行，单次最多 {max_rows:int} 行。本人导出中位数 {user_median:int} 行"
        "（另有 {user_history} 次历史），同角色 {peer_users} 人中位数 {peer_median:int} 行；"
        "最大一次为本人的 {user_ratio:.1f} 倍（稳健 z={user_z:.1f}）、"
        "同角色的 {peer_ratio:.1f} 倍，阈值 {ratio:.0f} 倍且不少于 {min_rows:int} 行。"
        "非工作时间导出：{off_zh}"
        "（工作时间为工作日 {hours}，含调休上班日，宽限 {grace_minutes} 分钟）。",
        "User {entity_id} (role {role}) had {n_flagged} export(s) flagged on {day} ({reasons_en}), "
        "{total_rows:int} rows in all, {max_rows:int} at most in one. The user's median export "
        "is {user_median:int} rows ({user_history} other exports), the median of the {peer_users} "
        "users of the role {peer_median:int}; the largest is {user_ratio:.1f}x the user's (robust "
        "z={user_z:.1f}) and {peer_ratio:.1f}x the peers', threshold {ratio:.0f}x and at least "
        "{min_rows:int} rows. Out of working time: {off_en} (working time {hours} on working "
        "days, make-up days included, {grace_minutes} minutes of grace).",
    )

    def find(self, tables, ctx):
        tz, hours = ctx.timezone, ctx.settings.working_hours
        ex = (
            tables["business_log"]
            .with_columns(action_key(pl.col("action")).alias("action"))
            .filter(
                (pl.col("action") == "data_export")
                & succeeded(pl.col("result"))
                & pl.col("event_time").is_not_null()
                & pl.col("user_id").is_not_null()
            )
            .select(
                "event_id",
                "user_id",
                "unit_id",
                pl.col("user_role").fill_null("—").alias("role"),
                pl.col("event_time").dt.convert_time_zone(tz).alias("t"),
                json_number(pl.col("detail"), *ROWS_KEYS).alias("rows"),
            )
        )
        years = (
            ex.select(pl.col("t").dt.year().unique()).collect().to_series().drop_nulls().to_list()
        )
        ctx.calendar.check_years(years)
        ex = ex.with_columns(
            off_hours_kind(pl.col("t"), ctx.calendar, hours, self.grace_minutes).alias("kind"),
            session_day(pl.col("t"), hours).alias("day"),
            pl.when(pl.col("rows") > 0).then(pl.col("rows").log10()).alias("lr"),
        )
        roles = (
            ex.group_by("user_id", "role")
            .agg(pl.len().alias("c"))
            .sort("user_id", "c", "role", descending=[False, True, False])
            .unique("user_id", keep="first", maintain_order=True)
            .select("user_id", pl.col("role").alias("u_role"))
        )
        users = (
            ex.group_by("user_id")
            .agg(
                pl.len().alias("n"),
                pl.col("kind").is_not_null().sum().alias("n_off"),
                pl.col("day").filter(pl.col("kind").is_not_null()).n_unique().alias("off_days"),
                pl.col("lr").median().alias("u_med"),
                (pl.col("lr") - pl.col("lr").median()).abs().median().alias("u_mad"),
                pl.col("lr").count().alias("u_n"),
            )
            .join(roles, on="user_id", how="left")
            .with_columns(
                (
                    (pl.col("off_days") >= self.routine_days)
                    & (pl.col("n_off") >= self.routine_share * pl.col("n"))
                ).alias("routine"),
            )
        )
        peers = (
            users.filter(pl.col("u_med").is_not_null())
            .group_by("u_role")
            .agg(
                pl.col("u_med").median().alias("p_med"),
                pl.len().alias("peer_users"),
            )
        )
        scale = pl.max_horizontal(1.4826 * pl.col("u_mad"), pl.lit(0.1))
        user_ok = (pl.col("u_n") - pl.col("lr").is_not_null().cast(pl.UInt32)) >= self.min_history
        peer_ok = pl.col("peer_users") >= self.min_peers
        log_ratio = math.log10(self.ratio)
        user_hit = ((pl.col("lr") - pl.col("u_med")) >= log_ratio) & (
            (pl.col("lr") - pl.col("u_med")) / scale >= self.min_z
        )
        peer_hit = (pl.col("lr") - pl.col("p_med")) >= log_ratio
        volume = (
            (pl.col("rows") >= self.min_rows)
            & (user_ok | peer_ok)
            & (~user_ok | user_hit)
            & (~peer_ok | peer_hit)
        ).fill_null(False)
        off = pl.col("kind").is_not_null() & ~pl.col("routine")
        flagged = (
            ex.join(users, on="user_id", how="left")
            .join(peers, on="u_role", how="left")
            .with_columns(
                volume.alias("volume"),
                off.alias("off"),
                user_ok.alias("user_ok"),
                peer_ok.fill_null(False).alias("peer_ok"),
            )
            .filter(pl.col("volume") | pl.col("off"))
            .with_columns(
                *[
                    pl.concat_str(
                        pl.col("t").dt.strftime("%m-%d %H:%M"),
                        pl.lit(" ("),
                        pl.col("kind").replace_strict(names, default=None),
                        pl.lit(")"),
                    ).alias(f"off_{lang}")
                    for lang, names in (("zh", _KIND_ZH), ("en", _KIND_EN))
                ],
            )
            .sort("user_id", "t", "event_id")
        )
        agg = flagged.group_by("user_id", "day", maintain_order=True).agg(
            ref("business_log", "event_id").alias("evidence"),
            pl.col("t").first().alias("event_time"),
            pl.col("unit_id").drop_nulls().first(),
            pl.col("u_role").first().alias("role"),
            pl.len().alias("n_flagged"),
            pl.col("rows").sum().alias("total_rows"),
            pl.col("rows").max().alias("max_rows"),
            pl.col("lr").max().alias("max_lr"),
            pl.col("volume").any().alias("any_volume"),
            pl.col("off").sum().alias("n_off_flagged"),
            pl.col("off_zh").filter(pl.col("off")).alias("off_zh"),
            pl.col("off_en").filter(pl.col("off")).alias("off_en"),
            pl.col("kind").filter(pl.col("off")).is_in(["holiday", "rest_day"]).any().alias("rest"),
            *[
                pl.col(c).first()
                for c in ("u_med", "u_mad", "u_n", "p_med", "peer_users", "user_ok", "peer_ok")
            ],
        )
        has_rows = pl.col("max_lr").is_not_null()
        v, n_off = pl.col("any_volume"), pl.col("n_off_flagged")
        reasons_zh = pl.concat_str(
            pl.when(n_off > 0).then(
                pl.concat_str(pl.lit("非工作时间 "), n_off.cast(pl.String), pl.lit(" 次"))
            ),
            pl.when(v).then(pl.lit("导出量异常")),
            separator="；",
            ignore_nulls=True,
        )
        reasons_en = pl.concat_str(
            pl.when(n_off > 0).then(pl.concat_str(n_off.cast(pl.String), pl.lit(" out of hours"))),
            pl.when(v).then(pl.lit("unusual volume")),
            separator="; ",
            ignore_nulls=True,
        )
        return agg.select(
            pl.col("user_id").alias("entity_id"),
            pl.concat_str("user_id", pl.lit("|"), pl.col("day").cast(pl.String)).alias(
                "finding_key"
            ),
            "evidence",
            "unit_id",
            "event_time",
            "role",
            pl.col("event_time").dt.date().cast(pl.String).alias("day"),
            "n_flagged",
            "total_rows",
            "max_rows",
            "peer_users",
            *[
                pl.when(pl.col(f"off_{x}").list.len() > 0).then(f"off_{x}").alias(f"off_{x}")
                for x in ("zh", "en")
            ],
            reasons_zh.alias("reasons_zh"),
            reasons_en.alias("reasons_en"),
            pl.when(pl.col("user_ok")).then(pl.lit(10.0).pow(pl.col("u_med"))).alias("user_median"),
            pl.when(pl.col("user_ok")).then(pl.col("u_n") - 1).alias("user_history"),
            pl.when(pl.col("peer_ok")).then(pl.lit(10.0).pow(pl.col("p_med"))).alias("peer_median"),
            pl.when(pl.col("user_ok") & has_rows)
            .then(pl.lit(10.0).pow(pl.col("max_lr") - pl.col("u_med")))
            .alias("user_ratio"),
            pl.when(pl.col("user_ok") & has_rows)
            .then((pl.col("max_lr") - pl.col("u_med")) / scale)
            .alias("user_z"),
            pl.when(pl.col("peer_ok") & has_rows)
            .then(pl.lit(10.0).pow(pl.col("max_lr") - pl.col("p_med")))
            .alias("peer_ratio"),
            pl.lit(f"{hours[0]:%H:%M}-{hours[1]:%H:%M}").alias("hours"),
            pl.when(v)
            .then(pl.lit("high"))
            .when(pl.col("rest"))
            .then(pl.lit("medium"))
            .otherwise(pl.lit("low"))
            .alias("severity"),
            (
                pl.when(v).then(pl.lit(0.8)).otherwise(pl.lit(0.4))
                + pl.when(v & (n_off > 0))
                .then(pl.lit(0.2))
                .when(pl.col("rest"))
                .then(pl.lit(0.2))
                .otherwise(pl.lit(0.0))
            ).alias("score"),
        ).sort("event_time", "finding_key", nulls_last=True)

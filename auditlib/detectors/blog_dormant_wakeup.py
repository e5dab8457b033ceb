"""``blog.dormant_wakeup``: a long-silent account comes back and does sensitive work.

An account is dormant when it did nothing (no successful event of any kind)
for at least ``dormant_days``. It wakes with its next successful event; a
finding is a wake-up followed within ``follow_days`` by sensitive actions
(approvals, payee and indicator changes, exports, grants, user creation,
configuration changes).

Only users whose history covers the dormancy are judged:

- a silence *between* two events of the user is measured directly;
- a user whose *first* event comes at least ``dormant_days`` after the log
  starts is judged only when the log records account creation (it holds
  ``user_create`` events) and this account was not created in it — an old
  account that stayed silent, not a new one.

Must NOT fire: a user active every week; a new account created in the period
and starting work; a user back from a silence shorter than ``dormant_days``;
a woken account that only logs in or drafts.

Known false positives: long leave (maternity, secondment) followed by normal
work; the explanation gives the silence and the first sensitive action.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import action_key, action_name, succeeded
from auditlib.registry import register

SENSITIVE = (
    "voucher_approve",
    "payee_modify",
    "data_export",
    "indicator_adjust",
    "indicator_modify",
    "role_grant",
    "user_create",
    "config_change",
    "audit_config_change",
)


@register
class BlogDormantWakeup(Detector):
    id = "blog.dormant_wakeup"
    title = Text("休眠账号重新启用", "Dormant account woke up")
    description = Text(
        "长期无任何操作的账号重新活跃，并随即执行敏感操作。",
        "An account with no activity for months becomes active and does sensitive work.",
    )
    requires = ("business_log",)
    entity = "user"
    severity = "high"
    params = (
        Param(
            "dormant_days",
            int,
            90,
            "Days without any activity that make an account dormant.",
            min=7,
            max=3660,
        ),
        Param(
            "follow_days",
            float,
            7.0,
            "Days after waking in which sensitive actions count.",
            min=0.01,
            max=366,
        ),
    )
    alert_title = Text(
        "休眠 {silent_days:.0f} 天的账号重新启用：{entity_id}",
        "Account {entity_id} woke after {silent_days:.0f} silent days",
    )
    alert_explanation = Text(
        "用户 {entity_id} {last_zh}，{woke_at} 重新活跃（{woke_action_zh}），"
        "沉寂 {silent_days:.1f} 天（阈值 {dormant_days} 天）；"
        "唤醒后 {follow_days:.0f} 天内执行敏感操作 {n_acts} 次（{acts_zh}），首次于 {first_act}。",
        "User {entity_id} {last_en}, became active again on {woke_at} ({woke_action_en}) "
        "after {silent_days:.1f} silent days (threshold {dormant_days}); within "
        "{follow_days:.0f} days of waking it did {n_acts} sensitive action(s) ({acts_en}), "
        "the first on {first_act}.",
    )

    @staticmethod
    def _wakes(log, raw, start, logs_creation, created, dormant) -> pl.LazyFrame:
        """The events that end a dormancy: after ``dormant`` without an event of the user,
        or the user's first event ``dormant`` after the log starts (a user not created in
        the period, when the log shows creations). Each user's successful events in (time,
        event id) order: only the users (as category codes) and times are sorted, not the
        log's text columns; the event ids decide only between events of one user at one
        time, and are read for the few tied times of the wakes found."""
        df = log.collect()  # the loaded frame: columns are read, not copied
        keep = (
            succeeded(pl.col("result"))
            & pl.col("event_time").is_not_null()
            & pl.col("user_id").is_not_null()
        )
        k = (
            df.select(
                pl.when(keep)
                .then(pl.col("user_id").cast(pl.Categorical).to_physical())
                .alias("_u"),
                pl.col("event_time").alias("_t"),
            )
            .with_row_index("_r")
            .filter(pl.col("_u").is_not_null())
        )
        u, t = pl.col("_u"), pl.col("_t")
        same_u = (u == u.shift(1)).fill_null(False)
        first_at_t = ~(same_u & (t == t.shift(1)).fill_null(False))
        log_start = df.select(pl.col("event_time").min()).item()  # an instant, as ``start``
        with_creation = bool(logs_creation.collect()["logs_creation"][0])
        # the first event of a user at a time may wake (a later one at the same time is 0 s
        # after it); which one is first is settled by event id below
        cand = (
            k.sort("_u", "_t")
            .with_columns(pl.when(same_u).then(t.shift(1)).alias("_p"))
            .filter(
                first_at_t
                & (
                    (t - pl.col("_p") >= dormant)
                    | (
                        pl.col("_p").is_null()
                        & pl.lit(with_creation)
                        & (t - pl.lit(log_start, dtype=k.schema["_t"]) >= dormant)
                    )
                )
            )
            .select("_u", "_t", "_p")
        )
        eid = df["event_id"]

        def at(keys: pl.DataFrame, how: str) -> pl.DataFrame:
            """Per (user, time) of ``keys``: the row of the first (``min``) or last (``max``)
            event id of the user's events at that time."""
            rows = k.join(keys, on=["_u", "_t"], how="semi")
            rows = rows.with_columns(eid.gather(rows["_r"]).alias("_e"))
            pick = pl.col("_e").arg_min() if how == "min" else pl.col("_e").arg_max()
            return rows.group_by("_u", "_t").agg(pl.col("_r").get(pick), pl.col("_e").get(pick))

        w = at(cand.select("_u", "_t"), "min")
        p = at(cand.select("_u", pl.col("_p").alias("_t")).drop_nulls(), "max").rename(
            {"_t": "_p", "_r": "_pr", "_e": "prev_id"}
        )
        w = cand.join(w, on=["_u", "_t"]).join(p, on=["_u", "_p"], how="left")
        tz_t = raw.select("t").collect_schema()["t"]
        wk = (
            df.select(pl.col("user_id"), pl.col("action"))
            .gather(w["_r"])
            .with_columns(action_key(pl.col("action")).alias("action"))
        )
        return (
            pl.DataFrame(
                {
                    "user_id": wk["user_id"],
                    "w_id": w["_e"],
                    "w_t": w["_t"],
                    "w_action": wk["action"],
                    "prev_t": w["_p"],
                    "prev_id": w["prev_id"],
                }
            )
            .lazy()
            .with_columns(pl.col("w_t", "prev_t").dt.convert_time_zone(tz_t.time_zone))
            .join(start, how="cross")
            .join(created, on="user_id", how="left")
            .filter(pl.col("prev_t").is_not_null() | pl.col("created").is_null())
            .drop("created")
        )

    def find(self, tables, ctx):
        tz = ctx.timezone
        raw = tables["business_log"].with_columns(
            action_key(pl.col("action")).alias("action"),
            pl.col("event_time").dt.convert_time_zone(tz).alias("t"),
        )
        start = raw.select(pl.col("t").min().alias("log_start"))
        created = (
            raw.filter((pl.col("action") == "user_create") & succeeded(pl.col("result")))
            .select(pl.col("object_id").alias("user_id"), pl.lit(True).alias("created"))
            .unique("user_id")
        )
        logs_creation = raw.filter(pl.col("action") == "user_create").select(
            (pl.len() > 0).alias("logs_creation")
        )
        dormant = pl.duration(days=self.dormant_days)
        wakes = self._wakes(tables["business_log"], raw, start, logs_creation, created, dormant)
        acts = raw.filter(
            succeeded(pl.col("result"))
            & pl.col("t").is_not_null()
            & pl.col("user_id").is_not_null()
            & pl.col("action").is_in(SENSITIVE)
        ).select(
            "user_id",
            pl.col("t").alias("a_t"),
            pl.col("action").alias("a_action"),
            pl.col("event_id").alias("a_id"),
            "unit_id",
        )
        in_follow = (pl.col("a_t") >= pl.col("w_t")) & (
            pl.col("a_t") <= pl.col("w_t") + pl.duration(days=self.follow_days)
        )
        per_type = (
            wakes.join(acts, on="user_id", how="inner")
            .filter(in_follow)
            .with_columns(ref("business_log", "a_id").alias("a_ref"))  # refs of these only
            .group_by("w_id", "a_action")
            .agg(
                pl.len().alias("n"),
                pl.col("a_ref").sort().alias("refs"),
                pl.col("a_t").min().alias("first"),
                pl.col("unit_id").drop_nulls().min(),
            )
            .sort("w_id", "a_action")
        )
        n = pl.col("n").cast(pl.String)
        per_wake = per_type.group_by("w_id", maintain_order=True).agg(
            pl.col("n").sum().alias("n_acts"),
            pl.col("refs").explode().sort().alias("act_refs"),
            pl.col("first").min().alias("first_act"),
            pl.col("unit_id").drop_nulls().min(),
            pl.concat_str(
                action_name(pl.col("a_action"), "zh"), pl.lit(" "), n, pl.lit(" 次")
            ).alias("acts_zh"),
            pl.concat_str(action_name(pl.col("a_action"), "en"), pl.lit(" ×"), n).alias("acts_en"),
        )
        since = pl.coalesce("prev_t", "log_start")
        silent = (pl.col("w_t") - since).dt.total_seconds() / 86400.0
        stamp = lambda c: pl.col(c).dt.strftime("%Y-%m-%d %H:%M")  # noqa: E731
        first = pl.col("prev_t").is_null()
        no_refs = pl.lit([], dtype=pl.List(pl.String))
        return (
            wakes.join(per_wake, on="w_id", how="inner")
            .select(
                pl.col("user_id").alias("entity_id"),
                pl.col("w_id").alias("finding_key"),
                pl.concat_list(
                    pl.when(first)
                    .then(no_refs)
                    .otherwise(pl.concat_list(ref("business_log", "prev_id"))),
                    ref("business_log", "w_id").alias("w"),
                    "act_refs",
                )
                .list.unique(maintain_order=True)
                .alias("evidence"),
                "unit_id",
                pl.col("w_t").alias("event_time"),
                pl.col("w_t").alias("woke_at"),
                silent.alias("silent_days"),
                "n_acts",
                "acts_zh",
                "acts_en",
                "first_act",
                action_name(pl.col("w_action"), "zh").alias("woke_action_zh"),
                action_name(pl.col("w_action"), "en").alias("woke_action_en"),
                pl.when(first)
                .then(
                    pl.concat_str(
                        pl.lit("自日志起点 "),
                        stamp("log_start"),
                        pl.lit(" 起无任何操作（账号非本期新建）"),
                    )
                )
                .otherwise(pl.concat_str(pl.lit("上次操作于 "), stamp("prev_t")))
                .alias("last_zh"),
                pl.when(first)
                .then(
                    pl.concat_str(
                        pl.lit("did nothing since the log starts on "),
                        stamp("log_start"),
                        pl.lit(" (an account not created in the period)"),
                    )
                )
                .otherwise(pl.concat_str(pl.lit("last acted on "), stamp("prev_t")))
                .alias("last_en"),
                pl.when(first).then(pl.lit("medium")).otherwise(pl.lit("high")).alias("severity"),
                (0.6 + 0.4 * ((silent - self.dormant_days) / self.dormant_days).clip(0, 1)).alias(
                    "score"
                ),
            )
            .sort("event_time", "finding_key", nulls_last=True)
        )

"""``blog.grant_then_act``: a role granted, used at once for sensitive work, then dropped.

A successful ``role_grant`` to a user (``object_id`` when the object is a user,
else ``detail.target_user``/``grantee``/``user``) is followed within
``window_hours`` by sensitive actions of that user (``voucher_approve``,
``payee_modify``, ``data_export``, ``indicator_adjust``, ``audit_config_change``,
``config_change``) of a kind the user had not done in the ``lookback_days``
before the grant — what the new role made possible. It is a finding when the
privilege looks temporary or self-made:

- the role is revoked (``role_revoke`` to the same user, same role when both
  are logged) within ``revoke_days`` of the grant — ``high``;
- the user granted the role to themself — ``high``;
- or the user never does that kind of action again after the window, while
  the log runs on for at least ``followup_days`` — ``medium``; when the log ends
  sooner, nothing tells yet whether the role stays in use — ``low``.

Must NOT fire: a grant followed by ordinary actions only (log-ins, drafting);
a new approver who is granted the role and keeps approving from then on
(onboarding); sensitive work the user already did before the grant.

Known false positives: a stand-in approver for a colleague's leave (代岗) who
is granted and revoked on purpose — check for the approval of the stand-in.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import action_key, action_name, json_field, succeeded
from auditlib.registry import register

SENSITIVE = (
    "voucher_approve",
    "payee_modify",
    "data_export",
    "indicator_adjust",
    "audit_config_change",
    "config_change",
)
TARGET_KEYS = ("target_user", "target", "grantee", "user", "user_id", "被授权人", "授权对象")
ROLE_KEYS = ("role", "role_name", "role_id", "角色")


@register
class BlogGrantThenAct(Detector):
    id = "blog.grant_then_act"
    title = Text("授权后立即执行敏感操作", "Role granted, then used at once")
    description = Text(
        "用户被授予角色后短时间内执行此前未做过的敏感操作，且随后被收回、自我授权或此后不再使用。",
        "A user is granted a role and within hours does sensitive work they had not done "
        "before; the role is then revoked, was self-granted, or is never used again.",
    )
    requires = ("business_log",)
    entity = "user"
    severity = "high"
    params = (
        Param(
            "window_hours",
            float,
            24.0,
            "Hours after the grant in which actions count.",
            min=1,
            max=24 * 30,
        ),
        Param(
            "revoke_days",
            float,
            7.0,
            "Days after the grant in which a revoke makes it temporary.",
            min=0,
            max=366,
        ),
        Param(
            "lookback_days",
            int,
            30,
            "Days before the grant in which the same kind of action "
            "means the grant did not enable it.",
            min=0,
            max=3660,
        ),
        Param(
            "followup_days",
            int,
            7,
            "Days of log after the window needed to say the role was never used again.",
            min=1,
            max=366,
        ),
    )
    alert_title = Text(
        "授权后立即执行敏感操作：{entity_id}（{how_zh}）",
        "Role granted and used at once: {entity_id} ({how_en})",
    )
    alert_explanation = Text(
        "用户 {entity_id} 于 {granted_at} 被 {granter} 授予角色 {role}；"
        "此后 {gap:.1f} 小时即开始执行敏感操作，{window_hours:.0f} 小时内共 {n_acts} 次"
        "（{acts_zh}），此前 {lookback_days} 天内未做过此类操作。{how_detail_zh}",
        "User {entity_id} was granted role {role} by {granter} on {granted_at}; {gap:.1f} hours "
        "later the user began sensitive work, {n_acts} action(s) within {window_hours:.0f} hours "
        "({acts_en}), none of that kind in the {lookback_days} days before. {how_detail_en}",
    )

    def find(self, tables, ctx):
        tz = ctx.timezone
        log = (
            tables["business_log"]
            .with_columns(
                action_key(pl.col("action")).alias("action"),
                pl.col("event_time").dt.convert_time_zone(tz).alias("t"),
            )
            .filter(succeeded(pl.col("result")) & pl.col("t").is_not_null())
        )
        on_user = pl.col("object_type").is_null() | (action_key(pl.col("object_type")) == "user")
        target = pl.coalesce(
            pl.when(on_user).then(pl.col("object_id")), json_field(pl.col("detail"), *TARGET_KEYS)
        )
        role = pl.coalesce(
            json_field(pl.col("detail"), *ROLE_KEYS), pl.when(~on_user).then(pl.col("object_id"))
        )
        grants = (
            log.filter(pl.col("action") == "role_grant")
            .select(
                pl.col("event_id").alias("g_id"),
                pl.col("t").alias("g_t"),
                pl.col("user_id").alias("granter"),
                target.alias("u"),
                role.alias("role"),
                pl.col("unit_id").alias("g_unit"),
            )
            .filter(pl.col("u").is_not_null())
        )
        sens = log.filter(pl.col("action").is_in(SENSITIVE)).select(
            pl.col("user_id").alias("u"),
            pl.col("t").alias("a_t"),
            pl.col("action").alias("a_action"),
            ref("business_log", "event_id").alias("a_ref"),
            pl.col("unit_id").alias("a_unit"),
        )
        win_end = pl.col("g_t") + pl.duration(hours=self.window_hours)
        in_win = (pl.col("a_t") > pl.col("g_t")) & (pl.col("a_t") <= win_end)
        before = (pl.col("a_t") < pl.col("g_t")) & (
            pl.col("a_t") >= pl.col("g_t") - pl.duration(days=self.lookback_days)
        )
        per_type = (
            grants.join(sens, on="u", how="inner")
            .group_by("g_id", "a_action")
            .agg(
                in_win.sum().alias("n_win"),
                before.sum().alias("n_before"),
                (pl.col("a_t") > win_end).sum().alias("n_after"),
                pl.col("a_ref").filter(in_win).sort().alias("refs"),
                pl.col("a_t").filter(in_win).min().alias("first_act"),
                pl.col("a_unit").filter(in_win).drop_nulls().min().alias("a_unit"),
            )
            .filter((pl.col("n_win") > 0) & (pl.col("n_before") == 0))
            .sort("g_id", "a_action")
        )
        count = pl.col("n_win").cast(pl.String)
        per_grant = per_type.group_by("g_id", maintain_order=True).agg(
            pl.col("n_win").sum().alias("n_acts"),
            pl.col("n_after").sum().alias("n_after"),
            pl.col("refs").explode().sort().alias("act_refs"),
            pl.col("first_act").min(),
            pl.col("a_unit").drop_nulls().min(),
            pl.concat_str(
                action_name(pl.col("a_action"), "zh"), pl.lit(" "), count, pl.lit(" 次")
            ).alias("acts_zh"),
            pl.concat_str(action_name(pl.col("a_action"), "en"), pl.lit(" ×"), count).alias(
                "acts_en"
            ),
        )
        revokes = (
            log.filter(pl.col("action") == "role_revoke")
            .select(
                target.alias("u"),
                role.alias("r_role"),
                pl.col("t").alias("r_t"),
                ref("business_log", "event_id").alias("r_ref"),
            )
            .filter(pl.col("u").is_not_null())
        )
        first_revoke = (
            grants.select("g_id", "g_t", "u", "role")
            .join(revokes, on="u", how="inner")
            .filter(
                (pl.col("r_t") > pl.col("g_t"))
                & (pl.col("r_t") <= pl.col("g_t") + pl.duration(days=self.revoke_days))
                & (
                    pl.col("role").is_null()
                    | pl.col("r_role").is_null()
                    | (pl.col("role") == pl.col("r_role"))
                )
            )
            .sort("g_id", "r_t", "r_ref")
            .unique("g_id", keep="first", maintain_order=True)
            .select("g_id", "r_t", "r_ref")
        )
        data_end = log.select(pl.col("t").max().alias("data_end"))
        hits = (
            grants.join(per_grant, on="g_id", how="inner")
            .join(first_revoke, on="g_id", how="left")
            .join(data_end, how="cross")
            .with_columns(
                pl.col("r_t").is_not_null().alias("revoked"),
                (pl.col("granter") == pl.col("u")).fill_null(False).alias("self"),
                (
                    (pl.col("n_after") == 0)
                    & (pl.col("data_end") >= win_end + pl.duration(days=self.followup_days))
                ).alias("unused"),
            )
            .with_columns(((pl.col("n_after") == 0) & ~pl.col("unused")).alias("recent"))
            .filter(pl.col("revoked") | pl.col("self") | (pl.col("n_after") == 0))
        )
        hours = lambda d: d.dt.total_seconds() / 3600.0  # noqa: E731
        stamp = lambda c: pl.col(c).dt.strftime("%Y-%m-%d %H:%M")  # noqa: E731
        r, s, recent = pl.col("revoked"), pl.col("self"), pl.col("recent")
        after = (pl.col("data_end") - win_end).dt.total_days().clip(0).cast(pl.String)
        detail_zh = pl.concat_str(
            pl.when(s).then(pl.lit("授权人即本人（自我授权）。")),
            pl.when(r).then(
                pl.concat_str(
                    pl.lit("角色于 "),
                    stamp("r_t"),
                    pl.lit(" 被收回（授予后 "),
                    hours(pl.col("r_t") - pl.col("g_t")).round(1).cast(pl.String),
                    pl.lit(" 小时）。"),
                )
            ),
            pl.when(~r & pl.col("unused")).then(
                pl.concat_str(pl.lit("此后 "), after, pl.lit(" 天内不再执行此类操作。"))
            ),
            pl.when(~r & recent).then(
                pl.concat_str(
                    pl.lit("日志在窗口后仅余 "),
                    after,
                    pl.lit(f" 天（不足 {self.followup_days} 天），尚无法判断此后是否持续使用。"),
                )
            ),
            ignore_nulls=True,
        )
        detail_en = pl.concat_str(
            pl.when(s).then(pl.lit("The user granted the role to themself. ")),
            pl.when(r).then(
                pl.concat_str(
                    pl.lit("The role was revoked on "),
                    stamp("r_t"),
                    pl.lit(" ("),
                    hours(pl.col("r_t") - pl.col("g_t")).round(1).cast(pl.String),
                    pl.lit(" hours after the grant)."),
                )
            ),
            pl.when(~r & pl.col("unused")).then(
                pl.concat_str(
                    pl.lit("No action of that kind in the "),
                    after,
                    pl.lit(" days after the window."),
                )
            ),
            pl.when(~r & recent).then(
                pl.concat_str(
                    pl.lit("The log runs only "),
                    after,
                    pl.lit(
                        f" day(s) past the window (under {self.followup_days}): too early to "
                        "tell whether the role stays in use."
                    ),
                )
            ),
            ignore_nulls=True,
        )
        return hits.select(
            pl.col("u").alias("entity_id"),
            pl.col("g_id").alias("finding_key"),
            pl.concat_list(
                ref("business_log", "g_id").alias("g"),
                "act_refs",
                pl.when(r)
                .then(pl.concat_list("r_ref"))
                .otherwise(pl.lit([], dtype=pl.List(pl.String))),
            ).alias("evidence"),
            pl.coalesce("a_unit", "g_unit").alias("unit_id"),
            pl.col("g_t").alias("event_time"),
            pl.col("g_t").alias("granted_at"),
            "granter",
            "role",
            "n_acts",
            "acts_zh",
            "acts_en",
            hours(pl.col("first_act") - pl.col("g_t")).alias("gap"),
            pl.when(s)
            .then(pl.lit("自我授权"))
            .when(r)
            .then(pl.lit("用后即收回"))
            .when(recent)
            .then(pl.lit("授权后随即使用"))
            .otherwise(pl.lit("此后未再使用"))
            .alias("how_zh"),
            pl.when(s)
            .then(pl.lit("self-granted"))
            .when(r)
            .then(pl.lit("revoked after use"))
            .when(recent)
            .then(pl.lit("used right after the grant"))
            .otherwise(pl.lit("never used again"))
            .alias("how_en"),
            detail_zh.alias("how_detail_zh"),
            detail_en.alias("how_detail_en"),
            pl.when(r | s)
            .then(pl.lit("high"))
            .when(recent)
            .then(pl.lit("low"))
            .otherwise(pl.lit("medium"))
            .alias("severity"),
            (
                0.5
                + 0.25 * r.cast(pl.Float64)
                + 0.25 * s.cast(pl.Float64)
                - 0.2 * (recent & ~r & ~s).cast(pl.Float64)
            ).alias("score"),
        ).sort("event_time", "finding_key", nulls_last=True)

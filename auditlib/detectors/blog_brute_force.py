"""``blog.brute_force``: a log-in that succeeds after a run of failures (guessing, spraying).

Two patterns end in one alert per successful ``login`` (the user who got in):

- **guessing**: at least ``min_failures`` failed log-ins of that user within
  ``window_minutes`` before the success, the success directly following a
  failure;
- **password spraying**: from the success's ``client_ip``, within
  ``spray_window_minutes``, failed log-ins of at least ``min_spray_users``
  different users that were *not* followed by their own success from that
  address within ``resolve_minutes`` (people who mistype and then get in are
  not a spray: that is an office behind one NAT address); a success from that
  address during or just after the spray, for a user who had never logged in
  from it before, is the account that fell.

Worse (``high``) when the address of the success was never seen for that user
before, while the user did have earlier successful log-ins.

Must NOT fire: one or a few mistyped passwords and then a success; a busy
office address where many users mistype and then log in.

Known false positives: a user who forgot the password and tried many times
(the explanation shows the address and whether it is the usual one).
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import action_key
from auditlib.registry import register


@register
class BlogBruteForce(Detector):
    id = "blog.brute_force"
    title = Text("暴力破解后登录成功", "Log-in after many failures")
    description = Text(
        "短时间内多次登录失败（单一账号猜密码，或同一地址对多个账号撒网）后登录成功。",
        "A successful log-in after many failures within minutes: password guessing on one "
        "account, or password spraying from one address across accounts.",
    )
    requires = ("business_log",)
    entity = "user"
    severity = "high"
    params = (
        Param(
            "window_minutes",
            int,
            30,
            "Minutes before a success in which failures count.",
            min=1,
            max=1440,
        ),
        Param("min_failures", int, 5, "Failed log-ins of the user, at least.", min=2),
        Param(
            "spray_window_minutes",
            int,
            60,
            "Minutes in which a spray's failures count.",
            min=1,
            max=1440,
        ),
        Param(
            "min_spray_users",
            int,
            5,
            "Users failing from one address, at least, for a spray.",
            min=2,
        ),
        Param(
            "resolve_minutes",
            int,
            10,
            "A failure followed by the user's own success from the "
            "same address within this is a mistyped password.",
            min=0,
            max=1440,
        ),
    )
    alert_title = Text(
        "多次登录失败后成功：{entity_id}（{pattern_zh}）",
        "Log-in after many failures: {entity_id} ({pattern_en})",
    )
    alert_explanation = Text(
        "用户 {entity_id} 于 {success_at} 从地址 {client_ip} 登录成功（{ip_zh}）。此前 "
        "{window_minutes} 分钟内该用户登录失败 {user_failures} 次（阈值 {min_failures} 次）；"
        "{spray_window_minutes} 分钟内该地址有 {spray_users} 个不同用户登录失败且未随即成功"
        "（阈值 {min_spray_users} 个，共 {spray_failures} 次失败）。判定：{pattern_zh}。",
        "User {entity_id} logged in from {client_ip} at {success_at} ({ip_en}). In the "
        "{window_minutes} minutes before, the user failed {user_failures} time(s) (threshold "
        "{min_failures}); in {spray_window_minutes} minutes that address saw failed log-ins of "
        "{spray_users} different users not followed by their own success (threshold "
        "{min_spray_users}; {spray_failures} failures). Pattern: {pattern_en}.",
    )

    def find(self, tables, ctx):
        tz = ctx.timezone
        w, sw = f"{self.window_minutes}m", f"{self.spray_window_minutes}m"
        logins = (
            tables["business_log"]
            .filter(
                (action_key(pl.col("action")) == "login")
                & pl.col("event_time").is_not_null()
                & pl.col("user_id").is_not_null()
            )
            .select(
                "event_id",
                "user_id",
                "unit_id",
                "client_ip",
                pl.col("event_time").dt.convert_time_zone(tz).alias("t"),
                (pl.col("result") == "failure").fill_null(False).alias("fail"),
            )
            .sort("t", "event_id")
        )
        ok = logins.filter(~pl.col("fail")).with_columns(
            (pl.int_range(pl.len()).over("user_id") > 0).alias("had_history"),
            (pl.int_range(pl.len()).over("user_id", "client_ip") == 0).alias("first_from_ip"),
        )
        fails = logins.filter(pl.col("fail")).select(
            "user_id",
            "client_ip",
            pl.col("t").alias("ft"),
            ref("business_log", "event_id").alias("fref"),
        )
        # guessing: the success right after a failure, enough failures of the user in the window
        guess = (
            logins.sort("user_id", "t", "event_id")
            .with_columns(
                pl.col("fail")
                .cast(pl.Int32)
                .rolling_sum_by("t", window_size=w)
                .over("user_id")
                .alias("n_fail"),
                pl.col("fail").shift(1).over("user_id").fill_null(False).alias("after_fail"),
            )
            .filter(
                ~pl.col("fail") & pl.col("after_fail") & (pl.col("n_fail") >= self.min_failures)
            )
            .select("event_id")
            .join(ok, on="event_id", how="inner")
            .join(fails, on="user_id", how="inner")
            .filter(
                (pl.col("ft") > pl.col("t") - pl.duration(minutes=self.window_minutes))
                & (pl.col("ft") <= pl.col("t"))
            )
            .group_by("event_id")
            .agg(
                pl.col("fref").sort().alias("user_refs"),
                pl.len().alias("user_failures"),
                pl.col("ft").min().alias("g_first"),
            )
        )
        # spraying: failures of many users from one address, not resolved by their own success
        resolved = (
            fails.filter(pl.col("client_ip").is_not_null())
            .sort("ft")
            .join_asof(
                ok.select(
                    "user_id", "client_ip", pl.col("t").alias("ft"), pl.col("t").alias("ok_t")
                ).sort("ft"),
                on="ft",
                by=["user_id", "client_ip"],
                strategy="forward",
                tolerance=f"{self.resolve_minutes}m",
                check_sortedness=False,
            )
            .with_columns(pl.col("ok_t").is_null().alias("unresolved"))
        )
        cand = (
            resolved.filter(pl.col("unresolved"))
            .group_by("client_ip")
            .agg(pl.col("user_id").n_unique().alias("n"))
            .filter(pl.col("n") >= self.min_spray_users)
            .select("client_ip")
        )
        points = (
            resolved.join(cand, on="client_ip", how="semi")
            .sort("client_ip", "ft")
            .rolling("ft", period=sw, group_by="client_ip")
            .agg(pl.col("user_id").filter(pl.col("unresolved")).n_unique().alias("n_users"))
            .filter(pl.col("n_users") >= self.min_spray_users)
            .select("client_ip", pl.col("ft").alias("pt"))
        )
        spray = (
            ok.filter(pl.col("first_from_ip"))
            .join(cand, on="client_ip", how="semi")
            .join(points, on="client_ip", how="inner")
            .filter(
                pl.col("pt").is_between(
                    pl.col("t") - pl.duration(minutes=self.spray_window_minutes), pl.col("t")
                )
            )
            .select("event_id", "client_ip", "t")
            .unique("event_id")
            .join(
                resolved.select("client_ip", "ft", "fref", "user_id", "unresolved"),
                on="client_ip",
                how="inner",
            )
            .filter(
                (pl.col("ft") > pl.col("t") - pl.duration(minutes=self.spray_window_minutes))
                & (pl.col("ft") <= pl.col("t"))
            )
            .group_by("event_id")
            .agg(
                pl.col("fref").sort().alias("spray_refs"),
                pl.len().alias("spray_failures"),
                pl.col("ft").min().alias("s_first"),
                pl.col("user_id").filter(pl.col("unresolved")).n_unique().alias("spray_users"),
            )
        )
        hits = guess.join(spray, on="event_id", how="full", coalesce=True).join(
            ok, on="event_id", how="inner"
        )
        g, s = pl.col("user_failures").is_not_null(), pl.col("spray_users").is_not_null()
        new_ip = pl.col("first_from_ip") & pl.col("had_history") & pl.col("client_ip").is_not_null()
        empty = pl.lit([], dtype=pl.List(pl.String))
        return hits.select(
            pl.col("user_id").alias("entity_id"),
            pl.col("event_id").alias("finding_key"),
            pl.concat_list(
                pl.col("user_refs").fill_null(empty),
                pl.col("spray_refs").fill_null(empty),
                ref("business_log", "event_id").alias("s"),
            )
            .list.unique(maintain_order=True)
            .alias("evidence"),
            "unit_id",
            "client_ip",
            pl.col("t").alias("success_at"),
            pl.col("user_failures").fill_null(0),
            pl.col("spray_users").fill_null(0),
            pl.col("spray_failures").fill_null(0),
            pl.when(g & s)
            .then(pl.lit("猜测密码且地址撒网"))
            .when(g)
            .then(pl.lit("单账号猜测密码"))
            .otherwise(pl.lit("同一地址撒网式尝试"))
            .alias("pattern_zh"),
            pl.when(g & s)
            .then(pl.lit("guessing and spraying"))
            .when(g)
            .then(pl.lit("password guessing"))
            .otherwise(pl.lit("password spraying"))
            .alias("pattern_en"),
            pl.when(new_ip)
            .then(pl.lit("该用户此前从未从此地址登录"))
            .when(~pl.col("had_history"))
            .then(pl.lit("该用户无更早登录记录"))
            .otherwise(pl.lit("该用户曾从此地址登录"))
            .alias("ip_zh"),
            pl.when(new_ip)
            .then(pl.lit("an address never used by this user before"))
            .when(~pl.col("had_history"))
            .then(pl.lit("no earlier log-in of this user on record"))
            .otherwise(pl.lit("an address this user used before"))
            .alias("ip_en"),
            pl.min_horizontal("g_first", "s_first", "t").alias("event_time"),
            pl.when(new_ip | s).then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
            (0.5 + 0.25 * new_ip.cast(pl.Float64) + 0.25 * s.cast(pl.Float64)).alias("score"),
        ).sort("event_time", "finding_key", nulls_last=True)

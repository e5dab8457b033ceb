"""``db.rare_combo``: an account doing something it never does, at an hour it never does it.

A baseline is learned per account from the log itself: its combinations of command,
object (table, role...) and hour of day. The first ``baseline_share`` of the account's
active days are the baseline period. In the later days a combination is rare when it
never occurred in the baseline period within an hour of that hour of day, and occurred
on at most ``rare_share`` of the account's active days (at least 1 day) over the whole
log. One finding per rare combination (account, command, object, hour), keyed by them.

Only accounts with a baseline to speak of are judged: at least ``min_days`` active days,
and at least ``min_stability`` of their later (day, combination) pairs already seen in
the baseline — service accounts (the application, ETL) are predictable; people's ad-hoc
work is not, and is left to the other ``db.*`` rules. ``medium`` for a write, DDL or
role command or a protected or sensitive table, else ``low``.

Must NOT fire: a nightly ETL (its combinations recur every night; an hour of drift is
tolerated); transaction control, ``SET``, ``SHOW`` and connections; MariaDB table
records (their QUERY record is judged); failed statements; accounts without enough
history.

Known false positives: new application releases (new statements); month-end or
quarter-end jobs in their first run.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import escape_expr
from auditlib.detectors._dblog import (
    DDL_VERBS,
    WRITE_VERBS,
    no_findings,
    prepare,
    settings_of,
    with_tables,
)
from auditlib.detectors.base import Detector, Param, Text
from auditlib.registry import register

NOISE = (
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "END",
    "SAVEPOINT",
    "RELEASE",
    "SET",
    "SHOW",
    "RESET",
    "CONNECT",
    "DISCONNECT",
    "FAILED_CONNECT",
    "CHANGE_USER",
    "DISCARD",
    "DEALLOCATE",
    "USE",
)


def _near(a: str, b: str) -> pl.Expr:
    d = (pl.col(a) - pl.col(b)).abs()
    return (d <= 1) | (d == 23)


@register
class DbRareCombo(Detector):
    id = "db.rare_combo"
    title = Text("罕见的账号-命令-对象-时段组合", "Rare account/command/object/hour combination")
    description = Text(
        "按日志历史为每个账号学习其命令、对象和时段组合的基线；稳定账号出现基线期从未有过、全期极少出现的组合。",
        "A baseline of each account's command, object and hour-of-day combinations is learned "
        "from the log; a steady account does something it never did in the baseline and "
        "rarely does at all.",
    )
    requires = ("db_audit",)
    entity = "db_user"
    severity = "low"
    params = (
        Param("min_days", int, 20, "Active days an account needs before it is judged.", min=2),
        Param(
            "baseline_share",
            float,
            0.5,
            "Share of the account's first active days that is the baseline.",
            min=0.1,
            max=0.9,
        ),
        Param(
            "rare_share",
            float,
            0.02,
            "Share of the account's active days a rare combination occurs on, at most.",
            min=0.0,
            max=0.5,
        ),
        Param(
            "min_stability",
            float,
            0.9,
            "Share of the account's later activity already seen in its baseline.",
            min=0.0,
            max=1.0,
        ),
        Param("max_evidence", int, 50, "Events listed as evidence per finding at most.", min=1),
    )
    alert_title = Text(
        "罕见操作组合：{entity_id} 在 {hour} 时对 {object} 执行 {command}",
        "Rare combination: {entity_id} ran {command} on {object} at {hour}h",
    )
    alert_explanation = Text(
        "数据库账号 {entity_id} 于 {when} 起在 {hour} 时前后对 {object} 执行 {command}，共 {n_events:int} 次、{n_days} 天。"
        "该账号共活跃 {active_days} 天，其中前 {baseline_days} 天为基线期：此组合（同一时段 ±1 小时）在基线期从未出现，"
        "全期仅见于 {combo_days} 天（罕见阈值 ≤ {max_days} 天，即活跃天数的 {rare_share:pct}）；"
        "该账号其余操作有 {stability:pct} 符合基线（稳定性阈值 {min_stability:pct}）。",
        "From {when}, database account {entity_id} ran {command} on {object} around {hour}h, "
        "{n_events:int} time(s) on {n_days} day(s). Of its {active_days} active days the first "
        "{baseline_days} are the baseline: this combination (same hour ±1) never occurred there and "
        "occurred on {combo_days} day(s) in all (rare: at most {max_days} days, {rare_share:pct} of "
        "active days); {stability:pct} of the account's other activity fits its baseline "
        "(threshold {min_stability:pct}).",
    )

    @staticmethod
    def _objects(df: pl.DataFrame, lf: pl.LazyFrame, keyed: list[str]) -> pl.Series:
        """The object of each record: the first of the tables it writes, reads or names
        (:func:`with_tables`). With ``object_name`` that is its first name (worked out per
        distinct value); without, the statement is read (those records only)."""
        names = df.select(pl.col("object_name").unique().drop_nulls())
        first = pl.col("object_name").str.replace_all(r"[\"`]", "").str.to_lowercase()
        first = first.str.split("|").list.first()
        first = pl.when(first.str.contains(".", literal=True)).then(first)
        first = first.otherwise(pl.lit("public.") + first)
        names = names.with_columns(first.alias("object"))
        obj = df.select(
            pl.col("object_name").replace_strict(
                names["object_name"], names["object"], default=None, return_dtype=pl.String
            )
        ).to_series()
        if df["object_name"].null_count():
            cols = ("_r", "verb", "audit_class", "statement", "object_name", "dialect", "database")
            sub = lf.filter(pl.col("object_name").is_null()).select(cols).collect()
            sub = with_tables(sub, keyed).select(
                "_r", pl.concat_list("writes", "reads", "objects").list.first().alias("object")
            )
            obj = obj.scatter(df["_r"].search_sorted(sub["_r"]), sub["object"])
        return obj.fill_null("—").alias("object")

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        _, protected, sensitive = settings_of(ctx)
        keyed = [*protected, *sensitive]
        mariadb_table_event = (
            pl.col("statement").is_null()
            & pl.col("substatement_id").is_null()
            & pl.col("object_name").is_not_null()
            & pl.col("verb").is_in(["READ", "WRITE"])
        )
        cols = (
            "event_id",
            "event_time",
            "db_user",
            "command",
            "retcode",
            "statement",
            "parameter",
            "substatement_id",
            "audit_class",
            "object_name",
            "database",
        )
        lf = prepare(tables["db_audit"].select(cols).with_row_index("_r"), ctx).filter(
            pl.col("ok")
            & pl.col("event_time").is_not_null()
            & pl.col("verb").is_not_null()
            & ~pl.col("verb").is_in(NOISE)
            & ~mariadb_table_event
        )
        df = lf.select("_r", "event_id", "event_time", "db_user", "user", "verb", "object_name")
        df = df.collect()
        if df.height == 0:
            return no_findings()
        df = df.with_columns(self._objects(df, lf, keyed)).select(
            "event_id",
            "event_time",
            "db_user",
            "user",
            "verb",
            "object",
            pl.col("event_time").dt.date().alias("day"),
            pl.col("event_time").dt.hour().cast(pl.Int32).alias("hour"),
        )
        key = ["user", "verb", "object"]
        days = df.select("user", "day").unique().sort("user", "day")
        acct = (
            days.group_by("user")
            .agg(
                pl.len().alias("active_days"),
                pl.col("day")
                .sort()
                .get((pl.len() * self.baseline_share).ceil().cast(pl.Int64) - 1)
                .alias("cut"),
                ((pl.len() * self.baseline_share).ceil()).cast(pl.Int64).alias("baseline_days"),
            )
            .filter(pl.col("active_days") >= self.min_days)
        )
        combos = (  # accounts judged: joined to the combinations, not to every record
            df.group_by(*key, "day", "hour")
            .agg(pl.len().alias("n"), pl.col("db_user").first(), pl.col("event_time").min())
            .join(acct.select("user", "cut"), on="user", how="inner")
        )
        if combos.height == 0:
            return no_findings()
        base = (
            combos.filter(pl.col("day") <= pl.col("cut"))
            .select(*key, pl.col("hour").alias("bh"))
            .unique()
        )
        det = combos.filter(pl.col("day") > pl.col("cut"))
        known = (
            det.select(*key, "day", "hour")
            .join(base, on=key, how="inner")
            .filter(_near("hour", "bh"))
            .select(*key, "day", "hour")
            .unique()
            .with_columns(pl.lit(True).alias("known"))
        )
        det = det.join(known, on=[*key, "day", "hour"], how="left").with_columns(
            pl.col("known").fill_null(False)
        )
        stab = det.group_by("user").agg(pl.col("known").mean().alias("stability"))
        new = det.filter(~pl.col("known"))
        spread = (
            new.select(*key, "hour")
            .unique()
            .join(
                combos.select(*key, pl.col("day").alias("d2"), pl.col("hour").alias("h2")),
                on=key,
                how="inner",
            )
            .filter(_near("hour", "h2"))
            .group_by(*key, "hour")
            .agg(pl.col("d2").n_unique().alias("combo_days"))
        )
        rare = (
            new.join(spread, on=[*key, "hour"], how="left")
            .join(acct, on="user")
            .join(stab, on="user")
            .with_columns(
                pl.max_horizontal(
                    pl.lit(1), (pl.col("active_days") * self.rare_share).floor().cast(pl.Int64)
                ).alias("max_days")
            )
            .filter(
                (pl.col("stability") >= self.min_stability)
                & (pl.col("combo_days") <= pl.col("max_days"))
            )
        )
        if rare.height == 0:
            return no_findings()
        # evidence: the first events of the rare combinations' records only
        ids = (
            df.join(rare.select(*key, "day", "hour"), on=[*key, "day", "hour"], how="semi")
            .sort("event_time", "event_id")
            .group_by(*key, "hour")
            .agg(pl.col("event_id").head(self.max_evidence).alias("ids"))
        )
        g = (
            rare.sort("event_time")
            .group_by(*key, "hour")
            .agg(
                pl.col("db_user").first().alias("entity_id"),
                pl.col("event_time").min(),
                pl.col("n").sum().alias("n_events"),
                pl.col("day").n_unique().alias("n_days"),
                *[
                    pl.col(c).first()
                    for c in ("combo_days", "max_days", "active_days", "baseline_days", "stability")
                ],
            )
        )
        g = g.join(ids, on=[*key, "hour"], how="left")
        serious = pl.col("verb").is_in([*WRITE_VERBS, *DDL_VERBS]) | pl.col("object").is_in(keyed)
        return g.select(
            "entity_id",
            "event_time",
            "object",
            "hour",
            "n_events",
            "n_days",
            "combo_days",
            "max_days",
            "active_days",
            "baseline_days",
            "stability",
            pl.col("verb").alias("command"),
            pl.format("{}|{}|{}", pl.col("verb"), pl.col("object"), pl.col("hour")).alias(
                "finding_key"
            ),
            pl.col("ids")
            .list.eval(pl.lit("db_audit:") + escape_expr(pl.element()))
            .alias("evidence"),
            pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M").alias("when"),
            pl.when(serious).then(pl.lit("medium")).otherwise(pl.lit("low")).alias("severity"),
            (
                0.4
                + 0.2 * serious.cast(pl.Float64)
                + 0.3 * (1 - pl.col("combo_days") / (pl.col("max_days") + 1))
            ).alias("score"),
        )

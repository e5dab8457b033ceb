"""``db.privileged``: DDL, TRUNCATE, grants and role changes with no change ticket.

Privileged database work — DDL (``CREATE``/``ALTER``/``DROP``..., pgAudit class DDL),
``TRUNCATE``, ``GRANT``/``REVOKE`` and ``CREATE``/``ALTER``/``DROP ROLE``/``USER`` (class
ROLE) — is expected only inside an approved change ticket's window, by the ticket's
account, on the ticket's objects (``change_tickets.objects``, ``;``-separated; empty =
any). Anything else is a finding, one per statement (keyed by its first DB event):
``high`` out of working time (weekends, public holidays, nights: ``working_hours`` and the
Chinese calendar with 调休) or when it drops, truncates or alters a protected table or
makes a superuser; ``medium`` otherwise.

Must NOT fire: work inside a covering ticket; temporary tables (``CREATE TEMP TABLE``,
``pg_temp``); failed statements (refused by the server); routine maintenance DDL of an
account — the same command on the same objects within an hour of the same time of day on
at least ``routine_days`` days and on at least ``routine_share`` of the days since it first
ran (earlier days once there are ``routine_days`` of them; every other day of the log
before that): a nightly ETL truncating its staging table. Role changes and DDL on
protected or sensitive tables are never routine.

Known false positives: application deployments and partition maintenance without a
ticket; tickets whose objects name a schema the log writes differently.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import (
    DDL_VERBS,
    OFF_EN,
    OFF_ZH,
    add_statement_key,
    cover,
    day_hour,
    first_by_time,
    no_findings,
    off_hours,
    prepare,
    prepared,
    routine,
    settings_of,
    statement_text,
    value_mask,
    with_tables,
)
from auditlib.detectors.base import Detector, Param, Text
from auditlib.registry import register

SUPERUSER = r"(?i)\bsuperuser\b|\bwith\s+grant\s+option\b|\bgrant\s+all\b|\bbypassrls\b"


@register
class DbPrivileged(Detector):
    id = "db.privileged"
    title = Text("无工单的数据库特权操作", "Privileged database operation without a change ticket")
    description = Text(
        "DDL、TRUNCATE、授权/回收权限、创建/修改/删除角色或用户，且不在已批准运维工单的时间窗口和对象范围内。",
        "DDL, TRUNCATE, GRANT/REVOKE or a role/user change outside any approved change "
        "ticket's window and objects.",
    )
    requires = ("db_audit",)
    optional = ("change_tickets",)
    entity = "db_user"
    severity = "medium"
    params = (
        Param(
            "routine_days",
            int,
            5,
            "Earlier days with the same DDL at the same hour that make it routine.",
            min=2,
        ),
        Param(
            "routine_share",
            float,
            0.5,
            "Share of the days since it first ran on which routine DDL runs, at least.",
            min=0.0,
            max=1.0,
        ),
    )
    alert_title = Text(
        "无工单特权操作：{entity_id} 执行 {command}",
        "Privileged operation without a ticket: {entity_id} ran {command}",
    )
    alert_explanation = Text(
        "数据库账号 {entity_id} 于 {when}{off_zh} 从 {client} 执行特权操作 {command}（{klass}），"
        "涉及对象 {objects}{risk_zh}。{ticket_zh}语句：{statement}",
        "Database account {entity_id} ran the privileged operation {command} ({klass}) at "
        "{when}{off_en} from {client} on {objects}{risk_en}. {ticket_en}Statement: {statement}",
    )

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        _, protected, sensitive = settings_of(ctx)
        raw = tables["db_audit"]
        # records of a privileged class or command, per distinct class and command name:
        # only those are prepared
        maybe = value_mask(raw, "audit_class", lambda _: prepared("audit_class").is_in(
            ["DDL", "ROLE"])) | value_mask(raw, "command", lambda _: prepared("verb").is_in(
            DDL_VERBS))
        audit = prepare(raw.filter(maybe), ctx)
        is_priv = pl.col("audit_class").is_in(["DDL", "ROLE"]) | (
            pl.col("verb").is_in(DDL_VERBS)
            & (pl.col("audit_class").is_null() | (pl.col("audit_class") != "READ"))
        )
        df = audit.filter(pl.col("ok") & is_priv).collect()
        if df.height == 0:
            return no_findings()
        df = (
            with_tables(df, [*protected, *sensitive], need=pl.lit(True))
            .with_columns(
                pl.concat_list("objects", "writes").list.unique().list.sort().alias("objs"),
                ref("db_audit", "event_id"),
            )
            .filter(
                ~pl.col("temp")
                & ~pl.col("objects").list.eval(pl.element().str.starts_with("pg_temp")).list.any()
            )
        )
        df = add_statement_key(df)
        has_stmt = pl.col("statement").is_not_null()
        g = (
            df.group_by("stmt")
            .agg(
                first_by_time("event_id").alias("finding_key"),
                pl.col("event_time").min(),
                first_by_time("db_user").alias("entity_id"),
                first_by_time("user"),
                pl.col("client_ip").drop_nulls().first(),
                pl.col("application_name").drop_nulls().first(),
                pl.col("statement").sort_by("event_time", "event_id").drop_nulls().first(),
                pl.coalesce(pl.col("cmd").filter(has_stmt).first(), first_by_time("cmd")).alias(
                    "command"
                ),
                pl.col("audit_class").drop_nulls().first().alias("klass"),
                pl.col("objs")
                .list.explode(keep_nulls=False, empty_as_null=False)
                .unique()
                .sort()
                .alias("objects"),
                pl.col("ref").sort_by("event_time", "event_id").alias("evidence"),
            )
            .with_columns(
                pl.col("klass").fill_null(
                    pl.when(pl.col("command").str.contains(r"^(GRANT|REVOKE)|ROLE|USER"))
                    .then(pl.lit("ROLE"))
                    .otherwise(pl.lit("DDL"))
                ),
                *day_hour(),
            )
        )
        g = cover(g, tables.get("change_tickets"), objects="objects").filter(
            pl.col("ticket_id").is_null()
        )
        # routine maintenance: same command on the same objects at the same hour on most earlier days
        g = g.with_columns(pl.col("objects").list.join(",").alias("okey"))
        history = df.select("user", "cmd", pl.col("objs").list.join(",").alias("okey"), *day_hour())
        active = (  # the days of every record, not of the privileged ones only
            prepare(raw, ctx).select(pl.col("event_time").dt.date().alias("day")).unique().collect()
        )
        g = routine(
            g.rename({"command": "cmd"}),
            history,
            active,
            ["cmd", "okey"],
            min_days=self.routine_days,
            share=self.routine_share,
        ).rename({"cmd": "command"})
        keyed = pl.col("objects").list.eval(pl.element().is_in([*protected, *sensitive])).list.any()
        g = g.filter(~(pl.col("routine") & (pl.col("klass") != "ROLE") & ~keyed))
        g = off_hours(g, ctx)
        off = pl.col("off_kind").is_not_null()
        on_protected = pl.col("objects").list.eval(pl.element().is_in(protected)).list.any()
        destructive = pl.col("command").str.contains(r"^(DROP|TRUNCATE|ALTER)") & on_protected
        superuser = pl.col("statement").fill_null("").str.contains(SUPERUSER)
        risky = destructive | superuser
        return g.select(
            "entity_id",
            "finding_key",
            "evidence",
            "event_time",
            "command",
            "klass",
            pl.when(pl.col("objects").list.len() > 0)
            .then(pl.col("objects"))
            .otherwise(pl.lit(["—"]))
            .alias("objects"),
            pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%S").alias("when"),
            pl.format(
                "{} ({})",
                pl.col("client_ip").fill_null("?"),
                pl.col("application_name").fill_null("—"),
            ).alias("client"),
            statement_text().alias("statement"),
            pl.when(off)
            .then(
                pl.lit("（") + pl.col("off_kind").replace_strict(OFF_ZH, default="") + pl.lit("）")
            )
            .otherwise(pl.lit(""))
            .alias("off_zh"),
            pl.when(off)
            .then(
                pl.lit(" (") + pl.col("off_kind").replace_strict(OFF_EN, default="") + pl.lit(")")
            )
            .otherwise(pl.lit(""))
            .alias("off_en"),
            pl.when(destructive)
            .then(pl.lit("（删除/清空/修改受保护表）"))
            .when(superuser)
            .then(pl.lit("（授予超级用户或全部权限）"))
            .otherwise(pl.lit(""))
            .alias("risk_zh"),
            pl.when(destructive)
            .then(pl.lit(" (drops, truncates or alters a protected table)"))
            .when(superuser)
            .then(pl.lit(" (grants superuser or all privileges)"))
            .otherwise(pl.lit(""))
            .alias("risk_en"),
            pl.when(pl.col("ticket_note").is_not_null())
            .then(
                pl.format(
                    "没有覆盖该时间、账号和对象的已批准运维工单（该账号最近的工单：{}）。",
                    pl.col("ticket_note"),
                )
            )
            .otherwise(pl.lit("没有覆盖该时间、账号和对象的已批准运维工单。"))
            .alias("ticket_zh"),
            pl.when(pl.col("ticket_note").is_not_null())
            .then(
                pl.format(
                    "No approved change ticket covers this time, account and objects (the account's nearest ticket: {}). ",
                    pl.col("ticket_note"),
                )
            )
            .otherwise(pl.lit("No approved change ticket covers this time, account and objects. "))
            .alias("ticket_en"),
            pl.when(off | risky).then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
            (0.6 + 0.2 * off.cast(pl.Float64) + 0.2 * risky.cast(pl.Float64)).alias("score"),
        )

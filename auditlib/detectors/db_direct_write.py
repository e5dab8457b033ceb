"""``db.direct_write``: a person's account changed a protected table, bypassing the application.

Protected tables (``db.protected_tables``: payments, indicators...) may change only
through the application, whose database accounts are ``db.app_users``. A successful
``INSERT``/``UPDATE``/``DELETE``/``TRUNCATE``/``MERGE``/``COPY ... FROM`` (pgAudit class
WRITE, MariaDB WRITE records) on a protected table by any other account is a finding,
one per statement (the records pgAudit writes per relation, or MariaDB's QUERY and
table records of one query, are one finding keyed by its first DB event). Target
tables come from ``object_name`` where the log has it, else from the SQL (sqlglot).

Must NOT fire: the application's own writes; reads; failed statements (the server
refused them: nothing changed); DBA work inside an approved change ticket's window on
the ticket's objects (``change_tickets``, empty objects = any) — reported only with
``report_covered``, as ``info`` naming the ticket. Worse: out of working time, or a mass
change (``TRUNCATE``, ``UPDATE``/``DELETE`` without ``WHERE``, more than ``mass_rows``
rows) → ``critical``.

Known false positives: emergency fixes done before their ticket was filed (the
explanation names the account's nearest ticket); a second application account missing
from ``db.app_users``.
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import (
    OFF_EN,
    OFF_ZH,
    WRITE_VERBS,
    add_statement_key,
    cover,
    first_by_time,
    no_findings,
    off_hours,
    prepare,
    prepared,
    settings_of,
    statement_text,
    value_mask,
    with_tables,
)
from auditlib.detectors.base import Detector, Param, Text
from auditlib.registry import register


@register
class DbDirectWrite(Detector):
    id = "db.direct_write"
    title = Text("绕过应用直接修改受保护表", "Direct write to a protected table")
    description = Text(
        "非应用数据库账号直接增删改受保护的业务表（支付、指标等），且无已批准运维工单覆盖。",
        "A database account other than the application's wrote to a protected business table "
        "(payments, indicators...) with no approved change ticket covering it.",
    )
    requires = ("db_audit",)
    optional = ("change_tickets",)
    entity = "db_user"
    severity = "high"
    params = (
        Param(
            "mass_rows",
            int,
            100,
            "Rows changed above which a direct write is a mass change.",
            min=1,
        ),
        Param(
            "report_covered", bool, False, "Also report writes covered by a change ticket, as info."
        ),
    )
    alert_title = Text(
        "直接修改受保护表：{entity_id} 对 {tables} 执行 {command}",
        "Direct write: {entity_id} ran {command} on {tables}",
    )
    alert_explanation = Text(
        "数据库账号 {entity_id} 于 {when}{off_zh} 从 {client} 直接对受保护表 {tables} 执行 {command}"
        "{rows_zh}{mass_zh}。该账号不是应用账号（{app_list}），受保护表只应经由应用修改。{ticket_zh}"
        "语句：{statement}",
        "Database account {entity_id} ran {command} directly on protected table(s) {tables} at "
        "{when}{off_en} from {client}{rows_en}{mass_en}. It is not an application account "
        "({app_list}); protected tables may change only through the application. {ticket_en}"
        "Statement: {statement}",
    )

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        app, protected, _ = settings_of(ctx)
        audit = tables["db_audit"]
        # the application's accounts left out first, per distinct account name: the other
        # columns are prepared for the other accounts' records only
        others = value_mask(audit, "db_user", lambda _: ~prepared("user").is_in(app))
        df = (
            prepare(audit.filter(others), ctx)
            .filter(
                pl.col("ok")
                & ~pl.col("user").is_in(app)
                & (pl.col("verb").is_in(WRITE_VERBS) | (pl.col("audit_class") == "WRITE"))
            )
            .collect()
        )
        if df.height == 0:
            return no_findings()
        df = with_tables(df, protected, need=pl.lit(True)).with_columns(
            pl.col("writes")
            .list.eval(pl.element().filter(pl.element().is_in(protected)))
            .alias("hit"),
            ref("db_audit", "event_id"),
        )
        df = add_statement_key(df.filter(pl.col("hit").list.len().max().over("user") > 0))
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
                pl.col("template").sort_by("event_time", "event_id").drop_nulls().first(),
                pl.coalesce(pl.col("verb").filter(has_stmt).first(), first_by_time("verb")).alias(
                    "command"
                ),
                pl.col("hit")
                .list.explode(keep_nulls=False, empty_as_null=False)
                .unique()
                .sort()
                .alias("tables"),
                pl.col("rows").max(),
                pl.col("ref").sort_by("event_time", "event_id").alias("evidence"),
            )
            .filter(pl.col("tables").list.len() > 0)
        )
        g = off_hours(cover(g, tables.get("change_tickets"), objects="tables"), ctx)
        no_where = pl.col("command").is_in(["UPDATE", "DELETE"]) & ~pl.col("template").fill_null(
            ""
        ).str.contains(r"\bwhere\b")
        mass = (
            (pl.col("command") == "TRUNCATE")
            | no_where
            | (pl.col("rows").fill_null(0) > self.mass_rows)
        )
        off = pl.col("off_kind").is_not_null()
        covered = pl.col("ticket_id").is_not_null()
        if not self.report_covered:
            g = g.filter(~covered)
        return g.select(
            "entity_id",
            "finding_key",
            "evidence",
            "event_time",
            "tables",
            "command",
            pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%S").alias("when"),
            pl.format(
                "{} ({})",
                pl.col("client_ip").fill_null("?"),
                pl.col("application_name").fill_null("—"),
            ).alias("client"),
            statement_text().alias("statement"),
            pl.lit(", ".join(app) or "—").alias("app_list"),
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
            pl.when(pl.col("rows").is_not_null())
            .then(pl.format("，影响 {} 行", pl.col("rows")))
            .otherwise(pl.lit(""))
            .alias("rows_zh"),
            pl.when(pl.col("rows").is_not_null())
            .then(pl.format(", {} row(s) affected", pl.col("rows")))
            .otherwise(pl.lit(""))
            .alias("rows_en"),
            pl.when(mass)
            .then(
                pl.format(
                    "（批量变更：TRUNCATE、无 WHERE 条件或超过 {} 行）", pl.lit(self.mass_rows)
                )
            )
            .otherwise(pl.lit(""))
            .alias("mass_zh"),
            pl.when(mass)
            .then(
                pl.format(
                    " (a mass change: TRUNCATE, no WHERE, or more than {} rows)",
                    pl.lit(self.mass_rows),
                )
            )
            .otherwise(pl.lit(""))
            .alias("mass_en"),
            pl.when(covered)
            .then(
                pl.format("该操作在已批准运维工单 {} 的时间窗口和对象范围内。", pl.col("ticket_id"))
            )
            .when(pl.col("ticket_note").is_not_null())
            .then(
                pl.format(
                    "没有覆盖该时间和对象的已批准运维工单（该账号最近的工单：{}）。",
                    pl.col("ticket_note"),
                )
            )
            .otherwise(pl.lit("没有覆盖该时间和对象的已批准运维工单。"))
            .alias("ticket_zh"),
            pl.when(covered)
            .then(
                pl.format(
                    "It falls inside approved change ticket {} (window and objects). ",
                    pl.col("ticket_id"),
                )
            )
            .when(pl.col("ticket_note").is_not_null())
            .then(
                pl.format(
                    "No approved change ticket covers this time and these objects (the account's nearest ticket: {}). ",
                    pl.col("ticket_note"),
                )
            )
            .otherwise(pl.lit("No approved change ticket covers this time and these objects. "))
            .alias("ticket_en"),
            pl.when(covered)
            .then(pl.lit("info"))
            .when(off | mass)
            .then(pl.lit("critical"))
            .otherwise(pl.lit("high"))
            .alias("severity"),
            pl.when(covered)
            .then(pl.lit(0.1))
            .otherwise(0.75 + 0.1 * off.cast(pl.Float64) + 0.15 * mass.cast(pl.Float64))
            .alias("score"),
        )

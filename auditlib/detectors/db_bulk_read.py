"""``db.bulk_read``: a sensitive table read in bulk (payees, persons: personal data).

A statement reading a ``db.sensitive_tables`` table is a bulk read when the log shows
at least ``min_rows`` rows returned (pgAudit ``log_rows``), or it is an export
(``COPY ... TO``, ``\\copy``, ``SELECT ... INTO OUTFILE``), or a ``SELECT *`` with neither
``WHERE`` nor ``LIMIT`` (the whole table). One finding per statement, keyed by its first
DB event; ``high`` out of working time or at ten times ``min_rows``, else ``medium``.

Must NOT fire: a routine read — the same account, kind of read (select or export) and
tables within an hour of the same time of day on at least ``routine_days`` days and on
at least ``routine_share`` of the days since it first ran (earlier days once there are
``routine_days`` of them; every other day of the log before that): the nightly ETL or
backup extract. Nor filtered or limited reads, failed statements, reads of other tables.

Known false positives: a new reporting job in its first days; a one-off sanctioned
extract (use the allowlist with the ticket as the reason).
"""

from __future__ import annotations

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import (
    OFF_EN,
    OFF_ZH,
    READ_VERBS,
    add_statement_key,
    day_hour,
    first_by_time,
    no_findings,
    off_hours,
    prepare,
    routine,
    settings_of,
    statement_text,
    with_tables,
)
from auditlib.detectors.base import Detector, Param, Text
from auditlib.registry import register


def all_of(col: str) -> pl.Expr:
    """The distinct items of a list column over a group, sorted."""
    return pl.col(col).list.explode(keep_nulls=False, empty_as_null=False).unique().sort()


def _only(col: str, names: list[str]) -> pl.Expr:
    return pl.col(col).list.eval(pl.element().filter(pl.element().is_in(names)))


@register
class DbBulkRead(Detector):
    id = "db.bulk_read"
    title = Text("敏感表批量读取", "Bulk read of a sensitive table")
    description = Text(
        "对敏感表（收款人、人员等）的大批量读取、全表 SELECT * 或 COPY 导出，且不是该账号的例行作业。",
        "A bulk read of a sensitive table (payees, persons): many rows, a whole-table "
        "SELECT * or a COPY export, that is not the account's routine job.",
    )
    requires = ("db_audit",)
    entity = "db_user"
    severity = "medium"
    params = (
        Param("min_rows", int, 10000, "Rows read at or above which a read is bulk.", min=1),
        Param(
            "routine_days",
            int,
            5,
            "Days with the same read at the same hour that make it routine.",
            min=2,
        ),
        Param(
            "routine_share",
            float,
            0.5,
            "Share of the days since it first ran on which a routine read runs, at least.",
            min=0.0,
            max=1.0,
        ),
    )
    alert_title = Text(
        "敏感表批量读取：{entity_id} 读取 {tables}",
        "Bulk read: {entity_id} read {tables}",
    )
    alert_explanation = Text(
        "数据库账号 {entity_id} 于 {when}{off_zh} 从 {client} 批量读取敏感表 {tables}：{why_zh}。"
        "该读取不是例行作业（同一账号同一时段的相同读取在其出现以来的 {active_days} 天中仅有 {seen_days} 天，"
        "例行需至少 {routine_days} 天且占 {routine_share:pct}）。语句：{statement}",
        "Database account {entity_id} read sensitive table(s) {tables} in bulk at {when}{off_en} "
        "from {client}: {why_en}. This is not a routine job (the same read at this hour on "
        "{seen_days} of the {active_days} days since it first appeared; routine needs {routine_days} "
        "days and {routine_share:pct}). Statement: {statement}",
    )

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        _, _, sensitive = settings_of(ctx)
        audit = prepare(tables["db_audit"], ctx)
        is_read = pl.col("verb").is_in(READ_VERBS) | (pl.col("audit_class") == "READ")
        obj = pl.col("object_name").str.to_lowercase().str.replace_all(r"[\"`]", "")
        obj = (
            pl.when(obj.str.contains(".", literal=True))
            .then(obj)
            .otherwise(pl.lit("public.") + obj)
        )
        df = audit.filter(
            pl.col("ok") & is_read & (pl.col("object_name").is_null() | obj.is_in(sensitive))
        ).collect()
        if df.height == 0 or not sensitive:
            return no_findings()
        df = with_tables(df, sensitive, need=pl.lit(True)).with_columns(
            _only("reads", sensitive).alias("hit"),
            _only("star", sensitive).alias("star_hit"),
            ref("db_audit", "event_id"),
        )
        df = add_statement_key(df.filter(pl.col("hit").list.len() > 0))
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
                all_of("hit").alias("tables"),
                all_of("star_hit").alias("star_tables"),
                pl.col("copy_to").any(),
                pl.col("rows").max(),
                pl.col("ref").sort_by("event_time", "event_id").alias("evidence"),
            )
            .with_columns(
                pl.when(pl.col("copy_to"))
                .then(pl.lit("export"))
                .otherwise(pl.lit("select"))
                .alias("kind"),
                pl.col("tables").list.join(",").alias("okey"),
                *day_hour(),
            )
        )
        many = pl.col("rows").fill_null(0) >= self.min_rows
        whole = pl.col("star_tables").list.len() > 0
        bulk = g.filter(many | whole | pl.col("copy_to"))
        if bulk.height == 0:
            return no_findings()
        active = audit.select(pl.col("event_time").dt.date().alias("day")).unique().collect()
        bulk = routine(
            bulk,
            g.select("user", "kind", "okey", "day", "hour"),
            active,
            ["kind", "okey"],
            min_days=self.routine_days,
            share=self.routine_share,
        ).filter(~pl.col("routine"))
        bulk = off_hours(bulk, ctx)
        off = pl.col("off_kind").is_not_null()
        huge = pl.col("rows").fill_null(0) >= 10 * self.min_rows
        why_zh = pl.concat_str(
            pl.when(many).then(
                pl.format("返回 {} 行（阈值 {} 行）", pl.col("rows"), pl.lit(self.min_rows))
            ),
            pl.when(pl.col("copy_to")).then(pl.lit("COPY/导出到文件或客户端")),
            pl.when(whole).then(pl.lit("无 WHERE、无 LIMIT 的 SELECT *（整表读取）")),
            separator="；",
            ignore_nulls=True,
        )
        why_en = pl.concat_str(
            pl.when(many).then(
                pl.format("{} rows returned (threshold {})", pl.col("rows"), pl.lit(self.min_rows))
            ),
            pl.when(pl.col("copy_to")).then(pl.lit("a COPY/export to a file or the client")),
            pl.when(whole).then(pl.lit("a SELECT * with no WHERE and no LIMIT (the whole table)")),
            separator="; ",
            ignore_nulls=True,
        )
        return bulk.select(
            "entity_id",
            "finding_key",
            "evidence",
            "event_time",
            "tables",
            "seen_days",
            "active_days",
            pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%S").alias("when"),
            pl.format(
                "{} ({})",
                pl.col("client_ip").fill_null("?"),
                pl.col("application_name").fill_null("—"),
            ).alias("client"),
            statement_text().alias("statement"),
            why_zh.alias("why_zh"),
            why_en.alias("why_en"),
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
            pl.when(off | huge).then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
            (
                0.55
                + 0.15 * many.cast(pl.Float64)
                + 0.1 * pl.col("copy_to").cast(pl.Float64)
                + 0.1 * off.cast(pl.Float64)
                + 0.1 * huge.cast(pl.Float64)
            )
            .clip(0, 1)
            .alias("score"),
        )

"""``xcheck.unexplained_write``: data changed with no business operation (数据变更无对应业务操作).

The heart of the "double insurance" (双保险): every successful write by an application
account (``db.app_users``) to a protected table (``db.protected_tables``) should be the
trace of a business operation. A write is matched to the business log by the *object*:
a business object id (voucher, indicator number) found in the statement text or its
bound parameters — tokens of the shapes the business log's ids have, joined to the set
of its ids — with a successful business operation on that object (log-ins, users,
reports and configuration are not data objects) within ``tolerance_seconds``. One
finding per unmatched statement, keyed by its first DB event:

- the object has business events, none near this write → ``high``;
- the object id (an id of the shape the business log uses) never appears in the
  business log → ``high``;
- ``critical`` for either out of working time;
- no business object id in the statement at all → ``medium``, and only when no business
  event of the table's kind (learned from the matched writes: payment → voucher) happened
  within the tolerance, and the statement is not the account's routine job (same
  template within an hour of the same time on ``routine_days`` days and on
  ``routine_share`` of the days since it first ran: the nightly status sync).

Only writes inside the business log's time span (± tolerance) are judged; when fewer
than ``min_link_rate`` of at least 20 judged writes have their business operation (the
two logs' clocks out of step, no ids anywhere), the detector stays silent rather than
flag every write. Must NOT
fire: the application's own writes with their business events (draft, modify, approve,
cancel); writes by other accounts (``db.direct_write``); reads; failed statements.

Known false positives: application jobs that change records without logging a business
event; clocks of the two logs out of step by more than the tolerance.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import (
    GENERIC_ID,
    day_hour,
    id_pattern,
    id_shapes,
    id_tokens,
    no_findings,
    off_hours,
    routine,
    settings_of,
    statement_text,
    with_table_columns,
    with_template,
)
from auditlib.detectors._xcheck import (
    audit_at,
    business,
    business_at,
    details,
    evidence,
    gap_text,
    money_text,
    span,
    write_statements,
)
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import action_name
from auditlib.registry import register
from auditlib.schemas import TABLES


@register
class XcheckUnexplainedWrite(Detector):
    id = "xcheck.unexplained_write"
    title = Text("数据变更无对应业务操作", "Data changed without a business operation")
    description = Text(
        "应用账号对受保护表的写入在业务日志中找不到同一对象、时间相近的业务操作（业务审计与数据库审计双保险比对）。",
        "A write by the application account to a protected table has no business operation "
        "on the same object near that time (business audit vs database audit cross-check).",
    )
    requires = ("db_audit", "business_log")
    optional = ("payments",)
    entity = "object"
    severity = "high"
    params = (
        Param(
            "tolerance_seconds",
            int,
            300,
            "Seconds between a write and its business event at most.",
            min=0,
        ),
        Param(
            "routine_days",
            int,
            5,
            "Days with the same id-less statement at the same hour that make it routine.",
            min=2,
        ),
        Param(
            "routine_share",
            float,
            0.5,
            "Share of the days since it first ran on which a routine statement runs, at least.",
            min=0.0,
            max=1.0,
        ),
        Param(
            "min_link_rate",
            float,
            0.5,
            "Share of writes with their business operation below which the logs are taken as "
            "unlinkable (clocks out of step, no ids): silent rather than flag every write.",
            min=0.0,
            max=1.0,
        ),
    )
    alert_title = Text(
        "数据变更无对应业务操作：{entity_id}（{command} {tables}）",
        "Data changed without a business operation: {entity_id} ({command} {tables})",
    )
    alert_explanation = Text(
        "应用账号 {db_user} 于 {when}{off_zh} 对受保护表 {tables} 执行 {command}{objects_zh}，"
        "但业务日志中前后 {tolerance_seconds:int} 秒内没有{what_zh}的业务操作{nearest_zh}。"
        "数据变更无对应业务操作：可能有人使用应用账号绕过业务流程直接改库。{amount_zh}语句：{statement}",
        "Application account {db_user} ran {command} on protected table(s) {tables} at {when}{off_en}"
        "{objects_en}, but the business log has no operation on {what_en} within "
        "{tolerance_seconds:int} seconds{nearest_en}. Data changed without a business operation: "
        "someone may have used the application account to change the database directly, "
        "bypassing the business process. {amount_en}Statement: {statement}",
    )

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        app, protected, _ = settings_of(ctx)
        tol = pl.duration(seconds=self.tolerance_seconds)
        b0, b1 = span(tables["business_log"])
        # every account's writes (shared with the other xcheck.* detectors); the statements
        # judged are the application's writing protected tables (``tabs``), inside the
        # business log's span. Only their keys and times are copied: the wide columns are
        # joined to the statements left unexplained
        audit = tables["db_audit"]
        rows, every = write_statements(audit, ctx)
        if b0 is None or every.height == 0:
            return no_findings()
        tabs = self._tables(rows, audit, app, protected)
        stm = (
            every.select("stmt", "db_time")
            .join(tabs.select("stmt"), on="stmt", how="semi")
            .filter(pl.col("db_time").is_between(b0 - tol, b1 + tol))
        )
        # the business events, narrow: row (``_b``), time and object; the other columns are
        # read for the events an explanation names only
        log = tables["business_log"]
        biz = (
            business(log.with_row_index("_b"), ctx)
            .select("_b", pl.col("event_time").alias("biz_time"), "object_id")
            .collect()
        )
        if stm.height == 0:
            return no_findings()
        # business object ids in the statements: the ids' shapes are computed once, and the
        # statements are read once when the shapes with a non-digit (ids the business log
        # could have named) are all the shapes (the usual case)
        biz_ids = biz.select("object_id").unique()
        shapes = id_shapes(biz_ids["object_id"], distinct=True)
        pattern = id_pattern(shapes)
        pat = id_pattern(shapes.filter(shapes.str.contains(r"[^\x00]")))

        def tokens(rx: str | None) -> pl.DataFrame:
            if rx is None:
                return pl.DataFrame(schema={"stmt": stm.schema["stmt"], "object_id": pl.String})
            return id_tokens(every, rx).join(stm, on="stmt", how="semi")

        found = tokens(pattern)
        # statements are numbered densely (``stmt``): their times and whether each is
        # matched are arrays indexed by number, read by a gather instead of hash joins
        size = int(every["stmt"].max()) + 1
        at = pl.repeat(None, size, dtype=stm.schema["db_time"], eager=True).alias("db_time")
        at = at.scatter(stm["stmt"], stm["db_time"])
        linked = found.join(biz_ids, on="object_id", how="semi")
        # (a null time: a statement outside the judged ones, ``stm``)
        pairs = linked.with_columns(at.gather(linked["stmt"])).drop_nulls("db_time")
        gap = (pl.col("biz_time") - pl.col("db_time")).abs().alias("gap")
        hit = np.zeros(size, dtype=bool)
        hit[pairs.join(biz, on="object_id").filter(gap <= tol)["stmt"].to_numpy()] = True
        unmatched = ~pl.lit(pl.Series(hit)).gather(pl.col("stmt"))
        near = pairs.filter(unmatched).join(biz, on="object_id")
        cols = ("event_id", "action", "unit_id")
        nearest = (  # for the explanation: only the statements left unmatched
            near.with_columns(*business_at(log, near["_b"], ctx).select(cols).get_columns(), gap)
            .rename({"event_id": "biz_event"})
            .sort("gap", "biz_event")
            .group_by("stmt")
            .first()
            .select("stmt", "biz_time", "action", "unit_id", "gap")
        )
        del near
        # the ids of the statements left unmatched (only those are reported)
        known = (
            pairs.filter(unmatched)
            .group_by("stmt")
            .agg(pl.col("object_id").unique().sort().alias("ids"))
        )
        # object ids of the business log's shape that the business log never names
        shaped = (
            found.head(0) if pat in (None, GENERIC_ID) else found if pat == pattern else tokens(pat)
        )
        unknown = (
            shaped.filter(unmatched)
            .join(biz_ids, on="object_id", how="anti")
            .group_by("stmt")
            .agg(pl.col("object_id").unique().sort().alias("unknown"))
        )
        out = (
            details(
                stm.filter(unmatched).join(every.drop("db_time"), on="stmt"),
                audit,
            )
            .join(tabs, on="stmt")
            .join(known, on="stmt", how="left")
            .join(unknown, on="stmt", how="left")
            .join(nearest, on="stmt", how="left")
            .with_columns(
                pl.when(pl.col("ids").list.len() > 0)
                .then(pl.lit("known"))
                .when(pl.col("unknown").list.len() > 0)
                .then(pl.lit("unknown"))
                .otherwise(pl.lit("noid"))
                .alias("kind"),
            )
        )
        out = pl.concat(
            [
                out.filter(pl.col("kind") != "noid"),
                self._idless(out, every, audit, tabs, pairs, lambda: self._biz(log, ctx)),
            ],
            how="diagonal_relaxed",
        )
        if out.height == 0 or (
            stm.height >= 20 and 1 - out.height / stm.height < self.min_link_rate
        ):
            return no_findings()  # nothing unexplained, or the logs cannot be linked at all
        out = evidence(off_hours(out.rename({"db_time": "event_time"}), ctx), rows, audit)
        pay = (
            tables["payments"]
            if "payments" in tables
            else TABLES["payments"].empty(ctx.timezone).lazy()
        )
        ent = pl.coalesce(
            pl.col("ids").list.first(),
            pl.col("unknown").list.first(),
            pl.col("tables").list.first(),
        )
        out = out.with_columns(ent.alias("entity_id")).join(
            pay.select(
                pl.col("voucher_id").alias("entity_id"),
                pl.col("amount"),
                pl.col("unit_id").alias("p_unit"),
                ref("payments", "voucher_id").alias("p_ref"),
            ).collect(),
            on="entity_id",
            how="left",
        )
        off = pl.col("off_kind").is_not_null()
        kind = pl.col("kind")
        objs = pl.concat_list(
            pl.col("ids").fill_null([]), pl.col("unknown").fill_null([])
        ).list.join("、")
        objs_en = pl.concat_list(
            pl.col("ids").fill_null([]), pl.col("unknown").fill_null([])
        ).list.join(", ")
        return out.select(
            "entity_id",
            pl.col("db_event").alias("finding_key"),
            "event_time",
            "db_user",
            "command",
            "tables",
            "amount",
            pl.when(pl.col("p_ref").is_not_null())
            .then(pl.concat_list("evidence", pl.col("p_ref")))
            .otherwise(pl.col("evidence"))
            .alias("evidence"),
            pl.coalesce("p_unit", "unit_id").alias("unit_id"),
            pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%S").alias("when"),
            statement_text().alias("statement"),
            pl.when(off).then(pl.lit("（非工作时间）")).otherwise(pl.lit("")).alias("off_zh"),
            pl.when(off)
            .then(pl.lit(" (out of working time)"))
            .otherwise(pl.lit(""))
            .alias("off_en"),
            pl.when(kind == "noid")
            .then(pl.lit("（语句中无可识别的业务对象编号）"))
            .otherwise(pl.format("（涉及对象 {}）", objs))
            .alias("objects_zh"),
            pl.when(kind == "noid")
            .then(pl.lit(" (no business object id in the statement)"))
            .otherwise(pl.format(" (object(s) {})", objs_en))
            .alias("objects_en"),
            pl.when(kind == "noid")
            .then(pl.lit("同类对象"))
            .otherwise(pl.lit("该对象"))
            .alias("what_zh"),
            pl.when(kind == "noid")
            .then(pl.lit("any object of that kind"))
            .otherwise(pl.lit("that object"))
            .alias("what_en"),
            pl.when(kind == "known")
            .then(
                pl.format(
                    "（该对象最近的业务操作：{} 于 {}，相差 {}）",
                    action_name(pl.col("action"), "zh"),
                    pl.col("biz_time").dt.strftime("%Y-%m-%d %H:%M:%S"),
                    gap_text("gap", "zh"),
                )
            )
            .when(kind == "unknown")
            .then(pl.lit("（业务日志中从未出现该对象）"))
            .otherwise(pl.lit(""))
            .alias("nearest_zh"),
            pl.when(kind == "known")
            .then(
                pl.format(
                    " (its nearest business operation: {} at {}, {} away)",
                    action_name(pl.col("action"), "en"),
                    pl.col("biz_time").dt.strftime("%Y-%m-%d %H:%M:%S"),
                    gap_text("gap", "en"),
                )
            )
            .when(kind == "unknown")
            .then(pl.lit(" (the business log never names that object)"))
            .otherwise(pl.lit(""))
            .alias("nearest_en"),
            pl.when(pl.col("amount").is_not_null())
            .then(pl.format("凭证金额 {} 元。", money_text("amount")))
            .otherwise(pl.lit(""))
            .alias("amount_zh"),
            pl.when(pl.col("amount").is_not_null())
            .then(pl.format("Voucher amount {} yuan. ", money_text("amount")))
            .otherwise(pl.lit(""))
            .alias("amount_en"),
            pl.when(kind == "noid")
            .then(pl.lit("medium"))
            .when(off)
            .then(pl.lit("critical"))
            .otherwise(pl.lit("high"))
            .alias("severity"),
            pl.when(kind == "noid")
            .then(pl.lit(0.6))
            .when(kind == "unknown")
            .then(pl.lit(0.9))
            .otherwise(pl.lit(0.85))
            .alias("score"),
        )

    @staticmethod
    def _tables(
        rows: pl.DataFrame, audit: pl.LazyFrame, app: list[str], protected: list[str]
    ) -> pl.DataFrame:
        """``(stmt, tables)``: the protected tables each statement of the accounts ``app``
        writes (sorted, distinct; statements writing none left out). Tables are worked out
        per distinct (object name, verb, class, template...) and a statement's records
        mostly name the same ones: lists are built per distinct set, not per record."""
        mine = rows.filter(pl.col("user").is_in(app)).select("stmt", "single", "_r", "statement")
        cols = ("object_name", "verb", "audit_class", "dialect", "database")
        mine = mine.with_columns(audit_at(audit, mine["_r"], *cols).get_columns()).drop("_r")
        hit = (
            pl.col("writes")
            .list.eval(pl.element().filter(pl.element().is_in(protected)))
            .list.unique()
            .list.sort()
            .list.join("\x1f")
            .alias("_hk")
        )
        r = (
            with_table_columns(mine, protected, hit)
            .select("stmt", "single", "_hk")
            .filter(pl.col("_hk") != "")
        )
        split = pl.col("_hk").str.split("\x1f")
        one = r.filter(pl.col("single")).select("stmt", "_hk")
        lists = one.select("_hk").unique().with_columns(split.alias("tables"))
        out = one.join(lists, on="_hk", how="left").select("stmt", "tables")
        many = r.filter(~pl.col("single"))
        if many.height:
            many = many.group_by("stmt").agg(split.explode().unique().sort().alias("tables"))
            out = pl.concat([out, many])
        return out

    @staticmethod
    def _biz(log: pl.LazyFrame, ctx) -> pl.DataFrame:
        return (
            business(log, ctx)
            .select(
                pl.col("event_id").alias("biz_event"),
                pl.col("event_time").alias("biz_time"),
                "action",
                "object_type",
                "object_id",
                "unit_id",
            )
            .collect()
        )

    def _idless(self, out, every, audit, tabs, pairs, wide) -> pl.DataFrame:
        """Writes naming no business object: kept when no business event of the table's kind
        is near and the statement is not the account's routine (``every``: all accounts'
        statements, ``tabs``: the tables of those judged)."""
        idless = out.filter(pl.col("kind") == "noid")
        if idless.height == 0:
            return idless
        stm = details(every.join(tabs, on="stmt"), audit)  # history, for routine statements
        biz = wide()
        kinds = (
            pairs.join(tabs.select("stmt", pl.col("tables").list.first().alias("table")), on="stmt")
            .join(biz.select("object_id", "object_type").unique("object_id"), on="object_id")
            .group_by("table", "object_type")
            .len()
            .sort("len", "object_type", descending=[True, False])
            .unique("table", keep="first")
            .select("table", "object_type")
        )
        tol = pl.duration(seconds=self.tolerance_seconds)
        idless = idless.with_columns(pl.col("tables").list.first().alias("table")).join(
            kinds, on="table", how="left"
        )
        busy = (
            (
                idless.select("stmt", "db_time", "object_type")
                .join(biz.select(pl.col("object_type").alias("bt"), "biz_time"), how="cross")
                .filter(
                    (pl.col("object_type").is_null() | (pl.col("object_type") == pl.col("bt")))
                    & ((pl.col("biz_time") - pl.col("db_time")).abs() <= tol)
                )
                .select("stmt")
                .unique()
            )
            if biz.height * idless.height <= 5_000_000
            else self._busy_asof(idless, biz, dt.timedelta(seconds=self.tolerance_seconds))
        )
        idless = with_template(
            idless.join(busy, on="stmt", how="anti").with_columns(*day_hour("db_time"))
        )
        # the same statement on other days: only statements of the same kind need reading
        same = stm.join(
            idless.select("user", "command", "tables").unique(),
            on=["user", "command", "tables"],
            how="semi",
        )
        history = with_template(same).select("user", "template", *day_hour("db_time"))
        active = stm.select(pl.col("db_time").dt.date().alias("day")).unique()
        idless = routine(
            idless,
            history,
            active,
            ["template"],
            min_days=self.routine_days,
            share=self.routine_share,
        )
        return idless.filter(~pl.col("routine")).drop(
            "routine", "seen_days", "active_days", "day", "hour", "table", "object_type"
        )

    @staticmethod
    def _busy_asof(idless: pl.DataFrame, biz: pl.DataFrame, tol) -> pl.DataFrame:
        """Large inputs: any business event near each write (kind ignored), by an as-of join."""
        left = idless.select("stmt", "db_time").sort("db_time")
        right = biz.select(pl.col("biz_time")).sort("biz_time")
        return (
            left.join_asof(
                right, left_on="db_time", right_on="biz_time", strategy="nearest", tolerance=tol
            )
            .filter(pl.col("biz_time").is_not_null())
            .select("stmt")
        )

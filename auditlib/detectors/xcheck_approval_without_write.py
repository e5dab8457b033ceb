"""``xcheck.approval_without_write``: a business operation that never reached the database.

The other half of the "double insurance": a successful ``voucher_approve`` (and
``voucher_create``, ``indicator_adjust``: the ``actions`` parameter) in the business
log must leave a database write on the same object — its voucher or indicator number
in the text or the bound parameters of an ``INSERT``/``UPDATE``/``DELETE``/``MERGE``
by any account — within ``tolerance_seconds``. One finding per business event with
none (keyed by it): ``high`` for an approval, ``medium`` otherwise. A business log
claiming approvals the database never saw is forged, or the database audit is missing
records.

Judged only where the DB log covers the time: business events between the first and
last DB audit event (less the tolerance). When the logs cannot be linked at all — fewer
than ``min_link_rate`` of at least 20 such business events have a write (the DB log
does not show object ids: bound parameters not logged, or surrogate keys) — the detector
stays silent rather than flag every event.

Must NOT fire: business events with their writes; failed business events; events
outside the DB log's span; other actions (log-ins, exports).

Known false positives: an approval the application records only in a table whose
statements carry another key (an approval-flow table keyed by a flow number).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import fmt_time, no_findings
from auditlib.detectors._xcheck import (
    OBJECT_ZH,
    business,
    business_at,
    gap_text,
    links,
    money_text,
    span,
    write_statements,
)
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import action_name
from auditlib.registry import register
from auditlib.schemas import TABLES


@register
class XcheckApprovalWithoutWrite(Detector):
    id = "xcheck.approval_without_write"
    title = Text("业务操作无对应数据库写入", "Business operation without a database write")
    description = Text(
        "业务日志中的审核、制单、指标调整在数据库审计日志中找不到同一对象、时间相近的写入。",
        "An approval, voucher draft or indicator adjustment in the business log has no "
        "database write on the same object near that time.",
    )
    requires = ("business_log", "db_audit")
    optional = ("payments",)
    entity = "object"
    severity = "high"
    params = (
        Param(
            "tolerance_seconds",
            int,
            300,
            "Seconds between a business event and its write at most.",
            min=0,
        ),
        Param(
            "actions",
            tuple,
            ("voucher_approve", "voucher_create", "indicator_adjust"),
            "Business actions that must leave a database write.",
        ),
        Param(
            "min_link_rate",
            float,
            0.5,
            "Share of business events with a write below which the logs "
            "are taken as unlinkable (silent).",
            min=0.0,
            max=1.0,
        ),
    )
    alert_title = Text(
        "业务操作无数据库写入：{object_zh} {entity_id} {action_zh}",
        "Business operation without a database write: {action_en}, {object_en} {entity_id}",
    )
    alert_explanation = Text(
        "业务日志记录操作员 {user_id} 于 {when} 对{object_zh} {entity_id} 执行“{action_zh}”（日志 {biz_event}），"
        "但数据库审计日志在前后 {tolerance_seconds:int} 秒内没有任何涉及该对象的写入{nearest_zh}。"
        "数据库日志覆盖 {db_from} 至 {db_to}，本期同类业务事件中 {link_rate:pct} 能找到对应写入。"
        "业务操作未落库：业务日志可能被伪造，或数据库审计记录缺失。{amount_zh}",
        "The business log records '{action_en}' for {object_en} {entity_id} by user {user_id} at "
        "{when} (event {biz_event}), but the database audit log has no write on that object within "
        "{tolerance_seconds:int} seconds{nearest_en}. The DB log covers {db_from} to {db_to}; "
        "{link_rate:pct} of such business events in the period have their write. The operation "
        "never reached the database: the business log may be forged, or DB audit records are "
        "missing. {amount_en}",
    )

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        tol = pl.duration(seconds=self.tolerance_seconds)
        d0, d1 = span(tables["db_audit"])
        if d0 is None:
            return no_findings()
        # the business events judged, narrow: row (``_b``), time and object; the other
        # columns are read for the events reported only
        log = tables["business_log"]
        biz = (
            business(log.with_row_index("_b"), ctx, self.actions)
            .filter(pl.col("event_time").is_between(d0 + tol, d1 - tol))
            .select("_b", pl.col("event_time").alias("biz_time"), "object_id")
            .collect()
        )
        if biz.height == 0:
            return no_findings()
        _, stm = write_statements(tables["db_audit"], ctx)
        pairs = links(stm, biz).join(stm.select("stmt", "db_time"), on="stmt")
        near = biz.join(pairs, on="object_id", how="left").with_columns(
            (pl.col("db_time") - pl.col("biz_time")).abs().alias("gap")
        )
        # matched events as flags indexed by business-log row (a gather, not a unique of
        # millions of rows and anti joins)
        hit = np.zeros(int(biz["_b"].max()) + 1, dtype=bool)
        hit[near.filter(pl.col("gap") <= tol)["_b"].to_numpy()] = True
        matched = pl.lit(pl.Series(hit)).gather(pl.col("_b"))
        rate = int(hit.sum()) / biz.height
        if biz.height >= 20 and rate < self.min_link_rate:
            return no_findings()
        nearest = (  # for the explanation: only the business events left unmatched
            near.filter(pl.col("gap").is_not_null() & ~matched)
            .sort("gap", "db_time")  # ties: the earlier write
            .group_by("_b")
            .agg(pl.col("db_time").first().alias("near_time"), pl.col("gap").first())
        )
        del near
        out = biz.filter(~matched)
        if out.height == 0:
            return no_findings()
        cols = ("event_id", "user_id", "action", "object_type", "unit_id")
        out = (
            out.with_columns(business_at(log, out["_b"], ctx).select(cols).get_columns())
            .rename({"event_id": "biz_event"})
            .join(nearest, on="_b", how="left")
        )
        pay = (
            tables["payments"]
            if "payments" in tables
            else TABLES["payments"].empty(ctx.timezone).lazy()
        )
        out = out.join(
            pay.select(
                pl.col("voucher_id").alias("object_id"),
                "amount",
                pl.col("unit_id").alias("p_unit"),
                ref("payments", "voucher_id").alias("p_ref"),
            ).collect(),
            on="object_id",
            how="left",
        )
        approve = pl.col("action") == "voucher_approve"
        otype = pl.col("object_type").fill_null("object")
        return out.select(
            pl.col("object_id").alias("entity_id"),
            pl.col("biz_event").alias("finding_key"),
            pl.concat_list(ref("business_log", "biz_event").alias("b"), pl.col("p_ref"))
            .list.drop_nulls()
            .alias("evidence"),
            pl.col("biz_time").alias("event_time"),
            pl.coalesce("unit_id", "p_unit").alias("unit_id"),
            "amount",
            "user_id",
            "biz_event",
            pl.lit(rate).alias("link_rate"),
            pl.lit(fmt_time(d0)).alias("db_from"),
            pl.lit(fmt_time(d1)).alias("db_to"),
            pl.col("biz_time").dt.strftime("%Y-%m-%d %H:%M:%S").alias("when"),
            action_name(pl.col("action"), "zh").alias("action_zh"),
            action_name(pl.col("action"), "en").alias("action_en"),
            otype.replace_strict(OBJECT_ZH, default="对象").alias("object_zh"),
            otype.alias("object_en"),
            pl.when(pl.col("gap").is_not_null())
            .then(
                pl.format(
                    "（该对象最近的写入在 {}，相差 {}）",
                    pl.col("near_time").dt.strftime("%Y-%m-%d %H:%M:%S"),
                    gap_text("gap", "zh"),
                )
            )
            .otherwise(pl.lit("（数据库日志中从未出现该对象）"))
            .alias("nearest_zh"),
            pl.when(pl.col("gap").is_not_null())
            .then(
                pl.format(
                    " (its nearest write: {}, {} away)",
                    pl.col("near_time").dt.strftime("%Y-%m-%d %H:%M:%S"),
                    gap_text("gap", "en"),
                )
            )
            .otherwise(pl.lit(" (the DB log never names that object)"))
            .alias("nearest_en"),
            pl.when(pl.col("amount").is_not_null())
            .then(pl.format("凭证金额 {} 元。", money_text("amount")))
            .otherwise(pl.lit(""))
            .alias("amount_zh"),
            pl.when(pl.col("amount").is_not_null())
            .then(pl.format("Voucher amount {} yuan.", money_text("amount")))
            .otherwise(pl.lit(""))
            .alias("amount_en"),
            pl.when(approve).then(pl.lit("high")).otherwise(pl.lit("medium")).alias("severity"),
            pl.when(approve).then(pl.lit(0.85)).otherwise(pl.lit(0.7)).alias("score"),
        )

"""``xcheck.value_mismatch``: the database got a different value than the business approved.

A ``*_modify`` business event whose ``detail`` logs the ``field`` and its ``new`` value
(``voucher_modify`` of ``payee_account`` to ``6222...``) is compared with the UPDATE that
wrote it: an UPDATE of the same object (its id in the statement or parameters) within
``tolerance_seconds`` whose SET clause assigns the column named like the field. The SET
value is read with sqlglot: a literal, or a bound parameter (``$n``, ``?``) with the
value pgAudit logged (``log_parameter``). One finding per business event when no such
UPDATE wrote its value, against the nearest UPDATE whose value matches no business
``new`` of that object and field nearby; keyed by the business and DB events. ``high``;
``amount`` is the difference when the field is an amount.

Values compare as numbers when both are (``1,200.50`` = ``1200.5``), else as text after
NFKC with spaces removed. Must NOT fire: the write of the approved value; two quick
modifications of one field (each value written); SET values the log does not show
(expressions, parameters not logged); fields with no column of that name.

Known false positives: the application transforming a value before storing it (codes
for names, cents for yuan); fields whose column has another name (not compared: a
field-to-column mapping would help).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import no_findings, statement_text, value_mask
from auditlib.detectors._xcheck import (
    OBJECT_ZH,
    business,
    details,
    evidence,
    links,
    same_value,
    set_values,
    write_statements,
)
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import action_key, json_field
from auditlib.registry import register

AMOUNT_FIELD = r"(?i)amount|amt|money|金额"


def _diff(a: str | None, b: str | None) -> Decimal | None:
    try:
        return abs(Decimal(str(a).replace(",", "")) - Decimal(str(b).replace(",", "")))
    except (InvalidOperation, TypeError):
        return None


@register
class XcheckValueMismatch(Detector):
    id = "xcheck.value_mismatch"
    title = Text("数据库写入值与业务审批值不一致", "Value written differs from the value approved")
    description = Text(
        "业务日志记录的修改新值与数据库同一对象 UPDATE 语句写入的值不一致。",
        "The new value a business modification logged differs from the value the database "
        "UPDATE of the same object wrote.",
    )
    requires = ("business_log", "db_audit")
    entity = "object"
    severity = "high"
    params = (
        Param(
            "tolerance_seconds",
            int,
            300,
            "Seconds between a modification and its UPDATE at most.",
            min=0,
        ),
    )
    alert_title = Text(
        "写入值与审批值不一致：{object_zh} {entity_id} 的 {field}",
        "Value mismatch: {field} of {object_en} {entity_id}",
    )
    alert_explanation = Text(
        "业务日志 {biz_event} 记录操作员 {user_id} 于 {biz_when} 将{object_zh} {entity_id} 的 {field} 由 {old} 改为 {new}，"
        "但数据库账号 {db_user} 于 {db_when}（相差 {gap_s:int} 秒）写入的 {field} 为 {db_value}。"
        "数据库中的值与业务审批的值不一致{diff_zh}。语句：{statement}",
        "Business event {biz_event}: user {user_id} changed {field} of {object_en} {entity_id} from "
        "{old} to {new} at {biz_when}, but database account {db_user} wrote {field} = {db_value} at "
        "{db_when} ({gap_s:int} seconds apart). The database holds a value other than the one "
        "approved{diff_en}. Statement: {statement}",
    )

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        tol = pl.duration(seconds=self.tolerance_seconds)
        log = tables["business_log"]
        modify = lambda a: action_key(a).str.ends_with("_modify")  # noqa: E731
        biz = (
            business(log.filter(value_mask(log, "action", modify)), ctx)
            .select(
                pl.col("event_id").alias("biz_event"),
                pl.col("event_time").alias("biz_time"),
                "user_id",
                "object_type",
                "object_id",
                "unit_id",
                json_field(pl.col("detail"), "field", "字段", "column")
                .str.to_lowercase()
                .alias("field"),
                json_field(pl.col("detail"), "old", "old_value", "原值", "before").alias("old"),
                json_field(pl.col("detail"), "new", "new_value", "新值", "after").alias("new"),
            )
            .filter(pl.col("field").is_not_null() & pl.col("new").is_not_null())
            .collect()
        )
        if biz.height == 0:
            return no_findings()
        audit = tables["db_audit"]
        wrows, stm = write_statements(audit, ctx, verbs=("UPDATE",))
        stm = details(stm, audit).filter(pl.col("command") == "UPDATE")
        pairs = links(stm, biz).join(stm, on="stmt")
        cand = (
            pairs.join(biz, on="object_id")
            .with_columns((pl.col("db_time") - pl.col("biz_time")).abs().alias("gap"))
            .filter(pl.col("gap") <= tol)
        )
        if cand.height == 0:
            return no_findings()
        values = {
            k: set_values(*k)
            for k in cand.select("statement", "parameter", "dialect").unique().iter_rows()
            if k[0] is not None
        }
        got = [
            values.get((s, p, d), {})
            for s, p, d in cand.select("statement", "parameter", "dialect").iter_rows()
        ]
        fields = cand["field"].to_list()
        cand = cand.with_columns(
            pl.Series("visible", [f in g for f, g in zip(fields, got, strict=True)], pl.Boolean),
            pl.Series("db_value", [g.get(f) for f, g in zip(fields, got, strict=True)], pl.String),
        ).filter(pl.col("visible"))
        if cand.height == 0:
            return no_findings()
        rows = cand.to_dicts()
        allowed: dict[tuple[str, str], list[str]] = {}
        for r in rows:
            allowed.setdefault((r["stmt"], r["field"]), []).append(r["new"])
        done = {r["biz_event"] for r in rows if same_value(r["db_value"], r["new"])}
        found: dict[str, dict] = {}
        for r in sorted(rows, key=lambda r: (r["gap"], r["db_time"], r["db_event"])):
            if r["biz_event"] in done or r["biz_event"] in found:
                continue
            if any(same_value(r["db_value"], v) for v in allowed[(r["stmt"], r["field"])]):
                continue
            found[r["biz_event"]] = r
        if not found:
            return no_findings()
        out = evidence(pl.DataFrame(list(found.values()), schema=cand.schema), wrows, audit)
        diffs = [
            _diff(r["db_value"], r["new"]) if re.search(AMOUNT_FIELD, r["field"]) else None
            for r in found.values()
        ]
        otype = pl.col("object_type").fill_null("object")
        return out.with_columns(pl.Series("amount", diffs, pl.Decimal(18, 2))).select(
            pl.col("object_id").alias("entity_id"),
            pl.format("{}|{}", pl.col("biz_event"), pl.col("db_event")).alias("finding_key"),
            pl.concat_list(ref("business_log", "biz_event").alias("b"), pl.col("evidence")).alias(
                "evidence"
            ),
            pl.min_horizontal("biz_time", "db_time").alias("event_time"),
            "unit_id",
            "amount",
            "biz_event",
            "user_id",
            "db_user",
            "field",
            pl.col("old").fill_null("—"),
            "new",
            pl.col("db_value").fill_null("NULL"),
            pl.col("gap").dt.total_seconds().alias("gap_s"),
            pl.col("biz_time").dt.strftime("%Y-%m-%d %H:%M:%S").alias("biz_when"),
            pl.col("db_time").dt.strftime("%Y-%m-%d %H:%M:%S").alias("db_when"),
            otype.replace_strict(OBJECT_ZH, default="对象").alias("object_zh"),
            otype.alias("object_en"),
            pl.when(pl.col("amount").is_not_null())
            .then(pl.format("，相差 {} 元", pl.col("amount")))
            .otherwise(pl.lit(""))
            .alias("diff_zh"),
            pl.when(pl.col("amount").is_not_null())
            .then(pl.format(" by {} yuan", pl.col("amount")))
            .otherwise(pl.lit(""))
            .alias("diff_en"),
            statement_text().alias("statement"),
            pl.lit("high").alias("severity"),
            pl.lit(0.9).alias("score"),
        )

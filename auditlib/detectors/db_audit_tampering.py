"""``db.audit_tampering``: database auditing turned down, removed, or its records deleted.

Two kinds of finding, both ``critical``:

- **audit settings changed**: ``SET``/``RESET pgaudit.*``, ``ALTER SYSTEM SET|RESET
  pgaudit.*``, ``ALTER ROLE|USER|DATABASE ... SET|RESET pgaudit.*``,
  ``set_config('pgaudit.*', ...)``, ``DROP EXTENSION pgaudit``, ``ALTER SYSTEM SET
  shared_preload_libraries`` without pgaudit; MariaDB ``SET GLOBAL server_audit_*``
  (``server_audit_logging=OFF``, events, excluded users...) and ``UNINSTALL PLUGIN
  server_audit`` / ``UNINSTALL SONAME 'server_audit'``. One finding per statement. A
  change that only turns auditing *up* (``pgaudit.log = 'all'``, ``log_relation = on``,
  ``server_audit_logging = ON``), a refused attempt, or a change inside an approved change
  ticket of the account (the ticket is named) is ``high``.
- **records removed**: pgAudit numbers the statements it logs in a session 1, 2, 3...
  (statements it does not log take no number), so a jump in ``statement_id`` between two
  consecutive records of a session means records were deleted from the log. One finding
  per gap, keyed by the two records around it. A gap between two different log files
  (``event_id`` ``<file>:<record>``) may be a log file missing from the export: ``high``.

Must NOT fire: ``SHOW pgaudit.log``; a literal mentioning pgaudit; several records of one
statement (one per relation, same id); a session's first record numbered above 1 (its
start is in an earlier file); a process id reused by a new session (numbering restarts);
MariaDB query ids (a server-wide counter: records without ``substatement_id`` are not
checked for gaps).

Known false positives: log files exported with a filter (by database or user) that
drops some records of a session; a pooled session whose middle file was not exported.
"""

from __future__ import annotations

import re

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dbinject import scan
from auditlib.detectors._dblog import cover, no_findings, prepare, statement_text
from auditlib.detectors.base import Detector, Text
from auditlib.registry import register

CANDIDATE = r"(?i)pgaudit|server_audit|shared_preload_libraries"
_SETTING = re.compile(
    r"(?i)\b(?:set|reset)\s+(?:session\s+|local\s+|global\s+|persist\s+|@@global\.|@@)?(pgaudit\.\w+|server_audit_\w+)"
    r"|\balter\s+system\s+(?:set|reset)\s+(pgaudit\.\w+|shared_preload_libraries)"
    r"|\balter\s+(?:role|user|database)\s+.+?\s+(?:set|reset)\s+(pgaudit\.\w+)"
    r"|\bdrop\s+extension\s+(?:if\s+exists\s+)?(pgaudit)\b"
    r"|\buninstall\s+plugin\s+(server_audit)\b"
)
_RAW = re.compile(
    r"(?i)\bset_config\s*\(\s*'(pgaudit\.\w+)'|\buninstall\s+soname\s+'(server_audit)"
)
_VALUE = re.compile(
    r"""(?is)(?:pgaudit\.\w+|server_audit_\w+|shared_preload_libraries)'?\s*(?:=|\bto\b|,)\s*(?:'([^']*)'|"([^"]*)"|([^\s,;)]+))"""
)
_UP = {"on", "true", "1", "yes", "all"}


def audit_change(statement: str, dialect: str) -> tuple[str, str | None, bool] | None:
    """``(setting, new value, turns auditing up only)`` if the statement changes audit
    settings, else None."""
    masked = scan(statement, dialect).template
    m = _SETTING.search(masked) or _RAW.search(statement)
    if m is None:
        return None
    setting = next(g for g in m.groups() if g).lower()
    if re.search(r"(?i)\b(?:drop\s+extension|uninstall)\b", masked):
        return f"{setting} (DROP/UNINSTALL)", None, False
    v = _VALUE.search(statement)
    value = next((g for g in v.groups() if g is not None), None) if v else None
    low = (value or "").strip().lower()
    if setting == "shared_preload_libraries":
        return None if "pgaudit" in low else (setting, value, False)
    reset = bool(re.search(r"(?i)\breset\b", masked))
    up = (
        not reset
        and value is not None
        and (
            low in _UP
            or (setting == "pgaudit.log" and "all" in low and "-" not in low)
            or setting.startswith("server_audit_file")
            or (setting == "server_audit_excl_users" and not low)
        )
    )
    return setting, ("RESET" if reset else value), up


@register
class DbAuditTampering(Detector):
    id = "db.audit_tampering"
    title = Text("数据库审计被篡改", "Database audit tampering")
    description = Text(
        "修改或关闭 pgAudit / server_audit 审计设置、删除审计扩展，或同一会话审计语句编号跳号（审计记录被删除）。",
        "pgAudit / server_audit settings changed or turned off, the audit extension removed, "
        "or statement numbers missing within a session (audit records deleted).",
    )
    requires = ("db_audit",)
    optional = ("change_tickets",)
    entity = "db_user"
    severity = "critical"
    alert_title = Text("数据库审计被篡改：{what_zh}", "Database audit tampering: {what_en}")
    alert_explanation = Text("{detail_zh}", "{detail_en}")

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        audit = prepare(tables["db_audit"], ctx)
        return pl.concat(
            [self._settings(audit, tables, ctx), self._gaps(audit)], how="diagonal_relaxed"
        )

    def _settings(self, audit, tables, ctx) -> pl.DataFrame:
        # the raw texts are searched first: only the candidates are prepared (a marker text
        # such as <not logged>, nulled by prepare, never matches)
        raw = tables["db_audit"].filter(pl.col("statement").str.contains(CANDIDATE))
        df = prepare(raw, ctx).filter(pl.col("statement").str.contains(CANDIDATE)).collect()
        if df.height == 0:
            return no_findings()
        found = {
            k: audit_change(*k) for k in df.select("statement", "dialect").unique().iter_rows()
        }
        rows = [found[k] for k in df.select("statement", "dialect").iter_rows()]
        df = df.with_columns(
            pl.Series("setting", [r[0] if r else None for r in rows], pl.String),
            pl.Series("value", [r[1] if r else None for r in rows], pl.String),
            pl.Series("up", [r[2] if r else None for r in rows], pl.Boolean),
        ).filter(pl.col("setting").is_not_null())
        if df.height == 0:
            return no_findings()
        # one finding per statement text of a session (pgAudit repeats it per relation)
        key = pl.coalesce(
            pl.concat_str(
                pl.col("user"),
                pl.col("session_id"),
                pl.col("statement"),
                pl.col("event_time").dt.truncate("1m").cast(pl.String),
            ),
            pl.col("event_id"),
        )
        g = (
            df.with_columns(ref("db_audit", "event_id"), key.alias("k"))
            .sort("event_time", "event_id")
            .group_by("k", maintain_order=True)
            .agg(
                pl.col("event_id").first().alias("finding_key"),
                pl.col("event_time").first(),
                pl.col("db_user").first().alias("entity_id"),
                pl.col("user").first(),
                pl.col("client_ip").drop_nulls().first(),
                pl.col("statement").first(),
                pl.col("setting").first(),
                pl.col("value").first(),
                pl.col("up").first(),
                pl.col("ok").all(),
                pl.col("ref").alias("evidence"),
            )
            .with_columns(
                pl.when(pl.col("setting").str.starts_with("server_audit"))
                .then(pl.lit(["server_audit"], dtype=pl.List(pl.String)))
                .otherwise(pl.lit(["pgaudit"], dtype=pl.List(pl.String)))
                .alias("objs")
            )
        )
        g = cover(g, tables.get("change_tickets"), objects="objs")
        covered = pl.col("ticket_id").is_not_null()
        mild = pl.col("up") | ~pl.col("ok") | covered
        when = pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%S")
        value = pl.col("value").fill_null("—")
        note_zh = (
            pl.when(~pl.col("ok"))
            .then(pl.lit("该语句执行失败（被拒绝），属未遂尝试。"))
            .when(covered)
            .then(pl.format("该操作在已批准运维工单 {} 的时间窗口内。", pl.col("ticket_id")))
            .when(pl.col("up"))
            .then(pl.lit("该修改看来是加强审计，但审计配置变更仍需核实。"))
            .otherwise(pl.lit("审计被削弱或关闭后，其后的操作可能不再留痕。"))
        )
        note_en = (
            pl.when(~pl.col("ok"))
            .then(pl.lit("The statement failed (refused): an attempt."))
            .when(covered)
            .then(pl.format("It falls inside approved change ticket {}.", pl.col("ticket_id")))
            .when(pl.col("up"))
            .then(
                pl.lit(
                    "The change seems to turn auditing up, but audit configuration changes need checking."
                )
            )
            .otherwise(pl.lit("With auditing weakened or off, later actions may leave no trace."))
        )
        return g.select(
            "entity_id",
            "finding_key",
            "evidence",
            "event_time",
            pl.format("{} 修改审计设置 {}", pl.col("entity_id"), pl.col("setting")).alias(
                "what_zh"
            ),
            pl.format("{} changed audit setting {}", pl.col("entity_id"), pl.col("setting")).alias(
                "what_en"
            ),
            pl.format(
                "数据库账号 {} 于 {} 从 {} 修改审计设置 {}（新值：{}）。{}语句：{}",
                pl.col("entity_id"),
                when,
                pl.col("client_ip").fill_null("?"),
                pl.col("setting"),
                value,
                note_zh,
                statement_text(),
            ).alias("detail_zh"),
            pl.format(
                "Database account {} changed audit setting {} (new value: {}) at {} from {}. {} Statement: {}",
                pl.col("entity_id"),
                pl.col("setting"),
                value,
                when,
                pl.col("client_ip").fill_null("?"),
                note_en,
                statement_text(),
            ).alias("detail_en"),
            pl.when(mild).then(pl.lit("high")).otherwise(pl.lit("critical")).alias("severity"),
            pl.when(mild).then(pl.lit(0.7)).otherwise(pl.lit(1.0)).alias("score"),
        )

    def _gaps(self, audit) -> pl.DataFrame:
        order = ["event_time", "statement_id", "substatement_id", "event_id"]
        prev = lambda c: pl.col(c).shift(1).over("session_id", order_by=order)  # noqa: E731
        df = (
            audit.filter(
                pl.col("session_id").is_not_null()
                & pl.col("statement_id").is_not_null()
                & pl.col("substatement_id").is_not_null()
                & pl.col("event_time").is_not_null()
            )
            .select(
                "event_id", "event_time", "db_user", "session_id", "statement_id", "substatement_id"
            )
            .with_columns(
                prev("event_id").alias("p_event"),
                prev("event_time").alias("p_time"),
                prev("statement_id").alias("p_sid"),
                prev("db_user").alias("p_user"),
            )
            .filter(pl.col("statement_id") > pl.col("p_sid") + 1)
            .collect()
        )
        if df.height == 0:
            return no_findings()
        file_of = lambda c: pl.col(c).str.extract(r"^(.*):\d+$", 1)  # noqa: E731
        other_file = (file_of("event_id") != file_of("p_event")).fill_null(False)
        missing = pl.col("statement_id") - pl.col("p_sid") - 1
        t = lambda c: pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
        return df.select(
            pl.col("db_user").alias("entity_id"),
            pl.format("gap:{}|{}", pl.col("p_event"), pl.col("event_id")).alias("finding_key"),
            pl.concat_list(
                ref("db_audit", "p_event").alias("a"), ref("db_audit", "event_id").alias("b")
            ).alias("evidence"),
            pl.col("p_time").alias("event_time"),
            pl.format("会话 {} 缺失 {} 条审计记录", pl.col("session_id"), missing).alias("what_zh"),
            pl.format(
                "{} audit record(s) missing in session {}", missing, pl.col("session_id")
            ).alias("what_en"),
            pl.format(
                "会话 {}（账号 {}）中，记录 {}（{}）的语句编号为 {}，下一条记录 {}（{}）的语句编号为 {}，中间缺失 {} 条。"
                "pgAudit 在同一会话中为记录的语句逐条编号（每条加 1），跳号说明审计记录被删除。{}",
                pl.col("session_id"),
                pl.col("db_user"),
                pl.col("p_event"),
                t("p_time"),
                pl.col("p_sid"),
                pl.col("event_id"),
                t("event_time"),
                pl.col("statement_id"),
                missing,
                pl.when(other_file)
                .then(pl.lit("两条记录位于不同日志文件，也可能是导出时缺少了一个日志文件。"))
                .otherwise(pl.lit("")),
            ).alias("detail_zh"),
            pl.format(
                "In session {} (account {}), record {} ({}) has statement number {} and the next record {} ({}) "
                "has {}: {} missing. pgAudit numbers the statements it logs in a session one by one, so a "
                "jump means audit records were deleted.{}",
                pl.col("session_id"),
                pl.col("db_user"),
                pl.col("p_event"),
                t("p_time"),
                pl.col("p_sid"),
                pl.col("event_id"),
                t("event_time"),
                pl.col("statement_id"),
                missing,
                pl.when(other_file)
                .then(
                    pl.lit(
                        " The two records are in different log files: a log file may be missing from the export."
                    )
                )
                .otherwise(pl.lit("")),
            ).alias("detail_en"),
            pl.when(other_file)
            .then(pl.lit("high"))
            .otherwise(pl.lit("critical"))
            .alias("severity"),
            pl.when(other_file).then(pl.lit(0.8)).otherwise(pl.lit(1.0)).alias("score"),
        )

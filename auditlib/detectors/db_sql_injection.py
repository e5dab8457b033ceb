"""``db.sql_injection``: statements that carry SQL-injection patterns.

A cheap vectorised filter keeps statements with a marker (``OR``, ``UNION``, ``--``,
``#``, ``/*``, a ``;`` followed by more text, a delay function, an odd number of
quotes); each distinct one is tokenized quote-aware and reduced to a rank-coded
template (:mod:`auditlib.detectors._dbinject`), and each distinct template is parsed once
with sqlglot. Patterns:

- **tautology**: an ``OR`` whose branch is always true (``OR 1=1``, ``OR 'a'='a'``,
  ``OR 2>1``, ``OR x=x``, ``OR 'a' LIKE '%'``, ``OR TRUE``);
- **UNION extraction**: a UNION whose later branch reads system catalogs or calls system
  functions (``pg_shadow``, ``information_schema``, ``version()``...) the first branch
  does not, or pads columns (``UNION SELECT NULL, NULL``, ``UNION SELECT 1,2,3``);
- **stacked queries**: a read followed by a write, DDL, grant or delay in one text
  (``...'; DROP TABLE payment; --``); for application accounts any second statement
  other than transaction control;
- **comment truncation**: a comment outside quotes that ends the text and holds an odd
  number of quotes (the cut-off rest of a quoted value: ``name = 'admin'--' AND pw =``);
  for application accounts also one right after a literal that holds a predicate;
- **delay**: ``pg_sleep``/``sleep``/``benchmark`` from an application account;
- a statement sqlglot cannot parse but with injection markers (``' OR 1=1``,
  ``'--``, ``UNION SELECT NULL``, ``'; DROP``; an unclosed quote from an application
  account) still counts, with a lower score.

``high`` for parsed patterns (``critical`` when a stacked write or DDL succeeded),
``medium`` for weak or unparsed ones. Failed statements count: probes often fail.

Must NOT fire: ``--``, ``#``, ``OR`` or ``;`` inside string literals (an ordinary SELECT
for a remark containing ``--``); ``WHERE 1=1 AND ...`` from query builders (no ``OR``);
ordinary ``OR`` conditions; a UNION of application tables; leading or closed comments
(SQL hints, sqlcommenter tags); ``BEGIN; ...; COMMIT``; PostgreSQL's ``#>>`` operators.

Known false positives: a person's psql session commenting out a predicate with an
odd quote in it; catalog UNION queries by monitoring tools that start from an
application table.
"""

from __future__ import annotations

import re

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors._dbinject import injection_info, scan
from auditlib.detectors._dblog import (
    add_statement_key,
    first_by_time,
    no_findings,
    prepare,
    settings_of,
    statement_text,
)
from auditlib.detectors.base import Detector, Text
from auditlib.registry import register

CANDIDATE = r"(?i)\b(?:or|union)\b|--|/\*|#|;\s*\S|\b(?:pg_)?sleep\s*\(|\bbenchmark\s*\("
_RAW_MARKERS = re.compile(
    r"(?is)\b(?:or|and)\s+(['\"]?)(\w+)\1\s*=\s*['\"]?\2\b"  # OR 1=1, OR 'a'='a
    r"|['\"]\s*\)*\s*(?:--|#|/\*)"  # a quote closed, then a comment
    r"|\bunion\s+(?:all\s+)?select\s+(?:null|\d+)\s*,"  # UNION SELECT NULL, / 1,
    r"|\bunion\s+(?:all\s+)?select\b.*\b(?:information_schema|pg_catalog|pg_shadow|pg_user|pg_authid|mysql\.user)\b"
    r"|['\"]\s*\)*\s*;\s*(?:drop|delete|update|insert|truncate|alter|create|grant|shutdown|exec)\b"
)
_PREDICATE = re.compile(r"(?i)\b(?:and|or|limit|order\s+by|group\s+by)\b|[=<>]|\)")

SIGNALS = {  # name: (score, Chinese, English)
    "tautology": (0.9, "恒真条件（OR 1=1 类）", "an always-true condition (OR 1=1 style)"),
    "union": (
        0.85,
        "UNION 查询系统目录/系统函数或以 NULL 补齐列",
        "a UNION reading system catalogs or functions, or padding columns",
    ),
    "stacked": (
        0.85,
        "堆叠查询（读取后接写入/DDL/授权/延时语句）",
        "stacked queries (a read followed by a write, DDL, grant or delay)",
    ),
    "comment": (
        0.75,
        "注释截断（注释切掉了后续条件）",
        "comment truncation (a comment cuts off the rest of the condition)",
    ),
    "delay": (0.7, "时间延迟函数（盲注）", "a delay function (blind injection)"),
    "stacked_app": (0.6, "应用账号发送多条语句", "several statements from the application account"),
    "comment_app": (
        0.55,
        "字面量后的注释含被注释掉的条件",
        "a comment after a literal holding a commented-out condition",
    ),
    "union_table": (
        0.55,
        "UNION 读取首个查询未涉及的敏感/受保护表",
        "a UNION reading a sensitive or protected table the first query does not",
    ),
    "unparsed": (0.5, "无法解析但含注入特征", "unparseable, with injection markers"),
}
STRONG = ("tautology", "union", "stacked", "comment")


def name(i: int) -> pl.Expr:
    """The signals' scores (0), Chinese (1) or English (2) names."""
    return pl.col("signals").list.eval(
        pl.element().replace_strict({k: v[i] for k, v in SIGNALS.items()})
    )


def signals(statement: str, dialect: str, *, app: bool, keyed: set[str]) -> list[str]:
    """The injection patterns of one statement (``app``: sent by an application account;
    ``keyed``: sensitive and protected tables)."""
    sc = scan(statement, dialect)
    info = injection_info(sc.template, dialect)
    out = []
    if info.parsed:
        if info.tautology:
            out.append("tautology")
        if info.union_catalog or info.union_padding:
            out.append("union")
        elif app and any(
            t.split(".", 1)[-1] in {k.split(".", 1)[-1] for k in keyed} for t in info.union_tables
        ):
            out.append("union_table")
        if info.danger_after_read:
            out.append("stacked")
        elif app and len(info.statements) >= 2:
            out.append("stacked_app")
    trailing = [c for c in sc.comments if c.trailing and c.kind != "/*"]
    if any(c.quotes % 2 for c in trailing):
        out.append("comment")
    elif app and any(c.after_literal and _PREDICATE.search(c.text) for c in trailing):
        out.append("comment_app")
    if info.sleep and (app or out):
        out.append("delay")
    if not info.parsed and (_RAW_MARKERS.search(statement) or (app and sc.unterminated)):
        out.append("unparsed")
    return out


@register
class DbSqlInjection(Detector):
    id = "db.sql_injection"
    title = Text("SQL 注入特征", "SQL injection pattern")
    description = Text(
        "数据库语句呈现 SQL 注入特征：恒真条件、UNION 提取系统信息、堆叠查询、注释截断等（sqlglot 解析）。",
        "A database statement carries SQL-injection patterns: always-true conditions, "
        "UNION extraction, stacked queries, comment truncation (parsed with sqlglot).",
    )
    requires = ("db_audit",)
    entity = "db_user"
    severity = "high"
    alert_title = Text(
        "SQL 注入特征：{entity_id} 的语句含 {first_zh}",
        "SQL injection pattern from {entity_id}: {first_en}",
    )
    alert_explanation = Text(
        "数据库账号 {entity_id}{app_zh} 于 {when} 从 {client} 发送的语句呈现 {n_signals} 项 SQL 注入特征："
        "{signals_zh}。执行结果：{result_zh}。语句：{statement}",
        "A statement sent by database account {entity_id}{app_en} at {when} from {client} "
        "shows {n_signals} SQL-injection pattern(s): {signals_en}. Result: {result_en}. "
        "Statement: {statement}",
    )

    def find(self, tables, ctx):
        return self._find(tables, ctx).sort("entity_id", "finding_key")

    def _find(self, tables, ctx) -> pl.DataFrame:
        app, protected, sensitive = settings_of(ctx)
        odd = pl.col("statement").str.count_matches("'") % 2 == 1
        candidate = pl.col("statement").is_not_null() & (
            pl.col("statement").str.contains(CANDIDATE) | odd
        )
        df = (  # the raw texts are searched first: only the candidates are prepared
            prepare(tables["db_audit"].filter(candidate), ctx)
            .filter(candidate)
            .with_columns(pl.col("user").is_in(app).alias("app"))
            .collect()
        )
        if df.height == 0:
            return no_findings()
        keyed = {*protected, *sensitive}
        found = {
            (s, d, a): signals(s, d, app=a, keyed=keyed)
            for s, d, a in df.select("statement", "dialect", "app").unique().iter_rows()
        }
        df = df.with_columns(
            pl.Series(
                "signals",
                [found[k] for k in df.select("statement", "dialect", "app").iter_rows()],
                dtype=pl.List(pl.String),
            ),
        ).filter(pl.col("signals").list.len() > 0)
        if df.height == 0:
            return no_findings()
        df = add_statement_key(df.with_columns(ref("db_audit", "event_id")), by="statement")
        g = df.group_by("stmt").agg(
            first_by_time("event_id").alias("finding_key"),
            pl.col("event_time").min(),
            first_by_time("db_user").alias("entity_id"),
            first_by_time("app"),
            first_by_time("signals"),
            pl.col("ok").all(),
            pl.col("retcode").filter(pl.col("retcode").fill_null(0) != 0).first(),
            pl.col("client_ip").drop_nulls().first(),
            pl.col("application_name").drop_nulls().first(),
            pl.col("statement").sort_by("event_time", "event_id").first(),
            pl.col("ref").sort_by("event_time", "event_id").alias("evidence"),
        )
        best = (
            pl.col("signals")
            .list.eval(pl.element().replace_strict({k: v[0] for k, v in SIGNALS.items()}))
            .list.max()
        )
        n = pl.col("signals").list.len()
        strong = pl.col("signals").list.eval(pl.element().is_in(STRONG)).list.any()
        stacked_ok = pl.col("signals").list.contains("stacked") & pl.col("ok")
        return g.select(
            "entity_id",
            "finding_key",
            "evidence",
            "event_time",
            n.alias("n_signals"),
            name(1).alias("signals_zh"),
            name(2).alias("signals_en"),
            name(1).list.first().alias("first_zh"),
            name(2).list.first().alias("first_en"),
            pl.col("event_time").dt.strftime("%Y-%m-%d %H:%M:%S").alias("when"),
            pl.format(
                "{} ({})",
                pl.col("client_ip").fill_null("?"),
                pl.col("application_name").fill_null("—"),
            ).alias("client"),
            statement_text().alias("statement"),
            pl.when(pl.col("app"))
            .then(pl.lit("（应用账号）"))
            .otherwise(pl.lit(""))
            .alias("app_zh"),
            pl.when(pl.col("app"))
            .then(pl.lit(" (an application account)"))
            .otherwise(pl.lit(""))
            .alias("app_en"),
            pl.when(pl.col("ok"))
            .then(pl.lit("成功执行"))
            .otherwise(pl.format("失败（返回码 {}）", pl.col("retcode")))
            .alias("result_zh"),
            pl.when(pl.col("ok"))
            .then(pl.lit("executed"))
            .otherwise(pl.format("failed (code {})", pl.col("retcode")))
            .alias("result_en"),
            pl.when(stacked_ok)
            .then(pl.lit("critical"))
            .when(strong)
            .then(pl.lit("high"))
            .otherwise(pl.lit("medium"))
            .alias("severity"),
            (best + 0.05 * (n - 1)).clip(0, 1).alias("score"),
        )

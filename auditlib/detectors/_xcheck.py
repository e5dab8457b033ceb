"""Shared steps of the ``xcheck.*`` detectors: the business log against the database log
(the "double insurance", 双保险) — a private module.

Business events and DB statements are tied by the *object*: the voucher or indicator
number a business event names (``object_id``) found in a statement's text or its bound
parameters. Candidate tokens are extracted with a regex of the id shapes the business
log shows (:func:`auditlib.detectors._dblog.id_pattern`) and joined to the set of
business ids, so no statement is scanned per id.

Examples
--------
>>> set_values("UPDATE payment SET amount = $1, memo = 'x' WHERE voucher_id = $2", "1200.50,V1", "postgres")
{'amount': '1200.50', 'memo': 'x'}
>>> set_values("UPDATE payment SET amount = amount + 1", None, "postgres")
{}
>>> same_value("1,200.50", "1200.5"), same_value("6222 0101", "62220101"), same_value("A", "B")
(True, True, False)
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import polars as pl
from sqlglot import exp

from auditlib.alerts.schema import ref
from auditlib.detectors._dblog import (
    PREPARED,
    WRITE_VERBS,
    id_pattern,
    id_shapes,
    id_tokens,
    object_tokens,
    prepare,
    prepared,
    statement_keys,
    value_mask,
)
from auditlib.detectors._dbsql import parse
from auditlib.detectors.base import fmt_money
from auditlib.exprs import action_key, succeeded

OBJECT_ZH = {
    "voucher": "凭证",
    "indicator": "指标",
    "payee": "收款人",
    "user": "用户",
    "report": "报表",
    "config": "配置",
}


NOT_DATA = ("user", "report", "config")
"""Business object types that are not rows of the audited data (log-ins name the user)."""
SESSION_ACTIONS = ("login", "logout")


def _business_cols(ctx) -> list[pl.Expr]:
    return [
        pl.col("event_time").dt.convert_time_zone(ctx.timezone),
        action_key(pl.col("action")).alias("action"),
        action_key(pl.col("object_type")).alias("object_type"),
    ]


def business_at(lf: pl.LazyFrame, idx: pl.Series, ctx) -> pl.DataFrame:
    """The rows ``idx`` (positions) of the business log as :func:`business` gives them:
    the columns of the few rows reported are read at the end, not carried along."""
    df = lf.collect().select(pl.all().gather(idx))
    return df.with_columns(_business_cols(ctx))


def business(lf: pl.LazyFrame, ctx, actions: Iterable[str] | None = None) -> pl.LazyFrame:
    """Successful business operations on a data object (voucher, indicator, payee...;
    not log-ins, users, reports or configuration; of ``actions`` if given), times in the
    run's zone. The rows are chosen before the columns are transformed, and the action and
    object type tests run once per distinct value (:func:`value_mask`)."""
    act = lambda a: ~action_key(a).is_in(SESSION_ACTIONS)  # noqa: E731
    if actions is not None:
        keys = list(actions)
        act = lambda a: ~action_key(a).is_in(SESSION_ACTIONS) & action_key(a).is_in(keys)  # noqa: E731
    return lf.filter(
        succeeded(pl.col("result"))
        & pl.col("object_id").is_not_null()
        & pl.col("event_time").is_not_null()
        & value_mask(lf, "action", act)
        & value_mask(lf, "object_type", lambda o: ~action_key(o).fill_null("").is_in(NOT_DATA))
    ).with_columns(_business_cols(ctx))


def span(lf: pl.LazyFrame) -> tuple:
    """First and last ``event_time`` of a log (None, None when empty)."""
    row = lf.select(
        pl.col("event_time").min().alias("a"), pl.col("event_time").max().alias("b")
    ).collect()
    return row["a"][0], row["b"][0]


_ROW_COLS = ("_r", "event_time", "user", "statement", "parameter")
"""What the shared write rows hold besides the key: the row in ``db_audit`` (``_r``; other
columns are read from there for the rows that need them), time, account and texts."""
GAP_SECONDS = 60
"""Records of one (account, session, statement id) more than this apart: two statements."""


def audit_at(audit: pl.LazyFrame, idx: pl.Series, *cols: str) -> pl.DataFrame:
    """``db_audit`` columns ``cols`` of the rows ``idx`` (positions), as :func:`prepare`
    gives them for the names it derives (``user``, ``verb``, ``dialect``...): only the
    columns asked are read, for the rows asked."""
    raw = sorted({c for name in cols for c in PREPARED.get(name, (name,))})
    sub = audit.select(raw).collect().select(pl.all().gather(idx))
    return sub.select(prepared(c) if c in PREPARED else pl.col(c) for c in cols)


def _is_write(verbs: tuple[str, ...]) -> pl.Expr:
    return pl.col("verb").is_in(verbs) | (pl.col("audit_class") == "WRITE")


def _write_rows(audit: pl.LazyFrame, ctx) -> pl.DataFrame:
    keys = ("session_id", "statement_id")
    rows = (
        prepare(audit.with_row_index("_r"), ctx)
        .filter(pl.col("ok") & pl.col("event_time").is_not_null() & _is_write(WRITE_VERBS))
        .select(*_ROW_COLS, *keys)
        .collect()
    )
    return _keyed(rows).drop(keys)


def _keyed(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (in their order: sorting the text columns would copy them; with
    ``session_id`` and ``statement_id``) with ``stmt`` and ``single``
    (:func:`auditlib.detectors._dblog.statement_keys`)."""
    return rows.with_columns(statement_keys(rows, GAP_SECONDS))


def _statements(df: pl.DataFrame, audit: pl.LazyFrame) -> pl.DataFrame:
    cols = [
        "stmt",
        "_r",
        pl.col("_r").alias("_cr"),
        pl.col("event_time").alias("db_time"),
        "user",
        "statement",
        "parameter",
    ]
    if df["single"].all():  # one record a statement: the rows' own columns, not copied
        return df.select(cols)
    multi = df.filter(~pl.col("single"))
    multi = multi.with_columns(audit_at(audit, multi["_r"], "event_id").get_columns())
    has_stmt = pl.col("statement").is_not_null()
    multi = (
        multi.sort("stmt", "event_time", "event_id")
        .group_by("stmt", maintain_order=True)
        .agg(  # rows keep their order within a group
            pl.col("_r").first(),
            pl.coalesce(pl.col("_r").filter(has_stmt).first(), pl.col("_r").first()).alias("_cr"),
            pl.col("event_time").first().alias("db_time"),
            pl.col("user").first(),
            pl.col("statement").drop_nulls().first(),
            pl.col("parameter").drop_nulls().first(),
        )
    )
    return pl.concat([df.filter(pl.col("single")).select(cols), multi])


def statements(df: pl.DataFrame, audit: pl.LazyFrame) -> pl.DataFrame:
    """One row per statement of :func:`write_statements` rows: ``stmt``, time
    (``db_time``), account, text and parameters, and the ``db_audit`` rows of its first
    record (``_r``) and of the record giving its command (``_cr``: the first with a
    statement text); :func:`details` adds the columns read from them, :func:`evidence`
    the evidence refs (both for the statements reported only)."""
    return _statements(df, audit)


def details(stm: pl.DataFrame, audit: pl.LazyFrame) -> pl.DataFrame:
    """Add the first event (``db_event``), ``db_user``, ``dialect`` and ``command`` of
    statements (:func:`statements`), read from ``db_audit``."""
    first = audit_at(audit, stm["_r"], "event_id", "db_user", "dialect")
    cmd = audit_at(audit, stm["_cr"], "verb")
    return stm.with_columns(
        first["event_id"].alias("db_event"),
        first["db_user"],
        first["dialect"],
        cmd["verb"].alias("command"),
    )


def write_statements(
    audit: pl.LazyFrame,
    ctx,
    *,
    users: list[str] | None = None,
    verbs: tuple[str, ...] = WRITE_VERBS,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(rows, statements)``: successful DB writes (verb in ``verbs`` or pgAudit class
    WRITE) as narrow rows (:data:`_ROW_COLS`) with an integer ``stmt`` key and ``single``
    (the statement has one record; rows in log order), and their :func:`statements` (of
    ``users`` if given; the rows are every account's when the verbs are all writes).

    The writes and statements of every account are worked out once per run and shared
    by the ``xcheck.*`` detectors (``ctx.shared``). The key holds the account, so an
    account's statements are a subset of them; a verb subset is keyed again, as
    :func:`auditlib.detectors._dblog.add_statement_key` keys it alone (without the other
    verbs' records a statement's records may be too far apart)."""
    tag = f"gap={GAP_SECONDS},verbs={','.join(WRITE_VERBS)}"
    rows = ctx.shared(f"xcheck.writes({tag})", (audit,), lambda: _write_rows(audit, ctx))
    if set(verbs) != set(WRITE_VERBS):
        kind = audit_at(audit, rows["_r"], "verb", "audit_class")
        sub = rows.filter(kind.select(_is_write(verbs)).to_series())
        if users is not None:
            sub = sub.filter(pl.col("user").is_in(users))
        if sub.height < rows.height:
            sub = sub.drop("stmt", "single")
            sub = _keyed(
                sub.with_columns(
                    audit_at(audit, sub["_r"], "session_id", "statement_id").get_columns()
                )
            ).drop("session_id", "statement_id")
            return sub, _statements(sub, audit)
    stm = ctx.shared(f"xcheck.statements({tag})", (audit,), lambda: _statements(rows, audit))
    if users is not None:  # rows: every account's (a copy would cost memory)
        stm = stm.filter(pl.col("user").is_in(users))
    return rows, stm


def evidence(out: pl.DataFrame, rows: pl.DataFrame, audit: pl.LazyFrame) -> pl.DataFrame:
    """Add ``evidence``: the ``db_audit:<event id>`` refs of the statements (``stmt``) of
    ``out``, from their :func:`write_statements` rows in time and event id order."""
    mine = rows.filter(pl.col("stmt").is_in(out["stmt"].unique().implode())).select(
        "stmt", "event_time", "_r"
    )
    refs = (
        mine.with_columns(audit_at(audit, mine["_r"], "event_id").get_columns())
        .sort("stmt", "event_time", "event_id")
        .select("stmt", ref("db_audit", "event_id"))
        .group_by("stmt", maintain_order=True)
        .agg(pl.col("ref").alias("evidence"))
    )
    return out.join(refs, on="stmt", how="left", maintain_order="left")


def links(stmts: pl.DataFrame, biz: pl.DataFrame) -> pl.DataFrame:
    """``(stmt, object_id)`` for business object ids found in the statements' text or
    parameters (``biz`` holds ``object_id``)."""
    ids = biz.select(pl.col("object_id").drop_nulls().unique())  # once: millions of ids
    pattern = id_pattern(id_shapes(ids["object_id"], distinct=True))  # a shape's shape is itself
    if pattern is None or stmts.height == 0:
        return object_tokens(stmts, ids, None)
    return id_tokens(stmts, pattern).join(ids, on="object_id", how="semi").select(
        "stmt", "object_id")


def gap_text(col: str, lang: str) -> pl.Expr:
    """A duration as ``12.5 分钟`` / ``3.0 hours`` / ``11.2 days``, whichever reads best."""
    sec = pl.col(col).dt.total_seconds()
    units = ("分钟", "小时", "天") if lang == "zh" else ("minutes", "hours", "days")
    return (
        pl.when(sec < 2 * 3600)
        .then(pl.format("{} " + units[0], (sec / 60).round(1)))
        .when(sec < 2 * 86400)
        .then(pl.format("{} " + units[1], (sec / 3600).round(1)))
        .otherwise(pl.format("{} " + units[2], (sec / 86400).round(1)))
    )


def money_text(col: str) -> pl.Expr:
    """Money as ``1,234.50`` (null stays null)."""
    return pl.col(col).map_elements(fmt_money, return_dtype=pl.String)


def within(tolerance_s: int, a: str = "db_time", b: str = "biz_time") -> pl.Expr:
    """``a`` and ``b`` at most ``tolerance_s`` seconds apart."""
    return (pl.col(a) - pl.col(b)).abs() <= pl.duration(seconds=tolerance_s)


# ------------------------------------------------------------------------------ values
def _params(parameter: str | None) -> list[str | None]:
    if not parameter:
        return []
    try:
        row = next(csv.reader([parameter]))
    except (csv.Error, StopIteration):
        return []
    return [v if v != "" else None for v in row]


def _literal(
    node: exp.Expression, params: list[str | None], order: dict[int, int]
) -> tuple[bool, str | None]:
    """``(visible, value)`` of a SET value: a literal, NULL, a cast literal, or a bound
    parameter (``$n`` / ``?``) with its logged value."""
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return True, "-" + node.this.this
    if isinstance(node, exp.Literal):
        return True, node.this
    if isinstance(node, exp.Null):
        return True, None
    if (
        isinstance(node, exp.Parameter)
        and isinstance(node.this, exp.Literal)
        and not node.this.is_string
    ):
        i = int(node.this.this) - 1
        return (True, params[i]) if 0 <= i < len(params) else (False, None)
    if isinstance(node, exp.Placeholder) and id(node) in order:
        i = order[id(node)]
        return (True, params[i]) if i < len(params) else (False, None)
    return False, None


@lru_cache(maxsize=65536)
def _set_values(
    statement: str, parameter: str | None, dialect: str
) -> tuple[tuple[str, str | None], ...]:
    stmts = parse(statement, dialect)
    upd = next((s for s in stmts or () if isinstance(s, exp.Update)), None)
    if upd is None:
        return ()
    params = _params(parameter)
    order = {id(p): i for i, p in enumerate(upd.find_all(exp.Placeholder, bfs=False))}
    out = []
    for eq in upd.expressions:
        if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
            visible, value = _literal(eq.expression, params, order)
            if visible:
                out.append((eq.this.name.lower(), value))
    return tuple(out)


def set_values(statement: str, parameter: str | None, dialect: str) -> dict[str, str | None]:
    """Column → new value of an UPDATE's SET clause where the value is visible (literals,
    and bound parameters when the log has them); expressions are left out."""
    return dict(_set_values(statement, parameter, dialect))


def _norm(v: str) -> str:
    return "".join(unicodedata.normalize("NFKC", v).split()).strip("'\"")


def same_value(a: str | None, b: str | None) -> bool:
    """Whether two logged values are the same: numbers numerically (thousands separators
    allowed), other text after NFKC with spaces removed."""
    if a is None or b is None:
        return a is b
    x, y = _norm(a), _norm(b)
    try:
        return Decimal(x.replace(",", "")) == Decimal(y.replace(",", ""))
    except InvalidOperation:
        return x == y

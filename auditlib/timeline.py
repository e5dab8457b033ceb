"""Tracking (追踪): every event about one entity across all sources, in time order.

An entity is any id an auditor follows: a user, a DB account, a voucher, a
payee account, a unit, an indicator, a beneficiary. ``timeline`` looks for it
in every id column of every loaded table (and inside SQL statements and their
parameters, where a DB write names a voucher), turns each hit into events
(a voucher gives "drafted", "approved", "paid"), sorts them by time, and
attaches the alerts whose evidence names the event's record or whose entity
is the one followed.

Examples
--------
>>> from auditlib.testing import small_world
>>> ds = small_world()
>>> v = ds["payments"]["voucher_id"][0]
>>> tl = timeline(ds, v)
>>> tl.columns
['time', 'source', 'ref', 'event', 'actor', 'detail', 'alerts']
>>> "payments" in set(tl["source"])
True
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from auditlib.alerts.schema import escape_expr
from auditlib.io.tables import Dataset
from auditlib.schemas import TABLES

OUT_SCHEMA = {
    "time": pl.Datetime("us", "UTC"), "source": pl.String, "ref": pl.String, "event": pl.String,
    "actor": pl.String, "detail": pl.String,
}


def _ref(table: str) -> pl.Expr:
    key = TABLES[table].key
    parts: list[pl.Expr] = []
    for i, c in enumerate(key):
        if i:
            parts.append(pl.lit("|"))
        parts.append(escape_expr(pl.col(c)))
    return pl.concat_str(pl.lit(f"{table}:"), *parts)


def _ts(expr: pl.Expr, tz: str) -> pl.Expr:
    return expr.cast(pl.Datetime("us")).dt.replace_time_zone(tz).dt.convert_time_zone("UTC")


# (table, time expression builder, event label, actor column, detail expression) per event kind
def _events(table: str, lf: pl.LazyFrame, tz: str) -> list[pl.LazyFrame]:
    ref = _ref(table).alias("ref")
    s = pl.lit(table).alias("source")

    def ev(time: pl.Expr, event: pl.Expr | str, actor: pl.Expr | None, detail: pl.Expr) -> pl.LazyFrame:
        return lf.select(
            time.dt.convert_time_zone("UTC").alias("time") if isinstance(time, pl.Expr) else time,
            s, ref, (pl.lit(event) if isinstance(event, str) else event).alias("event"),
            (actor if actor is not None else pl.lit(None, pl.String)).cast(pl.String).alias("actor"),
            detail.cast(pl.String).alias("detail"),
        )

    money = lambda c: pl.col(c).cast(pl.String)  # noqa: E731
    if table == "payments":
        detail = pl.concat_str(pl.col("unit_id"), pl.lit(" → "), pl.col("payee_name"), pl.lit(" "),
                               pl.col("payee_account"), pl.lit(" ¥"), money("amount"),
                               pl.lit(" "), pl.col("economic_class"), pl.lit(" "),
                               pl.col("status").fill_null("paid"), ignore_nulls=True)
        return [
            ev(pl.col("created_at"), "voucher drafted 制单", pl.col("created_by"), detail),
            ev(pl.col("approved_at"), "voucher approved 审核", pl.col("approved_by"), detail),
            ev(_ts(pl.col("pay_date"), tz), "paid 支付", None, detail),
        ]
    if table == "business_log":
        return [ev(pl.col("event_time"), pl.col("action"), pl.col("user_id"),
                   pl.concat_str(pl.col("object_type"), pl.lit(" "), pl.col("object_id"), pl.lit(" "),
                                 pl.col("result"), pl.lit(" "), pl.col("client_ip"), pl.lit(" "),
                                 pl.col("detail"), ignore_nulls=True))]
    if table == "db_audit":
        return [ev(pl.col("event_time"), pl.col("command"), pl.col("db_user"),
                   pl.concat_str(pl.col("object_name"), pl.lit(" "), pl.col("statement").str.slice(0, 200),
                                 ignore_nulls=True))]
    if table == "bank_transactions":
        return [ev(_ts(pl.col("value_date"), tz), pl.concat_str(pl.lit("bank "), pl.col("direction").fill_null("debit")),
                   None, pl.concat_str(pl.col("payer_account"), pl.lit(" → "), pl.col("payee_account"),
                                       pl.lit(" ¥"), money("amount"), pl.lit(" "), pl.col("voucher_id"),
                                       ignore_nulls=True))]
    if table == "subsidies":
        return [ev(_ts(pl.col("pay_date"), tz), "subsidy paid 补贴发放", None,
                   pl.concat_str(pl.col("program_code"), pl.lit(" "), pl.col("beneficiary_id"), pl.lit(" → "),
                                 pl.col("account_no"), pl.lit(" ¥"), money("amount"), ignore_nulls=True))]
    if table == "payroll":
        return [ev(_ts(pl.col("pay_date"), tz), "wage paid 工资发放", None,
                   pl.concat_str(pl.col("unit_id"), pl.lit(" "), pl.col("employee_id"), pl.lit(" "),
                                 pl.col("month"), pl.lit(" → "), pl.col("account_no"), pl.lit(" ¥"),
                                 money("amount"), ignore_nulls=True))]
    if table == "change_tickets":
        return [ev(pl.col("start_time"), "change ticket opens 工单开始", pl.col("db_user"),
                   pl.concat_str(pl.col("objects"), pl.lit(" "), pl.col("description"), ignore_nulls=True)),
                ev(pl.col("end_time"), "change ticket closes 工单结束", pl.col("db_user"), pl.col("ticket_id"))]
    return []


def _matches(table: str, lf: pl.LazyFrame, entity: str) -> pl.LazyFrame:
    cols = [c.name for c in TABLES[table].columns if c.kind == "id" and c.name in lf.collect_schema()]
    cond = pl.any_horizontal([pl.col(c) == entity for c in cols]) if cols else pl.lit(False)
    if table == "db_audit" and len(entity) >= 4:
        cond = cond | pl.col("statement").str.contains(entity, literal=True).fill_null(False) \
            | pl.col("parameter").str.contains(entity, literal=True).fill_null(False)
    return lf.filter(cond)


def timeline(dataset: Dataset, entity: str, alerts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Events about ``entity`` across all loaded tables, time-ordered, with touching alerts."""
    tz = dataset.settings.timezone
    frames = []
    for table, df in dataset.tables.items():
        hits = _matches(table, df.lazy(), entity)
        frames.extend(_events(table, hits, tz))
    if frames:
        out = pl.concat([f.collect() for f in frames], how="vertical_relaxed")
        out = out.filter(pl.col("time").is_not_null() | pl.col("source").is_in(["payments"]).not_())
    else:
        out = pl.DataFrame(schema=OUT_SCHEMA)
    out = out.with_columns(pl.col("time").dt.convert_time_zone(tz))
    out = out.sort(["time", "source", "ref"], nulls_last=True)
    return _attach_alerts(out, entity, alerts)


def _attach_alerts(events: pl.DataFrame, entity: str, alerts: pl.DataFrame | None) -> pl.DataFrame:
    if alerts is None or alerts.height == 0:
        return events.with_columns(pl.lit([], pl.List(pl.String)).alias("alerts"))
    by_ref = (
        alerts.select("alert_id", pl.col("evidence").alias("ref")).explode("ref")
        .group_by("ref").agg(pl.col("alert_id").unique().sort().alias("alerts"))
    )
    about = alerts.filter(pl.col("entity_id") == entity)["alert_id"].to_list()
    out = events.join(by_ref, on="ref", how="left").with_columns(pl.col("alerts").fill_null([]))
    if about:
        out = out.with_columns(pl.col("alerts").list.concat(pl.lit(about)).list.unique().list.sort())
    return out


def alerts_about(alerts: pl.DataFrame, entity: str, events: pl.DataFrame) -> pl.DataFrame:
    """The alerts an entity's timeline touches (by entity or by evidence)."""
    ids = set(events["alerts"].explode().drop_nulls().to_list()) if events.height else set()
    return alerts.filter(pl.col("alert_id").is_in(list(ids)) | (pl.col("entity_id") == entity))


def entity_kinds(dataset: Mapping[str, pl.DataFrame] | Dataset) -> list[str]:
    """Id columns a timeline searches, as ``table.column`` (for documentation and widgets)."""
    tables = dataset.tables if isinstance(dataset, Dataset) else dataset
    return [f"{t}.{c.name}" for t in tables for c in TABLES[t].columns if c.kind == "id"]

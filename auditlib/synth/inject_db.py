"""Injected cases of the database audit log: the ``db.*`` and ``xcheck.*`` detectors.

All families run at the ``final`` stage and need the chunk's database audit log and
business log as ``ctx.db_audit`` and ``ctx.business_log`` (the canonical frames
:func:`auditlib.synth.finalize.finalize` makes; the families replace them, and what is
there afterwards is written); without them they make no case. They take no reserved
payee. Vouchers are ordinary paid vouchers of the chunk from the middle of the period,
each used by one case only. Injected records get ids ``A<region>9nnnnnnn`` (DB) and
``L<region>9nnnnnnn`` (business), new sessions their own PostgreSQL-style session ids and
statement numbers from 1.

Positives: a DBA updating a payee account at night without a ticket
(``db.direct_write``); a grant on the payment table and a superuser role at night
(``db.privileged``); a payee table exported with ``COPY ... TO`` (``db.bulk_read``);
injections from the application account — tautology, UNION on ``pg_shadow``, comment
truncation, a delay (``db.sql_injection``); ``SET pgaudit.log = 'none'``, and two records
cut out of an application session (``db.audit_tampering``; the business events whose
writes were cut are ``xcheck.approval_without_write`` positives too); the application
account deleting a voucher at 03:00 late in the period (``db.rare_combo`` and
``xcheck.unexplained_write``); the application account changing a payee account with no
business event (``xcheck.unexplained_write``); an approval in the business log with no
write (``xcheck.approval_without_write``); a modification whose UPDATE writes another
value than the business log's ``new`` (``xcheck.value_mismatch``).

Look-alikes: DBA reads and writes to an unprotected table; a nightly staging job
truncating its table and creating temporary tables, and a nightly payee extract by the
ETL account (``db.privileged``, ``db.rare_combo``, ``db.bulk_read``); a reporting account's
SELECTs with ``--``, ``#`` and ``OR`` inside string literals; ``SHOW pgaudit.log`` and a
two-relation statement logged twice with one statement number; ordinary application
writes with their business events; a failed approval; a modification written as logged.

Register by appending :data:`DB_FAMILIES` to the families the generator runs, and give
the final-stage context the two logs (``ctx.db_audit``, ``ctx.business_log``) and write
them back afterwards.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from auditlib.synth.inject import Case, ChunkContext, Family

DAY, H = 86400, 3600
EPOCH = dt.datetime(1970, 1, 1)
DATABASE = "fmis"


# ------------------------------------------------------------------------------- helpers
def _ready(ctx: ChunkContext) -> bool:
    db, bl = getattr(ctx, "db_audit", None), getattr(ctx, "business_log", None)
    return (
        isinstance(db, pl.DataFrame)
        and isinstance(bl, pl.DataFrame)
        and db.height > 0
        and ctx.payments is not None
        and ctx.payments.height > 0
    )


def family(fn: Callable[..., None]) -> Callable[..., None]:
    """Run a family only when the logs are there, then add the records it made."""

    @functools.wraps(fn)
    def run(ctx: ChunkContext, n: int, **kw: Any) -> None:
        if not _ready(ctx):
            return
        fn(ctx, n, **kw)
        for table, attr in (("db_rows", "db_audit"), ("biz_rows", "business_log")):
            rows = ctx.__dict__.pop(table, [])
            if rows:
                old = getattr(ctx, attr)
                setattr(
                    ctx, attr, pl.concat([old, pl.DataFrame(rows, schema=old.schema, orient="row")])
                )

    return run


def _region(ctx: ChunkContext) -> str:
    return str(ctx.units["region_code"][0])


def _seq(ctx: ChunkContext, kind: str) -> int:
    n = ctx.__dict__.setdefault("db_seq", {})
    n[kind] = n.get(kind, 0) + 1
    return n[kind]


def _t(seconds: float) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=int(seconds))


def _session(ctx: ChunkContext, t: float) -> str:
    return f"{int(t) - 8 * H - 60:x}.{int(ctx.rng.integers(20000, 60000)):x}"


def _db(
    ctx: ChunkContext,
    t: float,
    user: str,
    command: str,
    statement: str,
    *,
    session: str,
    sid: int,
    klass: str,
    obj: str | None = None,
    rows: int | None = None,
    retcode: int = 0,
    ip: str = "10.8.9.31",
    app: str = "psql",
    obj_type: str = "TABLE",
) -> str:
    """Add one pgAudit record to ``ctx.db_audit``; returns its event id."""
    eid = f"A{_region(ctx)}9{_seq(ctx, 'db'):07d}"
    row = {
        "event_id": eid,
        "event_time": _t(t),
        "db_user": user,
        "command": command,
        "database": DATABASE,
        "client_ip": ip,
        "application_name": app,
        "session_id": session,
        "statement_id": sid,
        "substatement_id": 1,
        "audit_class": klass,
        "object_type": obj_type if obj else None,
        "object_name": obj,
        "statement": statement,
        "parameter": "<not logged>",
        "rows": rows,
        "retcode": retcode,
    }
    ctx.__dict__.setdefault("db_rows", []).append(row)
    return eid


def _biz(
    ctx: ChunkContext,
    t: float,
    user: str,
    action: str,
    voucher: str,
    unit: str,
    detail: dict[str, Any] | None = None,
    result: str = "success",
) -> str:
    eid = f"L{_region(ctx)}9{_seq(ctx, 'biz'):07d}"
    row = {
        "event_id": eid,
        "event_time": _t(t),
        "user_id": user,
        "action": action,
        "user_role": None,
        "unit_id": unit,
        "object_type": "voucher",
        "object_id": voucher,
        "client_ip": "10.16.0.2",
        "result": result,
        "detail": json.dumps(detail or {}, ensure_ascii=False),
    }
    ctx.__dict__.setdefault("biz_rows", []).append(row)
    return eid


def _case(
    ctx: ChunkContext,
    prefix: str,
    detector_id: str,
    kind: str,
    refs: list[tuple[str, str]],
    description: str,
) -> None:
    ctx.counters[prefix] = ctx.counters.get(prefix, 0) + 1
    ctx.cases.append(
        Case(
            f"{prefix}-{ctx.counters[prefix]:04d}",
            detector_id,
            kind,  # type: ignore[arg-type]
            list(refs),
            description,
        )
    )


def _day(ctx: ChunkContext, lo: float = 0.3, hi: float = 0.85, *, workday: bool = True) -> int:
    """An epoch day between the ``lo`` and ``hi`` fractions of the period: a working day,
    or (``workday=False``) a weekend or holiday."""
    p = ctx.period
    a = (p.start - EPOCH.date()).days
    b = (p.as_of - EPOCH.date()).days
    d = int(a + (b - a) * (lo + (hi - lo) * ctx.rng.random()))
    while p.calendar.is_workday(EPOCH.date() + dt.timedelta(days=d)) is not workday:
        d += 1
    return min(d, b)


def _vouchers(ctx: ChunkContext, n: int) -> list[dict[str, Any]]:
    """``n`` paid vouchers from the middle of the period not used by another case."""
    used = ctx.__dict__.setdefault("db_used", set())
    if "db_busy" not in ctx.__dict__:  # vouchers other families gave business events
        bl = ctx.business_log
        ctx.__dict__["db_busy"] = set(
            bl.filter(
                (pl.col("object_type") == "voucher")
                & ~pl.col("action").is_in(["voucher_create", "voucher_approve"])
            )["object_id"].to_list()
        )
    used |= ctx.__dict__["db_busy"]
    p = ctx.period
    span = p.as_of - p.start
    pay = ctx.payments.filter(
        (pl.col("status") == "paid")
        & pl.col("approved_at").is_not_null()
        & pl.col("created_at").is_between(
            dt.datetime.combine(p.start + span * 0.2, dt.time()),
            dt.datetime.combine(p.start + span * 0.8, dt.time()),
        )
        & ~pl.col("voucher_id").is_in(list(used))
    )
    if pay.height == 0:
        return []
    idx = ctx.rng.choice(pay.height, size=min(n, pay.height), replace=False)
    rows = [pay.row(int(i), named=True) for i in sorted(idx)]
    used.update(r["voucher_id"] for r in rows)
    return rows


def _epoch(t: dt.datetime) -> float:
    return (t - EPOCH).total_seconds()


def _account(rng: np.random.Generator) -> str:
    return "6217" + "".join(str(int(x)) for x in rng.integers(0, 10, 15))


# ------------------------------------------------------------------------------ db.* cases
@family
def direct_write(ctx: ChunkContext, n: int) -> None:
    for v in _vouchers(ctx, n):
        t = _day(ctx, workday=False) * DAY + 22 * H + int(ctx.rng.integers(0, 5400))
        s = _session(ctx, t)
        new = _account(ctx.rng)
        _db(
            ctx,
            t,
            "dba_wang",
            "SELECT",
            f"SELECT * FROM public.payment WHERE voucher_id = '{v['voucher_id']}'",
            session=s,
            sid=1,
            klass="READ",
            obj="public.payment",
            rows=1,
        )
        eid = _db(
            ctx,
            t + 95,
            "dba_wang",
            "UPDATE",
            f"UPDATE public.payment SET payee_account = '{new}' WHERE voucher_id = '{v['voucher_id']}'",
            session=s,
            sid=2,
            klass="WRITE",
            obj="public.payment",
            rows=1,
        )
        _case(
            ctx,
            "DB-DIRECT",
            "db.direct_write",
            "positive",
            [("db_audit", eid)],
            f"DBA 账号夜间直接改写凭证 {v['voucher_id']} 的收款账号为 {new}，无运维工单 / a DBA account "
            f"changed the payee account of voucher {v['voucher_id']} directly at night, no ticket",
        )


@family
def direct_write_lookalike(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        t = _day(ctx) * DAY + 16 * H + int(ctx.rng.integers(0, 3600))
        s = _session(ctx, t)
        a = _db(
            ctx,
            t,
            "dba_wang",
            "SELECT",
            "SELECT count(*) FROM public.payment WHERE status = 'paid'",
            session=s,
            sid=1,
            klass="READ",
            obj="public.payment",
            rows=1,
        )
        b = _db(
            ctx,
            t + 40,
            "dba_wang",
            "INSERT",
            "INSERT INTO public.report_cache (k, v) SELECT 'paid', count(*) FROM public.payment",
            session=s,
            sid=2,
            klass="WRITE",
            obj="public.report_cache",
            rows=1,
        )
        _case(
            ctx,
            "LA-DB-DIRECT",
            "db.direct_write",
            "lookalike",
            [("db_audit", a), ("db_audit", b)],
            "DBA 读取支付表并写入非受保护的报表缓存表 / a DBA reads the payment table and writes an "
            "unprotected report cache table",
        )


@family
def privileged(ctx: ChunkContext, n: int) -> None:
    for k in range(n):
        t = _day(ctx, workday=False) * DAY + 23 * H + int(ctx.rng.integers(0, 1800))
        s = _session(ctx, t)
        if k % 2 == 0:
            eid = _db(
                ctx,
                t,
                "dba_wang",
                "GRANT",
                "GRANT SELECT, UPDATE ON public.payment TO u_temp01",
                session=s,
                sid=1,
                klass="ROLE",
            )
            what = "夜间授予 u_temp01 支付表更新权限 / granted UPDATE on the payment table at night"
        else:
            eid = _db(
                ctx,
                t,
                "dba_wang",
                "CREATE ROLE",
                "CREATE ROLE svc_sync LOGIN SUPERUSER PASSWORD <REDACTED>",
                session=s,
                sid=1,
                klass="ROLE",
            )
            what = "夜间创建超级用户角色 svc_sync / created a superuser role at night"
        _case(
            ctx,
            "DB-PRIV",
            "db.privileged",
            "positive",
            [("db_audit", eid)],
            what + "，无工单 / no ticket",
        )


@family
def nightly_jobs(ctx: ChunkContext, n: int) -> None:
    """The staging job and the payee extract of an ETL account, every night of the period:
    look-alikes of db.privileged, db.bulk_read and db.rare_combo."""
    if n == 0:
        return
    p = ctx.period
    user = f"etl_{_region(ctx)}"
    a = (p.start - EPOCH.date()).days
    b = (p.as_of - EPOCH.date()).days
    mid = (a + b) // 2
    picks: dict[str, str] = {}
    for d in range(a, b + 1):
        t = d * DAY + H + int(ctx.rng.integers(0, 2400))
        s = _session(ctx, t)
        e1 = _db(
            ctx,
            t,
            user,
            "TRUNCATE TABLE",
            "TRUNCATE staging.pay_sync",
            session=s,
            sid=1,
            klass="WRITE",
            obj="staging.pay_sync",
            app="kettle-etl",
            ip="10.8.5.22",
        )
        e2 = _db(
            ctx,
            t + 30,
            user,
            "CREATE TABLE",
            "CREATE TEMP TABLE tmp_sync AS SELECT voucher_id, status FROM public.payment WHERE pay_date >= current_date - 7",
            session=s,
            sid=2,
            klass="DDL",
            app="kettle-etl",
            ip="10.8.5.22",
        )
        e3 = _db(
            ctx,
            t + 200,
            user,
            "SELECT",
            "SELECT * FROM public.payee",
            session=s,
            sid=3,
            klass="READ",
            obj="public.payee",
            rows=40000 + d - a,
            app="kettle-etl",
            ip="10.8.5.22",
        )
        if d == mid:
            picks = {"trunc": e1, "temp": e2, "read": e3}
    if picks:
        _case(
            ctx,
            "LA-DB-PRIV",
            "db.privileged",
            "lookalike",
            [("db_audit", picks["trunc"]), ("db_audit", picks["temp"])],
            "ETL 账号每晚清空暂存表、建临时表（例行作业）/ the nightly staging job truncates its table "
            "and creates a temporary table (routine)",
        )
        _case(
            ctx,
            "LA-DB-BULK",
            "db.bulk_read",
            "lookalike",
            [("db_audit", picks["read"])],
            "ETL 账号每晚全量抽取收款人表（例行作业）/ the nightly ETL extracts the whole payee table (routine)",
        )
        _case(
            ctx,
            "LA-DB-RARE",
            "db.rare_combo",
            "lookalike",
            [("db_audit", picks["read"])],
            "每晚同一时段的 ETL 读取 / the nightly ETL read at its usual hour",
        )


@family
def bulk_read(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        t = _day(ctx) * DAY + 20 * H + int(ctx.rng.integers(0, 5400))
        eid = _db(
            ctx,
            t,
            "dba_zhao",
            "COPY",
            "COPY public.payee TO '/tmp/payee_all.csv' WITH (FORMAT csv, HEADER)",
            session=_session(ctx, t),
            sid=1,
            klass="READ",
            obj="public.payee",
            rows=int(ctx.rng.integers(30000, 60000)),
        )
        _case(
            ctx,
            "DB-BULK",
            "db.bulk_read",
            "positive",
            [("db_audit", eid)],
            "DBA 账号将收款人表整表导出到文件 / a DBA account exported the whole payee table to a file",
        )


_INJECTIONS = (
    "SELECT voucher_id, amount FROM public.payment WHERE voucher_id = '{v}' OR '1'='1'",
    "SELECT payee_name FROM public.payment WHERE voucher_id = '{v}' UNION SELECT usename FROM pg_shadow",
    "SELECT * FROM public.payment WHERE voucher_id = '{v}'--' AND unit_id = '{u}'",
    "SELECT * FROM public.payment WHERE voucher_id = '{v}' AND 1=1; SELECT pg_sleep(5)",
)


@family
def injection(ctx: ChunkContext, n: int) -> None:
    for k, v in enumerate(_vouchers(ctx, n)):
        t = _day(ctx) * DAY + 14 * H + int(ctx.rng.integers(0, 7200))
        stmt = _INJECTIONS[k % len(_INJECTIONS)].format(v=v["voucher_id"], u=v["unit_id"])
        eid = _db(
            ctx,
            t,
            "budget_app",
            "SELECT",
            stmt,
            session=_session(ctx, t),
            sid=1,
            klass="READ",
            obj="public.payment",
            ip="10.8.0.12",
            app="budget-app",
        )
        _case(
            ctx,
            "DB-SQLI",
            "db.sql_injection",
            "positive",
            [("db_audit", eid)],
            f"应用账号执行带注入特征的语句 / the application account ran an injected statement: {stmt}",
        )


@family
def injection_lookalike(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        t = _day(ctx) * DAY + 10 * H + int(ctx.rng.integers(0, 7200))
        s = _session(ctx, t)
        ids = [
            _db(
                ctx,
                t,
                "report_ro",
                "SELECT",
                "SELECT voucher_id FROM public.payment WHERE purpose = '维修费 -- 3月补录' OR purpose = '维修费#2'",
                session=s,
                sid=1,
                klass="READ",
                obj="public.payment",
                rows=2,
                app="finereport",
            ),
            _db(
                ctx,
                t + 20,
                "report_ro",
                "SELECT",
                "SELECT unit_id, sum(amount) FROM public.payment WHERE 1=1 AND status = 'paid' GROUP BY unit_id",
                session=s,
                sid=2,
                klass="READ",
                obj="public.payment",
                rows=60,
                app="finereport",
            ),
        ]
        _case(
            ctx,
            "LA-DB-SQLI",
            "db.sql_injection",
            "lookalike",
            [("db_audit", e) for e in ids],
            "报表账号的普通查询：字符串中含 --、#，以及 WHERE 1=1 AND / a reporting account's ordinary "
            "queries: -- and # inside strings, WHERE 1=1 AND",
        )


@family
def audit_off(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        t = _day(ctx, workday=False) * DAY + 21 * H + int(ctx.rng.integers(0, 3600))
        eid = _db(
            ctx,
            t,
            "dba_wang",
            "ALTER SYSTEM",
            "ALTER SYSTEM SET pgaudit.log = 'none'",
            session=_session(ctx, t),
            sid=1,
            klass="DDL",
        )
        _case(
            ctx,
            "DB-AUDIT-OFF",
            "db.audit_tampering",
            "positive",
            [("db_audit", eid)],
            "关闭 pgAudit 审计 / pgAudit logging turned off",
        )


@family
def audit_gap(ctx: ChunkContext, n: int) -> None:
    """Cut two consecutive records out of the middle of application sessions."""
    db = ctx.db_audit
    p = ctx.period
    span = p.as_of - p.start
    lo = dt.datetime.combine(p.start + span * 0.3, dt.time())
    hi = dt.datetime.combine(p.start + span * 0.8, dt.time())
    app = db.filter((pl.col("db_user") == "budget_app") & pl.col("event_time").is_between(lo, hi))
    sizes = app.group_by("session_id").len().filter(pl.col("len") >= 6).sort("session_id")
    if sizes.height == 0:
        return
    picks = ctx.rng.choice(sizes.height, size=min(n, sizes.height), replace=False)
    bl = ctx.business_log
    for i in sorted(picks):
        sess = app.filter(pl.col("session_id") == sizes["session_id"][int(i)]).sort("statement_id")
        cut = sess.slice(2, 2)
        before, after = sess["event_id"][1], sess["event_id"][4]
        ctx.db_audit = ctx.db_audit.filter(~pl.col("event_id").is_in(cut["event_id"].to_list()))
        _case(
            ctx,
            "DB-AUDIT-GAP",
            "db.audit_tampering",
            "positive",
            [("db_audit", before), ("db_audit", after)],
            f"应用会话 {sess['session_id'][0]} 的第 3、4 条审计记录被删除 / records 3 and 4 of an "
            "application session were deleted",
        )
        for row in cut.iter_rows(named=True):
            vid = (
                row["statement"].rsplit("'", 2)[-2]
                if row["command"] == "UPDATE"
                else row["statement"].split("'")[1]
            )
            ev = bl.filter(
                (pl.col("object_id") == vid)
                & pl.col("action").is_in(["voucher_create", "voucher_approve"])
                & ((pl.col("event_time") - row["event_time"]).abs() <= dt.timedelta(seconds=5))
            )
            for eid in ev["event_id"].to_list():
                _case(
                    ctx,
                    "DB-NOWRITE-GAP",
                    "xcheck.approval_without_write",
                    "positive",
                    [("business_log", eid)],
                    f"凭证 {vid} 的业务操作对应的数据库审计记录被删除 / the DB audit record of the "
                    f"business operation on voucher {vid} was deleted",
                )


@family
def audit_lookalike(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        t = _day(ctx) * DAY + 15 * H + int(ctx.rng.integers(0, 3600))
        s = _session(ctx, t)
        ids = [
            _db(ctx, t, "dba_zhao", "SHOW", "SHOW pgaudit.log", session=s, sid=1, klass="MISC"),
            _db(
                ctx,
                t + 30,
                "dba_zhao",
                "UPDATE",
                "UPDATE public.report_cache c SET v = p.amount FROM public.payment p WHERE c.k = p.voucher_id",
                session=s,
                sid=2,
                klass="WRITE",
                obj="public.report_cache",
                rows=3,
            ),
            _db(
                ctx,
                t + 30,
                "dba_zhao",
                "SELECT",
                "UPDATE public.report_cache c SET v = p.amount FROM public.payment p WHERE c.k = p.voucher_id",
                session=s,
                sid=2,
                klass="READ",
                obj="public.payment",
                rows=3,
            ),
            _db(
                ctx,
                t + 60,
                "dba_zhao",
                "SELECT",
                "SELECT count(*) FROM public.report_cache",
                session=s,
                sid=3,
                klass="READ",
                obj="public.report_cache",
                rows=1,
            ),
        ]
        _case(
            ctx,
            "LA-DB-AUDIT",
            "db.audit_tampering",
            "lookalike",
            [("db_audit", e) for e in ids],
            "查看审计设置；一条语句涉及两张表，记两条同编号记录 / SHOW pgaudit.log; one statement on two "
            "tables logged as two records with one number",
        )


# --------------------------------------------------------------------------- xcheck cases
_RARE_HOURS = (3, 0, 21, 6, 18, 9, 15, 12)


@family
def rare_delete(ctx: ChunkContext, n: int) -> None:
    for v in _vouchers(ctx, n):
        k = ctx.counters.get("DB-RARE", 0)  # one hour of day per case: each combination stays rare
        t = (
            _day(ctx, 0.8, 0.95) * DAY
            + _RARE_HOURS[k % len(_RARE_HOURS)] * H
            + int(ctx.rng.integers(0, 1800))
        )
        eid = _db(
            ctx,
            t,
            "budget_app",
            "DELETE",
            f"DELETE FROM public.payment WHERE voucher_id = '{v['voucher_id']}'",
            session=_session(ctx, t),
            sid=1,
            klass="WRITE",
            obj="public.payment",
            rows=1,
            ip="10.8.0.11",
            app="budget-app",
        )
        desc = (
            f"应用账号在罕见时段删除凭证 {v['voucher_id']}，无业务操作 / the application account deleted "
            f"voucher {v['voucher_id']} at an unusual hour with no business operation"
        )
        _case(ctx, "DB-RARE", "db.rare_combo", "positive", [("db_audit", eid)], desc)
        _case(
            ctx,
            "XC-UNEXPLAINED-DEL",
            "xcheck.unexplained_write",
            "positive",
            [("db_audit", eid)],
            desc,
        )


@family
def unexplained(ctx: ChunkContext, n: int) -> None:
    for v in _vouchers(ctx, n):
        t = _epoch(v["approved_at"]) + 2 * DAY
        day = int(t // DAY)
        while not ctx.period.calendar.is_workday(EPOCH.date() + dt.timedelta(days=day)):
            day += 1
        t = day * DAY + 15 * H + int(ctx.rng.integers(0, 3600))
        new = _account(ctx.rng)
        eid = _db(
            ctx,
            t,
            "budget_app",
            "UPDATE",
            f"UPDATE public.payment SET payee_account = '{new}' WHERE voucher_id = '{v['voucher_id']}'",
            session=_session(ctx, t),
            sid=1,
            klass="WRITE",
            obj="public.payment",
            rows=1,
            ip="10.8.0.13",
            app="budget-app",
        )
        _case(
            ctx,
            "XC-UNEXPLAINED",
            "xcheck.unexplained_write",
            "positive",
            [("db_audit", eid)],
            f"应用账号改写凭证 {v['voucher_id']} 收款账号，无业务操作 / the application account changed the "
            f"payee account of voucher {v['voucher_id']} with no business operation",
        )


@family
def explained(ctx: ChunkContext, n: int) -> None:
    mine = f"A{_region(ctx)}9"
    app = ctx.db_audit.filter(
        (pl.col("db_user") == "budget_app")
        & ~pl.col("event_id").str.starts_with(mine)
        & (pl.col("audit_class") == "WRITE")
    ).sort("event_id")
    if app.height == 0:
        return
    for i in sorted(ctx.rng.choice(app.height, size=min(n, app.height), replace=False)):
        eid = app["event_id"][int(i)]
        _case(
            ctx,
            "LA-XC-EXPLAINED",
            "xcheck.unexplained_write",
            "lookalike",
            [("db_audit", eid)],
            "应用自身的写入，业务日志有对应操作 / the application's own write, with its business event",
        )


@family
def approval_no_write(ctx: ChunkContext, n: int) -> None:
    for v in _vouchers(ctx, n):
        day = int(_epoch(v["approved_at"]) // DAY) + 1
        while not ctx.period.calendar.is_workday(EPOCH.date() + dt.timedelta(days=day)):
            day += 1
        t = day * DAY + 10 * H + int(ctx.rng.integers(0, 2 * H))
        eid = _biz(
            ctx,
            t,
            v["approved_by"],
            "voucher_approve",
            v["voucher_id"],
            v["unit_id"],
            {"opinion": "同意"},
        )
        _case(
            ctx,
            "XC-NOWRITE",
            "xcheck.approval_without_write",
            "positive",
            [("business_log", eid)],
            f"业务日志记录审核凭证 {v['voucher_id']}，数据库无对应写入 / the business log records an approval "
            f"of voucher {v['voucher_id']} that never reached the database",
        )


@family
def failed_approval(ctx: ChunkContext, n: int) -> None:
    for v in _vouchers(ctx, n):
        t = _epoch(v["approved_at"]) - int(ctx.rng.integers(600, 3000))
        eid = _biz(
            ctx,
            t,
            v["approved_by"],
            "voucher_approve",
            v["voucher_id"],
            v["unit_id"],
            {"error": "指标余额不足"},
            result="failure",
        )
        _case(
            ctx,
            "LA-XC-NOWRITE",
            "xcheck.approval_without_write",
            "lookalike",
            [("business_log", eid)],
            "审核失败（未落库是正常的）/ a failed approval: no write expected",
        )


@family
def _modify(ctx: ChunkContext, n: int, *, same: bool) -> None:
    for v in _vouchers(ctx, n):
        t = _epoch(v["created_at"]) + int(ctx.rng.integers(300, 1500))
        new = _account(ctx.rng)
        written = new if same else _account(ctx.rng)
        b = _biz(
            ctx,
            t,
            v["created_by"],
            "voucher_modify",
            v["voucher_id"],
            v["unit_id"],
            {"field": "payee_account", "old": v["payee_account"], "new": new},
        )
        d = _db(
            ctx,
            t + int(ctx.rng.integers(0, 4)),
            "budget_app",
            "UPDATE",
            f"UPDATE public.payment SET payee_account = '{written}' WHERE voucher_id = '{v['voucher_id']}'",
            session=_session(ctx, t),
            sid=1,
            klass="WRITE",
            obj="public.payment",
            rows=1,
            ip="10.8.0.11",
            app="budget-app",
        )
        if same:
            _case(
                ctx,
                "LA-XC-MATCH",
                "xcheck.value_mismatch",
                "lookalike",
                [("business_log", b), ("db_audit", d)],
                "修改收款账号，数据库写入值与业务日志一致 / a payee account change written as logged",
            )
        else:
            _case(
                ctx,
                "XC-MISMATCH",
                "xcheck.value_mismatch",
                "positive",
                [("business_log", b), ("db_audit", d)],
                f"业务批准收款账号 {new}，数据库写入 {written} / the business approved account {new}, "
                f"the database got {written}",
            )


def mismatch(ctx: ChunkContext, n: int) -> None:
    _modify(ctx, n, same=False)


def match(ctx: ChunkContext, n: int) -> None:
    _modify(ctx, n, same=True)


DB_FAMILIES: list[Family] = [
    Family("db_direct_write", "db.direct_write", "positive", 3, direct_write, 0, "final"),
    Family(
        "db_direct_write_la", "db.direct_write", "lookalike", 2, direct_write_lookalike, 0, "final"
    ),
    Family("db_privileged", "db.privileged", "positive", 2, privileged, 0, "final"),
    Family("db_nightly_jobs", "db.privileged", "lookalike", 1, nightly_jobs, 0, "final"),
    Family("db_bulk_read", "db.bulk_read", "positive", 2, bulk_read, 0, "final"),
    Family("db_sql_injection", "db.sql_injection", "positive", 4, injection, 0, "final"),
    Family(
        "db_sql_injection_la", "db.sql_injection", "lookalike", 2, injection_lookalike, 0, "final"
    ),
    Family("db_audit_off", "db.audit_tampering", "positive", 1, audit_off, 0, "final"),
    Family("db_audit_gap", "db.audit_tampering", "positive", 1, audit_gap, 0, "final"),
    Family("db_audit_la", "db.audit_tampering", "lookalike", 1, audit_lookalike, 0, "final"),
    Family("db_rare_delete", "db.rare_combo", "positive", 1, rare_delete, 0, "final"),
    Family("xc_unexplained", "xcheck.unexplained_write", "positive", 3, unexplained, 0, "final"),
    Family("xc_explained", "xcheck.unexplained_write", "lookalike", 3, explained, 0, "final"),
    Family(
        "xc_no_write", "xcheck.approval_without_write", "positive", 3, approval_no_write, 0, "final"
    ),
    Family(
        "xc_failed_approval",
        "xcheck.approval_without_write",
        "lookalike",
        2,
        failed_approval,
        0,
        "final",
    ),
    Family("xc_mismatch", "xcheck.value_mismatch", "positive", 3, mismatch, 0, "final"),
    Family("xc_match", "xcheck.value_mismatch", "lookalike", 2, match, 0, "final"),
]
"""The database audit families, to run after :data:`auditlib.synth.inject.FAMILIES`."""

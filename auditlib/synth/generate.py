"""``generate``: write a synthetic province-like world into a data directory."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from auditlib.synth.finalize import DATABASE, DAY, H, finalize, money_from
from auditlib.synth.inject import FAMILIES, Case, ChunkContext, Family
from auditlib.synth.names import PROGRAMS
from auditlib.synth.payments import (
    KeyGen,
    random_payments,
    recurring_payments,
    repair,
    resolve_indicators,
    special_payments,
    unit_indicators,
)
from auditlib.synth.people import make_people
from auditlib.synth.world import Period, Plan, build_plan, epoch_day
from auditlib.synth.writer import TableWriter

GROUND_TRUTH = "ground_truth.jsonl"


def all_families() -> list[Family]:
    """Every injection family: the payment families of ``inject`` and each domain's own."""
    from auditlib.synth.inject_amount import AMOUNT_FAMILIES
    from auditlib.synth.inject_bank import BANK_FAMILIES
    from auditlib.synth.inject_blog import BLOG_FAMILIES
    from auditlib.synth.inject_db import DB_FAMILIES
    from auditlib.synth.inject_money import MONEY_FAMILIES
    from auditlib.synth.inject_payroll import PAYROLL_FAMILIES
    from auditlib.synth.inject_subsidy import SUBSIDY_FAMILIES

    return [*FAMILIES, *BANK_FAMILIES, *AMOUNT_FAMILIES, *SUBSIDY_FAMILIES, *PAYROLL_FAMILIES,
            *BLOG_FAMILIES, *DB_FAMILIES, *MONEY_FAMILIES]


def generate(
    out_dir: Path,
    *,
    seed: int = 0,
    scale: float = 1.0,
    clean: bool = False,
    fmt: str = "csv",
    year: int = 2026,
    as_of: dt.date | None = None,
    families: list[Family] | None = None,
) -> dict[str, Any]:
    """Write a synthetic world into ``out_dir``: one file per table of the data contract
    (``<table>.csv`` or ``<table>.parquet``), ``auditlib.yaml`` and ``ground_truth.jsonl``.

    The same arguments always give byte-identical files. ``scale`` 1 is about 60 budget
    units in 3-4 counties and 20,000 payments for January to June; rows grow linearly with
    it. ``clean`` leaves out every positive case (look-alikes stay: they are legitimate
    data). Returns a summary: rows per table and cases per detector and kind.
    """
    if scale <= 0:
        msg = f"scale must be positive, got {scale}"
        raise ValueError(msg)
    if fmt not in ("csv", "parquet"):
        msg = f"fmt must be 'csv' or 'parquet', got {fmt!r}"
        raise ValueError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in (*out.glob("*.csv"), *out.glob("*.parquet")):
        if old.stem in _table_names():
            old.unlink()
    period = Period.build(year, as_of)
    families = all_families() if families is None else list(families)
    plan = build_plan(seed, scale, period, families)
    writer = TableWriter(out, fmt)
    writer.add("units", plan.units)
    writer.add("unit_accounts", plan.accounts)
    writer.add("subsidy_programs", _programs())

    counters: dict[str, int] = {}
    cases: list[dict[str, Any]] = []
    created = np.zeros(0, dtype=np.int64)
    indicator_rows = 0
    sample_indicator = None
    for ci, region_ids in enumerate(plan.chunks):
        units = plan.units.filter(pl.col("region_idx").is_in(region_ids))
        regions = plan.regions.filter(pl.col("region_idx").is_in(region_ids))
        rng = np.random.default_rng([seed, 1, ci])
        people = make_people(plan, units, regions, np.random.default_rng([seed, 2, ci]))
        indicators = unit_indicators(plan, units, rng)
        keys = KeyGen()
        rand, share = random_payments(plan, units, rng, keys)
        draft = pl.concat([
            rand,
            recurring_payments(plan, units, people.payroll_totals, rng, keys),
            special_payments(plan, units, rng, keys),
        ])
        draft = repair(draft, plan, rng)
        draft = _some_cancelled(draft, rng)
        draft = resolve_indicators(draft, indicators, rng, share)

        ctx = ChunkContext(plan, ci, units, draft, keys, [], counters)
        ctx.people = people  # type: ignore[attr-defined] - subsidy and payroll families edit it
        _run_families(ctx, plan, families, seed, ci, clean, "payments")
        if ctx.added:
            added = resolve_indicators(pl.concat(ctx.added), indicators,
                                       np.random.default_rng([seed, 5, ci]))
            draft = pl.concat([draft, added])
        fin = finalize(plan, draft, units, indicators, np.random.default_rng([seed, 4, ci]))
        ctx.indicators, ctx.final_accounts = fin.indicators, fin.final_accounts
        ctx.payments, ctx.bank, ctx.refs = fin.payments, fin.bank, fin.refs
        ctx.business_log, ctx.db_audit = fin.business_log, fin.db_audit  # type: ignore[attr-defined]
        _run_families(ctx, plan, families, seed, ci, clean, "final")

        writer.add("payments", ctx.payments)
        writer.add("indicators", ctx.indicators)
        writer.add("final_accounts", ctx.final_accounts)
        writer.add("bank_transactions", ctx.bank)
        writer.add("business_log", ctx.business_log)  # type: ignore[attr-defined]
        writer.add("db_audit", ctx.db_audit)  # type: ignore[attr-defined]
        writer.add("payroll", people.payroll.with_columns(
            _money("cents"), pl.col("day").cast(pl.Date).alias("pay_date")))
        if people.subsidies.height:
            writer.add("subsidies", people.subsidies.with_columns(
                _money("cents"), pl.col("day").cast(pl.Date).alias("pay_date")))
        writer.add("persons", people.persons.with_columns(
            pl.col("effective_day").cast(pl.Date).alias("effective_date")))
        if len(created) < len(fin.inserts_per_day):
            created = np.pad(created, (0, len(fin.inserts_per_day) - len(created)))
        created[: len(fin.inserts_per_day)] += fin.inserts_per_day
        indicator_rows += ctx.indicators.height
        if sample_indicator is None:
            office = ctx.indicators.filter(pl.col("economic_class") == "30201")
            sample_indicator = office["indicator_id"][0] if office.height else None
        cases.extend(_resolve(c, fin.refs) for c in ctx.cases)

    tickets, dba = _tickets(plan, sample_indicator, np.random.default_rng([seed, 6]))
    writer.add("change_tickets", tickets)
    writer.add("db_audit", pl.concat(how="diagonal", items=[
        _etl_reads(plan, created, indicator_rows, np.random.default_rng([seed, 7])), dba,
    ]).sort("event_time").with_columns(
        (pl.lit("A000000") + (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(8))
        .alias("event_id")))
    counts = writer.close()

    cases.sort(key=lambda c: c["case_id"])
    with (out / GROUND_TRUTH).open("w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    settings = {
        "as_of": period.as_of,
        "fiscal_year": period.year,
        "timezone": "Asia/Shanghai",
        "db": {
            "app_users": ["budget_app"],
            "protected_tables": ["public.payment", "public.indicator"],
            "sensitive_tables": ["public.payee", "public.person"],
        },
    }
    (out / "auditlib.yaml").write_text(
        yaml.safe_dump(settings, allow_unicode=True, sort_keys=False, default_flow_style=None),
        encoding="utf-8")

    by_det: dict[str, dict[str, int]] = {}
    for c in cases:
        d = by_det.setdefault(c["detector_id"], {"positive": 0, "lookalike": 0})
        d[c["kind"]] += 1
    return {
        "out_dir": str(out), "seed": seed, "scale": scale, "clean": clean, "fmt": fmt,
        "fiscal_year": period.year, "as_of": period.as_of.isoformat(),
        "counts": counts,
        "cases": {"positive": sum(d["positive"] for d in by_det.values()),
                  "lookalike": sum(d["lookalike"] for d in by_det.values())},
        "cases_by_detector": by_det,
    }


def _table_names() -> set[str]:
    from auditlib.schemas import TABLES

    return set(TABLES)


def _money(col: str) -> pl.Expr:
    return (pl.col(col).cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(18, 2)).alias("amount")


def _programs() -> pl.DataFrame:
    return pl.DataFrame({
        "program_code": [p[0] for p in PROGRAMS], "program_name": [p[1] for p in PROGRAMS],
        "max_amount": money_from(np.array([p[2] * 100 for p in PROGRAMS])),
        "period": [p[3] for p in PROGRAMS], "exclusive_group": [p[4] for p in PROGRAMS],
    })


def _some_cancelled(draft: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A few ordinary vouchers cancelled for good (no re-draft)."""
    pick = (rng.random(draft.height) < 0.002) & (draft["origin"] == "random").to_numpy()
    return draft.with_columns(
        pl.when(pl.Series(pick)).then(pl.lit("cancelled")).otherwise(pl.col("status"))
        .alias("status"))


def _run_families(ctx: ChunkContext, plan: Plan, families: list[Family], seed: int,
                  chunk: int, clean: bool, stage: str) -> None:
    """Run the families of ``stage``; each gets its own random stream and its own slice
    of the chunk's reserved payees, so leaving positives out (``clean``) changes nothing
    the look-alikes draw."""
    reserved = list(plan.reserved[chunk])
    offset = 0
    for k, fam in enumerate(families):
        n = plan.cases.get(fam.name, [0] * len(plan.chunks))[chunk]
        need = n * fam.payees_per_case
        mine = reserved[offset:offset + need]
        offset += need
        if fam.stage != stage or (clean and fam.kind == "positive"):
            continue
        ctx.reserved = list(mine)
        ctx.rng = np.random.default_rng([seed, 3, chunk, k])
        fam.inject(ctx, n)


def _resolve(case: Case, refs: dict[int, str]) -> dict[str, Any]:
    evidence = []
    for table, key in case.keys:
        evidence.append(f"{table}:{refs[key]}" if table == "payments" else f"{table}:{key}")
    return {"case_id": case.case_id, "detector_id": case.detector_id, "kind": case.kind,
            "evidence": evidence, "description": case.description}


def _db_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    df = pl.DataFrame(rows)
    return df.with_columns(
        pl.from_epoch("t", time_unit="s").alias("event_time"),
    ).drop("t")


def _etl_reads(plan: Plan, created: np.ndarray, n_indicators: int,
               rng: np.random.Generator) -> pl.DataFrame:
    """The nightly ETL: etl_user reads public.payment (and public.indicator) around 02:00."""
    p = plan.period
    lo = int(p.wd[0])
    cum = np.cumsum(created)
    rows = []
    for d in range(epoch_day(p.start), epoch_day(p.as_of) + 1):
        done = int(cum[min(d - lo, len(cum)) - 1]) if d - lo > 0 and len(cum) else 0
        t0 = d * DAY + 2 * H + int(rng.integers(0, 600))
        session = f"{t0 - 8 * H:x}.{30000 + d % 5000:x}"
        for j, (table, n) in enumerate((("public.payment", done),
                                        ("public.indicator", n_indicators))):
            rows.append({
                "t": t0 + j * int(rng.integers(60, 300)), "db_user": "etl_user",
                "command": "SELECT", "database": DATABASE, "client_ip": "10.8.5.21",
                "application_name": "kettle-etl", "session_id": session,
                "statement_id": j + 1, "substatement_id": 1, "audit_class": "READ",
                "object_type": "TABLE", "object_name": table,
                "statement": f"SELECT * FROM {table} WHERE fiscal_year = {p.year}",
                "parameter": "<not logged>", "rows": n, "retcode": 0,
            })
    return _db_frame(rows)


def _tickets(plan: Plan, indicator_id: str | None, rng: np.random.Generator
             ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two approved DBA maintenance tickets and the DBA's work inside their windows."""
    p = plan.period
    span = (p.as_of - p.start).days
    cal = p.calendar
    # a Saturday night (not a working day) about a third into the period
    d1 = p.start + dt.timedelta(days=int(span * 0.35))
    while d1.weekday() != 5 or cal.is_workday(d1):
        d1 += dt.timedelta(days=1)
    if d1 > p.as_of:
        d1 = p.as_of
    # a working-day evening about three quarters in
    d2 = p.start + dt.timedelta(days=int(span * 0.75))
    while not cal.is_workday(d2):
        d2 += dt.timedelta(days=1)
    d2 = min(d2, p.as_of)
    e1, e2 = epoch_day(d1) * DAY, epoch_day(d2) * DAY
    y = p.year
    tickets = pl.DataFrame({
        "ticket_id": [f"CHG-{y}-0{int(rng.integers(100, 300))}",
                      f"CHG-{y}-0{int(rng.integers(300, 600))}"],
        "db_user": ["dba_zhang", "dba_li"],
        "start_time": [e1 + 21 * H, e2 + 19 * H],
        "end_time": [e1 + 23 * H + 30 * 60, e2 + 21 * H],
        "objects": ["public.payment;public.idx_payment_pay_date", "public.indicator"],
        "description": ["支付表例行维护：VACUUM ANALYZE 及新建支付日期索引（已审批）",
                        "按财政局来函订正指标用途字段（数据订正，已审批）"],
    }).with_columns(pl.from_epoch("start_time", time_unit="s"),
                    pl.from_epoch("end_time", time_unit="s"))
    common = {"database": DATABASE, "client_ip": "10.8.9.21", "application_name": "psql",
              "substatement_id": 1, "object_type": "TABLE", "parameter": "<not logged>",
              "retcode": 0}
    s1 = f"{e1 + 21 * H + 300 - 8 * H:x}.{int(rng.integers(40000, 60000)):x}"
    s2 = f"{e2 + 19 * H + 600 - 8 * H:x}.{int(rng.integers(40000, 60000)):x}"
    ind = indicator_id or "ZB0000000000"
    rows = [
        {**common, "t": e1 + 21 * H + 600, "db_user": "dba_zhang", "command": "VACUUM",
         "session_id": s1, "statement_id": 1, "audit_class": "MISC",
         "object_name": "public.payment", "statement": "VACUUM (ANALYZE) public.payment",
         "rows": 0},
        {**common, "t": e1 + 21 * H + 1900, "db_user": "dba_zhang", "command": "CREATE INDEX",
         "session_id": s1, "statement_id": 2, "audit_class": "DDL", "object_type": "INDEX",
         "object_name": "public.idx_payment_pay_date",
         "statement": "CREATE INDEX CONCURRENTLY idx_payment_pay_date ON public.payment "
                      "(pay_date)", "rows": 0},
        {**common, "t": e2 + 19 * H + 900, "db_user": "dba_li", "command": "SELECT",
         "session_id": s2, "statement_id": 1, "audit_class": "READ",
         "object_name": "public.indicator",
         "statement": f"SELECT * FROM public.indicator WHERE indicator_id = '{ind}'",
         "rows": 1},
        {**common, "t": e2 + 19 * H + 1300, "db_user": "dba_li", "command": "UPDATE",
         "session_id": s2, "statement_id": 2, "audit_class": "WRITE",
         "object_name": "public.indicator",
         "statement": f"UPDATE public.indicator SET purpose = '办公费（含物业管理费）' "
                      f"WHERE indicator_id = '{ind}'", "rows": 1},
    ]
    return tickets, _db_frame(rows)

"""Injected cases of payroll and 三保: the ``payroll.*`` detectors.

Like :mod:`auditlib.synth.inject_subsidy` these families change the chunk's people
tables and need ``ctx.people`` (they replace its ``payroll`` frame); without it they make
no case. All run at the ``final`` stage and take no reserved payee; a unit or an employee
serves one case only.

Positives: an employee also on a second unit's payroll for one month
(``payroll.multi_unit``); a ghost's wage paid into a real employee's account for two
months (``payroll.shared_account``); a unit's month paid 3-20 days after the due date,
and a unit's month not paid at all (``payroll.late_or_missing``).

Look-alikes: a transfer to another unit from one month on; a new salary card from one
month on; a unit paying on the due day itself; a unit whose audit-month wages are not
paid yet.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from auditlib.sanbao import due_date
from auditlib.synth.ids import make_cards
from auditlib.synth.inject import ChunkContext, Family
from auditlib.synth.world import epoch_day

DUE_DAY = 15
"""The due day the ``payroll.late_or_missing`` default assumes."""


def _people(ctx: ChunkContext) -> Any:
    people = getattr(ctx, "people", None)
    if people is None or not isinstance(people.payroll, pl.DataFrame) or not people.payroll.height:
        return None
    return people


def _used(ctx: ChunkContext) -> set[str]:
    return ctx.__dict__.setdefault("payroll_used", set())


def _record(ctx: ChunkContext, prefix: str, detector_id: str, kind: str,
            keys: list[tuple[str, int | str]], description: str) -> None:
    ctx.record(prefix, detector_id, kind, keys, description)  # type: ignore[arg-type]


def _refs(rows: pl.DataFrame) -> list[tuple[str, str]]:
    rows = rows.sort("unit_id", "employee_id", "month")
    return [
        ("payroll", f"{u}|{e}|{m}")
        for u, e, m in rows.select("unit_id", "employee_id", "month").iter_rows()
    ]


def _new_card(ctx: ChunkContext) -> str:
    ctx.counters["_payroll_card"] = ctx.counters.get("_payroll_card", 0) + 1
    return str(
        make_cards(np.array([622848]), np.array([8 * 10**11 + ctx.counters["_payroll_card"]]))[0]
    )


def _months(ctx: ChunkContext) -> list[str]:
    y = ctx.period.year
    return [f"{y}-{m:02d}" for m in ctx.period.months()]


def _employee(ctx: ChunkContext, people: Any, unit: str | None = None) -> pl.DataFrame | None:
    """An unused employee of an unused unit (of ``unit`` when given) paid every month (their
    rows by month)."""
    used = _used(ctx)
    n = len(_months(ctx))
    cand = (
        people.payroll.group_by("employee_id")
        .agg(
            pl.len().alias("n"), pl.col("unit_id").n_unique().alias("nu"), pl.col("unit_id").first()
        )
        .filter(
            (pl.col("n") == n)
            & (pl.col("nu") == 1)
            & ~pl.col("employee_id").is_in(list(used))
            & ~pl.col("unit_id").is_in(list(used))
            & (pl.col("unit_id") == unit if unit is not None else pl.lit(True))
        )
        .sort("employee_id")
    )
    if not cand.height or n < 3:
        return None
    emp = cand["employee_id"][int(ctx.rng.integers(0, cand.height))]
    used.add(emp)
    return people.payroll.filter(pl.col("employee_id") == emp).sort("month")


def _unit(ctx: ChunkContext, people: Any) -> str | None:
    """An unused, untouched unit paid every month."""
    used = _used(ctx) | _touched(ctx)
    n = len(_months(ctx))
    cand = (
        people.payroll.group_by("unit_id")
        .agg(pl.col("month").n_unique().alias("n"))
        .filter((pl.col("n") == n) & ~pl.col("unit_id").is_in(list(used)))
        .sort("unit_id")
    )
    if not cand.height or n < 3:
        return None
    unit = cand["unit_id"][int(ctx.rng.integers(0, cand.height))]
    _used(ctx).add(unit)
    return unit


def _other_unit(ctx: ChunkContext, people: Any, unit: str, month: str) -> pl.DataFrame | None:
    """A row of another (unused) unit's payroll for ``month`` (its unit and pay day); both
    units are marked touched, so no later case deletes their months."""
    used = _used(ctx)
    rows = people.payroll.filter(
        (pl.col("unit_id") != unit)
        & (pl.col("month") == month)
        & ~pl.col("unit_id").is_in(list(used))
    ).sort("unit_id", "employee_id")
    if not rows.height:
        return None
    row = rows[int(ctx.rng.integers(0, rows.height))]
    _touched(ctx).update((unit, row["unit_id"][0]))
    return row


def _touched(ctx: ChunkContext) -> set[str]:
    """Units holding rows of another case: never picked for a case that deletes a month."""
    return ctx.__dict__.setdefault("payroll_touched", set())


def _set(people: Any, keep: pl.Expr, rows: pl.DataFrame) -> None:
    """Keep the payroll rows matching ``keep`` and add ``rows``."""
    kept = people.payroll.filter(keep)
    people.payroll = pl.concat([kept, rows.select(kept.columns)])


def _is(rows: pl.DataFrame) -> pl.Expr:
    """Not one of ``rows`` (by key)."""
    keys = rows.select(pl.concat_str("unit_id", "employee_id", "month", separator="|"))
    return ~pl.concat_str("unit_id", "employee_id", "month", separator="|").is_in(
        keys.to_series().implode()
    )


# ---------------------------------------------------------------------------- positives
def multi_unit(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        rows = _employee(ctx, people)
        if rows is None:
            return
        j = int(ctx.rng.integers(1, rows.height))
        row = rows[j]
        other = _other_unit(ctx, people, row["unit_id"][0], row["month"][0])
        if other is None:
            return
        cents = int(int(row["cents"][0]) * ctx.rng.uniform(0.8, 1.1))
        account = row["account_no"][0] if ctx.rng.random() < 0.5 else _new_card(ctx)
        ghost = row.with_columns(
            other["unit_id"].alias("unit_id"),
            other["unit_idx"].alias("unit_idx"),
            other["day"].alias("day"),
            pl.lit(cents, dtype=pl.Int64).alias("cents"),
            pl.lit(account).alias("account_no"),
        )
        _set(people, pl.lit(True), ghost)
        _record(
            ctx,
            "PAY-MULTI",
            "payroll.multi_unit",
            "positive",
            _refs(pl.concat([row, ghost])),
            f"人员 {row['employee_id'][0]} {row['month'][0]} 同时在 {row['unit_id'][0]} 与 "
            f"{other['unit_id'][0]} 领薪 / employee {row['employee_id'][0]} paid by two units for "
            f"{row['month'][0]}",
        )


def shared_account(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        a = _employee(ctx, people)
        b = (
            None if a is None else _employee(ctx, people, unit=a["unit_id"][0])
        )  # a ghost in a's unit
        if a is None or b is None:
            return
        j = int(ctx.rng.integers(1, a.height - 1))
        months = a["month"][j : j + 2].to_list()
        account = a["account_no"][0]
        moved = b.with_columns(
            pl.when(pl.col("month").is_in(months))
            .then(pl.lit(account))
            .otherwise(pl.col("account_no"))
            .alias("account_no")
        )
        _set(people, pl.col("employee_id") != b["employee_id"][0], moved)
        _touched(ctx).update((a["unit_id"][0], b["unit_id"][0]))
        ev = pl.concat(
            [a.filter(pl.col("month").is_in(months)), moved.filter(pl.col("month").is_in(months))]
        )
        _record(
            ctx,
            "PAY-SHARED",
            "payroll.shared_account",
            "positive",
            _refs(ev),
            f"人员 {b['employee_id'][0]} 的工资 {months[0]} 起两个月发放至 "
            f"{a['employee_id'][0]} 的账户 "
            f"{account} / {b['employee_id'][0]}'s wages for two months paid into "
            f"{a['employee_id'][0]}'s account {account}",
        )


def late(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    months = _months(ctx)
    as_of = epoch_day(ctx.period.as_of)
    for _ in range(n if people else 0):
        unit = _unit(ctx, people)
        if unit is None:
            return
        month = months[int(ctx.rng.integers(1, len(months)))]
        due = epoch_day(due_date(month, DUE_DAY, ctx.period.calendar))
        day = int(ctx.period.on_or_after(np.array([due + int(ctx.rng.integers(3, 21))]))[0])
        if day > as_of:
            month = months[1]
            due = epoch_day(due_date(month, DUE_DAY, ctx.period.calendar))
            day = int(ctx.period.on_or_after(np.array([due + 5]))[0])
        sel = (pl.col("unit_id") == unit) & (pl.col("month") == month)
        rows = people.payroll.filter(sel).with_columns(pl.lit(day, dtype=pl.Int64).alias("day"))
        _set(people, ~sel, rows)
        _record(
            ctx,
            "PAY-LATE",
            "payroll.late_or_missing",
            "positive",
            _refs(rows),
            f"单位 {unit} {month} 月工资逾期 {day - due} 天发放 / unit {unit}'s wages for {month} "
            f"paid {day - due} days late",
        )


def missing(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    months = _months(ctx)
    for _ in range(n if people else 0):
        if len(months) < 3:
            return
        unit = _unit(ctx, people)
        if unit is None:
            return
        month = months[int(ctx.rng.integers(1, len(months) - 1))]  # before the audit month
        prev = months[months.index(month) - 1]
        sel = (pl.col("unit_id") == unit) & (pl.col("month") == month)
        _set(people, ~sel, people.payroll.clear())
        before = people.payroll.filter((pl.col("unit_id") == unit) & (pl.col("month") == prev))
        _record(
            ctx,
            "PAY-MISSING",
            "payroll.late_or_missing",
            "positive",
            [("units", unit), *_refs(before.head(3))],
            f"单位 {unit} {month} 月工资未发放 / unit {unit} paid no wages for {month}",
        )


# ---------------------------------------------------------------------------- look-alikes
def transfer(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        rows = _employee(ctx, people)
        if rows is None:
            return
        j = int(ctx.rng.integers(1, rows.height))
        other = _other_unit(ctx, people, rows["unit_id"][0], rows["month"][j])
        if other is None:
            return
        later = pl.int_range(pl.len()) >= j
        moved = rows.with_columns(
            pl.when(later)
            .then(pl.lit(other["unit_id"][0]))
            .otherwise(pl.col("unit_id"))
            .alias("unit_id"),
            pl.when(later)
            .then(pl.lit(other["unit_idx"][0]))
            .otherwise(pl.col("unit_idx"))
            .alias("unit_idx"),
        )
        _set(people, pl.col("employee_id") != rows["employee_id"][0], moved)
        _record(
            ctx,
            "LA-PAY-TRANSFER",
            "payroll.multi_unit",
            "lookalike",
            _refs(moved[j - 1 : j + 1]),
            f"人员 {rows['employee_id'][0]} 自 {rows['month'][j]} 起调往 {other['unit_id'][0]}，"
            f"不同月份 / employee transferred to {other['unit_id'][0]} from {rows['month'][j]}",
        )


def new_card(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        rows = _employee(ctx, people)
        if rows is None:
            return
        j = int(ctx.rng.integers(1, rows.height))
        card = _new_card(ctx)
        moved = rows.with_columns(
            pl.when(pl.int_range(pl.len()) >= j)
            .then(pl.lit(card))
            .otherwise(pl.col("account_no"))
            .alias("account_no")
        )
        _set(people, pl.col("employee_id") != rows["employee_id"][0], moved)
        _touched(ctx).add(rows["unit_id"][0])
        _record(
            ctx,
            "LA-PAY-NEWCARD",
            "payroll.shared_account",
            "lookalike",
            _refs(moved[j - 1 : j + 1]),
            f"人员 {rows['employee_id'][0]} 自 {rows['month'][j]} 起换用新工资卡 / a new salary "
            f"card from {rows['month'][j]}",
        )


def on_due_day(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    months = _months(ctx)
    as_of = epoch_day(ctx.period.as_of)
    for _ in range(n if people else 0):
        unit = _unit(ctx, people)
        if unit is None:
            return
        month = months[int(ctx.rng.integers(0, len(months)))]
        day = epoch_day(due_date(month, DUE_DAY, ctx.period.calendar))
        if day > as_of:
            month = months[0]
            day = epoch_day(due_date(month, DUE_DAY, ctx.period.calendar))
        sel = (pl.col("unit_id") == unit) & (pl.col("month") == month)
        rows = people.payroll.filter(sel).with_columns(pl.lit(day, dtype=pl.Int64).alias("day"))
        _set(people, ~sel, rows)
        _record(
            ctx,
            "LA-PAY-DUEDAY",
            "payroll.late_or_missing",
            "lookalike",
            [("units", unit), *_refs(rows)],
            f"单位 {unit} {month} 月工资在发放日（遇节假日顺延）当天发放 / unit {unit} p"
            f"aid {month} "
            "on the due day (moved past holidays)",
        )


def audit_month_unpaid(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    months = _months(ctx)
    for _ in range(n if people else 0):
        unit = _unit(ctx, people)
        if unit is None:
            return
        sel = (pl.col("unit_id") == unit) & (pl.col("month") == months[-1])
        _set(people, ~sel, people.payroll.clear())
        _record(
            ctx,
            "LA-PAY-PENDING",
            "payroll.late_or_missing",
            "lookalike",
            [("units", unit)],
            f"单位 {unit} 审计当月（{months[-1]}）工资尚未发放，不算缺发 / unit {unit} has not "
            f"paid the audit month {months[-1]} yet: not missing",
        )


PAYROLL_FAMILIES: list[Family] = [
    Family(name, det, kind, per_scale, fn, payees_per_case=0, stage="final")
    for name, det, kind, per_scale, fn in (
        ("pay_multi_unit", "payroll.multi_unit", "positive", 2, multi_unit),
        ("pay_shared_account", "payroll.shared_account", "positive", 2, shared_account),
        ("pay_late", "payroll.late_or_missing", "positive", 2, late),
        ("pay_missing", "payroll.late_or_missing", "positive", 2, missing),
        ("pay_transfer", "payroll.multi_unit", "lookalike", 2, transfer),
        ("pay_new_card", "payroll.shared_account", "lookalike", 2, new_card),
        ("pay_due_day", "payroll.late_or_missing", "lookalike", 2, on_due_day),
        ("pay_pending", "payroll.late_or_missing", "lookalike", 1, audit_month_unpaid),
    )
]
"""The payroll and 三保 families (stage ``final``; they need ``ctx.people``)."""

"""People of a chunk: employees and their payroll, subsidy beneficiaries and their
disbursements, and the reference lists (deceased persons, public employees)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from auditlib.synth import names as N
from auditlib.synth.ids import make_cards, make_gb11643
from auditlib.synth.world import Plan, epoch_day

BINS = (622202, 622848, 621661, 622700, 622262, 623091, 621483, 621652, 621799, 622521)
"""A card BIN per bank of :data:`names.BANKS`, in the same order."""


@dataclass
class People:
    payroll: pl.DataFrame
    payroll_totals: pl.DataFrame
    """Per unit and month: ``day`` (epoch day), ``cents`` (sum), ``month`` (int)."""
    subsidies: pl.DataFrame
    persons: pl.DataFrame


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = rng.choice(list(N.SURNAMES), size=n)
    g1 = rng.choice(list(N.GIVEN_CHARS), size=n)
    g2 = rng.choice(list(N.GIVEN_CHARS), size=n)
    two = rng.random(n) < 0.7
    return np.where(two, np.char.add(np.char.add(sur, g1), g2), np.char.add(sur, g1)).astype(
        object)


def citizen_ids(rng: np.random.Generator, region_code: np.ndarray, birth_lo: np.ndarray,
                birth_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique GB 11643 ids (and birth days, epoch) for people of the given regions, born
    between ``birth_lo`` and ``birth_hi`` (epoch days)."""
    n = len(region_code)
    birth = rng.integers(birth_lo, birth_hi + 1)
    seq = rng.integers(0, 1000, size=n)
    for _ in range(50):
        key = region_code.astype(np.int64) * 10**9 + (birth + 40000) * 1000 + seq
        _, first = np.unique(key, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 1000, size=int(dup.sum()))
    ids = make_gb11643(region_code, birth.astype("datetime64[D]"), seq)
    return ids, birth


def make_people(plan: Plan, units: pl.DataFrame, regions: pl.DataFrame,
                rng: np.random.Generator) -> People:
    period = plan.period
    year = period.year
    as_of_day = epoch_day(period.as_of)
    # ------------------------------------------------------------------ employees, payroll
    emp_start = np.concatenate([[0], np.cumsum(plan.units["employees"].to_numpy())])
    u = units.select("unit_idx", "unit_id", "region_code", "employees", "pay_dom", "bank")
    n_emp = u["employees"].to_numpy()
    unit_local = np.repeat(np.arange(u.height), n_emp)
    first = emp_start[u["unit_idx"].to_numpy()]
    emp_global = np.concatenate([np.arange(f, f + k) for f, k in zip(first, n_emp, strict=True)]
                                ) if u.height else np.array([], dtype=np.int64)
    ne = len(unit_local)
    region_code = u["region_code"].cast(pl.Int64).to_numpy()[unit_local]
    lo = epoch_day(dt.date(1966, 1, 1))
    hi = epoch_day(dt.date(2003, 12, 31))
    emp_ids, emp_birth = citizen_ids(rng, region_code, np.full(ne, lo), np.full(ne, hi))
    hire = np.minimum(emp_birth + rng.integers(22 * 365, 30 * 365, size=ne),
                      epoch_day(dt.date(year - 1, 12, 1)))
    base = np.round(np.exp(np.log(6500) + 0.25 * rng.standard_normal(ne)) * 100).astype(np.int64)
    cards = make_cards(np.array(BINS)[u["bank"].to_numpy()[unit_local]],
                       10**11 + emp_global)
    emp_names = person_names(rng, ne)
    months = period.months()
    pay_rows = []
    for m in months:
        ms = epoch_day(dt.date(year, m, 1))
        dom = np.minimum(u["pay_dom"].to_numpy(), 15)
        day = period.on_or_before(ms + dom - 1)
        day = np.where(day < ms, period.on_or_after(np.full(len(day), ms)), day)
        if len(day) == 0:
            continue
        emp_day = day[unit_local]
        ok = emp_day <= as_of_day
        if not ok.any():
            continue
        var = 1 + 0.02 * rng.standard_normal(ne)
        cents = np.round(base * var).astype(np.int64)
        pay_rows.append(pl.DataFrame({
            "unit_idx": u["unit_idx"].to_numpy()[unit_local][ok],
            "unit_id": u["unit_id"].to_numpy()[unit_local][ok],
            "employee_id": np.char.add("E", np.char.zfill(emp_global[ok].astype(str), 7)),
            "month": np.full(int(ok.sum()), f"{year}-{m:02d}"),
            "month_no": np.full(int(ok.sum()), m),
            "cents": cents[ok], "account_no": cards[ok].astype(str), "day": emp_day[ok],
        }))
    payroll = pl.concat(pay_rows) if pay_rows else pl.DataFrame(schema={
        "unit_idx": pl.Int64, "unit_id": pl.String, "employee_id": pl.String,
        "month": pl.String, "month_no": pl.Int64, "cents": pl.Int64, "account_no": pl.String,
        "day": pl.Int64})
    totals = payroll.group_by("unit_idx", "month_no").agg(
        pl.col("cents").sum(), pl.col("day").first()).rename({"month_no": "month"}).sort(
        "unit_idx", "month")
    employees_persons = pl.DataFrame({
        "person_id": emp_ids.astype(str), "list_type": "public_employee",
        "name": emp_names.astype(str), "unit_id": u["unit_id"].to_numpy()[unit_local],
        "effective_day": hire,
    })

    # ------------------------------------------------------------------ subsidies
    dept_unit = (
        units.filter(pl.col("parent_id").is_null())
        .select("region_idx", "dept", "unit_id")
    )
    progs = {p[0]: p for p in N.PROGRAMS}
    reg = regions.select("region_idx", "region_code").to_dict(as_series=False)
    n_units_region = units.group_by("region_idx").len()
    per_region = dict(n_units_region.iter_rows())
    subs_rows = []
    deceased_rows = []
    for r, code in zip(reg["region_idx"], reg["region_code"], strict=True):
        nb = round(9 * per_region.get(r, 0))
        if nb == 0:
            continue
        prog = rng.choice(["BT001", "BT002", "BT003", "BT004", "BT005", "BT006"], size=nb,
                          p=[0.33, 0.10, 0.25, 0.10, 0.20, 0.02])
        d = dt.date
        lo = np.where(prog == "BT003", epoch_day(d(1926, 1, 1)), epoch_day(d(1940, 1, 1)))
        hi = np.where(prog == "BT003", epoch_day(d(year - 81, 12, 31)), epoch_day(d(2000, 12, 31)))
        ids, birth = citizen_ids(rng, np.full(nb, int(code)), lo, hi)
        names = person_names(rng, nb)
        cards = make_cards(np.array(BINS)[rng.integers(0, len(BINS), size=nb)],
                           2 * 10**11 + r * 10**6 + np.arange(nb))
        monthly = np.zeros(nb, dtype=np.int64)
        for code_p, lo_y, hi_y in (("BT001", 300, 950), ("BT002", 900, 1250),
                                   ("BT004", 150, 300)):
            m = prog == code_p
            monthly[m] = rng.integers(lo_y, hi_y + 1, size=int(m.sum())) * 100
        m3 = prog == "BT003"
        age90 = birth < epoch_day(d(year - 90, 1, 1))
        monthly[m3] = np.where(age90[m3], 200_00, 100_00)
        # deaths: 4% of the monthly beneficiaries die during the year so far
        dies = (prog != "BT005") & (prog != "BT006") & (rng.random(nb) < 0.04)
        death = np.where(dies, rng.integers(epoch_day(d(year, 1, 1)), as_of_day + 1, size=nb), -1)
        dom = int(rng.integers(8, 21))
        pays: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []
        for m in period.months():
            day = int(period.on_or_after(np.array([epoch_day(d(year, m, 1)) + dom - 1]))[0])
            if day > as_of_day:
                continue
            who = np.flatnonzero(monthly > 0)
            who = who[(death[who] < 0) | (death[who] > day)]
            pays.append((who, np.full(len(who), day), monthly[who], ""))
        # 耕地地力保护补贴: once a year, in May
        may = int(period.on_or_after(np.array([epoch_day(d(year, 5, 1)) + dom - 1]))[0])
        farm = np.flatnonzero(prog == "BT005")
        if may <= as_of_day and len(farm):
            area = rng.integers(2, 21, size=len(farm))
            pays.append((farm, np.full(len(farm), may), np.minimum(area * 120, 2400) * 100,
                         "BT005"))
        mach = np.flatnonzero(prog == "BT006")
        if len(mach):
            pays.append((mach, rng.choice(period.pay_days, size=len(mach)),
                         rng.integers(30, 301, size=len(mach)) * 100_00, "BT006"))
        for who, day, cents, fixed in pays:
            if not len(who):
                continue
            subs_rows.append(pl.DataFrame({
                "program_code": prog[who] if not fixed else np.full(len(who), fixed),
                "beneficiary_id": ids[who].astype(str), "beneficiary_name": names[who].astype(str),
                "account_no": cards[who].astype(str), "cents": cents.astype(np.int64),
                "day": day.astype(np.int64), "region_code": np.full(len(who), code),
                "region_idx": np.full(len(who), r),
            }))
        dead = np.flatnonzero(death >= 0)
        extra = max(1, nb // 100)
        x_ids, _ = citizen_ids(rng, np.full(extra, int(code)),
                               np.full(extra, epoch_day(d(1930, 1, 1))),
                               np.full(extra, epoch_day(d(1960, 12, 31))))
        # fresh ids could collide with the beneficiaries': keep only new ones
        known = set(ids)
        x_ids = np.array([x for x in x_ids if x not in known], dtype=object)
        x_death = rng.integers(epoch_day(d(year - 3, 1, 1)), as_of_day + 1, size=len(x_ids))
        deceased_rows.append(pl.DataFrame({
            "person_id": np.concatenate([ids[dead], x_ids]).astype(str),
            "list_type": "deceased",
            "name": np.concatenate([names[dead], person_names(rng, len(x_ids))]).astype(str),
            "unit_id": None,
            "effective_day": np.concatenate([death[dead], x_death]).astype(np.int64),
        }, schema_overrides={"unit_id": pl.String}))
    if subs_rows:
        subs = pl.concat(subs_rows)
        dept = subs["program_code"].replace_strict(
            {k: v[5] for k, v in progs.items()}, return_dtype=pl.String)
        subs = subs.with_columns(dept.alias("dept")).join(
            dept_unit, on=["region_idx", "dept"], how="left", maintain_order="left").sort(
            "region_idx", "day", "program_code", "beneficiary_id")
        yy = year % 100
        subs = subs.with_columns(
            (pl.lit("FF") + pl.col("region_code") + pl.lit(f"{yy:02d}")
             + (pl.int_range(pl.len()).over("region_idx") + 1).cast(pl.String).str.zfill(7)
             ).alias("disbursement_id")
        )
    else:
        subs = pl.DataFrame()
    persons = pl.concat([employees_persons.with_columns(pl.col("unit_id").cast(pl.String)),
                         *deceased_rows], how="vertical_relaxed")
    return People(payroll, totals, subs, persons)

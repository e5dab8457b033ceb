"""Injected cases of the amount-anomaly family: the ``amount.*`` detectors.

Payments-stage families, fresh reserved payees:

- ``amount_outlier`` (positive, ``amount.outlier``): one office-supplies payment (30201)
  of 400-1,000 times the median of a unit whose 30201 group holds at least 40 paid
  vouchers;
- ``amount_capital`` (look-alike, ``amount.outlier``): three progress payments of one
  equipment contract (31002), each 180-400 times the unit's 31002 median, weeks apart:
  large, but capital spending is lumpy and the three are of a size;
- ``amount_just_below`` (positive, ``amount.just_below``): 18 payments of 47,600-49,990
  yuan spread over six payees and the whole period (one payee's parts weeks apart, so no
  split or duplicate);
- ``amount_rent_below`` (look-alike, ``amount.just_below``): a monthly rent of 49,800
  yuan to one landlord (one decision, however many months);
- ``amount_benford`` (positive, ``amount.benford``): 400 invented amounts with uniform
  first digits (55,000-99,999 or 100,000-499,999 yuan: clear of the 50,000 threshold
  and of payments under it, so no split or just-below case) over eight payees, in the
  chunk's smallest unit;
- ``amount_isolated`` (positive, ``amount.isolation_forest``): one payment of 1,500-3,000
  times the unit's office median, drafted and approved between 02:00 and 03:30, to a
  payee the unit never paid.

Register by appending :data:`AMOUNT_FAMILIES` to the families the generator runs.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from auditlib.synth import names as N
from auditlib.synth.inject import ChunkContext, Family

ORIGIN = "inject.amount"


def _fmt(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def _unit_row(ctx: ChunkContext, unit_idx: int) -> dict:
    return ctx.units.filter(pl.col("unit_idx") == unit_idx).row(0, named=True)


def _groups(ctx: ChunkContext, cls: str, min_n: int) -> pl.DataFrame:
    """Units of the chunk by their count and median (cents) of paid ``cls`` drafts."""
    return (
        ctx.draft.filter((pl.col("economic_class") == cls) & (pl.col("status") == "paid"))
        .group_by("unit_idx").agg(pl.len().alias("n"), pl.col("cents").median().alias("med"))
        .filter(pl.col("n") >= min_n).sort("unit_idx")
    )


def _days(ctx: ChunkContext, k: int) -> np.ndarray:
    """``k`` working days spread evenly over the period (a little jitter)."""
    p = ctx.period
    idx = np.linspace(p.first, p.last, k + 2)[1:-1]
    idx = idx + ctx.rng.uniform(-1.5, 1.5, k)
    return p.wd[np.clip(np.round(idx).astype(int), p.first, p.last)]


def _row(ctx: ChunkContext, unit: dict, cls: str, cents: int, payee: dict, day: int,
         **extra: object) -> dict:
    return {"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": int(cents),
            "payee_idx": payee["payee_idx"], "day": int(day),
            "purpose": str(ctx.rng.choice(N.PURPOSES[cls])), "created_by": ctx.maker(unit),
            "approved_by": ctx.checker(unit), **extra}


def outliers(ctx: ChunkContext, n: int) -> None:
    rng = ctx.rng
    groups = _groups(ctx, "30201", 40)
    for _ in range(n if groups.height else 0):
        g = groups.row(int(rng.integers(0, groups.height)), named=True)
        unit = _unit_row(ctx, g["unit_idx"])
        cents = int(g["med"] * rng.uniform(400, 1000)) // 100 * 100
        keys = ctx.add([_row(ctx, unit, "30201", cents, ctx.take_payee(),
                             ctx.period.wd[ctx.pay_day_index()])], ORIGIN)
        ctx.case("AMT-OUT", "amount.outlier", "positive", keys,
                 f"办公用品支付 {_fmt(cents)} 元，约为该单位同类中位数的 "
                 f"{cents / g['med']:.0f} 倍 / office-supplies payment of {_fmt(cents)} yuan, "
                 f"{cents / g['med']:.0f}x the unit's median")


def capital_progress(ctx: ChunkContext, n: int) -> None:
    rng = ctx.rng
    groups = _groups(ctx, "31002", 5).sort("n", "unit_idx", descending=True)
    for i in range(min(n, groups.height)):
        g = groups.row(i, named=True)
        unit, payee = _unit_row(ctx, g["unit_idx"]), ctx.take_payee()
        contract = g["med"] * rng.uniform(600, 1000)
        parts = [int(contract * s) // 100 * 100 for s in (0.3, 0.4, 0.3)]
        parts[2] += 100 * int(rng.integers(1, 99))
        keys = ctx.add([_row(ctx, unit, "31002", c, payee, d)
                        for c, d in zip(parts, _days(ctx, 3), strict=True)], ORIGIN)
        ctx.case("LA-AMT-CAP", "amount.outlier", "lookalike", keys,
                 f"设备合同分三期付款，共 {_fmt(sum(parts))} 元 / an equipment contract paid in "
                 f"three instalments, {_fmt(sum(parts))} yuan in all")


def just_below(ctx: ChunkContext, n: int) -> None:
    rng = ctx.rng
    for _ in range(n):
        unit = ctx.unit()
        payees = [ctx.take_payee() for _ in range(6)]
        amounts: set[int] = set()
        while len(amounts) < 18:
            amounts.add(round(rng.uniform(47_600, 49_990) * 100))
        cls = rng.choice(["30213", "30227", "31002"], size=18)
        rows = [_row(ctx, unit, str(c), a, payees[j % 6], d)
                for j, (c, a, d) in enumerate(zip(cls, sorted(amounts), _days(ctx, 18),
                                                  strict=True))]
        keys = ctx.add(rows, ORIGIN)
        ctx.case("AMT-BELOW", "amount.just_below", "positive", keys,
                 "18 笔支付集中在 47,600-49,990 元，紧贴 50,000 元限额之下 / 18 payments of "
                 "47,600-49,990 yuan, just under the 50,000 yuan threshold")


def rent_below(ctx: ChunkContext, n: int) -> None:
    p = ctx.period
    piled = set()  # units given a just-below pile-up: a rent there would join its evidence
    for added in ctx.added:
        near = added.filter(pl.col("cents").is_between(4_750_000, 4_999_999))
        piled |= set(near["unit_idx"].to_list())
    free = ctx.units.filter(~pl.col("unit_idx").is_in(list(piled)))
    for _ in range(n if free.height else 0):
        unit = free.row(int(ctx.rng.integers(0, free.height)), named=True)
        payee = ctx.take_payee()
        rows = []
        for m in range(1, p.as_of.month + 1):
            day = int(p.on_or_after(np.array([np.datetime64(f"{p.year}-{m:02d}-05")
                                             .astype(np.int64)]))[0])
            if day <= p.wd[p.last]:
                rows.append({**_row(ctx, unit, "30201", 4_980_000, payee, day),
                             "economic_class": "30214", "purpose": f"{p.year}年{m}月房租"})
        keys = ctx.add(rows, ORIGIN)
        ctx.case("LA-AMT-RENT", "amount.just_below", "lookalike", keys,
                 f"每月房租 49,800.00 元（{len(rows)} 个月，同一房东） / a monthly rent of "
                 f"49,800.00 yuan ({len(rows)} months, one landlord)")


def benford(ctx: ChunkContext, n: int) -> None:
    rng = ctx.rng
    sizes = (ctx.draft.group_by("unit_idx").len().sort("len", "unit_idx")["unit_idx"]
             .to_list())
    for i in range(n):
        unit = _unit_row(ctx, sizes[i % len(sizes)])  # the smallest units: most invented
        payees = [ctx.take_payee() for _ in range(8)]
        k = 400
        digit = rng.integers(1, 10, size=k)
        lo = np.where(digit == 5, 55_000, np.where(digit >= 5, digit * 10_000, digit * 100_000))
        hi = np.where(digit >= 5, (digit + 1) * 10_000, (digit + 1) * 100_000)
        cents = (rng.uniform(lo, hi) * 100).astype(np.int64)
        cents = np.where(rng.random(k) < 0.5, cents // 100 * 100, cents)
        cls = rng.choice(["30213", "30227", "31002"], size=k)
        days = np.sort(rng.choice(ctx.period.pay_days, size=k))
        rows = [_row(ctx, unit, str(c), int(a), payees[j % 8], int(d))
                for j, (c, a, d) in enumerate(zip(cls, cents, days, strict=True))]
        keys = ctx.add(rows, ORIGIN)
        ctx.case("AMT-BENFORD", "amount.benford", "positive", keys,
                 f"{k} 笔首位数字均匀分布的编造金额 / {k} invented amounts with uniform first "
                 "digits")


def isolated(ctx: ChunkContext, n: int) -> None:
    rng = ctx.rng
    groups = _groups(ctx, "30201", 10)
    for _ in range(n if groups.height else 0):
        g = groups.row(int(rng.integers(0, groups.height)), named=True)
        unit = _unit_row(ctx, g["unit_idx"])
        cents = int(g["med"] * rng.uniform(1500, 3000)) // 100 * 100
        day = int(ctx.period.wd[ctx.pay_day_index()])
        created = day * 86400 + int(rng.uniform(2 * 3600, 3 * 3600))
        keys = ctx.add([_row(ctx, unit, "30201", cents, ctx.take_payee(), day,
                             created_at=created,
                             approved_at=created + int(rng.uniform(300, 1800)))], ORIGIN)
        ctx.case("AMT-IF", "amount.isolation_forest", "positive", keys,
                 f"凌晨制单并审核的新收款人大额支付 {_fmt(cents)} 元 / {_fmt(cents)} yuan to a new "
                 "payee, drafted and approved between 02:00 and 03:30")


AMOUNT_FAMILIES: list[Family] = [
    Family("amount_outlier", "amount.outlier", "positive", 4, outliers),
    Family("amount_capital", "amount.outlier", "lookalike", 2, capital_progress),
    Family("amount_just_below", "amount.just_below", "positive", 2, just_below,
           payees_per_case=6),
    Family("amount_rent_below", "amount.just_below", "lookalike", 2, rent_below),
    Family("amount_benford", "amount.benford", "positive", 1, benford, payees_per_case=8),
    Family("amount_isolated", "amount.isolation_forest", "positive", 3, isolated),
]
"""The amount-anomaly families, to run after :data:`auditlib.synth.inject.FAMILIES`."""

"""Injected cases: what a detector must find (positives) and legitimate data that merely
resembles it (look-alikes), each recorded in ``ground_truth.jsonl``.

One :class:`Family` per kind of case, in :data:`FAMILIES`. A family's ``inject`` gets a
:class:`ChunkContext` and the number of cases to make in that chunk; it adds payment
drafts with :meth:`ChunkContext.add` and records each case with
:meth:`ChunkContext.case`, naming its evidence by draft keys (turned into
``payments:<voucher_id>`` refs once voucher ids are assigned). Families of stage
``"final"`` run after voucher ids are assigned and indicators, final accounts and bank
records exist; they may change ``ctx.indicators``, ``ctx.final_accounts``,
``ctx.payments`` and ``ctx.bank`` (what is there afterwards is written), and record
evidence of other tables as ``(table, key)`` pairs.

Payees of injected cases come from a reserved pool the ordinary flow never pays, one
fresh payee per case, so a case never mixes with ordinary payments or another case.

Ground-truth semantics: ``kind="positive"``: an alert of ``detector_id`` must exist
whose evidence includes every ref listed. ``kind="lookalike"``: no alert of
``detector_id`` may contain any of the refs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from auditlib.synth import names as N
from auditlib.synth.payments import SPLIT_THRESHOLD_CENTS, KeyGen, draft_frame
from auditlib.synth.world import Period, Plan, count_for

Kind = Literal["positive", "lookalike"]

CATEGORY_CLASS = {
    "maint": "30213", "equip": "31002", "consult": "30227", "office": "30201",
    "print": "30202", "training": "30216",
}
DUPLICATE_MAX_GAP = 10
"""Calendar days between the two payments of an injected duplicate (0..10)."""
SPLIT_MAX_SPAN = 3
"""Calendar days between the first and last part of an injected split (0..3)."""


@dataclass
class Case:
    case_id: str
    detector_id: str
    kind: Kind
    keys: list[tuple[str, int | str]]
    """Evidence as (table, draft key) for payments, or (table, final key) for others."""
    description: str


@dataclass
class ChunkContext:
    """What an injection family sees of one chunk, and how it adds to it."""

    plan: Plan
    chunk: int
    units: pl.DataFrame
    draft: pl.DataFrame
    """The ordinary payments of the chunk (read only)."""
    keys: KeyGen
    reserved: list[int]
    counters: dict[str, int]
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    added: list[pl.DataFrame] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    # final stage only (after voucher ids, indicators and bank records exist):
    indicators: pl.DataFrame | None = None
    final_accounts: pl.DataFrame | None = None
    payments: pl.DataFrame | None = None
    """The chunk's payments table (canonical columns plus ``_key``, the draft key)."""
    bank: pl.DataFrame | None = None
    """The chunk's bank transactions (canonical columns)."""
    refs: dict[int, str] | None = None
    """Draft key -> voucher id."""

    @property
    def period(self) -> Period:
        return self.plan.period

    # ---------------------------------------------------------------- payees, users
    def take_payee(self) -> dict[str, Any]:
        """A fresh reserved payee (``payee_idx``, ``payee_name``, ``category``...)."""
        if not self.reserved:
            msg = f"chunk {self.chunk}: out of reserved payees"
            raise RuntimeError(msg)
        idx = self.reserved.pop(0)
        return self.plan.payees.row(idx, named=True)

    def unit(self) -> dict[str, Any]:
        return self.units.row(int(self.rng.integers(0, self.units.height)), named=True)

    def maker(self, unit: dict[str, Any]) -> str:
        return f"{unit['unit_id'].lower()}.zd{int(self.rng.integers(1, unit['makers'] + 1))}"

    def checker(self, unit: dict[str, Any]) -> str:
        return f"{unit['unit_id'].lower()}.sh{int(self.rng.integers(1, unit['checkers'] + 1))}"

    # ---------------------------------------------------------------- days
    def pay_day_index(self, room: int = 0) -> int:
        """Index in ``period.wd`` of a random pay day with ``room`` working days after it
        still on or before ``as_of``."""
        p = self.period
        hi = max(p.first, p.last - room)
        return int(self.rng.integers(p.first + 1, hi + 1)) if hi > p.first else p.first

    def days_within(self, i: int, span: int) -> np.ndarray:
        """Working days from ``wd[i]`` to ``span`` calendar days later, up to ``as_of``."""
        p = self.period
        wd = p.wd[i:p.last + 1]
        return wd[wd <= p.wd[i] + span]

    # ---------------------------------------------------------------- output
    def add(self, rows: list[dict[str, Any]], origin: str) -> list[int]:
        """Add payment drafts; returns their keys. Each row needs ``unit_idx``,
        ``economic_class``, ``day``, ``cents``, ``payee_idx``, ``purpose``,
        ``created_by``, ``approved_by``; optional ``status`` (default paid),
        ``pay_method``, ``name_override``, ``created_at``/``approved_at``/``cancel_at``
        (epoch seconds, local), ``return_day``, ``indicator_id``."""
        keys = self.keys.take(len(rows))
        data: dict[str, list] = {c: [] for c in (
            "_key", "unit_idx", "economic_class", "indicator_id", "day", "cents",
            "payee_idx", "name_override", "purpose", "pay_method", "status", "created_by",
            "approved_by", "created_at", "approved_at", "cancel_at", "return_day")}
        for k, r in zip(keys, rows, strict=True):
            r = {"status": "paid", "_key": int(k), **r}
            r.setdefault("pay_method", "direct" if r["cents"] >= 1_000_000 else "authorized")
            for c in data:
                data[c].append(r.get(c))
        data["origin"] = [origin] * len(rows)
        self.added.append(draft_frame(data, len(rows)))
        return [int(k) for k in keys]

    def case(self, prefix: str, detector_id: str, kind: Kind, keys: list[int],
             description: str, table: str = "payments") -> None:
        self.record(prefix, detector_id, kind, [(table, k) for k in keys], description)

    def record(self, prefix: str, detector_id: str, kind: Kind,
               keys: list[tuple[str, int | str]], description: str) -> None:
        """A case whose evidence may mix tables: payments by draft key, others by their key."""
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        self.cases.append(Case(
            f"{prefix}-{self.counters[prefix]:04d}", detector_id, kind, list(keys), description))


@dataclass(frozen=True)
class Family:
    name: str
    detector_id: str
    kind: Kind
    per_scale: float
    """Cases at scale 1 (0 for families whose cases come from the data itself)."""
    inject: Callable[[ChunkContext, int], None]
    payees_per_case: int = 1
    stage: Literal["payments", "final"] = "payments"

    def count(self, scale: float) -> int:
        return count_for(self.per_scale, scale)


# ---------------------------------------------------------------------------------- helpers
def name_variant(name: str, rng: np.random.Generator) -> str:
    """The same payee written differently: half-width brackets, or stray spaces."""
    options = []
    if "（" in name:
        options += [name.replace("（", "(").replace("）", ")")] * 2
    cut = 2 if len(name) > 4 else 1
    options += [
        name[:cut] + " " + name[cut:],
        name[:cut] + "\u3000" + name[cut:],
        name.replace("有限公司", " 有限公司") if "有限公司" in name else name + " ",
        name + " ",
    ]
    return options[int(rng.integers(0, len(options)))]


SMALL_RANGE = {
    "office": (300, 6_000), "print": (500, 8_000), "training": (3_000, 20_000),
    "maint": (1_000, 20_000), "equip": (2_000, 20_000), "consult": (2_000, 24_000),
}
"""Yuan ranges of injected amounts under half the split threshold, per payee category."""


def _amount_off_threshold(rng: np.random.Generator, category: str) -> int:
    """An amount (cents) two copies of which cannot make a split: >= the threshold
    (for categories where large contracts are ordinary) or under half of it."""
    if category in ("maint", "equip", "consult") and rng.random() < 0.5:
        yuan = rng.uniform(52_000, 200_000)
    else:
        lo, hi = SMALL_RANGE[category]
        yuan = rng.uniform(lo, hi)
    return round(yuan) * 100 if rng.random() < 0.5 else round(yuan * 100)


def _purpose(category: str, rng: np.random.Generator) -> str:
    return str(rng.choice(N.PURPOSES[CATEGORY_CLASS[category]]))


def _fmt(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def _clock(day: int, seconds: float) -> int:
    return int(day) * 86400 + int(seconds)


# ---------------------------------------------------------------------------------- families
def duplicates(ctx: ChunkContext, n: int) -> None:
    """``payments.duplicate`` positives: the same payee account paid the same amount twice
    within 0-10 days under two vouchers, the second often with the name written
    differently."""
    rng = ctx.rng
    for _ in range(n):
        unit = ctx.unit()
        payee = ctx.take_payee()
        cls = CATEGORY_CLASS[payee["category"]]
        cents = _amount_off_threshold(rng, payee["category"])
        i = ctx.pay_day_index()
        days = ctx.days_within(i, DUPLICATE_MAX_GAP)
        d1 = int(days[0])
        d2 = int(rng.choice(days))
        purpose = _purpose(payee["category"], rng)
        variant = rng.random() < 0.75
        second_name = name_variant(payee["payee_name"], rng) if variant else None
        maker = ctx.maker(unit)
        base = {"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": cents,
                "payee_idx": payee["payee_idx"], "purpose": purpose}
        keys = ctx.add([
            {**base, "day": d1, "created_by": maker, "approved_by": ctx.checker(unit)},
            {**base, "day": d2, "name_override": second_name,
             "created_by": maker if rng.random() < 0.5 else ctx.maker(unit),
             "approved_by": ctx.checker(unit)},
        ], "inject.duplicate")
        ctx.case(
            "DUP", "payments.duplicate", "positive", keys,
            f"同一收款账户 {payee['payee_account']} 重复支付 {_fmt(cents)} 元，间隔 "
            f"{d2 - d1} 天" + ("，收款人名称写法不同" if variant else "")
            + f" / duplicate payment of {_fmt(cents)} yuan to account "
            f"{payee['payee_account']}, {d2 - d1} days apart"
            + (" (payee name written differently)" if variant else ""),
        )


def splits(ctx: ChunkContext, n: int) -> None:
    """``payments.split`` positives: 2-5 payments of 45,000-49,900 yuan each to one payee
    within 3 days, together over the 50,000 threshold."""
    rng = ctx.rng
    for _ in range(n):
        unit = ctx.unit()
        payee = ctx.take_payee()
        cls = CATEGORY_CLASS[payee["category"]]
        k = int(rng.choice([2, 3, 4, 5], p=[0.35, 0.35, 0.2, 0.1]))
        amounts: set[int] = set()
        while len(amounts) < k:
            yuan = rng.uniform(45_000, 49_900)
            amounts.add(round(yuan / 100) * 10_000 if rng.random() < 0.5
                        else round(yuan * 100))
        i = ctx.pay_day_index()
        days = ctx.days_within(i, SPLIT_MAX_SPAN)
        part_days = np.sort(np.r_[days[0], rng.choice(days, size=k - 1)])
        purpose = _purpose(payee["category"], rng)
        maker = ctx.maker(unit)
        rows = [{"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": c,
                 "payee_idx": payee["payee_idx"], "day": int(d),
                 "purpose": f"{purpose}（第{j + 1}期）" if rng.random() < 0.5 else purpose,
                 "created_by": maker, "approved_by": ctx.checker(unit)}
                for j, (c, d) in enumerate(zip(sorted(amounts), part_days, strict=True))]
        keys = ctx.add(rows, "inject.split")
        total = sum(amounts)
        ctx.case(
            "SPLIT", "payments.split", "positive", keys,
            f"{k} 笔均低于 50,000 元的支付在 {int(part_days[-1] - part_days[0])} 天内付给同一收款人"
            f" {payee['payee_name']}，合计 {_fmt(total)} 元 / {k} payments each under 50,000"
            f" yuan to one payee within {int(part_days[-1] - part_days[0])} days, "
            f"{_fmt(total)} yuan in total",
        )


def recurring_lookalikes(ctx: ChunkContext, n: int) -> None:
    """Monthly rent and property fees: the same payee and amount about 30 days apart."""
    d = ctx.draft.filter(pl.col("origin").is_in(["rent", "property"]))
    if not d.height:
        return
    series = d.group_by("series", maintain_order=True).agg(
        pl.col("_key"), pl.col("cents").n_unique().alias("amounts"), pl.col("origin").first(),
        pl.col("cents").first().alias("cents"), pl.len())
    for row in series.filter((pl.col("len") >= 2) & (pl.col("amounts") == 1)).iter_rows(
            named=True):
        word = "房租" if row["origin"] == "rent" else "物业费"
        ctx.case(
            "LA-DUP-MONTHLY", "payments.duplicate", "lookalike", list(row["_key"]),
            f"每月{word} {_fmt(row['cents'])} 元付给同一收款人（约30天一次），不是重复支付 / "
            f"monthly {row['origin']} of {_fmt(row['cents'])} yuan to the same payee "
            "about 30 days apart: not a duplicate",
        )


def cancelled_redrafts(ctx: ChunkContext, n: int) -> None:
    """A voucher cancelled (作废) after approval and re-drafted identically the next day."""
    rng = ctx.rng
    p = ctx.period
    for _ in range(n):
        unit = ctx.unit()
        payee = ctx.take_payee()
        cls = CATEGORY_CLASS[payee["category"]]
        cents = _amount_off_threshold(rng, payee["category"])
        i = ctx.pay_day_index()
        day, prev = int(p.wd[i]), int(p.wd[i - 1])
        c1 = _clock(prev, rng.uniform(9 * 3600, 11 * 3600))
        a1 = c1 + int(rng.uniform(1200, 5400))
        x1 = a1 + int(rng.uniform(1800, 7200))
        c2 = _clock(day, rng.uniform(8.6 * 3600, 10.5 * 3600))
        a2 = c2 + int(rng.uniform(600, 3600))
        maker = ctx.maker(unit)
        base = {"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": cents,
                "payee_idx": payee["payee_idx"], "purpose": _purpose(payee["category"], rng),
                "day": day, "created_by": maker}
        keys = ctx.add([
            {**base, "status": "cancelled", "approved_by": ctx.checker(unit),
             "created_at": c1, "approved_at": a1, "cancel_at": x1},
            {**base, "approved_by": ctx.checker(unit), "created_at": c2, "approved_at": a2},
        ], "lookalike.cancelled")
        ctx.case(
            "LA-DUP-CANCEL", "payments.duplicate", "lookalike", keys,
            f"凭证作废后按原内容重新制单支付 {_fmt(cents)} 元，只付了一次 / a voucher cancelled "
            f"and re-drafted identically ({_fmt(cents)} yuan): paid once",
        )


def returned_repaid(ctx: ChunkContext, n: int) -> None:
    """A payment returned by the bank (退票) and paid again to the same account under a new
    voucher a few days later."""
    rng = ctx.rng
    p = ctx.period
    for _ in range(n):
        unit = ctx.unit()
        payee = ctx.take_payee()
        cls = CATEGORY_CLASS[payee["category"]]
        cents = _amount_off_threshold(rng, payee["category"])
        i = ctx.pay_day_index(room=5)
        d1 = int(p.wd[i])
        back = int(p.wd[min(i + 1, p.last)])
        d2 = int(p.wd[min(i + int(rng.integers(2, 6)), p.last)])
        purpose = _purpose(payee["category"], rng)
        base = {"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": cents,
                "payee_idx": payee["payee_idx"]}
        keys = ctx.add([
            {**base, "day": d1, "status": "returned", "return_day": back, "purpose": purpose,
             "created_by": ctx.maker(unit), "approved_by": ctx.checker(unit)},
            {**base, "day": d2, "purpose": f"{purpose}（退票重付）",
             "created_by": ctx.maker(unit), "approved_by": ctx.checker(unit)},
        ], "lookalike.returned")
        ctx.case(
            "LA-DUP-RETURN", "payments.duplicate", "lookalike", keys,
            f"支付 {_fmt(cents)} 元被银行退票后向同一账户重新支付，只付了一次 / a payment of "
            f"{_fmt(cents)} yuan returned by the bank and paid again to the same account",
        )


def small_groups(ctx: ChunkContext, n: int) -> None:
    """2-4 payments to one payee within 3 days that together stay under the threshold."""
    rng = ctx.rng
    for _ in range(n):
        unit = ctx.unit()
        payee = ctx.take_payee()
        cls = CATEGORY_CLASS[payee["category"]]
        k = int(rng.integers(2, 5))
        total = rng.uniform(0.3, 0.85) * SPLIT_THRESHOLD_CENTS
        shares = rng.dirichlet(np.full(k, 3.0))
        cents = [max(100_000, round(total * s)) for s in shares]
        while len(set(cents)) < k:
            cents = [c + int(rng.integers(1, 100)) for c in cents]
        i = ctx.pay_day_index()
        days = ctx.days_within(i, SPLIT_MAX_SPAN)
        part_days = np.sort(np.r_[days[0], rng.choice(days, size=k - 1)])
        maker = ctx.maker(unit)
        keys = ctx.add([
            {"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": c,
             "payee_idx": payee["payee_idx"], "day": int(d),
             "purpose": _purpose(payee["category"], rng), "created_by": maker,
             "approved_by": ctx.checker(unit)}
            for c, d in zip(cents, part_days, strict=True)
        ], "lookalike.small_group")
        ctx.case(
            "LA-SPLIT-SMALL", "payments.split", "lookalike", keys,
            f"{k} 笔小额支付付给同一收款人，合计 {_fmt(sum(cents))} 元，未达 50,000 元 / {k} small "
            f"payments to one payee totalling {_fmt(sum(cents))} yuan, under the threshold",
        )


FAMILIES: list[Family] = [
    Family("duplicate", "payments.duplicate", "positive", 10, duplicates),
    Family("split", "payments.split", "positive", 8, splits),
    Family("monthly", "payments.duplicate", "lookalike", 0, recurring_lookalikes,
           payees_per_case=0),
    Family("cancelled", "payments.duplicate", "lookalike", 4, cancelled_redrafts),
    Family("returned", "payments.duplicate", "lookalike", 4, returned_repaid),
    Family("small_group", "payments.split", "lookalike", 6, small_groups),
]
"""Every injection family, in the order they run. Add new families here."""

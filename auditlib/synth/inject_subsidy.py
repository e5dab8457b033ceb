"""Injected cases of 一卡通 subsidies: the ``subsidy.*`` detectors.

These families change the chunk's people tables, so they need them on the context:
``ctx.people`` (a :class:`auditlib.synth.people.People`, whose ``subsidies`` and
``persons`` frames they replace). Where the generator does not set it they make no case.
All run at the ``final`` stage and take no reserved payee; a beneficiary serves one case
only. Beneficiaries are picked among those paid monthly, every month, by one program and
not on the deceased list.

Positives: a second payment in the same month (``subsidy.duplicate``); 特困 paid beside
低保 in one month (``subsidy.exclusive``); one month paid above the standard
(``subsidy.over_standard``); payments continuing after a recorded death
(``subsidy.deceased``); 低保 paid to a public employee (``subsidy.public_employee``); the
subsidies of 5-8 villagers paid into one new account (``subsidy.shared_account``); a
beneficiary's id with a wrong check digit (``subsidy.invalid_id``).

Look-alikes: a monthly beneficiary's ordinary payments; a missed month paid with the next
(补发); 低保 switched to 特困 between months; the standard paid exactly; a death a few
days before the last payment (in flight) and a death after the last payment; 耕地地力保护
补贴 paid to a public employee; a household of three sharing one card; a masked id and a
lower-case ``x``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from auditlib.synth.ids import GB11643_CODES, make_cards
from auditlib.synth.inject import ChunkContext, Family
from auditlib.synth.names import PROGRAMS
from auditlib.synth.world import epoch_day, from_epoch_day

MONTHLY = tuple(p[0] for p in PROGRAMS if p[3] == "month")
MAX_CENTS = {p[0]: p[2] * 100 for p in PROGRAMS}


# ---------------------------------------------------------------------------- helpers
def _people(ctx: ChunkContext) -> Any:
    people = getattr(ctx, "people", None)
    if (
        people is None
        or not isinstance(people.subsidies, pl.DataFrame)
        or not people.subsidies.height
    ):
        return None
    return people


def _used(ctx: ChunkContext) -> set[str]:
    return ctx.__dict__.setdefault("subsidy_used", set())


def _record(ctx: ChunkContext, prefix: str, detector_id: str, kind: str,
            keys: list[tuple[str, int | str]], description: str) -> None:
    ctx.record(prefix, detector_id, kind, keys, description)  # type: ignore[arg-type]


def _refs(rows: pl.DataFrame) -> list[tuple[str, str]]:
    return [("subsidies", d) for d in rows.sort("day", "disbursement_id")["disbursement_id"]]


def _new_id(ctx: ChunkContext, region_code: str) -> str:
    ctx.counters["_subsidy_id"] = ctx.counters.get("_subsidy_id", 0) + 1
    return f"FX{region_code}{ctx.period.year % 100:02d}{ctx.counters['_subsidy_id']:07d}"


def _new_card(ctx: ChunkContext) -> str:
    ctx.counters["_subsidy_card"] = ctx.counters.get("_subsidy_card", 0) + 1
    return str(
        make_cards(np.array([621799]), np.array([9 * 10**11 + ctx.counters["_subsidy_card"]]))[0]
    )


def _fmt(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def _pick(
    ctx: ChunkContext,
    people: Any,
    k: int = 1,
    programs: tuple[str, ...] = MONTHLY,
    same_region: bool = False,
) -> list[pl.DataFrame]:
    """``k`` unused monthly beneficiaries (their payments, by day), or [] when none left."""
    subs = people.subsidies
    dead = set(people.persons.filter(pl.col("list_type") == "deceased")["person_id"].to_list())
    used = _used(ctx)
    n_months = len(ctx.period.months())
    cand = (
        subs.group_by("beneficiary_id")
        .agg(
            pl.len().alias("n"),
            pl.col("program_code").n_unique().alias("np"),
            pl.col("program_code").first().alias("prog"),
            pl.col("region_code").first().alias("region"),
        )
        .filter(
            (pl.col("n") == n_months)
            & (pl.col("np") == 1)
            & pl.col("prog").is_in(list(programs))
            & ~pl.col("beneficiary_id").is_in(list(dead | used))
        )
        .sort("beneficiary_id")
    )
    if same_region and cand.height:
        regions = cand.group_by("region").len().filter(pl.col("len") >= k).sort("region")["region"]
        if not len(regions):
            return []
        cand = cand.filter(pl.col("region") == regions[int(ctx.rng.integers(0, len(regions)))])
    if cand.height < k or n_months < 3:
        return []
    ids = cand["beneficiary_id"].to_list()
    chosen = [ids[i] for i in ctx.rng.choice(len(ids), size=k, replace=False)]
    used.update(chosen)
    return [subs.filter(pl.col("beneficiary_id") == b).sort("day") for b in chosen]


def _add(people: Any, rows: pl.DataFrame) -> None:
    people.subsidies = pl.concat([people.subsidies, rows.select(people.subsidies.columns)])


def _replace(people: Any, bid: str, rows: pl.DataFrame) -> None:
    """Replace every payment of beneficiary ``bid`` by ``rows``."""
    keep = people.subsidies.filter(pl.col("beneficiary_id") != bid)
    people.subsidies = pl.concat([keep, rows.select(keep.columns)])


def _month_end(day: int) -> int:
    d = from_epoch_day(day)
    nxt = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return epoch_day(nxt) - 1


# ---------------------------------------------------------------------------- positives
def duplicate(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        j = int(ctx.rng.integers(1, rows.height))
        row = rows[j]
        day = int(row["day"][0])
        day2 = min(day + int(ctx.rng.integers(0, 10)), _month_end(day), epoch_day(ctx.period.as_of))
        new = row.with_columns(
            pl.lit(_new_id(ctx, row["region_code"][0])).alias("disbursement_id"),
            pl.lit(day2, dtype=pl.Int64).alias("day"),
        )
        _add(people, new)
        cents, prog = int(row["cents"][0]), row["program_code"][0]
        refs = _refs(pl.concat([row, new]))
        _record(
            ctx,
            "SUB-DUP",
            "subsidy.duplicate",
            "positive",
            refs,
            f"受益人 {row['beneficiary_id'][0]} 同月重复发放 {_fmt(cents)} 元 / the same month's "
            f"{_fmt(cents)} yuan paid twice to beneficiary {row['beneficiary_id'][0]}",
        )
        if 2 * cents > MAX_CENTS[prog]:  # paid twice is also above the standard
            _record(
                ctx,
                "SUB-DUP-OVER",
                "subsidy.over_standard",
                "positive",
                refs,
                f"重复发放使当月合计 {_fmt(2 * cents)} 元超过标准 "
                f"{_fmt(MAX_CENTS[prog])} 元 / paid "
                f"twice, the month's {_fmt(2 * cents)} yuan is above the standard "
                f"{_fmt(MAX_CENTS[prog])}",
            )


def exclusive(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people, programs=("BT001",))
        if not picked:
            return
        rows = picked[0]
        row = rows[int(ctx.rng.integers(0, rows.height))]
        cents = int(ctx.rng.integers(900, 1251)) * 100
        new = row.with_columns(
            pl.lit(_new_id(ctx, row["region_code"][0])).alias("disbursement_id"),
            pl.lit("BT002").alias("program_code"),
            pl.lit(cents, dtype=pl.Int64).alias("cents"),
        )
        _add(people, new)
        _record(
            ctx,
            "SUB-EXCL",
            "subsidy.exclusive",
            "positive",
            _refs(pl.concat([row, new])),
            f"同月同时领取低保与特困供养（{_fmt(cents)} 元）/ 低保 and 特困 support "
            f"({_fmt(cents)} yuan) paid to one person in one month",
        )


def over_standard(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        j = int(ctx.rng.integers(0, rows.height))
        prog = rows["program_code"][0]
        cents = int(MAX_CENTS[prog] * ctx.rng.uniform(1.2, 2.5)) // 100 * 100
        rows = rows.with_columns(
            pl.when(pl.int_range(pl.len()) == j)
            .then(pl.lit(cents, dtype=pl.Int64))
            .otherwise(pl.col("cents"))
            .alias("cents")
        )
        _replace(people, rows["beneficiary_id"][0], rows)
        _record(
            ctx,
            "SUB-OVER",
            "subsidy.over_standard",
            "positive",
            _refs(rows[j]),
            f"{prog} 单月发放 {_fmt(cents)} 元，超过标准 {_fmt(MAX_CENTS[prog])} 元 / {prog} paid "
            f"{_fmt(cents)} yuan in one month, standard {_fmt(MAX_CENTS[prog])}",
        )


def _death_row(bid: str, name: str, day: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [bid],
            "list_type": ["deceased"],
            "name": [name],
            "unit_id": [None],
            "effective_day": [day],
        },
        schema_overrides={"unit_id": pl.String, "effective_day": pl.Int64},
    )


def _add_person(people: Any, row: pl.DataFrame) -> None:
    people.persons = pl.concat(
        [people.persons, row.select(people.persons.columns)], how="vertical_relaxed"
    )


def deceased(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        j = int(ctx.rng.integers(0, rows.height - 2))  # two payments or more after the death
        death = int(rows["day"][j]) + int(ctx.rng.integers(1, 7))
        bid, name = rows["beneficiary_id"][0], rows["beneficiary_name"][0]
        _add_person(people, _death_row(bid, name, death))
        after = rows.filter(pl.col("day") > death)
        _record(
            ctx,
            "SUB-DEAD",
            "subsidy.deceased",
            "positive",
            [("persons", f"{bid}|deceased"), *_refs(after)],
            f"{name} 于 {from_epoch_day(death)} 死亡后仍发放 {after.height} 笔 / {after.height} "
            f"payment(s) after {name}'s death on {from_epoch_day(death)}",
        )


def public_employee(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        emp = _employee(ctx, people)
        picked = _pick(ctx, people, programs=("BT001",))
        if emp is None or not picked:
            return
        template = picked[0].tail(int(ctx.rng.integers(1, 4)))
        _used(ctx).discard(picked[0]["beneficiary_id"][0])
        new = _as_person(ctx, template, emp)
        _add(people, new)
        _record(
            ctx,
            "SUB-EMP",
            "subsidy.public_employee",
            "positive",
            [("persons", f"{emp['person_id']}|public_employee"), *_refs(new)],
            f"财政供养人员 {emp['name']}（单位 {emp['unit_id']}）领取低保 {new.height} 笔 / public "
            f"employee {emp['name']} of unit {emp['unit_id']} paid 低保 {new.height} time(s)",
        )


def _employee(ctx: ChunkContext, people: Any) -> dict[str, Any] | None:
    used = _used(ctx)
    emps = people.persons.filter(
        (pl.col("list_type") == "public_employee") & ~pl.col("person_id").is_in(list(used))
    ).sort("person_id")
    if not emps.height:
        return None
    emp = emps.row(int(ctx.rng.integers(0, emps.height)), named=True)
    used.add(emp["person_id"])
    return emp


def _as_person(
    ctx: ChunkContext, template: pl.DataFrame, emp: dict[str, Any], program: str | None = None
) -> pl.DataFrame:
    card = _new_card(ctx)
    region = template["region_code"][0]
    return template.with_columns(
        pl.Series("disbursement_id", [_new_id(ctx, region) for _ in range(template.height)]),
        pl.lit(emp["person_id"]).alias("beneficiary_id"),
        pl.lit(emp["name"]).alias("beneficiary_name"),
        pl.lit(card).alias("account_no"),
        *([pl.lit(program).alias("program_code")] if program else []),
    )


def shared_account(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        k = int(ctx.rng.integers(5, 9))
        picked = _pick(ctx, people, k=k, same_region=True)
        if not picked:
            return
        card = _new_card(ctx)
        rows = []
        for r in picked:
            moved = r.with_columns(pl.lit(card).alias("account_no"))
            _replace(people, r["beneficiary_id"][0], moved)
            rows.append(moved)
        allrows = pl.concat(rows)
        _record(
            ctx,
            "SUB-SHARED",
            "subsidy.shared_account",
            "positive",
            _refs(allrows),
            f"{k} 名村民的补贴发放至同一账户 {card}（代领）/ the subsidies of {k} villagers "
            f"paid into one account {card}",
        )


def invalid_id(ctx: ChunkContext, n: int) -> None:
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        bid = rows["beneficiary_id"][0]
        wrong = [c for c in GB11643_CODES if c != bid[17]]
        bad = bid[:17] + wrong[int(ctx.rng.integers(0, len(wrong)))]
        _used(ctx).add(bad)
        _replace(people, bid, rows.with_columns(pl.lit(bad).alias("beneficiary_id")))
        _record(
            ctx,
            "SUB-BADID",
            "subsidy.invalid_id",
            "positive",
            _refs(rows),
            f"身份证号 {bad} 校验位错误（应为 {bid[17]}）/ id {bad} has a wrong check character "
            f"(should be {bid[17]})",
        )


# ---------------------------------------------------------------------------- look-alikes
def monthly(ctx: ChunkContext, n: int) -> None:
    """Ordinary monthly payments: the same person, a different month each."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        _record(
            ctx,
            "LA-SUB-MONTHLY",
            "subsidy.duplicate",
            "lookalike",
            _refs(rows),
            f"每月发放一次，共 {rows.height} 个月，不是重复发放 / paid once a month for "
            f"{rows.height} months: not a duplicate",
        )


def catch_up(ctx: ChunkContext, n: int) -> None:
    """A month missed and paid with the next month's payment (补发)."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        j = int(ctx.rng.integers(1, rows.height - 1))
        nxt = rows[j + 1]
        day = int(nxt["day"][0])
        extra = nxt.with_columns(
            pl.lit(_new_id(ctx, nxt["region_code"][0])).alias("disbursement_id"),
            pl.lit(
                min(day + 1, _month_end(day), epoch_day(ctx.period.as_of)), dtype=pl.Int64
            ).alias("day"),
            rows[j]["cents"].alias("cents"),
        )
        kept = pl.concat([rows.filter(pl.int_range(pl.len()) != j), extra])
        _replace(people, rows["beneficiary_id"][0], kept)
        refs = _refs(pl.concat([rows[j - 1], nxt, extra]))
        for det in ("subsidy.duplicate", "subsidy.over_standard"):
            _record(
                ctx,
                "LA-SUB-CATCHUP",
                det,
                "lookalike",
                refs,
                "漏发一个月，次月补发（补发），不是重复或超标准 / a missed month paid with the "
                "next one (补发): not a duplicate, not above the standard",
            )


def switch(ctx: ChunkContext, n: int) -> None:
    """低保 until one month, 特困 from the next: never both in one month."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people, programs=("BT001",))
        if not picked:
            return
        rows = picked[0]
        j = int(ctx.rng.integers(1, rows.height))
        cents = int(ctx.rng.integers(900, 1251)) * 100
        later = pl.int_range(pl.len()) >= j
        rows = rows.with_columns(
            pl.when(later)
            .then(pl.lit("BT002"))
            .otherwise(pl.col("program_code"))
            .alias("program_code"),
            pl.when(later)
            .then(pl.lit(cents, dtype=pl.Int64))
            .otherwise(pl.col("cents"))
            .alias("cents"),
        )
        _replace(people, rows["beneficiary_id"][0], rows)
        _record(
            ctx,
            "LA-SUB-SWITCH",
            "subsidy.exclusive",
            "lookalike",
            _refs(rows[j - 1 : j + 1]),
            "低保转为特困供养，前后月份各领一项 / moved from 低保 to 特困 between months",
        )


def at_standard(ctx: ChunkContext, n: int) -> None:
    """Paid exactly the standard every month."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        prog = rows["program_code"][0]
        rows = rows.with_columns(pl.lit(MAX_CENTS[prog], dtype=pl.Int64).alias("cents"))
        _replace(people, rows["beneficiary_id"][0], rows)
        _record(
            ctx,
            "LA-SUB-STD",
            "subsidy.over_standard",
            "lookalike",
            _refs(rows),
            f"每月按标准 {_fmt(MAX_CENTS[prog])} 元足额发放 / paid exactly the standard "
            f"{_fmt(MAX_CENTS[prog])} yuan every month",
        )


def died_in_flight(ctx: ChunkContext, n: int) -> None:
    """Died a few days before the last payment (already in flight); nothing after it."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        j = int(ctx.rng.integers(1, rows.height - 1))
        death = int(rows["day"][j]) - int(ctx.rng.integers(1, 11))
        bid, name = rows["beneficiary_id"][0], rows["beneficiary_name"][0]
        kept = rows.head(j + 1)
        _replace(people, bid, kept)
        _add_person(people, _death_row(bid, name, death))
        _record(
            ctx,
            "LA-SUB-INFLIGHT",
            "subsidy.deceased",
            "lookalike",
            [("persons", f"{bid}|deceased"), *_refs(kept.tail(1))],
            "死亡数日前已在途的最后一笔发放，此后停发 / the last payment was in flight when the "
            "person died; nothing after",
        )


def died_after(ctx: ChunkContext, n: int) -> None:
    """Died after the last payment (the ordinary stop)."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        j = int(ctx.rng.integers(0, rows.height - 1))
        death = int(rows["day"][j]) + int(ctx.rng.integers(1, 20))
        death = min(death, int(rows["day"][j + 1]) - 1)
        bid, name = rows["beneficiary_id"][0], rows["beneficiary_name"][0]
        kept = rows.head(j + 1)
        _replace(people, bid, kept)
        _add_person(people, _death_row(bid, name, death))
        _record(
            ctx,
            "LA-SUB-DIEDAFTER",
            "subsidy.deceased",
            "lookalike",
            [("persons", f"{bid}|deceased"), *_refs(kept)],
            "死亡前的发放，死亡后停发 / paid before the death, stopped after it",
        )


def employee_farmland(ctx: ChunkContext, n: int) -> None:
    """A public employee paid the farmland subsidy (not means-tested)."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        emp = _employee(ctx, people)
        picked = _pick(ctx, people)
        if emp is None or not picked:
            return
        _used(ctx).discard(picked[0]["beneficiary_id"][0])
        template = (
            picked[0]
            .tail(1)
            .with_columns(
                pl.lit(int(ctx.rng.integers(2, 21)) * 120 * 100, dtype=pl.Int64).alias("cents")
            )
        )
        new = _as_person(ctx, template, emp, program="BT005")
        _add(people, new)
        _record(
            ctx,
            "LA-SUB-EMPFARM",
            "subsidy.public_employee",
            "lookalike",
            [("persons", f"{emp['person_id']}|public_employee"), *_refs(new)],
            "财政供养人员领取耕地地力保护补贴（非困难救助类）/ a public employee paid the "
            "farmland subsidy, which is not means-tested",
        )


def household(ctx: ChunkContext, n: int) -> None:
    """Husband, wife and son (two surnames) on one card."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people, k=3, same_region=True)
        if not picked:
            return
        sur = [picked[0]["beneficiary_name"][0][0], picked[1]["beneficiary_name"][0][0]]
        if sur[0] == sur[1]:
            sur[1] = "李" if sur[0] != "李" else "王"
        card = picked[0]["account_no"][0]
        rows = []
        for r, s in zip(picked, (sur[0], sur[1], sur[0]), strict=True):
            name = s + r["beneficiary_name"][0][1:]
            moved = r.with_columns(
                pl.lit(card).alias("account_no"), pl.lit(name).alias("beneficiary_name")
            )
            _replace(people, r["beneficiary_id"][0], moved)
            rows.append(moved)
        _record(
            ctx,
            "LA-SUB-HOUSEHOLD",
            "subsidy.shared_account",
            "lookalike",
            _refs(pl.concat(rows)),
            "夫妻与子女三人（两个姓氏）共用一张卡 / a household of three (two surnames)"
            " on one card",
        )


def masked_or_lower(ctx: ChunkContext, n: int) -> None:
    """An id masked in the export, and an id with a lower-case ``x``: never judged invalid."""
    people = _people(ctx)
    for _ in range(n if people else 0):
        picked = _pick(ctx, people)
        if not picked:
            return
        rows = picked[0]
        bid = rows["beneficiary_id"][0]
        masked = bid[:6] + "********" + bid[14:] if bid[17] != "X" else bid[:17] + "x"
        _used(ctx).add(masked)
        _replace(people, bid, rows.with_columns(pl.lit(masked).alias("beneficiary_id")))
        _record(
            ctx,
            "LA-SUB-MASKED",
            "subsidy.invalid_id",
            "lookalike",
            _refs(rows),
            f"导出时脱敏或小写 x 的身份证号 {masked}，不判定 / id {masked} masked or with a "
            "lower-case x: not judged",
        )


SUBSIDY_FAMILIES: list[Family] = [
    Family(name, det, kind, per_scale, fn, payees_per_case=0, stage="final")
    for name, det, kind, per_scale, fn in (
        ("sub_duplicate", "subsidy.duplicate", "positive", 3, duplicate),
        ("sub_exclusive", "subsidy.exclusive", "positive", 2, exclusive),
        ("sub_over_standard", "subsidy.over_standard", "positive", 2, over_standard),
        ("sub_deceased", "subsidy.deceased", "positive", 3, deceased),
        ("sub_public_employee", "subsidy.public_employee", "positive", 2, public_employee),
        ("sub_shared_account", "subsidy.shared_account", "positive", 2, shared_account),
        ("sub_invalid_id", "subsidy.invalid_id", "positive", 2, invalid_id),
        ("sub_monthly", "subsidy.duplicate", "lookalike", 3, monthly),
        ("sub_catch_up", "subsidy.duplicate", "lookalike", 2, catch_up),
        ("sub_switch", "subsidy.exclusive", "lookalike", 2, switch),
        ("sub_at_standard", "subsidy.over_standard", "lookalike", 2, at_standard),
        ("sub_in_flight", "subsidy.deceased", "lookalike", 2, died_in_flight),
        ("sub_died_after", "subsidy.deceased", "lookalike", 2, died_after),
        ("sub_employee_farmland", "subsidy.public_employee", "lookalike", 2, employee_farmland),
        ("sub_household", "subsidy.shared_account", "lookalike", 2, household),
        ("sub_masked", "subsidy.invalid_id", "lookalike", 2, masked_or_lower),
    )
]
"""The 一卡通 families (stage ``final``; they need ``ctx.people``)."""

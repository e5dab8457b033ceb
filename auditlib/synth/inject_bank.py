"""Injected cases of bank reconciliation: the ``bank.*`` detectors.

Payments-stage families (vouchers only, fresh reserved payees):

- ``bank_returned_elsewhere`` (positive, ``bank.returned_repaid_elsewhere``): a voucher
  returned (退票), then the same amount re-paid by the same unit under the same payee
  name to a different, never-used account 2-10 working days later;
- ``bank_returned_same`` (look-alike): returned, then re-paid to the same account;
- ``bank_returned_known`` (look-alike): returned, then re-paid to a second account the
  same payee name had already been paid on weeks before.

Final-stage families change the chunk's bank records (``ctx.bank``, with ``ctx.refs``
mapping draft keys to voucher ids). They pick ordinary paid vouchers from the middle of
the period in units with many payments, each voucher used by one case only:

- ``bank_missing`` (positive, ``bank.missing_debit``): the voucher's debit is removed;
- ``bank_unmatched`` (positive, ``bank.unmatched_debit``): a debit from a unit's
  zero-balance account to a fresh payee, with no voucher;
- ``bank_mismatch`` (positive, ``bank.mismatch``): the debit carrying the voucher id
  goes to another account, or for another amount;
- ``bank_reformatted`` (look-alikes): the debit's payee account written with spaces,
  dashes or masked (``6222****1234``); half keep the voucher id (``bank.mismatch`` must
  stay silent), half lose it and are booked 1-3 working days late (``bank.missing_debit``
  and ``bank.unmatched_debit`` must match them by account, amount and date);
- ``bank_split`` (look-alikes): the debit booked as two rows that add up to the voucher;
- ``bank_own_funds`` (look-alike, ``bank.unmatched_debit``): a debit with no voucher from
  a unit's *basic* account (own funds, not paid by vouchers).

Register by appending :data:`BANK_FAMILIES` to the families the generator runs. The
final-stage families use ``ctx.bank`` and ``ctx.refs``; where a generator does not provide
them they make no case.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from auditlib.synth import names as N
from auditlib.synth.inject import CATEGORY_CLASS, ChunkContext, Family
from auditlib.synth.world import epoch_day, from_epoch_day

ORIGIN = "inject.bank"


def _fmt(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def _cents(rng: np.random.Generator) -> int:
    """An amount clear of the 40,000-50,000 band just under the approval threshold (the
    ``payments.split`` and ``amount.just_below`` families' ground)."""
    yuan = rng.uniform(1_200, 170_000)
    yuan += 10_000 if 40_000 <= yuan < 50_000 else 0
    return round(yuan) * 100 if rng.random() < 0.4 else round(yuan * 100)


def _record(ctx: ChunkContext, prefix: str, detector_id: str, kind: str,
            keys: list[tuple[str, int | str]], description: str) -> None:
    ctx.record(prefix, detector_id, kind, keys, description)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- payments stage
def _returned_pair(ctx: ChunkContext, payee: dict[str, Any], second: dict[str, Any] | None,
                   cents: int, *, earlier: bool = False) -> list[int]:
    """A returned voucher to ``payee`` and its re-payment to ``second`` (or the same
    payee), under ``payee``'s name. With ``earlier``, ``second``'s account is first paid
    under that name 10-40 working days before."""
    rng, p = ctx.rng, ctx.period
    unit = ctx.unit()
    cls = CATEGORY_CLASS[payee["category"]]
    purpose = str(rng.choice(N.PURPOSES[cls]))
    i = ctx.pay_day_index(room=12)
    if earlier:
        i = max(i, p.first + 41)
    d1, back = int(p.wd[i]), int(p.wd[min(i + 1, p.last)])
    d2 = int(p.wd[min(i + int(rng.integers(2, 11)), p.last)])
    base = {"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": cents,
            "payee_idx": payee["payee_idx"]}
    again = {**base, "day": d2, "purpose": f"{purpose}（退票重付）",
             "created_by": ctx.maker(unit), "approved_by": ctx.checker(unit)}
    if second is not None:
        again |= {"payee_idx": second["payee_idx"], "name_override": payee["payee_name"]}
    rows = [
        {**base, "day": d1, "status": "returned", "return_day": back, "purpose": purpose,
         "created_by": ctx.maker(unit), "approved_by": ctx.checker(unit)},
        again,
    ]
    if earlier and second is not None:
        d0 = int(p.wd[i - int(rng.integers(10, 41))])
        rows.append({**base, "day": d0, "cents": max(10_000, cents // 3 + 1_234),
                     "payee_idx": second["payee_idx"], "name_override": payee["payee_name"],
                     "purpose": purpose, "created_by": ctx.maker(unit),
                     "approved_by": ctx.checker(unit)})
    return ctx.add(rows, ORIGIN)[:2]


def returned_elsewhere(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        payee, other = ctx.take_payee(), ctx.take_payee()
        cents = _cents(ctx.rng)
        keys = _returned_pair(ctx, payee, other, cents)
        ctx.case(
            "BANK-RET", "bank.returned_repaid_elsewhere", "positive", keys,
            f"支付 {_fmt(cents)} 元退票后，以同一收款人名称“{payee['payee_name']}”改付新账号 "
            f"{other['payee_account']} / a returned payment of {_fmt(cents)} yuan re-paid under "
            f"the same payee name to a new account {other['payee_account']}",
        )


def returned_same(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        payee = ctx.take_payee()
        cents = _cents(ctx.rng)
        keys = _returned_pair(ctx, payee, None, cents)
        ctx.case(
            "LA-BANK-RET-SAME", "bank.returned_repaid_elsewhere", "lookalike", keys,
            f"支付 {_fmt(cents)} 元退票后向原账号重付 / a returned payment of {_fmt(cents)} "
            "yuan re-paid to the same account",
        )


def returned_known(ctx: ChunkContext, n: int) -> None:
    for _ in range(n):
        payee, other = ctx.take_payee(), ctx.take_payee()
        cents = _cents(ctx.rng)
        keys = _returned_pair(ctx, payee, other, cents, earlier=True)
        ctx.case(
            "LA-BANK-RET-KNOWN", "bank.returned_repaid_elsewhere", "lookalike", keys,
            f"支付 {_fmt(cents)} 元退票后改付该收款人此前已收过款的另一账号 {other['payee_account']}"
            f" / a returned payment of {_fmt(cents)} yuan re-paid to another account the payee "
            "had already been paid on",
        )


# ---------------------------------------------------------------------- final stage
def _ready(ctx: ChunkContext) -> bool:
    return getattr(ctx, "bank", None) is not None and getattr(ctx, "refs", None) is not None


def _pick(ctx: ChunkContext, k: int) -> pl.DataFrame:
    """``k`` ordinary paid vouchers (``_key``, ``voucher_id``, ``cents``, ``day``,
    ``bank_ref``) with exactly one debit, mid-period, in units with many payments,
    not used by another bank case."""
    p = ctx.period
    lo = int(p.wd[min(p.first + 10, p.last)])
    hi = int(p.wd[max(p.first + 10, p.last - 15)])
    used: set[str] = ctx.__dict__.setdefault("bank_used", set())
    debits = (
        ctx.bank.filter(pl.col("direction") == "debit")
        .group_by("voucher_id").agg(pl.len().alias("n"), pl.col("bank_ref").first())
        .filter(pl.col("n") == 1)
    )
    d = (
        ctx.draft.filter((pl.col("origin") == "random") & (pl.col("status") == "paid"))
        .filter(pl.len().over("unit_idx") >= 40)
        .filter(pl.col("day").is_between(lo, hi))
        .with_columns(pl.col("_key").replace_strict(ctx.refs, default=None,
                                                    return_dtype=pl.String).alias("voucher_id"))
        .join(debits, on="voucher_id", how="inner")
        .filter(~pl.col("voucher_id").is_in(list(used)))
        .sort("_key")
        .select("_key", "voucher_id", "cents", "day", "unit_idx", "bank_ref")
    )
    if d.height == 0 or k == 0:
        return d.clear()
    idx = np.sort(ctx.rng.choice(d.height, size=min(k, d.height), replace=False))
    out = d[idx.tolist()]
    used.update(out["voucher_id"].to_list())
    return out


def _money(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _set(bank: pl.DataFrame, ref: str, **values: Any) -> pl.DataFrame:
    hit = pl.col("bank_ref") == ref
    return bank.with_columns(
        pl.when(hit).then(pl.lit(v, dtype=bank.schema[c])).otherwise(pl.col(c)).alias(c)
        for c, v in values.items()
    )


def _new_debit(ctx: ChunkContext, payer: str, payee: dict[str, Any], cents: int, day: int,
               region_code: str) -> tuple[pl.DataFrame, str]:
    ctx.counters["bank_new_ref"] = ctx.counters.get("bank_new_ref", 0) + 1
    date = from_epoch_day(day)
    ref = f"B{date:%Y%m%d}{region_code}X{ctx.counters['bank_new_ref']:04d}"
    row = pl.DataFrame({
        "bank_ref": [ref], "value_date": [date], "amount": [_money(cents)],
        "payee_account": [payee["payee_account"]], "voucher_id": [None],
        "payer_account": [payer], "payee_name": [payee["payee_name"]],
        "direction": ["debit"], "currency": ["CNY"],
    }, schema=ctx.bank.schema)
    return row, ref


def _busy_unit_account(ctx: ChunkContext, account_type: str) -> tuple[dict[str, Any], str]:
    counts = ctx.draft.group_by("unit_idx").agg(pl.len().alias("n")).filter(pl.col("n") >= 40)
    pool = ctx.units.join(counts, on="unit_idx").sort("unit_idx")
    if pool.height == 0:
        pool = ctx.units.sort("unit_idx")
    unit = pool.row(int(ctx.rng.integers(0, pool.height)), named=True)
    acct = ctx.plan.accounts.filter(
        (pl.col("unit_id") == unit["unit_id"]) & (pl.col("account_type") == account_type))
    return unit, acct["account_no"][0]


def _mid_day(ctx: ChunkContext) -> int:
    p = ctx.period
    lo, hi = min(p.first + 10, p.last), max(p.first + 10, p.last - 15)
    return int(p.wd[int(ctx.rng.integers(lo, hi + 1))])


def missing(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    for r in _pick(ctx, n).iter_rows(named=True):
        ctx.bank = ctx.bank.filter(pl.col("bank_ref") != r["bank_ref"])
        _record(ctx, "BANK-MISS", "bank.missing_debit", "positive", [("payments", r["_key"])],
                f"凭证 {_fmt(r['cents'])} 元记为已支付，银行无扣款记录 / voucher of "
                f"{_fmt(r['cents'])} yuan recorded as paid with no bank debit")


def unmatched(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    for _ in range(n):
        unit, zero = _busy_unit_account(ctx, "zero_balance")
        payee = ctx.take_payee()
        cents = _cents(ctx.rng)
        row, ref = _new_debit(ctx, zero, payee, cents, _mid_day(ctx), unit["region_code"])
        ctx.bank = pl.concat([ctx.bank, row])
        _record(ctx, "BANK-UNM", "bank.unmatched_debit", "positive",
                [("bank_transactions", ref)],
                f"单位 {unit['unit_id']} 零余额账户扣款 {_fmt(cents)} 元付给 {payee['payee_name']}，"
                f"无支付凭证 / a debit of {_fmt(cents)} yuan from unit {unit['unit_id']}'s "
                "zero-balance account with no voucher")


def mismatch(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    for j, r in enumerate(_pick(ctx, n).iter_rows(named=True)):
        payee = ctx.take_payee()
        amount = _fmt(r["cents"])
        if j % 2 == 0:
            acct = payee["payee_account"]
            ctx.bank = _set(ctx.bank, r["bank_ref"], payee_account=acct)
            zh, en = f"银行付往另一账号 {acct}", f"the bank paid another account, {acct}"
        else:
            delta = max(100, int(r["cents"] * ctx.rng.uniform(0.01, 0.2)))
            cents = max(1, r["cents"] + (delta if ctx.rng.random() < 0.7 else -delta))
            ctx.bank = _set(ctx.bank, r["bank_ref"], amount=_money(cents))
            zh, en = f"银行扣款 {_fmt(cents)} 元", f"the bank debited {_fmt(cents)} yuan"
        _record(ctx, "BANK-MIS", "bank.mismatch", "positive",
                [("payments", r["_key"]), ("bank_transactions", r["bank_ref"])],
                f"凭证 {amount} 元与其银行扣款不符：{zh} / a voucher of {amount} yuan and its "
                f"bank debit disagree: {en}")


def _reformat(acct: str, style: int) -> str:
    if style == 0:
        return " ".join(acct[i:i + 4] for i in range(0, len(acct), 4))
    if style == 1:
        return f"{acct[:6]}-{acct[6:]}"
    return f"{acct[:4]}{'*' * (len(acct) - 8)}{acct[-4:]}"


def reformatted(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    p = ctx.period
    for j, r in enumerate(_pick(ctx, n).iter_rows(named=True)):
        row = ctx.bank.filter(pl.col("bank_ref") == r["bank_ref"]).row(0, named=True)
        acct = _reformat(row["payee_account"], int(ctx.rng.integers(0, 3)))
        if j % 2 == 0:
            ctx.bank = _set(ctx.bank, r["bank_ref"], payee_account=acct)
            _record(ctx, "LA-BANK-FMT", "bank.mismatch", "lookalike",
                    [("payments", r["_key"]), ("bank_transactions", r["bank_ref"])],
                    f"银行回单的收款账号写作 {acct}（空格、连字符或掩码），与凭证为同一账号 / the bank "
                    "writes the payee account with spaces, dashes or a mask: the same account")
            continue
        i = int(np.searchsorted(p.wd, epoch_day(row["value_date"])))
        late = from_epoch_day(int(p.wd[min(i + int(ctx.rng.integers(1, 4)), p.last)]))
        ctx.bank = _set(ctx.bank, r["bank_ref"], payee_account=acct, voucher_id=None,
                        value_date=late)
        desc = (f"银行回单无凭证号、账号写作 {acct}、晚 1-3 个工作日入账，按账号金额日期可对上 / no voucher "
                "id, account reformatted, booked 1-3 working days late: matches by account, "
                "amount and date")
        _record(ctx, "LA-BANK-LATE", "bank.missing_debit", "lookalike",
                [("payments", r["_key"])], desc)
        _record(ctx, "LA-BANK-LATE", "bank.unmatched_debit", "lookalike",
                [("bank_transactions", r["bank_ref"])], desc)


def split(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    for r in _pick(ctx, n).iter_rows(named=True):
        row = ctx.bank.filter(pl.col("bank_ref") == r["bank_ref"])
        first = max(1, int(r["cents"] * ctx.rng.uniform(0.3, 0.7)))
        parts = pl.concat([
            row.with_columns(pl.lit(r["bank_ref"] + "A").alias("bank_ref"),
                             pl.lit(_money(first), dtype=row.schema["amount"]).alias("amount")),
            row.with_columns(pl.lit(r["bank_ref"] + "B").alias("bank_ref"),
                             pl.lit(_money(r["cents"] - first), dtype=row.schema["amount"])
                             .alias("amount")),
        ])
        ctx.bank = pl.concat([ctx.bank.filter(pl.col("bank_ref") != r["bank_ref"]), parts])
        refs = [("bank_transactions", r["bank_ref"] + s) for s in "AB"]
        desc = (f"凭证 {_fmt(r['cents'])} 元由银行分两笔扣款，合计相符 / the bank debited the voucher "
                "in two parts that add up to it")
        _record(ctx, "LA-BANK-SPLIT", "bank.mismatch", "lookalike", [("payments", r["_key"])], desc)
        _record(ctx, "LA-BANK-SPLIT", "bank.missing_debit", "lookalike", [("payments", r["_key"])],
                desc)
        _record(ctx, "LA-BANK-SPLIT", "bank.unmatched_debit", "lookalike", refs, desc)


def own_funds(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    for _ in range(n):
        unit, basic = _busy_unit_account(ctx, "basic")
        payee = ctx.take_payee()
        cents = _cents(ctx.rng)
        row, ref = _new_debit(ctx, basic, payee, cents, _mid_day(ctx), unit["region_code"])
        ctx.bank = pl.concat([ctx.bank, row])
        _record(ctx, "LA-BANK-OWN", "bank.unmatched_debit", "lookalike",
                [("bank_transactions", ref)],
                f"单位 {unit['unit_id']} 基本账户以自有资金支付 {_fmt(cents)} 元，本无财政支付凭证 / "
                f"unit {unit['unit_id']} paid {_fmt(cents)} yuan of its own funds from its basic "
                "account: no treasury voucher is expected")


BANK_FAMILIES: list[Family] = [
    Family("bank_returned_elsewhere", "bank.returned_repaid_elsewhere", "positive", 4,
           returned_elsewhere, payees_per_case=2),
    Family("bank_returned_same", "bank.returned_repaid_elsewhere", "lookalike", 3, returned_same),
    Family("bank_returned_known", "bank.returned_repaid_elsewhere", "lookalike", 2,
           returned_known, payees_per_case=2),
    Family("bank_missing", "bank.missing_debit", "positive", 4, missing, payees_per_case=0,
           stage="final"),
    Family("bank_unmatched", "bank.unmatched_debit", "positive", 4, unmatched, stage="final"),
    Family("bank_mismatch", "bank.mismatch", "positive", 4, mismatch, stage="final"),
    Family("bank_reformatted", "bank.missing_debit", "lookalike", 6, reformatted,
           payees_per_case=0, stage="final"),
    Family("bank_split", "bank.mismatch", "lookalike", 3, split, payees_per_case=0,
           stage="final"),
    Family("bank_own_funds", "bank.unmatched_debit", "lookalike", 3, own_funds, stage="final"),
]
"""The bank reconciliation families, to run after :data:`auditlib.synth.inject.FAMILIES`."""

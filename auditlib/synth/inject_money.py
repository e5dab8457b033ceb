"""Injected cases of the money rules: 三公 controls, budget control, funds leaving the
treasury system and timing (the ``sangong.*``, ``budget.*``, ``funds.*`` and ``timing.*``
detectors).

Payments-stage families add vouchers (so the bank, business log and database audit
hold them like any other voucher); final-stage families change what only exists once
spending is known: indicator amounts and labels, last year's final accounts, bank
credits. Positives:

- ``money_sangong_indicator`` (``sangong.indicator``): a 三公 payment (reception 30217
  or vehicle 30231) charged to the unit's meeting/training or equipment indicator;
- ``money_disguised`` (``sangong.disguised``): a reception, vehicle, car purchase or trip
  abroad booked as office supplies, meetings, maintenance, equipment or domestic travel;
- ``money_class_mismatch`` (``budget.class_mismatch``): maintenance paid from the
  equipment indicator, labour fees from the meeting indicator, or a purchase paid from
  another unit's equipment indicator;
- ``money_own_account`` (``funds.own_account``): a budget payment into the unit's own
  basic or special account, or into another unit's basic account;
- ``money_round_trip_pay`` + ``money_round_trip`` (``funds.round_trip``): a consulting or
  equipment payment to a fresh payee, and 2-12 working days later a bank credit from that
  payee into the unit's basic account of 60-98% of it;
- ``money_off_hours`` (``timing.off_hours``): a voucher drafted and approved on an
  ordinary weekend, at night (22:00-23:50) or on a public holiday, paid the next working
  day;
- ``money_december`` (``timing.december_rush``, only when ``as_of`` is in December): a
  unit paying 1.3-1.6 times its whole year's other spending in the December window, in
  8-40 equipment, maintenance, consulting and printing payments;
- ``money_sangong_total`` (``sangong.total``, final): a unit's 三公 indicators cut
  (压减) to 75-92% of what it has already spent on 三公 — each cut indicator that is now
  overspent is recorded as a ``budget.overrun`` positive too;
- ``money_final_accounts`` (``sangong.final_accounts``, final): last year's final
  accounts of a unit and 三公 category set below this year's spending, or the row missing
  while the unit has others;
- ``money_overrun`` (``budget.overrun``, final): a non-三公 indicator set below its
  cumulative payments, crossed part-way through its payments;
- ``money_fund_label`` (``budget.fund_label``, final): an indicator (a project one
  where possible) labelled 三保（保工资） that paid construction, consulting, equipment...
  (one case per economic class it paid: the detector alerts per indicator and class);
- ``money_off_hours_also`` (``timing.off_hours``, final): vouchers other families drafted
  or approved out of working time (the amount families' 02:00 vouchers) recorded as
  positives too, so the ground truth of ``timing.off_hours`` is complete.

Look-alikes (kind ``lookalike``, kept in clean worlds):

- ``money_sangong_ok``: a 三公 payment on its own 三公 indicator, within budget
  (``sangong.total``, ``sangong.indicator`` and ``sangong.disguised``: its purpose says
  接待/公务用车 but it *is* booked as 三公);
- ``money_disguised_la``: meals inside meeting/training fees (会议期间工作餐, 培训班学员
  用餐), 工程签证/现场签证单, a 接待室 renovation (``sangong.disguised``);
- ``money_class_ok``: ordinary payments of a sub-class of their indicator's class or on a
  project indicator (class any) (``budget.class_mismatch``);
- ``money_own_la``: payments into another unit's zero-balance or special account
  (``funds.own_account``: only own accounts and basic/real accounts of any unit count);
- ``money_round_la`` + ``money_round_la_rec``: a returned voucher (退票) whose money is
  credited back, then re-paid (``funds.round_trip``);
- ``money_off_hours_la``: vouchers drafted, approved and paid on 调休 make-up working
  days (Saturdays/Sundays that are working days), approved late within the grace
  period (19:15-20:40) or drafted early within it (06:20-07:45) (``timing.off_hours``);
- ``money_fa_la`` (final): a 三公 category at 95-99% of last year's final accounts, or a
  new unit with no final accounts at all (``sangong.final_accounts``);
- ``money_overrun_la`` (final): a large capital payment that brings its indicator to
  98-99.8% used (``budget.overrun``);
- ``money_fund_la`` (final): ordinary payments on 直达资金, 三保（保基本民生） or
  unlabelled (一般) project indicators (``budget.fund_label``).

Payments into budget units' own accounts (``funds.own_account``) need those accounts as
payees: they are appended to ``plan.payees`` (role ``unit_account``, never drawn by the
ordinary flow) so that vouchers, bank debits and logs stay consistent.

Look-alikes pick from the ordinary flow with their own random stream and run before the
positives, which avoid the units, indicators and final-accounts rows look-alikes use
(``ctx.money_claims``), so leaving positives out (``clean``) changes nothing the
look-alikes draw. Register by appending :data:`MONEY_FAMILIES` to the families the
generator runs (after every other domain's: the final-stage cases here read the payments
as the other families left them).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from auditlib.synth import names as N
from auditlib.synth.classes import SANGONG
from auditlib.synth.inject import ChunkContext, Family
from auditlib.synth.payments import unit_indicators
from auditlib.synth.world import epoch_day, from_epoch_day

ORIGIN = "inject.money"
DAY, H, M = 86400, 3600, 60
YUAN100 = 10_000  # cents in 100 yuan: indicators and final accounts are whole hundreds


# ---------------------------------------------------------------------------- helpers
def _fmt(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def _money(cents: int) -> Decimal:
    return Decimal(int(cents)) / 100


def _record(ctx: ChunkContext, prefix: str, detector_id: str, kind: str,
            keys: list[tuple[str, int | str]], description: str) -> None:
    ctx.record(prefix, detector_id, kind, keys, description)  # type: ignore[arg-type]


def _pays(keys: list[int]) -> list[tuple[str, int | str]]:
    return [("payments", int(k)) for k in keys]


def _claims(ctx: ChunkContext) -> dict[str, set]:
    """What look-alikes (and earlier positives) of this chunk have taken."""
    return ctx.__dict__.setdefault("money_claims", {
        "sg_units": set(),      # units whose 三公 total must stay within budget
        "fa_pairs": set(),      # (unit_id, code) final-accounts rows in use
        "fa_units": set(),      # units whose final accounts a case changes whole
        "indicators": set(),    # indicators whose amount a case sets
        "label_inds": set(),    # indicators whose label a case relies on
        "units": set(),         # units a positive reshapes (December rush)
    })


def _stash(ctx: ChunkContext, name: str) -> list[dict[str, Any]]:
    return ctx.__dict__.setdefault(f"money_{name}", [])


def _amount(rng: np.random.Generator, lo: float, hi: float) -> int:
    """Cents in [lo, hi] yuan, clear of the 40,000-50,000 band under the approval
    threshold (the split and just-below families' ground); half whole yuan."""
    yuan = float(rng.uniform(lo, hi))
    if 40_000 <= yuan < 50_000:
        yuan += 12_000
    return round(yuan) * 100 if rng.random() < 0.5 else round(yuan * 100)


def _unit_by_idx(ctx: ChunkContext, unit_idx: int) -> dict[str, Any]:
    return ctx.units.filter(pl.col("unit_idx") == unit_idx).row(0, named=True)


def _pick_unit(ctx: ChunkContext, pool: pl.DataFrame) -> dict[str, Any] | None:
    if pool.height == 0:
        return None
    return pool.sort("unit_idx").row(int(ctx.rng.integers(0, pool.height)), named=True)


def _indicator_plan(ctx: ChunkContext) -> pl.DataFrame:
    """The chunk's indicators as the generator makes them (ids and classes; a project
    indicator's label is drawn at random and is not known here)."""
    got = ctx.__dict__.get("money_ind_plan")
    if got is None:
        got = unit_indicators(ctx.plan, ctx.units, np.random.default_rng(0)).select(
            "indicator_id", "unit_idx", "unit_id", "economic_class")
        ctx.__dict__["money_ind_plan"] = got
    return got


def _indicator(ctx: ChunkContext, unit_idx: int, cls: str | None) -> str | None:
    ind = _indicator_plan(ctx).filter(pl.col("unit_idx") == unit_idx)
    ind = ind.filter(pl.col("economic_class").is_null() if cls is None
                     else pl.col("economic_class") == cls)
    return ind["indicator_id"][0] if ind.height else None


def _row(ctx: ChunkContext, unit: dict[str, Any], cls: str, cents: int, payee: dict[str, Any],
         day: int, purpose: str, **extra: Any) -> dict[str, Any]:
    return {"unit_idx": unit["unit_idx"], "economic_class": cls, "cents": int(cents),
            "payee_idx": payee["payee_idx"], "day": int(day), "purpose": purpose,
            "created_by": ctx.maker(unit), "approved_by": ctx.checker(unit), **extra}


def _day(ctx: ChunkContext, room: int = 0) -> int:
    return int(ctx.period.wd[ctx.pay_day_index(room)])


def _ordinary(ctx: ChunkContext) -> pl.DataFrame:
    """The chunk's ordinary paid drafts (identical in clean and full worlds)."""
    return ctx.draft.filter((pl.col("status") == "paid") & (pl.col("cents") > 0))


def _sangong_draft(ctx: ChunkContext) -> pl.DataFrame:
    return _ordinary(ctx).filter(pl.col("economic_class").str.slice(0, 5).is_in(list(SANGONG)))


# ---------------------------------------------------------------------------- final-stage
def _ready(ctx: ChunkContext) -> bool:
    return all(getattr(ctx, a, None) is not None
               for a in ("payments", "indicators", "final_accounts", "bank", "refs"))


def _active(ctx: ChunkContext) -> pl.DataFrame:
    """Payments that moved money this year up to ``as_of`` (as the detectors count
    them), with ``cents``, in payment order."""
    p = ctx.period
    return (
        ctx.payments.filter(
            (pl.col("status").fill_null("paid") == "paid") & (pl.col("amount") > 0)
            & (pl.col("pay_date").dt.year() == p.year) & (pl.col("pay_date") <= p.as_of))
        .with_columns((pl.col("amount") * 100).cast(pl.Int64).alias("cents"),
                      pl.col("economic_class").str.slice(0, 5).alias("code"))
        .sort("pay_date", "voucher_id")
    )


def _is_sangong(col: str = "economic_class") -> pl.Expr:
    return pl.col(col).fill_null("").str.slice(0, 5).is_in(list(SANGONG))


def _ind_cents(ctx: ChunkContext) -> pl.DataFrame:
    return ctx.indicators.filter(pl.col("fiscal_year") == ctx.period.year).with_columns(
        (pl.col("amount") * 100).cast(pl.Int64).alias("cents"))


def _set_indicator(ctx: ChunkContext, indicator_id: str, **values: Any) -> None:
    hit = pl.col("indicator_id") == indicator_id
    ind = ctx.indicators
    ctx.indicators = ind.with_columns(
        pl.when(hit).then(pl.lit(v, dtype=ind.schema[c])).otherwise(pl.col(c)).alias(c)
        for c, v in values.items())


def _overrun(act: pl.DataFrame, indicator_id: str, budget: int) -> list[int] | None:
    """Draft keys of the payment that first takes ``indicator_id`` above ``budget`` cents
    and of every payment after it (payment order), or None if it stays within."""
    rows = act.filter(pl.col("indicator_id") == indicator_id)
    cum = np.cumsum(rows["cents"].to_numpy())
    over = np.flatnonzero(cum > budget)
    if not len(over):
        return None
    return rows["_key"].to_list()[int(over[0]):]


def _fa_key(unit_id: str, year: int, code: str) -> str:
    return f"{unit_id}|{year}|{code}"


# ============================================================================ look-alikes
def sangong_ok(ctx: ChunkContext, n: int) -> None:
    """A reception or vehicle payment on the unit's own 三公 indicator, within budget."""
    rng = ctx.rng
    claims = _claims(ctx)
    for i in range(n):
        cls = ("30217", "30231")[i % 2]
        flag = "has_reception" if cls == "30217" else "has_vehicle"
        pool = ctx.units.filter(pl.col(flag) & ~pl.col("unit_idx").is_in(list(claims["sg_units"])))
        unit = _pick_unit(ctx, pool)
        if unit is None:
            continue
        mine = _sangong_draft(ctx).filter(pl.col("unit_idx") == unit["unit_idx"])
        spent = int(mine["cents"].sum())
        cents = min(_amount(rng, 300, 2_500), max(10_000, spent // 4))
        purpose = (str(rng.choice(["接待省考核组公务接待费", "接待上级检查组工作餐"]))
                   if cls == "30217" else str(rng.choice(["公务用车维修保养费", "公务用车加油费"])))
        keys = ctx.add([_row(ctx, unit, cls, cents, ctx.take_payee(), _day(ctx), purpose)],
                       ORIGIN)
        claims["sg_units"].add(unit["unit_idx"])
        zh = "公务接待" if cls == "30217" else "公务用车运行维护"
        desc = (f"单位 {unit['unit_id']} {zh}支出 {_fmt(cents)} 元列支本单位 {cls} 三公指标，"
                "未超预算 / "
                f"a {cls} 三公 payment of {_fmt(cents)} yuan on the unit's own {cls} indicator, "
                "within budget")
        for det in ("sangong.total", "sangong.indicator", "sangong.disguised"):
            _record(ctx, "LA-SG-OK", det, "lookalike", _pays(keys), desc)


DISGUISED_LA = (
    ("30215", "has_meeting", "会议期间工作餐费", 3_000, 20_000,
     "会议费中的工作餐（会议费可含伙食费） / meals inside a meeting fee"),
    ("30213", "", "维修工程现场签证单结算款", 2_000, 30_000,
     "工程现场签证（非出国签证） / a construction site instruction, not a visa"),
    ("30216", "has_training", "培训班学员用餐及住宿费", 3_000, 20_000,
     "培训费中的学员用餐 / meals inside a training fee"),
    ("30213", "", "办公楼一楼接待室装修", 5_000, 36_000,
     "接待室装修（房间，非公务接待） / renovating a reception room, not a reception"),
    ("31002", "", "工程签证变更设备增补", 5_000, 38_000,
     "工程签证变更（非出国签证） / a construction change order, not a visa"),
)


def disguised_lookalikes(ctx: ChunkContext, n: int) -> None:
    rng = ctx.rng
    for i in range(n):
        cls, flag, purpose, lo, hi, why = DISGUISED_LA[i % len(DISGUISED_LA)]
        pool = ctx.units.filter(pl.col(flag)) if flag else ctx.units
        unit = _pick_unit(ctx, pool if pool.height else ctx.units)
        cents = _amount(rng, lo, hi)
        keys = ctx.add([_row(ctx, unit, cls, cents, ctx.take_payee(), _day(ctx), purpose)],
                       ORIGIN)
        zh, en = why.split(" / ")
        _record(ctx, "LA-SG-HIDE", "sangong.disguised", "lookalike", _pays(keys),
                f"“{purpose}”列 {cls}，{zh}，不是隐匿三公 / '{purpose}' under {cls}: {en}, not "
                "hidden 三公")


def class_ok(ctx: ChunkContext, n: int) -> None:
    """Ordinary payments of a sub-class of their indicator's class (302xx on the 302
    indicator) or on a project indicator (class any)."""
    plan = _indicator_plan(ctx)
    general = plan.filter(pl.col("economic_class") == "302")["indicator_id"].to_list()
    project = plan.filter(pl.col("economic_class").is_null())["indicator_id"].to_list()
    d = _ordinary(ctx).filter(pl.col("origin") == "random").sort("_key")
    for i in range(n):
        if i % 2 == 0:
            pool = d.filter(pl.col("indicator_id").is_in(general)
                            & (pl.col("economic_class") != "302"))
            zh = "302 商品和服务支出指标支付其下属分类"
            en = "sub-classes of 302 on the 302 indicator"
        else:
            pool = d.filter(pl.col("indicator_id").is_in(project))
            zh, en = "项目指标（未限定经济分类）支付", "on a project indicator (any class)"
        if pool.height == 0:
            continue
        ind = pool["indicator_id"][int(ctx.rng.integers(0, pool.height))]
        rows = pool.filter(pl.col("indicator_id") == ind)
        take = rows[np.sort(ctx.rng.choice(rows.height, size=min(4, rows.height),
                                           replace=False)).tolist()]
        classes = "、".join(sorted(set(take["economic_class"].to_list())))
        _record(ctx, "LA-BUD-CLASS", "budget.class_mismatch", "lookalike",
                _pays(take["_key"].to_list()),
                f"指标 {ind} {zh}（{classes}），符合指标用途 / payments of {classes} {en}: "
                "within what the indicator was allotted for")


def _account_payee(ctx: ChunkContext, account_no: str) -> dict[str, Any]:
    """A budget unit's account as a payee the generator can pay (added to the plan's
    payees once; the ordinary flow never picks it)."""
    payees = ctx.plan.payees
    have = payees.filter(pl.col("payee_account") == account_no)
    if have.height:
        return have.row(0, named=True)
    acct = ctx.plan.accounts.filter(pl.col("account_no") == account_no).row(0, named=True)
    unit = ctx.plan.units.filter(pl.col("unit_id") == acct["unit_id"]).row(0, named=True)
    reg = ctx.plan.regions.filter(pl.col("region_idx") == unit["region_idx"]).row(0, named=True)
    place = reg["city"] + reg["short"] if reg["city"] != reg["short"] else reg["short"]
    row = pl.DataFrame({
        "region_idx": [unit["region_idx"]], "category": ["unit_account"],
        "payee_name": [acct["account_name"]], "unit_idx": [-1],
        "role": ["unit_account"], "payee_idx": [payees.height],
        "payee_account": [account_no],
        "payee_bank": [f"{N.BANKS[int(unit['bank'])][0]}{place}支行"],
    }).select(payees.columns).cast(dict(payees.schema))
    ctx.plan.payees = pl.concat([payees, row])
    return row.row(0, named=True)


def _accounts(ctx: ChunkContext, kind: str) -> pl.DataFrame:
    ids = ctx.units["unit_id"].to_list()
    return ctx.plan.accounts.filter(pl.col("unit_id").is_in(ids)
                                    & (pl.col("account_type") == kind)).sort("account_no")


def own_lookalikes(ctx: ChunkContext, n: int) -> None:
    """Payments into another budget unit's zero-balance or special account."""
    rng = ctx.rng
    for i in range(n):
        kind = "special" if i % 2 else "zero_balance"
        accts = _accounts(ctx, kind)
        if accts.height == 0:
            kind, accts = "zero_balance", _accounts(ctx, "zero_balance")
        acct = accts.row(int(rng.integers(0, accts.height)), named=True)
        others = ctx.units.filter(pl.col("unit_id") != acct["unit_id"])
        unit = _pick_unit(ctx, others)
        if unit is None:
            continue
        payee = _account_payee(ctx, acct["account_no"])
        cls = "30216" if kind == "special" else "30215"
        purpose = ("委托培训费（付入承办单位专用账户）" if kind == "special"
                   else "联合举办会议费用分摊")
        cents = _amount(rng, 2_000, 38_000)
        keys = ctx.add([_row(ctx, unit, cls, cents, payee, _day(ctx), purpose)], ORIGIN)
        zh = "专用账户" if kind == "special" else "零余额账户"
        _record(ctx, "LA-FUNDS-OWN", "funds.own_account", "lookalike", _pays(keys),
                f"单位 {unit['unit_id']} 向其他单位 {acct['unit_id']} 的{zh}支付 {_fmt(cents)} 元，"
                f"不是本单位账户，也不是基本/实有资金账户 / unit {unit['unit_id']} paid "
                f"{_fmt(cents)} yuan into unit {acct['unit_id']}'s {kind} account: neither its "
                "own account nor a basic/real-funds account")


def round_lookalikes(ctx: ChunkContext, n: int) -> None:
    """A returned voucher (its money is credited back by the bank) re-paid later."""
    rng, p = ctx.rng, ctx.period
    for _ in range(n):
        unit, payee = ctx.unit(), ctx.take_payee()
        i = ctx.pay_day_index(room=12)
        d1, back = int(p.wd[i]), int(p.wd[min(i + 1, p.last)])
        d2 = int(p.wd[min(i + int(rng.integers(3, 11)), p.last)])
        cls = str(rng.choice(["30227", "31002", "30213"]))
        cents = _amount(rng, 5_000, 180_000)
        purpose = str(rng.choice(N.PURPOSES[cls]))
        keys = ctx.add([
            _row(ctx, unit, cls, cents, payee, d1, purpose, status="returned", return_day=back),
            _row(ctx, unit, cls, cents, payee, d2, f"{purpose}（退票重付）"),
        ], ORIGIN)
        _stash(ctx, "round_la").append({"returned": keys[0], "again": keys[1],
                                        "unit_id": unit["unit_id"], "cents": cents})


def round_lookalike_records(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    for s in _stash(ctx, "round_la"):
        vid = ctx.refs[s["returned"]]
        credit = ctx.bank.filter((pl.col("voucher_id") == vid) & (pl.col("direction") == "credit"))
        if credit.height == 0:
            continue
        ref = credit["bank_ref"][0]
        _record(ctx, "LA-FUNDS-RET", "funds.round_trip", "lookalike",
                [("payments", s["returned"]), ("payments", s["again"]), ("bank_transactions", ref)],
                f"单位 {s['unit_id']} 的 {_fmt(s['cents'])} 元支付被退票，银行将款项退回"
                f"零余额账户后重新支付：退票不是资金回流 / a returned payment of "
                f"{_fmt(s['cents'])} yuan credited back by the bank and re-paid later: a return "
                "is not a round trip")


def _makeup_days(ctx: ChunkContext) -> list[int]:
    p = ctx.period
    days = p.wd[p.first:p.last + 1]
    return [int(d) for d in days if from_epoch_day(int(d)).weekday() >= 5]


def off_hours_lookalikes(ctx: ChunkContext, n: int) -> None:
    """Vouchers handled on 调休 make-up working days, or within the grace period."""
    rng, p = ctx.rng, ctx.period
    makeup = _makeup_days(ctx)
    for i in range(n):
        variant = i % 3 if makeup else 1 + i % 2
        unit, payee = ctx.unit(), ctx.take_payee()
        cls = str(rng.choice(["30201", "30202", "30213", "31002"]))
        cents = _amount(rng, 500, 30_000)
        if variant == 0:
            day = makeup[int(rng.integers(0, len(makeup)))]
            created = day * DAY + int(rng.uniform(9 * H, 15 * H))
            approved = created + int(rng.uniform(20 * M, 120 * M))
            date = from_epoch_day(day)
            zh = f"调休上班日 {date}（{'周六' if date.weekday() == 5 else '周日'}）制单、审核并支付"
            en = f"drafted, approved and paid on {date}, a make-up working day (调休)"
        else:
            i_day = ctx.pay_day_index(room=1)
            day = int(p.wd[i_day])
            if variant == 1:
                created = day * DAY + int(rng.uniform(16 * H, 18.5 * H))
                approved = day * DAY + int(rng.uniform(19.25 * H, 20.67 * H))
                zh = "工作日 19:15-20:40 审核（宽限期内加班）"
                en = "approved at 19:15-20:40 (staying late, within the grace period)"
            else:
                created = day * DAY + int(rng.uniform(6.33 * H, 7.75 * H))
                approved = day * DAY + int(rng.uniform(8.5 * H, 10 * H))
                zh = "工作日 06:20-07:45 制单（宽限期内早到）"
                en = "drafted at 06:20-07:45 (early, within the grace period)"
        keys = ctx.add([_row(ctx, unit, cls, cents, payee, day, str(rng.choice(N.PURPOSES[cls])),
                             created_at=created, approved_at=approved)], ORIGIN)
        _record(ctx, "LA-TIME-OFF", "timing.off_hours", "lookalike", _pays(keys),
                f"凭证 {_fmt(cents)} 元{zh}，属工作时间 / a voucher of {_fmt(cents)} yuan {en}: "
                "working time")


# ---------------------------------------------------------------------- final look-alikes
def final_accounts_lookalikes(ctx: ChunkContext, n: int) -> None:
    """A 三公 category at 95-99% of last year's final accounts; a new unit with none."""
    if not _ready(ctx):
        return
    rng, claims = ctx.rng, _claims(ctx)
    last = ctx.period.year - 1
    act = _active(ctx).filter(_is_sangong())
    ordinary = _sangong_draft(ctx).join(ctx.units.select("unit_idx", "unit_id"), on="unit_idx")
    for i in range(n):
        pairs = (ordinary.with_columns(pl.col("economic_class").str.slice(0, 5).alias("code"))
                 .group_by("unit_id", "code").agg(pl.len().alias("k")).sort("unit_id", "code"))
        pairs = pairs.filter(~pl.col("unit_id").is_in(list(claims["fa_units"])))
        pairs = pairs.filter(~pl.struct("unit_id", "code").map_elements(
            lambda s: (s["unit_id"], s["code"]) in claims["fa_pairs"], return_dtype=pl.Boolean))
        if pairs.height == 0:
            return
        fa = ctx.final_accounts
        if i % 2 == 0:
            r = pairs.row(int(rng.integers(0, pairs.height)), named=True)
            u, code = r["unit_id"], r["code"]
            spent = act.filter((pl.col("unit_id") == u) & (pl.col("code") == code))
            total = int(spent["cents"].sum())
            row = fa.filter((pl.col("unit_id") == u) & (pl.col("fiscal_year") == last)
                            & (pl.col("economic_class") == code))
            if row.height != 1 or total == 0:
                continue
            final = math.ceil(total / rng.uniform(0.95, 0.99) / YUAN100) * YUAN100
            hit = ((pl.col("unit_id") == u) & (pl.col("fiscal_year") == last)
                   & (pl.col("economic_class") == code))
            ctx.final_accounts = fa.with_columns(
                pl.when(hit).then(pl.lit(_money(final), dtype=fa.schema["amount"]))
                .otherwise(pl.col("amount")).alias("amount"))
            claims["fa_pairs"].add((u, code))
            _record(ctx, "LA-SG-FINAL", "sangong.final_accounts", "lookalike",
                    [*_pays(spent["_key"].to_list()), ("final_accounts", _fa_key(u, last, code))],
                    f"单位 {u} {code} 本年已支出 {_fmt(total)} 元，为上年决算 {_fmt(final)} 元的 "
                    f"{total / final:.0%}，尚未超过 / unit {u} has spent {_fmt(total)} yuan on "
                    f"{code}, "
                    f"{total / final:.0%} of last year's {_fmt(final)}: not above it")
        else:
            units = pairs["unit_id"].unique().sort()
            u = units[int(rng.integers(0, len(units)))]
            ctx.final_accounts = fa.filter(pl.col("unit_id") != u)
            claims["fa_units"].add(u)
            keys = ordinary.filter(pl.col("unit_id") == u).sort("_key")["_key"].to_list()
            _record(ctx, "LA-SG-NEWUNIT", "sangong.final_accounts", "lookalike", _pays(keys),
                    f"单位 {u} 为新设单位，无上年决算，不作比较 / unit {u} is new and has no final "
                    "accounts for last year: nothing to compare with")


def overrun_lookalikes(ctx: ChunkContext, n: int) -> None:
    """A large capital payment bringing its indicator to 98-99.8% used."""
    if not _ready(ctx):
        return
    rng, claims = ctx.rng, _claims(ctx)
    act = _active(ctx)
    ind = _ind_cents(ctx).filter(~_is_sangong() & ~pl.col("economic_class").fill_null("")
                                 .str.starts_with("301"))
    cap = (_ordinary(ctx).filter(pl.col("origin") == "random")
           .join(ind.select("indicator_id"), on="indicator_id")
           .sort("cents", "_key", descending=True))
    for _ in range(n):
        pool = cap.filter(~pl.col("indicator_id").is_in(list(claims["indicators"])))
        big = pool.filter(pl.col("economic_class").str.starts_with("310"))
        pool = (big if big.height else pool).unique("indicator_id", keep="first",
                                                    maintain_order=True).head(3)
        if pool.height == 0:
            return
        r = pool.row(int(rng.integers(0, pool.height)), named=True)
        iid = r["indicator_id"]
        total = int(act.filter(pl.col("indicator_id") == iid)["cents"].sum())
        budget = math.ceil(total / rng.uniform(0.98, 0.998) / YUAN100) * YUAN100
        _set_indicator(ctx, iid, amount=_money(budget))
        claims["indicators"].add(iid)
        _record(ctx, "LA-BUD-OVER", "budget.overrun", "lookalike",
                [("indicators", iid), ("payments", r["_key"])],
                f"大额资本性支出 {_fmt(r['cents'])} 元后指标 {iid} 已用 {total / budget:.1%}"
                f"（{_fmt(total)} / {_fmt(budget)} 元），未超支 / a large capital payment of "
                f"{_fmt(r['cents'])} yuan brings indicator {iid} to {total / budget:.1%} used: "
                "within it")


LABEL_OK = ("直达资金", "三保（保基本民生）", "一般")


def fund_label_lookalikes(ctx: ChunkContext, n: int) -> None:
    """Ordinary payments on project indicators whose label allows them (or names no rule)."""
    if not _ready(ctx):
        return
    rng, claims = ctx.rng, _claims(ctx)
    ind = ctx.indicators.filter(pl.col("economic_class").is_null()
                                & pl.col("fund_label").is_in(list(LABEL_OK)))
    d = _ordinary(ctx).filter(pl.col("origin") == "random").join(
        ind.select("indicator_id", "fund_label"), on="indicator_id").sort("_key")
    for _ in range(n):
        pool = d.filter(~pl.col("indicator_id").is_in(list(claims["label_inds"])))
        ids = pool["indicator_id"].unique().sort()
        if len(ids) == 0:
            return
        iid = ids[int(rng.integers(0, len(ids)))]
        rows = pool.filter(pl.col("indicator_id") == iid)
        take = rows[np.sort(rng.choice(rows.height, size=min(4, rows.height),
                                       replace=False)).tolist()]
        label = rows["fund_label"][0]
        classes = "、".join(sorted(set(take["economic_class"].to_list())))
        claims["label_inds"].add(iid)
        _record(ctx, "LA-BUD-LABEL", "budget.fund_label", "lookalike",
                _pays(take["_key"].to_list()),
                f"资金标识“{label}”的项目指标 {iid} 支付 {classes}，符合标识用途 / "
                "project indicator "
                f"{iid} labelled '{label}' paid {classes}: what the label allows")


# ============================================================================ positives
def sangong_indicator(ctx: ChunkContext, n: int) -> None:
    """A 三公 payment charged to an indicator not allotted for it (串用指标)."""
    rng, claims = ctx.rng, _claims(ctx)
    sg = _sangong_draft(ctx).group_by("unit_idx").agg(pl.col("cents").sum().alias("sg"))
    for i in range(n):
        free = ctx.units.filter(~pl.col("unit_idx").is_in(list(claims["sg_units"])))
        free = free.join(sg, on="unit_idx", how="left").with_columns(pl.col("sg").fill_null(0))
        variant = i % 2
        if variant == 0:
            pool = free.filter(pl.col("has_reception") & (pl.col("has_meeting")
                                                           | pl.col("has_training")))
            if pool.height == 0:
                variant = 1
        if variant == 1:
            pool = free.filter(pl.col("has_vehicle"))
        unit = _pick_unit(ctx, pool)
        if unit is None:
            continue
        if variant == 0:
            on = "30215" if unit["has_meeting"] else "30216"
            cls, purpose = "30217", str(rng.choice(["接待外地考察团工作餐", "公务接待用餐费"]))
            cents = _amount(rng, 800, 6_000)
        else:
            on = "31002"
            cls, purpose = "30231", str(rng.choice(["公务用车维修费", "公务用车保险费"]))
            cents = _amount(rng, 600, 5_000)
        cents = min(cents, max(20_000, unit["sg"] // 3))
        iid = _indicator(ctx, unit["unit_idx"], on)
        keys = ctx.add([_row(ctx, unit, cls, cents, ctx.take_payee(), _day(ctx), purpose,
                             indicator_id=iid)], ORIGIN)
        _record(ctx, "SG-IND", "sangong.indicator", "positive", _pays(keys),
                f"单位 {unit['unit_id']} 三公支出（{cls}）{_fmt(cents)} 元列支 {on} 指标 {iid}，"
                "串用指标 / "
                f"a 三公 payment ({cls}) of {_fmt(cents)} yuan charged to the {on} indicator {iid}")


DISGUISED = (
    ("30217", "30201", "", "接待省厅检查组晚宴费用", 1_500, 9_000),
    ("30217", "30215", "", "宴请合作单位来访人员", 1_000, 8_000),
    ("30231", "30213", "", "公务用车维修保养", 800, 9_000),
    ("31013", "31002", "", "购置公务车辆一台", 120_000, 260_000),
    ("30212", "30211", "", "赴港澳考察团组国际机票", 8_000, 36_000),
)


def disguised(ctx: ChunkContext, n: int) -> None:
    rng = ctx.rng
    for i in range(n):
        code, cls, _, purpose, lo, hi = DISGUISED[i % len(DISGUISED)]
        unit = ctx.unit()
        cents = _amount(rng, lo, hi)
        keys = ctx.add([_row(ctx, unit, cls, cents, ctx.take_payee(), _day(ctx), purpose)], ORIGIN)
        _record(ctx, "SG-HIDE", "sangong.disguised", "positive", _pays(keys),
                f"“{purpose}”{_fmt(cents)} 元属三公（{code}），却列支 {cls} / '{purpose}', "
                f"{_fmt(cents)} yuan, is 三公 ({code}) booked under {cls}")


def class_mismatch(ctx: ChunkContext, n: int) -> None:
    """Maintenance from the equipment indicator, labour fees from the meeting indicator,
    a purchase from another unit's equipment indicator."""
    rng = ctx.rng
    for i in range(n):
        variant = i % 3
        unit = ctx.unit()
        if variant == 1 and not unit["has_meeting"]:
            pool = ctx.units.filter(pl.col("has_meeting"))
            if pool.height:
                unit = _pick_unit(ctx, pool)
            else:
                variant = 0
        if variant == 2 and ctx.units.height < 2:
            variant = 0
        if variant == 0:
            cls, on, purpose = "30213", "31002", str(rng.choice(["办公楼维修", "屋顶防水维修"]))
            iid, owner = _indicator(ctx, unit["unit_idx"], on), unit["unit_id"]
            cents = _amount(rng, 3_000, 38_000)
            zh = f"以 {on} 设备购置指标支付维修费（{cls}）"
            en = f"maintenance ({cls}) paid from the {on} equipment indicator"
        elif variant == 1:
            cls, on, purpose = "30226", "30215", "会议评审专家劳务费"
            iid, owner = _indicator(ctx, unit["unit_idx"], on), unit["unit_id"]
            cents = _amount(rng, 2_000, 20_000)
            zh = f"以 {on} 会议费指标支付劳务费（{cls}）"
            en = f"labour fees ({cls}) paid from the {on} meeting indicator"
        else:
            other = _pick_unit(ctx, ctx.units.filter(pl.col("unit_idx") != unit["unit_idx"]))
            cls, on, purpose = "31002", "31002", "采购计算机及打印机"
            iid, owner = _indicator(ctx, other["unit_idx"], on), other["unit_id"]
            cents = _amount(rng, 5_000, 90_000)
            zh = f"使用其他单位 {owner} 的设备购置指标"
            en = f"paid from unit {owner}'s equipment indicator"
        keys = ctx.add([_row(ctx, unit, cls, cents, ctx.take_payee(), _day(ctx), purpose,
                             indicator_id=iid)], ORIGIN)
        _record(ctx, "BUD-CLASS", "budget.class_mismatch", "positive", _pays(keys),
                f"单位 {unit['unit_id']} {zh}（指标 {iid}），{_fmt(cents)} 元 / "
                f"unit {unit['unit_id']}: "
                f"{en} ({iid}), {_fmt(cents)} yuan")


def own_account(ctx: ChunkContext, n: int) -> None:
    """Budget money into the unit's own basic or special account, or another unit's basic
    account."""
    rng = ctx.rng
    for i in range(n):
        unit = ctx.unit()
        variant = i % 3
        mine = ctx.plan.accounts.filter(pl.col("unit_id") == unit["unit_id"])
        if variant == 1 and not (mine["account_type"] == "special").any():
            variant = 0
        if variant == 2 and ctx.units.height < 2:
            variant = 0
        if variant == 0:
            acct = mine.filter(pl.col("account_type") == "basic").row(0, named=True)
            purpose, zh, en = "划转至本单位基本账户备用", "本单位基本账户", "its own basic account"
        elif variant == 1:
            acct = mine.filter(pl.col("account_type") == "special").row(0, named=True)
            purpose, zh, en = "拨付至本单位专用账户", "本单位专用账户", "its own special account"
        else:
            other = _pick_unit(ctx, ctx.units.filter(pl.col("unit_idx") != unit["unit_idx"]))
            acct = ctx.plan.accounts.filter(
                (pl.col("unit_id") == other["unit_id"]) & (pl.col("account_type") == "basic")
            ).row(0, named=True)
            child = other["parent_id"] == unit["unit_id"]
            purpose = "拨付下属单位工作经费" if child else "转拨其他单位工作经费"
            zh = f"其他预算单位 {other['unit_id']} 的基本账户"
            en = f"unit {other['unit_id']}'s basic account"
        payee = _account_payee(ctx, acct["account_no"])
        cents = _amount(rng, 20_000, 300_000)
        keys = ctx.add([_row(ctx, unit, "30299", cents, payee, _day(ctx), purpose)], ORIGIN)
        _record(ctx, "FUNDS-OWN", "funds.own_account", "positive", _pays(keys),
                f"单位 {unit['unit_id']} 以预算资金向{zh} {acct['account_no']} 支付 "
                f"{_fmt(cents)} 元 / "
                f"unit {unit['unit_id']} paid {_fmt(cents)} yuan of budget money into {en} "
                f"{acct['account_no']}")


def round_trip_payments(ctx: ChunkContext, n: int) -> None:
    rng = ctx.rng
    for _ in range(n):
        unit, payee = ctx.unit(), ctx.take_payee()
        cls = str(rng.choice(["30227", "31002"]))
        cents = _amount(rng, 20_000, 260_000)
        day = _day(ctx, room=14)
        keys = ctx.add([_row(ctx, unit, cls, cents, payee, day, str(rng.choice(N.PURPOSES[cls])))],
                       ORIGIN)
        _stash(ctx, "round_trip").append({"key": keys[0], "unit": unit, "payee": payee,
                                          "cents": cents, "day": day})


def round_trip_credits(ctx: ChunkContext, n: int) -> None:
    if not _ready(ctx):
        return
    p = ctx.period
    for s in _stash(ctx, "round_trip"):
        unit, payee = s["unit"], s["payee"]
        i = int(p.index(np.array([s["day"]]))[0])
        back = int(p.wd[min(i + int(ctx.rng.integers(2, 13)), p.last)])
        cents = int(s["cents"] * ctx.rng.uniform(0.6, 0.98)) // 100 * 100
        basic = ctx.plan.accounts.filter((pl.col("unit_id") == unit["unit_id"])
                                         & (pl.col("account_type") == "basic"))["account_no"][0]
        ctx.counters["money_bank_ref"] = ctx.counters.get("money_bank_ref", 0) + 1
        date = from_epoch_day(back)
        ref = f"B{date:%Y%m%d}{unit['region_code']}R{ctx.counters['money_bank_ref']:04d}"
        row = pl.DataFrame({
            "bank_ref": [ref], "value_date": [date], "amount": [_money(cents)],
            "payee_account": [basic], "voucher_id": [None],
            "payer_account": [payee["payee_account"]], "payee_name": [payee["payee_name"]],
            "direction": ["credit"], "currency": ["CNY"],
        }, schema=ctx.bank.schema)
        ctx.bank = pl.concat([ctx.bank, row])
        gap = (date - from_epoch_day(s["day"])).days
        _record(ctx, "FUNDS-ROUND", "funds.round_trip", "positive",
                [("payments", s["key"]), ("bank_transactions", ref)],
                f"单位 {unit['unit_id']} 付给 {payee['payee_name']} {_fmt(s['cents'])} 元，"
                f"{gap} 天后该账户向本单位基本账户转回 {_fmt(cents)} 元 / unit {unit['unit_id']} "
                f"paid {_fmt(s['cents'])} yuan to {payee['payee_account']}, which credited "
                f"{_fmt(cents)} yuan back into the unit's basic account {gap} days later")


def _off_days(ctx: ChunkContext, holiday: bool) -> list[int]:
    p = ctx.period
    cal = p.calendar
    out = []
    d = p.start + dt.timedelta(days=4)
    while d <= p.as_of - dt.timedelta(days=7):
        if not cal.is_workday(d) and cal.is_holiday(d) == holiday:
            out.append(epoch_day(d))
        d += dt.timedelta(days=1)
    return out


def off_hours(ctx: ChunkContext, n: int) -> None:
    """Vouchers drafted and approved on a weekend, at night or on a public holiday."""
    rng, p = ctx.rng, ctx.period
    for i in range(n):
        variant = i % 3
        unit, payee = ctx.unit(), ctx.take_payee()
        cls = str(rng.choice(["30201", "30202", "30213", "30227"]))
        cents = _amount(rng, 800, 36_000)
        days = _off_days(ctx, holiday=variant == 2) if variant != 1 else []
        days = [d for d in days if p.on_or_after(np.array([d + 1]))[0] <= p.wd[p.last]]
        if variant != 1 and days:
            off = days[int(rng.integers(0, len(days)))]
            created = off * DAY + int(rng.uniform(9.5 * H, 15 * H))
            approved = created + int(rng.uniform(15 * M, 150 * M))
            pay = int(p.on_or_after(np.array([off + 1]))[0])
            date = from_epoch_day(off)
            zh = f"{'法定节假日' if variant == 2 else '周末'} {date} 制单并审核"
            kind = "a public holiday" if variant == 2 else "a weekend"
            en = f"drafted and approved on {date}, {kind}"
        else:
            i_day = ctx.pay_day_index(room=1)
            night = int(p.wd[i_day])
            created = night * DAY + int(rng.uniform(22 * H, 23.3 * H))
            approved = created + int(rng.uniform(8 * M, 25 * M))
            pay = int(p.wd[i_day + 1])
            zh = f"{from_epoch_day(night)} 深夜 22:00 后制单并审核"
            en = f"drafted and approved after 22:00 on {from_epoch_day(night)}"
        keys = ctx.add([_row(ctx, unit, cls, cents, payee, pay, str(rng.choice(N.PURPOSES[cls])),
                             created_at=created, approved_at=approved)], ORIGIN)
        _stash(ctx, "off_hours").extend(keys)
        _record(ctx, "TIME-OFF", "timing.off_hours", "positive", _pays(keys),
                f"凭证 {_fmt(cents)} 元于{zh} / a voucher of {_fmt(cents)} yuan {en}")


DECEMBER = (
    ("31002", "年底集中采购办公设备"), ("31002", "会议室音视频设备购置"),
    ("30213", "预付下年度电梯及空调维保费"), ("30213", "办公楼外立面维修"),
    ("30227", "预付下年度信息系统运维服务费"), ("30202", "年底集中印制宣传资料"),
)


def december_rush(ctx: ChunkContext, n: int) -> None:
    """A unit paying more in the December window than in the rest of its year."""
    rng, p = ctx.rng, ctx.period
    start = epoch_day(dt.date(p.year, 12, 1))
    window = [int(d) for d in p.wd[p.first:p.last + 1] if d >= start]
    if not window:
        return
    claims = _claims(ctx)
    spent = pl.concat([ctx.draft, *ctx.added]).filter(pl.col("status") == "paid").group_by(
        "unit_idx").agg(pl.col("cents").sum().alias("spent"), pl.len().alias("k"))
    units = ctx.units.join(spent, on="unit_idx").filter(
        ~pl.col("unit_idx").is_in(list(claims["units"]))).sort("spent", "unit_idx")
    # not the smallest unit (the Benford family's), nor the big ones
    pool = units[1:max(2, units.height // 2)] if units.height > 2 else units
    for _ in range(n):
        pool = pool.filter(~pl.col("unit_idx").is_in(list(claims["units"])))
        unit = _pick_unit(ctx, pool)
        if unit is None:
            return
        claims["units"].add(unit["unit_idx"])
        target = unit["spent"] * rng.uniform(1.3, 1.6)
        k = int(np.clip(round(target / 25_000_000), 8, 40))
        cents = np.clip(target / k * rng.uniform(0.7, 1.3, size=k), 5_200_000, 200_000_000)
        payees = [ctx.take_payee() for _ in range(6)]
        days = np.sort(rng.choice(window, size=k))
        rows = []
        for j, (c, d) in enumerate(zip(cents, days, strict=True)):
            cls, purpose = DECEMBER[int(rng.integers(0, len(DECEMBER)))]
            rows.append(_row(ctx, unit, cls, int(c) // 100 * 100 + int(rng.integers(0, 100)),
                             payees[j % 6], int(d), purpose))
        keys = ctx.add(rows, ORIGIN)
        total = sum(r["cents"] for r in rows)
        _record(ctx, "TIME-DEC", "timing.december_rush", "positive", _pays(keys),
                f"单位 {unit['unit_id']} 于 12 月集中支付 {k} 笔共 {_fmt(total)} 元，"
                "超过其本年此前全部支出 / "
                f"unit {unit['unit_id']} paid {k} payments, {_fmt(total)} yuan, in December: more "
                "than the rest of its year")


# ---------------------------------------------------------------------- final positives
WORK_START, WORK_END, GRACE = 8 * 60, 19 * 60, 120
"""The settings the generator writes (default ``working_hours``) and the detector's
default grace, in minutes."""


def off_hours_also(ctx: ChunkContext, n: int) -> None:
    """Vouchers other families drafted or approved out of working time (the amount
    families' 02:00 vouchers...): ``timing.off_hours`` positives as well."""
    if not _ready(ctx):
        return
    p, cal = ctx.period, ctx.period.calendar
    mine = set(_stash(ctx, "off_hours"))
    pay = ctx.payments.filter((pl.col("pay_date").dt.year() == p.year)
                              & (pl.col("pay_date") <= p.as_of) & ~pl.col("_key").is_in(list(mine)))

    def off(t: dt.datetime | None) -> bool:
        if t is None:
            return False
        minutes = t.hour * 60 + t.minute
        return (not cal.is_workday(t.date()) or minutes < WORK_START - GRACE
                or minutes > WORK_END + GRACE)

    for r in pay.sort("voucher_id").iter_rows(named=True):
        if not (off(r["created_at"]) or off(r["approved_at"]) or not cal.is_workday(r["pay_date"])):
            continue
        _record(ctx, "TIME-OFF-ALSO", "timing.off_hours", "positive", [("payments", r["_key"])],
                f"另一注入案例的凭证于 {r['created_at']:%Y-%m-%d %H:%M} 制单、"
                f"{r['approved_at']:%H:%M} 审核，在工作时间外 / a voucher of another injected "
                f"case drafted at {r['created_at']:%Y-%m-%d %H:%M} and approved at "
                f"{r['approved_at']:%H:%M}: out of working time")


def sangong_total(ctx: ChunkContext, n: int) -> None:
    """A unit's 三公 indicators cut below what it has already spent on 三公."""
    if not _ready(ctx):
        return
    rng, claims = ctx.rng, _claims(ctx)
    act = _active(ctx)
    sg = act.filter(_is_sangong())
    ind = _ind_cents(ctx).filter(_is_sangong())
    per = (sg.group_by("unit_id").agg(pl.col("cents").sum().alias("spent"), pl.len().alias("k"))
           .join(ind.group_by("unit_id").agg(pl.col("cents").sum().alias("budget")), on="unit_id")
           .join(ctx.units.select("unit_idx", "unit_id"), on="unit_id")
           .filter(~pl.col("unit_idx").is_in(list(claims["sg_units"])) & (pl.col("k") >= 2))
           .sort("unit_id"))
    for _ in range(n):
        if per.height == 0:
            return
        r = per.row(int(rng.integers(0, per.height)), named=True)
        per = per.filter(pl.col("unit_id") != r["unit_id"])
        u = r["unit_id"]
        f = rng.uniform(0.75, 0.92) * r["spent"] / r["budget"]
        mine = ind.filter(pl.col("unit_id") == u).sort("indicator_id")
        new = {iid: max(YUAN100, int(c * f) // YUAN100 * YUAN100)
               for iid, c in zip(mine["indicator_id"], mine["cents"], strict=True)}
        budget = sum(new.values())
        if budget >= r["spent"]:
            continue
        for iid, c in new.items():
            _set_indicator(ctx, iid, amount=_money(c))
        claims["sg_units"].add(r["unit_idx"])
        pays = sg.filter(pl.col("unit_id") == u)["_key"].to_list()
        _record(ctx, "SG-TOTAL", "sangong.total", "positive",
                [*_pays(pays), *[("indicators", iid) for iid in new]],
                f"单位 {u} 三公指标压减至 {_fmt(budget)} 元，而本年已支出三公经费 "
                f"{_fmt(r['spent'])} 元 / "
                f"unit {u}'s 三公 indicators cut to {_fmt(budget)} yuan, below the "
                f"{_fmt(r['spent'])} yuan it has already spent on 三公")
        for iid, c in new.items():
            after = _overrun(act, iid, c)
            if after:
                _record(ctx, "BUD-OVER-SG", "budget.overrun", "positive",
                        [("indicators", iid), *_pays(after)],
                        f"三公指标 {iid} 压减至 {_fmt(c)} 元，低于已支付金额 / "
                        f"三公 indicator {iid} "
                        f"cut to {_fmt(c)} yuan, below what it has paid")


def final_accounts(ctx: ChunkContext, n: int) -> None:
    """Last year's final accounts of a 三公 category below this year's spending, or the
    category missing while the unit has other rows."""
    if not _ready(ctx):
        return
    rng, claims = ctx.rng, _claims(ctx)
    last = ctx.period.year - 1
    act = _active(ctx).filter(_is_sangong())
    per = act.group_by("unit_id", "code").agg(pl.col("cents").sum().alias("spent")).sort(
        "unit_id", "code")
    for i in range(n):
        fa = ctx.final_accounts.filter(pl.col("fiscal_year") == last)
        rows_per_unit = fa.group_by("unit_id").len()
        cand = per.join(rows_per_unit, on="unit_id").filter(
            ~pl.col("unit_id").is_in(list(claims["fa_units"])))
        cand = cand.filter(~pl.struct("unit_id", "code").map_elements(
            lambda s: (s["unit_id"], s["code"]) in claims["fa_pairs"], return_dtype=pl.Boolean))
        if cand.height == 0:
            return
        r = cand.row(int(rng.integers(0, cand.height)), named=True)
        u, code, spent = r["unit_id"], r["code"], r["spent"]
        claims["fa_pairs"].add((u, code))
        hit = ((pl.col("unit_id") == u) & (pl.col("fiscal_year") == last)
               & (pl.col("economic_class") == code))
        has_row = fa.filter(hit).height == 1
        mine = act.filter((pl.col("unit_id") == u) & (pl.col("code") == code))
        pays = _pays(mine["_key"].to_list())
        if (i % 2 == 1 and r["len"] >= 2) or not has_row:
            ctx.final_accounts = ctx.final_accounts.filter(~hit)
            _record(ctx, "SG-FINAL", "sangong.final_accounts", "positive", pays,
                    f"单位 {u} 上年决算无 {code} 支出，本年已支出 {_fmt(spent)} 元 / unit {u} "
                    f"had no {code} spending in last year's final accounts and has spent "
                    f"{_fmt(spent)} yuan")
            continue
        final = int(spent * rng.uniform(0.6, 0.9)) // YUAN100 * YUAN100
        fa_all = ctx.final_accounts
        ctx.final_accounts = fa_all.with_columns(
            pl.when(hit).then(pl.lit(_money(final), dtype=fa_all.schema["amount"]))
            .otherwise(pl.col("amount")).alias("amount"))
        _record(ctx, "SG-FINAL", "sangong.final_accounts", "positive",
                [*pays, ("final_accounts", _fa_key(u, last, code))],
                f"单位 {u} {code} 本年已支出 {_fmt(spent)} 元，超过上年决算 {_fmt(final)} 元 / "
                f"unit {u} "
                f"has spent {_fmt(spent)} yuan on {code}, above last year's {_fmt(final)}")


def overrun(ctx: ChunkContext, n: int) -> None:
    """A non-三公 indicator set below its cumulative payments."""
    if not _ready(ctx):
        return
    rng, claims = ctx.rng, _claims(ctx)
    act = _active(ctx)
    ind = _ind_cents(ctx).filter(~_is_sangong() & ~pl.col("economic_class").fill_null("")
                                 .str.starts_with("301"))
    counts = (act.join(ind.select("indicator_id"), on="indicator_id")
              .group_by("indicator_id").len().filter(pl.col("len") >= 4).sort("indicator_id"))
    for _ in range(n):
        pool = counts.filter(~pl.col("indicator_id").is_in(list(claims["indicators"])))
        if pool.height == 0:
            return
        iid = pool["indicator_id"][int(rng.integers(0, pool.height))]
        claims["indicators"].add(iid)
        rows = act.filter(pl.col("indicator_id") == iid)
        c = rows["cents"].to_numpy()
        cum = np.cumsum(c)
        k = len(c)
        options = []
        for j in range(max(1, math.ceil(0.6 * k)), k):
            lo = math.ceil(cum[j - 1] / YUAN100) * YUAN100
            if lo < cum[j]:
                options.append((j, lo, int(cum[j] - 1 - lo) // YUAN100))
        if not options:
            continue
        j, lo, extra = options[int(rng.integers(0, len(options)))]
        budget = lo + YUAN100 * int(rng.integers(0, extra + 1))
        _set_indicator(ctx, iid, amount=_money(budget))
        keys = rows["_key"].to_list()[j:]
        over = int(cum[-1] - budget)
        _record(ctx, "BUD-OVER", "budget.overrun", "positive", [("indicators", iid), *_pays(keys)],
                f"指标 {iid} 金额 {_fmt(budget)} 元，累计支付 {_fmt(int(cum[-1]))} 元，"
                f"超支 {_fmt(over)} 元"
                f"（自凭证第 {j + 1} 笔起） / indicator {iid} of {_fmt(budget)} yuan has paid "
                f"{_fmt(int(cum[-1]))} yuan, {_fmt(over)} over (from its payment no. {j + 1})")


def fund_label(ctx: ChunkContext, n: int) -> None:
    """An indicator labelled 三保（保工资） whose money paid for other things."""
    if not _ready(ctx):
        return
    rng, claims = ctx.rng, _claims(ctx)
    act = _active(ctx).filter(~_is_sangong() & ~pl.col("economic_class").str.starts_with("301")
                              & ~pl.col("economic_class").str.starts_with("303"))
    ind = ctx.indicators.filter(~_is_sangong() & ~pl.col("economic_class").fill_null("")
                                .str.starts_with("301"))
    used = act.group_by("indicator_id").len().filter(pl.col("len") >= 2)
    cand = ind.join(used, on="indicator_id").with_columns(
        pl.col("economic_class").is_null().alias("project")).sort("indicator_id")
    for _ in range(n):
        pool = cand.filter(~pl.col("indicator_id").is_in(list(claims["label_inds"])))
        proj = pool.filter(pl.col("project"))
        pool = proj if proj.height else pool
        if pool.height == 0:
            return
        r = pool.row(int(rng.integers(0, pool.height)), named=True)
        iid = r["indicator_id"]
        claims["label_inds"].add(iid)
        _set_indicator(ctx, iid, fund_label="三保（保工资）", fund_source="一般公共预算",
                       purpose="保工资专项资金")
        paid = act.filter(pl.col("indicator_id") == iid)
        for cls in sorted(set(paid["economic_class"].to_list())):
            rows = paid.filter(pl.col("economic_class") == cls)
            _record(ctx, "BUD-LABEL", "budget.fund_label", "positive",
                    _pays(rows["_key"].to_list()),
                    f"资金标识“三保（保工资）”的指标 {iid} 支付了 {cls} 类款项 {rows.height} 笔，"
                    "合计 "
                    f"{_fmt(int(rows['cents'].sum()))} 元 / indicator {iid}, labelled for wages "
                    f"(三保（保工资）), paid {rows.height} payment(s) of class {cls}, "
                    f"{_fmt(int(rows['cents'].sum()))} yuan")


# ============================================================================ registry
MONEY_FAMILIES: list[Family] = [
    # look-alikes first: positives avoid what they use
    Family("money_sangong_ok", "sangong.total", "lookalike", 3, sangong_ok),
    Family("money_disguised_la", "sangong.disguised", "lookalike", 6, disguised_lookalikes),
    Family("money_class_ok", "budget.class_mismatch", "lookalike", 3, class_ok,
           payees_per_case=0),
    Family("money_own_la", "funds.own_account", "lookalike", 3, own_lookalikes,
           payees_per_case=0),
    Family("money_round_la", "funds.round_trip", "lookalike", 2, round_lookalikes),
    Family("money_off_hours_la", "timing.off_hours", "lookalike", 6, off_hours_lookalikes),
    Family("money_round_la_rec", "funds.round_trip", "lookalike", 0, round_lookalike_records,
           payees_per_case=0, stage="final"),
    Family("money_fa_la", "sangong.final_accounts", "lookalike", 3, final_accounts_lookalikes,
           payees_per_case=0, stage="final"),
    Family("money_overrun_la", "budget.overrun", "lookalike", 3, overrun_lookalikes,
           payees_per_case=0, stage="final"),
    Family("money_fund_la", "budget.fund_label", "lookalike", 2, fund_label_lookalikes,
           payees_per_case=0, stage="final"),
    # positives
    Family("money_sangong_indicator", "sangong.indicator", "positive", 4, sangong_indicator),
    Family("money_disguised", "sangong.disguised", "positive", 5, disguised),
    Family("money_class_mismatch", "budget.class_mismatch", "positive", 4, class_mismatch),
    Family("money_own_account", "funds.own_account", "positive", 3, own_account,
           payees_per_case=0),
    Family("money_round_trip_pay", "funds.round_trip", "positive", 3, round_trip_payments),
    Family("money_off_hours", "timing.off_hours", "positive", 5, off_hours),
    Family("money_december", "timing.december_rush", "positive", 2, december_rush,
           payees_per_case=6),
    Family("money_round_trip", "funds.round_trip", "positive", 0, round_trip_credits,
           payees_per_case=0, stage="final"),
    Family("money_off_hours_also", "timing.off_hours", "positive", 0, off_hours_also,
           payees_per_case=0, stage="final"),
    Family("money_sangong_total", "sangong.total", "positive", 3, sangong_total,
           payees_per_case=0, stage="final"),
    Family("money_final_accounts", "sangong.final_accounts", "positive", 3, final_accounts,
           payees_per_case=0, stage="final"),
    Family("money_overrun", "budget.overrun", "positive", 4, overrun, payees_per_case=0,
           stage="final"),
    Family("money_fund_label", "budget.fund_label", "positive", 3, fund_label,
           payees_per_case=0, stage="final"),
]
"""The money-rule families (三公, budget, funds, timing), to run after every other
domain's families."""

"""The plan of a synthetic world: period, regions, units, users, accounts and payees.

Everything small enough to hold for a whole province is decided here, once, from
the seed; the bulky tables (payments, logs, ...) are then generated chunk by chunk
(a chunk is a run of whole regions) from it.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from auditlib.calendar import Calendar
from auditlib.synth import names as N
from auditlib.synth.classes import PAYMENTS_PER_UNIT, pool_sizes
from auditlib.synth.ids import random_accounts

EPOCH = dt.date(1970, 1, 1)
UNITS_PER_REGION = 17
CHUNK_PAYMENTS = 100000  # expected payments generated and written at a time


def epoch_day(d: dt.date) -> int:
    return (d - EPOCH).days


def from_epoch_day(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


def normalise_name(name: str) -> str:
    """A payee name compared loosely: NFKC (full-width brackets → ASCII), no spaces."""
    return "".join(unicodedata.normalize("NFKC", name).split())


# ---------------------------------------------------------------------------------- period
@dataclass(frozen=True)
class Period:
    """The fiscal year up to the audit date, and its working days (epoch day numbers)."""

    year: int
    as_of: dt.date
    calendar: Calendar
    wd: np.ndarray
    """Working days from 1 December of the year before to 31 December (epoch days)."""
    first: int
    """Index in ``wd`` of the first working day of the year."""
    last: int
    """Index in ``wd`` of the last working day on or before ``as_of``."""

    @classmethod
    def build(cls, year: int, as_of: dt.date | None) -> Period:
        cal = Calendar()
        cal.check_years([year - 1, year])
        as_of = as_of or dt.date(year, 6, 30)
        if not (dt.date(year, 1, 20) <= as_of <= dt.date(year, 12, 31)):
            msg = f"as_of {as_of} must fall between {year}-01-20 and {year}-12-31"
            raise ValueError(msg)
        days = cal.workdays_between(dt.date(year - 1, 12, 1), dt.date(year, 12, 31))
        wd = np.array([epoch_day(d) for d in days], dtype=np.int64)
        first = int(np.searchsorted(wd, epoch_day(dt.date(year, 1, 1))))
        last = int(np.searchsorted(wd, epoch_day(as_of), side="right")) - 1
        return cls(year, as_of, cal, wd, first, last)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def fraction(self) -> float:
        """Share of the year elapsed at ``as_of``."""
        n = (dt.date(self.year, 12, 31) - self.start).days + 1
        return ((self.as_of - self.start).days + 1) / n

    @property
    def pay_days(self) -> np.ndarray:
        return self.wd[self.first:self.last + 1]

    def index(self, days: np.ndarray) -> np.ndarray:
        """Index in ``wd`` of each working day given (the day must be a working day)."""
        return np.searchsorted(self.wd, days)

    def on_or_after(self, days: np.ndarray) -> np.ndarray:
        """The first working day on or after each day (capped at the last one known)."""
        i = np.minimum(np.searchsorted(self.wd, days, side="left"), len(self.wd) - 1)
        return self.wd[i]

    def on_or_before(self, days: np.ndarray) -> np.ndarray:
        i = np.maximum(np.searchsorted(self.wd, days, side="right") - 1, 0)
        return self.wd[i]

    def months(self) -> list[int]:
        """Months of the year that have started by ``as_of``."""
        return list(range(1, self.as_of.month + 1))


# ---------------------------------------------------------------------------------- plan
@dataclass
class Plan:
    seed: int
    scale: float
    period: Period
    regions: pl.DataFrame
    units: pl.DataFrame
    accounts: pl.DataFrame
    payees: pl.DataFrame
    pools: pl.DataFrame
    """Per (region, category): first payee index and pool size (ordinary flow only)."""
    chunks: list[list[int]]
    """Region indices of each chunk."""
    cases: dict[str, list[int]] = field(default_factory=dict)
    """Per injection family: number of cases in each chunk."""
    reserved: list[np.ndarray] = field(default_factory=list)
    """Per chunk: payee indices kept out of the ordinary flow for injected cases."""


FIXED_POOLS: dict[str, int] = {"abroad": 1, "car": 2}
"""Pools of the rare special payments; the others are sized by :func:`pool_sizes`."""
RESERVED_CATEGORIES = ("maint", "equip", "consult", "office", "print", "training")
SHARED = ("telecom", "fuel", "insurance", "water", "power")


def _short(name: str) -> str:
    """A county's short name, as company names use it: 桐庐县 → 桐庐, 景宁畲族自治县 → 景宁."""
    return name[:-1] if len(name) <= 4 else name[:2]


def _regions(rng: np.random.Generator, n: int) -> pl.DataFrame:
    real = list(N.COUNTIES)
    order = rng.permutation(len(real))
    picked = [real[i] for i in order[:n]]
    codes = {c for c, _ in real}
    names_used = {nm for _, nm in real} | {_short(nm) for _, nm in real}
    # Synthetic counties once the real list runs out: other city codes of the province.
    chars = list(N.PLACE_CHARS)
    k = 0
    while len(picked) < n:
        prov, rest = divmod(k, 88 * 60)
        code = f"{33 + prov:02d}{12 + rest // 60:02d}{21 + rest % 60:02d}"
        k += 1
        if code in codes:
            continue
        for attempt in range(200):
            size = 2 if attempt < 20 else 3
            nm = "".join(rng.choice(chars, size=size)) + "县"
            if nm not in names_used and nm[:-1] not in names_used:
                break
        names_used |= {nm, nm[:-1]}
        picked.append((code, nm))
    rows = []
    for i, (code, nm) in enumerate(picked):
        city = N.CITIES.get(code[:4]) or (nm[:2] if len(nm) > 2 else nm)
        short = _short(nm)
        rows.append((i, code, nm, city, short))
    return pl.DataFrame(
        rows, schema=["region_idx", "region_code", "region_name", "city", "short"], orient="row"
    ).with_columns(pl.col("region_idx").cast(pl.Int64))


def _units(rng: np.random.Generator, regions: pl.DataFrame, n_units: int) -> pl.DataFrame:
    n_reg = regions.height
    base = np.full(n_reg, n_units // n_reg)
    base[: n_units % n_reg] += 1
    rows = []
    uid = 0
    deps = N.DEPARTMENTS
    subs = N.SUBORDINATES
    for r, (code, rname) in enumerate(zip(regions["region_code"], regions["region_name"],
                                          strict=True)):
        k = int(base[r])
        chosen: list[tuple[str, str, float, str | None]] = []  # suffix, func, weight, parent
        for name, func, w in deps[: min(k, N.CORE_DEPARTMENTS)]:
            chosen.append((name, func, w, None))
        others: list[tuple[str, str, float, str | None]] = [
            (d[0], d[1], d[2], None) for d in deps[N.CORE_DEPARTMENTS:]
        ] + [(s[1], s[2], s[3], s[0]) for s in subs]
        perm = rng.permutation(len(others))
        pending = [others[i] for i in perm]
        progress = True
        while len(chosen) < k and pending and progress:
            progress = False
            rest = []
            for cand in pending:
                if len(chosen) >= k:
                    rest.append(cand)
                    continue
                parent = cand[3]
                if parent is None or any(c[0] == parent and c[3] is None for c in chosen):
                    chosen.append(cand)
                    progress = True
                else:
                    rest.append(cand)
            pending = rest
        ids: dict[str, str] = {}
        for suffix, func, w, parent in chosen:
            uid += 1
            unit_id = f"U{uid:04d}"
            if parent is None:
                ids[suffix] = unit_id
            rows.append({
                "unit_idx": uid - 1, "unit_id": unit_id, "unit_name": rname + suffix,
                "region_idx": r, "region_code": code, "dept": parent or suffix,
                "parent_id": ids.get(parent) if parent else None, "functional_class": func,
                "weight": float(w) * float(rng.lognormal(0.0, 0.25)),
            })
    df = pl.DataFrame(rows)
    n = df.height
    w = df["weight"].to_numpy()
    flags = {
        "has_reception": rng.random(n) < 0.9,
        "has_vehicle": rng.random(n) < 0.7,
        "has_meeting": rng.random(n) < 0.5,
        "has_training": rng.random(n) < 0.5,
        "has_project": rng.random(n) < 0.45,
        "has_abroad": rng.random(n) < 0.08,
        "has_car_purchase": rng.random(n) < 0.06,
        "has_rent": rng.random(n) < 0.3,
        "has_property": rng.random(n) < 0.4,
        "has_special": rng.random(n) < 0.3,
    }
    employees = np.maximum(4, np.round(rng.lognormal(np.log(16 * w), 0.45))).astype(np.int64)
    makers = 1 + (w > 1.0) + (rng.random(n) < 0.3)
    checkers = 1 + (w > 1.3)
    return df.with_columns(
        *[pl.Series(k, v) for k, v in flags.items()],
        pl.Series("employees", employees),
        pl.Series("makers", makers.astype(np.int64)),
        pl.Series("checkers", checkers.astype(np.int64)),
        pl.Series("pay_dom", rng.integers(5, 16, size=n)),  # payday of the month (<= 15)
        pl.Series("util_dom", rng.integers(10, 26, size=n)),
        pl.Series("rent_dom", rng.integers(2, 9, size=n)),
        pl.Series("rent_cents", _rent_amounts(rng, n)),
        pl.Series("property_cents", np.round(rng.uniform(1800, 18000, size=n)).astype(np.int64)
                  * 100),
        pl.Series("bank", rng.integers(0, len(N.BANKS), size=n)),
    )


def _rent_amounts(rng: np.random.Generator, n: int) -> np.ndarray:
    small = np.round(rng.uniform(3000, 20000, size=n) / 10) * 10
    big = np.round(rng.uniform(55000, 150000, size=n) / 100) * 100
    return (np.where(rng.random(n) < 0.75, small, big) * 100).astype(np.int64)


class _Names:
    """Unique company names (unique after normalisation) across the whole world."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def company(self, category: str, city: str, short: str) -> str:
        rng = self.rng
        chars = N.TRADE_CHARS
        industries = N.INDUSTRIES[category]
        for _ in range(1000):
            a, b = rng.integers(0, len(chars), size=2).tolist()
            k = int(rng.integers(0, len(industries)))
            trade = chars[a] + chars[b]
            industry = industries[k]
            u = rng.random(3)
            geo = city if u[0] < 0.6 else short
            r = u[1]
            if industry == "会计师事务所":
                name = f"{geo}{trade}会计师事务所" + (
                    "（特殊普通合伙）" if u[2] < 0.6 else "有限公司"
                )
            elif industry == "律师事务所":
                name = f"{N.PROVINCE}{trade}律师事务所"
            elif r < 0.15:
                name = f"{trade}（{city}）{industry}有限公司"
            elif r < 0.20:
                name = f"{N.PROVINCE}{trade}{industry}有限公司{short}分公司"
            else:
                suffix = "有限公司" if u[2] < 0.75 else ("有限责任公司" if u[2] < 0.9
                                                      else "股份有限公司")
                name = f"{geo}{trade}{industry}{suffix}"
            if self.add(name):
                return name
        msg = "could not find a fresh company name"
        raise RuntimeError(msg)

    def add(self, name: str) -> bool:
        key = normalise_name(name)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _payees(rng: np.random.Generator, regions: pl.DataFrame, units: pl.DataFrame,
            reserved_per_region: np.ndarray, taken: set[str], fraction: float
            ) -> tuple[pl.DataFrame, pl.DataFrame]:
    gen = _Names(rng)
    rows: list[tuple] = []  # region_idx, category, name, unit_idx (dedicated), role

    def add(region: int, cat: str, name: str, unit: int = -1, role: str = "pool") -> None:
        rows.append((region, cat, name, unit, role))

    pools = []
    all_w = units["weight"].to_numpy()
    flags = [c for c in units.columns if c.startswith("has_")]
    for r, city, short in zip(regions["region_idx"], regions["city"], regions["short"],
                              strict=True):
        ru = units.filter(pl.col("region_idx") == r)
        w = ru["weight"].to_numpy()
        share = {f: float((w * ru[f].to_numpy()).sum() / max(w.sum(), 1e-9)) for f in flags}
        sizes = pool_sizes(float(w.sum()), all_w, fraction, share)
        sizes.pop("telecom", None)
        for cat, size in {**sizes, **FIXED_POOLS}.items():
            pools.append((r, cat, len(rows), size))
            for _ in range(size):
                add(r, cat, gen.company(cat, city, short))
        shared = {
            "telecom": [f"中国电信股份有限公司{city}{short}分公司" if city != short
                        else f"中国电信股份有限公司{short}分公司",
                        f"中国移动通信集团{N.PROVINCE}有限公司{short}分公司",
                        f"中国联合网络通信有限公司{short}分公司"],
            "fuel": [f"中国石化销售股份有限公司{N.PROVINCE}{city}{short}石油分公司"],
            "insurance": [f"中国人民财产保险股份有限公司{short}支公司"],
            "water": [f"{short}水务集团有限公司"],
            "power": [f"国网{N.PROVINCE}省电力有限公司{short}供电公司"],
        }
        for cat, names in shared.items():
            pools.append((r, cat, len(rows), len(names)))
            for nm in names:
                if not gen.add(nm):  # a synthetic county may repeat a short name
                    nm += "营业部"
                    gen.add(nm)
                add(r, cat, nm, role="shared")
        for _ in range(int(reserved_per_region[r])):
            cat = str(rng.choice(RESERVED_CATEGORIES))
            add(r, cat, gen.company(cat, city, short), role="reserved")
    reg_city = dict(zip(regions["region_idx"], zip(regions["city"], regions["short"],
                                                    strict=True), strict=True))
    for u, r, uname, rent, prop in zip(units["unit_idx"], units["region_idx"], units["unit_name"],
                                       units["has_rent"], units["has_property"], strict=True):
        city, short = reg_city[r]
        if rent:
            add(r, "rent", gen.company("rent", city, short), u, "rent")
        if prop:
            add(r, "property", gen.company("property", city, short), u, "property")
        nm = f"{uname}（工资统发）"
        gen.add(nm)
        add(r, "payroll", nm, u, "payroll")
    df = pl.DataFrame(rows, schema=["region_idx", "category", "payee_name", "unit_idx", "role"],
                      orient="row")
    n = df.height
    bank = rng.integers(0, len(N.BANKS), size=n)
    lz = np.array([N.BANKS[b][1] for b in bank]) & (rng.random(n) < 0.5)
    accounts = random_accounts(rng, n, leading_zero=lz, taken=taken)
    city_of = regions["city"].to_list()
    short_of = regions["short"].to_list()
    reg = df["region_idx"].to_numpy()
    bank_names = [
        f"{N.BANKS[b][0]}{city_of[g]}{short_of[g]}支行" if city_of[g] != short_of[g]
        else f"{N.BANKS[b][0]}{short_of[g]}支行"
        for b, g in zip(bank, reg, strict=True)
    ]
    df = df.with_columns(
        pl.Series("payee_idx", np.arange(n, dtype=np.int64)),
        pl.Series("payee_account", accounts, dtype=pl.String),
        pl.Series("payee_bank", bank_names, dtype=pl.String),
        pl.col("region_idx").cast(pl.Int64), pl.col("unit_idx").cast(pl.Int64),
    )
    pool_df = pl.DataFrame(pools, schema=["region_idx", "category", "start", "size"], orient="row")
    return df, pool_df


def _unit_accounts(rng: np.random.Generator, units: pl.DataFrame, taken: set[str]
                   ) -> pl.DataFrame:
    unit_ids = units["unit_id"].to_list()
    names = units["unit_name"].to_list()
    special = units["has_special"].to_list()
    rows = []
    for uid, nm, sp in zip(unit_ids, names, special, strict=True):
        rows.append((uid, f"{nm}零余额账户", "zero_balance"))
        rows.append((uid, nm, "basic"))
        if sp:
            rows.append((uid, f"{nm}（专用账户）", "special"))
    n = len(rows)
    accts = random_accounts(rng, n, leading_zero=rng.random(n) < 0.1, taken=taken)
    return pl.DataFrame(
        {"account_no": list(accts), "unit_id": [r[0] for r in rows],
         "account_name": [r[1] for r in rows], "account_type": [r[2] for r in rows]},
        schema={"account_no": pl.String, "unit_id": pl.String, "account_name": pl.String,
                "account_type": pl.String},
    )


def build_plan(seed: int, scale: float, period: Period, families: list) -> Plan:
    """Decide the world's skeleton. ``families`` are the injection families to budget for."""
    rng = np.random.default_rng([seed, 0])
    n_units = max(3, round(60 * scale))
    n_regions = max(1, round(n_units / UNITS_PER_REGION))
    regions = _regions(rng, n_regions)
    units = _units(rng, regions, n_units)

    # chunks: consecutive regions, ~CHUNK_PAYMENTS expected payments each
    per_region = units.group_by("region_idx").agg(pl.len().alias("n")).sort("region_idx")
    expect = per_region["n"].to_numpy() * PAYMENTS_PER_UNIT * max(period.fraction * 2, 0.1)
    chunks: list[list[int]] = [[]]
    acc = 0.0
    for r, e in zip(per_region["region_idx"].to_list(), expect, strict=True):
        if chunks[-1] and acc + e > CHUNK_PAYMENTS:
            chunks.append([])
            acc = 0.0
        chunks[-1].append(int(r))
        acc += e
    weights = np.array([expect[c].sum() for c in chunks])
    weights = weights / weights.sum()

    cases: dict[str, list[int]] = {}
    reserved_need = np.zeros(regions.height, dtype=np.int64)
    for fam in families:
        total = fam.count(scale)
        per_chunk = rng.multinomial(total, weights) if total else np.zeros(len(chunks), int)
        cases[fam.name] = [int(x) for x in per_chunk]
        for ci, k in enumerate(per_chunk):
            if k and fam.payees_per_case:
                # spread the payees a chunk needs over its regions
                regs = chunks[ci]
                need = k * fam.payees_per_case
                share = np.full(len(regs), need // len(regs))
                share[: need % len(regs)] += 1
                reserved_need[regs] += share
    reserved_per_region = reserved_need + 2

    taken: set[str] = set()
    accounts = _unit_accounts(rng, units, taken)
    payees, pools = _payees(rng, regions, units, reserved_per_region, taken, period.fraction)
    reserved = []
    res = payees.filter(pl.col("role") == "reserved")
    for regs in chunks:
        reserved.append(res.filter(pl.col("region_idx").is_in(regs))["payee_idx"].to_numpy())
    return Plan(seed, scale, period, regions, units, accounts, payees, pools, chunks, cases,
                reserved)


def count_for(per_scale: float, scale: float) -> int:
    """Number of cases of a family at ``scale`` (at least one when the family has any)."""
    if per_scale <= 0:
        return 0
    return max(1, math.floor(per_scale * scale + 0.5))

"""The ordinary flow of payments of one chunk, as a *draft* (before voucher ids and times).

A draft row carries internal columns (``_key``, ``unit_idx``, ``payee_idx``, ``day``,
``cents``...) that :mod:`auditlib.synth.finalize` turns into the payments table. The
ordinary flow is checked so that it never holds, by accident, what the payment
detectors look for: no two payments to one payee account with the same amount within
:data:`SAFE_WINDOW` days, and no payee account receiving payments under the split
threshold that add up to it within :data:`SAFE_WINDOW` days.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from auditlib.synth import names as N
from auditlib.synth.classes import (
    POOL_SKEW,
    RANDOM_CLASSES,
    SANGONG,
    SPLIT_THRESHOLD_CENTS,
    unit_rates,
)
from auditlib.synth.world import Period, Plan

SAFE_WINDOW = 15  # days: wider than any duplicate / split window a detector should use

DRAFT_SCHEMA: dict[str, pl.DataType] = {
    "_key": pl.Int64, "unit_idx": pl.Int64, "economic_class": pl.String,
    "indicator_id": pl.String, "day": pl.Int64, "cents": pl.Int64, "payee_idx": pl.Int64,
    "name_override": pl.String, "purpose": pl.String, "pay_method": pl.String,
    "status": pl.String, "created_by": pl.String, "approved_by": pl.String,
    "created_at": pl.Int64, "approved_at": pl.Int64, "cancel_at": pl.Int64,
    "return_day": pl.Int64, "origin": pl.String, "series": pl.Int64,
}
"""Columns of a payment draft. ``day``/``return_day`` are epoch days; ``*_at`` epoch
seconds (naive local time), null = generated at finalisation; ``origin`` says where the
row comes from (``random``, ``wages``, ``rent``... or an injection family)."""


# ------------------------------------------------------------------------------ indicators
def unit_indicators(plan: Plan, units: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The indicators of some units (amounts are sized later from the spending).

    Every unit has wages 30101, office 30201, general goods & services 302, travel 30211
    and equipment 31002; meetings, training, the 三公 classes and a project indicator
    (economic class null) where the unit's flags say so.
    """
    year = plan.period.year
    specs: list[tuple[str | None, str, str, str, str]] = [
        # class, purpose, fund_source, fund_label, flag
        ("30101", "基本工资", "一般公共预算", "三保（保工资）", ""),
        ("30201", "办公费", "一般公共预算", "三保（保运转）", ""),
        ("302", "公用经费（商品和服务支出）", "一般公共预算", "三保（保运转）", ""),
        ("30211", "差旅费", "一般公共预算", "三保（保运转）", ""),
        ("30215", "会议费", "一般公共预算", "一般", "has_meeting"),
        ("30216", "培训费", "一般公共预算", "一般", "has_training"),
        ("30217", "公务接待费", "一般公共预算", "一般", "has_reception"),
        ("30231", "公务用车运行维护费", "一般公共预算", "一般", "has_vehicle"),
        ("30212", "因公出国（境）费用", "一般公共预算", "一般", "has_abroad"),
        ("31013", "公务用车购置", "一般公共预算", "一般", "has_car_purchase"),
        ("31002", "办公设备购置", "一般公共预算", "一般", ""),
        (None, "", "", "", "has_project"),
    ]
    rows = []
    cols = {c: units[c].to_list() for c in units.columns}
    width = max(5, len(str(plan.units.height)))
    for i, unit_idx in enumerate(cols["unit_idx"]):
        k = 0
        for cls, purpose, source, label, flag in specs:
            if flag and not cols[flag][i]:
                continue
            k += 1
            project_id = None
            if cls is None:
                r = rng.random()
                if r < 0.5:
                    source, label = "上级转移支付", "直达资金"
                elif r < 0.75:
                    source, label = "政府性基金预算", "一般"
                else:
                    source, label = "一般公共预算", "三保（保基本民生）"
                purpose = f"{cols['dept'][i]}专项业务经费" if label != "直达资金" \
                    else "中央直达资金项目"
                project_id = f"XM{year}{cols['region_code'][i]}{unit_idx + 1:0{width}d}"
            rows.append({
                "indicator_id": f"ZB{year}{unit_idx + 1:0{width}d}{k:02d}",
                "unit_idx": unit_idx, "unit_id": cols["unit_id"][i], "fiscal_year": year,
                "economic_class": cls, "functional_class": cols["functional_class"][i],
                "fund_source": source, "fund_label": label, "project_id": project_id,
                "purpose": purpose,
            })
    return pl.DataFrame(rows, schema={
        "indicator_id": pl.String, "unit_idx": pl.Int64, "unit_id": pl.String,
        "fiscal_year": pl.Int64, "economic_class": pl.String, "functional_class": pl.String,
        "fund_source": pl.String, "fund_label": pl.String, "project_id": pl.String,
        "purpose": pl.String,
    })


def resolve_indicators(draft: pl.DataFrame, indicators: pl.DataFrame,
                       rng: np.random.Generator, project_share: pl.Expr | None = None
                       ) -> pl.DataFrame:
    """Fill ``indicator_id`` where null: the unit's indicator of that exact class, else
    (for a non-三公 class) its project indicator with probability ``project_share`` or
    always when nothing else fits, else its ``302`` indicator for 302xx classes."""
    ind = indicators.select("unit_idx", "economic_class", "indicator_id")
    exact = ind.filter(pl.col("economic_class").is_not_null()).rename(
        {"indicator_id": "_exact"})
    general = ind.filter(pl.col("economic_class") == "302").select(
        "unit_idx", pl.col("indicator_id").alias("_general"))
    project = ind.filter(pl.col("economic_class").is_null()).select(
        "unit_idx", pl.col("indicator_id").alias("_project"))
    share = project_share if project_share is not None else pl.lit(0.0)
    out = (
        draft.with_row_index("_ord")
        .join(exact, on=["unit_idx", "economic_class"], how="left", maintain_order="left")
        .join(general, on="unit_idx", how="left", maintain_order="left")
        .join(project, on="unit_idx", how="left", maintain_order="left")
        .sort("_ord")
        .with_columns(pl.Series("_u", rng.random(draft.height)))
    )
    sangong = pl.col("economic_class").is_in(list(SANGONG))
    use_project = (~sangong) & pl.col("_project").is_not_null() & (
        (pl.col("_u") < share) | (pl.col("_exact").is_null()
                                  & ~pl.col("economic_class").str.starts_with("302"))
    )
    general_ok = (~sangong) & pl.col("economic_class").str.starts_with("302")
    out = out.with_columns(
        pl.coalesce(
            pl.col("indicator_id"),
            pl.when(use_project).then(pl.col("_project")),
            pl.col("_exact"),
            pl.when(general_ok).then(pl.col("_general")),
        ).alias("indicator_id")
    )
    missing = out.filter(pl.col("indicator_id").is_null())
    if missing.height:
        msg = f"no indicator for {missing.height} payments, e.g. {missing.row(0, named=True)}"
        raise RuntimeError(msg)
    return out.select(draft.columns)


# ------------------------------------------------------------------------------ amounts
def lognormal_cents(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray,
                    lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Log-normal amounts in cents within [lo, hi] yuan; half whole yuan, half with cents."""
    n = len(median)
    x = np.exp(np.log(median) + sigma * rng.standard_normal(n))
    for _ in range(8):
        bad = (x < lo) | (x > hi)
        if not bad.any():
            break
        x[bad] = np.exp(np.log(median[bad]) + sigma[bad] * rng.standard_normal(int(bad.sum())))
    x = np.clip(x, lo, hi)
    cents = np.round(x * 100).astype(np.int64)
    whole = rng.random(n) < 0.5
    cents = np.where(whole, np.maximum(cents // 100, 1) * 100, cents)
    return cents


def _day_weights(period: Period) -> np.ndarray:
    days = period.pay_days
    dates = days.astype("datetime64[D]")
    month = dates.astype("datetime64[M]")
    w = np.ones(len(days))
    # month-end bump: the last five working days of each month
    nxt = np.r_[month[1:], month[-1:] + 1]
    pos_from_end = np.zeros(len(days), dtype=np.int64)
    run = 0
    for i in range(len(days) - 1, -1, -1):
        run = 0 if nxt[i] != month[i] else run + 1
        pos_from_end[i] = run
    w[pos_from_end < 5] *= 1.6
    jan = (dates - dates.astype("datetime64[Y]")).astype(np.int64) < 14
    w[jan] *= 0.6
    return w / w.sum()


# ------------------------------------------------------------------------------ ordinary flow
class KeyGen:
    """Unique draft keys within a chunk."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, n: int) -> np.ndarray:
        out = np.arange(self.next, self.next + n, dtype=np.int64)
        self.next += n
        return out


def _users(unit_ids: pl.Series, rng_u: np.ndarray, n: pl.Series, role: str) -> pl.Series:
    k = np.floor(rng_u * n.to_numpy()).astype(np.int64) + 1
    return (unit_ids.str.to_lowercase() + f".{role}" + pl.Series(k).cast(pl.String)).rename(
        "created_by" if role == "zd" else "approved_by")


def draft_frame(data: dict[str, object], n: int) -> pl.DataFrame:
    cols = {}
    for name, dtype in DRAFT_SCHEMA.items():
        v = data.get(name)
        if v is None:
            cols[name] = pl.Series(name, [None] * n, dtype=dtype)
        elif isinstance(v, str | int):
            cols[name] = pl.Series(name, [v] * n, dtype=dtype)
        else:
            cols[name] = pl.Series(name, v, dtype=dtype)
    return pl.DataFrame(cols)


def random_payments(plan: Plan, units: pl.DataFrame, rng: np.random.Generator, keys: KeyGen
                    ) -> tuple[pl.DataFrame, pl.Expr]:
    """Day-to-day purchases of every unit of the chunk, and the expression giving each
    row's chance of being charged to the unit's project indicator."""
    period = plan.period
    classes = RANDOM_CLASSES
    n_units = units.height
    weight = units["weight"].to_numpy()
    lam = unit_rates(weight, plan.units["weight"].to_numpy(), period.fraction)
    counts = rng.poisson(lam)
    unit_local = np.repeat(np.arange(n_units), counts)
    n = len(unit_local)
    W = np.array([[c.weight for c in classes]] * n_units, dtype=float)
    for j, c in enumerate(classes):
        if c.flag:
            W[:, j] *= units[c.flag].to_numpy()
    cum = np.cumsum(W / W.sum(axis=1, keepdims=True), axis=1)
    r = rng.random(n)
    cls = (r[:, None] > cum[unit_local]).sum(axis=1)
    cls = np.minimum(cls, len(classes) - 1)
    med = np.array([c.median for c in classes])[cls] * weight[unit_local] ** 0.3
    cents = lognormal_cents(
        rng, med, np.array([c.sigma for c in classes])[cls],
        np.array([c.lo for c in classes])[cls], np.array([c.hi for c in classes])[cls],
    )
    days = rng.choice(period.pay_days, size=n, p=_day_weights(period))
    code = np.array([c.code for c in classes], dtype=object)[cls]
    category = np.array([c.category for c in classes], dtype=object)[cls]
    # vehicle running costs go to the fuel company, a garage or the insurer
    purpose = np.empty(n, dtype=object)
    for j, c in enumerate(classes):
        m = cls == j
        if m.any():
            purpose[m] = rng.choice(N.PURPOSES[c.code], size=int(m.sum()))
    veh = code == "30231"
    fuel = veh & (purpose == "公务用车加油费")
    ins = veh & (purpose == "公务用车保险费")
    category = np.where(fuel, "fuel", np.where(ins, "insurance", category))
    region = units["region_idx"].to_numpy()[unit_local]
    payee = pick_payees(plan, region, category, rng)
    direct = np.where(cents >= 1_000_000, rng.random(n) < 0.85, rng.random(n) < 0.25)
    direct |= np.isin(code, ["31002", "31005", "31013"])
    uid = units["unit_id"].gather(unit_local)
    df = draft_frame({
        "_key": keys.take(n), "unit_idx": units["unit_idx"].to_numpy()[unit_local],
        "economic_class": code, "day": days, "cents": cents, "payee_idx": payee,
        "purpose": purpose, "pay_method": np.where(direct, "direct", "authorized"),
        "status": "paid", "origin": "random",
        "created_by": _users(uid, rng.random(n), units["makers"].gather(unit_local), "zd"),
        "approved_by": _users(uid, rng.random(n), units["checkers"].gather(unit_local), "sh"),
    }, n)
    share = pl.col("economic_class").replace_strict(
        [c.code for c in classes], [c.project_share for c in classes], default=0.0,
        return_dtype=pl.Float64)
    return df, share


def pick_payees(plan: Plan, region: np.ndarray, category: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """A payee of the region's pool of each category, the first ones more often."""
    pools = plan.pools
    key = {(r, c): (s, z) for r, c, s, z in pools.iter_rows()}
    n = len(region)
    start = np.empty(n, dtype=np.int64)
    size = np.empty(n, dtype=np.int64)
    pairs = pl.DataFrame({"r": region, "c": category.astype(str)})
    uniq = pairs.unique(maintain_order=True)
    lookup = {(r, c): key[(r, c)] for r, c in uniq.iter_rows()}
    idx = pairs.with_row_index("i")
    for (r, c), g in idx.group_by(["r", "c"]):
        s, z = lookup[(r, c)]
        rows = g["i"].to_numpy()
        start[rows] = s
        size[rows] = z
    local = np.floor(size * rng.random(n) ** POOL_SKEW).astype(np.int64)
    return start + np.minimum(local, size - 1)


def recurring_payments(plan: Plan, units: pl.DataFrame, payroll_totals: pl.DataFrame,
                       rng: np.random.Generator, keys: KeyGen) -> pl.DataFrame:
    """Monthly payments: wages (from payroll), rent, property fees, water and electricity."""
    period = plan.period
    year = period.year
    payees = plan.payees
    ded = payees.filter(pl.col("unit_idx") >= 0).select("unit_idx", "role", "payee_idx")
    shared = payees.filter(pl.col("role") == "shared").select(
        "region_idx", "category", "payee_idx")
    parts = []
    # wages: one payment per unit and month, the payroll's total, on the payroll's day
    wages = payroll_totals.join(
        ded.filter(pl.col("role") == "payroll"), on="unit_idx", maintain_order="left").join(
        units.select("unit_idx", "unit_id", "makers", "checkers"), on="unit_idx",
        maintain_order="left")
    if wages.height:
        n = wages.height
        parts.append(draft_frame({
            "_key": keys.take(n), "unit_idx": wages["unit_idx"], "economic_class": "30101",
            "day": wages["day"], "cents": wages["cents"], "payee_idx": wages["payee_idx"],
            "purpose": [f"{year}年{m}月工资" for m in wages["month"].to_list()],
            "pay_method": "direct", "status": "paid", "origin": "wages",
            "created_by": _users(wages["unit_id"], rng.random(n), wages["makers"], "zd"),
            "approved_by": _users(wages["unit_id"], rng.random(n), wages["checkers"], "sh"),
        }, n))
    months = np.array(period.months())
    month_start = np.array([np.datetime64(f"{year}-{m:02d}-01") for m in months]).astype(
        np.int64)
    u = units.to_dict(as_series=False)
    rows: dict[str, list] = {k: [] for k in (
        "unit_idx", "economic_class", "day", "cents", "payee_idx", "purpose", "origin",
        "series", "unit_id", "makers", "checkers")}
    ded_map = {(a, b): c for a, b, c in ded.iter_rows()}
    shared_map: dict[tuple[int, str], int] = {}
    for r, c, p in shared.iter_rows():
        shared_map.setdefault((r, c), p)
    for i, unit_idx in enumerate(u["unit_idx"]):
        w = u["weight"][i]
        series_items = []
        if u["has_rent"][i]:
            series_items.append(("rent", "30214", u["rent_dom"][i],
                                 lambda m, i=i: u["rent_cents"][i], "房租",
                                 ded_map[(unit_idx, "rent")]))
        if u["has_property"][i]:
            series_items.append(("property", "30209", u["rent_dom"][i] + 2,
                                 lambda m, i=i: u["property_cents"][i], "物业费",
                                 ded_map[(unit_idx, "property")]))
        elec_base = min(3200.0, 1300.0 * w)
        water_base = min(900.0, 260.0 * w)
        series_items.append(("power", "30206", u["util_dom"][i],
                             lambda m, b=elec_base: b * rng.uniform(0.7, 1.3), "电费",
                             shared_map[(u["region_idx"][i], "power")]))
        series_items.append(("water", "30205", u["util_dom"][i] + 1,
                             lambda m, b=water_base: b * rng.uniform(0.7, 1.3), "水费",
                             shared_map[(u["region_idx"][i], "water")]))
        for origin, code, dom, amount, word, payee in series_items:
            series = keys.take(1)[0]
            for m, ms in zip(months, month_start, strict=True):
                day = int(period.on_or_after(np.array([ms + dom - 1]))[0])
                if day > period.wd[period.last]:
                    continue
                val = amount(m)
                cents = int(val) if origin in ("rent", "property") else round(val * 100)
                rows["unit_idx"].append(unit_idx)
                rows["economic_class"].append(code)
                rows["day"].append(day)
                rows["cents"].append(cents)
                rows["payee_idx"].append(payee)
                rows["purpose"].append(f"{year}年{m}月{word}")
                rows["origin"].append(origin)
                rows["series"].append(series)
                rows["unit_id"].append(u["unit_id"][i])
                rows["makers"].append(u["makers"][i])
                rows["checkers"].append(u["checkers"][i])
    n = len(rows["unit_idx"])
    if n:
        uid = pl.Series(rows["unit_id"], dtype=pl.String)
        cents = np.array(rows["cents"], dtype=np.int64)
        parts.append(draft_frame({
            "_key": keys.take(n), "unit_idx": rows["unit_idx"],
            "economic_class": rows["economic_class"], "day": rows["day"], "cents": cents,
            "payee_idx": rows["payee_idx"], "purpose": rows["purpose"],
            "pay_method": np.where(cents >= 1_000_000, "direct", "authorized"),
            "status": "paid", "origin": rows["origin"], "series": rows["series"],
            "created_by": _users(uid, rng.random(n), pl.Series(rows["makers"]), "zd"),
            "approved_by": _users(uid, rng.random(n), pl.Series(rows["checkers"]), "sh"),
        }, n))
    return pl.concat(parts) if parts else draft_frame({}, 0)


def special_payments(plan: Plan, units: pl.DataFrame, rng: np.random.Generator, keys: KeyGen
                     ) -> pl.DataFrame:
    """Rare 三公 items: a vehicle purchase (31013), official trips abroad (30212)."""
    period = plan.period
    rows: dict[str, list] = {k: [] for k in ("unit_idx", "economic_class", "cents", "category",
                                             "purpose", "region", "unit_id", "mk", "ck")}
    u = units.to_dict(as_series=False)
    for i, unit_idx in enumerate(u["unit_idx"]):
        items = []
        if u["has_car_purchase"][i]:
            items.append(("31013", "car", round(rng.uniform(150000, 280000) / 100) * 100))
        if u["has_abroad"][i]:
            for _ in range(int(rng.integers(1, 3))):
                items.append(("30212", "abroad", round(rng.uniform(18000, 48000) * 100) / 100))
        for code, cat, yuan in items:
            rows["unit_idx"].append(unit_idx)
            rows["economic_class"].append(code)
            rows["cents"].append(round(yuan * 100))
            rows["category"].append(cat)
            rows["purpose"].append(str(rng.choice(N.PURPOSES[code])))
            rows["region"].append(u["region_idx"][i])
            rows["unit_id"].append(u["unit_id"][i])
            rows["mk"].append(u["makers"][i])
            rows["ck"].append(u["checkers"][i])
    n = len(rows["unit_idx"])
    if not n:
        return draft_frame({}, 0)
    payee = pick_payees(plan, np.array(rows["region"]), np.array(rows["category"], dtype=object),
                        rng)
    uid = pl.Series(rows["unit_id"], dtype=pl.String)
    return draft_frame({
        "_key": keys.take(n), "unit_idx": rows["unit_idx"],
        "economic_class": rows["economic_class"],
        "day": rng.choice(period.pay_days, size=n), "cents": rows["cents"], "payee_idx": payee,
        "purpose": rows["purpose"], "pay_method": "direct", "status": "paid",
        "origin": "special",
        "created_by": _users(uid, rng.random(n), pl.Series(rows["mk"]), "zd"),
        "approved_by": _users(uid, rng.random(n), pl.Series(rows["ck"]), "sh"),
    }, n)


# ------------------------------------------------------------------------------ checks
def duplicate_violations(day: np.ndarray, cents: np.ndarray, payee: np.ndarray,
                         window: int = SAFE_WINDOW) -> np.ndarray:
    """Rows that repeat an earlier row's payee and amount within ``window`` days."""
    order = np.lexsort((day, cents, payee))
    p, c, d = payee[order], cents[order], day[order]
    same = (p[1:] == p[:-1]) & (c[1:] == c[:-1]) & (d[1:] - d[:-1] <= window)
    bad = np.zeros(len(day), dtype=bool)
    bad[order[1:][same]] = True
    return bad


def split_violations(day: np.ndarray, cents: np.ndarray, payee: np.ndarray,
                     threshold: int = SPLIT_THRESHOLD_CENTS, window: int = SAFE_WINDOW
                     ) -> np.ndarray:
    """Rows ending a ``window``-day run of under-threshold payments to one payee whose total
    reaches the threshold."""
    small = cents < threshold
    idx = np.flatnonzero(small)
    if not len(idx):
        return np.zeros(len(day), dtype=bool)
    p, d, c = payee[idx], day[idx], cents[idx]
    order = np.lexsort((d, p))
    p, d, c = p[order], d[order], c[order]
    key = p * 1_000_000 + (d - d.min() + 100)
    cs = np.concatenate([[0], np.cumsum(c)])
    start = np.searchsorted(key, key - (window - 1), side="left")
    total = cs[np.arange(1, len(c) + 1)] - cs[start]
    bad = np.zeros(len(day), dtype=bool)
    bad[idx[order[total >= threshold]]] = True
    return bad


def repair(draft: pl.DataFrame, plan: Plan, rng: np.random.Generator) -> pl.DataFrame:
    """Make the ordinary flow free of accidental duplicates and splits: change a clashing
    amount by some cents, move a payment that tips a payee over the split threshold to
    another payee of the same pool, and drop what still clashes."""
    payees = plan.payees
    pool_of = payees.select("payee_idx", "region_idx", "category", "role")
    pools = plan.pools
    movable_cats = set(pools["category"].unique().to_list()) - set(
        ("telecom", "fuel", "insurance", "water", "power"))
    df = draft
    for it in range(14):
        day = df["day"].to_numpy()
        cents = df["cents"].to_numpy().copy()
        payee = df["payee_idx"].to_numpy().copy()
        dup = duplicate_violations(day, cents, payee)
        if dup.any():
            bump = rng.integers(1, 100, size=int(dup.sum()))
            cents[dup] = cents[dup] + bump
        split = split_violations(day, cents, payee)
        if not dup.any() and not split.any():
            return df.with_columns(pl.Series("cents", cents))
        if split.any():
            if it >= 9:
                keep = ~split
                df = df.with_columns(pl.Series("cents", cents)).filter(pl.Series(keep))
                continue
            info = pool_of.join(
                pl.DataFrame({"payee_idx": payee[split]}).with_row_index("_i"),
                on="payee_idx", how="right", maintain_order="right").sort("_i")
            cats = info["category"].to_numpy().astype(str)
            movable = np.isin(cats, list(movable_cats)) & (info["role"].to_numpy() == "pool")
            new = payee[split].copy()
            if movable.any():
                new[movable] = pick_payees(plan, info["region_idx"].to_numpy()[movable],
                                           cats[movable].astype(object), rng)
            payee[split] = new
            keep = np.ones(len(day), dtype=bool)
            stuck = np.flatnonzero(split)[~movable]
            keep[stuck] = False
            df = df.with_columns(pl.Series("cents", cents), pl.Series("payee_idx", payee)
                                 ).filter(pl.Series(keep))
        else:
            df = df.with_columns(pl.Series("cents", cents))
    bad = duplicate_violations(df["day"].to_numpy(), df["cents"].to_numpy(),
                               df["payee_idx"].to_numpy()) | split_violations(
        df["day"].to_numpy(), df["cents"].to_numpy(), df["payee_idx"].to_numpy())
    return df.filter(pl.Series(~bad))

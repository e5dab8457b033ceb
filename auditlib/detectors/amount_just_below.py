"""``amount.just_below``: a unit whose payments pile up just under an approval threshold.

Judged per unit and threshold, never per payment (one payment of 49,800 yuan proves
nothing). For each threshold ``T`` (``thresholds.split_payment`` and the
``extra_thresholds`` list) the year's paid vouchers of a unit are counted in the band
just below, ``[T·(1−band), T)``, and just above, ``[T, T·(1+band))``. Under a smooth
density the share of the two bands that falls below is fixed by the band widths and
the local slope of the density: ``0.5125`` for a Benford-like ``1/x`` density with a
5 % band, a little more where the unit's amounts thin out (the slope is estimated
from the flanks ``[T/(1+flank), T·(1−band))`` and ``[T·(1+band), T·(1+flank))`` and
only ever raises the expected share). The unit alerts when at least ``min_count``
payments sit just below and the exact one-sided binomial tail
``P(X >= below | below + above, expected share)`` is below ``alpha``.

Identical payments to one payee (a monthly rent of 49,000 yuan, instalments of one
contract) are one decision, not twelve independent draws: the counts are of distinct
(payee account, amount) pairs; the evidence lists every voucher.

What must not fire: log-normal amounts of any spread (a steeper density near ``T`` is
what the slope estimate absorbs); a recurring fixed payment just under ``T``; a unit with
a few payments near ``T``.

Known false positives: a unit whose work genuinely comes in lots priced just under a
limit for reasons other than avoiding it (a framework contract's unit price); the
explanation gives both counts so the auditor sees the size of the pile-up.
"""

from __future__ import annotations

import math

import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.errors import DetectorError
from auditlib.exprs import active_payment, fen, in_year, to_time
from auditlib.registry import register


@register
class AmountJustBelow(Detector):
    id = "amount.just_below"
    title = Text("金额集中于限额之下", "Amounts just below a threshold")
    description = Text(
        "单位的支付金额异常集中在审批/采购限额之下（与限额之上及平滑分布的期望相比，二项检验）。",
        "A unit's payments pile up just under an approval/procurement threshold (against the "
        "count just above it and a smooth density; binomial test).",
    )
    requires = ("payments",)
    entity = "unit"
    severity = "medium"
    params = (
        Param("threshold", float, 50000.0, "The approval threshold in yuan.", min=0.01,
              setting="split_payment"),
        Param("extra_thresholds", tuple, (), "Other approval limits (yuan) to test as well."),
        Param("band", float, 0.05, "Relative width of the bands below and above a threshold.",
              min=0.005, max=0.2),
        Param("flank", float, 0.25, "Relative reach of the flanks used to estimate the local "
              "slope of the density.", min=0.05, max=1.0),
        Param("min_count", int, 10, "Fewest distinct payments just below to judge a unit.",
              min=2),
        Param("alpha", float, 0.001, "One-sided binomial p-value below which a unit alerts.",
              min=1e-300, max=0.5),
    )
    alert_title = Text(
        "金额集中于限额之下：单位 {entity_id} 在 {threshold_t:money} 元之下 {below:int} 笔、之上 "
        "{above:int} 笔",
        "Amounts just below {threshold_t:money} yuan: unit {entity_id}, {below:int} below vs "
        "{above:int} above",
    )
    alert_explanation = Text(
        "单位 {entity_id} 本年有 {below:int} 笔不同的支付落在限额 {threshold_t:money} 元之下 "
        "{band:pct} 的区间 [{lo:money}, {threshold_t:money}) 内，而之上同宽区间 "
        "[{threshold_t:money}, {hi:money}) 内仅 {above:int} 笔。按平滑分布，限额之下应占两区间合计"
        "的 {expected:pct}，实际占 {observed:pct}；二项检验单侧 p 值 {p_text}（阈值 {alpha}）。"
        "限额之下共 {n_vouchers:int} 张凭证，合计 {amount:money} 元。",
        "Unit {entity_id} has {below:int} distinct payments in [{lo:money}, "
        "{threshold_t:money}), the {band:pct} just below the {threshold_t:money} yuan threshold, "
        "and only {above:int} in [{threshold_t:money}, {hi:money}) just above it. A smooth "
        "density puts {expected:pct} of the two bands below; observed {observed:pct}. One-sided "
        "binomial p = {p_text} (alpha {alpha}). The {n_vouchers:int} vouchers below total "
        "{amount:money} yuan.",
    )

    def thresholds(self) -> list[float]:
        out = [self.threshold]
        for t in self.extra_thresholds:
            if isinstance(t, bool) or not isinstance(t, int | float) or not t > 0:
                msg = f"{self.id}: extra_thresholds must hold positive numbers, got {t!r}"
                raise DetectorError(msg)
            out.append(float(t))
        return sorted(set(out))

    def find(self, tables, ctx):
        pay = (
            tables["payments"]
            .filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .select("unit_id", "voucher_id", "payee_account", "amount", "pay_date",
                    fen(pl.col("amount")).alias("fen"))
        )
        b, f = self.band, self.flank
        zones = []
        for t in self.thresholds():
            tf = t * 100
            x = pl.col("fen")
            zone = (
                pl.when((x >= tf * (1 - b)) & (x < tf)).then(pl.lit("B"))
                .when((x >= tf) & (x < tf * (1 + b))).then(pl.lit("A"))
                .when((x >= tf / (1 + f)) & (x < tf * (1 - b))).then(pl.lit("LF"))
                .when((x >= tf * (1 + b)) & (x < tf * (1 + f))).then(pl.lit("UF"))
            )
            zones.append(
                pay.filter((x >= tf / (1 + f)) & (x < tf * (1 + f)))
                .with_columns(zone.alias("zone"), pl.lit(t).alias("threshold_t"))
            )
        counts = (
            pl.concat(zones)
            .group_by("unit_id", "threshold_t", "zone")
            .agg(pl.struct("payee_account", "fen").n_unique().alias("k"))
            .collect()
            .pivot("zone", index=["unit_id", "threshold_t"], values="k")
        )
        for z in ("B", "A", "LF", "UF"):
            if z not in counts.columns:
                counts = counts.with_columns(pl.lit(None, pl.UInt32).alias(z))
        counts = counts.with_columns(pl.col("B", "A", "LF", "UF").fill_null(0))
        rows = []
        for r in counts.filter(pl.col("B") >= self.min_count).iter_rows(named=True):
            p0 = expected_share(b, f, lower_flank=r["LF"], upper_flank=r["UF"])
            p = binom_sf(r["B"], r["B"] + r["A"], p0)
            if p < self.alpha:
                rows.append({**r, "expected": p0, "p": p, "p_text": f"{p:.2g}"})
        if not rows:
            return _empty()
        hits = pl.DataFrame(rows).select(
            "unit_id", "threshold_t", pl.col("B").cast(pl.Int64).alias("below"),
            pl.col("A").cast(pl.Int64).alias("above"), "expected", "p", "p_text",
        )
        band_rows = (
            pl.concat(zones).filter(pl.col("zone") == "B")
            .join(hits.lazy(), on=["unit_id", "threshold_t"], how="semi")
            .sort("pay_date", "voucher_id")
            .group_by("unit_id", "threshold_t")
            .agg(
                ref("payments", "voucher_id").alias("evidence"),
                pl.len().alias("n_vouchers"), pl.col("amount").sum(),
                pl.col("pay_date").min().alias("first_date"),
            )
        )
        return (
            hits.lazy()
            .join(band_rows, on=["unit_id", "threshold_t"])
            .select(
                pl.col("unit_id").alias("entity_id"), "unit_id", "evidence", "amount",
                pl.concat_str("unit_id", pl.lit("|"),
                              pl.col("threshold_t").round(2).cast(pl.String),
                              pl.lit(f"|{ctx.year}")).alias("finding_key"),
                "threshold_t", "below", "above", "expected", "n_vouchers",
                (pl.col("below") / (pl.col("below") + pl.col("above"))).alias("observed"),
                (pl.col("threshold_t") * (1 - b)).round(2).alias("lo"),
                (pl.col("threshold_t") * (1 + b)).round(2).alias("hi"),
                "p_text",
                to_time(pl.col("first_date"), ctx.timezone).alias("event_time"),
                (0.5 + 0.05 * (math.log10(self.alpha)
                               - pl.col("p").clip(lower_bound=1e-300).log10()))
                .clip(0.5, 1.0).alias("score"),
                pl.when(pl.col("p") < self.alpha * 1e-3).then(pl.lit("high"))
                .otherwise(pl.lit("medium")).alias("severity"),
            )
            .sort("finding_key")
        )


def _mass(beta: float, lo: float, hi: float) -> float:
    """∫ e^(βu) du over [lo, hi): the mass of a log-linear density on an interval of u = ln x."""
    if abs(beta) < 1e-9:
        return hi - lo
    return (math.exp(beta * hi) - math.exp(beta * lo)) / beta


def expected_share(band: float, flank: float, *, lower_flank: int = 0,
                   upper_flank: int = 0) -> float:
    """The share of ``[T(1−band), T(1+band))`` expected below ``T`` under a smooth density.

    The density of ``u = ln(x/T)`` is taken log-linear, ``e^(βu)``, with ``β`` fitted to the
    counts in the two flanks (Jeffreys' +0.5 on each); the share never goes below the
    Benford (``β = 0``) value, so a rising density cannot make a pile-up easier to call.

    >>> round(expected_share(0.05, 0.25, lower_flank=50, upper_flank=200), 4)  # rising: Benford
    0.5125
    >>> round(expected_share(0.05, 0.25, lower_flank=60, upper_flank=20), 3)  # thinning out
    0.562
    """
    lo_b, hi_a = math.log1p(-band), math.log1p(band)
    lf, uf = (-math.log1p(flank), lo_b), (hi_a, math.log1p(flank))
    target = math.log((upper_flank + 0.5) / (lower_flank + 0.5))

    def ratio(beta: float) -> float:
        return math.log(_mass(beta, *uf)) - math.log(_mass(beta, *lf))

    lo, hi = -60.0, 60.0
    for _ in range(100):  # ratio() increases with beta
        mid = (lo + hi) / 2
        if ratio(mid) < target:
            lo = mid
        else:
            hi = mid
    beta = min((lo + hi) / 2, 0.0)
    below, above = _mass(beta, lo_b, 0.0), _mass(beta, 0.0, hi_a)
    return below / (below + above)


def binom_sf(k: int, n: int, p: float) -> float:
    """Exact ``P(X >= k)`` for ``X ~ Binomial(n, p)``, summed in log space.

    >>> round(binom_sf(3, 3, 0.5), 6)
    0.125
    >>> round(binom_sf(8, 10, 0.5), 6)
    0.054688
    """
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    lp, lq = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    logs = [base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
            for i in range(k, n + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(v - top) for v in logs))


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"entity_id": pl.String, "finding_key": pl.String,
                                "evidence": pl.List(pl.String)})

"""Classes of ordinary spending and the rates the world is sized by.

Shared by the plan (payee pools are sized so that no payee account receives, by
accident, a split-like run of payments) and the payment generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SPLIT_THRESHOLD_CENTS = 50_000 * 100
SANGONG = ("30212", "30217", "30231", "31013")
PAYMENTS_PER_UNIT = 20000 / 60 * 0.93
"""Day-to-day payments per unit of average weight over half a year (recurring ones
— wages, rent, utilities — come on top)."""
POOL_SKEW = 1.15
"""Payee ``floor(size * u ** POOL_SKEW)`` of a pool is picked: the first ones a bit more."""
POOL_LOAD_CENTS = 14_000 * 100
"""Expected sum under the threshold the busiest payee of a pool gets in 15 days."""


@dataclass(frozen=True)
class PayClass:
    code: str
    category: str
    median: float
    sigma: float
    lo: float
    hi: float
    weight: float
    flag: str | None = None
    project_share: float = 0.0
    """Share of these payments charged to the unit's project indicator when it has one."""


RANDOM_CLASSES: tuple[PayClass, ...] = (
    PayClass("30201", "office", 1800, 0.8, 50, 30000, 20),
    PayClass("30202", "print", 2600, 0.8, 100, 30000, 5),
    PayClass("30207", "telecom", 700, 0.6, 50, 6000, 4),
    PayClass("30211", "travel", 2600, 0.7, 200, 30000, 12),
    PayClass("30213", "maint", 7000, 1.0, 300, 400000, 6, None, 0.3),
    PayClass("30215", "meeting", 11000, 0.5, 2000, 45000, 2, "has_meeting"),
    PayClass("30216", "training", 13000, 0.5, 2000, 45000, 2, "has_training"),
    PayClass("30217", "reception", 1100, 0.6, 100, 8000, 6, "has_reception"),
    PayClass("30231", "vehicle", 800, 0.8, 50, 12000, 6, "has_vehicle"),
    PayClass("30226", "consult", 4000, 0.8, 200, 40000, 3, None, 0.6),
    PayClass("30227", "consult", 26000, 1.0, 2000, 600000, 3, None, 0.6),
    PayClass("31002", "equip", 12000, 1.0, 1000, 500000, 3, None, 0.4),
    PayClass("31005", "build", 420000, 0.8, 60000, 5000000, 0.6, "has_project", 1.0),
)



def unit_rates(weight: np.ndarray, all_weights: np.ndarray, fraction: float) -> np.ndarray:
    """Expected day-to-day payments of units of ``weight`` up to ``as_of``."""
    return weight / float(np.mean(all_weights)) * PAYMENTS_PER_UNIT * fraction * 2


def _truncated_mean(c: PayClass, n: int = 20000) -> float:
    """E[amount; amount < threshold] in cents for a class (fixed sample, deterministic)."""
    rng = np.random.default_rng(12345)
    x = np.clip(np.exp(np.log(c.median) + c.sigma * rng.standard_normal(n)), c.lo, c.hi) * 100
    return float(np.where(x < SPLIT_THRESHOLD_CENTS, x, 0).mean())


_TRUNC = {c.code: _truncated_mean(c) for c in RANDOM_CLASSES}
VEHICLE_SHARES = {"fuel": 0.25, "vehicle": 0.25, "insurance": 0.25}
"""Shares of 30231 payments by payee kind (one purpose in four each: fuel, repair,
insurance, tolls — tolls and repairs go to the garage pool)."""


def pool_sizes(weight_sum: float, all_weights: np.ndarray, fraction: float,
               flag_share: dict[str, float]) -> dict[str, int]:
    """Ordinary payee pool size per category for a region whose units weigh
    ``weight_sum`` in total, so that the busiest payee expects at most
    :data:`POOL_LOAD_CENTS` under the threshold in 15 days."""
    per_day = float(unit_rates(np.array([weight_sum]), all_weights, fraction)[0]) / (
        fraction * 250)  # per working day
    total_w = sum(c.weight * flag_share.get(c.flag or "", 1.0) for c in RANDOM_CLASSES)
    load: dict[str, float] = {}
    for c in RANDOM_CLASSES:
        share = c.weight * flag_share.get(c.flag or "", 1.0) / total_w
        spend = per_day * 15 * 5 / 7 * share * _TRUNC[c.code]
        if c.code == "30231":
            spend *= 1 - VEHICLE_SHARES["fuel"] - VEHICLE_SHARES["insurance"]
        load[c.category] = load.get(c.category, 0.0) + spend
    out = {}
    for cat, s in load.items():
        out[cat] = max(2, math.ceil((s / POOL_LOAD_CENTS) ** POOL_SKEW) + 1)
    return out

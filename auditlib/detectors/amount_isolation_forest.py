"""``amount.isolation_forest``: payments an IsolationForest finds easy to isolate.

The machine-learning example to copy. Each paid voucher of the year becomes a row of
features (:data:`FEATURES`; the model uses :data:`DEFAULT_FEATURES`): the log amount,
the log amount relative to the median of its unit x economic class, the hour of
approval, the days from drafting to approval, the payee's share of the unit's paid
amount and the number of the unit's payments to that payee (a huge payment to a payee
paid once is rarer than one to a long-standing contractor). The day of the year and
the hours outside working time are computed too, to try; on synthetic worlds both only
diluted the isolation.

A scikit-learn ``IsolationForest`` (fixed ``random_state``, one job) is fitted on at
most ``max_fit`` rows chosen by a hash of the voucher id, so the sample does not depend
on row order. Scoring is kept apart from thresholding, as in PyOD: ``score`` is the
model's anomaly score ``2^(−E[h]/c(n))`` in (0, 1] (≈ 0.5 ordinary, near 1 isolated at
once); an alert needs ``score >= score_threshold``, an amount of at least
``min_amount`` yuan, and a place among the ``max_alerts`` highest scores of the run.
An isolation forest does not extrapolate: a value beyond everything it was fitted on
scores like the most extreme fitted value, so only payments unusual on several
features at once reach the threshold.

Speed: only *candidates* are scored: rows of at least ``min_amount`` yuan with at least
one feature outside the central 98 % of the fitted sample (a row inside that box on
every feature is not isolated quickly enough to reach a high threshold). Fitting costs
per tree, not per row. scikit-learn is imported inside :meth:`find` (it costs ~1.8 s),
never at module import.

What must not fire: ordinary payments of clean data, however large for their class on
their own (a high threshold; several features must be unusual together); tiny
payments (``min_amount``).

Known false positives: a unit's single payment to a new payee for an unusual amount
at an unusual time (exactly what the model isolates, and sometimes legitimate); the
explanation names the features that made the payment unusual, with their percentiles.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.errors import DetectorError
from auditlib.exprs import active_payment, codes, in_year, rows_at, to_time
from auditlib.registry import register

FEATURES: dict[str, tuple[str, str]] = {
    "log_amount": ("金额（对数）", "amount (log)"),
    "rel_class": ("相对单位同类中位数的金额", "amount relative to the unit's class median"),
    "approve_hour": ("审核时刻（时）", "hour of approval"),
    "approve_days": ("制单至审核天数", "days from drafting to approval"),
    "payee_share": ("收款人占单位支付额比例", "payee's share of the unit's payments"),
    "payee_payments": ("单位付给该收款人的笔数（对数）", "payments of the unit to the payee (log)"),
    "off_hours": ("审核时刻偏离工作时间（小时）", "hours of approval outside working time"),
    "day_of_year": ("支付日（年内第几天）", "day of the year"),
}
"""Feature name → (Chinese, English) label of every feature :func:`features` computes."""
DEFAULT_FEATURES = ("log_amount", "rel_class", "approve_hour", "approve_days", "payee_share",
                    "payee_payments")
"""The default model. ``off_hours`` is constant (0) in clean data, so trees never split on
it; the raw hour isolates a 02:00 approval better. ``day_of_year`` is uniform: it dilutes."""


def _feature_exprs(working_hours: tuple[dt.time, dt.time]) -> dict[str, pl.Expr]:
    """Feature name → expression over the paid vouchers (see :func:`features`)."""
    af = pl.col("amount").cast(pl.Float64)
    la = af.log()
    approved, created = pl.col("approved_at"), pl.col("created_at")
    hour = approved.dt.hour() + approved.dt.minute() / 60.0
    start = working_hours[0].hour + working_hours[0].minute / 60.0
    end = working_hours[1].hour + working_hours[1].minute / 60.0
    # windows over integer codes, not strings: a 10M-row window on text keys holds GBs
    unit = codes(pl.col("unit_id")).fill_null(-1)  # null is a group of its own, as in text
    unit_payee = unit * (1 << 32) + codes(pl.col("payee_account")).fill_null(-1)
    unit_class = unit * (1 << 32) + codes(pl.col("economic_class").str.slice(0, 5)).fill_null(-1)
    return {
        "log_amount": la,
        "rel_class": la - la.median().over(unit_class),
        "approve_hour": hour.cast(pl.Float64),
        "off_hours": ((start - hour).clip(lower_bound=0.0) + (hour - end).clip(lower_bound=0.0))
        .cast(pl.Float64),
        "approve_days": ((approved - created).dt.total_seconds() / 86400.0)
        .clip(lower_bound=0.0).cast(pl.Float64),
        "payee_share": af.sum().over(unit_payee) / af.sum().over(unit),
        "payee_payments": pl.len().over(unit_payee).cast(pl.Float64).log(),
        "day_of_year": pl.col("pay_date").dt.ordinal_day().cast(pl.Float64),
    }


EXPLAINED = ("rel_class", "approve_days", "payee_share")
"""Features the explanation quotes whatever the model uses."""


def features(payments_lf: pl.LazyFrame, year: int, as_of: dt.date,
             working_hours: tuple[dt.time, dt.time] = (dt.time(8), dt.time(19))) -> pl.LazyFrame:
    """The feature rows of the year's paid vouchers, sorted by voucher id (nulls where a
    time is missing; :meth:`AmountIsolationForest.find` fills them).

    ``off_hours`` is the distance, in hours, of the approval outside ``working_hours``
    (0 inside)."""
    exprs = _feature_exprs(working_hours)
    return (
        payments_lf.filter(active_payment() & in_year(pl.col("pay_date"), year, as_of))
        .select(
            "voucher_id", "unit_id", "amount", "payee_name", "pay_date", "economic_class",
            pl.col("approved_at").dt.strftime("%H:%M").alias("approved_time"),
            *(e.alias(n) for n, e in exprs.items()),
        )
        .sort("voucher_id")
    )


@register
class AmountIsolationForest(Detector):
    id = "amount.isolation_forest"
    title = Text("孤立森林异常支付", "Isolation-forest payment anomaly")
    description = Text(
        "孤立森林模型（金额、相对同类中位数、审核时刻、审核耗时、收款人占比与笔数）认为"
        "极易孤立的支付。",
        "A payment an IsolationForest over amount, amount relative to the class median, "
        "approval hour, approval delay and the payee's share and count isolates at once.",
    )
    requires = ("payments",)
    entity = "voucher"
    severity = "low"
    params = (
        Param("features", tuple, DEFAULT_FEATURES, "Model features, names of FEATURES "
              "(see DEFAULT_FEATURES for why day_of_year and off_hours are left out)."),
        Param("score_threshold", float, 0.74, "Model anomaly score at or above which a "
              "payment alerts.", min=0.5, max=1.0),
        Param("max_alerts", int, 50, "Most alerts per run (highest scores first).", min=1),
        Param("min_amount", float, 10000.0, "Payments below this (yuan) never alert.", min=0),
        Param("skip_classes", tuple, ("310",), "Economic class prefixes never alerted: "
              "capital spending is heavy-tailed by nature (the model still learns from it)."),
        Param("min_rows", int, 1000, "Fewest payments to fit a model at all.", min=100),
        Param("max_fit", int, 200_000, "Most rows the model is fitted on (a hash sample).",
              min=1000),
        Param("n_estimators", int, 100, "Trees in the forest.", min=10),
        Param("random_state", int, 0, "Seed of the forest.", min=0),
    )
    alert_title = Text(
        "孤立森林异常：凭证 {entity_id}，{amount:money} 元，得分 {score:.2f}",
        "Isolation-forest anomaly: voucher {entity_id}, {amount:money} yuan, score {score:.2f}",
    )
    alert_explanation = Text(
        "单位 {unit_id} 于 {pay_date} 以凭证 {entity_id} 向 {payee_name} 支付 {amount:money} 元。"
        "孤立森林（{n_fit:int} 笔支付拟合，{n_estimators} 棵树）异常得分 {score:.3f}，阈值 "
        "{score_threshold:.2f}。金额为单位同类中位数的 {ratio_median:.1f} 倍；审核时间 "
        "{approved_time}，制单至审核 {approve_days:.1f} 天；该收款人占单位支付额 "
        "{payee_share:pct}。最不寻常的特征：{unusual_zh}。",
        "Unit {unit_id} paid {amount:money} yuan to {payee_name} with voucher {entity_id} on "
        "{pay_date}. The isolation forest ({n_fit:int} payments fitted, {n_estimators} trees) "
        "scores it {score:.3f} against a threshold of {score_threshold:.2f}. The amount is "
        "{ratio_median:.1f}x the unit's class median; approved at {approved_time}, "
        "{approve_days:.1f} days after drafting; the payee takes {payee_share:pct} of the "
        "unit's payments. Most unusual: {unusual_en}.",
    )

    def find(self, tables, ctx):
        names = list(self.features)
        unknown = [n for n in names if n not in FEATURES]
        if unknown or not names:
            msg = f"{self.id}: unknown features {unknown} (known: {', '.join(FEATURES)})"
            raise DetectorError(msg)
        # what features() gives, but lean: the model's and the explanation's features, no
        # sort of the whole year, no text; the rest is read for the alerts only
        exprs = _feature_exprs(ctx.settings.working_hours)
        cols = list(dict.fromkeys([*names, *EXPLAINED]))
        skip = pl.lit(False)
        for p in self.skip_classes:
            skip = skip | pl.col("economic_class").fill_null("").str.starts_with(p)
        pay = tables["payments"].with_row_index("_p")
        df = (  # numbers only: the voucher id's hash, not the id
            pay.filter(active_payment() & in_year(pl.col("pay_date"), ctx.year, ctx.as_of))
            .select(
                "_p", pl.col("voucher_id").hash(seed=self.random_state).alias("_h"),
                ((pl.col("amount").cast(pl.Float64) >= self.min_amount) & ~skip).alias("_ok"),
                *(exprs[n].alias(n) for n in cols),
            )
            .collect()
        )
        if df.height < self.min_rows:
            return _empty()
        # the fit sample: the max_fit smallest hashes of the voucher id (ties by id), in
        # voucher id order — the rows, and so the forest, of features() sorted by id; ids
        # are read only for the hashes up to the cut
        cut = df["_h"].bottom_k(min(self.max_fit, df.height)).max()
        low = df.with_row_index("i").filter(pl.col("_h") <= cut).select("i", "_p", "_h")
        low = low.with_columns(rows_at(pay, low["_p"], "voucher_id", index="_p")["voucher_id"])
        fit = (
            low.bottom_k(self.max_fit, by=["_h", "voucher_id"])
            .sort("voucher_id")["i"].to_numpy()
        )
        fit_raw = df.select(names)[fit].to_numpy().astype(np.float64)
        fill = np.nan_to_num(np.nanmedian(np.where(np.isfinite(fit_raw), fit_raw, np.nan), 0))
        x_fit = np.where(np.isfinite(fit_raw), fit_raw, fill)

        from sklearn.ensemble import IsolationForest  # 1.8 s to import: only when run

        model = IsolationForest(n_estimators=self.n_estimators, random_state=self.random_state,
                                n_jobs=1).fit(x_fit)
        lo, hi = np.quantile(x_fit, 0.01, axis=0), np.quantile(x_fit, 0.99, axis=0)
        xs = [f"_x{j}" for j in range(len(names))]  # filled copies; the raw ones are quoted
        filled = [
            pl.when(pl.col(n).is_finite()).then(pl.col(n)).otherwise(pl.lit(float(f))).alias(c)
            for n, c, f in zip(names, xs, fill, strict=True)
        ]
        outside = pl.any_horizontal(
            (pl.col(c) < float(a)) | (pl.col(c) > float(b))
            for c, a, b in zip(xs, lo, hi, strict=True)
        )
        cand = df.lazy().filter(pl.col("_ok")).with_columns(filled).filter(outside).collect()
        if not cand.height:
            return _empty()
        cand = cand.with_columns(rows_at(pay, cand["_p"], "voucher_id", index="_p")["voucher_id"])
        x = cand.select(xs).to_numpy().astype(np.float64)
        score = -model.score_samples(x)
        hit = np.flatnonzero(score >= self.score_threshold)
        if not len(hit):
            return _empty()
        order = np.lexsort((cand["voucher_id"].to_numpy()[hit], -score[hit]))
        hit = hit[order][: self.max_alerts]
        zh, en = _unusual(x_fit, x[hit], names)
        found = cand[hit].select("_p", *EXPLAINED).with_columns(
            pl.Series("score", score[hit]), pl.Series("unusual_zh", zh),
            pl.Series("unusual_en", en), pl.lit(len(fit)).alias("n_fit"),
        )
        rows = (
            pay.filter(pl.col("_p").is_in(found["_p"].implode()))
            .select("_p", "voucher_id", "unit_id", "amount", "payee_name", "pay_date",
                    pl.col("approved_at").dt.strftime("%H:%M").alias("approved_time"))
            .collect()
        )
        return (
            found.join(rows, on="_p", how="inner")
            .select(
                pl.col("voucher_id").alias("entity_id"), pl.col("voucher_id").alias("finding_key"),
                pl.concat_list(ref("payments", "voucher_id")).alias("evidence"),
                "unit_id", "amount", "payee_name", pl.col("pay_date").cast(pl.String),
                "score", "n_fit", "unusual_zh", "unusual_en", "approved_time", "approve_days",
                "payee_share", pl.col("rel_class").exp().alias("ratio_median"),
                to_time(pl.col("pay_date"), ctx.timezone).alias("event_time"),
                pl.when(pl.col("score") >= self.score_threshold + 0.08).then(pl.lit("medium"))
                .otherwise(pl.lit("low")).alias("severity"),
            )
            .sort("finding_key")
        )


def _unusual(x_fit: np.ndarray, x: np.ndarray, names: list[str]) -> tuple[list[str], list[str]]:
    """For each row, the two features furthest in the tails of the fitted sample."""
    zh, en = [], []
    cols = [np.sort(x_fit[:, j]) for j in range(x.shape[1])]
    ranks = np.stack([(np.searchsorted(c, x[:, j], side="left")
                       + np.searchsorted(c, x[:, j], side="right")) / 2
                      for j, c in enumerate(cols)], 1) / len(x_fit)  # mid-ranks: ties count half
    tail = np.maximum(ranks, 1 - ranks)
    for r in range(x.shape[0]):
        parts_zh, parts_en = [], []
        for j in np.argsort(-tail[r], kind="stable")[:2]:
            label_zh, label_en = FEATURES[names[j]]
            side_zh = "高于" if ranks[r, j] >= 0.5 else "低于"
            side_en = "above" if ranks[r, j] >= 0.5 else "below"
            share = tail[r, j]
            parts_zh.append(f"{label_zh} {x[r, j]:.2f}（{side_zh} {share:.1%} 的支付）")
            parts_en.append(f"{label_en} {x[r, j]:.2f} ({side_en} {share:.1%} of payments)")
        zh.append("；".join(parts_zh))
        en.append("; ".join(parts_en))
    return zh, en


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"entity_id": pl.String, "finding_key": pl.String,
                                "evidence": pl.List(pl.String)})

"""The workbench's charts: alerts by unit or region, alerts per week, 三公 against its limits.

PNG charts (matplotlib with the report's CJK font, so Chinese labels render);
they draw what they are given: the explorer's filtered alerts, or
:func:`auditlib.analytics.sangong_overview` for one unit.

Examples
--------
>>> import polars as pl, datetime as dt
>>> a = pl.DataFrame({"unit_id": ["U1", "U1", "U2"], "unit_name": ["教育局", "教育局", None],
...                   "region_code": ["330105"] * 3, "severity": ["high", "low", "high"],
...                   "event_time": [dt.datetime(2026, 1, 5), dt.datetime(2026, 1, 20), None]})
>>> counts_by(a, "unit")["label"].to_list()
['U1 教育局', 'U2']
>>> weekly_counts(a)["len"].to_list()
[1, 1]
>>> by_place(a, "unit", "zh").png[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from decimal import Decimal

import polars as pl

from auditlib.alerts.schema import SEVERITIES
from auditlib.report.charts import COLORS, Chart
from auditlib.report.fonts import setup_matplotlib
from auditlib.widgets.labels import label, pick, sev_label


def _fig(w: float = 7.5, h: float = 3.0):
    setup_matplotlib()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(w, h), dpi=100)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _png(fig) -> Chart:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return Chart(buf.getvalue())


def _empty(text: str) -> Chart:
    fig, ax = _fig(7.5, 1.2)
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_axis_off()
    return _png(fig)


def counts_by(alerts: pl.DataFrame, by: str = "unit", top: int = 15) -> pl.DataFrame:
    """Alerts per unit (``label`` = id and name) or region, one column per severity, top N."""
    col = "unit_id" if by == "unit" else "region_code"
    if alerts.height == 0:
        return pl.DataFrame(schema={"label": pl.String, "len": pl.UInt32})
    df = alerts.filter(pl.col(col).is_not_null())
    if by == "unit":
        lab = pl.concat_str(pl.col("unit_id"), pl.lit(" "), pl.col("unit_name"), ignore_nulls=True)
        df = df.with_columns(
            pl.when(pl.col("unit_name").is_null())
            .then(pl.col("unit_id"))
            .otherwise(lab)
            .alias("label")
        )
    else:
        df = df.with_columns(pl.col(col).alias("label"))
    wide = df.group_by("label", "severity").len().pivot("severity", index="label", values="len")
    for s in SEVERITIES:
        if s not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.UInt32).alias(s))
    wide = wide.fill_null(0).with_columns(pl.sum_horizontal(SEVERITIES).alias("len"))
    return wide.sort(["len", "label"], descending=[True, False]).head(top)


def by_place(alerts: pl.DataFrame, by: str, lang: str, top: int = 15) -> Chart:
    """Horizontal stacked bars: alerts per unit or region by severity (the top ``top``)."""
    df = counts_by(alerts, by, top)
    if df.height == 0:
        return _empty(label("no_alerts", lang))
    fig, ax = _fig(7.5, max(2.0, 0.8 + 0.28 * df.height))
    labels = list(reversed(df["label"].to_list()))
    left = [0] * df.height
    for sev in reversed(SEVERITIES):
        vals = list(reversed(df[sev].to_list()))
        if any(vals):
            ax.barh(labels, vals, left=left, color=COLORS[sev], label=sev_label(sev, lang))
            left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_xlabel(label("alerts", lang))
    ax.set_title(label("by_unit" if by == "unit" else "by_region", lang))
    ax.tick_params(axis="y", labelsize=8)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def weekly_counts(alerts: pl.DataFrame) -> pl.DataFrame:
    """Alerts per week (weeks start on Monday) of ``event_time``; alerts without a time left out."""
    if alerts.height == 0:
        return pl.DataFrame(schema={"week": pl.Date, "len": pl.UInt32})
    return (
        alerts.filter(pl.col("event_time").is_not_null())
        .with_columns(pl.col("event_time").dt.date().dt.truncate("1w").alias("week"))
        .group_by("week")
        .len()
        .sort("week")
    )


def weekly(alerts: pl.DataFrame, lang: str) -> Chart:
    df = weekly_counts(alerts)
    if df.height == 0:
        return _empty(label("no_alerts", lang))
    fig, ax = _fig(7.5, 2.6)
    ax.bar(df["week"].to_list(), df["len"].to_list(), width=5, color="#0b3d6e")
    ax.set_title(label("weekly", lang))
    ax.set_ylabel(label("alerts", lang))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    return _png(fig)


def sangong_unit(overview: pl.DataFrame, unit_id: str, lang: str) -> Chart:
    """One unit's 三公 spending per category against budget (indicators) and last year's final."""
    df = overview.filter(pl.col("unit_id") == unit_id) if overview.height else overview
    if df.height == 0:
        return _empty(("无三公经费数据：" if lang == "zh" else "No 三公 data: ") + unit_id)
    cat = "category" if lang == "zh" else "category_en"
    xs = list(range(df.height))
    w = 0.27

    def wan(c: str) -> list[float]:
        return [float(v or Decimal(0)) / 1e4 for v in df[c].to_list()]

    fig, ax = _fig(7.5, 3.0)

    def t(zh: str, en: str) -> str:
        return pick(zh, en, lang)

    ax.bar([x - w for x in xs], wan("spent"), w, label=t("本年支出", "Spent YTD"), color="#c0392b")
    ax.bar(
        xs,
        wan("budget"),
        w,
        label=t("三公指标（总量/指标控制）", "Budget (total/indicator)"),
        color="#0b3d6e",
    )
    ax.bar(
        [x + w for x in xs],
        wan("last_final"),
        w,
        label=t("上年决算（决算控制）", "Last year's final (final-accounts)"),
        color="#85c1e9",
    )
    ax.set_xticks(xs, df[cat].to_list())
    ax.set_ylabel(t("万元", "10k yuan"))
    spent, budget = sum(wan("spent")), sum(wan("budget"))
    ax.set_title(
        t(
            f"{unit_id} 三公经费：支出 {spent:,.2f} 万元 / 预算 {budget:,.2f} 万元",
            f"{unit_id} 三公: spent {spent:,.2f} / budget {budget:,.2f} (10k yuan)",
        )
    )
    ax.legend(frameon=False, fontsize=7)
    return _png(fig)

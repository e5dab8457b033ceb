"""Charts for reports and widgets (matplotlib, with the same CJK font as the PDF)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from auditlib.alerts.schema import SEVERITIES
from auditlib.report.fonts import setup_matplotlib

COLORS = {"critical": "#8b0000", "high": "#c0392b", "medium": "#f5b041", "low": "#85c1e9", "info": "#d5d8dc"}

T = Callable[[str, str], str]


def _fig(w: float = 7.5, h: float = 3.0):  # noqa: ANN202
    setup_matplotlib()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(w, h), dpi=110)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


class Chart:
    """A rendered chart: PNG bytes that Jupyter, nbconvert and the PDF show as an image."""

    def __init__(self, png: bytes) -> None:
        self.png = png

    def _repr_png_(self) -> bytes:
        return self.png


def _done(fig) -> Chart:  # noqa: ANN001
    import io

    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    plt.close(fig)
    return Chart(buf.getvalue())


def by_domain(alerts: pl.DataFrame, t: T, sev_label: Callable[[str], str],
              domain_label: Callable[[str], str] = str):  # noqa: ANN201
    """Stacked bars: alerts per domain by severity."""
    fig, ax = _fig()
    if alerts.height == 0:
        ax.text(0.5, 0.5, t("无告警", "No alerts"), ha="center", va="center")
        ax.set_axis_off()
        return _done(fig)
    counts = alerts.group_by("domain", "severity").len()
    domains = counts.group_by("domain").agg(pl.col("len").sum()).sort("len", descending=True)["domain"].to_list()
    bottom = [0] * len(domains)
    for sev in reversed(SEVERITIES):
        vals = []
        for d in domains:
            r = counts.filter((pl.col("domain") == d) & (pl.col("severity") == sev))
            vals.append(int(r["len"].sum()) if r.height else 0)
        if any(vals):
            ax.bar([domain_label(d) for d in domains], vals, bottom=bottom, color=COLORS[sev], label=sev_label(sev))
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel(t("告警数", "Alerts"))
    ax.set_title(t("各领域告警（按严重性）", "Alerts by domain and severity"))
    plt_labels = ax.get_xticklabels()
    ax.set_xticks(range(len(domains)), [lbl.get_text() for lbl in plt_labels], rotation=35,
                  ha="right", fontsize=8)
    ax.legend(frameon=False, fontsize=8)
    return _done(fig)


def trend(runs: pl.DataFrame, t: T):  # noqa: ANN201
    fig, ax = _fig(7.5, 2.6)
    if runs.height == 0:
        ax.set_axis_off()
        return _done(fig)
    df = runs.group_by("as_of").agg(pl.col("n_alerts").last()).sort("as_of")
    ax.plot(df["as_of"].to_list(), df["n_alerts"].to_list(), marker="o", color="#0b3d6e")
    ax.set_title(t("历次运行告警数", "Alerts per run"))
    ax.set_ylabel(t("告警数", "Alerts"))
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    return _done(fig)


def sangong(df: pl.DataFrame, t: T, lang: str):  # noqa: ANN201
    """三公 spending per category against budget and last year's final accounts (all units)."""
    fig, ax = _fig(7.5, 3.0)
    if df.height == 0:
        ax.text(0.5, 0.5, t("无三公经费支出", "No 三公 spending"), ha="center", va="center")
        ax.set_axis_off()
        return _done(fig)
    cat = "category" if lang == "zh" else "category_en"
    agg = df.group_by(cat).agg(
        pl.col("spent").sum().cast(pl.Float64), pl.col("budget").sum().cast(pl.Float64),
        pl.col("last_final").sum().cast(pl.Float64),
    ).sort(cat)
    xs = list(range(agg.height))
    w = 0.27
    ax.bar([x - w for x in xs], (agg["spent"] / 1e4).to_list(), w, label=t("本年支出", "Spent YTD"), color="#c0392b")
    ax.bar(xs, (agg["budget"].fill_null(0) / 1e4).to_list(), w, label=t("三公指标", "Budget"), color="#0b3d6e")
    ax.bar([x + w for x in xs], (agg["last_final"].fill_null(0) / 1e4).to_list(), w, label=t("上年决算", "Last year's final"), color="#85c1e9")
    ax.set_xticks(xs, agg[cat].to_list())
    ax.set_ylabel(t("万元", "10k yuan"))
    ax.set_title(t("三公经费：支出与三项限额", "三公 spending against its limits"))
    ax.legend(frameon=False, fontsize=8)
    return _done(fig)

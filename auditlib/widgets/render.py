"""HTML for the workbench (escaped; only what is shown is ever turned into text).

>>> import polars as pl
>>> html = frame_html(pl.DataFrame({"a": ["<x>"], "n": [1]}))
>>> "&lt;x&gt;" in html and "<table" in html
True
>>> "1,234.50" in summary_html({"total": 3, "all": 5, "by_severity": {"high": 3},
...                             "amount": 1234.5, "units": 2}, "en")
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import polars as pl

from auditlib.report.charts import COLORS
from auditlib.report.html import esc, money
from auditlib.widgets.labels import label, sev_label, status_label

CSS = """<style>
.alw table{border-collapse:collapse;font-size:12px;width:100%;table-layout:fixed}
.alw td,.alw th{padding:2px 6px;border-bottom:1px solid #e5e8ec;overflow:hidden;
  text-overflow:ellipsis;white-space:nowrap;text-align:left;vertical-align:top}
.alw th{background:#f4f6f8;font-weight:600}
.alw td.num,.alw th.num{text-align:right}
.alw .wrap td{white-space:normal;word-break:break-all}
.alw .sev{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:11px}
.alw .chip{display:inline-block;margin-right:14px}
.alw .chip b{font-size:16px;margin-right:4px}
.alw .muted{color:#6b7580}
.alw .sel td{background:#fff6d6}
.alw h4{margin:8px 0 4px 0}
</style>"""

# the alert table: (column, label key, width in px or None for the rest, right-aligned)
COLUMNS: tuple[tuple[str, str, int | None, bool], ...] = (
    ("severity", "severity", 54, False),
    ("status", "status", 58, False),
    ("detector_id", "detector_id", 150, False),
    ("title", "title", None, False),
    ("entity_id", "entity_id", 140, False),
    ("unit_id", "unit_id", 130, False),
    ("event_time", "event_time", 84, False),
    ("amount", "amount", 100, True),
)


def _colgroup() -> str:
    return (
        "<colgroup>"
        + "".join(f'<col style="width:{w}px">' if w else "<col>" for _, _, w, _ in COLUMNS)
        + "</colgroup>"
    )


def sev_chip(sev: str, lang: str) -> str:
    color = COLORS.get(sev, "#999")
    fg = "#222" if sev in ("info", "low", "medium") else "#fff"
    style = f"background:{color};color:{fg}"
    return f'<span class="sev" style="{style}">{esc(sev_label(sev, lang))}</span>'


def _cell(col: str, row: Mapping[str, Any], lang: str) -> str:
    v = row.get(col)
    if col == "severity":
        return sev_chip(str(v), lang)
    if col == "status":
        return esc(status_label(str(v), lang))
    if col == "title":
        v = row.get("title") if lang == "zh" else row.get("title_en")
    if col == "unit_id" and v is not None and row.get("unit_name"):
        v = f"{v} {row['unit_name']}"
    if col == "event_time" and isinstance(v, dt.datetime):
        v = v.strftime("%Y-%m-%d")
    if col == "amount":
        return money(v)
    return esc(v)


def header_html(lang: str) -> str:
    ths = "".join(
        f'<th class="{"num" if right else ""}">{esc(label(key, lang))}</th>'
        for _, key, _, right in COLUMNS
    )
    return f'{CSS}<div class="alw"><table>{_colgroup()}<tr>{ths}</tr></table></div>'


def row_html(row: Mapping[str, Any], lang: str, *, selected: bool = False) -> str:
    """One alert as a one-row table with the header's column widths (so rows align)."""
    tds = "".join(
        f'<td class="{"num" if right else ""}" title="{esc(_plain(col, row, lang))}">'
        f"{_cell(col, row, lang)}</td>"
        for col, _, _, right in COLUMNS
    )
    cls = ' class="sel"' if selected else ""
    aid = esc(row.get("alert_id"))
    return (
        f'<div class="alw alert-row" data-alert-id="{aid}"><table>{_colgroup()}'
        f"<tr{cls}>{tds}</tr></table></div>"
    )


def _plain(col: str, row: Mapping[str, Any], lang: str) -> str:
    if col == "title":
        return str(row.get("title") if lang == "zh" else row.get("title_en"))
    v = row.get(col)
    return "" if v is None else str(v)


def summary_html(s: Mapping[str, Any], lang: str) -> str:
    chips = [
        f'<span class="chip"><b>{s["total"]:,}</b>{esc(label("shown", lang))}'
        f' <span class="muted">/ {s["all"]:,}</span></span>'
    ]
    for sev, n in s["by_severity"].items():
        chips.append(f'<span class="chip">{sev_chip(sev, lang)} <b>{n:,}</b></span>')
    chips.append(
        f'<span class="chip"><b>{money(s["amount"])}</b>{esc(label("total_amount", lang))}</span>'
    )
    chips.append(f'<span class="chip"><b>{s["units"]:,}</b>{esc(label("unit", lang))}</span>')
    return f'<div class="alw">{"".join(chips)}</div>'


def _fmt(v: Any) -> str:
    if isinstance(v, Decimal):
        return money(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v))
    return "" if v is None else str(v)


def frame_html(
    df: pl.DataFrame,
    *,
    headers: Sequence[str] | None = None,
    max_rows: int = 200,
    max_chars: int = 90,
) -> str:
    """A frame as an escaped table, one line per row (long cells cut, full text on hover),
    scrolling sideways when wide; at most ``max_rows`` rows."""
    cols = list(df.columns)
    names = list(headers) if headers is not None else cols
    ths = "".join(f"<th>{esc(n)}</th>" for n in names)
    body = []
    for row in df.head(max_rows).iter_rows():
        tds = []
        for v in row:
            text = _fmt(v)
            short = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
            num = isinstance(v, int | float | Decimal) and not isinstance(v, bool)
            tds.append(f'<td{" class=num" if num else ""} title="{esc(text)}">{esc(short)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'<div class="alw" style="overflow-x:auto"><table style="table-layout:auto;width:auto">'
        f"<tr>{ths}</tr>{''.join(body)}</table></div>"
    )


def records_html(df: pl.DataFrame, *, max_chars: int = 400) -> str:
    """A few records side by side, one column each, fields as rows (wide tables read better so).

    >>> "<th>b</th>" in records_html(pl.DataFrame({"a": ["x", "y"], "b": [1, 2]}))
    True
    """
    rows = []
    for col in df.columns:
        tds = []
        for v in df[col].to_list():
            text = _fmt(v)
            short = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
            tds.append(f'<td title="{esc(text)}">{esc(short)}</td>')
        rows.append(f"<tr><th>{esc(col)}</th>{''.join(tds)}</tr>")
    width = 160 + 320 * df.height
    return (
        f'<div class="alw" style="overflow-x:auto"><table class="wrap" '
        f'style="table-layout:auto;width:auto;max-width:{width}px">{"".join(rows)}</table></div>'
    )


def alert_html(a: Mapping[str, Any], lang: str, explanation: tuple[str, str]) -> str:
    """An alert's head and its explanation in both languages (the chosen language first)."""
    zh, en = explanation
    first, second = (zh, en) if lang == "zh" else (en, zh)
    title = a.get("title") if lang == "zh" else a.get("title_en")
    meta = " · ".join(
        esc(x)
        for x in (
            a.get("alert_id"),
            a.get("detector_id"),
            a.get("entity_type"),
            a.get("entity_id"),
            a.get("unit_id"),
            _fmt(a.get("event_time")),
        )
        if x
    )
    amt = (
        f" · {esc(label('amount', lang))} {money(a['amount'])}"
        if a.get("amount") is not None
        else ""
    )
    st = esc(status_label(str(a.get("status", "new")), lang))
    return (
        f'<div class="alw"><h4>{sev_chip(str(a.get("severity")), lang)} {esc(title)}</h4>'
        f'<div class="muted">{meta}{amt} · {st}</div>'
        f'<p>{esc(first)}</p><p class="muted">{esc(second)}</p></div>'
    )

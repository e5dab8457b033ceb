"""The explorer's filter bar: one widget per :class:`~auditlib.widgets.query.AlertFilter` field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from auditlib.alerts.schema import SEVERITIES
from auditlib.store import STATUSES
from auditlib.widgets.labels import check_lang, domain_label, label, sev_label, status_label
from auditlib.widgets.query import AlertFilter, AlertQuery

MULTI = {  # filter field → (alert column its choices come from, widget width)
    "detectors": ("detector_id", "230px"),
    "domains": ("domain", "150px"),
    "severities": ("severity", "100px"),
    "statuses": ("status", "100px"),
    "regions": ("region_code", "110px"),
}
TITLES = {
    "detectors": "detector",
    "domains": "domain",
    "severities": "severity",
    "statuses": "status",
    "regions": "region",
}


class FilterBar:
    """Filter widgets over one alert frame; ``on_change()`` fires after a user's change."""

    def __init__(
        self, query: AlertQuery, *, lang: str = "zh", on_change: Callable[[], None] | None = None
    ) -> None:
        self.query, self.lang = query, check_lang(lang)
        self._on_change = on_change or (lambda: None)
        self._quiet = False
        self.multi = {
            k: W.SelectMultiple(options=[], rows=5, layout=W.Layout(width=w))
            for k, (_, w) in MULTI.items()
        }
        self.units = W.Text(layout=W.Layout(width="230px"))
        self.text = W.Text(layout=W.Layout(width="230px"))
        self.date_from = W.DatePicker(layout=W.Layout(width="150px"))
        self.date_to = W.DatePicker(layout=W.Layout(width="150px"))
        self.min_amount = W.FloatText(value=0.0, step=1000, layout=W.Layout(width="150px"))
        self.clear_btn = W.Button(icon="times", layout=W.Layout(width="auto"))
        self.clear_btn.on_click(lambda _: self.clear())
        self.titles = {
            k: W.HTML()
            for k in (*TITLES.values(), "unit", "search", "date_from", "date_to", "min_amount")
        }
        for w in self.fields.values():
            w.observe(self._changed, "value")
        t = self.titles
        self.widget = W.HBox(
            [W.VBox([t[TITLES[k]], w]) for k, w in self.multi.items()]
            + [
                W.VBox([t["unit"], self.units, t["search"], self.text]),
                W.VBox([t["date_from"], self.date_from, t["date_to"], self.date_to]),
                W.VBox([t["min_amount"], self.min_amount, self.clear_btn]),
            ],
            layout=W.Layout(flex_flow="row wrap"),
        )
        self.set_lang(self.lang)

    @property
    def fields(self) -> dict[str, W.Widget]:
        """AlertFilter field name → its widget."""
        return {
            **self.multi,
            "units": self.units,
            "text": self.text,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "min_amount": self.min_amount,
        }

    def read(self) -> AlertFilter:
        units = tuple(
            u.strip() for u in self.units.value.replace("，", ",").split(",") if u.strip()
        )
        return AlertFilter(
            **{k: tuple(w.value) for k, w in self.multi.items()},
            units=units,
            date_from=_date(self.date_from.value),
            date_to=_date(self.date_to.value),
            min_amount=self.min_amount.value or None,
            text=self.text.value,
        )

    def set(self, **values: Any) -> None:
        """Set widgets by AlertFilter field names (as a person would), then notify once."""
        fields = self.fields
        self._quiet = True
        try:
            for k, v in values.items():
                if k not in fields:
                    msg = f"unknown filter {k!r} (known: {', '.join(fields)})"
                    raise ValueError(msg)
                if k == "units":
                    v = ", ".join(v) if isinstance(v, list | tuple) else v
                elif k in self.multi:
                    v = tuple(v)
                elif k == "min_amount":
                    v = float(v or 0)
                fields[k].value = v
        finally:
            self._quiet = False
        self._on_change()

    def clear(self) -> None:
        self.set(
            **{k: () for k in self.multi},
            units="",
            text="",
            date_from=None,
            date_to=None,
            min_amount=0.0,
        )

    def set_lang(self, lang: str) -> None:
        self.lang = check_lang(lang)
        for key, w in self.titles.items():
            w.value = f"<b>{label(key, lang)}</b>"
        q = self.query
        counts = dict(q.df.group_by("detector_id").len().iter_rows()) if q.df.height else {}
        options = {
            "detectors": [(f"{d} ({counts.get(d, 0)})", d) for d in q.options("detector_id")],
            "domains": [(domain_label(d, lang), d) for d in q.options("domain")],
            "severities": [(sev_label(s, lang), s) for s in reversed(SEVERITIES)],
            "statuses": [(status_label(s, lang), s) for s in STATUSES],
            "regions": [(r, r) for r in q.options("region_code")],
        }
        self._quiet = True
        try:
            for k, opts in options.items():
                set_options(self.multi[k], opts)
        finally:
            self._quiet = False
        self.units.placeholder = label("units_hint", lang)
        self.text.placeholder = label("search_hint", lang)
        self.clear_btn.description = label("clear", lang)

    def _changed(self, _change: Any) -> None:
        if not self._quiet:
            self._on_change()


def set_options(w: W.Widget, options: list[tuple[str, Any]]) -> None:
    """Replace a selection widget's options, keeping what stays selectable selected."""
    old = w.value
    w.options = options
    values = {v for _, v in options}
    if isinstance(old, tuple):
        w.value = tuple(v for v in old if v in values)
    elif old in values:
        w.value = old


def _date(v: Any) -> dt.date | None:
    if v is None:
        return None
    return v.date() if isinstance(v, dt.datetime) else v

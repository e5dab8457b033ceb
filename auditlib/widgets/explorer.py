"""The alert explorer widget: filters, a summary strip, a sortable table shown one page at a time.

Only the page on screen is rendered (a pool of ``page_size`` row widgets whose
HTML is replaced); filtering and sorting are :class:`~auditlib.widgets.query.AlertQuery`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W
import polars as pl

from auditlib.widgets import render
from auditlib.widgets.filters import FilterBar, set_options
from auditlib.widgets.labels import check_lang, label
from auditlib.widgets.query import SORTS, AlertFilter, Page
from auditlib.widgets.session import Session


class AlertExplorer:
    """Browse one session's alerts. ``on_select(alert_id)`` callbacks fire when a row is viewed."""

    def __init__(self, session: Session, *, lang: str = "zh", page_size: int = 50) -> None:
        self.session = session
        self.lang = check_lang(lang)
        self.page_size = page_size
        self.sort, self.descending, self.page_no = "severity", True, 0
        self.selected: str | None = None
        self.current: Page | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._filter_listeners: list[Callable[[], None]] = []
        self._quiet = False
        self.filters = FilterBar(session.query, lang=lang, on_change=self._on_filter)
        self.w_sort = W.Dropdown(layout=W.Layout(width="170px"))
        self.w_sort_title = W.HTML()
        self.w_desc = W.Checkbox(value=True, indent=False, layout=W.Layout(width="auto"))
        self.w_prev = W.Button(icon="chevron-left", layout=W.Layout(width="auto"))
        self.w_next = W.Button(icon="chevron-right", layout=W.Layout(width="auto"))
        self.w_page, self.w_summary, self.w_header = W.HTML(), W.HTML(), W.HTML()
        # the page scrolls inside its own box, so the detail below it stays in view
        self.w_rows = W.VBox(
            layout=W.Layout(width="100%", max_height="460px", overflow="auto", flex="0 0 auto")
        )
        self._pool: list[tuple[W.HBox, W.Button, W.HTML]] = []
        self._row_ids: list[str] = []
        self.w_sort.observe(self._on_sort, "value")
        self.w_desc.observe(self._on_sort, "value")
        self.w_prev.on_click(lambda _: self.go(self.page_no - 1))
        self.w_next.on_click(lambda _: self.go(self.page_no + 1))
        pager = W.HBox(
            [self.w_sort_title, self.w_sort, self.w_desc, self.w_prev, self.w_page, self.w_next],
            layout=W.Layout(align_items="center"),
        )
        spacer = W.HTML(layout=W.Layout(width="64px", min_width="64px"))
        head = W.HBox([spacer, self.w_header], layout=W.Layout(width="100%"))
        self.widget = W.VBox([self.filters.widget, self.w_summary, pager, head, self.w_rows])
        self.widget.add_class("auditlib-explorer")
        self.set_lang(self.lang)

    # ------------------------------------------------------------------ API
    @property
    def filter(self) -> AlertFilter:
        return self.filters.read()

    def on_select(self, fn: Callable[[str], None]) -> None:
        self._listeners.append(fn)

    def on_filter(self, fn: Callable[[], None]) -> None:
        self._filter_listeners.append(fn)

    def filtered(self) -> pl.DataFrame:
        """The alerts the current filters keep."""
        return self.session.query.filtered(self.filter)

    def set_filter(self, **values: Any) -> None:
        """Set filter widgets by AlertFilter field names (tests and notebooks), then refresh."""
        self.filters.set(**values)

    def clear(self) -> None:
        self.filters.clear()

    def set_sort(self, sort: str, *, descending: bool = True) -> None:
        if sort not in SORTS:
            msg = f"sort must be one of {', '.join(SORTS)}"
            raise ValueError(msg)
        self._quiet = True
        self.w_sort.value, self.w_desc.value = sort, descending
        self._quiet = False
        self._on_sort(None)

    def go(self, page: int) -> None:
        self.page_no = page
        self.refresh()

    def select(self, alert_id: str) -> None:
        """Show ``alert_id`` as selected and tell the listeners (evidence, triage, timeline)."""
        self.session.alert(alert_id)
        self.selected = alert_id
        self._render_rows()
        for fn in self._listeners:
            fn(alert_id)

    def refresh(self) -> None:
        """Re-query (cached when unchanged) and re-render the summary and the current page."""
        q = self.session.query
        flt = self.filter
        p = q.page(
            flt, sort=self.sort, descending=self.descending, page=self.page_no, size=self.page_size
        )
        self.current, self.page_no = p, p.page
        self.w_summary.value = render.summary_html(q.summary(flt), self.lang)
        last = p.first + p.rows.height - 1 if p.total else 0
        self.w_page.value = (
            f"{label('page', self.lang)} {p.page + 1}/{p.pages} · "
            f"{p.first:,}–{last:,} / {p.total:,}"
        )
        self.w_prev.disabled = p.page == 0
        self.w_next.disabled = p.page >= p.pages - 1
        self._render_rows()

    def set_lang(self, lang: str) -> None:
        self.lang = check_lang(lang)
        self.filters.set_lang(lang)
        self._quiet = True
        try:
            set_options(self.w_sort, [(label(s, lang), s) for s in SORTS])
            self.w_sort.value = self.sort
        finally:
            self._quiet = False
        self.w_sort_title.value = f"<b>{label('sort_by', lang)}</b>"
        self.w_desc.description = label("descending", lang)
        self.w_prev.tooltip, self.w_next.tooltip = label("prev", lang), label("next", lang)
        self.w_header.value = render.header_html(lang)
        self.refresh()

    # -------------------------------------------------------------- plumbing
    def _on_filter(self) -> None:
        self.page_no = 0
        self.refresh()
        for fn in self._filter_listeners:
            fn()

    def _on_sort(self, _change: Any) -> None:
        if self._quiet:
            return
        self.sort, self.descending = self.w_sort.value or "severity", bool(self.w_desc.value)
        self.page_no = 0
        self.refresh()

    def _render_rows(self) -> None:
        rows = self.current.rows if self.current is not None else pl.DataFrame()
        n = rows.height
        while len(self._pool) < n:
            i = len(self._pool)
            btn = W.Button(layout=W.Layout(width="60px", min_width="60px", height="24px"))
            btn.on_click(lambda _b, i=i: self._clicked(i))
            html = W.HTML(layout=W.Layout(width="100%"))
            box = W.HBox([btn, html], layout=W.Layout(width="100%", flex="0 0 auto"))
            self._pool.append((box, btn, html))
        self._row_ids = []
        for i, (row_box, btn, html) in enumerate(self._pool):
            if i >= n:
                row_box.layout.display = "none"
                continue
            row = rows.row(i, named=True)
            self._row_ids.append(row["alert_id"])
            sel = row["alert_id"] == self.selected
            html.value = render.row_html(row, self.lang, selected=sel)
            btn.description = label("view", self.lang)
            btn.button_style = "info" if sel else ""
            btn.tooltip = row["alert_id"]
            row_box.layout.display = None
        empty = [W.HTML(f"<i>{label('no_alerts', self.lang)}</i>")] if n == 0 else []
        self.w_rows.children = tuple(empty + [b for b, _, _ in self._pool])

    def _clicked(self, i: int) -> None:
        if i < len(self._row_ids):
            self.select(self._row_ids[i])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

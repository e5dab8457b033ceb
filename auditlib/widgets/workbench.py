"""The auditor's workbench: every panel on one session, wired together, zh/en switch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ipywidgets as W

from auditlib.store import AlertStore
from auditlib.widgets import render
from auditlib.widgets.explorer import AlertExplorer
from auditlib.widgets.lab_panel import ChartsPanel, LabPanel
from auditlib.widgets.labels import LANGS, check_lang, label
from auditlib.widgets.panels import EvidencePanel, TimelinePanel, TriagePanel
from auditlib.widgets.session import Session

TABS = ("explorer", "timeline", "charts", "lab")


class Workbench:
    """Load a data directory, run the detectors once, and browse, drill, follow, triage, tune.

    ``Workbench(data_dir="data_samples", store="reports/alerts.sqlite", lang="zh").show()``;
    or ``Workbench(session=Session.from_dataset(ds))`` over data already loaded. The
    pieces (``explorer``, ``evidence``, ``timeline``, ``triage``, ``charts``, ``lab``) are
    usable alone.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        store: str | Path | AlertStore | None = None,
        lang: str = "zh",
        as_of: str | dt.date | None = None,
        config: str | Path | None = None,
        detectors: list[str] | None = None,
        session: Session | None = None,
        page_size: int = 50,
    ) -> None:
        check_lang(lang)
        if session is None:
            if data_dir is None:
                msg = "Workbench needs data_dir (or a session)"
                raise ValueError(msg)
            session = Session.open(
                data_dir, store=store or None, as_of=as_of, config=config, detectors=detectors
            )
        self.session = session
        self.lang = lang
        self.explorer = AlertExplorer(session, lang=lang, page_size=page_size)
        self.evidence = EvidencePanel(session, lang=lang)
        self.timeline = TimelinePanel(session, lang=lang)
        self.triage = TriagePanel(session, lang=lang)
        self.charts = ChartsPanel(session, lang=lang, source=self.explorer.filtered)
        self.lab = LabPanel(session, lang=lang)
        W.link((self.evidence.unmask, "value"), (self.timeline.unmask, "value"))
        self.explorer.on_select(self._selected)
        self.explorer.on_filter(lambda: self._mark_charts())
        self.triage.on_change(lambda _a, _s: self.explorer.refresh())
        self.lang_toggle = W.ToggleButtons(
            options=[("中文", "zh"), ("English", "en")], value=lang, style={"button_width": "80px"}
        )
        self.lang_toggle.observe(lambda ch: self.set_lang(ch["new"]), "value")
        self.header = W.HTML()
        detail = W.VBox([self.triage.widget, self.evidence.widget])
        self.tabs = W.Tab(
            children=[
                W.VBox([self.explorer.widget, detail]),
                self.timeline.widget,
                self.charts.widget,
                self.lab.widget,
            ]
        )
        self.tabs.observe(self._tab_changed, "selected_index")
        self._charts_stale = True
        self.header.layout = W.Layout(flex="1 1 auto")
        self.lang_toggle.layout = W.Layout(flex="0 0 auto")
        self.widget = W.VBox([W.HBox([self.header, self.lang_toggle]), self.tabs])
        self.widget.add_class("auditlib-workbench")
        self.set_lang(lang)

    # ------------------------------------------------------------------ API
    def select(self, alert_id: str) -> None:
        """Select an alert as a click on its row does."""
        self.explorer.select(alert_id)

    def set_lang(self, lang: str) -> None:
        self.lang = check_lang(lang)
        if self.lang_toggle.value != lang:
            self.lang_toggle.value = lang  # observe calls back
            return
        for i, key in enumerate(TABS):
            self.tabs.set_title(i, label(key, lang))
        for panel in (self.explorer, self.evidence, self.timeline, self.triage, self.lab):
            panel.set_lang(lang)
        on_charts = self.tabs.selected_index == TABS.index("charts")
        self.charts.set_lang(lang, draw=on_charts)
        self._charts_stale = self._charts_stale or not on_charts
        self.header.value = self._header()

    def show(self) -> Workbench:
        from IPython.display import display

        display(self.widget)
        return self

    def _ipython_display_(self) -> None:
        self.show()

    # -------------------------------------------------------------- plumbing
    def _header(self) -> str:
        s, lang = self.session, self.lang
        ds = s.dataset
        res = s.result
        notes = []
        if res.skipped:
            notes.append(("跳过 " if lang == "zh" else "skipped ") + f"{len(res.skipped)}")
        if res.failed:
            notes.append(("失败 " if lang == "zh" else "failed ") + ", ".join(res.failed))
        store = str(s.store.path) if s.store is not None else label("no_store", lang)
        return (
            render.CSS
            + f'<div class="alw"><h3 style="margin:2px 0">{label("workbench", lang)}</h3>'
            f'<span class="muted">{render.esc(ds.data_dir)} · as_of {ds.settings.as_of} · '
            f"{len(s.detectors)} {label('detector', lang)} · {s.alerts.height:,} "
            f"{label('alerts', lang)} · {render.esc(store)}"
            + (" · " + render.esc("; ".join(notes)) if notes else "")
            + "</span></div>"
        )

    def _selected(self, alert_id: str) -> None:
        self.evidence.show(alert_id)
        self.triage.show(alert_id)
        self.timeline.follow(self.session.alert(alert_id)["entity_id"])
        if self.tabs.selected_index == TABS.index("timeline"):
            self.timeline.show()

    def _mark_charts(self) -> None:
        self._charts_stale = True
        if self.tabs.selected_index == TABS.index("charts"):
            self._draw_charts()

    def _draw_charts(self) -> None:
        self.charts.refresh()
        self._charts_stale = False

    def _tab_changed(self, change: dict) -> None:
        idx = change["new"]
        if idx == TABS.index("timeline") and self.timeline.stale:
            self.timeline.show()
        elif idx == TABS.index("charts") and self._charts_stale:
            self._draw_charts()


__all__ = ["LANGS", "Workbench"]

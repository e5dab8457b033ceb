"""Evidence drill-down, entity timeline and triage panels (thin widget plumbing over the logic)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W
import polars as pl

from auditlib.errors import AuditlibError
from auditlib.mask import mask_frame, mask_text
from auditlib.timeline import timeline
from auditlib.widgets import render
from auditlib.widgets.evidence import Evidence, fetch_evidence
from auditlib.widgets.labels import check_lang, label
from auditlib.widgets.session import Session, default_user

TIMELINE_ROWS = 300
RECORDS = 4  # up to this many evidence rows are shown side by side, fields as rows


class _Panel:
    widget: W.Widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class EvidencePanel(_Panel):
    """The selected alert's explanation (both languages) and its evidence rows, per table."""

    def __init__(self, session: Session, *, lang: str = "zh") -> None:
        self.session, self.lang = session, check_lang(lang)
        self.alert_id: str | None = None
        self.evidence: Evidence | None = None
        self.unmask = W.Checkbox(value=False, indent=False)
        self.unmask.observe(lambda _: self._render(), "value")
        self.head = W.HTML()
        self.body = W.HTML()
        self.widget = W.VBox([self.head, self.unmask, self.body])
        self.set_lang(self.lang)

    def show(self, alert_id: str) -> None:
        a = self.session.alert(alert_id)
        self.alert_id = alert_id
        self.evidence = fetch_evidence(self.session.dataset, a["evidence"] or [])
        self._render()

    def shown(self) -> Evidence | None:
        """The evidence as displayed: masked unless the unmask box is ticked."""
        if self.evidence is None:
            return None
        return self.evidence if self.unmask.value else self.evidence.masked()

    def set_lang(self, lang: str) -> None:
        self.lang = check_lang(lang)
        self.unmask.description = label("unmask", lang)
        self._render()

    def _render(self) -> None:
        if self.alert_id is None or self.evidence is None:
            self.head.value = f"<i>{label('select_alert', self.lang)}</i>"
            self.body.value = ""
            return
        a = self.session.alert(self.alert_id)
        ev = self.shown()
        assert ev is not None
        expl = (a["explanation"] or "", a["explanation_en"] or "")
        if not self.unmask.value:
            names = self.evidence.names()
            expl = (mask_text(expl[0], names) or "", mask_text(expl[1], names) or "")
            a = {
                **a,
                **{
                    k: mask_text(a[k], names)
                    for k in ("title", "title_en", "entity_id")
                    if isinstance(a.get(k), str)
                },
            }
        self.head.value = render.CSS + render.alert_html(a, self.lang, expl)
        parts = []
        for table, df in ev.tables.items():
            parts.append(
                f"<h4>{table} · {df.height} {label('rows', self.lang)}"
                + (
                    ""
                    if self.unmask.value
                    else f" <small class=muted>({label('masked_note', self.lang)})</small>"
                )
                + "</h4>"
                + (
                    render.records_html(df)
                    if df.height <= RECORDS
                    else render.frame_html(df, max_rows=100)
                )
            )
        lost = ev.missing + [f"{r} ({label('table_not_loaded', self.lang)})" for r in ev.not_loaded]
        if lost:
            parts.append(
                f"<h4>{label('not_found', self.lang)}</h4><div class=alw>"
                + "<br>".join(render.esc(r) for r in lost)
                + "</div>"
            )
        self.body.value = "".join(parts)


class TimelinePanel(_Panel):
    """Every event about one entity across all sources, with the alerts touching each."""

    def __init__(self, session: Session, *, lang: str = "zh") -> None:
        self.session, self.lang = session, check_lang(lang)
        self.entity = W.Text(layout=W.Layout(width="320px"))
        self.go = W.Button(icon="search", button_style="primary")
        self.unmask = W.Checkbox(value=False, indent=False)
        self.out = W.HTML()
        self.events: pl.DataFrame | None = None
        self.stale = False
        self.go.on_click(lambda _: self.show(self.entity.value))
        self.unmask.observe(lambda _: self._render(), "value")
        self.widget = W.VBox([W.HBox([self.entity, self.go, self.unmask]), self.out])
        self.set_lang(self.lang)

    def follow(self, entity: str) -> None:
        """Put ``entity`` in the box; the timeline is computed when shown (``show``)."""
        self.entity.value = entity
        self.stale = True

    def show(self, entity: str | None = None) -> pl.DataFrame:
        ent = (entity if entity is not None else self.entity.value).strip()
        self.entity.value = ent
        self.stale = False
        if not ent:
            self.events = None
            self._render()
            return pl.DataFrame()
        self.events = timeline(self.session.dataset, ent, self.session.alerts)
        self._render()
        return self.events

    def table(self) -> pl.DataFrame:
        """The events as shown (first rows, alerts joined, masked unless unmasked)."""
        if self.events is None:
            return pl.DataFrame()
        df = self.events.head(TIMELINE_ROWS).with_columns(pl.col("alerts").list.join(", "))
        if self.unmask.value or df.height == 0:
            return df
        names = fetch_evidence(self.session.dataset, df["ref"].to_list()).names()
        return mask_frame(df, names)

    def set_lang(self, lang: str) -> None:
        self.lang = check_lang(lang)
        self.entity.placeholder = label("entity_hint", lang)
        self.go.description = label("track", lang)
        self.unmask.description = label("unmask", lang)
        self._render()

    def _render(self) -> None:
        if self.events is None:
            self.out.value = ""
            return
        df = self.table()
        n = self.events.height
        more = (
            f" · {label('showing_first', self.lang)} {TIMELINE_ROWS:,}" if n > TIMELINE_ROWS else ""
        )
        keys = ("time", "source", "ref", "event", "actor", "detail", "alerts_col")
        self.out.value = (
            render.CSS + f"<h4>{render.esc(self.entity.value)} · {n:,} "
            f"{label('events', self.lang)}{more}</h4>"
            + render.frame_html(
                df, headers=[label(k, self.lang) for k in keys], max_rows=TIMELINE_ROWS
            )
        )


class TriagePanel(_Panel):
    """Confirm, dismiss or reopen the selected alert, with who and why, into the alert store."""

    def __init__(
        self,
        session: Session,
        *,
        lang: str = "zh",
        on_change: Callable[[str, str], None] | None = None,
    ) -> None:
        self.session, self.lang = session, check_lang(lang)
        self.alert_id: str | None = None
        self._on_change = [on_change] if on_change else []
        self.who = W.Text(value=default_user(), layout=W.Layout(width="160px"))
        self.reason = W.Textarea(layout=W.Layout(width="420px", height="48px"))
        self.buttons = {
            a: W.Button(button_style=s)
            for a, s in (("confirm", "danger"), ("dismiss", "success"), ("reopen", ""))
        }
        for action, b in self.buttons.items():
            b.on_click(lambda _b, action=action: self.apply(action))
        self.title = W.HTML()
        self.message = W.HTML()
        self.history = W.HTML()
        self.w_by, self.w_reason = W.HTML(), W.HTML()
        self.form = W.HBox(
            [
                W.VBox([self.w_by, self.who]),
                W.VBox([self.w_reason, self.reason]),
                W.VBox(list(self.buttons.values())),
            ],
            layout=W.Layout(display="none"),  # shown once an alert is selected
        )
        self.widget = W.VBox([self.title, self.form, self.message, self.history])
        self.set_lang(self.lang)

    def on_change(self, fn: Callable[[str, str], None]) -> None:
        self._on_change.append(fn)

    def show(self, alert_id: str) -> None:
        self.session.alert(alert_id)
        self.alert_id = alert_id
        self.message.value = ""
        self._render()

    def apply(self, action: str, *, reason: str | None = None, by: str | None = None) -> str | None:
        """Triage the shown alert (button clicks land here); returns the new status or None."""
        if reason is not None:
            self.reason.value = reason
        if by is not None:
            self.who.value = by
        if self.alert_id is None:
            self.message.value = f"<i>{label('select_alert', self.lang)}</i>"
            return None
        try:
            status = self.session.triage(
                self.alert_id, action, by=self.who.value, reason=self.reason.value
            )
        except AuditlibError as exc:
            self.message.value = f'<span style="color:#c0392b">{render.esc(exc)}</span>'
            return None
        note = "" if self.session.store is not None else f" · {label('no_store', self.lang)}"
        self.message.value = (
            f"✔ {render.esc(self.alert_id)} → {status} ({label('saved', self.lang)}){note}"
        )
        self.reason.value = ""
        self._render()
        for fn in self._on_change:
            fn(self.alert_id, status)
        return status

    def set_lang(self, lang: str) -> None:
        self.lang = check_lang(lang)
        for action, b in self.buttons.items():
            b.description = label(action, lang)
        self.w_by.value = f"<b>{label('by', lang)}</b>"
        self.w_reason.value = f"<b>{label('reason', lang)}</b>"
        self.reason.placeholder = label("reason_hint", lang)
        self._render()

    def _render(self) -> None:
        if self.alert_id is None:
            self.title.value = ""
            self.history.value = ""
            return
        self.form.layout.display = None
        a: dict[str, Any] = self.session.alert(self.alert_id)
        self.title.value = (
            f"<b>{label('triage', self.lang)}</b> {render.esc(self.alert_id)} · "
            f"{label('status', self.lang)}: <b>{render.esc(a['status'])}</b>"
        )
        hist = self.session.history(self.alert_id)
        self.history.value = render.frame_html(hist, max_rows=20) if hist.height else ""

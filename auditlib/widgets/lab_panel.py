"""The detector lab and chart panels (widget plumbing; logic in ``lab`` and ``charts``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W
import polars as pl

from auditlib.analytics import sangong_overview
from auditlib.detectors.base import Param
from auditlib.errors import DetectorError
from auditlib.registry import all_detectors
from auditlib.widgets import charts, render
from auditlib.widgets.lab import (
    LabResult,
    baseline,
    current_params,
    lab_detectors,
    parse_value,
    rerun,
    show_value,
    widget_kind,
)
from auditlib.widgets.labels import check_lang, label, pick
from auditlib.widgets.session import Session

LAB_ROWS = 20


def param_widget(p: Param, value: Any) -> W.Widget:
    """A widget for one parameter, chosen from its declaration (type, bounds, choices)."""
    kind = widget_kind(p)
    common: dict[str, Any] = {
        "description": p.name,
        "tooltip": p.doc,
        "style": {"description_width": "170px"},
        "layout": W.Layout(width="420px"),
    }
    shown = show_value(p, value)
    if kind == "choice":
        return W.Dropdown(options=list(p.choices or ()), value=shown, **common)
    if kind == "bool":
        return W.Checkbox(value=bool(shown), indent=False, description=p.name, tooltip=p.doc)
    if kind in ("int", "float"):
        bounded = p.min is not None and p.max is not None
        if kind == "int":
            cls = W.BoundedIntText if bounded else W.IntText
        else:
            cls = W.BoundedFloatText if bounded else W.FloatText
        kw = {"min": p.min, "max": p.max} if bounded else {}
        return cls(value=shown, **kw, **common)
    return W.Text(value=str(shown), continuous_update=False, **common)


class LabPanel:
    """Pick a detector; its parameters become widgets; a change re-runs just that detector."""

    def __init__(self, session: Session, *, lang: str = "zh") -> None:
        self.session, self.lang = session, check_lang(lang)
        self.result: LabResult | None = None
        self.inputs: dict[str, W.Widget] = {}
        self.detector = W.Dropdown(options=lab_detectors(session), layout=W.Layout(width="420px"))
        self.reset = W.Button(icon="undo")
        self.about = W.HTML()
        self.params = W.VBox()
        self.out = W.HTML()
        self.detector.observe(lambda _: self.pick(self.detector.value), "value")
        self.reset.on_click(lambda _: self.pick(self.detector.value))
        self.widget = W.VBox(
            [W.HBox([self.detector, self.reset]), self.about, self.params, self.out]
        )
        self.set_lang(self.lang)
        if self.detector.value:
            self.pick(self.detector.value)

    def pick(self, detector_id: str) -> None:
        """Show ``detector_id`` with the parameters of the session's run, and its alerts."""
        if self.detector.value != detector_id:
            self.detector.value = detector_id  # observe calls back here
            return
        cls = all_detectors()[detector_id]
        values = current_params(self.session, detector_id)
        self.inputs = {p.name: param_widget(p, values[p.name]) for p in cls.params}
        for w in self.inputs.values():
            w.observe(lambda _: self.run(), "value")
        self.params.children = tuple(self.inputs.values())
        self.about.value = (
            f"<b>{render.esc(pick(cls.title.zh, cls.title.en, self.lang))}</b> · "
            f"{render.esc(pick(cls.description.zh, cls.description.en, self.lang))}<br>"
            f"<small>{label('needs', self.lang)}: {', '.join(cls.requires)}</small>"
        )
        if detector_id in self.session.detectors:  # same parameters as the run: same alerts
            before = baseline(self.session, detector_id)
            self.result = LabResult(detector_id, values, before, before, 0.0)
            self._render()
        else:
            self.run()

    def values(self) -> dict[str, Any]:
        cls = all_detectors()[self.detector.value]
        return {p.name: parse_value(p, self.inputs[p.name].value) for p in cls.params}

    def set(self, **values: Any) -> LabResult | None:
        """Set parameter widgets (as a person would) and return the re-run's result."""
        for k, v in values.items():
            p = next(p for p in all_detectors()[self.detector.value].params if p.name == k)
            self.inputs[k].value = show_value(p, v)
        return self.result

    def run(self) -> LabResult | None:
        try:
            self.result = rerun(self.session, self.detector.value, self.values())
        except (DetectorError, ValueError, TypeError) as exc:
            self.result = None
            self.out.value = (
                f'<span style="color:#c0392b">{label("bad_param", self.lang)}: '
                f"{render.esc(exc)}</span>"
            )
            return None
        except Exception as exc:
            self.result = None
            self.out.value = (
                f'<span style="color:#c0392b">{label("failed", self.lang)}: '
                f"{render.esc(type(exc).__name__)}: {render.esc(exc)}</span>"
            )
            return None
        self._render()
        return self.result

    def set_lang(self, lang: str) -> None:
        self.lang = check_lang(lang)
        self.detector.description = label("detector", lang)
        self.reset.description = label("reset", lang)
        if self.result is not None:
            self._render()

    def _render(self) -> None:
        r = self.result
        assert r is not None
        lang = self.lang
        cols = [
            "alert_id",
            "severity",
            "entity_id",
            "unit_id",
            "amount",
            "title" if lang == "zh" else "title_en",
        ]
        stats = (
            f"<b>{label('before', lang)}</b> {r.before.height:,} → <b>{label('after', lang)}</b> "
            f"{r.after.height:,} · <b>{label('added', lang)}</b> {r.added.height:,} · "
            f"<b>{label('removed', lang)}</b> {r.removed.height:,} · "
            f"{label('seconds', lang)} {r.seconds:.2f}"
        )
        parts = [render.CSS, f'<div class="alw lab-stats">{stats}</div>']
        for key, df in (("added", r.added), ("removed", r.removed)):
            if df.height:
                parts.append(
                    f"<h4>{label(key, lang)}</h4>"
                    + render.frame_html(df.select(cols), max_rows=LAB_ROWS)
                )
        self.out.value = "".join(parts)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class ChartsPanel:
    """Alerts by unit or region and per week (the explorer's filtered alerts); 三公 per unit."""

    def __init__(
        self,
        session: Session,
        *,
        lang: str = "zh",
        source: Callable[[], pl.DataFrame] | None = None,
    ) -> None:
        self.session, self.lang = session, check_lang(lang)
        self.source = source or (lambda: session.alerts)
        self.by = W.ToggleButtons(options=[("unit", "unit"), ("region", "region")], value="unit")
        self.unit = W.Combobox(ensure_option=False, layout=W.Layout(width="320px"))
        self.refresh_btn = W.Button(icon="refresh")
        self.img_place, self.img_week, self.img_sangong = (W.Image(format="png") for _ in range(3))
        self.w_sangong = W.HTML()
        self._quiet = False
        self.by.observe(lambda _: None if self._quiet else self.refresh(), "value")
        self.unit.observe(lambda _: self.draw_sangong(), "value")
        self.refresh_btn.on_click(lambda _: self.refresh())
        self._overview: pl.DataFrame | None = None
        units = session.dataset.tables.get("units")
        self.unit.options = units["unit_id"].to_list()[:5000] if units is not None else []
        self.widget = W.VBox(
            [
                W.HBox([self.by, self.refresh_btn]),
                self.img_place,
                self.img_week,
                self.w_sangong,
                self.unit,
                self.img_sangong,
            ]
        )
        self.set_lang(self.lang, draw=False)

    def overview(self) -> pl.DataFrame:
        if self._overview is None:
            self._overview = sangong_overview(self.session.dataset.lazy(), self.session.ctx)
        return self._overview

    def refresh(self) -> None:
        alerts = self.source()
        self.img_place.value = charts.by_place(alerts, self.by.value, self.lang).png
        self.img_week.value = charts.weekly(alerts, self.lang).png
        if not self.unit.value:
            ov = self.overview()
            if ov.height:
                top = (
                    ov.group_by("unit_id").agg(pl.col("spent").sum()).sort("spent", descending=True)
                )
                self.unit.value = top["unit_id"][0]  # observe draws it
                return
        self.draw_sangong()

    def draw_sangong(self) -> None:
        self.img_sangong.value = charts.sangong_unit(
            self.overview(), self.unit.value.strip(), self.lang
        ).png

    def set_lang(self, lang: str, *, draw: bool = True) -> None:
        self.lang = check_lang(lang)
        old, self._quiet = self.by.value, True
        self.by.options = [(label("by_unit", lang), "unit"), (label("by_region", lang), "region")]
        self.by.value, self._quiet = old or "unit", False
        self.refresh_btn.description = label("refresh", lang)
        self.w_sangong.value = f"<h4>{label('sangong', lang)}</h4>"
        self.unit.placeholder = label("unit", lang)
        if draw:
            self.refresh()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

"""Detector lab: widgets from Param declarations; a changed threshold re-runs one detector."""

from __future__ import annotations

import ipywidgets as W
import pytest

from auditlib.detectors.base import Param
from auditlib.widgets.lab import lab_detectors, parse_value
from auditlib.widgets.lab_panel import ChartsPanel, LabPanel, param_widget
from auditlib.widgets.session import Session
from auditlib.widgets.workbench import TABS, Workbench


@pytest.mark.parametrize(
    ("param", "cls"),
    [
        (Param("n", int, 3, "count", min=1), W.IntText),
        (Param("days", int, 7, "days", min=0, max=92), W.BoundedIntText),
        (Param("limit", float, 5.0, "yuan"), W.FloatText),
        (Param("share", float, 0.5, "share", min=0.0, max=1.0), W.BoundedFloatText),
        (Param("flag", bool, False, "on or off"), W.Checkbox),
        (Param("mode", str, "sum", "how", choices=("sum", "max")), W.Dropdown),
        (Param("name", str, "x", "a name"), W.Text),
        (Param("classes", tuple, ("301", "303"), "prefixes"), W.Text),
    ],
)
def test_widget_from_param(param: Param, cls: type) -> None:
    w = param_widget(param, param.default)
    assert type(w) is cls
    assert parse_value(param, w.value) == param.default
    assert w.tooltip == param.doc
    if isinstance(w, W.BoundedIntText | W.BoundedFloatText):
        assert (w.min, w.max) == (param.min, param.max)
    if isinstance(w, W.Dropdown):
        assert tuple(w.options) == param.choices


def test_threshold_change_reruns_one_detector(session: Session) -> None:
    lab = LabPanel(session, lang="zh")
    lab.pick("payments.split")
    assert set(lab.inputs) == {"threshold", "window_days", "min_parts"}
    assert isinstance(lab.inputs["window_days"], W.BoundedIntText)
    r0 = lab.result
    assert r0 is not None and lab.inputs["threshold"].value == 5000.0, "the run's settings apply"
    assert r0.after.height == r0.before.height > 0 and r0.added.height == r0.removed.height == 0
    lab.inputs["threshold"].value = 50000.0  # as a person types it
    r1 = lab.result
    assert r1 is not r0 and r1.params["threshold"] == 50000.0
    assert r1.before.height == r0.before.height
    assert r1.after.height != r0.after.height
    assert r1.removed.height > 0
    assert set(r1.after["detector_id"]) <= {"payments.split"}
    html = lab.out.value
    assert f"{r1.before.height:,} → <b>调整后</b> {r1.after.height:,}" in html
    assert "消失告警" in html and r1.removed["alert_id"][0] in html
    r2 = lab.set(window_days=30)
    assert r2 is not None and r2.params == {"threshold": 50000.0, "window_days": 30, "min_parts": 2}


def test_invalid_value_is_shown_not_raised(session: Session) -> None:
    lab = LabPanel(session, lang="en")
    lab.pick("payments.split")
    lab.inputs["threshold"].value = -5.0
    assert lab.result is None
    assert "Invalid parameter" in lab.out.value and "must be &gt;= 0.01" in lab.out.value
    lab.reset.click()
    assert lab.result is not None and lab.inputs["threshold"].value == 5000.0


def test_lab_offers_only_runnable_detectors(session: Session) -> None:
    ids = lab_detectors(session)
    assert "payments.split" in ids
    assert all(
        set(__import__("auditlib.registry", fromlist=["x"]).get(i).requires)
        <= set(session.dataset.tables)
        for i in ids
    )


def test_charts_render_with_chinese_labels(session: Session) -> None:
    import matplotlib.font_manager as fm

    from auditlib.report.fonts import cjk_font_path, setup_matplotlib

    if cjk_font_path() is None:
        pytest.skip("no CJK font (Debian fonts-noto-cjk) on this machine")
    assert setup_matplotlib() in {f.name for f in fm.fontManager.ttflist}
    wb = Workbench(session=session, lang="zh")
    assert wb.charts.img_place.value == b"", "charts are drawn when their tab opens"
    wb.tabs.selected_index = TABS.index("charts")
    for img in (wb.charts.img_place, wb.charts.img_week, wb.charts.img_sangong):
        assert img.value[:4] == b"\x89PNG" and len(img.value) > 3000
    assert wb.charts.unit.value, "the unit spending most on 三公 is chosen by default"
    before = wb.charts.img_place.value
    wb.explorer.set_filter(detectors=["payments.duplicate"])  # charts follow the filters
    assert wb.charts.img_place.value != before
    wb.charts.by.value = "region"
    assert wb.charts.img_place.value[:4] == b"\x89PNG"


def test_charts_panel_alone(session: Session) -> None:
    panel = ChartsPanel(session, lang="en")
    panel.unit.value = session.dataset["units"]["unit_id"][0]
    assert panel.img_sangong.value[:4] == b"\x89PNG"
    panel.refresh()
    assert panel.img_week.value[:4] == b"\x89PNG"

"""The auditor's workbench in JupyterLab: browse, drill into, follow, triage and tune alerts.

One entry point, :class:`Workbench`::

    from auditlib.widgets import Workbench
    Workbench(data_dir="data_samples", store="reports/alerts.sqlite", lang="zh")

and its pieces, each usable alone on a :class:`Session`: :class:`AlertExplorer`,
:class:`EvidencePanel`, :class:`TimelinePanel`, :class:`TriagePanel`,
:class:`ChartsPanel`, :class:`LabPanel`. The logic behind them lives in modules free
of widgets (``session``, ``query``, ``evidence``, ``lab``, ``charts``) and is tested
headlessly. Widgets never compute detections: the detector lab re-runs a detector
through its own ``detect``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "Workbench": "auditlib.widgets.workbench",
    "AlertExplorer": "auditlib.widgets.explorer",
    "EvidencePanel": "auditlib.widgets.panels",
    "TimelinePanel": "auditlib.widgets.panels",
    "TriagePanel": "auditlib.widgets.panels",
    "ChartsPanel": "auditlib.widgets.lab_panel",
    "LabPanel": "auditlib.widgets.lab_panel",
    "Session": "auditlib.widgets.session",
    "AlertFilter": "auditlib.widgets.query",
    "AlertQuery": "auditlib.widgets.query",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:  # widgets are imported only when asked for
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    msg = f"module 'auditlib.widgets' has no attribute {name!r}"
    raise AttributeError(msg)

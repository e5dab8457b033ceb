"""The workbench notebooks run top to bottom under papermill on the small synthetic world."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from auditlib.store import AlertStore
from auditlib.testing import small_world

pytestmark = pytest.mark.slow
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _run(name: str, params: dict, tmp_path: Path) -> nbformat.NotebookNode:
    import papermill as pm

    out = tmp_path / f"{name}.out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(out),
        parameters=params,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
        execution_timeout=300,
        log_output=False,
    )
    nb = nbformat.read(out, as_version=4)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors, errors
    return nb


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type in ("execute_result", "display_data")
    ]


def test_committed_notebooks_are_clean_and_parameterised() -> None:
    for name, params in (
        ("explore", {"data_dir", "store", "lang", "as_of"}),
        ("new_detector", {"data_dir"}),
    ):
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        names = {line.split(":")[0].split("=")[0].strip() for line in tagged[0].source.splitlines()}
        assert params <= names, (name, names)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), name
        # cells call the package; the tutorial's detector class is the one longer cell
        long = [
            c.source[:40]
            for c in nb.cells
            if c.cell_type == "code"
            and len(c.source.splitlines()) > 12
            and not c.source.startswith("class ")
        ]
        assert not long, (name, long)


def test_explore_runs(tmp_path: Path) -> None:
    store = tmp_path / "alerts.sqlite"
    nb = _run(
        "explore",
        {"data_dir": str(small_world().data_dir), "store": str(store), "lang": "en", "as_of": ""},
        tmp_path,
    )
    outs = _outputs(nb)
    views = [o for o in outs if "application/vnd.jupyter.widget-view+json" in o["data"]]
    assert len(views) >= 2, "the workbench and the timeline panel are displayed as widgets"
    state = json.dumps(nb.metadata.get("widgets", {}), ensure_ascii=False)
    assert "Eagle eye workbench" in state, "the workbench's widget state is saved in English"
    assert AlertStore(store).runs().height == 1, "the run is recorded in the store"


def test_new_detector_tutorial_runs(tmp_path: Path) -> None:
    nb = _run("new_detector", {"data_dir": str(small_world().data_dir)}, tmp_path)
    text = "\n".join(o["data"].get("text/plain", "") for o in _outputs(nb))
    assert "'schema': 'ok'" in text and "FAIL" not in text, "check_detector passes"
    assert "tutorial.sunday_payment" in text, "it runs with the others"
    state = json.dumps(nb.metadata.get("widgets", {}), ensure_ascii=False)
    assert "tutorial.sunday_payment" in state, "the explorer offers it as a filter"
    assert "调整后" in state, "the lab shows the counts before and after"

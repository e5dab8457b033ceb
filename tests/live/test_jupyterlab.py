"""The workbench in a real JupyterLab, driven by headless Chromium (``@pytest.mark.slow``).

A throwaway JupyterLab (127.0.0.1, a free port, its own config/runtime/settings dirs, no
news or update checks) serves ``notebooks/explore.ipynb`` parameterised for the small
synthetic world; Playwright drives Debian's ``/usr/bin/chromium`` (never a downloaded
browser) to run all cells, checks the workbench renders with alert rows, clicks one and
checks the evidence shows, and saves a screenshot (``$AUDITLIB_SCREENSHOT_DIR`` or the
test's tmp dir). Skip rule: without chromium, playwright or jupyterlab the test SKIPS
saying why; with ``CI=true`` that is a FAILURE. The server is killed at the end.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true and the JupyterLab smoke test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{tail}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"jupyter lab did not answer {url} within {timeout:.0f}s:\n{tail}", pytrace=False)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab serving a parameterised copy of explore.ipynb; yields (url, root)."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (Debian package 'chromium')")
    for mod, pkg in (("playwright.sync_api", "playwright"), ("jupyterlab", "jupyterlab")):
        try:
            __import__(mod)
        except ImportError:
            _unavailable(f"Python package {pkg!r} is not installed in the venv")
    import papermill as pm

    from auditlib.testing import small_world

    root = tmp_path / "lab"
    root.mkdir()
    pm.execute_notebook(
        str(REPO / "notebooks" / "explore.ipynb"),
        str(root / "explore.ipynb"),
        prepare_only=True,
        parameters={
            "data_dir": str(small_world().data_dir),
            "store": str(tmp_path / "alerts.sqlite"),
            "lang": "zh",
            "as_of": "",
        },
        kernel_name="python3",
        progress_bar=False,
    )
    conf = tmp_path / "jconf"
    (conf / "labconfig").mkdir(parents=True)
    (conf / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(conf),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
        "IPYTHONDIR": str(tmp_path / "ipy"),
    }
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--ServerApp.terminals_enabled=False",
        "--allow-root",
    ]  # CI runs as root
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/api/status?token={token}", proc, 90, tmp_path / "lab.log")
        yield f"{base}/lab/tree/explore.ipynb?token={token}", tmp_path
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        log.close()


def _accept_kernel_dialog(page, wait_ms: int = 8000) -> None:
    """Accept JupyterLab's 'Select Kernel' dialog (Python 3) if it comes up."""
    button = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    try:
        button.wait_for(state="visible", timeout=wait_ms)
    except Exception:
        return
    button.click()


def test_explore_notebook_in_jupyterlab(lab: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    url, tmp = lab
    shots = Path(os.environ.get("AUDITLIB_SCREENSHOT_DIR", tmp))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS, timeout=60_000
        )
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        try:
            page.set_default_timeout(120_000)
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
            _accept_kernel_dialog(page)
            page.wait_for_selector(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000
            )
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            _accept_kernel_dialog(page)
            page.wait_for_selector(".auditlib-workbench", timeout=120_000)
            page.wait_for_selector(".auditlib-workbench .alert-row", timeout=60_000)
            rows = page.locator(".auditlib-workbench .alert-row")
            assert rows.count() >= 1
            text = page.locator(".auditlib-workbench").inner_text()
            assert "鹰眼审计工作台" in text and "告警浏览" in text
            assert "涉及金额合计" in text, "the summary strip renders"
            page.locator(".auditlib-workbench").screenshot(path=str(shots / "workbench.png"))
            first_id = rows.first.get_attribute("data-alert-id")
            page.locator(".auditlib-workbench button", has_text="查看").first.click()
            assert first_id
            page.wait_for_function(
                "id => document.querySelector('.auditlib-workbench').innerText.includes(id)",
                arg=first_id,
                timeout=60_000,
            )
            # the evidence tables arrive after the detail header: wait for them, not only
            # for the alert id (on a slower start the assertion ran before they rendered)
            page.wait_for_function(
                "() => /\\w+ · \\d+ 行/.test("
                "document.querySelector('.auditlib-workbench').innerText)",
                timeout=60_000,
            )
            detail = page.locator(".auditlib-workbench").inner_text()
            assert re.search(r"\w+ · \d+ 行", detail), "the evidence rows are shown per table"
            assert page.locator(".auditlib-workbench button", has_text="重新打开").count() == 1, (
                "the triage buttons are shown"
            )
            page.locator(".auditlib-workbench").screenshot(
                path=str(shots / "workbench_evidence.png")
            )
            wb = page.locator(".auditlib-workbench")
            wb.get_by_role("tab", name="图表").click()  # charts are drawn when their tab opens
            page.wait_for_function(
                "() => [...document.querySelectorAll('.auditlib-workbench img')]"
                ".filter(i => i.naturalWidth > 300).length >= 3",
                timeout=60_000,
            )
            wb.screenshot(path=str(shots / "workbench_charts.png"))
            wb.get_by_role("tab", name="检测器实验室").click()
            page.wait_for_function(
                "() => document.querySelector('.auditlib-workbench').innerText.includes('调整后')",
                timeout=60_000,
            )
            wb.screenshot(path=str(shots / "workbench_lab.png"))
            page.screenshot(path=str(shots / "jupyterlab.png"))
            errors = page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            )
            tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
            assert not tracebacks, tracebacks
        except Exception:
            page.screenshot(path=str(shots / "failure.png"))  # what the page showed, for the log
            raise
        finally:
            browser.close()
    shutil.rmtree(tmp / "ipy", ignore_errors=True)

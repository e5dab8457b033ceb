"""A detector plugged in by entry point is found by the registry and listed by the CLI.

The example plugin (``tests/plugin_example``) is really built and installed by pip
(from a copy, so the source tree gets no ``build/`` or ``*.egg-info``), into
a temporary target folder (not the shared venv, so no other test or engineer sees it,
and nothing is left behind). Fresh subprocesses with that folder on ``PYTHONPATH`` then
see its ``auditlib.detectors`` entry point through ``importlib.metadata``, exactly as
they would for a plugin installed in site-packages; the registry caches what it
loaded, so a fresh process is the honest test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "plugin_example"
DETECTOR = "example.round_amount"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed by pip into a temporary target; removed afterwards."""
    root = tmp_path_factory.mktemp("plugin")
    src = root / "src"
    shutil.copytree(
        PLUGIN, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    target = root / "site"
    # the ordinary way a plugin is installed: pip builds it (in an isolated build env, as
    # for any user) and installs it with its entry-point metadata
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        str(target),
        str(src),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, f"pip install failed:\n{out.stdout}\n{out.stderr}"
    eps = list(target.glob("auditlib_example_plugin-*.dist-info/entry_points.txt"))
    assert eps and "auditlib.detectors" in eps[0].read_text(), "the wheel carries no entry point"
    yield target
    shutil.rmtree(root, ignore_errors=True)


def _env(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    return env


def _python(code: str, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(site),
        timeout=300,
        check=False,
    )


def test_registry_finds_the_entry_point(plugin_path: Path) -> None:
    code = (
        "from auditlib.registry import all_detectors, plugin_errors\n"
        f"cls = all_detectors()[{DETECTOR!r}]\n"
        "assert not plugin_errors, plugin_errors\n"
        "print(cls.__module__, cls.__name__)\n"
    )
    out = _python(code, plugin_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["auditlib_example_plugin.rules", "RoundAmount"]


def test_plugin_passes_the_conformance_suite(plugin_path: Path) -> None:
    code = (
        "from auditlib.registry import get\n"
        "from auditlib.testing import check_detector\n"
        f"print(sorted(set(check_detector(get({DETECTOR!r})).values())))\n"
    )
    out = _python(code, plugin_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['ok']"


def test_cli_lists_the_plugin(plugin_path: Path) -> None:
    exe = Path(sys.executable).parent / "auditlib"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "auditlib.cli"]
    out = subprocess.run(
        [*cmd, "detectors"],
        capture_output=True,
        text=True,
        env=_env(plugin_path),
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert DETECTOR in out.stdout
    assert "整数金额大额支付 / Large round-amount payment" in out.stdout
    assert "plugin error" not in out.stderr


def test_without_the_plugin_it_is_absent(tmp_path: Path) -> None:
    out = _python(
        f"from auditlib.registry import all_detectors\nprint({DETECTOR!r} in all_detectors())",
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"

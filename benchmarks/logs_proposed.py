"""``logs_proposed.patch`` applied to a copy of ``auditlib/`` (engines ``polars_next`` and
``polars_all_next`` of ``logs_run.py``); the working tree is never touched.

``tree()`` copies ``auditlib/`` to ``benchmarks/out/logs_next/`` and applies the patch
with ``patch -p1`` (again whenever the patch or a patched file changed); a child that
runs a ``*_next`` engine puts that directory first on ``sys.path``, so ``import auditlib``
is the patched copy (the editable install's finder comes after ``sys.path``).

What the patch changes and why: ``benchmarks/README.md``, "Log benchmark".
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATCH = ROOT / "benchmarks" / "logs_proposed.patch"
NEXT = ROOT / "benchmarks" / "out" / "logs_next"


def _stamp() -> str:
    h = hashlib.sha256(PATCH.read_bytes())
    for p in sorted((ROOT / "auditlib").rglob("*.py")):
        h.update(p.relative_to(ROOT).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def tree() -> Path:
    """A directory whose ``auditlib`` is today's with the patch applied."""
    stamp = _stamp()
    mark = NEXT / ".stamp"
    if mark.exists() and mark.read_text() == stamp:
        return NEXT
    tmp = NEXT.with_name(NEXT.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(
        ROOT / "auditlib", tmp / "auditlib", ignore=shutil.ignore_patterns("__pycache__")
    )
    proc = subprocess.run(
        ["patch", "-p1", "--batch", "--silent", "-i", str(PATCH)],
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(
            f"{PATCH.name} does not apply to today's auditlib/:\n{proc.stdout}{proc.stderr}"
        )
    (tmp / ".stamp").write_text(stamp)
    shutil.rmtree(NEXT, ignore_errors=True)
    tmp.rename(NEXT)
    return NEXT

"""Report notebooks run end to end (papermill → HTML → PDF) and fail loudly and safely."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from auditlib.cli import main
from auditlib.report.execute import NOTEBOOKS, run_report
from auditlib.testing import small_world

pytestmark = pytest.mark.slow
HEADINGS = {
    "eagle_eye_daily": ["鹰眼日报", "重点问题", "单位风险排名"],
    "three_public_monthly": ["三公经费月报", "三公经费与三项限额"],
    "db_audit_weekly": ["交叉核对", "数据库审计"],
    "subsidy_review": ["按行政区划", "重点问题"],
}


@pytest.fixture(scope="module")
def world() -> Path:
    return small_world().data_dir


@pytest.mark.parametrize("name", sorted(HEADINGS))
def test_notebook_runs_to_a_readable_pdf(name: str, world: Path, tmp_path: Path) -> None:
    res = run_report(name, {"data_dir": str(world), "store": str(tmp_path / "a.sqlite")},
                     out_root=tmp_path / "reports")
    assert res.status == "ok", res.error
    pdf = res.out_dir / f"{name}.pdf"
    assert pdf.exists() and (res.out_dir / f"{name}.html").exists()
    manifest = json.loads((res.out_dir / "run.json").read_text())[name]
    for key in ("parameters", "data_fingerprint", "detectors", "alerts_total", "duration_s", "status"):
        assert key in manifest, key
    assert manifest["data_fingerprint"] and manifest["status"] == "ok"
    assert manifest["parameters"]["mask_pii"] is True
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for h in HEADINGS[name]:
        assert h in text, h
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts or "AuditCJK" in fonts
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 2
    png = tmp_path / "page"
    subprocess.run(["pdftoppm", "-f", "2", "-l", "2", "-r", "40", "-gray", "-png", str(pdf), str(png)], check=True)
    img = next(tmp_path.glob("page*.png")).read_bytes()
    assert _ink(img) > 0.01, "page 2 renders blank"


def _ink(png: bytes) -> float:
    """Share of non-white pixels in a grayscale PNG (no imaging library needed)."""
    import struct
    import zlib

    pos, chunks, width, height = 8, b"", 0, 0
    while pos < len(png):
        n = struct.unpack(">I", png[pos:pos + 4])[0]
        kind = png[pos + 4:pos + 8]
        data = png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            chunks += data
        pos += 12 + n
    raw = zlib.decompress(chunks)
    stride = width + 1
    prev = bytearray(width)
    dark = 0
    for y in range(height):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for x in range(width):
            a = line[x - 1] if x else 0
            b = prev[x]
            c = prev[x - 1] if x else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        dark += sum(1 for v in line if v < 200)
        prev = line
    return dark / (width * height)


def test_failing_cell_fails_the_run_and_leaves_no_pdf(tmp_path: Path, world: Path, capsys) -> None:
    nb = new_notebook(cells=[new_code_cell('data_dir: str = "x"\nas_of: str = ""'),
                             new_code_cell("raise RuntimeError('boom in cell')")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "reports"
    code = main(["report", str(path), "-p", "data_dir", str(world), "-p", "as_of", "2026-06-30",
                 "--out", str(out)])
    assert code == 1
    day = out / "2026-06-30"
    assert not (day / "broken.pdf").exists() and not (day / "broken.html").exists()
    manifest = json.loads((day / "run.json").read_text())["broken"]
    assert manifest["status"] == "failed" and "boom in cell" in manifest["error"]
    executed = (day / "broken.ipynb").read_text()
    assert "boom in cell" in executed  # the error stays visible in the kept notebook
    assert not list(day.glob(".broken-*"))  # no half-made leftovers
    assert "FAILED" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["-p", "lang", "__import__('os').system('touch /tmp/pwned')"], "parameter 'lang'"),
    (["-p", "data_dirr", "x"], "unknown parameter"),
    (["-p", "units", "{a: 1}"], "parameter 'units'"),
    (["-p", "mask_pii", "maybe"], "parameter 'mask_pii'"),
    (["-p", "as_of", "2026-13-45"], "parameter 'as_of'"),
])
def test_bad_parameters_are_refused_before_execution(args, message, tmp_path: Path, capsys) -> None:
    code = main(["report", "eagle_eye_daily", *args, "--out", str(tmp_path)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing executed, nothing written


def test_templates_declare_the_standard_parameters() -> None:
    from auditlib.report.params import STANDARD, declared

    for nb in NOTEBOOKS.glob("*.ipynb"):
        if nb.stem in HEADINGS:
            assert set(STANDARD) <= set(declared(nb)), nb.name

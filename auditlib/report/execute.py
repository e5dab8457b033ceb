"""Running a report notebook: validate → papermill → HTML → PDF → manifest, atomically.

Everything is produced in a hidden temporary folder beside the final one and
moved into place only when complete, the manifest last. A failed cell fails
the run: the executed notebook (with the error visible, papermill's red
banner) is kept, the failure is recorded in the manifest, and no HTML or PDF
is left that could pass for a finished report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditlib.errors import AuditlibError
from auditlib.report import params as P

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass
class ReportResult:
    name: str
    status: str
    out_dir: Path
    outputs: list[Path] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def resolve_notebook(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix != ".ipynb":
        p = p.with_suffix(".ipynb")
    if not p.exists() and not p.is_absolute():
        p = NOTEBOOKS / p.name
    if not p.exists():
        known = ", ".join(sorted(q.stem for q in NOTEBOOKS.glob("*.ipynb")))
        msg = f"no notebook {name_or_path!r} (templates: {known})"
        raise AuditlibError(msg)
    return p


def run_report(
    notebook: str | Path,
    given: dict[str, Any],
    *,
    out_root: Path = Path("reports"),
    pdf: bool = True,
    timeout: int = 1800,
) -> ReportResult:
    """Execute one report notebook with validated parameters; never raises for a failed cell."""
    nb = resolve_notebook(str(notebook))
    values = P.validate(given, P.declared(nb))
    for key in ("data_dir", "store"):
        if values.get(key):
            values[key] = str(Path(values[key]).resolve())
    as_of = values.get("as_of") or dt.date.today().isoformat()
    values["as_of"] = as_of
    name = nb.stem
    out_dir = out_root / as_of
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_dir))
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    info_path = tmp / "run_info.json"
    error = None
    try:
        executed = tmp / f"{name}.ipynb"
        t0 = time.perf_counter()
        error = _execute(nb, executed, values, info_path, timeout)
        timings = {"execute_s": round(time.perf_counter() - t0, 2)}
        outputs = [executed]
        if error is None:
            outputs += _render(executed, tmp, name, values, info_path, pdf=pdf, timings=timings)
        manifest = {
            "notebook": name, "status": "failed" if error else "ok", "error": error,
            "parameters": values, "started_at": started_at,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - started, 2),
            "outputs": [p.name for p in outputs],
            "timings": timings,
            **_run_info(info_path, values),
        }
        final = []
        for stale in (out_dir / f"{name}.pdf", out_dir / f"{name}.html"):
            if error is not None:
                stale.unlink(missing_ok=True)
        for p in outputs:
            os.replace(p, out_dir / p.name)
            final.append(out_dir / p.name)
        _update_manifest(out_dir / "run.json", name, manifest)
        return ReportResult(name, manifest["status"], out_dir, final, manifest, error)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _execute(nb: Path, out: Path, values: dict[str, Any], info: Path, timeout: int) -> str | None:
    import papermill as pm

    env_old = os.environ.get("AUDITLIB_RUN_INFO")
    os.environ["AUDITLIB_RUN_INFO"] = str(info)
    try:
        pm.execute_notebook(
            str(nb), str(out), parameters=values, kernel_name="python3", progress_bar=False,
            cwd=str(Path.cwd()), execution_timeout=timeout, log_output=False,
        )
        return None
    except pm.PapermillExecutionError as exc:
        return f"cell {exc.cell_index}: {exc.ename}: {exc.evalue}"
    except Exception as exc:  # noqa: BLE001 - kernel death, timeout: a failed run, recorded
        return f"{type(exc).__name__}: {exc}"
    finally:
        if env_old is None:
            os.environ.pop("AUDITLIB_RUN_INFO", None)
        else:
            os.environ["AUDITLIB_RUN_INFO"] = env_old


def _render(executed: Path, tmp: Path, name: str, values: dict[str, Any], info: Path, *, pdf: bool,
            timings: dict[str, float]) -> list[Path]:
    from auditlib.report import render

    meta = _run_info(info, values)
    lang = values.get("lang", "zh")
    titles = {
        "eagle_eye_daily": ("鹰眼日报", "Eagle eye daily"),
        "three_public_monthly": ("三公经费月报", "三公 monthly"),
        "db_audit_weekly": ("数据库与业务日志审计周报", "Database and business log weekly"),
        "subsidy_review": ("惠民补贴与工资三保审查", "Subsidy and payroll review"),
    }
    zh, en = titles.get(name, (name, name))
    title = zh if lang == "zh" else en
    lab = (lambda a, b: a) if lang == "zh" else (lambda a, b: b)  # noqa: E731
    rows = [
        (lab("审计日期", "Audit date"), values.get("as_of")),
        (lab("数据目录", "Data directory"), Path(str(values.get("data_dir", ""))).name),
        (lab("数据指纹", "Data fingerprint"), meta.get("fingerprint_digest", "")),
        (lab("单位范围", "Units"), ", ".join(values.get("units") or []) or lab("全部", "all")),
        (lab("最低严重性", "Minimum severity"), values.get("min_severity")),
        (lab("个人信息脱敏", "Personal data masked"), lab("是", "yes") if values.get("mask_pii", True) else lab("否", "NO")),
        (lab("告警（显示/全部）", "Alerts (shown/all)"), f"{meta.get('alerts_shown', '')} / {meta.get('alerts_total', '')}"),
        (lab("生成时间", "Generated"), dt.datetime.now(dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M %Z")),
    ]
    t0 = time.perf_counter()
    page = render.page(f"{title} {values.get('as_of')}", render.notebook_body(executed),
                       front=render.title_page(title, rows))
    out = [tmp / f"{name}.html"]
    out[0].write_text(page, encoding="utf-8")
    timings["html_s"] = round(time.perf_counter() - t0, 2)
    if pdf:
        t0 = time.perf_counter()
        render.write_pdf(page, tmp / f"{name}.pdf")
        out.append(tmp / f"{name}.pdf")
        timings["pdf_s"] = round(time.perf_counter() - t0, 2)
    return out


def _run_info(info: Path, values: dict[str, Any]) -> dict[str, Any]:
    from auditlib.io.files import fingerprint_digest

    data: dict[str, Any] = {}
    if info.exists():
        data = json.loads(info.read_text(encoding="utf-8"))
    prints = data.pop("fingerprint", None)
    return {
        "data_fingerprint": prints or {},
        "fingerprint_digest": fingerprint_digest(prints) if prints else "",
        **data,
    }


def _update_manifest(path: Path, name: str, entry: dict[str, Any]) -> None:
    """run.json holds one entry per notebook of that date; rewritten atomically."""
    import fcntl

    from auditlib.alerts.writers import atomic_path

    lock = path.with_suffix(".lock")
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        doc[name] = entry
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str), encoding="utf-8")

"""Write the report notebook templates in notebooks/ (outputs cleared).

The notebooks are the committed artefact; this script keeps their shape uniform
(same parameters cell, same opening) and is run by hand after editing it:
``.venv/bin/python scripts/build_notebooks.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks"

PARAMS = """\
data_dir: str = "data_samples"  # the data directory, per the data contract
as_of: str = ""  # audit date YYYY-MM-DD, empty means the as_of setting or else today
lang: str = "zh"  # zh or en
min_severity: str = "low"  # info, low, medium, high or critical
units: list = []  # unit ids to include, empty means all
mask_pii: bool = True  # mask ID numbers, bank accounts and personal names
store: str = "reports/alerts.sqlite"  # the alert store shared by scheduled runs"""

OPEN = """\
from auditlib.report.audit import Audit
audit = Audit(data_dir=data_dir, as_of=as_of, store=store, lang=lang,
              min_severity=min_severity, units=units, mask_pii=mask_pii{detectors})"""


def notebook(title: str, intro: str, detectors: str | None, sections: list[tuple[str, str]]) -> nbformat.NotebookNode:
    cells = [new_markdown_cell(f"# {title}\n\n{intro}")]
    p = new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    cells.append(p)
    det = f",\n              detectors={detectors}" if detectors else ""
    cells.append(new_code_cell(OPEN.format(detectors=det)))
    for md, code in sections:
        if md:
            cells.append(new_markdown_cell(md))
        if code:
            cells.append(new_code_cell(code))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


BOTH = "audit.heading({zh!r}, {en!r})"


def h(zh: str, en: str) -> str:
    return BOTH.format(zh=zh, en=en)


NOTEBOOKS = {
    "eagle_eye_daily": notebook(
        "鹰眼日报 · Eagle eye daily",
        "全部检测器对本期数据的结果：新增告警、重点问题、单位风险排名与趋势。\n"
        "All detectors over the period: what is new, the top findings, unit risk ranking, trend.",
        None,
        [
            ("", h("概览", "Overview") + "\n"),
            ("", "audit.kpis()"),
            ("", "audit.summary()"),
            ("", "audit.severity_chart()"),
            ("", h("重点问题", "Top findings")),
            ("", "audit.top_findings(20)"),
            ("", h("单位风险排名", "Unit risk ranking")),
            ("", "audit.unit_ranking(15)"),
            ("", h("趋势", "Trend")),
            ("", "audit.trend()"),
            ("", h("各检测器结果", "Results per detector")),
            ("", "audit.detector_table()"),
            ("", h("数据加载情况", "Data loaded")),
            ("", "audit.load_table()"),
        ],
    ),
    "three_public_monthly": notebook(
        "三公经费月报 · 三公 monthly",
        "三公经费（因公出国(境)、公务接待、公务用车）按单位、类别对照预算指标与上年决算。\n"
        "三公 spending per unit and category against budget, indicators and last year's final accounts.",
        '["sangong.", "budget."]',
        [
            ("", "audit.kpis()"),
            ("", h("三公经费与三项限额", "三公 spending and its three limits")),
            ("", "audit.sangong_chart()"),
            ("", "audit.sangong()"),
            ("", h("预警", "Warnings")),
            ("", "audit.top_findings(30)"),
            ("", "audit.detector_table()"),
        ],
    ),
    "db_audit_weekly": notebook(
        "数据库与业务日志审计周报 · Database and business log weekly",
        "数据库审计与业务审计“双保险”：直接改数、特权操作与变更工单、批量读取、SQL 注入、审计篡改、交叉核对。\n"
        "The double insurance: direct writes, privileged work vs change tickets, bulk reads, injection, "
        "audit tampering, and the cross-check of database writes against business operations.",
        '["db.", "blog.", "xcheck."]',
        [
            ("", "audit.kpis()"),
            ("", "audit.summary()"),
            ("", h("交叉核对", "Cross-check")),
            ("", 'audit.top_findings(20, domains=["xcheck"])'),
            ("", h("数据库审计", "Database audit")),
            ("", 'audit.top_findings(20, domains=["db"])'),
            ("", h("业务操作审计", "Business audit")),
            ("", 'audit.top_findings(20, domains=["blog"])'),
            ("", "audit.detector_table()"),
            ("", "audit.load_table()"),
        ],
    ),
    "subsidy_review": notebook(
        "惠民补贴与工资三保审查 · Subsidy and payroll review",
        "一卡通惠民惠农补贴与工资/三保发放的问题，按行政区划汇总。\n"
        "一卡通 subsidies and payroll/三保 findings by region.",
        '["subsidy.", "payroll."]',
        [
            ("", "audit.kpis()"),
            ("", h("按行政区划", "By region")),
            ("", 'audit.by_region(["subsidy", "payroll"])'),
            ("", h("重点问题", "Top findings")),
            ("", "audit.top_findings(30)"),
            ("", "audit.detector_table()"),
        ],
    ),
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, nb in NOTEBOOKS.items():
        nbformat.write(nb, OUT / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()

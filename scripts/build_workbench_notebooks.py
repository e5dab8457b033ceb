"""Write the workbench notebooks in notebooks/ (outputs cleared).

``explore.ipynb``: the auditor's workbench on one data directory.
``new_detector.ipynb``: a data scientist's tutorial: write, check, register, run and
tune a detector. Run by hand after editing:
``.venv/bin/python scripts/build_workbench_notebooks.py``.
Paths default to ``../`` because JupyterLab runs a notebook in its own folder.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks"


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(text.strip())


def params(text: str) -> nbformat.NotebookNode:
    cell = code(text)
    cell.metadata["tags"] = ["parameters"]
    return cell


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


EXPLORE = notebook(
    md("""
# 鹰眼审计工作台 · Eagle eye workbench

载入数据目录、运行全部检测器，然后筛选告警、查看证据、追踪对象、确认或排除、调参。

Load a data directory and run every detector; then filter the alerts, drill into the
evidence, follow an entity, confirm or dismiss, and tune a detector.
"""),
    params("""
data_dir: str = "../data_samples"  # the data directory, per the data contract
store: str = "../reports/alerts.sqlite"  # the alert store triage writes to; empty: session only
lang: str = "zh"  # zh or en (the toggle in the workbench switches too)
as_of: str = ""  # audit date YYYY-MM-DD, empty means the as_of setting or else today
"""),
    code("""
from auditlib.widgets import Workbench

wb = Workbench(data_dir=data_dir, store=store, lang=lang, as_of=as_of)
wb
"""),
    md("""
## 本次运行 · This run

每个检测器的告警数与耗时 · alerts and seconds per detector.
"""),
    code("wb.session.result.summary()"),
    md("""
## 单独使用各部件 · The pieces alone

每个面板都可单独使用，例如追踪某个对象 · each panel works alone, e.g. one entity's timeline.
"""),
    code("""
from auditlib.widgets import TimelinePanel

TimelinePanel(wb.session, lang=lang)
"""),
)

NEW_DETECTOR = notebook(
    md("""
# 编写一个新检测器 · Writing a new detector

一个检测器 = 元数据 + 一个 `find` 方法（LazyFrame 进，发现出）；基类负责告警编号、严重性、
中英文说明。

A detector is metadata plus one method, `find` (LazyFrames in, findings out); the base
class derives alert ids, severities and the bilingual text. See `docs/extending.md`.
"""),
    params("""
data_dir: str = "../data_samples"  # the data directory the new detector is tried on
"""),
    code("""
import polars as pl

import auditlib
from auditlib import registry
from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.testing import check_detector

ds = auditlib.load(data_dir)
"""),
    md("""
## 1. 写检测器 · Write it

每个发现一行：`entity_id`、`finding_key`（决定稳定的告警编号）、`evidence`（`表:键` 列表），
以及模板里用到的列。

One row per finding: `entity_id`, `finding_key` (it makes the stable alert id),
`evidence` (`table:key` refs) and the columns the templates name.
"""),
    code('''
class SundayPayment(Detector):
    id = "tutorial.sunday_payment"
    title = Text("周日大额支付", "Large payment on a Sunday")
    description = Text("周日支付且金额不低于下限。", "A payment on a Sunday at or above a floor.")
    requires = ("payments",)
    entity = "voucher"
    severity = "low"
    params = (Param("min_amount", float, 1000.0, "Smallest amount (yuan) that alerts.", min=0),)
    alert_title = Text("周日支付 {voucher_id}", "Sunday payment {voucher_id}")
    alert_explanation = Text(
        "凭证 {voucher_id} 于 {pay_date}（周日）向 {payee_name} 支付 {amount:money} 元，"
        "不低于 {min_amount:money} 元。",
        "Voucher {voucher_id} paid {payee_name} {amount:money} yuan on Sunday {pay_date}, "
        "at or above {min_amount:money}.",
    )

    def find(self, tables, ctx):
        day = pl.col("pay_date")
        sunday = (day.dt.weekday() == 7) & (pl.col("amount") >= self.min_amount)
        return tables["payments"].filter(sunday).select(
            pl.col("voucher_id").alias("entity_id"),
            pl.col("voucher_id").alias("finding_key"),
            pl.concat_list(ref("payments", "voucher_id")).alias("evidence"),
            "voucher_id", "unit_id", "amount", "payee_name", "pay_date",
            day.cast(pl.Datetime("us")).dt.replace_time_zone(ctx.timezone).alias("event_time"),
        )
'''),
    md("""
## 2. 一致性检查 · The conformance suite

`check_detector` 运行每一项检查（模式、可复现、说明、证据可回溯……），失败时列出全部问题。

`check_detector` runs every check (schema, reproducible, explanations, evidence
resolves, ...) and lists every failure.
"""),
    code("check_detector(SundayPayment, world=ds)"),
    md("""
## 3. 注册 · Register it

重跑此单元会重新定义类，故先注销旧的。 Re-running the cell above redefines the class, so
the old one goes first. A package registers by entry point instead (`docs/extending.md`).
"""),
    code("""
registry.unregister(SundayPayment.id)
registry.register(SundayPayment)
SundayPayment.id in registry.all_detectors()
"""),
    md("## 4. 与其他检测器一起运行 · Run it with the others"),
    code("""
result = auditlib.detect(ds)
ran = pl.col("detector_id").str.starts_with("tutorial.") | (pl.col("total") > 0)
result.summary().filter(ran)
"""),
    md("""
## 5. 在告警浏览器中查看 · See it in the explorer

同一次运行的结果进入工作台，筛选到新检测器。 The same run in the workbench, filtered to
the new detector.
"""),
    code("""
from auditlib.widgets import Workbench
from auditlib.widgets.session import Session

wb = Workbench(session=Session.from_dataset(ds, result=result))
wb.explorer.set_filter(detectors=[SundayPayment.id])
wb
"""),
    md("""
## 6. 调参 · Tune it in the lab

改变参数只重跑这一个检测器，显示前后告警数与增减。 A new value re-runs just this detector
and shows the counts before and after, and what was added or removed.
"""),
    code("""
wb.lab.pick(SundayPayment.id)
wb.lab.set(min_amount=10000.0)
wb.lab
"""),
)

NOTEBOOKS = {"explore": EXPLORE, "new_detector": NEW_DETECTOR}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, nb in NOTEBOOKS.items():
        nbformat.validate(nb)
        nbformat.write(nb, OUT / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()

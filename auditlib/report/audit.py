"""What a report notebook calls: one audit run and the sections that show it.

Notebooks hold narrative and calls, not logic::

    audit = Audit(data_dir=data_dir, as_of=as_of, store=store, lang=lang,
                  min_severity=min_severity, units=units, mask_pii=mask_pii)
    audit.kpis()
    audit.top_findings(15)

An ``Audit`` loads the directory, runs the chosen detectors once, records the
run in the alert store (one transaction), and hides dismissed findings. When
the environment names ``AUDITLIB_RUN_INFO``, it writes there what the
scheduled runner puts in the manifest (detector versions, alert counts).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from auditlib.alerts.schema import SEVERITIES, SEVERITY_RANK
from auditlib.config import Settings
from auditlib.engine import build_detectors, run
from auditlib.io.files import fingerprint, fingerprint_digest
from auditlib.io.tables import load_dir
from auditlib.mask import mask_frame
from auditlib.report import html as H

SEV_ZH = {"critical": "严重", "high": "高", "medium": "中", "low": "低", "info": "提示"}
DOMAIN_ZH = {
    "payments": "支付", "budget": "预算指标", "sangong": "三公经费", "funds": "资金流向",
    "timing": "支付时间", "amount": "金额异常", "subsidy": "惠民补贴", "payroll": "工资三保",
    "bank": "银行对账", "blog": "业务日志", "db": "数据库日志", "xcheck": "交叉核对",
}
WEIGHT = {"critical": 8.0, "high": 4.0, "medium": 2.0, "low": 1.0, "info": 0.25}


class Audit:
    def __init__(
        self,
        *,
        data_dir: str | Path,
        as_of: str = "",
        store: str | Path = "",
        lang: str = "zh",
        min_severity: str = "low",
        units: Sequence[str] = (),
        mask_pii: bool = True,
        detectors: Iterable[str] | None = None,
        record: bool = True,
    ) -> None:
        import datetime as dt

        self.data_dir = Path(data_dir)
        self.lang, self.mask_pii = lang, mask_pii
        self.min_severity, self.units = min_severity, list(units)
        self.settings = Settings.load(self.data_dir, as_of=dt.date.fromisoformat(as_of) if as_of else None)
        wanted = None
        if detectors is not None:
            pats = list(detectors)
            from auditlib.registry import all_detectors

            wanted = [d for d in all_detectors() if any(d == p or d.startswith(p.rstrip("*")) for p in pats)]
        import time

        self.detectors = build_detectors(self.settings, wanted)
        t0 = time.perf_counter()
        self.dataset = load_dir(self.data_dir, self.settings)
        t1 = time.perf_counter()
        self.result = run(self.dataset, detectors=self.detectors)
        self.timings = {"load_s": round(t1 - t0, 2), "detect_s": round(time.perf_counter() - t1, 2)}
        self.fingerprint = fingerprint(self.data_dir)
        self.digest = fingerprint_digest(self.fingerprint)
        alerts = self.result.alerts.with_columns(
            pl.col("detector_id").str.split(".").list.first().alias("domain"),
            pl.lit("new").alias("status"),
        )
        self.store = None
        if store and record:
            from auditlib.store import AlertStore

            t2 = time.perf_counter()
            self.store = AlertStore(store)
            self.store.record_run(
                self.result.alerts, as_of=str(self.settings.as_of), detectors=self.detectors,
                fingerprint=self.digest, params={"data_dir": str(data_dir), "units": self.units},
            )
            st = self.store.alerts().select("alert_id", pl.col("status").alias("_st"))
            alerts = alerts.join(st, on="alert_id", how="left").with_columns(
                pl.col("_st").fill_null("new").alias("status")
            ).drop("_st")
            self.timings["store_s"] = round(time.perf_counter() - t2, 2)
        rank = pl.col("severity").replace_strict(SEVERITY_RANK, return_dtype=pl.Int8)
        keep = rank >= SEVERITY_RANK[min_severity]
        if self.units:
            keep &= pl.col("unit_id").is_in(self.units)
        self.all_alerts = alerts
        self.alerts = alerts.filter(keep & (pl.col("status") != "dismissed"))
        self._write_run_info()

    # ------------------------------------------------------------- helpers
    def t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def _names(self) -> list[str]:
        names: set[str] = set()
        for table, col in (("subsidies", "beneficiary_name"), ("persons", "name")):
            if table in self.dataset.tables:
                names |= set(self.dataset[table][col].drop_nulls().unique().to_list())
        return sorted(names)

    def shown(self, df: pl.DataFrame) -> pl.DataFrame:
        """``df`` as a report may show it: masked unless the run says otherwise."""
        return mask_frame(df, self._names()) if self.mask_pii else df

    def _write_run_info(self) -> None:
        target = os.environ.get("AUDITLIB_RUN_INFO")
        if not target:
            return
        counts = self.result.alerts.group_by("severity").len()
        info = {
            "detectors": {k: type(v).version for k, v in self.detectors.items()},
            "alerts_total": self.result.alerts.height,
            "alerts_by_severity": {r[0]: r[1] for r in counts.iter_rows()},
            "alerts_shown": self.alerts.height,
            "new": int((self.alerts["status"] == "new").sum()),
            "skipped": self.result.skipped, "failed": self.result.failed,
            "suppressed": self.result.suppressed.height,
            "notebook_timings": self.timings,
            "fingerprint": self.fingerprint, "as_of": str(self.settings.as_of),
        }
        Path(target).write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")

    def sev_label(self, sev: str) -> str:
        return SEV_ZH[sev] if self.lang == "zh" else sev

    # ------------------------------------------------------------ sections
    def heading(self, zh: str, en: str, level: int = 2) -> H.HTML:
        return H.HTML(f"<h{level}>{H.esc(self.t(zh, en))}</h{level}>")

    def kpis(self) -> H.HTML:
        a = self.alerts
        amount = a["amount"].drop_nulls().sum() if a.height else 0
        items = [
            (self.t("告警", "Alerts"), f"{a.height:,}"),
            (self.t("本次新增", "New this run"), f"{int((a['status'] == 'new').sum()):,}"),
            (self.t("高危及以上", "High or critical"),
             f"{int(a['severity'].is_in(['high', 'critical']).sum()):,}"),
            (self.t("涉及金额（元）", "Amount at risk (yuan)"), H.money(amount)),
            (self.t("涉及单位", "Units"), f"{a['unit_id'].drop_nulls().n_unique():,}"),
        ]
        body = "".join(f'<div class="kpi"><b>{v}</b>{H.esc(k)}</div>' for k, v in items)
        notes = []
        if self.result.skipped:
            notes.append(self.t("未运行（缺少数据）：", "Not run (data missing): ")
                         + "; ".join(f"{k}: {v}" for k, v in self.result.skipped.items()))
        if self.result.failed:
            notes.append(self.t("运行失败：", "Failed: ")
                         + "; ".join(f"{k}: {v}" for k, v in self.result.failed.items()))
        if self.result.suppressed.height:
            notes.append(self.t(f"白名单抑制 {self.result.suppressed.height} 条",
                                f"{self.result.suppressed.height} suppressed by the allowlist"))
        note_html = "".join(f'<p class="muted">{H.esc(n)}</p>' for n in notes)
        return H.HTML(f"<div>{body}</div>{note_html}")

    def summary(self) -> H.HTML:
        """Alerts by domain and severity, with the amount at risk."""
        a = self.alerts
        if a.height == 0:
            return H.HTML(f"<p>{self.t('无告警。', 'No alerts.')}</p>")
        sevs = [s for s in reversed(SEVERITIES)]
        rows = (
            a.group_by("domain").agg(
                *[(pl.col("severity") == s).sum().alias(s) for s in sevs],
                pl.len().alias("total"), pl.col("amount").sum().alias("amount"),
            ).sort("total", descending=True)
        )
        if self.lang == "zh":
            rows = rows.with_columns(pl.col("domain").replace(DOMAIN_ZH))
        header = [self.t("领域", "Domain")] + [self.sev_label(s) for s in sevs] + [
            self.t("合计", "Total"), self.t("金额（元）", "Amount (yuan)")]
        return H.table(rows, header=header, money=["amount"], numeric=[*sevs, "total"])

    def detector_table(self) -> H.HTML:
        df = self.result.summary()
        if df.height == 0:
            return H.HTML("")
        titles = {k: (type(v).title.zh if self.lang == "zh" else type(v).title.en) for k, v in self.detectors.items()}
        df = df.with_columns(pl.col("detector_id").replace_strict(titles, default="").alias("title"))
        df = df.select("detector_id", "title", *[s for s in reversed(SEVERITIES)], "total")
        header = [self.t("检测器", "Detector"), self.t("名称", "Name")] + [
            self.sev_label(s) for s in reversed(SEVERITIES)] + [self.t("合计", "Total")]
        return H.table(df, header=header, numeric=[*SEVERITIES, "total"])

    def top_findings(self, n: int = 15, *, domains: Iterable[str] | None = None) -> H.HTML:
        a = self.alerts
        if domains is not None:
            a = a.filter(pl.col("domain").is_in(list(domains)))
        if a.height == 0:
            return H.HTML(f"<p>{self.t('无。', 'None.')}</p>")
        a = self.shown(a.head(n))
        out = []
        for r in a.iter_rows(named=True):
            title = r["title"] if self.lang == "zh" else r["title_en"]
            expl = r["explanation"] if self.lang == "zh" else r["explanation_en"]
            ev = r["evidence"]
            ev_txt = "; ".join(ev[:8]) + (self.t(f" 等 {len(ev)} 条", f" and more ({len(ev)})") if len(ev) > 8 else "")
            new = self.t("【新】", "[new] ") if r["status"] == "new" else ""
            out.append(
                f'<div class="finding"><span class="sev-{r["severity"]}">{H.esc(self.sev_label(r["severity"]))}</span> '
                f"<b>{H.esc(new + title)}</b><br>{H.esc(expl)}<br>"
                f'<span class="muted">{H.esc(r["detector_id"])} · {H.esc(r["alert_id"])} · '
                f"{self.t('证据', 'evidence')}: {H.esc(ev_txt)}</span></div>"
            )
        return H.HTML("".join(out))

    def unit_ranking(self, n: int = 15) -> H.HTML:
        a = self.alerts.filter(pl.col("unit_id").is_not_null())
        if a.height == 0:
            return H.HTML(f"<p>{self.t('无。', 'None.')}</p>")
        w = pl.col("severity").replace_strict(WEIGHT, return_dtype=pl.Float64) * pl.col("score")
        df = (
            a.group_by("unit_id").agg(
                w.sum().round(1).alias("risk"), pl.len().alias("alerts"),
                pl.col("severity").is_in(["high", "critical"]).sum().alias("high"),
                pl.col("amount").sum().alias("amount"),
            ).sort(["risk", "unit_id"], descending=[True, False]).head(n)
        )
        if "units" in self.dataset.tables:
            df = df.join(self.dataset["units"].select("unit_id", "unit_name"), on="unit_id", how="left")
        else:
            df = df.with_columns(pl.lit(None, pl.String).alias("unit_name"))
        df = df.select("unit_id", "unit_name", "risk", "alerts", "high", "amount")
        header = [self.t("单位", "Unit"), self.t("名称", "Name"), self.t("风险分", "Risk"),
                  self.t("告警", "Alerts"), self.t("高危", "High+"), self.t("金额（元）", "Amount (yuan)")]
        return H.table(df, header=header, money=["amount"], numeric=["risk", "alerts", "high"])

    def trend(self):  # noqa: ANN201 - a matplotlib figure
        """Alerts per run over the store's history (this run included)."""
        from auditlib.report import charts

        if self.store is None:
            return H.HTML(f"<p class='muted'>{self.t('未配置告警库，无趋势。', 'No alert store: no trend.')}</p>")
        runs = self.store.runs()
        return charts.trend(runs, self.t)

    def severity_chart(self):  # noqa: ANN201
        from auditlib.report import charts

        label = (lambda d: DOMAIN_ZH.get(d, d)) if self.lang == "zh" else str
        return charts.by_domain(self.alerts, self.t, self.sev_label, label)

    def load_table(self) -> H.HTML:
        df = self.dataset.report.frame()
        header = [self.t("表", "Table"), self.t("格式", "Format"), self.t("读取", "Read"),
                  self.t("保留", "Kept"), self.t("跳过", "Skipped"), self.t("时间不可读", "No time"),
                  self.t("置空的值", "Values nulled")]
        return H.table(df.select("table", "format", "read", "kept", "skipped", "null_time", "nulled"),
                       header=header, numeric=["read", "kept", "skipped", "null_time"])

    def sangong(self) -> H.HTML:
        from auditlib.analytics import sangong_overview
        from auditlib.detectors.base import Context

        df = sangong_overview(self.dataset.lazy(), Context.from_settings(self.settings))
        if df.height == 0:
            return H.HTML(f"<p>{self.t('本期无三公经费支出。', 'No 三公 spending this period.')}</p>")
        if self.units:
            df = df.filter(pl.col("unit_id").is_in(self.units))
        cat = "category" if self.lang == "zh" else "category_en"
        df = df.select("unit_id", cat, "spent", "budget", "last_final",
                       pl.when(pl.col("over_budget") | pl.col("over_final")).then(pl.lit("⚠")).otherwise(pl.lit("")).alias("flag"))
        header = [self.t("单位", "Unit"), self.t("类别", "Category"), self.t("本年支出", "Spent YTD"),
                  self.t("三公指标", "三公 budget"), self.t("上年决算", "Last year's final"), ""]
        return H.table(df, header=header, money=["spent", "budget", "last_final"])

    def sangong_chart(self):  # noqa: ANN201
        from auditlib.analytics import sangong_overview
        from auditlib.detectors.base import Context
        from auditlib.report import charts

        df = sangong_overview(self.dataset.lazy(), Context.from_settings(self.settings))
        return charts.sangong(df, self.t, self.lang)

    def by_region(self, domains: Iterable[str]) -> H.HTML:
        a = self.alerts.filter(pl.col("domain").is_in(list(domains)))
        if "units" in self.dataset.tables:
            a = a.join(self.dataset["units"].select("unit_id", "region_code"), on="unit_id", how="left")
        else:
            a = a.with_columns(pl.lit(None, pl.String).alias("region_code"))
        if a.height == 0:
            return H.HTML(f"<p>{self.t('无。', 'None.')}</p>")
        df = a.group_by("region_code", "detector_id").agg(pl.len().alias("alerts"), pl.col("amount").sum()).sort("region_code", "detector_id")
        header = [self.t("行政区划", "Region"), self.t("检测器", "Detector"), self.t("告警", "Alerts"), self.t("金额（元）", "Amount (yuan)")]
        return H.table(df, header=header, money=["amount"], numeric=["alerts"])

"""Measure the workbench explorer's logic on a 1M-payment world (not a test).

    .venv/bin/auditlib synth /tmp/w1m --scale 50 --format parquet
    .venv/bin/python benchmarks/workbench_1m.py /tmp/w1m
"""
import os, resource, sys, time, tempfile
from dataclasses import replace
import polars as pl

def rss():  # current RSS in MiB
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
def t(label, fn, n=1):
    t0 = time.perf_counter()
    for _ in range(n):
        out = fn()
    dt = (time.perf_counter() - t0) / n
    print(f"{label:<55} {dt*1000:9.1f} ms   rss {rss():7.0f} MiB", flush=True)
    return out

import auditlib
from auditlib.io.tables import Dataset
world = sys.argv[1]
print("rss at start", rss())
ds = t("load the 1M world (all tables)", lambda: auditlib.load(world))
print({k: v.height for k, v in ds.tables.items()})
# a run with a low split threshold: many real alerts
ds2 = Dataset(ds.tables, ds.report, replace(ds.settings, thresholds={"split_payment": 2000}), ds.data_dir, ds.sources)
from auditlib.engine import build_detectors, run
res = t("run payments.split(2000)+duplicate+off_hours+amount.outlier", lambda: run(ds2, detectors=build_detectors(ds2.settings, ["payments.split", "payments.duplicate", "timing.off_hours", "amount.outlier"])))
print("alerts", res.alerts.height, res.alerts.group_by("detector_id").len().rows())
alerts = res.alerts
# top up to >=100k alerts with real split alerts of other windows if needed
k = 1
while alerts.height < 100_000 and k < 6:
    k += 1
    from auditlib.registry import get
    from auditlib.detectors.base import Context
    more = get("payments.split")(threshold=2000.0 + 500 * k, window_days=7 + k).detect(ds.lazy(), Context.from_settings(ds.settings))
    alerts = pl.concat([alerts, more]).unique("alert_id", keep="first")
if alerts.height < 100_000:  # measuring only: copies of real alerts under new ids
    copy = alerts.with_columns(pl.concat_str(pl.lit("c"), pl.col("alert_id").str.slice(1)).alias("alert_id"))
    alerts = pl.concat([alerts, copy])
print("alerts held", alerts.height)
res.alerts = alerts
from auditlib.widgets.session import Session
from auditlib.widgets.query import AlertFilter
store = tempfile.mkdtemp() + "/a.sqlite"
s = t(f"Session.from_dataset (record {alerts.height} alerts in store + prepare)", lambda: Session.from_dataset(ds2, result=res, store=store))
s0 = t("Session.from_dataset (no store)", lambda: Session.from_dataset(ds2, result=res))
q = s.query
print("alerts frame MiB", round(q.df.estimated_size() / 2**20, 1))
unit = q.df["unit_id"].drop_nulls()[100]
region = q.df["region_code"].drop_nulls()[0]
import datetime as d
filters = {
    "no filter": AlertFilter(),
    "severity=medium": AlertFilter(severities=("medium",)),
    "detector=payments.duplicate": AlertFilter(detectors=("payments.duplicate",)),
    "unit": AlertFilter(units=(unit,)),
    "region": AlertFilter(regions=(region,)),
    "date range (March)": AlertFilter(date_from=d.date(2026, 3, 1), date_to=d.date(2026, 3, 31)),
    "min amount 100k": AlertFilter(min_amount=100000),
    "text search": AlertFilter(text="v33"),
    "combined": AlertFilter(domains=("payments",), severities=("medium", "high"), min_amount=10000, date_from=d.date(2026, 2, 1)),
}
for name, f in filters.items():
    q._cache.clear()
    p = t(f"filter+sort+page: {name}", lambda: q.page(f, size=50))
    print(f"{'':<10} -> {p.total} rows")
q._cache.clear()
t("sort by amount (cold, all alerts)", lambda: (q._cache.clear(), q.page(AlertFilter(), sort="amount", size=50)))
q.page(AlertFilter(), sort="amount", size=50)
t("next page (cached)", lambda: q.page(AlertFilter(), sort="amount", page=7, size=50), n=20)
t("summary strip (cached filter)", lambda: q.summary(AlertFilter()), n=5)
from auditlib.widgets.explorer import AlertExplorer
ex = t("AlertExplorer build (widgets + first page)", lambda: AlertExplorer(s, page_size=50))
t("explorer: change filter (query + render 50 rows)", lambda: ex.set_filter(severities=["medium"]))
t("explorer: next page (render 50 rows)", lambda: ex.go(ex.page_no + 1))
t("explorer: clear filters", lambda: ex.clear())
from auditlib.widgets.evidence import fetch_evidence
aid = q.df.filter(pl.col("detector_id") == "payments.split").sort("score")["alert_id"][-1]
a = s.alert(aid)
print("evidence refs", len(a["evidence"]))
t("select: session.alert(id)", lambda: s.alert(aid), n=5)
ev = t("select: fetch evidence from 1M payments", lambda: fetch_evidence(ds, a["evidence"]), n=3)
t("select: mask evidence", lambda: ev.masked(), n=3)
from auditlib.widgets.panels import EvidencePanel, TimelinePanel, TriagePanel
panel = EvidencePanel(s)
t("select: EvidencePanel.show (fetch+mask+render)", lambda: panel.show(aid), n=3)
tr = TriagePanel(s)
t("select: TriagePanel.show", lambda: tr.show(aid))
t("triage: dismiss (store + frame update)", lambda: tr.apply("dismiss", reason="measure", by="me"))
tl = TimelinePanel(s)
t("timeline of the alert's payee account (all tables)", lambda: tl.show(a["entity_id"]))
print("timeline events", tl.events.height)
user = ds["payments"]["created_by"][0]
t("timeline of a user (all tables)", lambda: tl.show(user))
print("timeline events", tl.events.height)
print("peak RSS MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

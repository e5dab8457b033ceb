"""blog.export_anomaly: exports out of hours, or far above the user's and the peers' baseline."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.blog_export_anomaly import BlogExportAnomaly
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(
        tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"})
    )


def _run(ds, **params):
    return BlogExportAnomaly(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _alerts_by_key(ds):
    """Alerts keyed by the detector's finding key (user|session day)."""
    det, ctx = BlogExportAnomaly(), Context.from_settings(ds.settings)
    found = det.find(ds.lazy(), ctx).collect().sort("finding_key", "entity_id")
    alerts = det.to_alerts(found, ctx.timezone)  # alerts come in finding-key order
    return dict(zip(found["finding_key"].to_list(), alerts.iter_rows(named=True), strict=True))


def _ex(eid, t, user, rows, role="经办"):
    return {
        "event_id": eid,
        "event_time": t,
        "user_id": user,
        "user_role": role,
        "action": "data_export",
        "unit_id": "U1",
        "object_type": "report",
        "object_id": "R1",
        "result": "success",
        "detail": json.dumps({"rows": rows}),
    }


def _world():
    log = []
    day = dt.date(2026, 3, 2)
    for i in range(60):  # etl_svc: nightly at 02:05, steady volumes
        d = day + dt.timedelta(days=i)
        log.append(_ex(f"N{i}", f"{d} 02:05", "etl_svc", 50000 + (i % 7) * 300, role="系统"))
    workdays = [dt.date(2026, 3, 2) + dt.timedelta(days=i) for i in range(40)]
    workdays = [d for d in workdays if d.weekday() < 5]
    for k, user in enumerate(["u1", "u2", "u3", "u4"]):
        for i, d in enumerate(workdays[:12]):
            log.append(_ex(f"{user}-{i}", f"{d} 10:{10 + k}", user, 800 + 50 * ((i + k) % 9)))
    log += [
        _ex("BIG", "2026-04-01 15:00", "u1", "250,000"),  # volume: 250x own median
        _ex("LATE", "2026-04-01 23:40", "u2", 900),  # night export
        _ex("MAKEUP", "2026-02-14 10:00", "u3", 900),  # 调休 make-up Saturday: working day
        _ex("SAT", "2026-03-07 10:00", "u3", 1200),  # ordinary Saturday
        _ex("NIGHT1", "2026-04-08 22:10", "u4", 700),  # one night, three exports
        _ex("NIGHT2", "2026-04-08 23:30", "u4", 600),
        _ex("NIGHT3", "2026-04-09 00:40", "u4", 650),
        _ex("ETLBIG", "2026-05-05 02:05", "etl_svc", 900000, role="系统"),  # ETL 18x its usual
    ]
    return log


def test_positives_and_lookalikes(tmp_path):
    rows = _alerts_by_key(_load(tmp_path, business_log=_world()))
    assert sorted(rows) == [
        "etl_svc|2026-05-04",
        "u1|2026-04-01",
        "u2|2026-04-01",
        "u3|2026-03-07",
        "u4|2026-04-08",
    ]
    big = rows["u1|2026-04-01"]
    assert big["evidence"] == ["business_log:BIG"] and big["severity"] == "high"
    assert "250,000" in big["explanation"] and "阈值 10 倍" in big["explanation"]
    assert "300.0x the user's" in big["explanation_en"] or "x the user's" in big["explanation_en"]
    night = rows["u4|2026-04-08"]
    assert night["evidence"] == [
        "business_log:NIGHT1",
        "business_log:NIGHT2",
        "business_log:NIGHT3",
    ]
    assert night["severity"] == "low" and "非工作时间 3 次" in night["explanation"]
    assert rows["u3|2026-03-07"]["severity"] == "medium"
    assert rows["etl_svc|2026-05-04"]["evidence"] == ["business_log:ETLBIG"]
    flagged = {e for r in rows.values() for e in r["evidence"]}
    assert not any(e.startswith("business_log:N") and e[13:].isdigit() for e in flagged)
    assert "business_log:MAKEUP" not in flagged


def test_steady_service_account_is_silent(tmp_path):
    log = [e for e in _world() if e["user_id"] == "etl_svc" and e["event_id"] != "ETLBIG"]
    assert _run(_load(tmp_path, business_log=log)).height == 0


def test_conformance(tmp_path):
    check_detector(BlogExportAnomaly, world=_load(tmp_path, business_log=_world()))

"""blog.off_hours: sensitive actions on holidays, rest days or at night, one alert per user-day."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.calendar import Calendar
from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.blog_off_hours import BlogOffHours
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(
        tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"})
    )


def _run(ds, **params):
    return BlogOffHours(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _ev(eid, t, user, action, result="success"):
    return {
        "event_id": eid,
        "event_time": f"{t:%Y-%m-%d %H:%M}" if isinstance(t, dt.datetime) else t,
        "user_id": user,
        "action": action,
        "unit_id": "U1",
        "result": result,
    }


def _world():
    log = []
    for i in range(60):  # etl: nightly export at 02:00 (routine); liu approves on weekdays
        d = dt.date(2026, 3, 2) + dt.timedelta(days=i)
        log.append(_ev(f"E{i}", f"{d} 02:00", "etl", "data_export"))
        if Calendar().is_workday(d):  # 2026-04-06 is the Qingming holiday
            log.append(_ev(f"L{i}", f"{d} 10:00", "liu", "voucher_approve"))
    evening = dt.datetime(2026, 4, 1, 21, 30)
    log += [
        _ev(f"N{i}", evening + dt.timedelta(minutes=3 * i), "liu", "voucher_approve")
        for i in range(50)
    ]
    log += [
        _ev("N50", "2026-04-02 00:30", "liu", "voucher_approve"),
        _ev("N51", "2026-04-02 00:35", "liu", "data_export"),
    ]
    log += [
        _ev("MAKEUP", "2026-02-14 10:00", "liu", "voucher_approve"),  # 调休 make-up Saturday
        _ev("SPRING", "2026-02-17 10:00", "liu", "voucher_approve"),  # Spring Festival holiday
        _ev("SAT", "2026-03-07 15:00", "ma", "payee_modify"),  # an ordinary Saturday
        _ev("GRACE", "2026-03-10 20:30", "ma", "voucher_approve"),  # within the grace
        _ev("FAIL", "2026-03-11 23:00", "ma", "voucher_approve", "failure"),
        _ev("LOGIN", "2026-03-12 23:00", "ma", "login"),  # not a sensitive action
    ]
    return log


def test_positives_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, business_log=_world())).sort("event_time")
    assert out["title_en"].to_list() == [
        "Sensitive actions out of hours: liu on 2026-02-17 (public holiday, 1)",
        "Sensitive actions out of hours: ma on 2026-03-07 (rest day, 1)",
        "Sensitive actions out of hours: liu on 2026-04-01 (night, 52)",
    ]
    spring, sat, night = out.iter_rows(named=True)
    assert spring["evidence"] == ["business_log:SPRING"] and spring["severity"] == "medium"
    assert sat["severity"] == "medium" and "修改收款人 1 次" in sat["explanation"]
    assert len(night["evidence"]) == 52 and night["severity"] == "low"
    assert "审核凭证 51 次" in night["explanation"] and "data export ×1" in night["explanation_en"]
    assert "2026-04-02 00:35" in night["explanation"] and "08:00-19:00" in night["explanation"]


def test_routine_is_a_parameter(tmp_path):
    out = _run(_load(tmp_path, business_log=_world()), routine_days=100)
    assert out.filter(pl.col("entity_id") == "etl").height == 60


def test_conformance(tmp_path):
    check_detector(BlogOffHours, world=_load(tmp_path, business_log=_world()))

"""blog.dormant_wakeup: a long-silent account comes back and does sensitive work."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.blog_dormant_wakeup import BlogDormantWakeup
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(
        tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"})
    )


def _run(ds, **params):
    return BlogDormantWakeup(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _ev(eid, t, user, action, obj=None):
    return {
        "event_id": eid,
        "event_time": t,
        "user_id": user,
        "action": action,
        "unit_id": "U1",
        "object_id": obj,
        "result": "success",
    }


def _world():
    log = []
    for w in range(25):  # weekly: approves every Monday from 5 January
        d = dt.date(2026, 1, 5) + dt.timedelta(weeks=w)
        log += [
            _ev(f"W{w}a", f"{d} 09:00", "weekly", "login"),
            _ev(f"A{w}", f"{d} 08:00", "admin", "login"),
            _ev(f"W{w}b", f"{d} 09:30", "weekly", "voucher_approve", f"VW{w}"),
        ]
    log += [
        # ghost: busy in early January, silent 100 days, wakes, approves, changes a payee (positive)
        _ev("G0", "2026-01-08 10:00", "ghost", "login"),
        _ev("G1", "2026-01-09 10:00", "ghost", "voucher_create", "VG0"),
        _ev("G2", "2026-04-19 21:00", "ghost", "login"),
        _ev("G3", "2026-04-19 21:10", "ghost", "payee_modify", "P1"),
        _ev("G4", "2026-04-20 09:00", "ghost", "voucher_approve", "VG1"),
        _ev("G5", "2026-05-20 09:00", "ghost", "voucher_approve", "VG2"),  # outside the 7 days
        # ghost2: silent 100 days, wakes and only drafts (look-alike)
        _ev("H0", "2026-01-09 10:00", "ghost2", "login"),
        _ev("H1", "2026-04-19 10:00", "ghost2", "login"),
        _ev("H2", "2026-04-19 10:30", "ghost2", "voucher_create", "VH1"),
        # leave60: 60 silent days, then approves (look-alike)
        _ev("L0", "2026-02-02 10:00", "leave60", "login"),
        _ev("L1", "2026-04-03 10:00", "leave60", "voucher_approve", "VL1"),
        # newbie: created in April, starts approving in May (look-alike)
        _ev("N0", "2026-04-25 10:00", "admin", "user_create", "newbie"),
        _ev("N1", "2026-05-02 09:00", "newbie", "voucher_approve", "VN1"),
        # old: an account never created in the period, first seen in May exporting (positive)
        _ev("O1", "2026-05-06 22:00", "old", "data_export", "R1"),
    ]
    return log


def test_positives_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, business_log=_world())).sort("entity_id")
    assert out["entity_id"].to_list() == ["ghost", "old"]
    ghost, old = out.iter_rows(named=True)
    assert ghost["evidence"] == [
        "business_log:G1",
        "business_log:G2",
        "business_log:G3",
        "business_log:G4",
    ]
    assert ghost["severity"] == "high" and "沉寂 100.5 天" in ghost["explanation"]
    assert (
        "2 sensitive action(s)" in ghost["explanation_en"] and "阈值 90 天" in ghost["explanation"]
    )
    assert old["severity"] == "medium" and old["evidence"] == ["business_log:O1"]
    assert "not created in the period" in old["explanation_en"]


def test_first_seen_needs_creation_logging(tmp_path):
    log = [e for e in _world() if e["action"] != "user_create"]
    out = _run(_load(tmp_path, business_log=log))
    assert sorted(out["entity_id"].to_list()) == ["ghost"]


def test_conformance(tmp_path):
    check_detector(BlogDormantWakeup, world=_load(tmp_path, business_log=_world()))

"""blog.grant_then_act: a role granted, used at once for sensitive work, then dropped."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.blog_grant_then_act import BlogGrantThenAct
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(
        tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"})
    )


def _run(ds, **params):
    return BlogGrantThenAct(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _ev(eid, t, user, action, obj=None, otype=None, **detail):
    return {
        "event_id": eid,
        "event_time": t,
        "user_id": user,
        "action": action,
        "unit_id": "U1",
        "object_type": otype,
        "object_id": obj,
        "result": "success",
        "detail": json.dumps(detail, ensure_ascii=False) if detail else None,
    }


def _grant(eid, t, admin, user, role="审核岗", action="role_grant"):
    return _ev(eid, t, admin, action, user, "user", role=role)


def _world():
    log = []
    days = [dt.date(2026, 3, 2) + dt.timedelta(days=i) for i in range(90)]
    for i, d in enumerate(days):  # the log runs to the end of May; feng and sun approve daily
        log.append(_ev(f"L{i}", f"{d} 08:30", "admin", "login"))
        if d >= dt.date(2026, 3, 3):
            log.append(_ev(f"S{i}", f"{d} 10:00", "sun", "voucher_approve", f"VS{i}", "voucher"))
        log.append(_ev(f"F{i}", f"{d} 11:00", "feng", "voucher_approve", f"VF{i}", "voucher"))
    log += [
        # qian: granted, approves three vouchers within hours, revoked next morning (positive, high)
        _grant("G1", "2026-04-10 17:00", "admin", "qian"),
        _ev("Q1", "2026-04-10 18:00", "qian", "voucher_approve", "V101", "voucher"),
        _ev("Q2", "2026-04-10 18:20", "qian", "voucher_approve", "V102", "voucher"),
        _ev("Q3", "2026-04-10 18:40", "qian", "voucher_approve", "V103", "voucher"),
        _grant("R1", "2026-04-11 09:00", "admin", "qian", action="role_revoke"),
        # sun: onboarding, granted then approves every day (look-alike)
        _grant("G2", "2026-03-02 15:00", "admin", "sun"),
        # zhou: granted, then only logs in and drafts (look-alike)
        _grant("G3", "2026-04-01 09:00", "admin", "zhou", role="经办岗"),
        _ev("Z1", "2026-04-01 09:30", "zhou", "login"),
        _ev("Z2", "2026-04-01 10:00", "zhou", "voucher_create", "V201", "voucher"),
        # wu: granted an export role, exports once, never again (positive, medium)
        _grant("G4", "2026-04-20 10:00", "admin", "wu", role="查询岗"),
        _ev("W1", "2026-04-20 16:00", "wu", "data_export", "R1", "report", rows=80000),
        # zheng: grants themself the admin role and changes the configuration (positive, high)
        _grant("G5", "2026-05-06 20:00", "zheng", "zheng", role="系统管理员"),
        _ev("ZH1", "2026-05-06 20:05", "zheng", "audit_config_change", "C1", "config"),
        # feng: already approves daily; a new role, more approvals, revoked (look-alike)
        _grant("G6", "2026-04-15 09:00", "admin", "feng", role="复核岗"),
        _grant("R6", "2026-04-16 09:00", "admin", "feng", role="复核岗", action="role_revoke"),
    ]
    return log


def test_positives_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, business_log=_world())).sort("entity_id")
    assert out["entity_id"].to_list() == ["qian", "wu", "zheng"]
    qian, wu, zheng = out.iter_rows(named=True)
    assert qian["evidence"] == [
        "business_log:G1",
        "business_log:Q1",
        "business_log:Q2",
        "business_log:Q3",
        "business_log:R1",
    ]
    assert (
        qian["severity"] == "high"
        and "3 次" in qian["explanation"]
        and "16.0 小时" in qian["explanation"]
    )
    assert "revoked after use" in qian["title_en"]
    assert wu["severity"] == "medium" and wu["evidence"] == ["business_log:G4", "business_log:W1"]
    assert "never used again" in wu["title_en"]
    assert zheng["severity"] == "high" and "自我授权" in zheng["explanation"]


def test_too_recent_to_judge_is_low(tmp_path):
    log = [e for e in _world() if e["event_time"] < "2026-04-23"]
    out = _run(_load(tmp_path, business_log=log)).filter(pl.col("entity_id") == "wu")
    assert out["severity"].to_list() == ["low"]
    assert "too early to tell" in out["explanation_en"][0] and "尚无法判断" in out["explanation"][0]


def test_conformance(tmp_path):
    check_detector(BlogGrantThenAct, world=_load(tmp_path, business_log=_world()))

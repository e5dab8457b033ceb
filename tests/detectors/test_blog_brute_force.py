"""blog.brute_force: a success after many failed log-ins (guessing or spraying)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.blog_brute_force import BlogBruteForce
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector


def _load(tmp_path, **tables):
    for name, rows in tables.items():
        pl.DataFrame(rows, infer_schema_length=None).write_csv(tmp_path / f"{name}.csv")
    return load_dir(
        tmp_path, Settings.from_mapping({"as_of": "2026-06-30", "timezone": "Asia/Shanghai"})
    )


def _run(ds, **params):
    return BlogBruteForce(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def _login(eid, t, user, ip, result="success"):
    return {
        "event_id": eid,
        "event_time": f"{t:%Y-%m-%d %H:%M:%S}",
        "user_id": user,
        "action": "login",
        "unit_id": "U1",
        "client_ip": ip,
        "result": result,
    }


def _world():
    log = []
    start = dt.datetime(2026, 3, 2, 8, 30)
    usual = {"alice": "10.0.0.5", "bob": "10.0.0.6", "carol": "10.0.0.7", "dave": "10.0.0.8"}
    for d in range(20):  # everybody logs in every morning from the usual address
        for k, (u, ip) in enumerate(usual.items()):
            log.append(_login(f"D{d}-{u}", start + dt.timedelta(days=d, minutes=k), u, ip))
    day = dt.datetime(2026, 3, 25, 14, 0)
    # alice: 7 failures in 10 minutes from a new address, then success (positive, high)
    log += [
        _login(f"A{i}", day + dt.timedelta(minutes=i), "alice", "203.0.113.9", "failure")
        for i in range(7)
    ]
    log.append(_login("A-OK", day + dt.timedelta(minutes=11), "alice", "203.0.113.9"))
    # bob: one mistyped password, then success (look-alike)
    log += [
        _login("B0", day, "bob", "10.0.0.6", "failure"),
        _login("B-OK", day + dt.timedelta(seconds=40), "bob", "10.0.0.6"),
    ]
    # carol: 6 failures from her usual address then success (positive, medium)
    log += [
        _login(f"C{i}", day + dt.timedelta(minutes=2 * i), "carol", "10.0.0.7", "failure")
        for i in range(6)
    ]
    log.append(_login("C-OK", day + dt.timedelta(minutes=13), "carol", "10.0.0.7"))
    # spray from 198.51.100.7 over six accounts, then dave gets in from there (positive)
    spray = dt.datetime(2026, 3, 26, 3, 0)
    log += [
        _login(
            f"S{i}", spray + dt.timedelta(minutes=3 * i), f"victim{i}", "198.51.100.7", "failure"
        )
        for i in range(6)
    ]
    log.append(_login("S-OK", spray + dt.timedelta(minutes=20), "dave", "198.51.100.7"))
    # office NAT 10.1.1.1: eight users mistype once and get in (look-alike)
    nat = dt.datetime(2026, 3, 27, 8, 30)
    for i in range(8):
        log.append(
            _login(f"N{i}", nat + dt.timedelta(minutes=2 * i), f"staff{i}", "10.1.1.1", "failure")
        )
        log.append(
            _login(
                f"N{i}-OK", nat + dt.timedelta(minutes=2 * i, seconds=30), f"staff{i}", "10.1.1.1"
            )
        )
    return log


def test_positives_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, business_log=_world())).sort("entity_id")
    assert out["entity_id"].to_list() == ["alice", "carol", "dave"]
    alice, carol, dave = out.iter_rows(named=True)
    assert alice["severity"] == "high" and alice["evidence"][-1] == "business_log:A-OK"
    assert sorted(alice["evidence"][:-1]) == [f"business_log:A{i}" for i in range(7)]
    assert (
        "失败 7 次" in alice["explanation"] and "never used by this user" in alice["explanation_en"]
    )
    assert carol["severity"] == "medium" and "used before" in carol["explanation_en"]
    assert dave["severity"] == "high" and "password spraying" in dave["explanation_en"]
    assert "6 个不同用户" in dave["explanation"]
    assert len(dave["evidence"]) == 7


def test_thresholds_are_parameters(tmp_path):
    out = _run(_load(tmp_path, business_log=_world()), min_failures=7, min_spray_users=7)
    assert out["entity_id"].to_list() == ["alice"]


def test_conformance(tmp_path):
    check_detector(BlogBruteForce, world=_load(tmp_path, business_log=_world()))

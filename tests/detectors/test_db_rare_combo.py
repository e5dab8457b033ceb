"""db.rare_combo: a steady account doing what it never does, at an hour it never does it."""

from __future__ import annotations

import datetime as dt

import polars as pl

from auditlib.config import Settings
from auditlib.detectors.base import Context
from auditlib.detectors.db_rare_combo import DbRareCombo
from auditlib.io.tables import load_dir
from auditlib.testing import check_detector

SETTINGS = {
    "as_of": "2026-06-30",
    "timezone": "Asia/Shanghai",
    "db": {"app_users": ["budget_app"], "protected_tables": ["public.payment"]},
}


def _ev(n, t, user, cmd, stmt, obj, sess, sid):
    return {
        "event_id": f"pg.log:{n}",
        "event_time": t,
        "db_user": user,
        "command": cmd,
        "database": "budget",
        "client_ip": "10.1.2.3",
        "application_name": "app",
        "session_id": sess,
        "statement_id": sid,
        "substatement_id": 1,
        "audit_class": "WRITE" if cmd != "SELECT" else "READ",
        "object_type": "TABLE",
        "object_name": obj,
        "statement": stmt,
        "parameter": None,
        "rows": None,
        "retcode": 0,
    }


def _world(*, rare=True):
    rows = []
    for i in range(40):
        day = dt.date(2026, 3, 2) + dt.timedelta(days=i)
        for k, h in enumerate((9, 10, 11, 14, 15, 16)):
            rows.append(
                _ev(
                    len(rows) + 1,
                    f"{day} {h:02d}:{(7 * i + k) % 60:02d}:00",
                    "budget_app",
                    "SELECT",
                    "SELECT * FROM payment WHERE voucher_id = $1",
                    "public.payment",
                    f"a{i}",
                    2 * k + 1,
                )
            )
            rows.append(
                _ev(
                    len(rows) + 1,
                    f"{day} {h:02d}:{(7 * i + k) % 60:02d}:30",
                    "budget_app",
                    "UPDATE",
                    "UPDATE payment SET status = $1 WHERE voucher_id = $2",
                    "public.payment",
                    f"a{i}",
                    2 * k + 2,
                )
            )
        # the nightly ETL, drifting between 02:xx and 03:xx (look-alike)
        rows.append(
            _ev(
                len(rows) + 1,
                f"{day} 0{2 + (i % 3 == 0)}:{(11 * i) % 60:02d}:00",
                "etl",
                "SELECT",
                "SELECT * FROM payee",
                "public.payee",
                f"e{i}",
                1,
            )
        )
        # an analyst's ad-hoc reads at random hours and tables: no baseline to judge (look-alike)
        rows.append(
            _ev(
                len(rows) + 1,
                f"{day} {(5 * i) % 24:02d}:00:00",
                "analyst",
                "SELECT",
                "SELECT count(*) FROM t",
                f"public.t{(3 * i) % 17}",
                f"x{i}",
                1,
            )
        )
    if rare:
        rows.append(
            _ev(
                9999,
                "2026-04-03 03:10:00",
                "budget_app",
                "DELETE",
                "DELETE FROM payment WHERE voucher_id = 'V2026000777'",
                "public.payment",
                "zz",
                1,
            )
        )
    return rows


def _load(tmp_path, rows):
    pl.DataFrame(rows).write_csv(tmp_path / "db_audit.csv")
    return load_dir(tmp_path, Settings.from_mapping(SETTINGS))


def _run(ds, **params):
    return DbRareCombo(**params).detect(ds.lazy(), Context.from_settings(ds.settings))


def test_positive_and_lookalikes(tmp_path):
    out = _run(_load(tmp_path, _world()))
    assert out.height == 1
    r = out.row(0, named=True)
    assert r["entity_id"] == "budget_app" and r["evidence"] == ["db_audit:pg.log:9999"]
    assert r["severity"] == "medium"  # a write on a protected table
    assert "共活跃 40 天" in r["explanation"] and "前 20 天为基线期" in r["explanation"]
    assert "DELETE" in r["title_en"] and "3h" in r["title_en"]


def test_clean_world_is_silent(tmp_path):
    assert _run(_load(tmp_path, _world(rare=False))).height == 0


def test_short_history_is_not_judged(tmp_path):
    assert _run(_load(tmp_path, _world()), min_days=60).height == 0


def test_conformance(tmp_path):
    check_detector(DbRareCombo, world=_load(tmp_path, _world()))

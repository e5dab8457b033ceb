"""The alert store: statuses across runs, triage, and all-or-nothing runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from auditlib.errors import AuditlibError
from auditlib.store import AlertStore
from auditlib.testing import small_world


@pytest.fixture(scope="module")
def alerts() -> pl.DataFrame:
    from auditlib.engine import run

    res = run(small_world())
    assert res.alerts.height >= 2
    return res.alerts


def test_lifecycle_new_open_resolved_dismissed(tmp_path: Path, alerts: pl.DataFrame) -> None:
    s = AlertStore(tmp_path / "a.sqlite")
    dets = alerts["detector_id"].unique().to_list()
    s.record_run(alerts, as_of="2026-06-30", detectors=dets)
    assert set(s.alerts()["status"]) == {"new"}
    a, b = alerts["alert_id"][0], alerts["alert_id"][1]
    s.set_status(a, "dismissed", by="zhang.wei", reason="known rent contract")
    s.record_run(alerts.filter(pl.col("alert_id") != b), as_of="2026-07-01", detectors=dets)
    st = dict(s.alerts().select("alert_id", "status").iter_rows())
    assert st[a] == "dismissed"          # a person's decision sticks
    assert st[b] == "resolved"           # gone from the run
    assert {v for k, v in st.items() if k not in (a, b)} <= {"open"}
    s.record_run(alerts, as_of="2026-07-02", detectors=dets)
    assert dict(s.alerts().select("alert_id", "status").iter_rows())[b] == "open"
    hist = s.history(a)
    assert hist.filter(pl.col("new") == "dismissed")["by"].to_list() == ["zhang.wei"]
    runs_seen = dict(s.alerts().select("alert_id", "runs_seen").iter_rows())
    assert runs_seen[a] == 3


def test_triage_needs_who_and_why(tmp_path: Path, alerts: pl.DataFrame) -> None:
    s = AlertStore(tmp_path / "a.sqlite")
    s.record_run(alerts, as_of="2026-06-30", detectors=[])
    with pytest.raises(AuditlibError, match="who"):
        s.set_status(alerts["alert_id"][0], "dismissed", by="", reason="x")
    with pytest.raises(AuditlibError, match="no alert"):
        s.set_status("0000", "confirmed", by="a", reason="b")


def test_crash_mid_run_leaves_store_unchanged(tmp_path: Path, alerts: pl.DataFrame) -> None:
    path = tmp_path / "a.sqlite"
    s = AlertStore(path)
    first = alerts.head(2)
    s.record_run(first, as_of="2026-06-30", detectors=[])
    before = s.alerts().sort("alert_id")
    frame = tmp_path / "alerts.parquet"
    alerts.write_parquet(frame)
    child = textwrap.dedent(f"""
        import sys, time, polars as pl
        from auditlib.store import AlertStore
        def pause():
            print("inside", flush=True)
            time.sleep(60)
        AlertStore({str(path)!r}).record_run(pl.read_parquet({str(frame)!r}), as_of="2026-07-01",
                                            detectors=[], _before_commit=pause)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "inside"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after = AlertStore(path)
    assert after.alerts().sort("alert_id").equals(before)
    assert after.runs().height == 1

"""Scheduler: catch-up after downtime, idempotence, one run under concurrency, retries."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import time
import zoneinfo
from pathlib import Path

import pytest

from auditlib.errors import ConfigError
from auditlib.schedule import Job, Ledger, Schedule, run_due

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def sched(tmp: Path, *jobs: Job) -> Schedule:
    return Schedule(jobs=jobs, out=tmp / "reports", ledger=tmp / "ledger.sqlite")


def ok_runner(job, as_of, s):  # noqa: ANN001, ANN201
    return "ok", None


def test_catch_up_after_missed_days(tmp_path: Path) -> None:
    s = sched(tmp_path, Job("daily", "0 6 * * *", "eagle_eye_daily"))
    first = run_due(s, now=dt.datetime(2026, 6, 1, 7, tzinfo=TZ), runner=ok_runner, log=lambda m: None)
    assert [a for _, a, _ in first] == ["2026-06-01"]
    # the machine was down on the 2nd and 3rd; at 07:00 on the 4th three runs are due
    later = run_due(s, now=dt.datetime(2026, 6, 4, 7, tzinfo=TZ), runner=ok_runner, log=lambda m: None)
    assert [a for _, a, _ in later] == ["2026-06-02", "2026-06-03", "2026-06-04"]
    again = run_due(s, now=dt.datetime(2026, 6, 4, 8, tzinfo=TZ), runner=ok_runner, log=lambda m: None)
    assert again == []  # idempotent: same job and period is not run twice


def test_weekdays_are_standard_cron(tmp_path: Path) -> None:
    s = sched(tmp_path, Job("weekdays", "0 6 * * 1-5", "eagle_eye_daily"))
    run_due(s, now=dt.datetime(2026, 6, 1, 7, tzinfo=TZ), runner=ok_runner, log=lambda m: None)  # Monday
    done = run_due(s, now=dt.datetime(2026, 6, 8, 7, tzinfo=TZ), runner=ok_runner, log=lambda m: None)
    days = [dt.date.fromisoformat(a).weekday() for _, a, _ in done]
    assert days == [1, 2, 3, 4, 0]  # Tue..Fri and the next Monday, no weekend


def test_forced_rerun(tmp_path: Path) -> None:
    s = sched(tmp_path, Job("daily", "0 6 * * *", "eagle_eye_daily"))
    now = dt.datetime(2026, 6, 1, 7, tzinfo=TZ)
    run_due(s, now=now, runner=ok_runner, log=lambda m: None)
    assert run_due(s, now=now, runner=ok_runner, log=lambda m: None) == []
    assert len(run_due(s, now=now, force="daily", runner=ok_runner, log=lambda m: None)) == 1


def test_failing_job_retries_and_does_not_block_others(tmp_path: Path) -> None:
    calls: list[str] = []

    def runner(job, as_of, s):  # noqa: ANN001, ANN202
        calls.append(job.name)
        if job.name == "bad":
            raise RuntimeError("kernel died")
        return "ok", None

    s = sched(tmp_path, Job("bad", "0 6 * * *", "x", retries=1), Job("good", "0 6 * * *", "y"))
    now = dt.datetime(2026, 6, 1, 7, tzinfo=TZ)
    done = run_due(s, now=now, runner=runner, log=lambda m: None)
    assert ("good", "2026-06-01", "ok") in done and ("bad", "2026-06-01", "failed") in done
    run_due(s, now=now, runner=runner, log=lambda m: None)  # one retry
    run_due(s, now=now, runner=runner, log=lambda m: None)  # retries used up
    assert calls.count("bad") == 2 and calls.count("good") == 1
    rows = {r[0]: r for r in Ledger(s.ledger).rows()}
    assert rows["bad"][2] == "failed" and "kernel died" in rows["bad"][4]


def _slow_runner(job, as_of, s):  # noqa: ANN001, ANN202
    (s.out / f"{job.name}-{as_of}-{time.time_ns()}").parent.mkdir(parents=True, exist_ok=True)
    (s.out / f"{job.name}-{as_of}-{time.time_ns()}").write_text("ran")
    time.sleep(1.0)
    return "ok", None


def _worker(tmp: str) -> None:
    s = sched(Path(tmp), Job("daily", "0 6 * * *", "eagle_eye_daily"))
    run_due(s, now=dt.datetime(2026, 6, 1, 7, tzinfo=TZ), runner=_slow_runner, log=lambda m: None)


def test_two_concurrent_schedulers_run_a_job_once(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(tmp_path),)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    runs = list((tmp_path / "reports").glob("daily-*"))
    assert len(runs) == 1


def test_bad_schedule_file(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("jobs:\n  - {name: a, cron: '61 * * * *', notebook: x}\n")
    with pytest.raises(ConfigError, match="bad cron"):
        Schedule.load(p)
    p.write_text("jobz: []\n")
    with pytest.raises(ConfigError, match="unknown schedule key"):
        Schedule.load(p)

"""Scheduled report runs: a schedule file, a run ledger, catch-up, locking, retries.

Schedule file (YAML)::

    timezone: Asia/Shanghai
    out: reports
    ledger: reports/schedule.sqlite
    catch_up_days: 14          # how far back missed runs are made up
    parameters: {data_dir: data_samples, store: reports/alerts.sqlite}   # for every job
    jobs:
      - name: eagle_eye_daily
        cron: "0 6 * * *"      # standard cron: minute hour day month weekday (0 = Sunday)
        notebook: eagle_eye_daily
      - name: sangong_monthly
        cron: "0 7 1 * *"
        notebook: three_public_monthly
        parameters: {min_severity: medium}
        retries: 2

``run-due`` (for cron or a systemd timer) runs every job time that fell due
since the job's last recorded run — so after downtime the missed runs are made
up, each with its own audit date — and records each in the ledger. A job and
audit date that already ran is not run again unless forced. Each run is
*claimed* in the ledger in a transaction before it starts, so two schedulers
started at once never run the same job twice. A failed run is retried on later
calls up to ``retries`` times; a failing job does not stop the others.

Cron expressions are read by ``cronsim`` with standard cron weekdays (``1-5``
is Monday to Friday — unlike APScheduler's ``from_crontab``, where it would be
Tuesday to Saturday).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import zoneinfo
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditlib.errors import ConfigError


@dataclass(frozen=True)
class Job:
    name: str
    cron: str
    notebook: str
    parameters: dict[str, Any] = field(default_factory=dict)
    retries: int = 1


@dataclass(frozen=True)
class Schedule:
    jobs: tuple[Job, ...]
    timezone: str = "Asia/Shanghai"
    out: Path = Path("reports")
    ledger: Path = Path("reports/schedule.sqlite")
    catch_up_days: int = 14

    @classmethod
    def load(cls, path: Path) -> Schedule:
        from cronsim import CronSim, CronSimError

        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            msg = f"{path}: cannot read the schedule ({exc})"
            raise ConfigError(msg) from None
        known = {"timezone", "out", "ledger", "catch_up_days", "parameters", "jobs"}
        for k in doc:
            if k not in known:
                msg = f"{path}: unknown schedule key {k!r} (known: {', '.join(sorted(known))})"
                raise ConfigError(msg)
        common = dict(doc.get("parameters") or {})
        jobs = []
        for i, j in enumerate(doc.get("jobs") or []):
            extra = set(j) - {"name", "cron", "notebook", "parameters", "retries"}
            if extra or not {"name", "cron", "notebook"} <= set(j):
                msg = f"{path}: job {i + 1} needs name, cron, notebook (unknown: {sorted(extra)})"
                raise ConfigError(msg)
            try:
                CronSim(str(j["cron"]), dt.datetime(2026, 1, 1))
            except CronSimError as exc:
                msg = f"{path}: job {j['name']}: bad cron expression {j['cron']!r}: {exc}"
                raise ConfigError(msg) from None
            jobs.append(Job(str(j["name"]), str(j["cron"]), str(j["notebook"]),
                            {**common, **(j.get("parameters") or {})}, int(j.get("retries", 1))))
        if len({j.name for j in jobs}) != len(jobs):
            msg = f"{path}: job names must be unique"
            raise ConfigError(msg)
        return cls(
            tuple(jobs), str(doc.get("timezone", "Asia/Shanghai")), Path(doc.get("out", "reports")),
            Path(doc.get("ledger", "reports/schedule.sqlite")), int(doc.get("catch_up_days", 14)),
        )


_LEDGER = """
CREATE TABLE IF NOT EXISTS runs (
    job TEXT NOT NULL, due_at TEXT NOT NULL, as_of TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, started_at TEXT, finished_at TEXT, error TEXT,
    PRIMARY KEY (job, as_of)
);
"""


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=30)) as con:
            con.executescript(_LEDGER)

    def _con(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def last_due(self, job: str) -> dt.datetime | None:
        with closing(self._con()) as con:
            row = con.execute("SELECT max(due_at) FROM runs WHERE job=?", (job,)).fetchone()
        return dt.datetime.fromisoformat(row[0]) if row and row[0] else None

    def claim(self, job: str, due_at: dt.datetime, as_of: str, *, retries: int, force: bool,
              stale_after: dt.timedelta = dt.timedelta(hours=6)) -> bool:
        """Atomically mark (job, as_of) running; False if it ran, runs, or used its retries."""
        now = dt.datetime.now(dt.UTC)
        with closing(self._con()) as con:
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT status, attempts, started_at FROM runs WHERE job=? AND as_of=?",
                              (job, as_of)).fetchone()
            ok = True
            if row is not None and not force:
                status, attempts, started = row
                running_fresh = status == "running" and started and now - dt.datetime.fromisoformat(started) < stale_after
                if status == "ok" or running_fresh or (status == "failed" and attempts > retries):
                    ok = False
            if ok:
                con.execute(
                    "INSERT INTO runs (job, due_at, as_of, status, attempts, started_at) "
                    "VALUES (?,?,?,'running',1,?) ON CONFLICT(job, as_of) DO UPDATE SET "
                    "status='running', attempts=attempts+1, started_at=excluded.started_at, "
                    "due_at=excluded.due_at, error=NULL",
                    (job, due_at.isoformat(), as_of, now.isoformat()),
                )
            con.execute("COMMIT")
        return ok

    def finish(self, job: str, as_of: str, status: str, error: str | None) -> None:
        with closing(self._con()) as con:
            con.execute("UPDATE runs SET status=?, error=?, finished_at=? WHERE job=? AND as_of=?",
                        (status, error, dt.datetime.now(dt.UTC).isoformat(), job, as_of))

    def rows(self) -> list[tuple]:
        with closing(self._con()) as con:
            return con.execute("SELECT job, as_of, status, attempts, error FROM runs ORDER BY job, as_of").fetchall()


def due_times(job: Job, since: dt.datetime | None, now: dt.datetime, catch_up_days: int) -> list[dt.datetime]:
    """Times the job fell due after ``since`` up to ``now`` (only the latest when never run)."""
    from cronsim import CronSim

    floor = now - dt.timedelta(days=catch_up_days)
    start = max(since, floor) if since else floor
    out = []
    for t in CronSim(job.cron, start):
        if t > now:
            break
        if since is None or t > since:
            out.append(t)
    if since is None:
        out = out[-1:]
    return out


Runner = Callable[[Job, str, Schedule], tuple[str, str | None]]


def _report_runner(job: Job, as_of: str, sched: Schedule) -> tuple[str, str | None]:
    from auditlib.report.execute import run_report

    res = run_report(job.notebook, {**job.parameters, "as_of": as_of}, out_root=sched.out)
    return res.status, res.error


def run_due(sched: Schedule, *, now: dt.datetime | None = None, force: str | None = None,
            runner: Runner = _report_runner, log: Callable[[str], None] = print) -> list[tuple[str, str, str]]:
    """Run every job time that is due; returns (job, as_of, status) for each attempt."""
    tz = zoneinfo.ZoneInfo(sched.timezone)
    now = (now or dt.datetime.now(tz)).astimezone(tz)
    ledger = Ledger(sched.ledger)
    done = []
    for job in sched.jobs:
        times = due_times(job, ledger.last_due(job.name), now, sched.catch_up_days)
        if force == job.name and not times:
            times = [now]
        # also retry failed runs whose time has passed
        for t in times + _retryable(ledger, job):
            as_of = t.date().isoformat()
            if not ledger.claim(job.name, t, as_of, retries=job.retries, force=force == job.name):
                continue
            try:
                status, error = runner(job, as_of, sched)
            except Exception as exc:  # noqa: BLE001 - a failing job must not stop the others
                status, error = "failed", f"{type(exc).__name__}: {exc}"
            ledger.finish(job.name, as_of, status, error)
            log(f"{job.name} {as_of}: {status}" + (f" ({error})" if error else ""))
            done.append((job.name, as_of, status))
    return done


def _retryable(ledger: Ledger, job: Job) -> list[dt.datetime]:
    with closing(ledger._con()) as con:  # noqa: SLF001
        rows = con.execute("SELECT due_at FROM runs WHERE job=? AND status='failed' AND attempts<=?",
                           (job.name, job.retries)).fetchall()
    return [dt.datetime.fromisoformat(r[0]) for r in rows]


def serve(sched: Schedule, *, log: Callable[[str], None] = print, max_loops: int | None = None) -> None:
    """Run ``run_due`` at the start of every minute until stopped."""
    loops = 0
    while max_loops is None or loops < max_loops:
        run_due(sched, log=log)
        loops += 1
        time.sleep(60 - dt.datetime.now().second + 0.5)

"""The alert store: alerts kept across runs by ``alert_id``, with their triage status.

An SQLite file (one writer at a time, transactions, no server): each run's
alerts are recorded in ONE transaction, so a crash mid-run leaves the store as
it was before the run.

Status of a finding:

- ``new``: first seen in the latest run that saw it;
- ``open``: seen again in a later run;
- ``confirmed`` / ``dismissed``: set by a person, with who, when and why; kept
  as the finding keeps being seen (a dismissed finding is never re-raised);
- ``resolved``: a ``new``/``open`` finding of a detector that ran and no longer
  reports it; it reopens (``open``) if it comes back.

Examples
--------
>>> import tempfile, pathlib, polars as pl
>>> from auditlib.alerts.schema import empty_alerts
>>> s = AlertStore(pathlib.Path(tempfile.mkdtemp()) / "alerts.sqlite")
>>> run = s.record_run(empty_alerts(), as_of="2026-06-30", detectors=["payments.duplicate"])
>>> s.alerts().height
0
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterable
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from auditlib.errors import AuditlibError

STATUSES = ("new", "open", "confirmed", "dismissed", "resolved")
HUMAN = ("confirmed", "dismissed", "open")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, as_of TEXT, fingerprint TEXT,
    params TEXT, n_alerts INTEGER, detectors TEXT
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY, detector_id TEXT NOT NULL, severity TEXT, score REAL,
    entity_type TEXT, entity_id TEXT, unit_id TEXT, event_time TEXT,
    title TEXT, title_en TEXT, explanation TEXT, explanation_en TEXT, amount TEXT,
    evidence TEXT, first_run TEXT, last_run TEXT, first_seen TEXT, last_seen TEXT,
    runs_seen INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
    status_by TEXT, status_at TEXT, status_reason TEXT
);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts(status);
CREATE INDEX IF NOT EXISTS alerts_detector ON alerts(detector_id);
CREATE TABLE IF NOT EXISTS history (
    alert_id TEXT NOT NULL, at TEXT NOT NULL, by TEXT, old TEXT, new TEXT, reason TEXT
);
"""

_COLS = (
    "alert_id", "detector_id", "severity", "score", "entity_type", "entity_id", "unit_id",
    "event_time", "title", "title_en", "explanation", "explanation_en", "amount", "evidence",
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class AlertStore:
    """An alert store at ``path`` (created on first use)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextmanager
    def _tx(self):
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    # ------------------------------------------------------------------ runs
    def record_run(
        self,
        alerts: pl.DataFrame,
        *,
        as_of: str,
        detectors: Iterable[str],
        fingerprint: str = "",
        params: dict[str, Any] | None = None,
        run_id: str | None = None,
        _before_commit: Any = None,
    ) -> str:
        """Record one run's alerts; returns the run id. All or nothing.

        ``_before_commit`` (tests only) is called inside the transaction, just before
        it commits: a crash there must leave the store as it was.
        """
        run_id = run_id or uuid.uuid4().hex[:12]
        ran = sorted(set(detectors))
        now = _now()
        rows = _rows(alerts)
        with self._tx() as con:
            con.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?,?)",
                (run_id, now, as_of, fingerprint, json.dumps(params or {}, default=str),
                 len(rows), json.dumps(ran)),
            )
            con.execute("CREATE TEMP TABLE seen (alert_id TEXT PRIMARY KEY)")
            con.executemany("INSERT OR IGNORE INTO seen VALUES (?)", [(r[0],) for r in rows])
            for r in rows:
                cur = con.execute("SELECT status FROM alerts WHERE alert_id = ?", (r[0],)).fetchone()
                if cur is None:
                    con.execute(
                        f"INSERT INTO alerts ({', '.join(_COLS)}, first_run, last_run, first_seen, "
                        "last_seen, runs_seen, status) VALUES "
                        f"({', '.join('?' * len(_COLS))}, ?, ?, ?, ?, 1, 'new')",
                        (*r, run_id, run_id, now, now),
                    )
                    continue
                status = {"new": "open", "resolved": "open"}.get(cur[0], cur[0])
                con.execute(
                    "UPDATE alerts SET severity=?, score=?, unit_id=?, event_time=?, title=?, "
                    "title_en=?, explanation=?, explanation_en=?, amount=?, evidence=?, "
                    "last_run=?, last_seen=?, runs_seen=runs_seen+1, status=? WHERE alert_id=?",
                    (r[2], r[3], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
                     run_id, now, status, r[0]),
                )
                if status != cur[0]:
                    con.execute("INSERT INTO history VALUES (?,?,?,?,?,?)",
                                (r[0], now, "auditlib", cur[0], status, "seen again"))
            if ran:
                marks = ",".join("?" * len(ran))
                gone = con.execute(
                    f"SELECT alert_id, status FROM alerts WHERE status IN ('new','open') "
                    f"AND detector_id IN ({marks}) AND alert_id NOT IN (SELECT alert_id FROM seen)",
                    ran,
                ).fetchall()
                for aid, old in gone:
                    con.execute("UPDATE alerts SET status='resolved' WHERE alert_id=?", (aid,))
                    con.execute("INSERT INTO history VALUES (?,?,?,?,?,?)",
                                (aid, now, "auditlib", old, "resolved", "no longer reported"))
            con.execute("DROP TABLE seen")
            if _before_commit is not None:
                _before_commit()
        return run_id

    # ---------------------------------------------------------------- triage
    def set_status(self, alert_id: str, status: str, *, by: str, reason: str) -> None:
        """A person confirms, dismisses or reopens a finding; who, when and why are kept."""
        if status not in HUMAN:
            msg = f"status must be one of {', '.join(HUMAN)}, got {status!r}"
            raise AuditlibError(msg)
        if not by.strip() or not reason.strip():
            msg = "a status change needs who made it and why"
            raise AuditlibError(msg)
        now = _now()
        with self._tx() as con:
            cur = con.execute("SELECT status FROM alerts WHERE alert_id=?", (alert_id,)).fetchone()
            if cur is None:
                msg = f"no alert {alert_id!r} in {self.path}"
                raise AuditlibError(msg)
            con.execute(
                "UPDATE alerts SET status=?, status_by=?, status_at=?, status_reason=? WHERE alert_id=?",
                (status, by, now, reason, alert_id),
            )
            con.execute("INSERT INTO history VALUES (?,?,?,?,?,?)",
                        (alert_id, now, by, cur[0], status, reason))

    # --------------------------------------------------------------- reading
    def _frame(self, sql: str, args: tuple = ()) -> pl.DataFrame:
        with closing(sqlite3.connect(self.path)) as con:
            cur = con.execute(sql, args)
            names = [d[0] for d in cur.description]
            data = cur.fetchall()
        if not data:
            return pl.DataFrame(schema={n: pl.String for n in names})
        return pl.DataFrame(data, schema=names, orient="row", infer_schema_length=None)

    def alerts(self, *, status: Iterable[str] | None = None) -> pl.DataFrame:
        """Stored alerts (evidence as a list, amount as Decimal), most recent first."""
        sql = "SELECT * FROM alerts"
        args: tuple = ()
        if status is not None:
            st = list(status)
            sql += f" WHERE status IN ({','.join('?' * len(st))})"
            args = tuple(st)
        df = self._frame(sql + " ORDER BY last_seen DESC, alert_id", args)
        if df.height == 0:
            return df
        return df.with_columns(
            pl.col("evidence").str.json_decode(pl.List(pl.String)),
            pl.col("amount").cast(pl.Decimal(18, 2), strict=False),
        )

    def runs(self) -> pl.DataFrame:
        return self._frame("SELECT * FROM runs ORDER BY started_at, run_id")

    def history(self, alert_id: str | None = None) -> pl.DataFrame:
        if alert_id is None:
            return self._frame("SELECT * FROM history ORDER BY at")
        return self._frame("SELECT * FROM history WHERE alert_id=? ORDER BY at", (alert_id,))


def _rows(alerts: pl.DataFrame) -> list[tuple]:
    if alerts.height == 0:
        return []
    df = alerts.select(
        *[pl.col(c) for c in _COLS[:7]],
        pl.col("event_time").dt.strftime("%Y-%m-%dT%H:%M:%S%:z"),
        *[pl.col(c) for c in _COLS[8:12]],
        pl.col("amount").cast(pl.String),
        pl.col("evidence").map_elements(lambda v: json.dumps(list(v), ensure_ascii=False),
                                        return_dtype=pl.String),
    )
    return df.rows()

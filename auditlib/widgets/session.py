"""One auditor's session: the loaded data, one run's alerts, the alert store, triage.

Everything the workbench's panels share lives here, without widgets, so it is
tested headlessly. Detection happens only through :mod:`auditlib.engine`.

Examples
--------
>>> from auditlib.testing import small_world
>>> s = Session.from_dataset(small_world())
>>> s.query.df.height == s.result.alerts.height
True
>>> sorted(set(s.query.df["status"]))
['new']
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from auditlib.detectors.base import Context, Detector
from auditlib.engine import RunResult, build_detectors, run
from auditlib.errors import AuditlibError
from auditlib.io.tables import Dataset
from auditlib.store import AlertStore
from auditlib.widgets.query import AlertQuery, prepare_alerts

ACTIONS = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "open"}
"""Triage actions to the status they set in the store."""


def default_user() -> str:
    """Who triages, by default: ``$USER`` (else the login name)."""
    user = os.environ.get("USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:
        return ""


@dataclass
class Session:
    """Data, alerts (held once, prepared for filtering) and the store they are triaged in."""

    dataset: Dataset
    result: RunResult
    query: AlertQuery
    store: AlertStore | None = None
    detectors: dict[str, Detector] = field(default_factory=dict)

    # ---------------------------------------------------------------- building
    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        *,
        store: str | Path | AlertStore | None = None,
        as_of: str | dt.date | None = None,
        config: str | Path | None = None,
        detectors: list[str] | None = None,
        record: bool = True,
    ) -> Session:
        """Load ``data_dir``, run the enabled detectors once, record the run in ``store``."""
        import auditlib

        if isinstance(as_of, str):
            as_of = dt.date.fromisoformat(as_of) if as_of.strip() else None
        dataset = auditlib.load(data_dir, config=config, as_of=as_of)
        return cls.from_dataset(dataset, store=store, detectors=detectors, record=record)

    @classmethod
    def from_dataset(
        cls,
        dataset: Dataset,
        *,
        store: str | Path | AlertStore | None = None,
        detectors: list[str] | None = None,
        result: RunResult | None = None,
        record: bool = True,
    ) -> Session:
        """A session over an already loaded dataset (and, optionally, an existing run)."""
        if result is None:
            result = run(dataset, detectors=build_detectors(dataset.settings, detectors))
        st = store if isinstance(store, AlertStore) or not store else AlertStore(store)
        if st is not None and record:
            st.record_run(
                result.alerts,
                as_of=str(dataset.settings.as_of),
                detectors=list(result.detectors),
                params={"data_dir": str(dataset.data_dir), "source": "workbench"},
            )
        statuses = st.alerts() if st is not None else None
        units = dataset.tables.get("units")
        prepared = prepare_alerts(result.alerts, units=units, statuses=statuses)
        return cls(dataset, result, AlertQuery(prepared), st or None, dict(result.detectors))

    # ----------------------------------------------------------------- reading
    @property
    def alerts(self) -> pl.DataFrame:
        """The run's alerts with domain, region, unit name and triage status."""
        return self.query.df

    @property
    def ctx(self) -> Context:
        return Context.from_settings(self.dataset.settings)

    def alert(self, alert_id: str) -> dict[str, Any]:
        """One alert as a dict (raises if the session holds no such alert)."""
        hit = self.query.df.filter(pl.col("alert_id") == alert_id)
        if hit.height == 0:
            msg = f"no alert {alert_id!r} in this session"
            raise AuditlibError(msg)
        return hit.row(0, named=True)

    # ------------------------------------------------------------------ triage
    def triage(self, alert_id: str, action: str, *, by: str, reason: str) -> str:
        """Confirm, dismiss or reopen an alert; written to the store, reflected in the table.

        Returns the new status. Without a store the status is kept in this session only.
        """
        if action not in ACTIONS:
            msg = f"action must be one of {', '.join(ACTIONS)}, got {action!r}"
            raise AuditlibError(msg)
        if not by.strip() or not reason.strip():
            msg = "a status change needs who made it and why"
            raise AuditlibError(msg)
        self.alert(alert_id)
        status = ACTIONS[action]
        if self.store is not None:
            self.store.set_status(alert_id, status, by=by.strip(), reason=reason.strip())
        hit = pl.col("alert_id") == alert_id
        self.query.update(
            self.query.df.with_columns(
                pl.when(hit).then(pl.lit(status)).otherwise(pl.col("status")).alias("status"),
                pl.when(hit)
                .then(pl.lit(by.strip()))
                .otherwise(pl.col("status_by"))
                .alias("status_by"),
                pl.when(hit)
                .then(pl.lit(reason.strip()))
                .otherwise(pl.col("status_reason"))
                .alias("status_reason"),
            )
        )
        return status

    def history(self, alert_id: str) -> pl.DataFrame:
        """The alert's status changes as the store recorded them (empty without a store)."""
        if self.store is None:
            return pl.DataFrame(
                schema={
                    "at": pl.String,
                    "by": pl.String,
                    "old": pl.String,
                    "new": pl.String,
                    "reason": pl.String,
                }
            )
        return self.store.history(alert_id).select("at", "by", "old", "new", "reason")

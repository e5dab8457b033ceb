"""Settings: ``auditlib.yaml`` in a data directory, ``--config FILE``, and defaults.

Unknown keys are errors that name them; nothing is guessed.

Examples
--------
>>> s = Settings.from_mapping({"as_of": "2026-06-30", "thresholds": {"split_payment": 20000}})
>>> s.fiscal_year, s.thresholds["split_payment"]
(2026, 20000)
>>> Settings.from_mapping({"as_off": "2026-06-30"})
Traceback (most recent call last):
...
auditlib.errors.ConfigError: unknown setting 'as_off' (known: allowlist, as_of, calendar, db, detectors, fiscal_year, thresholds, timezone, working_hours)
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from auditlib.errors import ConfigError

DEFAULT_PREFIX = "%m [%p] %q%u@%d "


@dataclass(frozen=True)
class DbSettings:
    app_users: tuple[str, ...] = ("budget_app",)
    protected_tables: tuple[str, ...] = ("public.payment", "public.indicator")
    sensitive_tables: tuple[str, ...] = ("public.payee", "public.person")
    log_line_prefix: str = DEFAULT_PREFIX


@dataclass(frozen=True)
class AllowEntry:
    detector: str
    entity: str
    reason: str
    owner: str
    expires: dt.date

    def matches(self, detector_id: str, entity_id: str | None) -> bool:
        if self.detector.endswith("*"):
            ok = detector_id.startswith(self.detector[:-1])
        else:
            ok = detector_id == self.detector
        return ok and entity_id == self.entity


@dataclass(frozen=True)
class Settings:
    """Everything a run is configured by. Build with :meth:`load` or :meth:`from_mapping`."""

    as_of: dt.date = field(default_factory=dt.date.today)
    fiscal_year: int | None = None
    timezone: str = "Asia/Shanghai"
    working_hours: tuple[dt.time, dt.time] = (dt.time(8, 0), dt.time(19, 0))
    db: DbSettings = DbSettings()
    extra_holidays: tuple[dt.date, ...] = ()
    extra_workdays: tuple[dt.date, ...] = ()
    thresholds: Mapping[str, float] = field(default_factory=lambda: {"split_payment": 50000})
    detectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    allowlist: tuple[AllowEntry, ...] = ()

    def __post_init__(self) -> None:
        if self.fiscal_year is None:
            object.__setattr__(self, "fiscal_year", self.as_of.year)

    @property
    def year(self) -> int:
        return int(self.fiscal_year or self.as_of.year)

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        data_dir: Path | None = None,
        config: Path | None = None,
        as_of: dt.date | None = None,
    ) -> Settings:
        """Settings of a run: the directory's ``auditlib.yaml``, then ``config`` over it."""
        merged: dict[str, Any] = {}
        for path in (data_dir / "auditlib.yaml" if data_dir else None, config):
            if path is None:
                continue
            if not path.exists():
                if path == config:
                    msg = f"{path}: config file not found"
                    raise ConfigError(msg)
                continue
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                msg = f"{path}: not valid YAML: {exc}"
                raise ConfigError(msg) from None
            if not isinstance(doc, dict):
                msg = f"{path}: expected a mapping of settings at the top"
                raise ConfigError(msg)
            merged.update(doc)
        settings = cls.from_mapping(merged)
        if as_of is not None:
            fy = merged.get("fiscal_year")
            settings = replace(settings, as_of=as_of, fiscal_year=int(fy) if fy else as_of.year)
        return settings

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> Settings:
        _check_keys(doc, _TOP_KEYS, "")
        kw: dict[str, Any] = {}
        if "as_of" in doc:
            kw["as_of"] = _date(doc["as_of"], "as_of")
        if doc.get("fiscal_year") is not None:
            kw["fiscal_year"] = _int(doc["fiscal_year"], "fiscal_year")
        if "timezone" in doc:
            tz = str(doc["timezone"])
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                msg = f"timezone: unknown time zone {tz!r}"
                raise ConfigError(msg) from None
            kw["timezone"] = tz
        if "working_hours" in doc:
            kw["working_hours"] = _hours(doc["working_hours"])
        if "db" in doc:
            db = _mapping(doc["db"], "db")
            _check_keys(db, _DB_KEYS, "db.")
            kw["db"] = DbSettings(
                **{
                    k: (str(v) if k == "log_line_prefix" else tuple(_str_list(v, f"db.{k}")))
                    for k, v in db.items()
                }
            )
        if "calendar" in doc:
            cal = _mapping(doc["calendar"], "calendar")
            _check_keys(cal, ("holidays", "workdays"), "calendar.")
            kw["extra_holidays"] = tuple(
                _date(d, "calendar.holidays") for d in cal.get("holidays") or ()
            )
            kw["extra_workdays"] = tuple(
                _date(d, "calendar.workdays") for d in cal.get("workdays") or ()
            )
        if "thresholds" in doc:
            th = dict(_mapping(doc["thresholds"], "thresholds"))
            for k, v in th.items():
                if isinstance(v, bool) or not isinstance(v, int | float):
                    msg = f"thresholds.{k}: expected a number, got {v!r}"
                    raise ConfigError(msg)
            kw["thresholds"] = {"split_payment": 50000, **th}
        if "detectors" in doc:
            dets = _mapping(doc["detectors"], "detectors")
            kw["detectors"] = {
                str(k): dict(_mapping(v or {}, f"detectors.{k}")) for k, v in dets.items()
            }
        if "allowlist" in doc:
            kw["allowlist"] = tuple(_allow(e, i) for i, e in enumerate(doc["allowlist"] or ()))
        return cls(**kw)


_TOP_KEYS = (
    "as_of", "fiscal_year", "timezone", "working_hours", "db", "calendar",
    "thresholds", "detectors", "allowlist",
)
_DB_KEYS = ("app_users", "protected_tables", "sensitive_tables", "log_line_prefix")


def _check_keys(doc: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for k in doc:
        if k not in known:
            msg = f"unknown setting '{where}{k}' (known: {', '.join(sorted(known))})"
            raise ConfigError(msg)


def _mapping(v: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        msg = f"{where}: expected a mapping, got {v!r}"
        raise ConfigError(msg)
    return v


def _str_list(v: Any, where: str) -> list[str]:
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        msg = f"{where}: expected a list of names, got {v!r}"
        raise ConfigError(msg)
    return list(v)


def _date(v: Any, where: str) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        msg = f"{where}: expected a date YYYY-MM-DD, got {v!r}"
        raise ConfigError(msg) from None


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | str) or not str(v).isdigit():
        msg = f"{where}: expected a whole number, got {v!r}"
        raise ConfigError(msg)
    return int(v)


def _hours(v: Any) -> tuple[dt.time, dt.time]:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", str(v))
    if not m:
        msg = f"working_hours: expected 'HH:MM-HH:MM', got {v!r}"
        raise ConfigError(msg)
    h1, m1, h2, m2 = map(int, m.groups())
    try:
        return dt.time(h1, m1), dt.time(h2 % 24, m2)
    except ValueError:
        msg = f"working_hours: not a valid time range {v!r}"
        raise ConfigError(msg) from None


def _allow(e: Any, i: int) -> AllowEntry:
    where = f"allowlist[{i}]"
    e = _mapping(e, where)
    _check_keys(e, ("detector", "entity", "reason", "owner", "expires"), f"{where}.")
    for k in ("detector", "entity", "reason", "owner", "expires"):
        if e.get(k) in (None, ""):
            msg = f"{where}: '{k}' is required (every allowlist entry has an owner and an expiry)"
            raise ConfigError(msg)
    return AllowEntry(
        detector=str(e["detector"]), entity=str(e["entity"]), reason=str(e["reason"]),
        owner=str(e["owner"]), expires=_date(e["expires"], f"{where}.expires"),
    )

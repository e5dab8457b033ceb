"""The detector contract: one small class, one method.

A detector declares its metadata as class attributes and implements
:meth:`Detector.find`, which takes the loaded tables as ``LazyFrame`` s and
returns *findings*: one row per finding with at least

``entity_id`` (str), ``finding_key`` (str), ``evidence`` (list of ``table:key``)

and, where it has them, ``unit_id``, ``event_time``, ``amount`` (money at
risk), ``score`` (0..1) and ``severity``, plus any columns its alert templates
name. The base class derives everything else once: alert ids, severities,
titles and explanations in Chinese and English, the exact alert schema.

Examples
--------
>>> import polars as pl
>>> from auditlib.detectors.base import Detector, Param, Text
>>> class BigPayment(Detector):
...     id = "demo.big_payment"
...     title = Text("大额支付", "Large payment")
...     description = Text("单笔支付超过阈值。", "A single payment above a threshold.")
...     requires = ("payments",)
...     entity = "voucher"
...     params = (Param("limit", float, 1e6, "Amount in yuan above which a payment alerts."),)
...     alert_title = Text("大额支付 {voucher_id}", "Large payment {voucher_id}")
...     alert_explanation = Text(
...         "支付金额 {amount:money} 元，超过阈值 {limit:money} 元。",
...         "Paid {amount:money} yuan, above the {limit:money} yuan limit.",
...     )
...     def find(self, tables, ctx):
...         return (
...             tables["payments"]
...             .filter(pl.col("amount") > self.limit)
...             .select(
...                 pl.col("voucher_id").alias("entity_id"), pl.col("voucher_id").alias("finding_key"),
...                 pl.concat_list(ref("payments", "voucher_id")).alias("evidence"),
...                 "voucher_id", "unit_id", "amount", pl.lit(self.limit).alias("limit"),
...             )
...         )
>>> from auditlib.alerts.schema import ref
>>> BigPayment(limit=100).get_params()
{'limit': 100.0}
>>> BigPayment(limt=100)
Traceback (most recent call last):
...
auditlib.errors.DetectorError: demo.big_payment: unknown parameter 'limt' (known: limit)
"""

from __future__ import annotations

import datetime as dt
import math
import re
import string
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import polars as pl

from auditlib.alerts.schema import SEVERITIES, alert_id, alert_schema
from auditlib.calendar import Calendar
from auditlib.config import Settings
from auditlib.errors import DetectorError

ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Text:
    """A text in Chinese and English."""

    zh: str
    en: str


@dataclass(frozen=True)
class Param:
    """A typed detector parameter with a default and validation.

    ``setting`` names a ``thresholds`` key of ``auditlib.yaml`` whose value, when
    set, replaces the default (e.g. ``split_payment``).
    """

    name: str
    type: type
    default: Any
    doc: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    setting: str | None = None

    def validate(self, value: Any, owner: str) -> Any:
        where = f"{owner}: parameter '{self.name}'"
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if self.type is tuple and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            msg = f"{where} expects {self.type.__name__}, got {value!r}"
            raise DetectorError(msg)
        if self.type is float and not math.isfinite(value):
            msg = f"{where} must be a finite number, got {value!r}"
            raise DetectorError(msg)
        if self.min is not None and value < self.min:
            msg = f"{where} must be >= {self.min}, got {value!r}"
            raise DetectorError(msg)
        if self.max is not None and value > self.max:
            msg = f"{where} must be <= {self.max}, got {value!r}"
            raise DetectorError(msg)
        if self.choices is not None and value not in self.choices:
            msg = f"{where} must be one of {self.choices}, got {value!r}"
            raise DetectorError(msg)
        return value


@dataclass(frozen=True)
class Context:
    """What a detector may know besides its tables: settings and the calendar."""

    settings: Settings
    calendar: Calendar

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        cal = Calendar(holidays=settings.extra_holidays, workdays=settings.extra_workdays)
        return cls(settings, cal)

    @property
    def timezone(self) -> str:
        return self.settings.timezone

    @property
    def as_of(self) -> dt.date:
        return self.settings.as_of

    @property
    def year(self) -> int:
        return self.settings.year


FINDING_REQUIRED = ("entity_id", "finding_key", "evidence")


class Detector(ABC):
    """Base of every detector. Subclasses set the metadata and implement :meth:`find`."""

    id: ClassVar[str]
    version: ClassVar[str] = "1"
    title: ClassVar[Text]
    description: ClassVar[Text]
    requires: ClassVar[tuple[str, ...]]
    optional: ClassVar[tuple[str, ...]] = ()
    entity: ClassVar[str]
    severity: ClassVar[str] = "medium"
    params: ClassVar[tuple[Param, ...]] = ()
    alert_title: ClassVar[Text]
    alert_explanation: ClassVar[Text]

    def __init__(self, **params: Any) -> None:
        known = {p.name: p for p in self.params}
        for k in params:
            if k not in known:
                msg = f"{self.id}: unknown parameter '{k}' (known: {', '.join(known) or 'none'})"
                raise DetectorError(msg)
        for p in self.params:
            setattr(self, p.name, p.validate(params.get(p.name, p.default), self.id))

    @classmethod
    def from_settings(cls, settings: Settings) -> Detector:
        """An instance with the parameters the settings give (thresholds, overrides)."""
        over = dict(settings.detectors.get(cls.id, {}))
        over.pop("enabled", None)
        over.pop("severity", None)
        for p in cls.params:
            if p.setting and p.name not in over and p.setting in settings.thresholds:
                over[p.name] = settings.thresholds[p.setting]
        return cls(**over)

    def get_params(self) -> dict[str, Any]:
        return {p.name: getattr(self, p.name) for p in self.params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def domain(self) -> str:
        return self.id.split(".", 1)[0]

    @abstractmethod
    def find(self, tables: Mapping[str, pl.LazyFrame], ctx: Context) -> pl.LazyFrame | pl.DataFrame:
        """Findings from the tables: see the module docstring for the columns."""

    # ------------------------------------------------------------------ derived
    def detect(
        self, tables: Mapping[str, pl.LazyFrame], ctx: Context, *, severity: str | None = None
    ) -> pl.DataFrame:
        """Alerts in the contract's schema. Pure: same tables, same alerts and ids."""
        found = self.find(tables, ctx)
        df = found.collect() if isinstance(found, pl.LazyFrame) else found
        return self.to_alerts(df, ctx.timezone, severity=severity)

    def to_alerts(self, df: pl.DataFrame, timezone: str, *, severity: str | None = None) -> pl.DataFrame:
        missing = [c for c in FINDING_REQUIRED if c not in df.columns]
        if missing:
            msg = f"{self.id}: find() returned no {', '.join(missing)} column"
            raise DetectorError(msg)
        schema = alert_schema(timezone)
        if df.height == 0:
            return pl.DataFrame(schema=schema)
        params = self.get_params()
        rows = df.to_dicts()
        default_sev = severity or self.severity
        out: dict[str, list[Any]] = {k: [] for k in schema}
        for r in rows:
            fields = {**params, **r}
            sev = severity or r.get("severity") or default_sev
            score = r.get("score")
            out["alert_id"].append(
                alert_id(self.id, self.entity, str(r["entity_id"]), str(r["finding_key"]))
            )
            out["detector_id"].append(self.id)
            out["severity"].append(sev)
            out["score"].append(1.0 if score is None else float(min(max(score, 0.0), 1.0)))
            out["entity_type"].append(self.entity)
            out["entity_id"].append(str(r["entity_id"]))
            out["unit_id"].append(r.get("unit_id"))
            out["event_time"].append(r.get("event_time"))
            out["title"].append(render(self.alert_title.zh, fields, "zh"))
            out["title_en"].append(render(self.alert_title.en, fields, "en"))
            out["explanation"].append(render(self.alert_explanation.zh, fields, "zh"))
            out["explanation_en"].append(render(self.alert_explanation.en, fields, "en"))
            amt = r.get("amount")
            out["amount"].append(None if amt is None else Decimal(amt).quantize(Decimal("0.01")))
            out["evidence"].append(list(r["evidence"]))
        alerts = pl.DataFrame(out, schema=schema)
        bad = set(alerts["severity"].unique().to_list()) - set(SEVERITIES)
        if bad:
            msg = f"{self.id}: severity {sorted(bad)} not one of {SEVERITIES}"
            raise DetectorError(msg)
        return alerts.unique("alert_id", keep="first", maintain_order=True)


# ---------------------------------------------------------------- templates
_FMT = string.Formatter()


def fmt_money(v: Any) -> str:
    """``1234567.5`` → ``1,234,567.50``."""
    return f"{Decimal(str(v)):,.2f}"


def render(template: str, fields: Mapping[str, Any], lang: str) -> str:
    """Fill ``{name}`` / ``{name:money}`` / ``{name:pct}`` / ``{name:int}`` from ``fields``.

    >>> render("付款 {a:money} 元，占 {p:pct}", {"a": 1234.5, "p": 0.256}, "zh")
    '付款 1,234.50 元，占 25.6%'
    >>> render("{xs}", {"xs": ["V1", "V2"]}, "en")
    'V1, V2'
    """
    parts = []
    for literal, name, spec, _ in _FMT.parse(template):
        parts.append(literal)
        if name is None:
            continue
        v = fields.get(name)
        if v is None:
            parts.append("—")
        elif spec == "money":
            parts.append(fmt_money(v))
        elif spec == "pct":
            parts.append(f"{float(v) * 100:.1f}%")
        elif spec == "int":
            parts.append(f"{int(v):,}")
        elif isinstance(v, list | tuple):
            parts.append(("、" if lang == "zh" else ", ").join(map(str, v)))
        elif isinstance(v, dt.datetime):
            parts.append(v.strftime("%Y-%m-%d %H:%M"))
        elif isinstance(v, float) and spec:
            parts.append(format(v, spec))
        else:
            parts.append(str(v))
    return "".join(parts)

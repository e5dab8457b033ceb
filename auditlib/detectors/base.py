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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

import polars as pl

from auditlib.alerts.schema import SEVERITIES, alert_id, alert_schema
from auditlib.calendar import Calendar
from auditlib.config import Settings
from auditlib.errors import DetectorError
from auditlib.schemas import MONEY

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
    _shared: dict = field(default_factory=dict, compare=False, repr=False)

    def shared(self, name: str, inputs: tuple, build: Callable[[], Any]) -> Any:
        """A result several detectors of one run compute alike, built once.

        ``name`` names the computation *and its parameters*; ``inputs`` are the
        LazyFrames it reads (the cache holds them, so their ids stay theirs). The engine
        empties the cache when the run moves to another detector domain (``bank.*`` to
        ``budget.*``), so a shared frame lives only while the detectors that use it run.
        """
        key = (name, tuple(id(x) for x in inputs))
        hit = self._shared.get(key)
        if hit is None:
            hit = self._shared[key] = (inputs, build())
        return hit[1]

    def release(self) -> None:
        """Forget every shared result (see :meth:`shared`)."""
        self._shared.clear()

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

    def to_alerts(
        self, df: pl.DataFrame, timezone: str, *, severity: str | None = None
    ) -> pl.DataFrame:
        """Alerts from findings, column-wise: ids, severities, scores, amounts, times and
        evidence are columns; only the hash and the texts are made per row, from the fields
        the templates name. Rows come out in finding-key order, so the output does not
        depend on how a detector's group-bys happened to order them."""
        missing = [c for c in FINDING_REQUIRED if c not in df.columns]
        if missing:
            raise DetectorError(f"{self.id}: find() returned no {', '.join(missing)} column")
        schema = alert_schema(timezone)
        if df.height:
            df = df.sort(pl.col("finding_key").cast(pl.String), pl.col("entity_id").cast(pl.String))
        if df.height == 0:
            return pl.DataFrame(schema=schema)
        n = df.height
        params = self.get_params()
        names = {
            name
            for t in (
                self.alert_title.zh,
                self.alert_title.en,
                self.alert_explanation.zh,
                self.alert_explanation.en,
            )
            for _, name, _ in _parsed(t)
            if name
        }
        cols: dict[str, list[Any]] = {}
        for name in names:
            if name in df.columns:
                cols[name] = df[name].to_list()
            elif name in params:
                cols[name] = [params[name]] * n
        ent = df["entity_id"].cast(pl.String).to_list()
        fk = df["finding_key"].cast(pl.String).to_list()
        ids = [alert_id(self.id, self.entity, e, k) for e, k in zip(ent, fk, strict=True)]
        default_sev = severity or self.severity
        if severity or "severity" not in df.columns:
            sev = pl.lit(default_sev)
        else:  # a row's own severity unless missing or empty, as render did
            row_sev = pl.col("severity").cast(pl.String)
            sev = (
                pl.when(row_sev.is_null() | (row_sev == ""))
                .then(pl.lit(default_sev))
                .otherwise(row_sev)
            )
        score = (
            pl.col("score").cast(pl.Float64).clip(0.0, 1.0).fill_null(1.0)
            if "score" in df.columns
            else pl.lit(1.0)
        )
        amount = df["amount"].to_list() if "amount" in df.columns else [None] * n
        amounts = [None if a is None else Decimal(a).quantize(Decimal("0.01")) for a in amount]
        event_time = (
            pl.col("event_time").cast(schema["event_time"])
            if "event_time" in df.columns
            else pl.lit(None, dtype=schema["event_time"])
        )
        unit = (
            pl.col("unit_id").cast(pl.String)
            if "unit_id" in df.columns
            else pl.lit(None, dtype=pl.String)
        )
        base = df.select(
            sev.alias("severity"),
            score.alias("score"),
            unit.alias("unit_id"),
            event_time.alias("event_time"),
            pl.col("evidence").cast(pl.List(pl.String)),
        )
        alerts = pl.DataFrame(
            {
                "alert_id": ids,
                "detector_id": [self.id] * n,
                "severity": base["severity"],
                "score": base["score"],
                "entity_type": [self.entity] * n,
                "entity_id": ent,
                "unit_id": base["unit_id"],
                "event_time": base["event_time"],
                "title": _render_all(self.alert_title.zh, cols, n, "zh"),
                "title_en": _render_all(self.alert_title.en, cols, n, "en"),
                "explanation": _render_all(self.alert_explanation.zh, cols, n, "zh"),
                "explanation_en": _render_all(self.alert_explanation.en, cols, n, "en"),
                "amount": pl.Series("amount", amounts, dtype=MONEY),
                "evidence": base["evidence"],
            },
            schema=schema,
        )
        bad = set(alerts["severity"].unique().to_list()) - set(SEVERITIES)
        if bad:
            raise DetectorError(f"{self.id}: severity {sorted(bad)} not one of {SEVERITIES}")
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


_PARSED: dict[str, list[tuple[str, str | None, str]]] = {}


def _parsed(template: str) -> list[tuple[str, str | None, str]]:
    p = _PARSED.get(template)
    if p is None:
        p = _PARSED[template] = [
            (lit, name, spec or "") for lit, name, spec, _ in _FMT.parse(template)
        ]
    return p


def _render_all(template: str, cols: dict[str, list[Any]], n: int, lang: str) -> list[str]:
    """``base.render`` for every row: template parsed once, each field formatted per column."""
    pieces: list[list[str] | str] = []
    for lit, name, spec in _parsed(template):
        if lit:
            pieces.append(lit)
        if name is None:
            continue
        vals = cols.get(name)
        if vals is None:
            pieces.append("—")
            continue
        sample = next((v for v in vals if v is not None), None)
        if spec == "money":
            out = ["—" if v is None else fmt_money(v) for v in vals]
        elif (
            spec == ""
            and (sample is None or isinstance(sample, str | int))
            and not isinstance(sample, bool)
        ):
            out = ["—" if v is None else str(v) for v in vals]
        elif spec == "" and isinstance(sample, list | tuple):
            sep = "、" if lang == "zh" else ", "
            out = ["—" if v is None else sep.join(map(str, v)) for v in vals]
        elif spec == "" and isinstance(sample, dt.datetime):
            out = ["—" if v is None else v.strftime("%Y-%m-%d %H:%M") for v in vals]
        else:  # anything else exactly as render() does it
            out = [
                render("{x" + (":" + spec if spec else "") + "}", {"x": v}, lang) for v in vals
            ]
        pieces.append(out)
    rows = []
    for r in range(n):
        rows.append("".join(p if isinstance(p, str) else p[r] for p in pieces))
    return rows

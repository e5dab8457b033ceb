"""The alert explorer's logic, free of widgets: filters as polars expressions, sort, pages.

The alerts are held once as a DataFrame (prepared with their domain, region,
unit name and triage status); a filter is a frozen :class:`AlertFilter` turned
into one ``pl.Expr``; only the requested page is ever materialised as rows.

Examples
--------
>>> import datetime as dt, polars as pl
>>> from decimal import Decimal
>>> alerts = pl.DataFrame({
...     "alert_id": ["a1", "a2", "a3"],
...     "detector_id": ["payments.split", "db.bulk_read", "payments.duplicate"],
...     "severity": ["medium", "high", "high"], "score": [0.5, 0.9, 0.7],
...     "entity_id": ["P1", "etl", "P2"], "unit_id": ["U1", None, "U2"],
...     "event_time": [dt.datetime(2026, 1, 5), dt.datetime(2026, 2, 1), None],
...     "title": ["拆分", "批量读取", "重复"], "title_en": ["split", "bulk", "dup"],
...     "amount": [Decimal("60000.00"), None, Decimal("500.00")],
... })
>>> units = pl.DataFrame({"unit_id": ["U1"], "region_code": ["330105"]})
>>> q = AlertQuery(prepare_alerts(alerts, units=units))
>>> q.page(AlertFilter(domains=("payments",)), size=10).rows["alert_id"].to_list()
['a3', 'a1']
>>> q.page(AlertFilter(min_amount=1000), size=10).rows["alert_id"].to_list()
['a1']
>>> q.page(AlertFilter(regions=("330105",)), size=10).total
1
>>> q.page(AlertFilter(), sort="amount", size=2).rows["alert_id"].to_list()
['a1', 'a3']
>>> q.summary(AlertFilter())["by_severity"]
{'critical': 0, 'high': 2, 'medium': 1, 'low': 0, 'info': 0}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

import polars as pl

from auditlib.alerts.schema import SEVERITIES, SEVERITY_RANK

SORTS: dict[str, tuple[str, ...]] = {
    "severity": ("sev_rank", "score"),
    "score": ("score",),
    "amount": ("amount",),
    "event_time": ("event_time",),
    "detector_id": ("detector_id",),
    "unit_id": ("unit_id",),
    "entity_id": ("entity_id",),
    "status": ("status",),
}
"""Sort keys the explorer offers, each to the columns it sorts by (ties by alert id)."""

EXTRA = ("domain", "region_code", "unit_name", "status", "status_by", "status_reason", "sev_rank")


@dataclass(frozen=True)
class AlertFilter:
    """What the auditor asks for; empty fields do not filter."""

    detectors: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    min_amount: float | Decimal | None = None
    text: str = ""

    def expr(self) -> pl.Expr:
        """One boolean expression over the prepared alert frame."""
        conds: list[pl.Expr] = []
        for name, col in (
            ("detectors", "detector_id"),
            ("domains", "domain"),
            ("severities", "severity"),
            ("statuses", "status"),
            ("units", "unit_id"),
            ("regions", "region_code"),
        ):
            values = getattr(self, name)
            if values:
                conds.append(pl.col(col).is_in(list(values)))
        day = pl.col("event_time").dt.date()
        if self.date_from is not None:
            conds.append(day >= self.date_from)
        if self.date_to is not None:
            conds.append(day <= self.date_to)
        if self.min_amount is not None and self.min_amount > 0:
            conds.append(pl.col("amount") >= Decimal(str(self.min_amount)))
        text = self.text.strip().lower()
        if text:
            conds.append(
                pl.any_horizontal(
                    pl.col(c).str.to_lowercase().str.contains(text, literal=True)
                    for c in ("alert_id", "entity_id", "title", "title_en", "unit_id", "unit_name")
                )
            )
        if not conds:
            return pl.lit(True)
        return pl.all_horizontal(conds).fill_null(False)

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, (), "", 0) for f in fields(self))


def prepare_alerts(
    alerts: pl.DataFrame,
    *,
    units: pl.DataFrame | None = None,
    statuses: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Alerts with ``domain``, ``region_code``, ``unit_name``, triage ``status`` and ``sev_rank``.

    ``statuses`` is the store's view (``alert_id``, ``status``, optional ``status_by``,
    ``status_reason``); an alert it does not hold is ``new``.
    """
    df = alerts.drop([c for c in EXTRA if c in alerts.columns])
    df = df.with_columns(
        pl.col("detector_id").str.split(".").list.first().alias("domain"),
        pl.col("severity")
        .replace_strict(SEVERITY_RANK, default=-1, return_dtype=pl.Int8)
        .alias("sev_rank"),
    )
    if units is not None and "unit_id" in units.columns:
        u = units.select(
            pl.col("unit_id").cast(pl.String),
            *(
                pl.col(c).cast(pl.String)
                if c in units.columns
                else pl.lit(None, pl.String).alias(c)
                for c in ("unit_name", "region_code")
            ),
        ).unique("unit_id", keep="first")
        df = df.join(u, on="unit_id", how="left")
    else:
        df = df.with_columns(
            pl.lit(None, pl.String).alias("unit_name"), pl.lit(None, pl.String).alias("region_code")
        )
    st_cols = ("status", "status_by", "status_reason")
    if statuses is not None and statuses.height:
        s = statuses.select(
            "alert_id",
            *(
                pl.col(c).cast(pl.String)
                if c in statuses.columns
                else pl.lit(None, pl.String).alias(c)
                for c in st_cols
            ),
        )
        df = df.join(s.unique("alert_id"), on="alert_id", how="left")
        df = df.with_columns(pl.col("status").fill_null("new"))
    else:
        df = df.with_columns(
            pl.lit("new").alias("status"),
            pl.lit(None, pl.String).alias("status_by"),
            pl.lit(None, pl.String).alias("status_reason"),
        )
    return df.rechunk()


@dataclass(frozen=True)
class Page:
    rows: pl.DataFrame
    total: int
    page: int
    pages: int
    size: int

    @property
    def first(self) -> int:
        """1-based number of the page's first row (0 when empty)."""
        return self.page * self.size + 1 if self.total else 0


@dataclass
class AlertQuery:
    """Filter, sort and page one prepared alert frame (held once, never copied per page)."""

    df: pl.DataFrame
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def filtered(self, flt: AlertFilter) -> pl.DataFrame:
        key = ("f", flt)
        if self._cache.get("fkey") != key:
            self._cache.clear()
            self._cache["fkey"] = key
            self._cache["filtered"] = self.df if flt.is_empty() else self.df.filter(flt.expr())
        return self._cache["filtered"]

    def sorted(
        self, flt: AlertFilter, sort: str = "severity", *, descending: bool = True
    ) -> pl.DataFrame:
        if sort not in SORTS:
            msg = f"sort must be one of {', '.join(SORTS)}, got {sort!r}"
            raise ValueError(msg)
        df = self.filtered(flt)
        skey = (sort, descending)
        if self._cache.get("skey") != skey:
            cols = [*SORTS[sort], "alert_id"]
            desc = [descending] * len(SORTS[sort]) + [False]
            self._cache["skey"] = skey
            self._cache["sorted"] = df.sort(cols, descending=desc, nulls_last=True)
        return self._cache["sorted"]

    def page(
        self,
        flt: AlertFilter,
        *,
        sort: str = "severity",
        descending: bool = True,
        page: int = 0,
        size: int = 50,
    ) -> Page:
        """One page of rows (``page`` counts from 0 and is clamped to the last page)."""
        df = self.sorted(flt, sort, descending=descending)
        total = df.height
        pages = max(1, -(-total // size))
        page = min(max(page, 0), pages - 1)
        return Page(df.slice(page * size, size), total, page, pages, size)

    def summary(self, flt: AlertFilter) -> dict[str, Any]:
        """Counts by severity, total alerts, units and money at risk, over the filtered alerts."""
        df = self.filtered(flt)
        counts = dict(df.group_by("severity").len().iter_rows()) if df.height else {}
        amount = df["amount"].drop_nulls().sum() if df.height else Decimal(0)
        return {
            "total": df.height,
            "all": self.df.height,
            "by_severity": {s: int(counts.get(s, 0)) for s in reversed(SEVERITIES)},
            "amount": Decimal(str(amount or 0)),
            "units": df["unit_id"].drop_nulls().n_unique() if df.height else 0,
        }

    def update(self, df: pl.DataFrame) -> None:
        """Replace the frame (after triage or a new run) and drop cached results."""
        self.df = df
        self._cache.clear()

    def options(self, column: str) -> list[str]:
        """Distinct non-null values of a column, sorted (for filter choices)."""
        if column not in self.df.columns or self.df.height == 0:
            return []
        return sorted(self.df[column].drop_nulls().unique().cast(pl.String).to_list())

"""The detector conformance suite, as scikit-learn's ``check_estimator`` is for estimators.

``check_detector`` runs every check on one detector and raises an
``AssertionError`` listing every check that failed. A check a detector is
known to fail is named in ``expected_failures`` with the reason (like
scikit-learn's xfail); it is then reported as such, not silently skipped.

Examples
--------
>>> from auditlib.registry import get
>>> report = check_detector(get("payments.split"))
>>> sorted(report)[:3]
['empty_tables', 'event_time', 'evidence_resolves']

A detector that breaks the contract fails loudly:

>>> import polars as pl
>>> from auditlib.detectors.base import Detector, Text
>>> class Broken(Detector):
...     id = "demo.broken"
...     title = Text("坏", "")
...     description = Text("坏", "broken")
...     requires = ("payments",)
...     entity = "voucher"
...     alert_title = Text("{voucher_id}", "{voucher_id}")
...     alert_explanation = Text("", "")
...     def find(self, tables, ctx):
...         return tables["payments"].select(
...             pl.col("voucher_id").alias("entity_id"),
...             pl.int_range(pl.len()).cast(pl.String).alias("finding_key"),
...             pl.concat_list(pl.lit("payments:NOPE")).alias("evidence"), "voucher_id")
>>> check_detector(Broken)
Traceback (most recent call last):
...
AssertionError: demo.broken fails 4 conformance check(s):
...
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

import polars as pl

from auditlib.alerts.schema import SEVERITIES, alert_schema, parse_ref
from auditlib.config import Settings
from auditlib.detectors.base import ID_RE, Context, Detector
from auditlib.io.tables import Dataset, load_dir
from auditlib.schemas import TABLES

Check = Callable[[Detector, "_World"], str | None]


class _World:
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.ctx = Context.from_settings(dataset.settings)
        self.tables = dataset.lazy()
        self.tz = dataset.settings.timezone


@cache
def small_world(seed: int = 7, scale: float = 0.1) -> Dataset:
    """A small synthetic world with injected anomalies, generated once per process."""
    from auditlib.synth import generate

    out = Path(tempfile.mkdtemp(prefix="auditlib-world-"))
    generate(out, seed=seed, scale=scale, fmt="parquet")
    settings = Settings.load(out)
    return load_dir(out, settings)


def check_detector(
    detector: type[Detector] | Detector,
    *,
    world: Dataset | None = None,
    expected_failures: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Run every conformance check; return ``{check: "ok" | "xfail: reason"}``.

    Raises AssertionError naming every failing check (other than expected ones).
    """
    det = detector if isinstance(detector, Detector) else detector()
    cls = type(det)
    w = _World(world if world is not None else small_world())
    expected = dict(expected_failures or {})
    results: dict[str, str] = {}
    failures: list[str] = []
    for name, check in CHECKS.items():
        try:
            problem = check(det, w)
        except Exception as exc:  # noqa: BLE001 - an exception is a failed check
            problem = f"raised {type(exc).__name__}: {exc}"
        if name in expected:
            results[name] = f"xfail: {expected[name]}"
        elif problem:
            failures.append(f"  - {name}: {problem}")
            results[name] = f"FAIL: {problem}"
        else:
            results[name] = "ok"
    if failures:
        msg = f"{cls.id} fails {len(failures)} conformance check(s):\n" + "\n".join(failures)
        raise AssertionError(msg)
    return results


# ---------------------------------------------------------------------- checks
def check_metadata(det: Detector, w: _World) -> str | None:
    cls = type(det)
    problems = []
    if not ID_RE.match(getattr(cls, "id", "")):
        problems.append(f"id {getattr(cls, 'id', None)!r} is not '<domain>.<name>'")
    for attr in ("title", "description", "alert_title", "alert_explanation"):
        t = getattr(cls, attr, None)
        if t is None or attr in ("title", "description") and not (t.zh.strip() and t.en.strip()):
            problems.append(f"{attr} needs Chinese and English text")
    unknown = [t for t in (*cls.requires, *cls.optional) if t not in TABLES]
    if unknown:
        problems.append(f"requires unknown tables {unknown}")
    if not cls.requires:
        problems.append("requires no table")
    if cls.severity not in SEVERITIES:
        problems.append(f"severity {cls.severity!r}")
    if not getattr(cls, "entity", ""):
        problems.append("no entity type")
    names = [p.name for p in cls.params]
    if len(set(names)) != len(names):
        problems.append("duplicate parameter names")
    return "; ".join(problems) or None


def check_params_roundtrip(det: Detector, w: _World) -> str | None:
    cls = type(det)
    p = det.get_params()
    again = cls(**p).get_params()
    if again != p:
        return f"get_params() {p} does not round-trip ({again})"
    if cls().get_params() != {q.name: q.validate(q.default, cls.id) for q in cls.params}:
        return "defaults are not stored unchanged"
    for q in cls.params:
        if not q.doc:
            return f"parameter {q.name} has no doc"
    return None


def check_empty_tables(det: Detector, w: _World) -> str | None:
    cls = type(det)
    tables = {t: TABLES[t].empty(w.tz).lazy() for t in (*cls.requires, *cls.optional)}
    out = det.detect(tables, w.ctx)
    if out.schema != alert_schema(w.tz):
        return f"schema {dict(out.schema)} differs from the alert schema"
    if out.height:
        return f"{out.height} alert(s) on empty tables"
    return None


def _run(det: Detector, w: _World) -> pl.DataFrame:
    return det.detect(w.tables, w.ctx)


def check_schema(det: Detector, w: _World) -> str | None:
    out = _run(det, w)
    if out.schema != alert_schema(w.tz):
        diff = {k: v for k, v in out.schema.items() if alert_schema(w.tz).get(k) != v}
        return f"alert schema differs: {diff or list(out.columns)}"
    if out.height == 0:
        return "no alert on the small world (every detector needs a positive case there)"
    if out["alert_id"].is_duplicated().any():
        return "duplicate alert ids"
    if not out["severity"].is_in(list(SEVERITIES)).all():
        return "severity outside the scale"
    if not out["score"].is_between(0, 1).all():
        return "score outside 0..1"
    if (out["detector_id"] != type(det).id).any():
        return "detector_id column is not the detector's id"
    return None


def check_reproducible(det: Detector, w: _World) -> str | None:
    a, b = _run(det, w), _run(det, w)
    if not a.equals(b):
        return "two runs on the same input differ"
    shuffled = {
        k: v.collect().sample(fraction=1.0, shuffle=True, seed=1).lazy() for k, v in w.tables.items()
    }
    c = det.detect(shuffled, w.ctx)
    if set(a["alert_id"]) != set(c["alert_id"]):
        return "alert ids depend on the order of input rows"
    return None


def check_explanations(det: Detector, w: _World) -> str | None:
    out = _run(det, w)
    for col in ("title", "title_en", "explanation", "explanation_en"):
        bad = out.filter(pl.col(col).is_null() | (pl.col(col).str.strip_chars() == ""))
        if bad.height:
            return f"{bad.height} alert(s) with empty {col}"
        if out[col].str.contains(r"\{[a-z_]+(:[a-z]+)?\}").any():
            return f"unfilled template field in {col}"
    if not out["explanation"].str.contains(r"[\u4e00-\u9fff]").all():
        return "a Chinese explanation holds no Chinese"
    if not out["explanation"].str.contains(r"\d").all():
        return "an explanation holds no figure"
    return None


def check_evidence_resolves(det: Detector, w: _World) -> str | None:
    out = _run(det, w)
    if (out["evidence"].list.len() == 0).any():
        return "an alert without evidence"
    refs = out["evidence"].explode().unique().to_list()
    keys: dict[str, set[tuple[str, ...]]] = {}
    for r in refs:
        table, vals = parse_ref(r)
        if table not in w.dataset.tables:
            return f"evidence {r!r} names table {table!r}, not an input"
        if table not in keys:
            key = list(TABLES[table].key)
            keys[table] = set(w.dataset[table].select(pl.col(key).cast(pl.String)).iter_rows())
        if vals not in keys[table]:
            return f"evidence {r!r} is not a record of its table"
    return None


def check_event_time(det: Detector, w: _World) -> str | None:
    out = _run(det, w)
    t = out["event_time"].drop_nulls()
    if t.len() and (t.dt.date().max() > w.ctx.as_of + dt.timedelta(days=1)):
        return "event_time after the audit date"
    return None


CHECKS: dict[str, Check] = {
    "metadata": check_metadata,
    "params_roundtrip": check_params_roundtrip,
    "empty_tables": check_empty_tables,
    "schema": check_schema,
    "reproducible": check_reproducible,
    "explanations": check_explanations,
    "evidence_resolves": check_evidence_resolves,
    "event_time": check_event_time,
}

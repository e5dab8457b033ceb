"""Scoring alerts against a synthetic world's ground truth (``ground_truth.jsonl``).

A ``positive`` case is caught when an alert of its detector has every evidence
ref of the case; a ``lookalike`` is hit when an alert of its detector names any
of its refs. Alerts that neither catch a positive nor come from a detector
without positives are counted as *unexplained* — on a ``--clean`` world every
alert is unexplained, and their rate per 10,000 input records is the
false-alert rate the issues bound.

Examples
--------
>>> import polars as pl
>>> truth = [{"case_id": "A", "detector_id": "d.x", "kind": "positive", "evidence": ["t:1", "t:2"]},
...          {"case_id": "B", "detector_id": "d.x", "kind": "lookalike", "evidence": ["t:9"]}]
>>> alerts = pl.DataFrame({"detector_id": ["d.x", "d.x"], "evidence": [["t:1", "t:2", "t:3"], ["t:7"]]})
>>> r = score(alerts, truth)
>>> r.select("detector_id", "positives", "caught", "lookalikes", "lookalike_hits", "unexplained").row(0)
('d.x', 1, 1, 1, 0, 1)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl


def read_truth(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "ground_truth.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(alerts: pl.DataFrame, truth: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Per detector: positives, caught, recall, look-alikes, look-alike hits, alerts, unexplained."""
    by_det: dict[str, list[set[str]]] = {}
    for det, ev in alerts.select("detector_id", "evidence").iter_rows():
        by_det.setdefault(det, []).append(set(ev))
    rows: dict[str, dict[str, int]] = {}
    explained: dict[str, set[int]] = {}
    for case in truth:
        det = case["detector_id"]
        r = rows.setdefault(det, {"positives": 0, "caught": 0, "lookalikes": 0, "lookalike_hits": 0})
        refs = set(case["evidence"])
        found = by_det.get(det, [])
        if case["kind"] == "positive":
            r["positives"] += 1
            hits = [i for i, ev in enumerate(found) if refs <= ev]
            r["caught"] += bool(hits)
            # an alert that shares evidence with a positive belongs to it
            explained.setdefault(det, set()).update(i for i, ev in enumerate(found) if refs & ev)
        else:
            r["lookalikes"] += 1
            r["lookalike_hits"] += any(refs & ev for ev in found)
    for det in by_det:
        rows.setdefault(det, {"positives": 0, "caught": 0, "lookalikes": 0, "lookalike_hits": 0})
    out = []
    for det, r in sorted(rows.items()):
        n = len(by_det.get(det, []))
        out.append({
            "detector_id": det, **r, "recall": (r["caught"] / r["positives"]) if r["positives"] else None,
            "alerts": n, "unexplained": n - len(explained.get(det, set())),
        })
    schema = {"detector_id": pl.String, "positives": pl.Int64, "caught": pl.Int64,
              "lookalikes": pl.Int64, "lookalike_hits": pl.Int64, "recall": pl.Float64,
              "alerts": pl.Int64, "unexplained": pl.Int64}
    return pl.DataFrame(out, schema=schema)

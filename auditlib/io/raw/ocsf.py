"""OCSF 1.x events → ``business_log``.

A file holds one event (pretty-printed JSON), a JSON array of events, or JSON
lines (``.jsonl``, or several documents one per line). Class 6003 API Activity
and 3002 Authentication are mapped as the data contract says; events of other
classes are counted in ``other_class``. A document that is not valid JSON is a
reported error (a single-document file: record 1; JSON lines: that line, the
rest loads); it never stops the run.

Mapping: ``metadata.uid`` → ``event_id`` (missing: ``<rel path>:<event number>``,
the event's position in the file from 1, its line for JSON lines); ``time``
(epoch milliseconds, UTC) → ``event_time`` in the ``timezone`` setting (a value
below 10^11 cannot be milliseconds of a real event, it would fall in 1970–73:
it is read as epoch *seconds*, as some producers — Okta's mapping — write; with
no ``time``, ``time_dt`` is read; neither → null time, counted);
``actor.user.uid`` (else ``.name``; for 3002 also the event's ``user``) →
``user_id`` (none → the event is reported and skipped: ``user_id`` is required);
first ``actor.user.groups[].name`` → ``user_role``; ``actor.user.org.uid`` →
``unit_id``; 6003: ``api.operation`` (else ``activity_name``) → ``action``; 3002:
activity 1 → ``login``, 2 → ``logout``, others their ``activity_name`` as
given; ``resources[0].type``/``.uid`` → ``object_type``/``object_id``;
``src_endpoint.ip`` → ``client_ip``; ``status`` Success/Failure (else
``status_id`` 1/2) → ``result``; ``unmapped`` → ``detail`` as JSON text
(``ensure_ascii=False``, keys sorted).

Examples
--------
>>> ev = {"class_uid": 3002, "activity_id": 2, "time": 1735689600000, "status": "Failure",
...       "metadata": {"uid": "e1"}, "actor": {"user": {"name": "zhang"}}}
>>> map_event(ev, "a.json", 1)
('e1', 1735689600000, 'zhang', 'logout', None, None, None, None, None, 'failure', None)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from auditlib.config import Settings
from auditlib.io.raw import register
from auditlib.io.report import FileReport
from auditlib.schemas import TABLES

CLASSES = (6003, 3002)
_NAMES = ("event_id", "event_time", "user_id", "action", "user_role", "unit_id", "object_type",
          "object_id", "client_ip", "result", "detail")


class _Skip(Exception):
    """An event that cannot be mapped: reported and skipped."""


def _get(d: Any, *keys: str | int) -> Any:
    for k in keys:
        if isinstance(k, int):
            d = d[k] if isinstance(d, list) and len(d) > k else None
        else:
            d = d.get(k) if isinstance(d, dict) else None
    return d


def _s(v: Any) -> str | None:
    if v is None or isinstance(v, dict | list) or (isinstance(v, str) and not v.strip()):
        return None
    return str(v).strip()


def _class(ev: dict) -> int | None:
    for v in (ev.get("class_uid"), ev.get("type_uid")):
        if isinstance(v, int | str) and not isinstance(v, bool) and str(v).isdigit():
            n = int(v)
            return n // 100 if n >= 100000 else n
    return None


def _epoch_ms(ev: dict) -> int | None:
    t = ev.get("time")
    if isinstance(t, int | float) and not isinstance(t, bool):
        return int(t * 1000 if abs(t) < 1e11 else t)
    if isinstance(t, str) and re.fullmatch(r"\d{1,18}", t.strip(), re.ASCII):
        return _epoch_ms({"time": int(t)})
    if isinstance(ev.get("time_dt"), str):
        try:
            stamp = dt.datetime.fromisoformat(ev["time_dt"].strip())
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
        return int(stamp.timestamp() * 1000)
    return None


def map_event(ev: dict, rel: str, n: int) -> tuple | None:
    """One event as a ``business_log`` row (``event_time`` as epoch ms), or None if its
    class is not 6003/3002. Raises ``_Skip`` for an event that cannot be mapped."""
    cls = _class(ev)
    if cls not in CLASSES:
        return None
    actor = _get(ev, "actor", "user")
    user = _s(_get(actor, "uid")) or _s(_get(actor, "name"))
    if user is None and cls == 3002:
        user = _s(_get(ev, "user", "uid")) or _s(_get(ev, "user", "name"))
    if user is None:
        msg = "no actor.user.uid or actor.user.name (user_id is required)"
        raise _Skip(msg)
    if cls == 6003:
        action = _s(_get(ev, "api", "operation")) or _s(ev.get("activity_name"))
    else:
        act = ev.get("activity_id")
        action = (act == 1 and "login") or (act == 2 and "logout") or _s(ev.get("activity_name"))
        action = action or (f"authentication_{act}" if isinstance(act, int) else None)
    if action is None:
        msg = "no api.operation or activity (action is required)"
        raise _Skip(msg)
    status = _s(ev.get("status"))
    result = {"success": "success", "failure": "failure"}.get((status or "").lower())
    sid = ev.get("status_id")
    result = result or (sid == 1 and "success") or (sid == 2 and "failure") or None
    unmapped = ev.get("unmapped")
    detail = (json.dumps(unmapped, ensure_ascii=False, sort_keys=True)
              if unmapped is not None else None)
    groups = _get(actor, "groups")
    role = next((_s(_get(g, "name")) for g in groups if _s(_get(g, "name"))), None) \
        if isinstance(groups, list) else None
    return (
        _s(_get(ev, "metadata", "uid")) or f"{rel}:{n}", _epoch_ms(ev), user, action, role,
        _s(_get(actor, "org", "uid")), _s(_get(ev, "resources", 0, "type")),
        _s(_get(ev, "resources", 0, "uid")), _s(_get(ev, "src_endpoint", "ip")), result, detail,
    )


def _documents(text: str, jsonl: bool, report: FileReport):
    """(event number, event) of each event of the file; bad documents are reported."""
    if not jsonl:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            first = text.lstrip().split("\n", 1)[0]
            if exc.msg == "Extra data" and first.startswith("{") and first.rstrip().endswith("}"):
                jsonl = True  # several documents, one per line
            else:
                report.read += 1
                report.error(1, f"not valid JSON: {exc.msg} (line {exc.lineno}, column "
                                f"{exc.colno})")
                return
        else:
            events = doc if isinstance(doc, list) else [doc]
            for i, ev in enumerate(events, start=1):
                yield i, ev
            return
    for i, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except json.JSONDecodeError as exc:
            report.read += 1
            report.error(i, f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        yield i, ev


def parse_ocsf_file(path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
    """Read one OCSF file (``.json``/``.ocsf`` document or array, or ``.jsonl``) into the
    canonical ``business_log`` columns, with its load report."""
    report = FileReport("business_log", rel, "ocsf")
    text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    rows: list[tuple] = []
    for n, ev in _documents(text, path.suffix.lower() == ".jsonl", report):
        report.read += 1
        if not isinstance(ev, dict):
            report.error(n, f"not an OCSF event: a JSON {type(ev).__name__}, not an object")
            continue
        try:
            row = map_event(ev, rel, n)
        except _Skip as exc:
            report.error(n, str(exc))
            continue
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            report.error(n, f"cannot map the event ({type(exc).__name__}: {exc})")
            continue
        if row is None:
            report.other_class += 1
            continue
        rows.append(row)
        report.kept += 1
    schema = TABLES["business_log"].polars_schema(settings.timezone)
    cols = {c: [r[i] for r in rows] for i, c in enumerate(_NAMES)}
    data = {c: pl.Series(c, cols[c], dtype=schema[c]) for c in schema if c != "event_time"}
    ms = pl.Series("event_time", cols["event_time"], dtype=pl.Int64)
    data["event_time"] = (pl.from_epoch(ms, time_unit="ms").cast(pl.Datetime("us"))
                          .dt.replace_time_zone("UTC").dt.convert_time_zone(settings.timezone))
    report.null_time += data["event_time"].null_count()
    return pl.DataFrame(data).select(schema.names()), report


class OcsfParser:
    name = "ocsf"
    table = "business_log"

    def sniff(self, head: bytes, path: Path) -> bool:
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        return start in (b"{", b"[") and b'"class_uid"' in head

    def parse(self, path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
        return parse_ocsf_file(path, rel, settings)


register(OcsfParser())

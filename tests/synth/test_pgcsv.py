"""The synthetic world's ``db_audit`` as a genuine pgAudit csvlog: loads to the same rows,
raises the same alerts (modulo event ids) as the table form."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from auditlib.config import Settings
from auditlib.engine import build_detectors, run
from auditlib.io.raw.pgaudit import sqlstate_code
from auditlib.io.tables import load_dir
from auditlib.registry import all_detectors
from auditlib.schemas import TABLES
from auditlib.synth import generate
from auditlib.synth.pgcsv import sqlstate_text, write_pgaudit_csvlog
from auditlib.synth.writer import conform

TZ = "Asia/Shanghai"
LOG = "postgresql-2026-H1.csv"


def _incidents(as_of: dt.date, voucher: str, indicator: str) -> pl.DataFrame:
    """Hand-made events beside the world's: direct writes (one off-hours, one spanning lines
    with quotes, commas and Chinese), a refused write, a failed login, a GRANT, a bulk read
    of a sensitive table, an application write with bound parameters, a record without
    rows (pgAudit's 9-field form), and a session id that is not PostgreSQL's form."""
    d = as_of - dt.timedelta(days=12)
    while d.weekday() >= 5:
        d -= dt.timedelta(days=1)
    at = lambda h, m, s=0: dt.datetime.combine(d, dt.time(h, m, s))  # noqa: E731
    s1 = f"{int(dt.datetime.combine(d, dt.time(14, 2)).timestamp()):x}.b3a1"  # 22:02 CST
    base = {"database": "fmis", "client_ip": "10.8.9.31", "application_name": "psql",
            "session_id": s1, "substatement_id": 1, "object_type": "TABLE",
            "parameter": "<not logged>", "retcode": 0}
    rows = [
        {**base, "event_time": at(22, 5, 1), "db_user": "dba_wang", "command": "UPDATE",
         "statement_id": 1, "audit_class": "WRITE", "object_name": "public.payment",
         "statement": f"UPDATE public.payment SET payee_account = '6217000012345678', "
                      f"payee_name = '某某商贸, \"新\"有限公司' WHERE voucher_id = '{voucher}'",
         "rows": 1},
        {**base, "event_time": at(22, 7, 30), "db_user": "dba_wang", "command": "UPDATE",
         "statement_id": 2, "audit_class": "WRITE", "object_name": "public.indicator",
         "statement": f"UPDATE public.indicator\n   SET amount = amount + 300000\n"
                      f" WHERE indicator_id = '{indicator}'", "rows": 1},
        {**base, "event_time": at(22, 8, 2), "db_user": "dba_wang", "command": "DELETE",
         "statement_id": None, "substatement_id": None, "audit_class": None,
         "object_type": None, "object_name": None, "parameter": None,
         "statement": "DELETE FROM public.indicator WHERE fiscal_year = 2025", "rows": None,
         "retcode": 42501},
        {**base, "event_time": at(22, 9, 0), "db_user": "dba_wang", "command": "GRANT",
         "statement_id": 3, "audit_class": "ROLE", "object_name": None,
         "statement": "GRANT UPDATE ON public.payment TO report_ro", "rows": 0},
        {**base, "event_time": at(22, 9, 40), "db_user": "dba_wang", "command": "SELECT",
         "statement_id": 4, "audit_class": "READ", "object_name": "public.payee",
         "statement": "SELECT * FROM public.payee", "rows": 48000},
        {"event_time": at(9, 30, 15), "db_user": "sa", "command": "FAILED_CONNECT",
         "database": "fmis", "client_ip": "10.20.3.77", "application_name": None,
         "session_id": f"{int(dt.datetime.combine(d, dt.time(1, 30, 15)).timestamp()):x}.c351",
         "retcode": sqlstate_code("28P01")},
        {"event_time": at(10, 1, 2), "db_user": "budget_app", "command": "INSERT",
         "database": "fmis", "client_ip": "10.8.0.11", "application_name": "budget-app",
         "session_id": "880213", "statement_id": 7, "substatement_id": 1,
         "audit_class": "WRITE", "object_type": "TABLE", "object_name": "public.payee",
         "statement": "INSERT INTO public.payee VALUES ($1, $2)",
         "parameter": "6222000011112222,\"某某物业, 管理\"", "rows": 1, "retcode": 0},
        {"event_time": at(10, 2, 3), "db_user": "budget_app", "command": "CREATE TABLE",
         "database": None, "client_ip": None, "application_name": None, "session_id": "880213",
         "statement_id": 8, "substatement_id": 1, "audit_class": "DDL", "object_type": None,
         "object_name": None, "statement": None, "parameter": None, "rows": None,
         "retcode": None},
    ]
    types = {c.name: t for c, t in zip(TABLES["db_audit"].columns,
                                       TABLES["db_audit"].polars_schema().values(), strict=True)}
    types["event_time"] = pl.Datetime("us")
    return pl.DataFrame(
        [{c: r.get(c) for c in types if c != "event_id"} for r in rows],
        schema={c: t for c, t in types.items() if c != "event_id"},
    ).with_columns(
        (pl.lit("X") + (pl.int_range(pl.len()) + 1).cast(pl.String)).alias("event_id"))


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> dict:
    """The same world in two data dirs: db_audit as a table (CSV) and as a csvlog."""
    world = tmp_path_factory.mktemp("world")
    summary = generate(world, seed=11, scale=0.05)
    as_of = dt.date.fromisoformat(summary["as_of"])
    raw_db = pl.read_csv(world / "db_audit.csv", infer_schema=False)
    pay = pl.read_csv(world / "payments.csv", infer_schema=False)
    ind = pl.read_csv(world / "indicators.csv", infer_schema=False)
    table, raw = tmp_path_factory.mktemp("table_form"), tmp_path_factory.mktemp("csvlog_form")
    for p in world.iterdir():
        if p.is_file() and p.name != "db_audit.csv":
            shutil.copy(p, table / p.name)
            shutil.copy(p, raw / p.name)
    # the world's events, typed, plus the incidents; naive local times as the synth writes
    world_db = load_dir(world, Settings.load(world), ["db_audit"])["db_audit"]
    events = pl.concat([
        world_db.with_columns(pl.col("event_time").dt.replace_time_zone(None)),
        _incidents(as_of, pay["voucher_id"][0], ind["indicator_id"][0]).select(world_db.columns),
    ])
    assert events.height == raw_db.height + 8
    conform("db_audit", events).write_csv(table / "db_audit.csv",
                                          datetime_format="%Y-%m-%d %H:%M:%S")
    (raw / "db_audit").mkdir()
    ids = write_pgaudit_csvlog(events, raw / "db_audit" / LOG, timezone=TZ)
    return {"table": table, "raw": raw, "ids": ids, "events": events}


def _load(d: Path):
    return load_dir(d, Settings.load(d))


def test_the_file_is_a_postgresql_15_csvlog(forms):
    path = forms["raw"] / "db_audit" / LOG
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == forms["events"].height
    assert {len(r) for r in rows} == {26}
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # time order
    assert all(r[0].endswith(" CST") and r[8].endswith(" CST") for r in rows)
    assert {(r[11], r[12]) for r in rows} == {
        ("LOG", "00000"), ("ERROR", "42501"), ("FATAL", "28P01")}
    audit = [r for r in rows if r[11] == "LOG"]
    assert all(r[13].startswith("AUDIT: SESSION,") for r in audit)
    assert all(r[23] == "client backend" and r[25] == "0" for r in rows)
    err = next(r for r in rows if r[11] == "ERROR")
    assert err[13] == "permission denied for table indicator"
    assert err[19].startswith("DELETE FROM public.indicator")
    # a session's records count up, one process per session
    by_session: dict[str, list[list[str]]] = {}
    for r in rows:
        by_session.setdefault(r[5], []).append(r)
    for recs in by_session.values():
        assert [int(r[6]) for r in recs] == list(range(1, len(recs) + 1))
        assert len({r[3] for r in recs}) == 1


def test_same_rows_as_the_table_form(forms):
    a = _load(forms["table"])
    b = _load(forms["raw"])
    [fr] = [f for f in b.report.files if f.table == "db_audit"]
    n = forms["events"].height
    assert (fr.format, fr.read, fr.kept, fr.skipped, fr.other_class, fr.null_time) == (
        "pgaudit-csvlog", n, n, 0, 0, 0), fr.errors
    ta, tb = a["db_audit"], b["db_audit"]
    assert ta.height == tb.height == n
    # align: each table event is the csvlog record the writer says
    ids = forms["ids"].with_columns((pl.lit(LOG + ":") + pl.col("record").cast(pl.String))
                                    .alias("raw_id"))
    expect = (ta.join(ids, on="event_id", how="left", maintain_order="left")
              .sort("record").drop("event_id", "record").rename({"raw_id": "event_id"})
              # a pgAudit record carries no return code: the reader keeps null for 0
              .with_columns(pl.when(pl.col("retcode") != 0).then(pl.col("retcode"))
                            .alias("retcode"))
              .select(tb.columns))
    got = tb.sort(pl.col("event_id").str.extract(r":(\d+)$").cast(pl.Int64))
    assert_frame_equal(got, expect)
    # the other tables are untouched
    for t in a.tables:
        if t != "db_audit":
            assert_frame_equal(a[t], b[t])


def _db_detectors() -> list[str]:
    return sorted(k for k, cls in all_detectors().items()
                  if "db_audit" in (*cls.requires, *getattr(cls, "optional", ())))


def test_same_alerts_as_the_table_form(forms):
    only = _db_detectors()
    if not only:
        pytest.skip("no detector reads db_audit yet")
    a, b = _load(forms["table"]), _load(forms["raw"])
    ra = run(a, detectors=build_detectors(a.settings, only=only))
    rb = run(b, detectors=build_detectors(b.settings, only=only))
    assert ra.failed == rb.failed == {}
    assert ra.skipped == rb.skipped
    # csvlog event ids back to the table's, then the alerts must be identical but for
    # alert ids (a finding keyed by a DB event keeps its key, under the other id)
    back = dict(zip((LOG + ":" + forms["ids"]["record"].cast(pl.String)).to_list(),
                    forms["ids"]["event_id"].to_list(), strict=True))

    rx = re.compile(re.escape(LOG) + r":\d+")

    def norm(alerts: pl.DataFrame, mapping: dict[str, str]) -> list[tuple]:
        out = []
        for r in alerts.drop("alert_id").iter_rows(named=True):
            ev = sorted(("db_audit:" + mapping.get(e[9:], e[9:])) if e.startswith("db_audit:")
                        else e for e in r.pop("evidence"))
            text = {k: r.pop(k) for k in ("explanation", "explanation_en", "title", "title_en")}
            for k, v in text.items():
                text[k] = rx.sub(lambda m: mapping.get(m.group(0), m.group(0)), v or "")
            out.append((tuple(sorted(r.items(), key=lambda kv: kv[0])), tuple(ev),
                        tuple(sorted(text.items()))))
        return sorted(out, key=repr)

    na, nb = norm(ra.alerts, {}), norm(rb.alerts, back)
    assert len(na) == len(nb)
    assert na == nb
    # the incidents are seen (whatever else fires): the direct writes of dba_wang
    dw = rb.alerts.filter(pl.col("detector_id") == "db.direct_write")
    if "db.direct_write" in only:
        refs = {e for es in dw["evidence"].to_list() for e in es}
        x = forms["ids"].filter(pl.col("event_id").is_in(["X1", "X2"]))["record"].to_list()
        assert {f"db_audit:{LOG}:{n}" for n in x} <= refs


# -------------------------------------------------------------------------------- units
def test_sqlstate_round_trip():
    for s in ("42501", "42P01", "28P01", "28000", "57014", "0A000", "XX000", "P0001",
              "53R00", "3D000", "01000", "02000", "08P01"):
        assert sqlstate_text(sqlstate_code(s)) == s
    for n in (1045, 1064, 1142, 2600, 1088):  # MariaDB-style numbers round-trip as ints
        assert sqlstate_code(sqlstate_text(n)) == n
    with pytest.raises(ValueError, match="not a SQLSTATE"):
        sqlstate_text(-5)


def test_rejects_what_a_csvlog_cannot_hold(tmp_path):
    ev = pl.DataFrame({"event_id": ["C1"], "event_time": [dt.datetime(2026, 3, 2, 9)],
                       "db_user": ["app"], "command": ["CONNECT"], "retcode": [0]})
    with pytest.raises(ValueError, match=r"C1.*statement_id"):
        write_pgaudit_csvlog(ev, tmp_path / "x.csv")
    with pytest.raises(ValueError, match="db_user is missing"):
        write_pgaudit_csvlog(ev.with_columns(pl.lit(None, pl.String).alias("db_user")),
                             tmp_path / "x.csv")


def test_aware_and_naive_times_agree(tmp_path):
    naive = pl.DataFrame({
        "event_id": ["E1", "E2"],
        "event_time": [dt.datetime(2026, 3, 2, 9, 0, 0, 123999), dt.datetime(2026, 3, 2, 8)],
        "db_user": ["app", "app"], "command": ["SELECT", "SELECT"],
        "statement_id": [1, 2], "substatement_id": [1, 1], "audit_class": ["READ", "READ"],
    })
    aware = naive.with_columns(pl.col("event_time").dt.replace_time_zone(TZ)
                               .dt.convert_time_zone("UTC"))
    ids1 = write_pgaudit_csvlog(naive, tmp_path / "a.csv")
    ids2 = write_pgaudit_csvlog(aware, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert ids1["record"].to_list() == ids2["record"].to_list() == [1, 2]
    assert ids1["event_id"].to_list() == ["E2", "E1"]  # written in time order
    text = (tmp_path / "a.csv").read_text("utf-8")
    assert text.startswith("2026-03-02 08:00:00.000 CST,")
    assert "\n2026-03-02 09:00:00.123 CST," in text  # milliseconds, truncated as PostgreSQL

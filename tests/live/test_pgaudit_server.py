"""A real PostgreSQL 15 server with pgAudit: its own csvlog and stderr logs, loaded and audited.

A small budget schema; the application account ``budget_app`` works the normal way
(prepared INSERTs with logged parameters, an UPDATE spanning lines, a read of the
object-audited ``public.payee``); the DBA ``dba_li`` changes a payee account directly in
``public.payment``, GRANTs, and is refused an UPDATE of ``public.indicator``. Then the
server's own log files are loaded as a ``db_audit/`` folder and checked against what the
files hold (read independently with Python's csv module) and against each other; and
``db.direct_write`` must name the DBA's UPDATE record, and nothing of the application.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import yaml

from auditlib.config import Settings
from auditlib.io.tables import Dataset, load_dir

pytestmark = pytest.mark.postgres

TZ = "Asia/Shanghai"

SETUP = """
CREATE EXTENSION pgaudit;
CREATE ROLE auditor NOLOGIN;
CREATE ROLE budget_app LOGIN;
CREATE ROLE dba_li LOGIN;
CREATE ROLE report_ro NOLOGIN;
CREATE TABLE public.payment (voucher_id text PRIMARY KEY, unit_id text,
    amount numeric(18,2), payee_account text, status text);
CREATE TABLE public.indicator (indicator_id text PRIMARY KEY, unit_id text,
    fiscal_year int, amount numeric(18,2), purpose text);
CREATE TABLE public.payee (payee_account text PRIMARY KEY, payee_name text, bank_name text);
GRANT SELECT, INSERT, UPDATE ON public.payment, public.indicator, public.payee TO budget_app;
GRANT SELECT, UPDATE ON public.payment TO dba_li WITH GRANT OPTION;
GRANT SELECT ON public.indicator TO dba_li;
GRANT SELECT ON public.payee TO auditor;
"""
APP = """
INSERT INTO public.indicator VALUES ('ZB2026000001', '001001', 2026, 500000.00, '办公费');
INSERT INTO public.payee VALUES ('6222000011112222', '某某物业管理有限公司', '工商银行'),
    ('6222000033334444', '张三, "李四" 合伙', '建设银行');
PREPARE pay(text, text, numeric, text) AS
    INSERT INTO public.payment VALUES ($1, $2, $3, $4, 'paid');
EXECUTE pay('V2026000001', '001001', 1234.50, '6222000011112222');
EXECUTE pay('V2026000002', '001001', 88000.00, '6222000033334444');
UPDATE public.payment
   SET status = 'returned'
 WHERE voucher_id = 'V2026000002';
SELECT payee_name FROM public.payee WHERE payee_account = '6222000011112222';
"""
DBA_UPDATE = ("UPDATE public.payment SET payee_account = '6217999900001111' "
              "WHERE voucher_id = 'V2026000001';")
DBA = f"""
SELECT voucher_id, payee_account FROM public.payment WHERE voucher_id = 'V2026000001';
{DBA_UPDATE}
GRANT UPDATE ON public.payment TO report_ro;
UPDATE public.indicator SET purpose = '会议费' WHERE indicator_id = 'ZB2026000001';
"""


@dataclass
class Session:
    csv_dir: Path  # a data dir whose db_audit/ holds the server's csvlog
    stderr_dir: Path  # ... and one whose db_audit/ holds its stderr log
    csv_file: Path
    stderr_file: Path
    start: dt.datetime
    end: dt.datetime


def _settings(prefix: str, today: dt.date) -> dict:
    from auditlib.calendar import Calendar

    doc: dict = {
        "as_of": today.isoformat(), "timezone": TZ,
        "db": {"app_users": ["budget_app"],
               "protected_tables": ["public.payment", "public.indicator"],
               "sensitive_tables": ["public.payee"], "log_line_prefix": prefix},
    }
    if today.year not in Calendar().years:  # the clock is past the holiday package's years
        doc["calendar"] = {"holidays": [f"{today.year}-01-01"]}  # 元旦, always a holiday
    return doc


@pytest.fixture(scope="module")
def session(pg_cluster, tmp_path_factory) -> Session:
    start = dt.datetime.now(dt.UTC)
    pg_cluster.psql("CREATE DATABASE budget;", db="postgres")
    pg_cluster.psql(SETUP)
    pg_cluster.psql(APP, user="budget_app", app="budget-app")
    out = pg_cluster.psql(DBA, user="dba_li", app="psql", check=False)
    assert "permission denied for table indicator" in out.stderr, out.stderr
    end = dt.datetime.now(dt.UTC)
    pg_cluster.stop()  # every record written and flushed
    csvs, logs = pg_cluster.logs(".csv"), pg_cluster.logs(".log")
    assert len(csvs) == 1, f"expected one csvlog file (rotation is off): {csvs}"
    assert len(logs) == 1, f"expected one stderr log file: {logs}"
    today = end.astimezone(zoneinfo.ZoneInfo(TZ)).date()
    dirs = []
    for src in (csvs[0], logs[0]):
        d = tmp_path_factory.mktemp("pgaudit_" + src.suffix[1:])
        (d / "db_audit").mkdir()
        shutil.copy(src, d / "db_audit" / src.name)
        (d / "auditlib.yaml").write_text(
            yaml.safe_dump(_settings(pg_cluster.log_line_prefix, today), allow_unicode=True),
            encoding="utf-8")
        dirs.append(d)
    return Session(dirs[0], dirs[1], dirs[0] / "db_audit" / csvs[0].name,
                   dirs[1] / "db_audit" / logs[0].name, start, end)


def _load(d: Path) -> Dataset:
    return load_dir(d, Settings.load(d), ["db_audit"])


def _csv_rows(path: Path) -> list[list[str]]:
    """The csvlog's records, read independently of auditlib: one CSV row each."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _record_of(rows: list[list[str]], user: str, text: str) -> int:
    """The 1-based record number of ``user``'s AUDIT record whose message has ``text``."""
    hits = [i for i, r in enumerate(rows, start=1)
            if r[1] == user and r[13].startswith("AUDIT: ") and text in r[13]]
    assert len(hits) == 1, f"expected one AUDIT record of {user} with {text!r}: {hits}"
    return hits[0]


# ------------------------------------------------------------------------------ csvlog
def test_csvlog_every_record_read(session):
    rows = _csv_rows(session.csv_file)
    assert {len(r) for r in rows} == {26}, "PostgreSQL 15 csvlog rows have 26 columns"
    ds = _load(session.csv_dir)
    [fr] = ds.report.files
    assert fr.format == "pgaudit-csvlog"
    assert fr.read == len(rows)
    assert fr.skipped == 0, fr.errors
    assert fr.null_time == 0
    assert fr.read == fr.kept + fr.skipped + fr.other_class
    n_audit = sum(r[13].startswith("AUDIT: ") for r in rows)
    n_error = sum(r[11] == "ERROR" and r[1] != "" for r in rows)
    assert n_error == 1  # the DBA's refused UPDATE
    assert fr.kept == n_audit + n_error == ds["db_audit"].height
    assert fr.other_class == len(rows) - n_audit - n_error > 0  # connections, start-up...


def test_csvlog_events(session):
    db = _load(session.csv_dir)["db_audit"]
    name = session.csv_file.name
    assert db.schema["event_time"] == pl.Datetime("us", TZ)
    assert db["event_id"].str.starts_with(name + ":").all()
    assert db["event_id"].n_unique() == db.height
    # the server's fields
    lo, hi = session.start - dt.timedelta(seconds=5), session.end + dt.timedelta(seconds=5)
    utc = db["event_time"].dt.convert_time_zone("UTC").to_list()
    assert all(lo <= t <= hi for t in utc), (lo, hi, min(utc), max(utc))
    assert set(db["client_ip"]) == {"127.0.0.1"}
    assert set(db["database"]) == {"postgres", "budget"}
    assert db["session_id"].str.contains(r"^[0-9a-f]+\.[0-9a-f]+$").all()
    assert db["retcode"].drop_nulls().to_list() == [42501]

    app = db.filter(pl.col("db_user") == "budget_app")
    assert set(app["application_name"]) == {"budget-app"}
    writes = app.filter(pl.col("audit_class") == "WRITE", pl.col("object_name").is_not_null())
    assert sorted(writes["object_name"]) == sorted(
        ["public.indicator", "public.payee", "public.payment", "public.payment",
         "public.payment"])
    assert writes.select(pl.col("statement_id", "substatement_id", "object_type", "rows")
                         .is_not_null().all()).row(0) == (True, True, True, True)
    inserts = writes.filter(pl.col("object_name") == "public.payment",
                            pl.col("command") == "INSERT")
    assert inserts["parameter"].to_list() == ["V2026000001,001001,1234.50,6222000011112222",
                                              "V2026000002,001001,88000.00,6222000033334444"]
    assert inserts["statement"].str.contains("PREPARE pay").all()
    multi = app.filter(pl.col("command") == "UPDATE")
    assert multi["statement"].to_list() == [
        "UPDATE public.payment\n   SET status = 'returned'\n WHERE voucher_id = 'V2026000002';"]
    payee = app.filter(pl.col("object_name") == "public.payee", pl.col("command") == "INSERT")
    assert '\'张三, "李四" 合伙\'' in payee["statement"][0]
    read = app.filter(pl.col("audit_class") == "READ")  # object audit (pgaudit.role)
    assert read.select("command", "object_name", "rows").rows() == [("SELECT", "public.payee", 1)]

    dba = db.filter(pl.col("db_user") == "dba_li")
    assert set(dba["application_name"]) == {"psql"}
    assert dba.select("command", "audit_class", "object_name", "statement_id",
                      "substatement_id", "rows", "retcode").rows() == [
        ("UPDATE", "WRITE", "public.payment", 1, 1, 1, None),
        ("GRANT", "ROLE", None, 2, 1, 0, None),
        ("UPDATE", None, None, None, None, None, 42501),
    ]
    assert dba["statement"].to_list()[:2] == [DBA_UPDATE,
                                              "GRANT UPDATE ON public.payment TO report_ro;"]
    assert "public.indicator" in dba["statement"][2]
    # record numbers: the position among all the file's records, read independently
    rows = _csv_rows(session.csv_file)
    n = _record_of(rows, "dba_li", "SET payee_account")
    assert dba["event_id"][0] == f"{name}:{n}"


def test_direct_write_names_the_dba_update(session):
    from auditlib.engine import build_detectors, run
    from auditlib.registry import all_detectors

    if "db.direct_write" not in all_detectors():
        pytest.skip("db.direct_write is not registered yet")
    ds = _load(session.csv_dir)
    result = run(ds, detectors=build_detectors(ds.settings))
    assert not result.failed, f"detectors failed on a real server's log: {result.failed}"
    assert "db.direct_write" not in result.skipped
    dw = result.alerts.filter(pl.col("detector_id") == "db.direct_write")
    n = _record_of(_csv_rows(session.csv_file), "dba_li", "SET payee_account")
    ref = f"db_audit:{session.csv_file.name}:{n}"
    assert dw["entity_id"].to_list() == ["dba_li"], dw.select("entity_id", "title_en")
    evidence = [e for es in dw["evidence"].to_list() for e in es.split(";")] \
        if dw.schema["evidence"] == pl.String else dw["evidence"].explode().to_list()
    assert ref in evidence
    assert "public.payment" in dw["explanation_en"][0]
    # the application's writes and the refused UPDATE rest on no alert of this detector
    db = ds["db_audit"]
    others = db.filter((pl.col("db_user") == "budget_app") | pl.col("retcode").is_not_null())
    assert not {f"db_audit:{e}" for e in others["event_id"]} & set(evidence)


# ------------------------------------------------------------------------------ stderr
def test_stderr_log_every_record_read(session):
    text = session.stderr_file.read_text(encoding="utf-8")
    lines = [ln for ln in text.split("\n") if ln]
    records = [ln for ln in lines if not ln.startswith("\t")]  # PostgreSQL indents the rest
    assert len(records) < len(lines), "the multi-line UPDATE has continuation lines"
    ds = _load(session.stderr_dir)
    [fr] = ds.report.files
    assert fr.format == "pgaudit-stderr"
    assert fr.read == len(records)
    assert fr.skipped == 0, fr.errors
    assert fr.null_time == 0
    assert fr.read == fr.kept + fr.skipped + fr.other_class
    n_audit = sum(bool(re.search(r"\b(?:LOG):  AUDIT: ", r)) for r in records)
    assert fr.kept == n_audit + 1 == ds["db_audit"].height  # + the refused UPDATE


def test_stderr_and_csvlog_give_the_same_events(session):
    a = _load(session.csv_dir)["db_audit"].drop("event_id")
    b = _load(session.stderr_dir)["db_audit"].drop("event_id")
    assert a.height == b.height
    key = ["event_time", "session_id", "statement_id", "substatement_id", "object_name"]
    a, b = a.sort(key, nulls_last=True), b.sort(key, nulls_last=True)
    for col in a.columns:
        assert a[col].to_list() == b[col].to_list(), col


# ------------------------------------------------- the synthetic writer against the server
def test_synthetic_csvlog_writer_matches_the_server(session, tmp_path):
    """``auditlib.synth.pgcsv`` rewrites the server's events: the records it writes carry
    the very fields the server wrote (pgAudit's payload byte for byte, times, process and
    session), and load back to the same events."""
    from auditlib.synth.pgcsv import write_pgaudit_csvlog

    real = _load(session.csv_dir)["db_audit"]
    out = tmp_path / "db_audit" / "rewritten.csv"
    ids = write_pgaudit_csvlog(real, out, timezone=TZ)
    server = _csv_rows(session.csv_file)
    ours = _csv_rows(out)
    assert len(ours) == real.height and {len(r) for r in ours} == {26}
    same = (0, 1, 2, 3, 5, 8, 11, 12, 13, 19, 22, 23)  # time, user, db, pid, session,
    # session start, severity, SQLSTATE, message, query, application, backend type
    for event_id, record in ids.rows():
        srv = server[int(event_id.rsplit(":", 1)[1]) - 1]
        mine = ours[record - 1]
        # the table has no column for pgAudit's audit type: the writer says SESSION
        srv = [*srv[:13], srv[13].replace("AUDIT: OBJECT,", "AUDIT: SESSION,", 1), *srv[14:]]
        assert [mine[i] for i in same] == [srv[i] for i in same], (event_id, srv, mine)
    (tmp_path / "auditlib.yaml").write_text((session.csv_dir / "auditlib.yaml").read_text())
    again = _load(tmp_path)["db_audit"]
    assert again.drop("event_id").equals(real.drop("event_id"))

"""The log benchmark on a tiny world: the three csvlog parsers give the same rows, the
twins the same core findings as the detectors, and the parser the same rows for a CRLF,
BOM or damaged copy of a csvlog as for the plain file.

No wall-clock assertions: timing is for ``benchmarks/logs_run.py``; this only keeps the
pandas and DuckDB twins honest.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pandas")
pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

import polars as pl
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import logs_common as C  # noqa: E402
from benchmarks import logs_duckdb, logs_pandas  # noqa: E402
from benchmarks.logs_data import CSVLOG, build_small  # noqa: E402
from benchmarks.logs_run import (  # noqa: E402
    compare_parsed,
    params_for,
    run_engine,
)
from benchmarks.run import compare  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5k csvlog records (synth scale 0.11) with the db and xcheck cases."""
    return build_small(tmp_path_factory.mktemp("logs_world"), scale=0.11, seed=5)


def _edge_events() -> pl.DataFrame:
    """Records that are rare in the synth world: multi-line and quoted statements, bound
    parameters with commas, no ``rows`` (9 pgAudit fields), failed statements, a failed
    log-in, no object name, a second relation of one statement."""
    t = dt.datetime(2026, 3, 2, 22, 5, 1)
    rows = [
        (
            "E1",
            0,
            "dba_li",
            "UPDATE",
            "public.payment",
            "UPDATE public.payment SET memo = 'a, \"b\"'\nWHERE voucher_id = 'V1'",
            "<not logged>",
            1,
            0,
        ),
        (
            "E2",
            1,
            "etl_user",
            "TRUNCATE TABLE",
            "staging.pay_sync",
            "TRUNCATE staging.pay_sync",
            "<none>",
            None,
            0,
        ),
        (
            "E3",
            2,
            "budget_app",
            "UPDATE",
            "public.payment",
            "UPDATE public.payment SET amount = $1 WHERE voucher_id = $2",
            "1200.50,V2",
            1,
            0,
        ),
        ("E4", 3, "dba_li", "UPDATE", None, "UPDATE public.payment SET x = 1", None, None, 42501),
        (
            "E5",
            4,
            "mallory",
            "LOGIN",
            None,
            None,
            None,
            None,
            (1 << 30) | sum(((ord(c) - 48) & 0x3F) << (6 * i) for i, c in enumerate("28P01")),
        ),
        (
            "E6",
            5,
            "dba_wang",
            "GRANT",
            None,
            "GRANT SELECT ON public.payee TO u_tmp",
            "<none>",
            None,
            0,
        ),
        (
            "E7",
            6,
            "dba_li",
            "DELETE",
            "public.payment",
            "DELETE FROM public.payment p USING "
            "public.indicator i WHERE p.indicator_id = i.indicator_id AND i.memo = '作废'",
            "<not logged>",
            3,
            0,
        ),
        (
            "E8",
            6,
            "dba_li",
            "DELETE",
            "public.indicator",
            "DELETE FROM public.payment p USING "
            "public.indicator i WHERE p.indicator_id = i.indicator_id AND i.memo = '作废'",
            "<not logged>",
            3,
            0,
        ),
    ]
    return pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "event_time": [t + dt.timedelta(seconds=10 * r[1]) for r in rows],
            "db_user": [r[2] for r in rows],
            "command": [r[3] for r in rows],
            "database": ["fmis"] * len(rows),
            "client_ip": ["10.8.9.21"] * len(rows),
            "application_name": ["psql"] * len(rows),
            "session_id": ["69a5976f.9c41"] * len(rows),
            "statement_id": [None if r[8] else 10 + min(r[1], 6) for r in rows],
            "substatement_id": [None if r[8] else 1 for r in rows],
            "audit_class": [
                None if r[8] else ("ROLE" if r[3] == "GRANT" else "WRITE") for r in rows
            ],
            "object_type": ["TABLE" if r[4] else None for r in rows],
            "object_name": [r[4] for r in rows],
            "statement": [r[5] for r in rows],
            "parameter": [r[6] for r in rows],
            "rows": [r[7] for r in rows],
            "retcode": [r[8] for r in rows],
        },
        schema_overrides={
            "statement_id": pl.Int64,
            "substatement_id": pl.Int64,
            "rows": pl.Int64,
            "retcode": pl.Int64,
        },
    )


def _parsed(tmp: Path, data: Path) -> dict[str, str]:
    """Each parser's db_audit as Parquet (polars = auditlib's loader)."""
    from auditlib.config import Settings
    from auditlib.io.tables import load_dir

    settings = Settings.load(data)
    csv = data / "db_audit" / CSVLOG
    tz = settings.timezone
    out = {}
    df = load_dir(data, settings, tables=["db_audit"])["db_audit"]
    pq.write_table(df.to_arrow(), out.setdefault("polars", str(tmp / "polars.parquet")))
    pd_df = logs_pandas.parse_csvlog(csv, CSVLOG, tz)
    import pyarrow as pa

    pq.write_table(
        pa.Table.from_pandas(pd_df, preserve_index=False),
        out.setdefault("pandas", str(tmp / "pandas.parquet")),
    )
    con = logs_duckdb.connect()
    logs_duckdb.parse_csvlog(con, csv, CSVLOG, tz)
    pq.write_table(logs_duckdb.parsed(con), out.setdefault("duckdb", str(tmp / "duckdb.parquet")))
    return out


def test_parsers_agree_on_world(world: Path, tmp_path: Path) -> None:
    paths = _parsed(tmp_path, world)
    assert pq.read_table(paths["polars"]).num_rows > 3000
    assert compare_parsed(paths) == []


def test_parsers_agree_on_edge_records(tmp_path: Path) -> None:
    from auditlib.synth.pgcsv import write_pgaudit_csvlog

    data = tmp_path / "edge"
    (data / "db_audit").mkdir(parents=True)
    write_pgaudit_csvlog(_edge_events(), data / "db_audit" / CSVLOG)
    text = (data / "db_audit" / CSVLOG).read_text("utf-8")
    assert ",ERROR," in text and ",FATAL," in text and "\n" in text.split("AUDIT: ")[1]
    paths = _parsed(tmp_path, data)
    got = pq.read_table(paths["polars"]).to_pylist()
    assert [r["retcode"] for r in got][3:5] == [42501, C.sqlstate_code("28P01")]
    assert got[4]["command"] == "FAILED_CONNECT" and got[1]["rows"] is None
    assert got[2]["parameter"] == "1200.50,V2"
    assert compare_parsed(paths) == []


def test_core_findings_agree(world: Path, tmp_path: Path) -> None:
    params = params_for(world)
    paths = {}
    for engine in ("polars", "pandas", "duckdb"):
        keep = tmp_path / engine
        keep.mkdir()
        _, found, _ = run_engine(engine, world, params, keep)
        pq.write_table(found, keep / "f.parquet")
        paths[engine] = str(keep / "f.parquet")
    found = pq.read_table(paths["polars"]).column("detector_id").to_pylist()
    assert set(found) == set(C.TWINNED)  # both rules find something in the synth world
    assert compare(paths) == []


def test_shared_constants_match_auditlib() -> None:
    from auditlib.detectors import _dblog, _xcheck
    from auditlib.io.raw import pgaudit

    assert C.WRITE_VERBS == _dblog.WRITE_VERBS and C.READ_VERBS == _dblog.READ_VERBS
    assert C.MARKER == _dblog._MARKER and C.GENERIC_ID == _dblog.GENERIC_ID
    assert C.AUDIT_FIELDS == pgaudit._AUDIT and C.SEVERITY_EN == pgaudit._SEVERITY_EN
    assert C.FAILED == pgaudit._FAILED
    assert C.SESSION_ACTIONS == _xcheck.SESSION_ACTIONS and C.NOT_DATA == _xcheck.NOT_DATA
    for state in ("42501", "42P01", "XX000", "28P01", "", "4250"):
        assert C.sqlstate_code(state) == pgaudit.sqlstate_code(state)
    for pat, name in (
        ("payment", "public.payment"),
        ("public.*", "public.x"),
        ("x.payment", "public.payment"),
    ):
        assert C.obj_match(pat, name) == _dblog._obj_match(pat, name)
    ids = pl.Series(["V2026000123", "IND-2026-01", "u0005.zd2", "A/B 7", "12345"])
    shapes = ids.str.replace_all(r"\d", "\x00").to_list()
    assert C.id_pattern(shapes) == _dblog.id_pattern(ids)
    many = pl.Series([f"{'X' * (i % 70)}{i}" for i in range(200)])
    assert C.id_pattern(many.str.replace_all(r"\d", "\x00").to_list()) == _dblog.id_pattern(many)


_LOAD = """
import json, sys
from pathlib import Path
import pyarrow.parquet as pq
from auditlib.config import Settings
from auditlib.io.tables import load_dir
data = Path(sys.argv[1])
ds = load_dir(data, Settings.load(data), tables=["db_audit"])
pq.write_table(ds["db_audit"].to_arrow(), sys.argv[2] + ".parquet")
files = [{k: v for k, v in vars(f).items() if k != "file"} for f in ds.report.files]
Path(sys.argv[2] + ".json").write_text(json.dumps(files, default=str))
"""


def _load(data: Path, out: Path) -> tuple[str, list]:
    subprocess.run(
        [sys.executable, "-c", _LOAD, str(data), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return str(out) + ".parquet", json.loads(Path(str(out) + ".json").read_text())


def _variant(tmp_path: Path, variant: str) -> Path:
    from auditlib.synth.pgcsv import write_pgaudit_csvlog

    data = tmp_path / variant
    path = data / "db_audit" / CSVLOG
    path.parent.mkdir(parents=True)
    write_pgaudit_csvlog(_edge_events(), path)
    raw = path.read_bytes()
    if variant == "crlf":
        raw = raw.replace(b"\n", b"\r\n")
    elif variant == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif variant == "bad_record":
        lines = raw.split(b"\n")
        raw = b"\n".join([*lines[:3], b"not a csvlog record", *lines[3:]])
    path.write_bytes(raw)
    return data


@pytest.mark.parametrize("variant", ["crlf", "bom", "bad_record"])
def test_parser_variants_give_the_plain_files_rows(tmp_path: Path, variant: str) -> None:
    """The batched fast path (a plain UTF-8 csvlog) and the text path (a BOM, CRLF line
    ends, an unreadable record) give the same rows; the unreadable record is reported."""
    plain, rep_plain = _load(_variant(tmp_path, "plain"), tmp_path / "plain")
    got, rep = _load(_variant(tmp_path, variant), tmp_path / variant)
    assert rep[0]["kept"] == rep_plain[0]["kept"]
    if variant != "bad_record":
        assert compare_parsed({"plain": plain, variant: got}) == []
        return
    # the extra line is a record of its own (counted, never silently dropped), so the
    # record numbers in the event ids after it move by one; every other column is the same
    a, b = pl.read_parquet(plain).drop("event_id"), pl.read_parquet(got).drop("event_id")
    assert a.equals(b)
    assert rep[0]["skipped"] == rep_plain[0]["skipped"] + 1
    assert any("record 3" in e and "not a csvlog row" in e for e in rep[0]["errors"])

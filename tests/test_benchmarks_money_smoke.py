"""The money-detector benchmark on a tiny world: polars, pandas and DuckDB agree.

No wall-clock assertions: timing is for ``benchmarks/money_run.py``; this keeps the
pandas and DuckDB twins honest on a ~5k-payment synth
world with hand-written edge rows added (masked beneficiary ids, catch-ups, reversals,
evidence keys that need escaping, times off work on a make-up day and at night).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("pandas")
pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.money_common import (  # noqa: E402
    TWINNED,
    canonical,
    compare_benford,
    compare_findings,
)
from benchmarks.money_run import rule_params, run_engine  # noqa: E402

ENGINES = ("polars", "pandas", "duckdb")
MASKED = "330102********1234"


def _append(path: Path, rows: list[dict]) -> None:
    t = pq.read_table(path)
    extra = pa.Table.from_pylist(rows, schema=t.schema)
    pq.write_table(pa.concat_tables([t, extra]), path)


def _edge_rows(d: Path) -> None:
    day = dt.date.fromisoformat
    sub = []

    def s(disb, ben, name, date, yuan, unit="U0001", program="BT001"):
        sub.append(
            {
                "disbursement_id": disb,
                "program_code": program,
                "beneficiary_id": ben,
                "beneficiary_name": name,
                "account_no": "6222000011112222",
                "amount": Decimal(yuan),
                "pay_date": day(date),
                "region_code": "330102",
                "unit_id": unit,
            }
        )

    # a masked id: the name tells people apart (NFKC, spaces removed)
    s("EDGE-S01", MASKED, "张 三", "2026-03-05", "500.00")
    s("EDGE-S02", MASKED, "张三", "2026-03-20", "500.00")
    s("EDGE-S03", MASKED, "李四", "2026-03-10", "500.00")
    # a catch-up after two unpaid months is allowed; three in the next month are not
    s("EDGE-S04", "E-CATCHUP", "王五", "2026-01-05", "400.00")
    s("EDGE-S05", "E-CATCHUP", "王五", "2026-04-05", "400.00")
    s("EDGE-S06", "E-CATCHUP", "王五", "2026-04-06", "400.00")
    s("EDGE-S07", "E-CATCHUP", "王五", "2026-05-05", "400.00", unit=None)
    s("EDGE-S08", "E-CATCHUP", "王五", "2026-05-06", "410.00")
    s("EDGE-S09", "E-CATCHUP", "王五", "2026-05-07", "420.00")
    # a reversal cancels one payment
    s("EDGE-S10", "E-REVERSAL", "赵六", "2026-06-01", "500.00")
    s("EDGE-S11", "E-REVERSAL", "赵六", "2026-06-02", "500.00")
    s("EDGE-S12", "E-REVERSAL", "赵六", "2026-06-03", "-500.00")
    # keys that need escaping in evidence references
    s("EDGE|S13", "E-ESC", "钱七", "2026-02-03", "300.00", program="BT003")
    s("EDGE;S14", "E-ESC", "钱七", "2026-02-04", "300.00", program="BT003")
    _append(d / "subsidies.parquet", sub)

    pay = pq.read_table(d / "payments.parquet").to_pylist()
    tpl = next(r for r in pay if r["status"] in ("paid", "已支付") and r["created_at"])
    rows = []
    for vid, created, approved, paid in (
        ("EDGE|OFF1", None, "2026-03-10 23:30", "2026-03-11"),  # night only: low
        ("EDGE;OFF2", "2026-02-14 10:00", "2026-02-14 11:00", "2026-03-02"),  # 调休: fine
        ("EDGE%OFF3", "2026-05-09 09:00", "2026-05-01 10:00", "2026-05-11"),  # holiday
        ("EDGE-OFF4", "2026-03-10 06:30", "2026-03-10 19:45", "2026-03-11"),  # grace: fine
    ):
        r = dict(tpl)
        r["voucher_id"] = vid
        r["created_at"] = dt.datetime.fromisoformat(created) if created else None
        r["approved_at"] = dt.datetime.fromisoformat(approved)
        r["pay_date"] = day(paid)
        rows.append(r)
    _append(d / "payments.parquet", rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    synth = pytest.importorskip("auditlib.synth")
    if not hasattr(synth, "generate"):
        pytest.skip("auditlib.synth.generate not available")
    d = tmp_path_factory.mktemp("money_world")
    synth.generate(d, seed=1, scale=0.25, fmt="parquet")
    _edge_rows(d)
    return d


@pytest.fixture(scope="module")
def results(world: Path) -> dict[str, tuple]:
    params = json.loads(json.dumps(rule_params(world)))  # as the children get them
    return {e: run_engine(e, world, params) for e in ENGINES}


def test_findings_identical(results: dict[str, tuple]) -> None:
    problems = compare_findings({e: r[1] for e, r in results.items()})
    assert not problems, "\n".join(problems)
    found = {k[0] for k in canonical(results["polars"][1])}
    assert found == set(TWINNED) - {"amount.benford"}  # every twinned rule finds something


def test_benford_tables_identical(results: dict[str, tuple]) -> None:
    tables = {e: r[2] for e, r in results.items()}
    assert tables["polars"].num_rows > 0
    problems = compare_benford(tables)
    assert not problems, "\n".join(problems)


def test_edge_rows(results: dict[str, tuple]) -> None:
    """The hand-written rows give what the detectors' docstrings say."""
    got = canonical(results["pandas"][1])
    dup = {(k[1], k[2]): v for k, v in got.items() if k[0] == "subsidy.duplicate"}
    assert (MASKED, "BT001|2026-03|张三") in dup  # "张 三" = "张三"; 李四 is someone else
    assert not any(k[0] == MASKED and k[1].endswith("李四") for k in dup)
    assert ("E-CATCHUP", "BT001|2026-04") not in dup  # two unpaid months: a catch-up
    v = dup[("E-CATCHUP", "BT001|2026-05")]
    assert v[1] == 83000 and v[3] == "3|1|123000"  # 410 + 420 yuan too much
    assert v[0] == "U0001"  # the first payment's unit is missing: the next one's
    assert not any(k[0] == "E-REVERSAL" for k in dup)
    assert dup[("E-ESC", "BT003|2026-02")][2] == ("subsidies:EDGE%7CS13", "subsidies:EDGE%3BS14")
    off = {k[1]: v for k, v in got.items() if k[0] == "timing.off_hours"}
    assert off["EDGE|OFF1"][3] == "low" and off["EDGE|OFF1"][2] == ("payments:EDGE%7COFF1",)
    assert "EDGE;OFF2" not in off  # a make-up working Saturday
    assert off["EDGE%OFF3"][3] == "medium"  # approved on Labour Day
    assert "EDGE-OFF4" not in off  # within the grace minutes


def test_compare_reports_differences(results: dict[str, tuple]) -> None:
    t = results["pandas"][1]
    detail = t.column("detail").to_pylist()
    detail[0] += "x"
    changed = t.set_column(t.column_names.index("detail"), "detail", pa.array(detail))
    problems = compare_findings({"polars": results["polars"][1], "pandas": changed})
    assert problems and "1 differ" in problems[0]
    bt = results["duckdb"][2]
    mad = bt.column("mad_two").to_pylist()
    mad[0] += 1e-6
    problems = compare_benford(
        {"polars": results["polars"][2], "duckdb": bt.set_column(5, "mad_two", pa.array(mad))}
    )
    assert problems and "1 value(s) differ" in problems[0]


def test_shared_constants_match_auditlib() -> None:
    from auditlib import exprs, schemas
    from auditlib.detectors import amount_benford as AB
    from auditlib.registry import all_detectors
    from benchmarks import money_common as C

    for name, (cols, key) in C.TABLES.items():
        t = schemas.TABLES[name]
        assert tuple((c.name, c.zh, c.kind, c.required) for c in t.columns) == tuple(cols)
        assert t.key == key
    for name in ("period", "account_type", "status", "pay_method"):
        assert C.ENUMS[name] == dict(schemas.ENUMS[name])
    assert set(C.SANGONG) == set(exprs.SANGONG)
    assert (C.BANDS_FIRST, C.BANDS_TWO, C.BAND_NAMES) == (
        AB.BANDS_FIRST,
        AB.BANDS_TWO,
        AB.BAND_NAMES,
    )
    assert (C.B1 == AB.B1).all() and (C.B2 == AB.B2).all()
    assert set(TWINNED) <= set(all_detectors())


def test_tiled_world_is_independent_copies(world: Path, tmp_path: Path) -> None:
    """money_gen.tile_money: each copy's findings are the base's under new ids."""
    from benchmarks.money_gen import person_id, tile_money

    ids = pa.array(["330105197612311578", "33010519761231157X", "3301**1234", "P1"])
    assert person_id(ids, 1).to_pylist() == [
        "110105197612311577",
        "110105197612311579",
        "1101**1234",
        "T1P1",
    ]
    tile_money(world, tmp_path, 2)
    params = json.loads(json.dumps(rule_params(world)))
    base = canonical(run_engine("polars", world, params)[1])
    tiled = canonical(run_engine("polars", tmp_path, params)[1])
    for det in set(TWINNED) - {"amount.benford"}:
        n = sum(1 for k in base if k[0] == det)
        assert sum(1 for k in tiled if k[0] == det) == 2 * n, det

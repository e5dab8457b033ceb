"""The benchmark harness on a tiny world: every engine gives the same findings.

No wall-clock assertions: timing is for ``benchmarks/run.py``; this only keeps the
pandas and DuckDB twins honest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("pandas")
pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import canonical  # noqa: E402
from benchmarks.gen import generate  # noqa: E402
from benchmarks.run import ENGINES, compare, detector_params, run_engine  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bench_world")
    generate(d, 5000, seed=3)
    return d


def _findings(data: Path) -> dict[str, dict]:
    params = detector_params(data)
    return {e: canonical(run_engine(e, data, params)[1]) for e in ENGINES}


def _assert_identical(found: dict[str, dict]) -> None:
    ref = found["polars"]
    for engine, got in found.items():
        only_ref = sorted(set(ref) - set(got))[:5]
        only_got = sorted(set(got) - set(ref))[:5]
        differ = sorted(k for k in set(ref) & set(got) if ref[k] != got[k])[:5]
        assert got == ref, (
            f"{engine}: only polars {only_ref}, only {engine} {only_got}, differ {differ}"
        )


def test_engines_identical_on_generated_world(world: Path) -> None:
    found = _findings(world)
    detectors = {k[0] for k in found["polars"]}
    assert detectors == {"payments.duplicate", "payments.split"}  # both rules find something
    _assert_identical(found)


def test_edge_rows(world: Path) -> None:
    """The hand-written rows (benchmarks/gen.py) give what the rules' docstrings say."""
    keys = {k[1] for k in canonical(run_engine("pandas", world, detector_params(world))[1])}
    assert "E002|E003" in keys  # empty status is paid; no period on one side
    assert "E001|E002" not in keys  # 3月 vs 4月 rent
    assert "E003|E004" in keys  # account padded with a full-width space, same day
    assert "E005|E006" in keys  # 第二季度 = 第2季度
    assert not any("E007" in k or "E008" in k for k in keys)  # returned, reversal
    assert "E006|E009" not in keys  # Q2 vs March
    assert "E013|E014" in keys  # an unknown status is nulled by the loader and counts as paid
    assert "0000123456789012|E101" in keys and "0000123456789012|E106" in keys  # splits


def test_engines_identical_on_synth_world(tmp_path: Path) -> None:
    synth = pytest.importorskip("auditlib.synth")
    if not hasattr(synth, "generate"):
        pytest.skip("auditlib.synth.generate not available")
    synth.generate(tmp_path, seed=1, scale=0.25, fmt="parquet")
    _assert_identical(_findings(tmp_path))


def test_compare_reports_differences(world: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    params = detector_params(world)
    found = run_engine("pandas", world, params)[1]
    pq.write_table(found, tmp_path / "a.parquet")
    pq.write_table(found.slice(1), tmp_path / "b.parquet")
    assert compare({"a": str(tmp_path / "a.parquet"), "b": str(tmp_path / "a.parquet")}) == []
    problems = compare({"a": str(tmp_path / "a.parquet"), "b": str(tmp_path / "b.parquet")})
    assert problems and "1 finding(s) only in a" in problems[0]
    assert isinstance(found, pa.Table)


def test_shared_constants_match_auditlib() -> None:
    from auditlib.io import values
    from auditlib.schemas import ENUMS, TABLES
    from benchmarks import common

    assert common.SPACES == values.SPACES
    cols = TABLES["payments"].columns
    assert [(c.name, c.zh, c.kind, c.required) for c in cols] == list(common.PAYMENTS)
    for name in common.ENUMS:
        assert dict(ENUMS[name]) == common.ENUMS[name]


def test_period_token_twins_agree() -> None:
    import polars as pl
    import pyarrow as pa

    from auditlib.exprs import period_token
    from benchmarks.common import period_token_arrow

    texts = [
        "2026年3月房租",
        "3月份物业费",
        "第二季度电费",
        "办公用品",
        "２０２６年０３月",
        "2026-03 电费",
        "2026/12",
        "2026-123",
        "٣月",
        "2026年٣月",
        "①月",
        "第4季度",
        "2026 年 3 月",
        None,
        "",
        "12月与3月",
        "2026-3\n",
        "2026\u3000年\u30003月",
    ]
    want = pl.DataFrame({"p": texts}).select(period_token(pl.col("p")))["p"].to_list()
    assert period_token_arrow(pa.array(texts, pa.string())).to_pylist() == want

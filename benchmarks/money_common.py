"""What the money-detector benchmark's engines share: tables, rules, findings, comparison.

Kept free of polars (like :mod:`benchmarks.common`, whose payments columns,
enumerations and findings schema this extends) so the pandas and DuckDB children
import only their own engine. ``tests/test_benchmarks_money_smoke.py`` checks
the copies of the data contract here against :mod:`auditlib.schemas`.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

try:
    from benchmarks.common import ENUMS as _PAY_ENUMS
    from benchmarks.common import FINDINGS, PAYMENTS
except ImportError:  # run as a script from benchmarks/
    from common import ENUMS as _PAY_ENUMS  # type: ignore[no-redef]
    from common import FINDINGS, PAYMENTS  # type: ignore[no-redef]

# ------------------------------------------------------------------------ detectors
PREFIXES = (
    "payments.",
    "sangong.",
    "budget.",
    "funds.",
    "timing.",
    "amount.",
    "subsidy.",
    "payroll.",
    "bank.",
)
"""The detectors of the issue: every id with one of these prefixes."""

TWINNED = {
    "budget.overrun": "overrun",
    "budget.class_mismatch": "class_mismatch",
    "sangong.total": "sangong_total",
    "sangong.final_accounts": "final_accounts",
    "amount.benford": "benford",
    "subsidy.duplicate": "subsidy_duplicate",
    "payroll.multi_unit": "multi_unit",
    "funds.own_account": "own_account",
    "timing.off_hours": "off_hours",
}
"""Detector id → step name of the rules written in pandas and DuckDB too. For
``amount.benford`` the twin is :func:`auditlib.detectors.amount_benford.benford_table`
(digits, MADs, n/spread/band gates), not the chi-square and peer gates."""

KIND_OF_WORK = {
    "overrun": "sort + cumulative sum",
    "class_mismatch": "join + prefix test",
    "sangong_total": "group + join",
    "final_accounts": "group + join",
    "benford": "digits + distinct + group + MAD",
    "subsidy_duplicate": "group + sort + lag (periods)",
    "multi_unit": "n_unique over keys + group",
    "own_account": "join to a small table",
    "off_hours": "calendar lookup + time of day",
}

TWIN_TABLES = (
    "payments",
    "indicators",
    "final_accounts",
    "unit_accounts",
    "subsidies",
    "subsidy_programs",
    "payroll",
)
"""The tables the twinned rules read (loaded by every engine in the comparison)."""

ALL_TABLES = (*TWIN_TABLES, "bank_transactions", "persons", "units")
"""The tables any detector of the issue reads (loaded for the all-detectors run)."""

SANGONG = ("30212", "30217", "30231", "31013")
"""三公 economic classes (auditlib.exprs.SANGONG)."""

# ---------------------------------------------------------------- the data contract
# name, Chinese alias, kind, required  (auditlib.schemas) and the key
TABLES: dict[str, tuple[tuple[tuple[str, str, str, bool], ...], tuple[str, ...]]] = {
    "payments": (PAYMENTS, ("voucher_id",)),
    "unit_accounts": (
        (
            ("account_no", "账号", "id", True),
            ("unit_id", "单位编码", "id", True),
            ("account_name", "户名", "text", False),
            ("account_type", "账户类型", "enum", False),
        ),
        ("account_no",),
    ),
    "indicators": (
        (
            ("indicator_id", "指标编码", "id", True),
            ("unit_id", "单位编码", "id", True),
            ("fiscal_year", "预算年度", "int", True),
            ("amount", "指标金额", "money", True),
            ("economic_class", "经济分类编码", "id", False),
            ("functional_class", "功能分类编码", "id", False),
            ("fund_source", "资金来源", "text", False),
            ("fund_label", "资金标识", "text", False),
            ("project_id", "项目编码", "id", False),
            ("purpose", "用途", "text", False),
        ),
        ("indicator_id",),
    ),
    "final_accounts": (
        (
            ("unit_id", "单位编码", "id", True),
            ("fiscal_year", "年度", "int", True),
            ("economic_class", "经济分类编码", "id", True),
            ("amount", "决算金额", "money", True),
        ),
        ("unit_id", "fiscal_year", "economic_class"),
    ),
    "subsidies": (
        (
            ("disbursement_id", "发放流水号", "id", True),
            ("program_code", "补贴项目编码", "id", True),
            ("beneficiary_id", "身份证号", "id", True),
            ("beneficiary_name", "姓名", "text", True),
            ("account_no", "账号", "id", True),
            ("amount", "金额", "money", True),
            ("pay_date", "发放日期", "date", True),
            ("region_code", "行政区划代码", "id", False),
            ("unit_id", "主管部门", "id", False),
        ),
        ("disbursement_id",),
    ),
    "subsidy_programs": (
        (
            ("program_code", "补贴项目编码", "id", True),
            ("program_name", "项目名称", "text", True),
            ("max_amount", "标准金额", "money", True),
            ("period", "周期", "enum", True),
            ("exclusive_group", "互斥组", "id", False),
        ),
        ("program_code",),
    ),
    "payroll": (
        (
            ("unit_id", "单位编码", "id", True),
            ("employee_id", "人员编号", "id", True),
            ("month", "月份", "month", True),
            ("amount", "金额", "money", True),
            ("account_no", "账号", "id", True),
            ("pay_date", "发放日期", "date", True),
        ),
        ("unit_id", "employee_id", "month"),
    ),
}

ENUMS = {
    **_PAY_ENUMS,
    "period": {
        "month": "month",
        "月": "month",
        "quarter": "quarter",
        "季": "quarter",
        "year": "year",
        "年": "year",
        "once": "once",
        "一次性": "once",
    },
    "account_type": {
        "zero_balance": "zero_balance",
        "basic": "basic",
        "special": "special",
        "real": "real",
        "零余额账户": "zero_balance",
        "基本账户": "basic",
        "专用账户": "special",
        "实有资金账户": "real",
    },
}
"""Accepted spellings (auditlib.schemas.ENUMS) of the enumerations these tables use."""

ENUM_DEFAULT = {"status": "paid"}


def enum_lookup(name: str) -> dict[str, str]:
    """Lower-cased spelling → canonical value, as auditlib.io.values.enum matches."""
    return {k.lower(): v for k, v in ENUMS[name].items() if k}


def resolve_header(header: str, table: str) -> str | None:
    """The canonical column of ``table`` a header names (English any case, or Chinese)."""
    h = header.strip(" \t\u3000\ufeff")
    for name, zh, _, _ in TABLES[table][0]:
        if h.lower() == name or h == zh:
            return name
    return None


# --------------------------------------------------------------------------- Benford
BANDS_FIRST = (0.006, 0.012, 0.015)
BANDS_TWO = (0.0012, 0.0018, 0.0022)
BAND_NAMES = ("close", "acceptable", "marginal", "nonconformity")
B2 = np.log10(1 + 1 / np.arange(10, 100))
B1 = np.log10(1 + 1 / np.arange(1, 10))
BENFORD_COLUMNS = ("unit_id", "n", "decades", "mad_first", "band_first", "mad_two", "band_two")
"""The columns of ``benford_table`` the twins compute (the p-values are left out)."""
BENFORD_TOL = 1e-9
"""Absolute tolerance for the float columns (sums in another order differ in the last bits)."""


def band_of(
    mad: float,
    cuts: tuple[float, float, float],
    n: int,
    min_n: int,
    decades: float,
    min_decades: float,
) -> str:
    """``_band_expr`` of amount_benford for one value (too_small, too_narrow, Nigrini's band)."""
    if n < min_n:
        return "too_small"
    if decades < min_decades:
        return "too_narrow"
    return BAND_NAMES[sum(mad > c for c in cuts)]


def nearest_index(n: np.ndarray, q: float) -> np.ndarray:
    """Index of polars' ``quantile(q, 'nearest')`` in a sorted group of ``n``: round half away."""
    return np.floor((n - 1) * q + 0.5).astype(np.int64)


# -------------------------------------------------------------------------- findings
MONEY_FINDINGS = pa.schema([*FINDINGS, ("detail", pa.string())])
""":data:`benchmarks.common.FINDINGS` plus ``detail``: what else of a finding each rule
decides, as text (severity, counts, the crossing voucher...), compared too."""

DETAIL = {
    "overrun": "crossing voucher | n_pay | n_after",
    "class_mismatch": "severity | n_pay",
    "sangong_total": "n_pay | n_ind | spent (fen)",
    "final_accounts": "n_pay | spent (fen)",
    "subsidy_duplicate": "n_eff | allowed | net (fen)",
    "multi_unit": "n_units | top (fen) | total (fen) | one account",
    "own_account": "severity | n_pay",
    "off_hours": "severity",
}


def findings_table(detector_id: str, **cols) -> pa.Table:
    """A findings table in the :data:`MONEY_FINDINGS` schema (columns cast to it)."""
    n = len(cols["finding_key"])
    arrays = [pa.array([detector_id] * n, pa.string())]
    for field in list(MONEY_FINDINGS)[1:]:
        col = cols[field.name]
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        arr = col if isinstance(col, pa.Array) else pa.array(col, field.type)
        arrays.append(arr.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=MONEY_FINDINGS)


def empty_findings(detector_id: str) -> pa.Table:
    return findings_table(
        detector_id, entity_id=[], finding_key=[], unit_id=[], amount_fen=[], evidence=[], detail=[]
    )


def canonical(table: pa.Table) -> dict[tuple[str, str, str], tuple]:
    """(detector_id, entity_id, finding_key) → (unit_id, amount_fen, evidence, detail)."""
    out = {}
    for r in table.to_pylist():
        k = (r["detector_id"], r["entity_id"], r["finding_key"])
        if k in out:
            raise ValueError(f"finding {k} appears twice")
        out[k] = (r["unit_id"], r["amount_fen"], tuple(r["evidence"]), r["detail"])
    return out


def compare_findings(found: dict[str, pa.Table], limit: int = 5) -> list[str]:
    """Differences between engines' findings (empty when identical), the first engine the
    reference."""
    canon = {e: canonical(t) for e, t in found.items()}
    ref_engine = next(iter(canon))
    ref = canon[ref_engine]
    problems = []
    for e, got in canon.items():
        if e == ref_engine:
            continue
        only_ref = sorted(set(ref) - set(got))
        only_got = sorted(set(got) - set(ref))
        differ = sorted(k for k in set(ref) & set(got) if ref[k] != got[k])
        if only_ref or only_got or differ:
            problems.append(
                f"{e} vs {ref_engine}: {len(only_ref)} finding(s) only in {ref_engine}, "
                f"{len(only_got)} only in {e}, {len(differ)} differ"
            )
            problems += [f"  only {ref_engine}: {k} {ref[k]}" for k in only_ref[:limit]]
            problems += [f"  only {e}: {k} {got[k]}" for k in only_got[:limit]]
            problems += [f"  differ {k}: {ref[k]} vs {got[k]}" for k in differ[:limit]]
    return problems


def compare_benford(tables: dict[str, pa.Table], tol: float = BENFORD_TOL) -> list[str]:
    """Differences between engines' Benford tables: same units, same ``n`` and bands,
    ``decades`` and MADs within ``tol``."""
    rows = {}
    for e, t in tables.items():
        d = {}
        for r in t.select(list(BENFORD_COLUMNS)).to_pylist():
            d[r["unit_id"]] = r
        rows[e] = d
    ref_engine = next(iter(rows))
    ref = rows[ref_engine]
    problems = []
    for e, got in rows.items():
        if e == ref_engine:
            continue
        if set(got) != set(ref):
            problems.append(
                f"benford {e} vs {ref_engine}: units differ "
                f"({len(set(ref) - set(got))} only in {ref_engine}, "
                f"{len(set(got) - set(ref))} only in {e})"
            )
        bad = []
        for u in sorted(set(got) & set(ref)):
            a, b = ref[u], got[u]
            for c in BENFORD_COLUMNS[1:]:
                x, y = a[c], b[c]
                if isinstance(x, float) or isinstance(y, float):
                    same = (x is None and y is None) or (
                        x is not None
                        and y is not None
                        and (
                            math.isclose(x, y, rel_tol=0, abs_tol=tol) or (math.isinf(x) and x == y)
                        )
                    )
                else:
                    same = x == y
                if not same:
                    bad.append(f"  {u}.{c}: {ref_engine}={x!r} {e}={y!r}")
        if bad:
            problems.append(f"benford {e} vs {ref_engine}: {len(bad)} value(s) differ")
            problems += bad[:5]
    return problems

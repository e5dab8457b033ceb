"""What the three engines share: the payments columns, value rules, period patterns, findings.

Kept free of polars so the pandas and DuckDB children import only their own
engine. ``tests/test_benchmarks_smoke.py`` checks these copies against
:mod:`auditlib.schemas` and :mod:`auditlib.io.values`.

Regex dialect: the polars rules use Rust ``regex``, where ``\\d``, ``\\D`` and
``\\s`` are Unicode classes; pyarrow and DuckDB use RE2, where they are ASCII.
The patterns here therefore spell the Unicode classes out (``\\p{Nd}``, the
``White_Space`` code points) so all engines read the same purposes alike.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

SPACES = " \t\r\n\u3000\u00a0\ufeff"
"""Stripped from ids/codes (auditlib.io.values.SPACES)."""

# name, Chinese alias, kind, required  (auditlib.schemas, table "payments")
PAYMENTS = (
    ("voucher_id", "支付凭证号", "id", True),
    ("unit_id", "单位编码", "id", True),
    ("indicator_id", "指标编码", "id", True),
    ("pay_date", "支付日期", "date", True),
    ("amount", "支付金额", "money", True),
    ("payee_name", "收款人名称", "text", True),
    ("payee_account", "收款人账号", "id", True),
    ("economic_class", "经济分类编码", "id", True),
    ("payee_bank", "收款人开户行", "text", False),
    ("purpose", "摘要", "text", False),
    ("pay_method", "支付方式", "enum", False),
    ("status", "状态", "enum", False),
    ("created_by", "制单人", "id", False),
    ("approved_by", "审核人", "id", False),
    ("created_at", "制单时间", "datetime", False),
    ("approved_at", "审核时间", "datetime", False),
)
REQUIRED = tuple(c[0] for c in PAYMENTS if c[3])
KINDS = {c[0]: c[2] for c in PAYMENTS}

ENUMS = {
    "status": {
        "paid": "paid",
        "已支付": "paid",
        "支付成功": "paid",
        "": "paid",
        "returned": "returned",
        "退回": "returned",
        "退票": "returned",
        "cancelled": "cancelled",
        "作废": "cancelled",
        "撤销": "cancelled",
    },
    "pay_method": {
        "direct": "direct",
        "直接支付": "direct",
        "authorized": "authorized",
        "授权支付": "authorized",
    },
}
"""Accepted spellings (auditlib.schemas.ENUMS); English matched in any case."""

ENUM_DEFAULT = {"status": "paid"}


def enum_lookup(name: str) -> dict[str, str]:
    """Lower-cased spelling → canonical value, as auditlib.io.values.enum matches."""
    return {k.lower(): v for k, v in ENUMS[name].items() if k}


def resolve_header(header: str) -> str | None:
    """The canonical payments column a header names (English any case, or Chinese)."""
    h = header.strip(" \t\u3000\ufeff")
    for name, zh, _, _ in PAYMENTS:
        if h.lower() == name or h == zh:
            return name
    return None


# ------------------------------------------------------------ period tokens (RE2 spelling)
_D = r"\p{Nd}"
_ND = r"\P{Nd}"
_S = (
    r"[\t\n\x{0B}\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}"
    r"\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"
)
PERIOD_YM = rf"(?P<y>{_D}{{4}}){_S}*年{_S}*(?P<m>{_D}{{1,2}}){_S}*月"
PERIOD_ISO = rf"(?P<y>{_D}{{4}})[-/](?P<m>{_D}{{1,2}})(?:{_ND}|$)"
PERIOD_M = rf"(?P<m>{_D}{{1,2}}){_S}*月"
PERIOD_Q = r"第?(?P<q>[一二三四1-4])季度"
CN_NUM = {"一": "1", "二": "2", "三": "3", "四": "4"}


def _strip0(m: pa.Array) -> pa.Array:
    """``cast(Int64, strict=False).cast(String)``: ASCII digits without leading zeros, else null."""
    ascii_digits = pc.match_substring_regex(m, r"^[0-9]+$")
    trimmed = pc.utf8_ltrim(m, characters="0")
    trimmed = pc.if_else(pc.equal(pc.utf8_length(trimmed), 0), pa.scalar("0"), trimmed)
    return pc.if_else(ascii_digits, trimmed, pa.scalar(None, pa.string()))


def _extract(s: pa.Array, pattern: str, field: str) -> pa.Array:
    """Group ``field`` of the first match, null where there is none (RE2 via pyarrow)."""
    st = pc.extract_regex(s, pattern)
    return pc.if_else(pc.is_valid(st), pc.struct_field(st, field), pa.scalar(None, pa.string()))


def period_token_arrow(purpose: pa.Array) -> pa.Array:
    """auditlib.exprs.period_token on a pyarrow string array (vectorised, RE2)."""
    if isinstance(purpose, pa.ChunkedArray):
        purpose = purpose.combine_chunks()
    purpose = purpose.cast(pa.string())
    s = pc.utf8_normalize(purpose, "NFKC")
    ym = pc.binary_join_element_wise(
        _extract(s, PERIOD_YM, "y"), "-", _strip0(_extract(s, PERIOD_YM, "m")), ""
    )
    iso = pc.binary_join_element_wise(
        _extract(s, PERIOD_ISO, "y"), "-", _strip0(_extract(s, PERIOD_ISO, "m")), ""
    )
    m_only = _strip0(_extract(s, PERIOD_M, "m"))
    q = _extract(s, PERIOD_Q, "q")
    for cn, d in CN_NUM.items():
        q = pc.replace_substring(q, cn, d)
    q = pc.binary_join_element_wise(pa.scalar("Q"), q, "")
    return pc.coalesce(ym, iso, m_only, q)


def escape_key(arr: pa.Array) -> pa.Array:
    """``%`` ``;`` ``|`` inside a key value → ``%25`` ``%3B`` ``%7C`` (alerts.schema.escape_key)."""
    for a, b in (("%", "%25"), (";", "%3B"), ("|", "%7C")):
        arr = pc.replace_substring(arr, a, b)
    return arr


def refs(vouchers: pa.Array) -> pa.Array:
    """``payments:<voucher_id>`` evidence references."""
    return pc.binary_join_element_wise(pa.scalar("payments:"), escape_key(vouchers), "")


# ------------------------------------------------------------------------- findings
FINDINGS = pa.schema(
    [
        ("detector_id", pa.string()),
        ("entity_id", pa.string()),
        ("finding_key", pa.string()),
        ("unit_id", pa.string()),
        ("amount_fen", pa.int64()),
        ("evidence", pa.list_(pa.string())),
    ]
)
"""What the engines' findings are compared on (alert text and scores are derived from these)."""


def findings_table(detector_id: str, **cols) -> pa.Table:
    """A findings table in the :data:`FINDINGS` schema (columns cast to it)."""
    n = len(cols["finding_key"])
    arrays = [pa.array([detector_id] * n, pa.string())]
    for field in list(FINDINGS)[1:]:
        col = cols[field.name]
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        arr = col if isinstance(col, pa.Array) else pa.array(col, field.type)
        arrays.append(arr.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=FINDINGS)


def canonical(table: pa.Table) -> dict[tuple[str, str], tuple]:
    """(detector_id, finding_key) → (entity_id, unit_id, amount_fen, evidence) for comparing."""
    out = {}
    for r in table.to_pylist():
        out[(r["detector_id"], r["finding_key"])] = (
            r["entity_id"],
            r["unit_id"],
            r["amount_fen"],
            tuple(r["evidence"]),
        )
    return out


class Clock:
    """Wall and CPU seconds (all threads of the process) per step; ``total`` sums them."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.peaks: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        w, c = time.perf_counter(), time.process_time()
        yield
        self.add(name, time.perf_counter() - w, time.process_time() - c)

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.times[name] = wall
        self.times[f"cpu_{name}"] = cpu
        self.times["total"] = self.times.get("total", 0.0) + wall
        self.times["cpu_total"] = self.times.get("cpu_total", 0.0) + cpu
        self.peaks[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_cache(data_dir: Path) -> float:
    """Read every file of ``data_dir`` once, so the page cache holds it before an engine is
    timed: no engine pays for a cold disk, whichever runs first (a 2.6 GB csvlog read cold
    took 26 s here, warm 1 s). Returns the seconds it took."""
    t = time.perf_counter()
    for f in sorted(p for p in Path(data_dir).rglob("*") if p.is_file()):
        with f.open("rb") as fh:
            while fh.read(1 << 23):
                pass
    return time.perf_counter() - t

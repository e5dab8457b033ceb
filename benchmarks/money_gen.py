"""The money benchmark's worlds: every table the issue's detectors read, at 1M and 10M payments.

- **1M**: a synth world (``auditlib.synth.generate``, scale ``rows / 20000``, every
  injection family, so each detector has positives and look-alikes) generated once
  into ``out/money_synth_<rows>_s<seed>/`` with ``run._generate``. Not the payments
  benchmark's ``out/synth_<rows>_s<seed>/`` cache: that world was made before the
  subsidy, payroll, bank and money families existed, and its money detectors find
  nothing.
- **10M**: that world tiled ``k`` times into ``out/money_synth_<rows>x<k>_s<seed>/``:
  payments by :func:`benchmarks.gen.tile` (unit, voucher and indicator ids get a
  ``T<k>`` prefix), then, so that every copy is an independent region whose findings
  are the base's under new ids, the same prefix on every other id and account:
  payee accounts of the payments (:func:`gen.tile` leaves them shared; the copies'
  unit accounts, bank statements, payroll and subsidy accounts must not be),
  units, unit accounts, indicators, final accounts, payroll, subsidies and bank
  transactions. Citizen ID numbers (beneficiaries, reference lists) keep their
  shape: copy ``k`` moves them to another province prefix and shifts the check
  character so that a valid number stays valid and an invalid one stays invalid
  (``subsidy.invalid_id``). Subsidy programs are the province's: shared, not tiled.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.gen import tile  # noqa: E402
from benchmarks.money_common import ALL_TABLES  # noqa: E402
from benchmarks.run import OUT, SYNTH_MAX_ROWS, _generate  # noqa: E402

SPACES_CLASS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in " \t\r\n\u3000\u00a0\ufeff") + "]"
"""The ASCII/full-width spaces the loader strips, as an RE2 class (as gen.tile spells it)."""

PREFIX_COLS = {
    "units": ("unit_id", "parent_id"),
    "unit_accounts": ("account_no", "unit_id"),
    "indicators": ("indicator_id", "unit_id", "project_id"),
    "final_accounts": ("unit_id",),
    "subsidies": ("disbursement_id", "account_no", "unit_id"),
    "persons": ("unit_id",),
    "payroll": ("unit_id", "employee_id", "account_no"),
    "bank_transactions": ("bank_ref", "voucher_id", "payee_account", "payer_account"),
}
"""Columns that get the copy's ``T<k>`` prefix (payments: gen.tile, then payee_account)."""
PERSON_COLS = {"subsidies": ("beneficiary_id",), "persons": ("person_id",)}
"""Citizen ID numbers: moved to another province per copy (see the module docstring)."""
SHARED = ("subsidy_programs",)

PROVINCES = (
    "33",
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
)
"""Copy ``k``'s province prefix for ID numbers of the base's province ``33`` (Zhejiang)."""
CHECK = "10X98765432"  # GB 11643: check character = CHECK[sum(w_i * d_i) % 11]


def money_world(rows: int, seed: int = 7) -> Path:
    """A data directory with about ``rows`` payments and every money table, cached in OUT."""
    copies = -(-rows // SYNTH_MAX_ROWS)
    base_rows = -(-rows // copies)
    base = OUT / f"money_synth_{base_rows}_s{seed}"
    _generate("synth", base, base_rows, seed)
    if copies == 1:
        return base
    d = OUT / f"money_synth_{base_rows}x{copies}_s{seed}"
    if not (d / ".complete").exists():
        print(f"tiling {base.name} x{copies} into {d} ...", flush=True)
        tile_money(base, d, copies)
        (d / ".complete").write_text(f"tiled {base.name} x{copies} (money_gen.tile_money)\n")
    return d


def _prefix(col: pa.ChunkedArray | pa.Array, k: int) -> pa.Array:
    """``T<k>`` after any leading spaces (the loader strips them, so ids read alike)."""
    return pc.replace_substring_regex(col, f"^({SPACES_CLASS}*)", f"\\1T{k}")


def person_id(col: pa.ChunkedArray | pa.Array, k: int) -> pa.Array:
    """Copy ``k``'s citizen ID numbers: an 18-character number of province 33 gets province
    ``PROVINCES[k]`` and its check character shifted by what the two changed digits add
    (weights 7 and 9), so it is valid exactly when the original was; a masked number of
    province 33 gets the new province; anything else gets the ``T<k>`` prefix.

    >>> ids = ["330105197612311578", "33010519761231157X", "3301**1234", "P1"]  # valid, invalid
    >>> person_id(pa.array(ids), 1).to_pylist()  # valid (check 7), invalid (7 would be)
    ['110105197612311577', '110105197612311579', '1101**1234', 'T1P1']
    """
    if k == 0:
        return col
    if k >= len(PROVINCES):
        raise ValueError(f"at most {len(PROVINCES)} copies of ID numbers")
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    typ = col.type
    col = col.cast(pa.string())
    p = PROVINCES[k]
    shift = 7 * (int(p[0]) - 3) + 9 * (int(p[1]) - 3)
    full = pc.fill_null(pc.match_substring_regex(col, r"^33[0-9]{15}[0-9Xx]$"), False)
    masked = pc.fill_null(pc.and_(pc.starts_with(col, "33"), pc.match_substring(col, "*")), False)
    chars = list(CHECK)
    check = pc.utf8_upper(pc.utf8_slice_codeunits(col, 17, 18))
    idx = pc.fill_null(pc.index_in(check, pa.array(chars)), 0).to_numpy(zero_copy_only=False)
    new_check = pa.array(chars).take(pa.array((idx.astype("int64") + shift) % 11))
    body = pc.binary_join_element_wise(pa.scalar(p), pc.utf8_slice_codeunits(col, 2, 17), "")
    moved_full = pc.binary_join_element_wise(body, new_check, "")
    moved_masked = pc.binary_join_element_wise(pa.scalar(p), pc.utf8_slice_codeunits(col, 2), "")
    other = pc.binary_join_element_wise(pa.scalar(f"T{k}"), col, "")
    return pc.if_else(full, moved_full, pc.if_else(masked, moved_masked, other)).cast(typ)


def _copy_table(t: pa.Table, name: str, k: int) -> pa.Table:
    cols = {}
    for c in t.column_names:
        col = t[c]
        if c in PREFIX_COLS.get(name, ()):
            col = _prefix(col, k)
        elif c in PERSON_COLS.get(name, ()):
            col = person_id(col, k)
        cols[c] = col
    return pa.table(cols, schema=t.schema)


def _prefix_payee_accounts(path: Path) -> None:
    """gen.tile's payments with each copy's payee accounts prefixed ``T<k>`` too (the copy
    read from the voucher ids; a row group holds one copy)."""
    tmp = path.with_suffix(".tmp.parquet")
    pf = pq.ParquetFile(path)
    pat = f"^{SPACES_CLASS}*T(?P<k>[0-9]+)"
    with pq.ParquetWriter(tmp, pf.schema_arrow, compression="zstd") as w:
        for i in range(pf.num_row_groups):
            t = pf.read_row_group(i)
            ks = pc.unique(pc.struct_field(pc.extract_regex(t["voucher_id"], pat), "k"))
            if len(ks) != 1 or not ks[0].is_valid:
                raise ValueError(f"{path}: row group {i} holds copies {ks.to_pylist()}")
            k = int(ks[0].as_py())
            j = t.column_names.index("payee_account")
            t = t.set_column(j, "payee_account", _prefix(t["payee_account"], k))
            w.write_table(t, row_group_size=1_000_000)
    os.replace(tmp, path)


def tile_money(src: Path, out_dir: Path, copies: int) -> None:
    """``copies`` independent copies of every money table of ``src`` (module docstring)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tile(src, out_dir, copies)  # payments.parquet and auditlib.yaml
    _prefix_payee_accounts(out_dir / "payments.parquet")
    for name in ALL_TABLES:
        if name == "payments" or not (src / f"{name}.parquet").exists():
            continue
        t = pq.read_table(src / f"{name}.parquet")
        if name in SHARED:
            pq.write_table(t, out_dir / f"{name}.parquet", compression="zstd")
            continue
        with pq.ParquetWriter(out_dir / f"{name}.parquet", t.schema, compression="zstd") as w:
            for k in range(copies):
                w.write_table(_copy_table(t, name, k), row_group_size=1_000_000)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print(money_world(a.rows, a.seed))

"""A minimal synthetic ``payments.parquet`` for the benchmarks.

Used while (or where) :mod:`auditlib.synth` is not available, and for the
smoke test. Columns and types follow the data contract: ids as strings,
``pay_date`` a date, ``amount`` an exact ``decimal(18,2)``, ``status`` in the
mixed English/Chinese spellings users export, timestamps naive (read in the
``timezone`` setting).

Cardinalities are chosen to look like a province's treasury year: about one
budget unit per 2,000 payments (up to 5,000), one payee per 40 payments (tens
of thousands at 1M rows), each unit paying mostly its own few dozen regular
suppliers; monthly recurring bills (rent, utilities) with the month in the
purpose text; and injected duplicates (a voucher paid again 0-14 days later)
and splits (a purchase over the 50,000 yuan threshold cut into 2-6 parts
within a week). A handful of hand-written edge rows are always appended.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

YEAR = 2025
EPOCH_DAY = (dt.date(YEAR, 1, 1) - dt.date(1970, 1, 1)).days

_TRADE = "恒信达华锦鑫宏盛源通联合博创卓越腾辉瑞丰禾润嘉兴泰安康致远智信诚诺鼎立天成新元金石"
_TRADE_EN = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_INDUSTRY = (
    "科技",
    "建设工程",
    "物业管理",
    "办公设备",
    "信息技术",
    "餐饮服务",
    "印务",
    "商贸",
    "环境工程",
    "医疗器械",
    "文化传媒",
    "汽车服务",
)
_FORM = ("有限公司", "有限责任公司", "股份有限公司", "（集团）有限公司", "Co., Ltd.")
_CITIES = ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力永健峰波宇浩凯"
_PURPOSES = (
    "办公用品采购",
    "差旅费报销",
    "设备维修费",
    "会议费",
    "培训费",
    "印刷费",
    "专用材料费",
    "劳务费",
    "委托业务费",
    "信息化运维服务费",
    "公务接待费",
    "车辆维修费",
    "咨询费",
    "",
)
_BANKS = (
    "中国工商银行",
    "中国农业银行",
    "中国银行",
    "中国建设银行",
    "交通银行",
    "浙商银行",
    "杭州银行",
    "宁波银行",
    "浙江农商银行",
)
_ECON = (
    "30201",
    "30202",
    "30205",
    "30206",
    "30207",
    "30211",
    "30213",
    "30215",
    "30216",
    "30217",
    "30226",
    "30227",
    "30228",
    "30231",
    "30299",
    "31002",
    "31007",
    "31013",
)
_STATUS = (
    "paid",
    "已支付",
    "支付成功",
    "",
    None,
    "returned",
    "退回",
    "cancelled",
    "作废",
    "Paid",
    "待确认",
)  # the last is no accepted spelling: nulled by the loader, counts as paid
_STATUS_P = (0.80, 0.08, 0.03, 0.02, 0.02, 0.02, 0.01, 0.01, 0.005, 0.004, 0.001)


def _choice(rng: np.random.Generator, seq, n: int, p=None) -> pa.Array:
    """``n`` draws from a small vocabulary, as a pyarrow string array."""
    vocab = pa.array(list(seq), pa.string())
    return vocab.take(pa.array(rng.choice(len(seq), size=n, p=p)))


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _num(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(values, pa.int64()), pa.string()), width, "0")


def _decimal(fen: np.ndarray) -> pa.Array:
    """Integer fen → ``decimal128(18, 2)`` (exact: the unscaled value is the fen)."""
    words = np.empty((len(fen), 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = np.where(fen < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(fen), [None, pa.py_buffer(words)])


def _payees(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Payee names (companies, some persons), accounts (16-19 digits) and banks."""
    company = rng.random(n) < 0.85
    t1 = rng.integers(len(_TRADE), size=n)
    t2 = rng.integers(len(_TRADE), size=n)
    trade = _join(
        pa.array(list(_TRADE)).take(pa.array(t1)), pa.array(list(_TRADE)).take(pa.array(t2))
    )
    comp = _join(
        _choice(rng, _CITIES, n),
        trade,
        _choice(rng, _INDUSTRY, n),
        _choice(rng, _FORM, n, p=(0.6, 0.2, 0.1, 0.05, 0.05)),
    )
    person = _join(
        _choice(rng, list(_SURNAMES), n),
        _choice(rng, list(_GIVEN), n),
        pc.if_else(pa.array(rng.random(n) < 0.5), _choice(rng, list(_GIVEN), n), pa.scalar("")),
    )
    names = pc.if_else(pa.array(company), comp, person)
    acct = _accounts(rng, n)
    return names, acct, _choice(rng, _BANKS, n)


def _accounts(rng: np.random.Generator, n: int) -> pa.Array:
    """Distinct bank account numbers, 16-19 digits, keeping leading digits realistic."""
    # distinct integers below 10^15, then a 4-digit BIN prefix (some start with 0: leading
    # zeros must survive as strings)
    ids = rng.choice(10**9, size=n, replace=False).astype(np.int64) * 997 + rng.integers(
        0, 997, size=n
    )
    prefix = _choice(rng, ("6222", "6217", "6228", "0331", "1202", "6230"), n)
    width = rng.choice([12, 13, 15], size=n)
    out = []
    for w in (12, 13, 15):
        out.append(_join(prefix, _num(ids % 10**w, w)))
    return pc.case_when(
        pa.StructArray.from_arrays([pa.array(width == 12), pa.array(width == 13)], ["a", "b"]),
        out[0],
        out[1],
        out[2],
    )


def generate(out_dir: Path, rows: int, seed: int = 7) -> Path:
    """Write ``out_dir/payments.parquet`` (about ``rows`` rows) and ``auditlib.yaml``."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_units = int(np.clip(rows // 2000, 20, 5000))
    n_payees = int(np.clip(rows // 40, 200, 250_000))
    k_regular = 40

    unit_ids = _join(
        pa.scalar("33"), _num(rng.choice(10_000, n_units, replace=False), 4), pa.scalar("00")
    )
    unit_weight = rng.lognormal(0, 1.0, n_units)
    unit_weight /= unit_weight.sum()
    p_names, p_accts, p_banks = _payees(rng, n_payees)
    pop = 1.0 / np.arange(1, n_payees + 1) ** 0.8
    pop /= pop.sum()
    regulars = rng.choice(n_payees, size=(n_units, k_regular), p=pop)

    # -- recurring monthly bills: 4 per unit, same amount every month, month in the purpose
    n_rec_units = n_units
    slots = 4
    rec_unit = np.repeat(np.arange(n_rec_units), slots * 12)
    rec_slot = np.tile(np.repeat(np.arange(slots), 12), n_rec_units)
    rec_month = np.tile(np.arange(1, 13), n_rec_units * slots)
    rec_payee = regulars[rec_unit, rec_slot]
    base_amt = (rng.lognormal(8.5, 1.0, (n_rec_units, slots)) * 100).astype(np.int64)
    rec_fen = base_amt[rec_unit, rec_slot]
    month_start = np.array([(dt.date(YEAR, m, 1) - dt.date(YEAR, 1, 1)).days for m in range(1, 13)])
    rec_day = month_start[rec_month - 1] + np.clip(rng.normal(8, 4, len(rec_unit)), 0, 27).astype(
        int
    )
    kinds = np.array(["{y}年{m}月房租", "{m}月份物业费", "{y}-{mm}电费", "{y}年{m}月水费"])
    rec_purpose = [
        kinds[s].format(y=YEAR, m=m, mm=f"{m:02d}")
        for s, m in zip(rec_slot, rec_month, strict=True)
    ]
    n_rec = min(len(rec_unit), rows // 5)
    keep = rng.choice(len(rec_unit), size=n_rec, replace=False)
    rec_unit, rec_payee, rec_fen, rec_day = (
        rec_unit[keep],
        rec_payee[keep],
        rec_fen[keep],
        rec_day[keep],
    )
    rec_purpose = pa.array(rec_purpose).take(pa.array(keep))

    # -- ordinary payments
    n_dup = rows // 300
    n_split_groups = max(2, rows // 3000)
    parts = rng.integers(2, 7, size=n_split_groups)
    n_split = int(parts.sum())
    n_ord = max(0, rows - n_rec - n_dup - n_split)
    o_unit = rng.choice(n_units, size=n_ord, p=unit_weight)
    regular = rng.random(n_ord) < 0.7
    o_payee = np.where(
        regular,
        regulars[o_unit, rng.integers(k_regular, size=n_ord)],
        rng.choice(n_payees, size=n_ord, p=pop),
    )
    amt = rng.lognormal(7.8, 1.6, n_ord)
    fen = np.clip(amt * 100, 100, 5_000_000_000).astype(np.int64)
    r = rng.random(n_ord)
    fen = np.where(r < 0.35, fen // 10_000 * 10_000 + 10_000, fen)  # round hundreds of yuan
    fen = np.where(r < 0.10, fen // 100_000 * 100_000 + 100_000, fen)  # round thousands
    o_day = rng.integers(0, 365, size=n_ord)
    o_purpose = _choice(rng, _PURPOSES, n_ord)

    # -- splits: a purchase of 55k-300k yuan cut into parts, each under 50,000, within 7 days
    s_group = np.repeat(np.arange(n_split_groups), parts)
    s_unit_g = rng.choice(n_units, size=n_split_groups, p=unit_weight)
    s_payee_g = regulars[s_unit_g, rng.integers(k_regular, size=n_split_groups)]
    s_day_g = rng.integers(0, 358, size=n_split_groups)
    s_unit, s_payee = s_unit_g[s_group], s_payee_g[s_group]
    s_day = s_day_g[s_group] + rng.integers(0, 8, size=n_split)
    s_fen = rng.integers(3_000_000, 4_999_999, size=n_split)
    s_fen = np.where(rng.random(n_split) < 0.5, s_fen // 100 * 100, s_fen)
    s_purpose = _choice(rng, ("设备采购", "办公家具采购", "信息化建设", "维修改造工程"), n_split)

    unit = np.concatenate([rec_unit, o_unit, s_unit])
    payee = np.concatenate([rec_payee, o_payee, s_payee])
    fen = np.concatenate([rec_fen, fen, s_fen])
    day = np.concatenate([rec_day, o_day, s_day])
    purpose = pa.concat_arrays([rec_purpose, o_purpose, s_purpose])

    # -- duplicates: copies of random earlier rows, paid again 0-14 days later
    src = rng.integers(0, len(unit), size=n_dup)
    unit = np.concatenate([unit, unit[src]])
    payee = np.concatenate([payee, payee[src]])
    fen = np.concatenate([fen, fen[src]])
    day = np.concatenate([day, day[src] + rng.integers(0, 15, size=n_dup)])
    same_purpose = pa.array(rng.random(n_dup) < 0.7)
    purpose = pa.concat_arrays(
        [
            purpose,
            pc.if_else(same_purpose, purpose.take(pa.array(src)), _choice(rng, _PURPOSES, n_dup)),
        ]
    )
    n = len(unit)

    # reversals and odd ids
    fen = np.where(rng.random(n) < 0.003, -fen, fen)
    day = np.clip(day, 0, 364)
    order = np.lexsort((rng.random(n), day))  # exports come in date order
    unit, payee, fen, day = unit[order], payee[order], fen[order], day[order]
    purpose = purpose.take(pa.array(order))

    accts = p_accts.take(pa.array(payee))
    pad = rng.random(n)
    accts = pc.if_else(
        pa.array(pad < 0.001),
        _join(pa.scalar(" "), accts),
        pc.if_else(pa.array(pad > 0.999), _join(accts, pa.scalar("\u3000")), accts),
    )
    names = p_names.take(pa.array(payee))
    # name spelling variants: full-width brackets, spaces
    names = pc.if_else(
        pa.array(rng.random(n) < 0.02), pc.replace_substring(names, "有限", "有限 "), names
    )
    seconds = rng.integers(8 * 3600, 18 * 3600, size=n)
    created = (EPOCH_DAY + day).astype("int64") * 86_400_000_000 + seconds * 1_000_000
    approved = created + rng.integers(600, 86_400, size=n) * 1_000_000
    creators = rng.integers(0, max(10, n_units * 3), size=n)
    table = pa.table(
        {
            "voucher_id": _join(pa.scalar(f"ZF{YEAR}"), _num(np.arange(1, n + 1), 10)),
            "unit_id": unit_ids.take(pa.array(unit)),
            "indicator_id": _join(
                pa.scalar(f"ZB{YEAR}"), _num(unit * 20 + rng.integers(0, 20, n), 7)
            ),
            "pay_date": pa.array((EPOCH_DAY + day).astype(np.int32), pa.date32()),
            "amount": _decimal(fen),
            "payee_name": names,
            "payee_account": accts,
            "economic_class": _choice(rng, _ECON, n),
            "payee_bank": p_banks.take(pa.array(payee)),
            "purpose": purpose,
            "pay_method": _choice(rng, ("direct", "authorized", "直接支付", "授权支付"), n),
            "status": _choice(rng, _STATUS, n, p=_STATUS_P),
            "created_by": _join(pa.scalar("u"), _num(creators, 5)),
            "approved_by": _join(pa.scalar("a"), _num(creators // 3, 5)),
            "created_at": pa.array(created, pa.timestamp("us")),
            "approved_at": pa.array(approved, pa.timestamp("us")),
        }
    )
    table = pa.concat_tables([table, _edge_rows(table.schema)])
    path = out_dir / "payments.parquet"
    pq.write_table(table, path, row_group_size=1_000_000, compression="zstd")
    (out_dir / "auditlib.yaml").write_text(
        f"as_of: {YEAR}-12-31\nfiscal_year: {YEAR}\ntimezone: Asia/Shanghai\n", encoding="utf-8"
    )
    return path


def _edge_rows(schema: pa.Schema) -> pa.Table:
    """Hand-written cases where the rules' details matter (ids padded, periods, reversals)."""
    d = lambda s: dt.date.fromisoformat(s)  # noqa: E731
    u, a, b = "EDGE01", "6222000000000000001", "0000123456789012"
    rows = [
        # (voucher, unit, account, date, fen, purpose, status)
        ("E001", u, a, "2025-03-01", 1_000_000, "２０２５年３月房租", "paid"),
        ("E002", u, a, "2025-03-05", 1_000_000, "2025年4月房租", "已支付"),  # other period: no
        ("E003", u, a, "2025-03-08", 1_000_000, None, ""),  # vs E002: yes
        ("E004", u, a + "\u3000", "2025-03-08", 1_000_000, "维修", None),  # padded id, gap 0
        ("E005", u, a, "2025-03-30", 1_000_000, "第二季度电费", "paid"),  # gap 22: no
        ("E006", u, a, "2025-04-02", 1_000_000, "第2季度电费", "paid"),  # same Q2: yes
        ("E007", u, a, "2025-04-03", 1_000_000, "2025-4 电费", "退回"),  # returned: no
        ("E008", u, a, "2025-04-04", -1_000_000, "冲销", "paid"),  # reversal: no
        ("E009", u, a, "2025-04-05", 1_000_000, "03月份", "paid"),  # '3' vs 'Q2'
        ("E010", u, a, "2025-04-06", 1_000_000, "３月份", "paid"),  # NFKC: '3' = '3'
        ("E011", u, a, "2025-04-07", 1_000_000, "٣月份", "paid"),  # Arabic digit
        ("E012", u, a, "2025-04-08", 1_000_000, "2025/٣ 费用", "paid"),
        ("E013", u, a, "2025-04-09", 1_000_000, "2025年00月", "paid"),
        ("E014", u, a, "2025-04-10", 1_000_000, "2025年0月", "未知"),  # bad status: paid
        # splits: one payee, parts under 50,000, windows overlapping then a gap
        ("E101", u, b, "2025-06-01", 4_999_999, "设备", "paid"),
        ("E102", u, b, "2025-06-03", 100, "设备", "paid"),
        ("E103", u, b, "2025-06-08", 3_000_000, "设备", "paid"),  # day 7: in window
        ("E104", u, b, "2025-06-12", 2_500_000, "设备", "paid"),
        ("E105", u, b, "2025-06-30", 5_000_000, "设备", "paid"),  # = limit: not a part
        ("E106", u, b, "2025-07-01", 2_500_000, "设备", "paid"),
        ("E107", u, b, "2025-07-08", 2_500_001, "设备", "paid"),
        ("E108", " " + u, b, "2025-07-08", 1, "设备", "Paid"),
    ]
    n = len(rows)
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "voucher_id": pa.array(cols[0]),
            "unit_id": pa.array(cols[1]),
            "indicator_id": pa.array(["ZBEDGE"] * n),
            "pay_date": pa.array([d(x) for x in cols[3]], pa.date32()),
            "amount": _decimal(np.array(cols[4], dtype=np.int64)),
            "payee_name": pa.array(["杭州（恒信）科技有限公司"] * n),
            "payee_account": pa.array(cols[2]),
            "economic_class": pa.array(["30201"] * n),
            "payee_bank": pa.array(["中国银行"] * n),
            "purpose": pa.array(cols[5], pa.string()),
            "pay_method": pa.array(["direct"] * n),
            "status": pa.array(cols[6], pa.string()),
            "created_by": pa.array(["u1"] * n),
            "approved_by": pa.array(["a1"] * n),
            "created_at": pa.array([None] * n, pa.timestamp("us")),
            "approved_at": pa.array([None] * n, pa.timestamp("us")),
        },
        schema=schema,
    )


def tile(src: Path, out_dir: Path, copies: int) -> Path:
    """``copies`` copies of ``src/payments.parquet`` as independent regions: unit, voucher and
    indicator ids get a ``T<k>`` prefix (after any leading spaces, so the loader's stripping
    reads them alike); payee accounts are shared, as suppliers serve many units. Each copy's
    findings are the source's findings under the copy's ids: the work grows linearly."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pf = pq.ParquetFile(src / "payments.parquet")
    path = out_dir / "payments.parquet"
    sp = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in " \t\r\n\u3000\u00a0\ufeff") + "]"
    with pq.ParquetWriter(path, pf.schema_arrow, compression="zstd") as w:
        for k in range(copies):
            for i in range(pf.num_row_groups):
                t = pf.read_row_group(i)
                cols = {}
                for name in t.column_names:
                    col = t[name]
                    if name in ("unit_id", "voucher_id", "indicator_id"):
                        col = pc.replace_substring_regex(col, f"^({sp}*)", f"\\1T{k}")
                    cols[name] = col
                w.write_table(pa.table(cols, schema=t.schema), row_group_size=1_000_000)
    for extra in ("auditlib.yaml",):
        if (src / extra).exists():
            (out_dir / extra).write_bytes((src / extra).read_bytes())
    return path

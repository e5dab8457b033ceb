"""``amount.benford``: a unit whose payment amounts break Benford's law.

Per unit, the leading digit and the leading two digits of the year's paid amounts are
compared with Benford's law by Nigrini's mean absolute deviation (MAD) and his
conformity bands (first digit: close ≤ 0.006, acceptable ≤ 0.012, marginal ≤ 0.015,
nonconformity above; first two: 0.0012, 0.0018, 0.0022). Digits come from the integer
amount in fen, never from a floating-point logarithm (which is one step low at exact
powers of ten). Amounts under ``min_amount`` yuan and the classes in
``exclude_classes`` (wages 301xx and subsidies to individuals 303xx: set by pay scales
and standards, not Benford material) are left out, and identical payments to one payee
(a monthly rent) count once: a repeated number is one number.

Nigrini's bands assume large samples: at 300 payments pure chance already gives a
first-digit MAD near 0.014, at 500 a first-two MAD near 0.0035. And many real ledgers
are not Benford-shaped at all (amounts of a class span less than a decade). So a unit
alerts on a test only when all hold:

- the sample is large enough (``min_first`` / ``min_two`` numbers) and wide enough: the
  amounts span at least ``min_decades`` orders of magnitude between their 10th and 90th
  percentiles (Benford's law is about data spanning several; telecom bills of 300-900
  yuan are not);
- the MAD against Benford is in the nonconformity band;
- the deviation is not chance: Pearson's chi-square against Benford has p < ``alpha``;
- the deviation is not the ledger's own shape: against the digits the *other* units
  show in the same economic classes, weighted by this unit's class mix (shrunk towards
  Benford where peers are few), the MAD is also above the band and the chi-square
  (allowing for the peers' own sampling noise) has p < ``alpha``. With no peers this
  is the Benford test again.

What must not fire: clean log-normal amounts; a unit that merely spends in different
classes than others; small units and narrow ledgers (``too_small`` / ``too_narrow`` in
:func:`benford_table`).

Known false positives: a unit whose business genuinely repeats one kind of purchase at
a fixed price from many suppliers (canteen meal tickets, standard equipment); the
explanation names the over-represented digits so an auditor can look at those payments
first (they lead the evidence list).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl
from scipy.special import gammaincc

from auditlib.alerts.schema import ref
from auditlib.detectors.base import Detector, Param, Text
from auditlib.exprs import active_payment, fen, in_year, repeated
from auditlib.registry import register

BANDS_FIRST = (0.006, 0.012, 0.015)
BANDS_TWO = (0.0012, 0.0018, 0.0022)
BAND_NAMES = ("close", "acceptable", "marginal", "nonconformity")
BAND_ZH = {"close": "高度符合", "acceptable": "可接受", "marginal": "勉强符合",
           "nonconformity": "不符合", "too_small": "样本不足", "too_narrow": "跨度不足"}
PRIOR = 200.0
"""Weight (in payments) of Benford's law in each class's peer distribution."""
B2 = np.log10(1 + 1 / np.arange(10, 100))
B1 = np.log10(1 + 1 / np.arange(1, 10))


def band(mad: float, cuts: tuple[float, float, float]) -> str:
    """Nigrini's conformity band of a MAD.

    >>> band(0.0131, BANDS_FIRST), band(0.0025, BANDS_TWO)
    ('marginal', 'nonconformity')
    """
    return BAND_NAMES[sum(mad > c for c in cuts)]


def chi2_sf(x, df: int):  # noqa: ANN001, ANN201 - a float or an array of them
    """Upper tail of the chi-square distribution (regularised incomplete gamma Q), for a
    number or a numpy array of them.

    >>> round(float(chi2_sf(15.507, 8)), 4), round(float(chi2_sf(112.02, 89)), 3)
    (0.05, 0.05)
    """
    return gammaincc(df / 2.0, np.maximum(np.asarray(x, dtype=float), 0.0) / 2.0)


def _numbers(payments_lf: pl.LazyFrame, year: int | None, as_of, min_amount: float,
             exclude_classes: tuple[str, ...]) -> pl.LazyFrame:
    """The counted payments with ``fen``, ``class_code`` (first five characters of the
    economic class, "" where missing) and ``d2`` (their first two digits)."""
    keep = active_payment() & (pl.col("amount") >= pl.lit(Decimal(repr(float(min_amount)))))
    if year is not None:
        keep = keep & in_year(pl.col("pay_date"), year, as_of)
    # the class code and the exclusions from the few distinct classes, not row by row
    ec = pl.col("economic_class")
    classes = payments_lf.select(ec.unique().drop_nulls()).collect().to_series().to_list()
    code = {c: c[:5] for c in classes if not any(c.startswith(str(x)) for x in exclude_classes)}
    order = sorted({*code.values(), ""})
    # the class's position among the class codes, looked up once per row (null: left out)
    ix = pl.col("_ix")
    if not any("".startswith(str(x)) for x in exclude_classes):  # missing class counts as ""
        keep = keep & (ix.is_not_null() | ec.is_null())
        ix = ix.fill_null(order.index(""))
    else:
        keep = keep & ix.is_not_null()
    f = pl.col("fen")  # at least 10 fen (min_amount >= 0.1), below 10**18 (Decimal(18, 2))
    d2 = f // 10**16  # exact integer comparisons, no logarithm (four times faster)
    for k in range(17, 1, -1):
        d2 = pl.when(f < 10**k).then(f // 10 ** (k - 2)).otherwise(d2)
    return (
        payments_lf.with_row_index("_r")
        .with_columns(ec.replace_strict(list(code), [order.index(v) for v in code.values()],
                                        default=None, return_dtype=pl.Int32).alias("_ix"))
        .filter(keep)
        .with_columns(fen(pl.col("amount")).alias("fen"), ix.alias("class_ix"))
        .with_columns(pl.lit(pl.Series(order)).gather(pl.col("class_ix")).alias("class_code"),
                      d2.alias("d2"))
        .drop("_ix")
    )


def _codes(cats: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """A Categorical's distinct values sorted as text, and a lookup from its physical
    code to the value's position among them."""
    uniq = cats.unique().drop_nulls().sort()  # Categorical sorts by its text
    phys = uniq.to_physical().to_numpy().astype(np.int64)
    lookup = np.full(int(phys.max()) + 1 if len(phys) else 1, -1, dtype=np.int64)
    lookup[phys] = np.arange(len(phys))
    return uniq.cast(pl.String), lookup


def _stats(numbers: pl.LazyFrame) -> pl.DataFrame:
    """Per unit: n, observed digit counts, MADs and chi-square p-values against Benford
    and against the class-mix-weighted peers."""
    # distinct numbers: one (unit, payee, class, amount) counts once; keys as codes (the
    # class's position among the sorted class codes comes from _numbers)
    base = numbers.select(
        pl.col("unit_id").cast(pl.Categorical(pl.Categories.random())),
        "_r", "class_ix", "fen", pl.col("d2").cast(pl.Int16),
    ).collect()
    # only a number whose (unit, class, amount) repeats can repeat with its payee: the payee
    # texts are read (by row number) and hashed for those rows only
    again = repeated(base.select(pl.col("unit_id").to_physical(), "class_ix", "fen"),
                     "unit_id", "class_ix", "fen")
    twice = base.filter(again)
    payees = numbers.filter(pl.col("_r").is_in(twice["_r"].implode())).select(
        "_r", "payee_account").collect()
    distinct = pl.concat([
        base.filter(~again).drop("_r"),
        twice.join(payees, on="_r", how="left")
        .group_by("unit_id", "payee_account", "class_ix", "fen")
        .agg(pl.col("d2").first())
        .select("unit_id", "class_ix", "fen", "d2"),
    ])
    del base, again
    spread = distinct.lazy().group_by("unit_id").agg(
        (pl.col("fen").quantile(0.9) / pl.col("fen").quantile(0.1)).log10().alias("decades")
    ).collect()
    units, u_of = _codes(spread["unit_id"])
    nu = units.len()
    nc = int(distinct["class_ix"].max() or 0) + 1
    # every distinct number counts one: bincounts over its (unit, class, digits) positions
    # (whole numbers, so exact whatever the order)
    ui = u_of[distinct["unit_id"].to_physical().to_numpy()]
    ci = distinct["class_ix"].to_numpy().astype(np.int64)
    di = distinct["d2"].to_numpy().astype(np.int64) - 10
    del distinct
    ud = ui * 90 + di
    obs = np.bincount(ud, minlength=nu * 90).reshape(nu, 90).astype(float)
    nuc = np.bincount(ui * nc + ci, minlength=nu * nc).reshape(nu, nc).astype(float)
    pop = np.bincount(ci * 90 + di, minlength=nc * 90).reshape(nc, 90).astype(float)
    m_eff = pop.sum(1)[None, :] - nuc + PRIOR  # peers of each unit in each class, + prior
    w = nuc / m_eff
    prior = pop + PRIOR * B2[None, :]
    own = w[ui, ci]  # the unit's own numbers, taken out of its peers' expectation
    exp = w @ prior - np.bincount(ud, weights=own, minlength=nu * 90).reshape(nu, 90)
    var_peer = (w * w) @ prior - np.bincount(
        ud, weights=own * own, minlength=nu * 90).reshape(nu, 90)
    n = obs.sum(1)
    rows = {"unit_id": units, "n": n.astype(np.int64)}
    for name, o, e, v, b in (
        ("two", obs, exp, var_peer, B2),
        ("first", _fold(obs), _fold(exp), _fold(var_peer), B1),
    ):
        share = o / n[:, None]
        rows[f"mad_{name}"] = np.abs(share - b[None, :]).mean(1)
        rows[f"mad_{name}_peers"] = np.abs(share - e / n[:, None]).mean(1)
        x_b = ((o - n[:, None] * b) ** 2 / (n[:, None] * b)).sum(1)
        x_e = ((o - e) ** 2 / np.maximum(e + v, 1e-9)).sum(1)
        df = len(b) - 1
        rows[f"p_{name}"] = chi2_sf(x_b, df)
        rows[f"p_{name}_peers"] = chi2_sf(x_e, df)
        rows[f"share_{name}"] = pl.Series(share)
        rows[f"expected_{name}"] = pl.Series(e / n[:, None])
    spread = spread.with_columns(pl.col("unit_id").cast(pl.String))
    return pl.DataFrame(rows).join(spread, on="unit_id", how="left")


def _fold(a: np.ndarray) -> np.ndarray:
    """First-two-digit columns (10..99) summed into first-digit columns (1..9)."""
    return a.reshape(a.shape[0], 9, 10).sum(2)


def benford_table(payments_lf: pl.LazyFrame, *, year: int | None = None, as_of=None,
                  min_first: int = 300, min_two: int = 500, min_amount: float = 10.0,
                  min_decades: float = 1.0,
                  exclude_classes: tuple[str, ...] = ("301", "303")) -> pl.DataFrame:
    """Per unit: ``n`` numbers tested, their spread (``decades``, log10 of the 90th over
    the 10th percentile), first-digit and first-two-digit MAD and Nigrini band
    (``too_small`` where ``n`` is below ``min_first`` / ``min_two``, ``too_narrow`` where
    the amounts span less than ``min_decades``: Benford's law needs several orders of
    magnitude), and the chi-square p-values against Benford and against the unit's peers.
    Every unit with a counted payment is listed, so a report can say where the test does
    not apply.

    >>> import polars as pl
    >>> pay = pl.LazyFrame({"unit_id": ["U1"] * 3, "payee_account": ["A", "B", "C"],
    ...     "amount": [100.0, 1000.0, 10000.0], "economic_class": ["30201"] * 3,
    ...     "status": ["paid"] * 3}).with_columns(pl.col("amount").cast(pl.Decimal(18, 2)))
    >>> benford_table(pay).select("unit_id", "n", "mad_first", "band_first").row(0)
    ('U1', 3, 0.155..., 'too_small')
    """
    numbers = _numbers(payments_lf, year, as_of, min_amount, exclude_classes)
    st = _stats(numbers)
    if st.height == 0:
        return pl.DataFrame(schema={
            "unit_id": pl.String, "n": pl.Int64, "decades": pl.Float64,
            "mad_first": pl.Float64, "band_first": pl.String,
            "mad_two": pl.Float64, "band_two": pl.String, "p_first": pl.Float64,
            "p_two": pl.Float64, "p_first_peers": pl.Float64, "p_two_peers": pl.Float64})
    return st.select(
        "unit_id", "n", "decades", "mad_first",
        _band_expr("mad_first", BANDS_FIRST, min_first, min_decades).alias("band_first"),
        "mad_two", _band_expr("mad_two", BANDS_TWO, min_two, min_decades).alias("band_two"),
        "p_first", "p_two", "p_first_peers", "p_two_peers",
    )


def _band_expr(col: str, cuts: tuple[float, float, float], min_n: int,
               min_decades: float) -> pl.Expr:
    m = pl.col(col)
    return (
        pl.when(pl.col("n") < min_n).then(pl.lit("too_small"))
        .when(pl.col("decades") < min_decades).then(pl.lit("too_narrow"))
        .when(m <= cuts[0]).then(pl.lit("close"))
        .when(m <= cuts[1]).then(pl.lit("acceptable"))
        .when(m <= cuts[2]).then(pl.lit("marginal"))
        .otherwise(pl.lit("nonconformity"))
    )


@register
class AmountBenford(Detector):
    id = "amount.benford"
    title = Text("本福特定律偏离", "Benford's law nonconformity")
    description = Text(
        "单位支付金额的首位数字与前两位数字分布不符合本福特定律（Nigrini MAD 区间），且偏离"
        "既非抽样误差，也不能由同类支付的正常形态解释。",
        "A unit's payment amounts break Benford's law in their first or first two digits "
        "(Nigrini's MAD bands), beyond chance and beyond what the same classes show elsewhere.",
    )
    requires = ("payments",)
    entity = "unit"
    severity = "medium"
    params = (
        Param("min_first", int, 300, "Fewest numbers for the first-digit test.", min=50),
        Param("min_two", int, 500, "Fewest numbers for the first-two-digits test.", min=100),
        Param("min_amount", float, 10.0, "Amounts below this (yuan) are not counted.", min=0.1),
        Param("exclude_classes", tuple, ("301", "303"), "Economic class prefixes left out "
              "(set by pay scales or standards)."),
        Param("min_decades", float, 1.0, "Fewest orders of magnitude between the 10th and "
              "90th percentile of a unit's amounts for Benford's law to apply.", min=0.0),
        Param("alpha", float, 1e-5, "Chi-square p-value below which a deviation is not chance.",
              min=1e-300, max=0.5),
    )
    alert_title = Text(
        "本福特定律偏离：单位 {entity_id}（{tests_zh}，{n:int} 个金额）",
        "Benford nonconformity: unit {entity_id} ({tests_en}, {n:int} amounts)",
    )
    alert_explanation = Text(
        "单位 {entity_id} 本年 {n:int} 个支付金额（不低于 {min_amount:money} 元，不含经济分类 "
        "{excluded}，同一收款人同一金额只计一次）：首位数字 MAD {mad_first:.4f}（{band_first_zh}；"
        "Nigrini 不符合界限 0.015），前两位数字 MAD {mad_two:.4f}（{band_two_zh}；"
        "不符合界限 0.0022）。"
        "{detail_zh}偏多最明显的数字：{over_zh}。",
        "Unit {entity_id}, {n:int} payment amounts this year (at least {min_amount:money} yuan, "
        "classes {excluded} left out, one payee's identical amounts counted once): first-digit "
        "MAD {mad_first:.4f} ({band_first}; Nigrini's nonconformity starts above 0.015), "
        "first-two-digits MAD {mad_two:.4f} ({band_two}; above 0.0022). {detail_en}Most "
        "over-represented: {over_en}.",
    )

    def find(self, tables, ctx):
        numbers = _numbers(tables["payments"], ctx.year, ctx.as_of, self.min_amount,
                           tuple(self.exclude_classes))
        st = _stats(numbers)
        if st.height == 0:
            return _empty()
        tests = ("first", "two")
        candidates = st.with_columns(
            self._fails_expr("first", BANDS_FIRST[2], self.min_first).alias("_fails_first"),
            self._fails_expr("two", BANDS_TWO[2], self.min_two).alias("_fails_two"),
        ).filter(pl.col("_fails_first") | pl.col("_fails_two"))
        if candidates.height == 0:
            return _empty()
        found = [self._finding(r, [t for t in tests if r[f"_fails_{t}"]])
                 for r in candidates.iter_rows(named=True)]
        hits = pl.DataFrame(found, schema_overrides={"over_d2": pl.List(pl.Int64)})
        evidence = (
            numbers.join(hits.lazy().select("unit_id", "over_d2"), on="unit_id")
            .with_columns(pl.col("d2").is_in(pl.col("over_d2")).alias("_over"))
            .sort("unit_id", "_over", "voucher_id", descending=[False, True, False])
            .group_by("unit_id", maintain_order=True)
            .agg(ref("payments", "voucher_id").alias("evidence"))
        )
        return (
            hits.lazy().join(evidence, on="unit_id")
            .with_columns(
                pl.col("unit_id").alias("entity_id"),
                pl.concat_str("unit_id", pl.lit(f"|{ctx.year}")).alias("finding_key"),
                pl.lit(", ".join(self.exclude_classes) or "—").alias("excluded"),
            )
            .drop("over_d2")
            .sort("entity_id")
        )

    def _fails_expr(self, test: str, nonconformity: float, min_n: int) -> pl.Expr:
        """A unit fails ``test`` (first or first-two digits): enough numbers spanning
        enough decades, a MAD above the nonconformity band against Benford and against the
        peers, and both chi-square p-values below ``alpha``."""
        return (
            (pl.col("n") >= min_n)
            & (pl.col("decades").fill_null(0.0) >= self.min_decades)
            & (pl.col(f"mad_{test}") > nonconformity)
            & (pl.col(f"mad_{test}_peers") > nonconformity)
            & (pl.col(f"p_{test}") < self.alpha)
            & (pl.col(f"p_{test}_peers") < self.alpha)
        )

    def _finding(self, r: dict, failed: list[str]) -> dict:
        b1 = band(r["mad_first"], BANDS_FIRST) if r["n"] >= self.min_first else "too_small"
        b2 = band(r["mad_two"], BANDS_TWO) if r["n"] >= self.min_two else "too_small"
        # (a unit only alerts when its amounts span min_decades, so never "too_narrow" here)
        over_zh, over_en = [], []
        s1, s2 = np.array(r["share_first"]), np.array(r["share_two"])
        for d in np.argsort(B1 - s1, kind="stable")[:2]:
            if s1[d] > B1[d]:
                over_zh.append(f"首位 {d + 1}（{s1[d]:.1%}，本福特 {B1[d]:.1%}）")
                over_en.append(f"first digit {d + 1} ({s1[d]:.1%} vs Benford {B1[d]:.1%})")
        top2 = [int(d) for d in np.argsort(B2 - s2, kind="stable")[:3] if s2[d] > B2[d]]
        for d in top2:
            over_zh.append(f"前两位 {d + 10}（{s2[d]:.1%}，本福特 {B2[d]:.1%}）")
            over_en.append(f"first two {d + 10} ({s2[d]:.1%} vs Benford {B2[d]:.1%})")
        names = {"first": ("首位数字", "first digit"), "two": ("前两位数字", "first two digits")}
        detail_zh = "".join(
            f"{names[t][0]}卡方检验 p 值：对本福特 {r[f'p_{t}']:.2g}，对同类支付期望 "
            f"{r[f'p_{t}_peers']:.2g}（MAD {r[f'mad_{t}_peers']:.4f}），均低于 {self.alpha:g}。"
            for t in failed)
        detail_en = "".join(
            f"{names[t][1].capitalize()} chi-square p = {r[f'p_{t}']:.2g} against Benford and "
            f"{r[f'p_{t}_peers']:.2g} against the peers' digits for the same classes (MAD "
            f"{r[f'mad_{t}_peers']:.4f}), both below {self.alpha:g}. " for t in failed)
        ratio = max(r[f"mad_{t}"] / (BANDS_FIRST if t == "first" else BANDS_TWO)[2] for t in failed)
        return {
            "unit_id": r["unit_id"], "n": r["n"],
            "mad_first": r["mad_first"], "band_first": b1, "band_first_zh": BAND_ZH[b1],
            "mad_two": r["mad_two"], "band_two": b2, "band_two_zh": BAND_ZH[b2],
            "tests_zh": "、".join(names[t][0] for t in failed),
            "tests_en": " and ".join(names[t][1] for t in failed),
            "detail_zh": detail_zh, "detail_en": detail_en,
            "over_zh": "；".join(over_zh) or "—", "over_en": "; ".join(over_en) or "—",
            "over_d2": [d + 10 for d in top2],
            "score": 0.5 + 0.5 * min(1.0, (ratio - 1.0) / 3.0),
            "severity": "high" if len(failed) == 2 else "medium",
        }


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"entity_id": pl.String, "finding_key": pl.String,
                                "evidence": pl.List(pl.String)})

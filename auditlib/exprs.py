"""Domain predicates and normalisations as polars expressions, shared by detectors.

Examples
--------
>>> import polars as pl
>>> names = ["杭州（某某）科技有限公司", "杭州(某某)科技 有限公司 ", "杭州某某科技"]
>>> pl.DataFrame({"n": names}).select(payee_key(pl.col("n")))["n"].to_list()
['杭州某某科技', '杭州某某科技', '杭州某某科技']
>>> p = ["2026年3月房租", "3月份物业费", "第二季度电费", "办公用品"]
>>> pl.DataFrame({"p": p}).select(period_token(pl.col("p")))["p"].to_list()
['2026-3', '3', 'Q2', None]
"""

from __future__ import annotations

import polars as pl

SANGONG = {
    "30212": ("出国(境)", "trips abroad"),
    "30217": ("公务接待", "official reception"),
    "30231": ("公务用车运行维护", "official vehicle running"),
    "31013": ("公务用车购置", "official vehicle purchase"),
}
"""三公 economic classes: code → (Chinese, English) category name."""

_SUFFIXES = r"(股份有限公司|有限责任公司|有限公司|集团公司|分公司|公司|LIMITED|LTD\.?|CO\.?)$"


def payee_key(expr: pl.Expr) -> pl.Expr:
    """A payee name reduced for comparison: NFKC (full-width → half-width), no spaces,
    no brackets or punctuation, common company suffixes removed, upper case."""
    s = expr.str.normalize("NFKC").str.to_uppercase()
    s = s.str.replace_all(r"[\s()\[\]{}<>《》【】,.·・、\-_'\"]", "")
    return s.str.replace(_SUFFIXES, "")


def active_payment() -> pl.Expr:
    """A payment that moved money: status paid (returned and cancelled vouchers did not)
    and a positive amount (negative amounts are reversals)."""
    return (pl.col("status").fill_null("paid") == "paid") & (pl.col("amount") > 0)


_CN_NUM = {"一": "1", "二": "2", "三": "3", "四": "4"}


def period_token(expr: pl.Expr) -> pl.Expr:
    """The billing period a purpose text names (``2026年3月`` → ``2026-3``, ``3月`` → ``3``,
    ``第二季度`` → ``Q2``, ``2026-03`` → ``2026-3``), else null."""
    s = expr.str.normalize("NFKC")
    ym = s.str.extract(r"(\d{4})\s*年\s*(\d{1,2})\s*月", 1)
    ym_m = s.str.extract(r"(\d{4})\s*年\s*(\d{1,2})\s*月", 2)
    iso_y = s.str.extract(r"(\d{4})[-/](\d{1,2})(?:\D|$)", 1)
    iso_m = s.str.extract(r"(\d{4})[-/](\d{1,2})(?:\D|$)", 2)
    m_only = s.str.extract(r"(\d{1,2})\s*月", 1)
    q = s.str.extract(r"第?([一二三四1-4])季度", 1).replace(_CN_NUM)
    strip0 = lambda e: e.cast(pl.Int64, strict=False).cast(pl.String)  # noqa: E731
    return pl.coalesce(
        pl.concat_str(ym, pl.lit("-"), strip0(ym_m)),
        pl.concat_str(iso_y, pl.lit("-"), strip0(iso_m)),
        strip0(m_only),
        pl.concat_str(pl.lit("Q"), q),
    )


def fen(expr: pl.Expr) -> pl.Expr:
    """Money as integer fen (exact: decimal × 100)."""
    return (expr * 100).cast(pl.Int64)


def sangong_code(expr: pl.Expr) -> pl.Expr:
    """The 三公 code an economic class falls under (``30217`` for ``3021701``), else null."""
    s = expr.str.slice(0, 5)
    return pl.when(s.is_in(list(SANGONG))).then(s)


def sangong_name(code: pl.Expr, lang: str) -> pl.Expr:
    """The 三公 category name of a code, in ``zh`` or ``en``."""
    i = 0 if lang == "zh" else 1
    return code.replace_strict({k: v[i] for k, v in SANGONG.items()}, default=None)


def in_year(date: pl.Expr, year: int, as_of) -> pl.Expr:  # noqa: ANN001 - a date
    """The date falls in fiscal ``year`` and not after the audit date."""
    return (date.dt.year() == year) & (date <= as_of)


def to_time(date: pl.Expr, timezone: str) -> pl.Expr:
    """A Date as midnight in the run's time zone (for ``event_time``)."""
    return date.cast(pl.Datetime("us")).dt.replace_time_zone(timezone)

"""Value parsing as polars expressions: ids, money, dates, datetimes, enums, months.

Every parser takes a String expression and returns the typed value, or null
where the text does not parse; the loader compares with the input to count or
reject failures.

Examples
--------
>>> import polars as pl
>>> df = pl.DataFrame({"s": ["1,234.50", "￥(100.00)", "12.345", " 7 ", "1,23"]})
>>> df.select(money(pl.col("s")))["s"].to_list()
[Decimal('1234.50'), Decimal('-100.00'), None, Decimal('7.00'), None]
>>> df = pl.DataFrame({"s": ["2026-03-05", "2026/3/5", "20260305", "2026-02-30"]})
>>> df.select(date(pl.col("s")))["s"].cast(pl.String).to_list()
['2026-03-05', '2026-03-05', '2026-03-05', None]
>>> df = pl.DataFrame({"s": ["2026-03-05 09:30", "2026-03-05T01:30:00Z", "2026/3/5 09:30:00.5+0800"]})
>>> df.select(datetime(pl.col("s"), "Asia/Shanghai"))["s"].dt.strftime("%H:%M:%S%.f").to_list()
['09:30:00', '09:30:00', '09:30:00.500']
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from auditlib.schemas import MONEY, Kind, datetime_type

SPACES = " \t\r\n\u3000\u00a0\ufeff"
"""Surrounding characters stripped from headers, ids and codes (ASCII and full-width spaces)."""


def stripped(expr: pl.Expr) -> pl.Expr:
    """Strip surrounding ASCII/full-width spaces; empty becomes null."""
    s = expr.str.strip_chars(SPACES)
    return pl.when(s.str.len_bytes() > 0).then(s)


_MONEY_RE = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$"


def money(expr: pl.Expr) -> pl.Expr:
    """Exact yuan, 2 places: thousands separators, ¥/￥, parentheses for negatives."""
    s = stripped(expr).str.replace_all(r"[¥￥\s]", "")
    neg = s.str.starts_with("(") & s.str.ends_with(")")
    body = pl.when(neg).then(s.str.slice(1, s.str.len_chars() - 2)).otherwise(s)
    ok = body.str.contains(_MONEY_RE)
    val = body.str.replace_all(",", "").str.strip_prefix("+").cast(MONEY, strict=False)
    return pl.when(ok).then(pl.when(neg).then(-val).otherwise(val))


def _ymd(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    return pl.concat_str(y, pl.lit("-"), m.str.zfill(2), pl.lit("-"), d.str.zfill(2))


_DATE_SEP = r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
_DATE_NOSEP = r"^(\d{4})(\d{2})(\d{2})"


def _date_text(s: pl.Expr, tail: str) -> pl.Expr:
    a = _ymd(*(s.str.extract(_DATE_SEP + tail, i) for i in (1, 2, 3)))
    b = _ymd(*(s.str.extract(_DATE_NOSEP + tail, i) for i in (1, 2, 3)))
    return pl.coalesce(a, b)


def date(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY/M/D`` or ``YYYYMMDD``."""
    s = stripped(expr)
    return _date_text(s, "$").str.strptime(pl.Date, "%Y-%m-%d", strict=False)


_TIME = r"[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$"


def datetime(expr: pl.Expr, timezone: str) -> pl.Expr:
    """A date, a space or ``T``, ``HH:MM[:SS[.ffffff]]``, optionally an offset.

    Naive times are read in ``timezone``; the result is in ``timezone``.
    """
    s = stripped(expr)
    day = _date_text(s, _TIME)
    g = {
        name: pl.coalesce(s.str.extract(_DATE_SEP + _TIME, i), s.str.extract(_DATE_NOSEP + _TIME, i))
        for name, i in (("h", 4), ("mi", 5), ("sec", 6), ("frac", 7), ("off", 8))
    }
    text = pl.concat_str(
        day, pl.lit(" "), g["h"].str.zfill(2), pl.lit(":"), g["mi"], pl.lit(":"),
        g["sec"].fill_null("00"), pl.lit("."), g["frac"].fill_null("0").str.pad_end(6, "0"),
    )
    naive = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
    off = g["off"]
    sign = pl.when(off.str.starts_with("-")).then(-1).otherwise(1)
    digits = off.str.replace_all(r"[^0-9]", "")
    minutes = sign * (
        digits.str.slice(0, 2).cast(pl.Int64, strict=False) * 60
        + digits.str.slice(2, 2).cast(pl.Int64, strict=False)
    )
    minutes = pl.when(off.is_in(["Z", "UTC"])).then(0).otherwise(minutes)
    with_off = (naive - pl.duration(minutes=minutes)).dt.replace_time_zone("UTC")
    target = datetime_type(timezone)
    local = naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    return (
        pl.when(off.is_null())
        .then(local.dt.convert_time_zone(timezone))
        .otherwise(with_off.dt.convert_time_zone(timezone))
        .cast(target)
    )


def integer(expr: pl.Expr) -> pl.Expr:
    s = stripped(expr).str.replace(r"\.0+$", "")
    return pl.when(s.str.contains(r"^[+-]?\d{1,18}$")).then(s.cast(pl.Int64, strict=False))


def month(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` (also ``YYYY-M``, ``YYYY/MM``, ``YYYYMM``) as ``YYYY-MM`` text."""
    s = stripped(expr)
    y = pl.coalesce(s.str.extract(r"^(\d{4})[-/](\d{1,2})$", 1), s.str.extract(r"^(\d{4})(\d{2})$", 1))
    m = pl.coalesce(s.str.extract(r"^(\d{4})[-/](\d{1,2})$", 2), s.str.extract(r"^(\d{4})(\d{2})$", 2))
    mm = m.cast(pl.Int64, strict=False)
    return pl.when(mm.is_between(1, 12)).then(pl.concat_str(y, pl.lit("-"), m.str.zfill(2)))


def enum(expr: pl.Expr, mapping: Mapping[str, str], *, default: str | None = None) -> pl.Expr:
    """Canonical value of an enumerated column; English matched in any case."""
    s = stripped(expr)
    keys = {k.lower(): v for k, v in mapping.items() if k}
    looked = s.str.to_lowercase().replace_strict(keys, default=None, return_dtype=pl.String)
    if default is not None:
        return pl.when(s.is_null()).then(pl.lit(default)).otherwise(looked)
    return looked


def parse(expr: pl.Expr, kind: Kind, *, name: str, timezone: str) -> pl.Expr:
    """The typed value of a String column of the given kind."""
    from auditlib.schemas import ENUMS

    if kind == "id":
        return stripped(expr)
    if kind == "text":
        return pl.when(expr.str.strip_chars(SPACES).str.len_bytes() > 0).then(expr)
    if kind == "money":
        return money(expr)
    if kind == "date":
        return date(expr)
    if kind == "datetime":
        return datetime(expr, timezone)
    if kind == "int":
        return integer(expr)
    if kind == "month":
        return month(expr)
    if kind == "enum":
        return enum(expr, ENUMS[name], default="paid" if name == "status" else None)
    msg = f"unknown column kind {kind!r}"
    raise ValueError(msg)

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

import datetime as dt

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


def codes(expr: pl.Expr) -> pl.Expr:
    """Integer codes of a string key (categorical codes: one hash pass, exact). Group and
    sort on these rather than on the strings. Each call has its own categories, freed with
    the frame (the global ones would keep every account number of a 10M-row table for the
    life of the process), so codes of two calls are not comparable."""
    return expr.cast(pl.Categorical(pl.Categories.random())).to_physical().cast(pl.Int64)


def repeated(frame: pl.DataFrame, *cols: str) -> pl.Series:
    """For each row of ``frame``: does its combination of the non-negative integer columns
    ``cols`` occur on another row too? Where the columns' bits fit in 64, one packed key is
    sorted (a radix sort, several times faster than hashing millions of distinct tuples)
    and only the few repeated keys are looked up; otherwise a hash count.

    >>> f = pl.DataFrame({"a": [1, 1, 2, 1], "b": [5, 6, 5, 5]})
    >>> repeated(f, "a", "b").to_list()
    [True, False, False, True]
    >>> wide = pl.DataFrame({"a": [2**40, 2**40, 7], "b": [2**40, 2**40, 2**40]})  # 82 bits
    >>> repeated(wide, "a", "b").to_list()
    [True, True, False]
    >>> repeated(pl.DataFrame({"a": [None, None, 1]}), "a").to_list()
    [True, True, False]
    """
    if frame.height == 0:
        return pl.Series(cols[0], [], pl.Boolean)
    if any(frame.get_column(c).null_count() for c in cols):  # a null is a value too
        return frame.select(pl.len().over(*cols) > 1).to_series()
    if len(cols) == 1:  # (any integer column, a hash for instance)
        keys = frame.get_column(cols[0])
    else:
        top = frame.select(pl.max(c).cast(pl.Int64) for c in cols).row(0)
        low = frame.select(pl.min(c).cast(pl.Int64) for c in cols).row(0)
        bits = [int(t).bit_length() for t in top]  # (no nulls here)
        if min(low) < 0 or sum(bits) > 64:
            return frame.select(pl.len().over(*cols) > 1).to_series()
        key, shift = pl.lit(0, pl.UInt64), 0
        for c, b in zip(reversed(cols), reversed(bits), strict=True):
            key = key + pl.col(c).cast(pl.UInt64) * pl.lit(2**shift, pl.UInt64)
            shift += b
        keys = frame.select(key.alias("k")).to_series()
    s = keys.sort()
    again = s.filter(s == s.shift(1)).unique()
    return keys.is_in(again.implode())


def rows_at(numbered: pl.LazyFrame, rows, *cols: str, index: str = "_r") -> pl.DataFrame:
    """``index`` and ``cols`` of the rows of ``numbered`` (a frame with a row-number column
    ``index``, from ``with_row_index``) whose numbers are ``rows``: one row per entry of
    ``rows``, in its order. Detectors carry row numbers through their heavy steps and read
    the texts back with this for the few rows they report.

    >>> lf = pl.LazyFrame({"v": ["a", "b", "c"]}).with_row_index("_r")
    >>> rows_at(lf, [2, 0, 2], "v")["v"].to_list()
    ['c', 'a', 'c']
    """
    got = numbered.filter(pl.col(index).is_in(pl.Series(rows).unique().implode())).select(
        index, *cols).collect()
    want = pl.Series(index, rows).cast(got.schema[index])
    return want.to_frame().join(got, on=index, how="left", maintain_order="left")


def fen(expr: pl.Expr) -> pl.Expr:
    """Money as integer fen (exact: a Decimal(18, 2)'s own integer; floats are rounded to
    the nearest fen).

    >>> pl.select(a=fen(pl.lit(0.29)), b=fen(pl.lit(-1.5))).row(0)
    (29, -150)
    """
    return expr.cast(pl.Decimal(18, 2)).to_physical().cast(pl.Int64)


def sangong_code(expr: pl.Expr) -> pl.Expr:
    """The 三公 code an economic class falls under (``30217`` for ``3021701``), else null."""
    out = pl.lit(None, dtype=pl.String)
    for code in reversed(list(SANGONG)):  # five-character codes: a prefix test each, cheaper
        out = pl.when(expr.str.starts_with(code)).then(pl.lit(code)).otherwise(out)  # than slicing
    return out


def with_evidence(found: pl.LazyFrame, rows: pl.LazyFrame, on: list[str], ref_expr: pl.Expr,
                  name: str) -> pl.LazyFrame:
    """``found`` with a sorted list ``name`` of ``ref_expr`` over the ``rows`` sharing its
    ``on`` keys: evidence built for the findings only, not for every group aggregated."""
    ev = (rows.join(found.select(on), on=on, how="semi")
          .group_by(on).agg(ref_expr.sort().alias(name)))
    return found.join(ev, on=on, how="left")


def sangong_name(code: pl.Expr, lang: str) -> pl.Expr:
    """The 三公 category name of a code, in ``zh`` or ``en``."""
    i = 0 if lang == "zh" else 1
    return code.replace_strict({k: v[i] for k, v in SANGONG.items()}, default=None)


def in_year(date: pl.Expr, year: int, as_of) -> pl.Expr:  # noqa: ANN001 - a date
    """The date falls in fiscal ``year`` and not after the audit date (one range test:
    twenty times cheaper than taking the year of every date).

    >>> d = pl.Series([dt.date(2025, 12, 31), dt.date(2026, 3, 1), dt.date(2026, 7, 1)])
    >>> pl.select(in_year(pl.lit(d), 2026, dt.date(2026, 6, 30))).to_series().to_list()
    [False, True, False]
    """
    end = dt.date(year, 12, 31)
    if as_of is not None and as_of < end:
        end = as_of
    return date.is_between(dt.date(year, 1, 1), end)


def to_time(date: pl.Expr, timezone: str) -> pl.Expr:
    """A Date as midnight in the run's time zone (for ``event_time``)."""
    return date.cast(pl.Datetime("us")).dt.replace_time_zone(timezone)


# ------------------------------------------------------------ business audit log
BUSINESS_ACTIONS = {
    "login": ("登录", "log-in"),
    "logout": ("退出", "log-out"),
    "voucher_create": ("制单", "voucher drafted"),
    "voucher_modify": ("修改凭证", "voucher modified"),
    "voucher_approve": ("审核凭证", "voucher approved"),
    "voucher_cancel": ("作废凭证", "voucher cancelled"),
    "indicator_create": ("新增指标", "indicator created"),
    "indicator_modify": ("修改指标", "indicator modified"),
    "indicator_adjust": ("调整指标", "indicator adjusted"),
    "payee_modify": ("修改收款人", "payee modified"),
    "data_export": ("导出数据", "data export"),
    "user_create": ("新建用户", "user created"),
    "role_grant": ("授予角色", "role granted"),
    "role_revoke": ("收回角色", "role revoked"),
    "config_change": ("修改配置", "configuration changed"),
    "audit_config_change": ("修改审计配置", "audit configuration changed"),
}
"""Business-log actions of the contract: action → (Chinese, English) name."""


def action_key(expr: pl.Expr) -> pl.Expr:
    """A business-log action compared loosely: trimmed, lower case (``Voucher_Approve``)."""
    return expr.str.strip_chars().str.to_lowercase()


def action_name(expr: pl.Expr, lang: str) -> pl.Expr:
    """The Chinese (``zh``) or English name of an action; unknown actions as they are."""
    i = 0 if lang == "zh" else 1
    return expr.replace_strict({k: v[i] for k, v in BUSINESS_ACTIONS.items()}, default=expr)


def succeeded(expr: pl.Expr) -> pl.Expr:
    """A logged operation that did not fail (``result`` success or not logged)."""
    return expr.fill_null("success") != "failure"


def json_field(expr: pl.Expr, *keys: str) -> pl.Expr:
    """The first of ``keys`` present in a JSON text (``detail``), trimmed; empty, missing
    or unreadable JSON → null. Numbers come back as their text. The text is parsed once
    whatever the number of keys.

    >>> d = pl.DataFrame({"d": ['{"rows": 120}', '{"行数": "5"}', "not json", None]})
    >>> d.select(json_field(pl.col("d"), "rows", "行数"))["d"].to_list()
    ['120', '5', None, None]
    """
    path = "$[" + ",".join(f"'{k}'" for k in keys) + "]"  # one parse, first key found
    v = expr.str.json_path_match(path).str.strip_chars()
    return pl.when(v != "").then(v)


def json_number(expr: pl.Expr, *keys: str) -> pl.Expr:
    """A number in a JSON text (thousands separators allowed) as Float64, else null."""
    s = json_field(expr, *keys).str.replace_all(",", "", literal=True)
    return s.cast(pl.Float64, strict=False)


def fixed_offset_us(timezone: str, lo: dt.datetime | None, hi: dt.datetime | None) -> int | None:
    """The zone's UTC offset in microseconds if it is one offset from ``lo`` to ``hi``
    (checked every 15 minutes: zones change offsets on quarter hours), else None.

    A zone-aware column's integer is UTC; adding a fixed offset gives the wall clock at a
    fraction of the cost of ``dt.replace_time_zone(None)``'s per-row zone lookup (and
    subtracting it reads naive wall-clock times). Naive bounds are wall-clock times: the
    span checked is widened by a day each side to cover every offset they could mean.

    >>> t = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> fixed_offset_us("Asia/Shanghai", t, t + dt.timedelta(days=365)) // 3_600_000_000
    8
    >>> fixed_offset_us("Europe/Berlin", t, t + dt.timedelta(days=365)) is None
    True
    """
    if lo is None or hi is None:
        return None
    if lo.tzinfo is None or hi.tzinfo is None:
        day, utc = dt.timedelta(days=1), dt.timezone.utc
        lo, hi = lo.replace(tzinfo=utc) - day, hi.replace(tzinfo=utc) + day
    grid = pl.datetime_range(lo, hi + dt.timedelta(minutes=15), "15m", time_unit="us",
                             time_zone=timezone, eager=True)
    wall = grid.dt.replace_time_zone(None).to_physical() - grid.to_physical()
    offsets = wall.unique()
    return int(offsets[0]) if offsets.len() == 1 else None


def off_hours_kind(local: pl.Expr, calendar, working_hours, grace_minutes: int = 0) -> pl.Expr:
    """Why a local timestamp is out of working time: ``holiday`` (a public holiday),
    ``rest_day`` (a weekend that is not a 调休 make-up day), ``night`` (a working day
    outside ``working_hours`` widened by ``grace_minutes``), else null.

    ``local`` must already be in the run's time zone (``dt.convert_time_zone``);
    ``calendar`` is ``ctx.calendar``, ``working_hours`` ``ctx.settings.working_hours``.
    """
    start, end = working_hours
    lo = start.hour * 60 + start.minute - grace_minutes
    hi = end.hour * 60 + end.minute + grace_minutes
    day = local.dt.date()
    minutes = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
    return (
        pl.when(local.is_null()).then(None)
        .when(calendar.holiday_expr(day)).then(pl.lit("holiday"))
        .when(~calendar.workday_expr(day)).then(pl.lit("rest_day"))
        .when((minutes < lo) | (minutes > hi)).then(pl.lit("night"))
    )


OFF_KIND_NAMES = {"holiday": ("法定节假日", "public holiday"), "rest_day": ("休息日", "rest day"),
                  "night": ("夜间", "night")}
"""Names of :func:`off_hours_kind` values: kind → (Chinese, English)."""


def session_day(local: pl.Expr, working_hours) -> pl.Expr:
    """The day a local timestamp's working session belongs to: its date, counted from the
    start of working hours, so an evening and the small hours after it are one night."""
    start = working_hours[0]
    shift = pl.duration(hours=start.hour, minutes=start.minute)
    return (local - shift).dt.date()


# ------------------------------------------------------------------ subsidies (一卡通)
PERIOD_RANK = {"month": 0, "quarter": 1, "year": 2, "once": 3}
"""Subsidy program periods from the finest to the coarsest."""


def period_label(date: pl.Expr, period: pl.Expr) -> pl.Expr:
    """The period a payment date falls in, for a program ``period``: ``2026-03``
    (month), ``2026-Q1`` (quarter), ``2026`` (year), ``once`` (ever).

    >>> import datetime as dt
    >>> df = pl.DataFrame({"d": [dt.date(2026, 3, 9)] * 4, "p": ["month", "quarter", "year", "once"]})
    >>> df.select(period_label(pl.col("d"), pl.col("p")))["d"].to_list()
    ['2026-03', '2026-Q1', '2026', 'once']
    """
    y = date.dt.year().cast(pl.String)
    return (
        pl.when(period == "month").then(date.dt.strftime("%Y-%m"))
        .when(period == "quarter").then(pl.concat_str(y, pl.lit("-Q"), date.dt.quarter().cast(pl.String)))
        .when(period == "year").then(y)
        .when(period == "once").then(pl.lit("once"))
    )


def period_index(date: pl.Expr, period: pl.Expr) -> pl.Expr:
    """Consecutive periods as consecutive integers (months ``y*12+m``, quarters ``y*4+q``,
    years ``y``; ``once`` is 0), so gaps between paid periods can be counted."""
    y = date.dt.year().cast(pl.Int64)
    return (
        pl.when(period == "month").then(y * 12 + date.dt.month().cast(pl.Int64) - 1)
        .when(period == "quarter").then(y * 4 + date.dt.quarter().cast(pl.Int64) - 1)
        .when(period == "year").then(y)
        .otherwise(pl.lit(0, pl.Int64))
    )


def is_masked(expr: pl.Expr) -> pl.Expr:
    """An id with masked characters (``330102********1234``): it no longer tells people apart."""
    return expr.str.contains("*", literal=True)


def masked_name(id_expr: pl.Expr, name_expr: pl.Expr) -> pl.Expr:
    """For a masked id, the holder's name (NFKC, no spaces) that tells two people with the
    same masked id apart; null for an id compared as given (full or pseudonymised)."""
    name = name_expr.str.normalize("NFKC").str.replace_all(r"\s", "")
    return pl.when(is_masked(id_expr)).then(name.fill_null(""))


def beneficiary_key(id_expr: pl.Expr, name_expr: pl.Expr) -> pl.Expr:
    """Who a subsidy was paid to: the id as given; a masked id together with the name.

    >>> df = pl.DataFrame({"i": ["110101199003071234", "1101**********1234"], "n": ["张三", "李 四"]})
    >>> df.select(beneficiary_key(pl.col("i"), pl.col("n")))["i"].to_list()
    ['110101199003071234', '1101**********1234|李四']
    """
    return pl.concat_str([id_expr, masked_name(id_expr, name_expr)], separator="|", ignore_nulls=True)

r"""Audit-log helpers of the ``db.*`` and ``xcheck.*`` detectors (a private module).

- :func:`prepare`: ``db_audit`` with helper columns (account, verb, success, dialect,
  template) and pgAudit's ``<none>``/``<not logged>`` markers as nulls;
- :func:`with_tables`: tables written / read / altered by each event, from
  ``object_name`` where the log has it, else from the statement (one sqlglot parse per
  distinct template), unqualified names resolved to ``public`` (PostgreSQL) or to the
  event's database when that names a configured table (MariaDB);
- :func:`add_statement_key`: the records of one statement (pgAudit writes one per relation;
  MariaDB a QUERY record plus table records) share a key;
- :func:`cover`: the approved change ticket covering an account's work at a time on
  some objects; :func:`routine`: whether an account does the same thing at the same
  hour on most earlier days; :func:`id_pattern` / :func:`object_tokens`: business
  object ids (voucher, indicator numbers) found in statements and parameters.

Examples
--------
>>> qualify("Payment", "budget", {"budget.payment"}), qualify("payment", None, set())
('budget.payment', 'public.payment')
>>> print(id_pattern(pl.Series(["V2026000123", "V2026000124", "IND-2026-01"])))
\bIND\-\d{4}\-\d{2}\b|\bV\d{10}\b
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable

import polars as pl

from auditlib.detectors._dbsql import dialect_expr, table_info, template_expr
from auditlib.exprs import codes, off_hours_kind

WRITE_VERBS = (
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "COPY",
    "MERGE",
    "REPLACE",
    "LOAD",
    "WRITE",
    "UPSERT",
)
READ_VERBS = ("SELECT", "READ", "COPY", "WITH", "TABLE", "VALUES", "FETCH")
DDL_VERBS = (
    "CREATE",
    "ALTER",
    "DROP",
    "TRUNCATE",
    "RENAME",
    "COMMENT",
    "GRANT",
    "REVOKE",
    "SECURITY",
    "REINDEX",
    "CLUSTER",
    "REFRESH",
    "IMPORT",
    "INSTALL",
    "UNINSTALL",
)
_MARKER = r"^<[a-z ]+>$"


def value_mask(lf: pl.LazyFrame, col: str, test: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """``test(pl.col(col))`` as a filter condition (True where it is True; False where
    False or null), evaluated once per distinct value of ``col`` and applied as a
    membership test: a low-cardinality text column (a business-log action) is not
    transformed (trimmed, lower-cased...) row by row."""
    vals = lf.select(pl.col(col).unique()).collect()
    true = vals.filter(test(pl.col(col)).fill_null(False))[col]
    mask = pl.col(col).is_in(true.drop_nulls().implode()).fill_null(False)
    return mask | pl.col(col).is_null() if true.null_count() else mask


def no_findings() -> pl.DataFrame:
    """An empty findings frame."""
    return pl.DataFrame(
        schema={"entity_id": pl.String, "finding_key": pl.String, "evidence": pl.List(pl.String)}
    )


def normalise(name: str, default: str = "public") -> str:
    """A configured table name lower case, schema ``default`` if it names none."""
    n = name.strip().replace('"', "").replace("`", "").lower()
    return n if "." in n else f"{default}.{n}"


def settings_of(ctx) -> tuple[list[str], list[str], list[str]]:
    """``(app_users, protected_tables, sensitive_tables)`` of the settings, normalised."""
    db = ctx.settings.db
    return (
        [u.strip().lower() for u in db.app_users],
        [normalise(t) for t in db.protected_tables],
        [normalise(t) for t in db.sensitive_tables],
    )


def qualify(name: str, database: str | None, prefer: set[str]) -> str:
    """A table name from a log or a statement as ``schema.table``: as given when it has a
    schema; else the event's database as schema when that names a ``prefer`` table
    (MariaDB: the schema is the current database), else ``public`` (PostgreSQL)."""
    n = name.replace('"', "").replace("`", "").lower().removeprefix("?.")
    if "." in n:
        return n
    if database and f"{database.lower()}.{n}" in prefer:
        return f"{database.lower()}.{n}"
    return f"public.{n}"


PREPARED = {
    "user": ("db_user",),
    "verb": ("command",),
    "audit_class": ("audit_class",),
    "dialect": ("substatement_id",),
    "statement": ("statement",),
    "parameter": ("parameter",),
}
"""The columns :func:`prepare` derives, and the ``db_audit`` columns each is derived from."""


def prepared(name: str) -> pl.Expr:
    """The expression :func:`prepare` adds as ``name`` (a key of :data:`PREPARED`)."""
    marker = lambda c: pl.when(pl.col(c).str.contains(_MARKER)).then(None).otherwise(pl.col(c))  # noqa: E731
    exprs = {
        "user": lambda: pl.col("db_user").str.strip_chars().str.to_lowercase(),
        "verb": lambda: (
            pl.col("command").str.strip_chars().str.to_uppercase().str.extract(r"^(\w+)", 1)
        ),
        "audit_class": lambda: pl.col("audit_class").str.to_uppercase(),
        "dialect": dialect_expr,
        "statement": lambda: marker("statement"),
        "parameter": lambda: marker("parameter"),
    }
    return exprs[name]().alias(name)


def prepare(lf: pl.LazyFrame, ctx) -> pl.LazyFrame:
    """``db_audit`` with ``user`` (lower case), ``verb`` (first word of the command, upper
    case), ``ok`` (succeeded) and ``dialect``; marker texts nulled."""
    cmd = pl.col("command").str.strip_chars().str.to_uppercase()
    return lf.with_columns(
        pl.col("event_time").dt.convert_time_zone(ctx.timezone),
        prepared("user"),
        cmd.alias("cmd"),
        prepared("verb"),
        (pl.col("retcode").fill_null(0) == 0).alias("ok"),
        prepared("statement"),
        prepared("parameter"),
        prepared("audit_class"),
        prepared("dialect"),
    )


def with_template(df: pl.DataFrame, need: pl.Expr | None = None) -> pl.DataFrame:
    """Add ``template`` (:func:`template_expr`) for the rows ``need`` selects (all rows by
    default; null for the others): the regexes run only where a statement must be read."""
    if need is None:
        return df.with_columns(template_expr(pl.col("statement")).alias("template"))
    idx = df.with_columns(need.fill_null(False).alias("_m"))["_m"].arg_true()  # broadcast
    if idx.len() == df.height:
        return df.with_columns(template_expr(pl.col("statement")).alias("template"))
    # only the rows asked are read, and their templates scattered into a null column: the
    # frame is neither split nor sorted back (two copies of every column, before)
    some = df.select(pl.col("statement").gather(idx)).select(template_expr(pl.col("statement")))
    template = pl.repeat(None, df.height, dtype=pl.String, eager=True).alias("template")
    return df.with_columns(template.scatter(idx, some.to_series()) if idx.len() else template)


_INFO_SCHEMA = {
    "template": pl.String,
    "dialect": pl.String,
    "database": pl.String,
    "s_verb": pl.String,
    "s_writes": pl.List(pl.String),
    "s_reads": pl.List(pl.String),
    "s_objects": pl.List(pl.String),
    "s_copy_to": pl.Boolean,
    "s_star": pl.List(pl.String),
    "s_temp": pl.Boolean,
    "s_parsed": pl.Boolean,
}


def with_tables(
    df: pl.DataFrame, prefer: Iterable[str], *, need: pl.Expr | None = None
) -> pl.DataFrame:
    """Add ``writes``, ``reads``, ``objects`` (lists of ``schema.table``), ``copy_to``,
    ``star`` (tables read by ``SELECT *`` without WHERE/LIMIT), ``temp`` and ``s_verb``.

    Statements are read (templated and parsed) for the rows ``need`` selects — by default
    those without ``object_name`` and COPY (its direction); other rows take their tables
    from ``object_name``."""
    pref = set(prefer)
    if "template" not in df.columns:
        if need is None:
            need = pl.col("object_name").is_null() | (pl.col("verb") == "COPY")
        df = with_template(df, need)
    keys = df.select("template", "dialect", "database").unique()
    rows = []
    for tmpl, dial, db in keys.iter_rows():
        info = table_info(tmpl, dial) if tmpl else None

        def q(xs: Iterable[str], db: str | None = db) -> list[str]:
            return [qualify(x, db, pref) for x in xs]

        rows.append(
            {
                "template": tmpl,
                "dialect": dial,
                "database": db,
                "s_verb": info.verb if info else None,
                "s_writes": q(info.writes) if info else [],
                "s_reads": q(info.reads) if info else [],
                "s_objects": [q([o])[0] if ("." in o) else o for o in info.objects] if info else [],
                "s_copy_to": info.copy_to if info else False,
                "s_star": q(info.star_nowhere) if info else [],
                "s_temp": info.temporary if info else False,
                "s_parsed": info.parsed if info else False,
            }
        )
    info_df = pl.DataFrame(rows, schema=_INFO_SCHEMA)
    df = df.join(info_df, on=["template", "dialect", "database"], how="left", nulls_equal=True)
    obj = (
        pl.col("object_name")
        .str.replace_all(r"[\"`]", "")
        .str.to_lowercase()
        .str.split("|")
        .list.eval(
            pl.when(pl.element().str.contains(".", literal=True))
            .then(pl.element())
            .otherwise(pl.lit("public.") + pl.element())
        )
    )
    verb = pl.col("verb")
    copy_to = pl.col("s_copy_to").fill_null(False)
    row_write = (verb.is_in(WRITE_VERBS) & ~((verb == "COPY") & copy_to)) | (
        (pl.col("audit_class") == "WRITE") & ~verb.is_in(READ_VERBS)
    )
    row_read = verb.is_in(READ_VERBS) & ~((verb == "COPY") & ~copy_to) | (
        pl.col("audit_class") == "READ"
    )
    has_obj = pl.col("object_name").is_not_null()
    empty = pl.lit([], dtype=pl.List(pl.String))
    return df.with_columns(
        pl.when(has_obj & row_write)
        .then(obj)
        .when(has_obj)
        .then(empty)
        .otherwise(pl.col("s_writes").fill_null([]))
        .alias("writes"),
        pl.when(has_obj & row_read)
        .then(obj)
        .when(has_obj)
        .then(empty)
        .otherwise(pl.col("s_reads").fill_null([]))
        .alias("reads"),
        pl.when(has_obj & ~row_write & ~row_read)
        .then(obj)
        .otherwise(pl.col("s_objects").fill_null([]))
        .alias("objects"),
        copy_to.alias("copy_to"),
        pl.col("s_star").fill_null([]).alias("star"),
        pl.col("s_temp").fill_null(False).alias("temp"),
    )


_COMBO = ("object_name", "verb", "audit_class", "template", "dialect", "database")


def with_table_columns(
    df: pl.DataFrame, prefer: Iterable[str], *exprs: pl.Expr, need: pl.Expr | None = None
) -> pl.DataFrame:
    """``with_tables(df, prefer, need=need).with_columns(*exprs)``, only ``exprs``'s columns
    added: the tables are worked out once per distinct combination of the columns they
    depend on (object name, verb, audit class, template, dialect, database) and joined
    back, so no list column is built for every row."""
    if "template" not in df.columns:
        if need is None:
            need = pl.col("object_name").is_null() | (pl.col("verb") == "COPY")
        df = with_template(df, need)
    combos = df.select(_COMBO).unique()
    out = with_tables(combos, prefer).with_columns(*exprs)
    added = [c for c in out.columns if c not in combos.columns]
    return df.join(
        out.select(*_COMBO, *added),
        on=list(_COMBO),
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )


def statement_keys(
    df: pl.DataFrame, gap_seconds: int = 60, *, by: str = "statement_id"
) -> pl.DataFrame:
    """``stmt`` (UInt32) and ``single`` (the statement has one record) for each row of
    ``df``, in its order: :func:`add_statement_key`'s partition (account, session and
    ``by``; a new statement after ``gap_seconds``; a record without them is its own)
    without a string key, and without sorting ``df``'s other columns (the key columns are
    sorted apart and the keys put back in row order). Statements are numbered in an
    arbitrary but fixed order, the records without a key last."""
    ok = pl.col(by).fill_null(0) > 0 if by == "statement_id" else pl.col(by).is_not_null()
    keyed = pl.col("_keyed")
    same = pl.lit(True)
    for c in ("_u", "session_id", by):
        same = same & (pl.col(c) == pl.col(c).shift(1)).fill_null(False)
    t = pl.col("event_time")
    gap = (t - t.shift(1) > pl.duration(seconds=gap_seconds)).fill_null(True)
    start = ~keyed | ~keyed.shift(1).fill_null(False) | ~same | gap
    stmt = pl.col("stmt")
    # texts as category codes (a hash, no sort of strings); ties in time within a statement
    # in row order: the partition does not depend on their order (callers order a
    # statement's records by event id where it matters)
    text = lambda c: codes(pl.col(c)) if df.schema[c] == pl.String else pl.col(c)  # noqa: E731
    return (
        df.select(
            (pl.col("session_id").is_not_null() & ok).alias("_keyed"),
            codes(pl.col("user").fill_null("")).alias("_u"),
            text("session_id"),
            text(by),
            "event_time",
        )
        .with_row_index("_i")
        .sort(
            "_keyed",
            "_u",
            "session_id",
            by,
            "event_time",
            "_i",
            descending=[True, False, False, False, False, False],
            nulls_last=True,
        )
        .select("_i", start.cast(pl.UInt32).cum_sum().alias("stmt"))
        .with_columns(
            (
                (stmt != stmt.shift(1)).fill_null(True) & (stmt != stmt.shift(-1)).fill_null(True)
            ).alias("single")
        )
        .sort("_i")
        .drop("_i")
    )


def add_statement_key(
    df: pl.DataFrame, gap_seconds: int = 60, *, by: str = "statement_id"
) -> pl.DataFrame:
    """Add ``stmt``: one key for the records of one statement (account, session and
    statement id — or the column ``by``, e.g. the statement text, which pgAudit repeats
    for every statement of a multi-statement query; records more than ``gap_seconds``
    apart start a new statement, as process ids are reused), else the event itself."""
    ok = pl.col(by).fill_null(0) > 0 if by == "statement_id" else pl.col(by).is_not_null()
    has = pl.col("session_id").is_not_null() & ok
    base = pl.concat_str(
        pl.col("user").fill_null(""),
        pl.col("session_id"),
        pl.col(by).cast(pl.String),
        separator="\x1f",
    )
    gap = pl.duration(seconds=gap_seconds)
    # rows sorted by (_base, time): a statement starts where _base changes or time jumps
    t = pl.col("event_time")
    new = (pl.col("_base") != pl.col("_base").shift(1)).fill_null(True) | (
        t - t.shift(1) > gap
    ).fill_null(True)
    return (
        df.with_columns(pl.when(has).then(base).alias("_base"))
        .sort("_base", "event_time", "event_id", nulls_last=True)
        .with_columns(new.cast(pl.Int64).cum_sum().alias("_part"))
        .with_columns(
            pl.when(pl.col("_base").is_not_null())
            .then(pl.concat_str(pl.col("_base"), pl.col("_part").cast(pl.String), separator="#"))
            .otherwise(pl.lit("e\x1f") + pl.col("event_id"))
            .alias("stmt")
        )
        .drop("_base", "_part")
    )


def first_by_time(col: str) -> pl.Expr:
    """The value of ``col`` on the earliest record (ties by event id)."""
    return pl.col(col).sort_by("event_time", "event_id").first()


def off_hours(df: pl.DataFrame, ctx, col: str = "event_time") -> pl.DataFrame:
    """Add ``off_kind`` (``holiday``, ``rest_day``, ``night`` or null) for ``col``."""
    years = df.select(pl.col(col).dt.year().unique().drop_nulls()).to_series().to_list()
    ctx.calendar.check_years(years)
    local = pl.col(col).dt.convert_time_zone(ctx.timezone)
    return df.with_columns(
        off_hours_kind(local, ctx.calendar, ctx.settings.working_hours).alias("off_kind")
    )


OFF_ZH = {"holiday": "法定节假日", "rest_day": "休息日", "night": "夜间"}
OFF_EN = {"holiday": "a public holiday", "rest_day": "a rest day", "night": "night time"}


# ----------------------------------------------------------------------- change tickets
def _objects(text: str | None) -> list[str]:
    return [o.strip().lower() for o in (text or "").split(";") if o.strip()]


def _obj_match(pattern: str, name: str) -> bool:
    """A ticket object matches a table: equal; or unqualified and equal to the table part;
    or ``schema.*``."""
    if pattern.endswith(".*"):
        return name.startswith(pattern[:-1])
    if "." in pattern or "." not in name:
        return pattern == name
    return name.split(".", 1)[1] == pattern


def cover(df: pl.DataFrame, tickets: pl.LazyFrame | None, *, objects: str) -> pl.DataFrame:
    """Add ``ticket_id``: the first approved ticket of the account (``user``) whose window
    holds ``event_time`` and whose objects (empty = any) include every name in the list
    column ``objects``; and ``ticket_note``: the account's nearest other ticket, if any."""
    if tickets is None or df.height == 0:
        return df.with_columns(
            pl.lit(None, pl.String).alias("ticket_id"), pl.lit(None, pl.String).alias("ticket_note")
        )
    tk = (
        tickets.select(
            pl.col("db_user").str.strip_chars().str.to_lowercase().alias("user"),
            "ticket_id",
            "start_time",
            "end_time",
            "objects",
        )
        .filter(pl.col("user").is_in(df["user"].unique().implode()))
        .sort("start_time", "ticket_id")
        .collect()
    )
    by_user: dict[str, list[dict]] = {}
    for t in tk.to_dicts():
        by_user.setdefault(t["user"], []).append(t)
    ids, notes = [], []
    for user, when, names in df.select("user", "event_time", objects).iter_rows():
        found, near, near_gap = None, None, None
        for t in by_user.get(user, ()):
            pats = _objects(t["objects"])
            in_window = t["start_time"] <= when <= t["end_time"]
            on_objects = not pats or all(any(_obj_match(p, n) for p in pats) for n in names or ())
            if in_window and on_objects:
                found = t["ticket_id"]
                break
            gap = (
                0.0
                if in_window
                else min(
                    abs((when - t["start_time"]).total_seconds()),
                    abs((when - t["end_time"]).total_seconds()),
                )
            )
            if near_gap is None or gap < near_gap:
                near, near_gap = t, gap
        ids.append(found)
        notes.append(
            None
            if found or near is None
            else f"{near['ticket_id']} ({near['start_time']:%Y-%m-%d %H:%M}–{near['end_time']:%Y-%m-%d %H:%M}; "
            f"{near['objects'] or '*'})"
        )
    return df.with_columns(
        pl.Series("ticket_id", ids, pl.String), pl.Series("ticket_note", notes, pl.String)
    )


# ----------------------------------------------------------------------------- routine
def routine(
    cands: pl.DataFrame,
    history: pl.DataFrame,
    days: pl.DataFrame,
    keys: list[str],
    *,
    min_days: int,
    share: float,
) -> pl.DataFrame:
    """Add ``seen_days``, ``active_days`` and ``routine``: whether the account did the same
    ``keys`` within an hour of the candidate's hour of day on at least ``min_days`` days and
    on at least ``share`` of the log's days since it first did (``active_days``).

    The earlier days count once there are ``min_days`` of them; before that (a job's first
    nights, the start of the log) every other day of the log counts, so a nightly job is
    routine from its first night while something done on a few scattered days is not.
    ``cands`` and ``history`` hold ``user``, ``keys``, ``day`` and ``hour``; ``days`` holds
    the log's days (``day``)."""
    c = cands.with_row_index("_i")
    h = history.select(
        "user", *keys, pl.col("day").alias("_d"), pl.col("hour").alias("_h")
    ).unique()
    dh = (pl.col("_h") - pl.col("hour")).abs()
    before = pl.col("_d") < pl.col("day")
    seen = (
        c.select("_i", "user", *keys, "day", "hour")
        .join(h, on=["user", *keys], how="inner", nulls_equal=True)
        .filter((pl.col("_d") != pl.col("day")) & ((dh <= 1) | (dh == 23)))
        .group_by("_i")
        .agg(
            pl.col("_d").filter(before).n_unique().alias("_sb"),
            pl.col("_d").filter(before).min().alias("_lb"),
            pl.col("_d").n_unique().alias("_sa"),
            pl.col("_d").min().alias("_la"),
            pl.col("_d").max().alias("_ha"),
        )
    )
    c = c.join(seen, on="_i", how="left").with_columns(
        pl.col("_sb", "_sa").fill_null(0).cast(pl.Int64),
        pl.min_horizontal("_la", "day").alias("_la"),
        pl.max_horizontal("_ha", "day").alias("_ha"),
    )
    d = pl.col("_d")
    span = (
        c.select("_i", "day", "_lb", "_la", "_ha")
        .join(days.select(pl.col("day").alias("_d")).unique(), how="cross")
        .group_by("_i")
        .agg(
            ((d >= pl.col("_lb")) & (d < pl.col("day"))).sum().alias("_pb"),
            ((d >= pl.col("_la")) & (d <= pl.col("_ha")) & (d != pl.col("day"))).sum().alias("_pa"),
        )
    )
    use_before = pl.col("_sb") >= min_days
    return (
        c.join(span, on="_i", how="left")
        .with_columns(pl.col("_pb", "_pa").fill_null(0).cast(pl.Int64))
        .with_columns(
            pl.when(use_before).then(pl.col("_sb")).otherwise(pl.col("_sa")).alias("seen_days"),
            pl.when(use_before).then(pl.col("_pb")).otherwise(pl.col("_pa")).alias("active_days"),
        )
        .with_columns(
            (
                (pl.col("seen_days") >= min_days)
                & (pl.col("seen_days") >= share * pl.col("active_days"))
            ).alias("routine")
        )
        .drop("_i", "_sb", "_lb", "_sa", "_la", "_ha", "_pb", "_pa")
    )


# ---------------------------------------------------------------------- business ids
GENERIC_ID = r"\b[A-Za-z0-9][A-Za-z0-9_\-./]*\d[A-Za-z0-9_\-./]*\b|\b\d+\b"
"""Any token with a digit: the id regex when ids come in too many shapes."""


def _digits_out(ids: pl.Series, ascii: bool | None = None) -> pl.Series:
    """Each (Unicode) digit of ``ids`` replaced by ``\\x00``; ASCII ids by the cheaper ASCII
    class (the same digits)."""
    if ascii is None:
        ascii = _is_ascii(ids)
    return ids.str.replace_all(r"[0-9]" if ascii else r"\d", "\x00")


def _is_ascii(ids: pl.Series) -> bool:
    return ids.len() == 0 or bool((ids.str.len_bytes() == ids.str.len_chars()).all())


SHAPE_SAMPLE = 10_000
"""Ids whose shapes are worked out first; the others are only tested against those shapes."""


def id_shapes(ids: pl.Series, *, distinct: bool = False) -> pl.Series:
    """The distinct shapes of ids (``distinct``: they are distinct already): each digit
    replaced by ``\\x00``. The shapes of a sample are found first and every other id is
    tested against them by one anchored regex; only the ids of another shape are reshaped
    (rewriting every digit of millions of ids cost ten times more). The result is the
    same set.

    >>> shapes = id_shapes(pl.Series(["V12", "V345", None, "W9", "V12"]))
    >>> sorted(s.replace(chr(0), "#") for s in shapes.to_list())
    ['V##', 'V###', 'W#']
    """
    ids = ids.drop_nulls()
    if not distinct:
        ids = ids.unique()
    ascii = _is_ascii(ids)
    shapes = _digits_out(ids.head(SHAPE_SAMPLE), ascii).unique()
    rest = ids.slice(SHAPE_SAMPLE)
    if rest.len() and shapes.len() <= 256:
        digit = "[0-9]" if ascii else r"\d"
        full = "^(?:" + "|".join(_shape_regex(x, digit) for x in shapes.to_list()) + ")$"
        rest = rest.filter(~rest.str.contains(full))
    return pl.concat([shapes, _digits_out(rest, ascii)]).unique()


def _shape_regex(shape: str, digit: str = r"\d", bounds: bool = False) -> str:
    """A regex of the ids of ``shape`` (digit runs as ``digit{n}``, other characters
    literal); ``bounds``: with word boundaries where the shape starts or ends with a word
    character."""
    parts = re.findall(r"\x00+|[^\x00]", shape)
    body = "".join(rf"{digit}{{{len(p)}}}" if p[0] == "\x00" else re.escape(p) for p in parts)
    if not bounds:
        return body
    left = r"\b" if re.match(r"[\w\x00]", shape) else ""
    right = r"\b" if re.search(r"[\w\x00]$", shape) else ""
    return f"{left}{body}{right}"


def id_pattern(ids: pl.Series, max_shapes: int = 64) -> str | None:
    """A regex finding business object ids in SQL text: the shapes of the ids given
    (digit runs generalised, letters and punctuation kept), or, when ids come in too many
    shapes, any alphanumeric token with a digit; None without ids. Shapes
    (:func:`id_shapes`) may be given for ids: a shape's shape is itself."""
    shapes = id_shapes(ids).sort().to_list()
    if not shapes:
        return None
    if len(shapes) > max_shapes:
        return GENERIC_ID
    out = [_shape_regex(s, bounds=True) for s in shapes]
    return "|".join(sorted(out, key=lambda x: (-len(x), x)))


def id_tokens(df: pl.DataFrame, pattern: str) -> pl.DataFrame:
    """Distinct ``(stmt, object_id)``: the matches of ``pattern`` in each statement's text
    and parameters (joined by a space); ``df`` holds one row per ``stmt``. The text is
    joined only for rows with parameters (a copy of every statement cost more than the
    regex), and the matches are made distinct per row (no hash of every pair)."""
    has_p = pl.col("parameter").is_not_null()
    text = pl.concat_str(pl.col("statement"), pl.col("parameter"), separator=" ", ignore_nulls=True)
    found = lambda e: e.str.extract_all(pattern).list.unique().alias("object_id")  # noqa: E731
    no_p = df.filter(~has_p) if df["parameter"].null_count() < df.height else df
    parts = [no_p.select("stmt", found(pl.col("statement")))]
    if df["parameter"].null_count():
        parts.append(df.filter(has_p).select("stmt", found(text)))
    return pl.concat(parts).explode("object_id").drop_nulls("object_id")


def object_tokens(df: pl.DataFrame, ids: pl.DataFrame, pattern: str | None) -> pl.DataFrame:
    """``(stmt, object_id)`` pairs: business object ids (``ids.object_id``) found in the
    statement or parameters of each row of ``df`` (a ``stmt`` key column)."""
    schema = {"stmt": df.schema.get("stmt", pl.String), "object_id": pl.String}
    if pattern is None or df.height == 0:
        return pl.DataFrame(schema=schema)
    return (
        id_tokens(df, pattern)
        .join(ids.select("object_id").unique(), on="object_id", how="semi")
        .select(list(schema))
    )


def statement_text(col: str = "statement", limit: int = 300) -> pl.Expr:
    """A statement on one line, cut to ``limit`` characters, for an explanation."""
    s = pl.col(col).fill_null("—").str.replace_all(r"\s+", " ")
    return pl.when(s.str.len_chars() > limit).then(s.str.slice(0, limit) + pl.lit("…")).otherwise(s)


def day_hour(col: str = "event_time") -> list[pl.Expr]:
    return [pl.col(col).dt.date().alias("day"), pl.col(col).dt.hour().cast(pl.Int32).alias("hour")]


def fmt_time(t: dt.datetime | None) -> str:
    return "—" if t is None else f"{t:%Y-%m-%d %H:%M:%S}"

"""SQL text helpers of the ``db.*`` and ``xcheck.*`` detectors (a private module).

Parsing millions of logged statements with sqlglot is slow, so statements are first
reduced to *templates* and each distinct template is parsed once (memoised):
:func:`template_expr` is a vectorised polars template for table extraction (string and
number literals replaced, value lists collapsed, lower case), analysed by
:func:`table_info` (verb, tables written/read, DDL objects, ``COPY ... TO``, ``SELECT *``
without ``WHERE``). The injection scanner is :mod:`auditlib.detectors._dbinject`.

Examples
--------
>>> import polars as pl
>>> sql = "UPDATE payment SET amount = 10.5 WHERE voucher_id IN ('V1', 'V2')"
>>> t = pl.select(template_expr(pl.lit(sql))).item()
>>> t
'update payment set amount = 0 where voucher_id in (0)'
>>> table_info(t, "postgres").writes
('?.payment',)
>>> info = table_info("copy (select * from payee) to stdout", "postgres")
>>> info.reads, info.copy_to, info.star_nowhere
(('?.payee',), True, ('?.payee',))
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
import sqlglot
from sqlglot import exp

MAX_PARSE = 20_000
"""Templates longer than this many characters are not parsed (regex fallback)."""

_LOG = logging.getLogger("sqlglot")


@contextmanager
def _quiet() -> Iterator[None]:
    """sqlglot warns when it falls back to a generic command: not the audit's business."""
    old = _LOG.level
    _LOG.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        _LOG.setLevel(old)


def parse(sql: str, dialect: str) -> list[exp.Expression] | None:
    """Statements of ``sql`` (``dialect`` first, then the other one), None if unparseable."""
    if len(sql) > MAX_PARSE:
        return None
    other = "mysql" if dialect == "postgres" else "postgres"
    with _quiet():
        for d in (dialect, other):
            try:
                return [s for s in sqlglot.parse(sql, read=d) if s is not None]
            except Exception:
                continue
    return None


# ------------------------------------------------------------------ vectorised template
def template_expr(statement: pl.Expr) -> pl.Expr:
    """A statement reduced for table extraction: literals → ``'?'``/``0``, value lists
    → ``(0)``, whitespace collapsed, lower case (identifiers fold to lower case anyway)."""
    s = statement.str.replace_all(r"(?s)/\*.*?\*/", " ").str.replace_all(r"--[^\n]*", " ")
    s = s.str.replace_all(r"'(?:[^'\\]|\\.|'')*'", "'?'")
    s = s.str.replace_all(r"(?-u:\b)\d+(?:\.\d+)?(?-u:\b)", "0").str.replace_all(
        r"\s{2,}|[\t\r\n]", " "
    )
    item = r"\s*(?:'\?'|0|null|true|false|\$0|\?|-0)\s*"
    s = s.str.replace_all(rf"(?i)\({item}(?:,{item})*\)", "(0)")
    s = s.str.replace_all(r"\(0\)(?:\s*,\s*\(0\))+", "(0)")
    return s.str.strip_chars(" ;").str.to_lowercase()


def dialect_expr() -> pl.Expr:
    """``postgres`` for pgAudit records (they carry a substatement id), else ``mysql``."""
    if_pg = pl.col("substatement_id").is_not_null()
    return pl.when(if_pg).then(pl.lit("postgres")).otherwise(pl.lit("mysql"))


@dataclass(frozen=True)
class TableInfo:
    """What a statement template does, as far as the audit needs it."""

    verb: str | None
    writes: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    """DDL / GRANT targets: tables as ``schema.table`` (``?.t`` when unqualified), roles."""
    copy_to: bool = False
    star_nowhere: tuple[str, ...] = ()
    """Tables read by a ``SELECT *`` with neither ``WHERE`` nor ``LIMIT``."""
    temporary: bool = False
    parsed: bool = True


def table_name(t: exp.Table) -> str | None:
    """``schema.table`` lower case; ``?.table`` when the statement names no schema."""
    name = t.name
    if not name:
        return None
    db = t.db
    return f"{db}.{name}".lower() if db else f"?.{name}".lower()


def tables_in(node: exp.Expression, ctes: set[str]) -> list[str]:
    out = []
    for t in node.find_all(exp.Table):
        n = table_name(t)
        if n and not (n.startswith("?.") and n[2:] in ctes):
            out.append(n)
    return out


def uniq(xs: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(xs))


_FALLBACK_W = re.compile(
    r"\b(?:insert\s+(?:ignore\s+)?into|replace\s+into|update|delete\s+from|"
    r"truncate(?:\s+table)?|merge\s+into|copy)\s+(?:only\s+)?([\w.\"`$]+)"
)
_FALLBACK_R = re.compile(r"\b(?:from|join)\s+([a-z_][\w.\"`$]*)")
_OUTFILE = re.compile(r"\binto\s+(?:outfile|dumpfile)\b")


def _clean(name: str) -> str:
    n = name.replace('"', "").replace("`", "").lower()
    return n if "." in n else f"?.{n}"


_SKIP = {
    "if",
    "not",
    "exists",
    "or",
    "replace",
    "to",
    "from",
    "with",
    "admin",
    "option",
    "by",
    "granted",
    "cascade",
    "restrict",
}
_KINDS = {"role", "user", "group", "extension", "database", "schema", "plugin", "soname"}


def _command_objects(verb: str, rest: object) -> list[str]:
    """Objects of a statement sqlglot keeps as a generic command (roles, extensions...)."""
    text = rest.this if isinstance(rest, exp.Literal) else str(rest or "")
    words = [w.strip("'\";(),").lower() for w in str(text).split()]
    words = [w for w in words if w]
    if not words:
        return []
    if words[0] == "system" and len(words) >= 3:  # ALTER SYSTEM SET/RESET parameter
        return [words[2].split("=")[0]]
    if words[0] in _KINDS:
        names = [w for w in words[1:] if w not in _SKIP]
        return names[:1]
    if verb.lower() in ("grant", "revoke"):  # GRANT role TO user
        return words[:1] + [w for w in words[1:] if w not in _SKIP][:1]
    return []


@lru_cache(maxsize=65536)
def table_info(template: str, dialect: str) -> TableInfo:
    """Tables written and read by a template from :func:`template_expr` (memoised)."""
    stmts = parse(template, dialect)
    verb = (template.split(None, 1) or [None])[0]
    verb = verb.upper() if verb else None
    if not stmts:
        writes = [_clean(m) for m in _FALLBACK_W.findall(template)]
        reads = [_clean(m) for m in _FALLBACK_R.findall(template)]
        copy_to = (verb == "COPY" and " to " in template) or bool(_OUTFILE.search(template))
        return TableInfo(verb, uniq(writes), uniq(reads), (), copy_to, (), False, False)
    writes: list[str] = []
    reads: list[str] = []
    objects: list[str] = []
    star: list[str] = []
    copy_to = bool(_OUTFILE.search(template))
    temporary = False
    for st in stmts:
        ctes = {c.alias.lower() for c in st.find_all(exp.CTE)}
        target = (
            st.this
            if isinstance(st, exp.Insert | exp.Update | exp.Delete | exp.Merge | exp.Copy)
            else None
        )
        if isinstance(target, exp.Schema):
            target = target.this
        if isinstance(st, exp.Copy):
            if st.args.get("kind"):
                writes += tables_in(st, ctes)
            else:
                copy_to = True
                reads += tables_in(st, ctes)
        elif isinstance(target, exp.Table):
            w = table_name(target)
            writes += [w] if w else []
            reads += [n for n in tables_in(st, ctes) if n != w]
        elif isinstance(st, exp.TruncateTable):
            writes += tables_in(st, ctes)
        elif isinstance(st, exp.Create | exp.Drop | exp.Alter | exp.Comment):
            temporary |= bool(st.find(exp.TemporaryProperty)) or bool(st.args.get("temporary"))
            head = st.this if isinstance(st, exp.Create | exp.Alter | exp.Comment) else st
            objects += tables_in(head, ctes) if head is not None else []
            if isinstance(st, exp.Create) and st.expression is not None:
                reads += tables_in(st.expression, ctes)
        elif isinstance(st, exp.Grant | exp.Revoke):
            objects += tables_in(st, ctes)
            objects += [p.name.lower() for p in st.args.get("principals") or () if p.name]
        elif isinstance(st, exp.Command):
            objects += _command_objects(str(st.this), st.expression)
        else:
            reads += tables_in(st, ctes)
        for sel in st.find_all(exp.Select):
            if sel.args.get("where") or sel.args.get("limit") or sel.args.get("group"):
                continue
            if any(
                isinstance(e, exp.Star)
                or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
                for e in sel.expressions
            ):
                src = sel.args.get("from_") or sel.args.get("from")
                if src is not None:
                    star += tables_in(src, ctes)
    first = stmts[0]
    if isinstance(first, exp.Command):
        verb = str(first.this).upper()
    return TableInfo(verb, uniq(writes), uniq(reads), uniq(objects), copy_to, uniq(star), temporary)

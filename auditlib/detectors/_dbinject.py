"""The SQL-injection scanner of ``db.sql_injection`` (a private module).

:func:`scan` is a quote-aware tokenizer for injection candidates: comments and
statement separators outside quotes, unterminated quotes, and a template whose literals
are *rank-coded* (equal values get equal placeholders, order is kept), so ``OR 'a'='a'``
stays a tautology while the application's statements with different values share one
template; :func:`injection_info` analyses each distinct template once with sqlglot.

Examples
--------
>>> s = scan("SELECT * FROM users WHERE name = 'bob' OR 'x'='x' -- ' AND pw = 'p'", "postgres")
>>> s.template
"SELECT * FROM users WHERE name = '~0001' OR '~0002'='~0002'"
>>> s.comments[0].quotes, s.comments[0].trailing
(3, True)
>>> injection_info(s.template, "postgres").tautology
True
>>> scan("SELECT * FROM t WHERE remark = 'a -- b'", "postgres").comments
()
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from sqlglot import exp

from auditlib.detectors._dbsql import parse, tables_in, uniq

CATALOG_SCHEMAS = frozenset(
    {"information_schema", "pg_catalog", "mysql", "performance_schema", "sys"}
)
SYSTEM_FUNCS = frozenset(
    {
        "version",
        "user",
        "current_user",
        "session_user",
        "system_user",
        "database",
        "schema",
        "current_database",
        "current_schema",
        "pg_read_file",
        "pg_ls_dir",
        "load_file",
        "current_setting",
        "inet_server_addr",
        "@@version",
    }
)
SLEEP_FUNCS = frozenset({"pg_sleep", "pg_sleep_for", "pg_sleep_until", "sleep", "benchmark"})


# ------------------------------------------------------------------ injection scanner
@dataclass(frozen=True)
class Comment:
    kind: str
    """``--``, ``#``, ``/*`` (closed) or ``/*…`` (never closed)."""
    text: str
    quotes: int
    """Single quotes inside the comment: an odd count is the rest of a cut-off value."""
    trailing: bool
    """Nothing but whitespace, ``;`` or other comments follows: the comment ends the text."""
    after_literal: bool
    """The last token before it is a string or number literal."""


@dataclass(frozen=True)
class Scan:
    template: str
    comments: tuple[Comment, ...]
    statements: int
    """Non-empty pieces between ``;`` outside quotes and comments."""
    unterminated: bool
    """A string literal is never closed."""


def _token_re(dialect: str) -> re.Pattern[str]:
    if dialect == "postgres":
        strs = r"(?P<str>[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')"
        ident = r'(?P<ident>"(?:[^"]|"")*")'
        line = r"(?P<line>--[^\n]*)"
        dollar = r"(?P<dollar>\$\$.*?\$\$|\$([A-Za-z_]\w*)\$.*?\$\2\$)|"
    else:
        strs = r"""(?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")"""
        ident = r"(?P<ident>`[^`]*`)"
        line = r"(?P<line>--[^\n]*|\#[^\n]*)"
        dollar = ""
    return re.compile(
        dollar
        + strs
        + r"|(?P<open>['\"].*)|"
        + ident
        + r"|(?P<block>/\*.*?\*/)|(?P<oblock>/\*.*)|"
        + line
        + r"|(?P<word>[^\W\d][\w$]*)|(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)"
        r"|(?P<semi>;)|(?P<ws>\s+)|(?P<other>.)",
        re.DOTALL,
    )


_TOKEN_RE = {d: _token_re(d) for d in ("postgres", "mysql")}
_NUMERIC = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)\s*")


def _literal(tok: str) -> tuple[str, object]:
    """A literal token as ``('n', Decimal)``, ``('q', Decimal)`` (a quoted number),
    ``('w', text)`` (a LIKE wildcard kept as is) or ``('s', text)``."""
    if tok[0] not in "'\"eE":
        return "n", Decimal(tok)
    body = tok[2:-1] if tok[0] in "eE" else tok[1:-1]
    body = body.replace(tok[-1] * 2, tok[-1])
    if _NUMERIC.fullmatch(body):
        try:
            return "q", Decimal(body.strip())
        except InvalidOperation:
            pass
    if body and set(body) <= {"%", "_"}:
        return "w", body
    return "s", body


def scan(sql: str, dialect: str) -> Scan:
    """Tokenize ``sql`` quote-aware: comments, separators and a rank-coded template."""
    parts: list[tuple[str, str]] = []
    unterminated = False
    for m in _TOKEN_RE[dialect].finditer(sql):
        kind, tok = m.lastgroup or "other", m.group()
        if kind == "open":
            unterminated = True
            kind = "other"
        parts.append((kind, tok))
    literals = [tok for kind, tok in parts if kind in ("str", "num")]
    codes = _rank_codes(literals)
    out: list[str] = []
    pieces, current = 0, False
    comment_info: list[Comment] = []
    for i, (kind, tok) in enumerate(parts):
        if kind in ("line", "block", "oblock"):
            ck = {"line": tok[:2] if tok.startswith("--") else "#", "block": "/*", "oblock": "/*…"}[
                kind
            ]
            text = tok[2:-2] if kind == "block" else tok[1:] if ck == "#" else tok[2:]
            rest = [
                k for k, _ in parts[i + 1 :] if k not in ("ws", "semi", "line", "block", "oblock")
            ]
            before = [k for k, _ in parts[:i] if k not in ("ws",)]
            comment_info.append(
                Comment(
                    ck,
                    text,
                    text.count("'"),
                    not rest,
                    bool(before) and before[-1] in ("str", "num"),
                )
            )
            out.append(" ")
            continue
        if kind == "semi":
            pieces += current
            current = False
            out.append(";")
            continue
        if kind != "ws":
            current = True
        if kind == "dollar":
            tok = "'~0000'"
        out.append(
            codes.get(tok, tok) if kind in ("str", "num") else (" " if kind == "ws" else tok)
        )
    pieces += current
    template = re.sub(r"\s+", " ", "".join(out)).strip(" ;")
    return Scan(template, tuple(comment_info), pieces, unterminated)


def _rank_codes(literals: list[str]) -> dict[str, str]:
    """Placeholders keeping equality and order: numbers (and quoted numbers) by numeric
    rank, other strings as ``'~0001'``... in text order, LIKE wildcards unchanged."""
    vals = {tok: _literal(tok) for tok in literals}
    nums = sorted({v for k, v in vals.values() if k in ("n", "q")})
    strs = sorted({v for k, v in vals.values() if k == "s"})
    nrank = {v: i + 1 for i, v in enumerate(nums)}
    srank = {v: i + 1 for i, v in enumerate(strs)}
    out = {}
    for tok, (k, v) in vals.items():
        if k == "n":
            out[tok] = str(nrank[v])
        elif k == "q":
            out[tok] = f"'{nrank[v]}'"
        elif k == "w":
            out[tok] = f"'{v}'"
        else:
            out[tok] = f"'~{srank[v]:04d}'"
    return out


@dataclass(frozen=True)
class InjectionInfo:
    """What sqlglot sees in a rank-coded template (:func:`scan`)."""

    parsed: bool
    tautology: bool = False
    union_catalog: bool = False
    union_padding: bool = False
    union_tables: tuple[str, ...] = ()
    """Tables read only by the later branches of a UNION."""
    statements: tuple[str, ...] = ()
    """The kinds of the substantive statements (transaction control and SET left out)."""
    danger_after_read: bool = False
    """A read followed by a write, DDL, grant or delay in the same text."""
    sleep: bool = False


_CMP = {exp.EQ: "==", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_CONTROL = (exp.Transaction, exp.Commit, exp.Rollback, exp.Set, exp.Show, exp.Use)


def _value(node: exp.Expression) -> tuple[str, object] | None:
    """A literal of a rank-coded template as a comparable ``(kind, value)``."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return "n", -Decimal(node.this.this)
    if not isinstance(node, exp.Literal):
        return None
    text = node.this
    if node.is_string:
        if text.startswith("~"):
            return "s", text
        try:
            return "n", Decimal(text)
        except InvalidOperation:
            return "w", text
    try:
        return "n", Decimal(text)
    except InvalidOperation:
        return None


def always(node: exp.Expression, truth: bool = True) -> bool:
    """Whether a predicate is constant ``truth`` whatever the row: literals compared,
    an expression compared with itself, ``TRUE``, a non-zero number, ``NOT`` of the
    opposite, ``OR``/``AND`` of constant parts, a literal ``IN`` a list holding it."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Boolean):
        return bool(node.this) is truth
    if isinstance(node, exp.Not):
        return always(node.this, not truth)
    if isinstance(node, exp.Or):
        parts = (always(node.this, truth), always(node.expression, truth))
        return any(parts) if truth else all(parts)
    if isinstance(node, exp.And):
        parts = (always(node.this, truth), always(node.expression, truth))
        return all(parts) if truth else any(parts)
    if isinstance(node, exp.Literal) and not node.is_string:
        v = _value(node)
        return v is not None and (v[1] != 0) is truth
    op = _CMP.get(type(node))
    if op:
        a, b = _value(node.this), _value(node.expression)
        if a is None or b is None:
            same = node.this == node.expression and not isinstance(node.this, exp.Literal)
            return same and truth and op in ("==", ">=", "<=")
        if a[0] != b[0]:
            return False
        res = {
            "==": a[1] == b[1],
            "!=": a[1] != b[1],
            ">": a[1] > b[1],
            ">=": a[1] >= b[1],
            "<": a[1] < b[1],
            "<=": a[1] <= b[1],
        }[op]
        return res is truth
    if isinstance(node, exp.Like | exp.ILike) and truth:
        a, b = _value(node.this), _value(node.expression)
        return a is not None and b is not None and b[0] == "w" and set(str(b[1])) == {"%"}
    if isinstance(node, exp.In) and truth:
        a = _value(node.this)
        vals = [_value(e) for e in node.expressions]
        return a is not None and a in vals
    return False


def _func_names(node: exp.Expression) -> set[str]:
    out = set()
    for f in node.find_all(exp.Func):
        if isinstance(f, exp.Anonymous):
            out.add(str(f.this).lower())
        elif isinstance(f, exp.CurrentUser):
            out.add("current_user")
        elif isinstance(f, exp.CurrentVersion):
            out.add("version")
        elif isinstance(f, exp.CurrentSchema):
            out.add("current_schema")
    for p in node.find_all(exp.SessionParameter):
        out.add(f"@@{p.name.lower()}")
    return out


def _is_catalog(name: str) -> bool:
    schema, _, table = name.partition(".")
    return schema in CATALOG_SCHEMAS or table.startswith("pg_")


def _branches(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.SetOperation):
        return _branches(node.left) + _branches(node.right)
    return [node]


def _padding(sel: exp.Expression) -> bool:
    if not isinstance(sel, exp.Select):
        return False
    items = [e.this if isinstance(e, exp.Alias) else e for e in sel.expressions]
    nulls = sum(isinstance(e, exp.Null) for e in items)
    consts = sum(isinstance(e, exp.Null | exp.Literal) for e in items)
    no_from = (sel.args.get("from_") or sel.args.get("from")) is None
    return nulls >= 2 or (no_from and len(items) >= 2 and consts == len(items))


@lru_cache(maxsize=65536)
def injection_info(template: str, dialect: str) -> InjectionInfo:
    """Injection patterns in a rank-coded template (memoised): a tautology under ``OR``,
    a UNION whose later branches read system catalogs or pad columns with NULLs, stacked
    statements, delay functions."""
    stmts = parse(template, dialect)
    if stmts is None:
        return InjectionInfo(parsed=False)
    tautology = any(
        always(o.this) or always(o.expression) for s in stmts for o in s.find_all(exp.Or)
    )
    catalog = padding = False
    extra: list[str] = []
    for s in stmts:
        for u in s.find_all(exp.SetOperation):
            if not isinstance(u.parent, exp.SetOperation):
                first, *later = _branches(u)
                seen = set(tables_in(first, set())) | _func_names(first)
                on_catalog = any(_is_catalog(t) for t in seen)  # a DBA's catalog query
                for b in later:
                    tabs = set(tables_in(b, set()))
                    if not on_catalog:
                        catalog |= any(_is_catalog(t) for t in tabs - seen)
                        catalog |= bool((_func_names(b) & SYSTEM_FUNCS) - seen)
                    padding |= _padding(b)
                    extra += sorted(tabs - seen)
    kinds = [type(s).__name__.lower() for s in stmts if not isinstance(s, _CONTROL)]
    sleep = any(_func_names(s) & SLEEP_FUNCS for s in stmts)
    subst = [s for s in stmts if not isinstance(s, _CONTROL)]
    danger = (
        len(subst) >= 2
        and isinstance(subst[0], exp.Select | exp.SetOperation)
        and any(
            not isinstance(s, exp.Select | exp.SetOperation) or _func_names(s) & SLEEP_FUNCS
            for s in subst[1:]
        )
    )
    return InjectionInfo(
        True, tautology, catalog, padding, uniq(extra), tuple(kinds), danger, sleep
    )

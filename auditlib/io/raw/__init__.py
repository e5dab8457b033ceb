"""The seam where raw sources plug into the loader.

A raw parser reads one file of a server's own format (pgAudit csvlog/stderr,
MariaDB server_audit, OCSF JSON, ISO 20022 camt.053) into the canonical
columns of one table. Parsers are registered here; the loader asks each one
registered for a table whether it recognises a file (``sniff``, from its first
bytes, never from its name alone) and hands the file to the first that does.

A parser never raises for a bad record: it counts it in the
:class:`~auditlib.io.report.FileReport` (``report.error(n, msg)``) and goes on.
It raises :class:`~auditlib.errors.DataError` only when the file as a whole is
not of its format after all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

from auditlib.config import Settings
from auditlib.errors import DataError
from auditlib.io.report import FileReport


class RawParser(Protocol):
    name: str
    """Short format name shown in the load report, e.g. ``pgaudit-csvlog``."""
    table: str
    """The canonical table it produces."""

    def sniff(self, head: bytes, path: Path) -> bool:
        """Whether the file (its first 64 KiB are ``head``) is of this format."""

    def parse(self, path: Path, rel: str, settings: Settings) -> tuple[pl.DataFrame, FileReport]:
        """Read the file. ``rel`` is its path relative to the table's folder, '/'-separated
        (used in ids). Returns canonical columns (a subset is fine: the loader adds the
        missing optional ones as nulls) with canonical types, and the file's report."""


@dataclass(frozen=True)
class _Entry:
    parser: RawParser


_REGISTRY: dict[str, list[RawParser]] = {}


def register(parser: RawParser) -> RawParser:
    """Register a raw parser. A second parser with the same name raises."""
    for ps in _REGISTRY.values():
        if any(p.name == parser.name for p in ps):
            msg = f"a raw parser named {parser.name!r} is already registered"
            raise ValueError(msg)
    _REGISTRY.setdefault(parser.table, []).append(parser)
    return parser


def parsers_for(table: str) -> list[RawParser]:
    _load_builtins()
    return list(_REGISTRY.get(table, ()))


def pick(table: str, path: Path) -> RawParser:
    """The parser that recognises ``path``; a DataError naming the file if none does."""
    with path.open("rb") as fh:
        head = fh.read(65536)
    for p in parsers_for(table):
        if p.sniff(head, path):
            return p
    names = ", ".join(p.name for p in parsers_for(table)) or "none registered"
    msg = f"not a recognised {table} source format (tried: {names})"
    raise DataError(msg, file=str(path))


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")

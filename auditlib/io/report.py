"""The load report: what each file gave, as data (a polars frame) and as text."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass
class FileReport:
    """What loading one file gave. Raw sources count records; tables count rows."""

    table: str
    file: str
    format: str
    read: int = 0
    kept: int = 0
    skipped: int = 0
    null_time: int = 0
    other_class: int = 0
    """Records read but not of the table's kind (OCSF classes other than 6003/3002,
    non-AUDIT log lines): counted, not errors."""
    nulled: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    """One line per problem record: '<file>: record N: message'. Kept short: the
    first 50 are listed, all are counted in ``skipped``."""

    def error(self, record: int, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < 50:
            self.errors.append(f"{self.file}: record {record}: {message}")


@dataclass
class LoadReport:
    files: list[FileReport] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)

    def add(self, fr: FileReport) -> None:
        self.files.append(fr)

    def frame(self) -> pl.DataFrame:
        """One row per file: table, file, format, read, kept, skipped, null_time, nulled."""
        return pl.DataFrame(
            {
                "table": [f.table for f in self.files],
                "file": [f.file for f in self.files],
                "format": [f.format for f in self.files],
                "read": [f.read for f in self.files],
                "kept": [f.kept for f in self.files],
                "skipped": [f.skipped for f in self.files],
                "null_time": [f.null_time for f in self.files],
                "other_class": [f.other_class for f in self.files],
                "nulled": [
                    ", ".join(f"{k}={v}" for k, v in sorted(f.nulled.items())) for f in self.files
                ],
            },
            schema={
                "table": pl.String, "file": pl.String, "format": pl.String, "read": pl.Int64,
                "kept": pl.Int64, "skipped": pl.Int64, "null_time": pl.Int64,
                "other_class": pl.Int64, "nulled": pl.String,
            },
        )

    def text(self) -> str:
        lines = []
        for f in self.files:
            line = f"{f.table:<18} {f.file}  [{f.format}]  read {f.read}, kept {f.kept}"
            if f.skipped:
                line += f", skipped {f.skipped}"
            if f.null_time:
                line += f", time unreadable {f.null_time}"
            if f.other_class:
                line += f", other kinds {f.other_class}"
            if f.nulled:
                line += ", values nulled: " + ", ".join(
                    f"{k} {v}" for k, v in sorted(f.nulled.items())
                )
            lines.append(line)
            lines.extend("    " + e for e in f.errors)
        return "\n".join(lines)

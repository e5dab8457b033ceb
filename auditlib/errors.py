"""Errors a user sees. Each message names what is wrong and where; the CLI prints it
without a stack trace and exits 2."""

from __future__ import annotations


class AuditlibError(Exception):
    """Base of every error meant for the user."""


class ConfigError(AuditlibError):
    """A setting is unknown or not valid."""


class DataError(AuditlibError):
    """Input data cannot be loaded: names file, row and column where it can."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.row, self.column = file, row, column
        where = ", ".join(
            p
            for p in (
                file,
                f"row {row}" if row is not None else None,
                f"column '{column}'" if column else None,
            )
            if p
        )
        super().__init__(f"{where}: {message}" if where else message)


class CalendarError(AuditlibError):
    """A date falls outside the years the holiday calendar knows."""


class DetectorError(AuditlibError):
    """A detector is unknown, misconfigured or broken."""

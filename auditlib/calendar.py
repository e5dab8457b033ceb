"""The Chinese working-day calendar: weekends, public holidays and 调休 make-up days.

Built on the State Council's published schedules as packaged by
``chinesecalendar``; ``calendar.holidays`` / ``calendar.workdays`` in
``auditlib.yaml`` correct or extend it. A date in a year the calendar does not
cover, with no correction for that year, is an error (never a silent guess).

Examples
--------
>>> import datetime as dt
>>> cal = Calendar()
>>> cal.is_workday(dt.date(2026, 2, 14))   # Saturday, a make-up working day (调休)
True
>>> cal.is_workday(dt.date(2026, 10, 5))   # Monday in the National Day holiday
False
>>> cal.is_workday(dt.date(2026, 3, 7))    # an ordinary Saturday
False
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property

import polars as pl

from auditlib.errors import CalendarError


class Calendar:
    """Working days for China. Immutable; build one per run from the settings."""

    def __init__(
        self, *, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()
    ) -> None:
        from chinese_calendar import constants

        self._holidays = frozenset(constants.holidays) | frozenset(holidays)
        self._workdays = (frozenset(constants.workdays) | frozenset(workdays)) - frozenset(
            holidays
        )
        self._holidays -= frozenset(workdays)
        years = {d.year for d in constants.holidays}
        extra_years = {d.year for d in (*holidays, *workdays)}
        self.years: frozenset[int] = frozenset(range(min(years), max(years) + 1)) | frozenset(
            extra_years
        )

    def check_years(self, years: Iterable[int]) -> None:
        """Raise CalendarError if a year is outside what the calendar covers."""
        out = sorted({int(y) for y in years if y is not None} - self.years)
        if out:
            msg = (
                f"the Chinese holiday calendar covers {min(self.years)}-{max(self.years)}; "
                f"data falls in {', '.join(map(str, out))}: add that year's holidays and "
                "make-up working days under 'calendar:' in auditlib.yaml"
            )
            raise CalendarError(msg)

    def is_workday(self, day: dt.date) -> bool:
        self.check_years([day.year])
        return self._is_workday_unchecked(day)

    def is_holiday(self, day: dt.date) -> bool:
        """A public holiday (not an ordinary weekend)."""
        return day in self._holidays

    def workday_expr(self, date: pl.Expr) -> pl.Expr:
        """A boolean expression: is ``date`` (a Date expression) a working day?

        Vectorised: a date inside the years of holidays and make-up days is looked up in a
        table of those days (a gather by day number, cheaper than hashing every date);
        outside them, weekdays are working days.

        >>> import datetime as dt
        >>> days = pl.Series([dt.date(2026, 2, 14), dt.date(2026, 10, 5), dt.date(1990, 1, 1)])
        >>> pl.select(Calendar().workday_expr(pl.lit(days))).to_series().to_list()
        [True, False, True]
        """
        first, table = self._workday_table
        i = date.cast(pl.Int32) - first
        weekday = date.dt.weekday() <= 5
        if table.len() == 0:
            return weekday
        inside = (i >= 0) & (i < table.len())
        return pl.when(inside).then(pl.lit(table).gather(i.clip(0, table.len() - 1))).otherwise(
            weekday
        )

    @cached_property
    def _workday_table(self) -> tuple[int, pl.Series]:
        """The day number of the first special day's 1 January, and whether each day from
        there to the last special day's 31 December is a working day."""
        special = (*self._workdays, *self._holidays)
        if not special:
            return 0, pl.Series([], dtype=pl.Boolean)
        start = dt.date(min(special).year, 1, 1)
        end = dt.date(max(special).year, 12, 31)
        n = (end - start).days + 1
        flags = [self._is_workday_unchecked(start + dt.timedelta(days=k)) for k in range(n)]
        return (start - dt.date(1970, 1, 1)).days, pl.Series(flags, dtype=pl.Boolean)

    def _is_workday_unchecked(self, day: dt.date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        return day.weekday() < 5

    def holiday_expr(self, date: pl.Expr) -> pl.Expr:
        """Is ``date`` a public holiday (not a plain weekend)?"""
        days = sorted(self._holidays)
        return date.is_in(pl.Series(days, dtype=pl.Date).implode())

    def workdays_between(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """All working days from ``start`` to ``end`` inclusive."""
        out, d = [], start
        while d <= end:
            if self.is_workday(d):
                out.append(d)
            d += dt.timedelta(days=1)
        return out

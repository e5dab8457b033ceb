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
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        return day.weekday() < 5

    def is_holiday(self, day: dt.date) -> bool:
        """A public holiday (not an ordinary weekend)."""
        return day in self._holidays

    @cached_property
    def _special(self) -> pl.DataFrame:
        rows = [(d, True) for d in self._workdays] + [(d, False) for d in self._holidays]
        return pl.DataFrame(
            {"_day": [r[0] for r in rows], "_work": [r[1] for r in rows]},
            schema={"_day": pl.Date, "_work": pl.Boolean},
        )

    def workday_expr(self, date: pl.Expr) -> pl.Expr:
        """A boolean expression: is ``date`` (a Date expression) a working day?

        Vectorised: weekdays are working days unless a holiday; the special days
        are looked up with ``replace_strict`` on the date's integer value.
        """
        special = self._special
        days = special["_day"].cast(pl.Int32).to_list()
        work = special["_work"].to_list()
        weekday = date.dt.weekday() <= 5
        looked = date.cast(pl.Int32).replace_strict(days, work, default=None, return_dtype=pl.Boolean)
        return pl.coalesce(looked, weekday)

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

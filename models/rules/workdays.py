"""Working days in Vietnam: weekends, public holidays, the government's day swaps, local overrides.

Working days are Monday to Friday minus Vietnam's public holidays, plus the make-up Saturdays
the government orders; the `holidays` package knows both (including the lunar-calendar Tết and
Hùng Kings' day). What the package says comes through a `PackageDays`: the package itself by
default, or its answers kept in a file (`models.files.holiday_cache`), which spares a process the
package's import. Local extra holidays and working days add swaps announced after the package
was released (`models.files.calendar` reads them from a file).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pendulum

from models.errors import OutsideCalendar

if TYPE_CHECKING:
    from holidays import HolidayBase

TIMEZONE = "Asia/Ho_Chi_Minh"
# Loaded once: pendulum reads the zone file again for each `in_timezone(name)`.
_ZONE = pendulum.timezone(TIMEZONE)

RollDirection = Literal["following", "preceding", "none"]

_ONE_DAY = timedelta(days=1)


def local_time_text(instant: datetime) -> str:
    """An aware instant as people in Vietnam read it: dd/mm/yyyy HH:MM in Asia/Ho_Chi_Minh."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no timezone")
    return f"{instant.astimezone(_ZONE):%d/%m/%Y %H:%M}"


def local_date(instant: datetime) -> date:
    """The calendar date of an aware instant in Asia/Ho_Chi_Minh; naive datetimes are refused."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()} has no timezone")
    local = instant.astimezone(_ZONE)
    return date(local.year, local.month, local.day)


def _vietnam(**options: Any) -> HolidayBase:
    """The `holidays` package's calendar of Vietnam. The package is imported on first use: a
    command refused before it reckons a day need not wait for it."""
    import holidays

    return holidays.country_holidays("VN", **options)


@cache
def calendar_years() -> tuple[int, int]:
    """The first and the last year whose working days are known (the `holidays` package's)."""
    calendar = _vietnam()
    return calendar.start_year, calendar.end_year


@cache
def _package_days_off(year: int) -> frozenset[date]:
    """Every day of `year` the `holidays` package says is not a working day (weekends included)."""
    # A fresh object per year: nothing shared is mutated, so concurrent callers are safe.
    # The neighbouring years are populated too, in case one of them places a day in this year.
    calendar = _vietnam(years=(year - 1, year, year + 1), expand=False)
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    return frozenset(
        day
        for day in (first + timedelta(days=offset) for offset in range(days))
        if not calendar.is_working_day(day)
    )


class PackageDays(Protocol):
    """What the `holidays` package says of Vietnam's working days."""

    def years(self) -> tuple[int, int]:
        """The first and the last year the package knows."""
        ...

    def days_off(self, year: int) -> frozenset[date]:
        """Every day of `year`, a year the package knows, that is not a working day (weekends
        included)."""
        ...


class _HolidaysPackage:
    """The answers worked out from the package itself, each once per process."""

    def years(self) -> tuple[int, int]:
        return calendar_years()

    def days_off(self, year: int) -> frozenset[date]:
        return _package_days_off(year)


HOLIDAYS_PACKAGE: PackageDays = _HolidaysPackage()


class WorkCalendar:
    """Vietnam's working days, with optional local extra holidays and extra working days."""

    __slots__ = ("_days_off", "_extra_holidays", "_extra_workdays", "_package", "_shifted")

    def __init__(
        self,
        *,
        extra_holidays: Mapping[date, str] | None = None,
        extra_workdays: Mapping[date, str] | None = None,
        package: PackageDays = HOLIDAYS_PACKAGE,
    ) -> None:
        off = dict(extra_holidays or {})
        on = dict(extra_workdays or {})
        both = sorted(off.keys() & on.keys())
        if both:
            raise ValueError(
                f"{both[0].isoformat()} is both an extra holiday and an extra working day"
            )
        self._extra_holidays: Mapping[date, str] = MappingProxyType(off)
        self._extra_workdays: Mapping[date, str] = MappingProxyType(on)
        self._package = package
        # the package's days off of each year asked about
        self._days_off: dict[int, frozenset[date]] = {}
        # shift_working_days' answers: a chase asks the same few due dates again and again
        self._shifted: dict[tuple[date, int], date] = {}

    @property
    def extra_holidays(self) -> Mapping[date, str]:
        """Local days off (date -> name), on top of the package's holidays."""
        return self._extra_holidays

    @property
    def extra_workdays(self) -> Mapping[date, str]:
        """Local working days (date -> name), on top of the package's make-up Saturdays."""
        return self._extra_workdays

    def is_working_day(self, day: date) -> bool:
        """Whether people work on `day` (OutsideCalendar, a ValueError, outside the package's
        years)."""
        if isinstance(day, datetime):  # a datetime never equals a date: it would miss every set
            raise TypeError(f"expected a date, got the datetime {day.isoformat()}; see local_date")
        if day in self._extra_workdays:
            return True
        if day in self._extra_holidays:
            return False
        days_off = self._days_off.get(day.year)
        if days_off is None:
            days_off = self._days_off[day.year] = self._known_days_off(day.year)
        return day not in days_off

    def _known_days_off(self, year: int) -> frozenset[date]:
        first_year, last_year = self._package.years()
        if not first_year <= year <= last_year:
            raise OutsideCalendar(
                f"the holidays package has no data for {year} (it covers {first_year}–{last_year})"
            )
        return self._package.days_off(year)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day`; for n == 0, `day` rolled forward."""
        if n < 0:
            raise ValueError(f"n must not be negative (got {n})")
        if n == 0:
            return self.roll(day, "following")
        current = day
        while n:
            current += _ONE_DAY
            if self.is_working_day(current):
                n -= 1
        return current

    def shift_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n > 0) or before it (n < 0); for n == 0, `day`
        rolled forward to a working day."""
        shifted = self._shifted.get((day, n))
        if shifted is None:
            shifted = self._shifted[(day, n)] = self._shift(day, n)
        return shifted

    def _shift(self, day: date, n: int) -> date:
        if n >= 0:
            return self.add_working_days(day, n)
        current = day
        while n:
            current -= _ONE_DAY
            if self.is_working_day(current):
                n += 1
        return current

    def roll(self, day: date, direction: RollDirection) -> date:
        """`day` if it is a working day (or direction is "none"), else the nearest one that way."""
        if direction == "none":
            return day
        if direction not in ("following", "preceding"):
            raise ValueError(f"unknown roll direction {direction!r}")
        step = _ONE_DAY if direction == "following" else -_ONE_DAY
        while not self.is_working_day(day):
            day += step
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d satisfy start < d <= end (0 if end <= start)."""
        return sum(
            self.is_working_day(start + timedelta(days=offset))
            for offset in range(1, (end - start).days + 1)
        )

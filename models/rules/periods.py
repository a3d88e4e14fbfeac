"""Reporting periods (calendar or Decree 09/2019/NĐ-CP cut-off) and the due rules that date them.

A recurring period is identified by a key ("2024-03", "2024-Q1", "2024-H1", "2024-9M", "2024")
and covers one or more consecutive report months. Under the calendar convention it runs from
the first day of its first month to the last day of its last month; under the cut-off
convention of Decree 09/2019/NĐ-CP it runs from the 15th of the month before its first month
to the 14th of its last month (2024-01 = 15/12/2023–14/01/2024).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

import pendulum
from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.rules.workdays import RollDirection, WorkCalendar


class Cadence(StrEnum):
    """How often a requirement is owed."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SIX_MONTHLY = "6-monthly"
    NINE_MONTHLY = "9-monthly"
    YEARLY = "yearly"
    ONCE = "once"
    STANDING = "standing"


class Convention(StrEnum):
    """Where period bounds fall: calendar months, or the 15th-to-14th cut-off of Decree 09/2019."""

    CALENDAR = "calendar"
    DECREE_09_2019 = "decree-09-2019"


@dataclass(frozen=True, slots=True)
class Period:
    """One reporting period; `end` is None only for standing duties."""

    key: str
    start: date  # first day, inclusive
    end: date | None  # last day, inclusive


@dataclass(frozen=True, slots=True)
class _Shape:
    """A recurring cadence: months per period, periods per year, key pattern and key format."""

    months: int
    per_year: int
    pattern: re.Pattern[str]
    key_format: str

    def key(self, year: int, index: int) -> str:
        """The key of the `index`-th period (1-based) of report year `year`."""
        return self.key_format.format(year=year, index=index)


_YEAR = r"(?P<year>[1-9]\d{3})"
_SHAPES: dict[Cadence, _Shape] = {
    Cadence.MONTHLY: _Shape(1, 12, re.compile(_YEAR + r"-(?P<index>\d{2})"), "{year}-{index:02d}"),
    Cadence.QUARTERLY: _Shape(3, 4, re.compile(_YEAR + r"-Q(?P<index>\d)"), "{year}-Q{index}"),
    Cadence.SIX_MONTHLY: _Shape(6, 2, re.compile(_YEAR + r"-H(?P<index>\d)"), "{year}-H{index}"),
    Cadence.NINE_MONTHLY: _Shape(9, 1, re.compile(_YEAR + r"-9M"), "{year}-9M"),
    Cadence.YEARLY: _Shape(12, 1, re.compile(_YEAR), "{year}"),
}


def _shape(cadence: Cadence) -> _Shape:
    """The shape of a recurring cadence; ValueError for once and standing."""
    try:
        return _SHAPES[cadence]
    except KeyError:
        raise ValueError(f"{cadence} is not a recurring cadence") from None


def _plain(day: date) -> date:
    """A pendulum date as a plain `datetime.date`."""
    return date(day.year, day.month, day.day)


def _bounds(cadence: Cadence, convention: Convention, year: int, index: int) -> tuple[date, date]:
    """First and last day of the `index`-th period (1-based) of `cadence` in report year `year`."""
    months = _shape(cadence).months
    first_month = pendulum.date(year, (index - 1) * months + 1, 1)
    last_month = first_month.add(months=months - 1)
    if convention == Convention.DECREE_09_2019:
        start, end = first_month.subtract(months=1).replace(day=15), last_month.replace(day=14)
    else:
        start, end = first_month, last_month.end_of("month")
    return _plain(start), _plain(end)


def _build(cadence: Cadence, convention: Convention, year: int, index: int) -> Period:
    """The `index`-th period (1-based) of `cadence` in report year `year`."""
    start, end = _bounds(cadence, convention, year, index)
    return Period(_shape(cadence).key(year, index), start, end)


def _slot_from(cadence: Cadence, convention: Convention, day: date) -> tuple[int, int, bool]:
    """(year, index, contains): the period containing `day`, or the first one after it."""
    shape = _shape(cadence)
    report_month = pendulum.date(day.year, day.month, 1)
    if convention == Convention.DECREE_09_2019 and day.day >= 15:
        report_month = report_month.add(months=1)
    index = (report_month.month - 1) // shape.months + 1
    if index > shape.per_year:  # only 9-monthly has months outside every period
        return report_month.year + 1, 1, False
    return report_month.year, index, True


def _slot_of(shape: _Shape, key: str) -> tuple[int, int] | None:
    """(year, index) of the period of `shape` named by `key`, or None if the key does not fit."""
    match = shape.pattern.fullmatch(key)
    if match is None:
        return None
    index = int(match.groupdict().get("index") or 1)
    if not 1 <= index <= shape.per_year:
        return None
    return int(match.group("year")), index


def period_for_key(cadence: Cadence, convention: Convention, key: str) -> Period:
    """The period of a recurring cadence named by `key`; ValueError if the key does not fit."""
    slot = _slot_of(_shape(cadence), key)
    if slot is None:
        raise ValueError(f"{key!r} is not a {cadence} period key")
    return _build(cadence, convention, *slot)


def months_in(cadence: Cadence) -> int:
    """How many report months one period of a recurring cadence covers (ValueError otherwise)."""
    return _shape(cadence).months


def _report_months(key: str) -> tuple[pendulum.Date, int]:
    """The first report month of the recurring period named `key` (its 1st day), and how many
    report months it covers; the key alone says both, whatever the convention."""
    for shape in _SHAPES.values():
        slot = _slot_of(shape, key)
        if slot is not None:
            year, index = slot
            return pendulum.date(year, (index - 1) * shape.months + 1, 1), shape.months
    raise ValueError(f"{key!r} is not the key of a recurring period")


def period_containing(cadence: Cadence, convention: Convention, day: date) -> Period:
    """The recurring period whose bounds contain `day` (ValueError if none, as in 9-monthly)."""
    year, index, contains = _slot_from(cadence, convention, day)
    if not contains:
        raise ValueError(f"no {cadence} period contains {day.isoformat()}")
    return _build(cadence, convention, year, index)


def periods_for(
    cadence: Cadence,
    convention: Convention,
    *,
    window_start: date,
    window_end: date | None,
    opened_by: date,
) -> list[Period]:
    """Periods owed: end within [window_start, window_end] and start on or before `opened_by`.

    Once and standing cadences give one period starting at `window_start` (if it is not after
    `opened_by`); a once period also ends that day, a standing one never ends.
    """
    if cadence in (Cadence.ONCE, Cadence.STANDING):
        if window_start > opened_by:
            return []
        end = window_start if cadence == Cadence.ONCE else None
        return [Period(str(cadence), window_start, end)]
    shape = _shape(cadence)
    year, index, _ = _slot_from(cadence, convention, window_start)
    owed: list[Period] = []
    while True:
        start, end = _bounds(cadence, convention, year, index)
        if start > opened_by or (window_end is not None and end > window_end):
            return owed
        owed.append(Period(shape.key(year, index), start, end))
        year, index = (year, index + 1) if index < shape.per_year else (year + 1, 1)


_ROLL_WORDS: dict[str, str] = {
    "following": "moved to the next working day if that is a day off",
    "preceding": "moved to the previous working day if that is a day off",
    "none": "even if that is a day off",
}


def _ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class WorkingDaysAfterEnd(BaseModel):
    """Due a number of working days after the period (or cut-off) ends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["working-days-after-end"]
    days: int = Field(ge=0, le=60, description="working days after the period's last day")

    def due_for(self, period: Period, end: date, calendar: WorkCalendar) -> date:
        """The due date for `period`, which ends on `end`."""
        return calendar.add_working_days(end, self.days)

    def describe(self) -> str:
        """One line of English, for docs and the CLI."""
        if self.days == 0:
            return "the day the period ends, or the next working day if that is a day off"
        unit = "working day" if self.days == 1 else "working days"
        return f"{self.days} {unit} after the period ends"


class DayOfMonth(BaseModel):
    """Due on a day of the month the period ends in, or of a month after it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["day-of-month"]
    day: int = Field(ge=1, le=31, description="day of the month; clamped to the month's last day")
    months_after: int = Field(
        default=0, ge=0, le=12, description="months after the month the period ends in"
    )
    roll: RollDirection = Field(
        default="following", description="where to move the date when it is not a working day"
    )

    def due_for(self, period: Period, end: date, calendar: WorkCalendar) -> date:
        """The due date for `period`, which ends on `end`."""
        month = pendulum.date(end.year, end.month, 1).add(months=self.months_after)
        target = date(month.year, month.month, min(self.day, month.days_in_month))
        return calendar.roll(target, self.roll)

    def describe(self) -> str:
        """One line of English, for docs and the CLI."""
        if self.months_after == 0:
            month = "the month the period ends in"
        elif self.months_after == 1:
            month = "the month after the period ends"
        else:
            month = f"the month {self.months_after} months after the period ends"
        clamp = " (or its last day if shorter)" if self.day > 28 else ""
        return f"the {_ordinal(self.day)} of {month}{clamp}, {_ROLL_WORDS[self.roll]}"


class ExplicitDate(BaseModel):
    """Due on one fixed date, whatever the period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["date"]
    date: datetime.date = Field(description="the due date, written YYYY-MM-DD")

    @field_validator("date", mode="before")
    @classmethod
    def _a_date_not_a_moment(cls, value: object) -> object:
        """Refuse datetimes and text other than YYYY-MM-DD, which pydantic would coerce."""
        if isinstance(value, datetime.datetime) or (
            isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
        ):
            raise ValueError("must be a date written YYYY-MM-DD")
        return value

    def due_for(self, period: Period, end: datetime.date, calendar: WorkCalendar) -> datetime.date:
        """The fixed date, whatever the period."""
        return self.date

    def describe(self) -> str:
        """One line of English, for docs and the CLI."""
        return f"the fixed date {self.date.isoformat()}"


class DateInPeriod(BaseModel):
    """Due on a day of the period's n-th report month, which may come before the period ends
    (ministries' regimes: the year's report by 25 November, the half year's by a day in June)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["date-in-period"]
    month: int = Field(ge=1, le=12, description="the period's report month, 1 for its first")
    day: int = Field(ge=1, le=31, description="day of the month; clamped to the month's last day")
    roll: RollDirection = Field(
        default="none", description="where to move the date when it is not a working day"
    )

    def due_for(self, period: Period, end: date, calendar: WorkCalendar) -> date:
        """The due date for `period`; a roll back before the period starts rolls forward."""
        first, months = _report_months(period.key)
        if self.month > months:
            raise ValueError(f"period {period.key} has no report month {self.month}")
        month = first.add(months=self.month - 1)
        target = date(month.year, month.month, min(self.day, month.days_in_month))
        rolled = calendar.roll(target, self.roll)
        return rolled if rolled >= period.start else calendar.roll(target, "following")

    def describe(self) -> str:
        """One line of English, for docs and the CLI."""
        clamp = " (or its last day if shorter)" if self.day > 28 else ""
        roll = _ROLL_WORDS[self.roll]
        if self.roll == "preceding":
            roll += " (or the next one if that is before the period starts)"
        return (
            f"the {_ordinal(self.day)} of the period's {_ordinal(self.month)} month{clamp}, {roll}"
        )


DueRule = Annotated[
    WorkingDaysAfterEnd | DayOfMonth | DateInPeriod | ExplicitDate, Field(discriminator="rule")
]


def due_date(rule: DueRule, period: Period, calendar: WorkCalendar) -> date | None:
    """When the period's deliverable is due under `rule`; None for a standing duty."""
    if period.end is None:
        return None
    return rule.due_for(period, period.end, calendar)

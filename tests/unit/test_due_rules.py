"""Due rules: parsing, descriptions, and the dates they give around Tết, month ends and swaps."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from models.errors import InputError
from models.files.directive import Schedule, parse_directive
from models.rules.periods import (
    Cadence,
    Convention,
    DateInPeriod,
    DayOfMonth,
    DueRule,
    ExplicitDate,
    Period,
    WorkingDaysAfterEnd,
    due_date,
    months_in,
    period_containing,
    period_for_key,
    periods_for,
)
from models.rules.workdays import RollDirection, WorkCalendar

SEED = Path(__file__).resolve().parents[2] / "directives" / "cam-xuyen-cchc-2024.yaml"
CALENDAR = WorkCalendar()
CAL, CUT = Convention.CALENDAR, Convention.DECREE_09_2019
RULES: TypeAdapter[DueRule] = TypeAdapter(DueRule)


def after(days: int) -> WorkingDaysAfterEnd:
    return WorkingDaysAfterEnd(rule="working-days-after-end", days=days)


def on_day(day: int, months_after: int = 0, roll: RollDirection = "following") -> DayOfMonth:
    return DayOfMonth(rule="day-of-month", day=day, months_after=months_after, roll=roll)


def in_period(month: int, day: int, roll: RollDirection = "none") -> DateInPeriod:
    return DateInPeriod(rule="date-in-period", month=month, day=day, roll=roll)


def due(rule: DueRule, cadence: Cadence, convention: Convention, key: str) -> date | None:
    return due_date(rule, period_for_key(cadence, convention, key), CALENDAR)


# --- parsing ------------------------------------------------------------------------------


def test_rules_parse_by_their_discriminator() -> None:
    assert RULES.validate_python({"rule": "working-days-after-end", "days": 2}) == after(2)
    assert RULES.validate_python({"rule": "day-of-month", "day": 15, "months_after": 1}) == on_day(
        15, 1
    )
    explicit = RULES.validate_python({"rule": "date", "date": "2025-01-15"})
    assert explicit == ExplicitDate(rule="date", date=date(2025, 1, 15))
    assert RULES.validate_python({"rule": "date", "date": date(2025, 1, 15)}) == explicit
    assert on_day(15).roll == "following"
    assert on_day(15).months_after == 0
    assert RULES.validate_python({"rule": "date-in-period", "month": 11, "day": 25}) == in_period(
        11, 25
    )
    assert in_period(11, 25).roll == "none"


@pytest.mark.parametrize(
    "data",
    [
        {"rule": "working-days-after-end", "days": -1},
        {"rule": "working-days-after-end", "days": 61},
        {"rule": "working-days-after-end", "days": 2, "roll": "following"},
        {"rule": "working-days-after-end"},
        {"rule": "day-of-month", "day": 0},
        {"rule": "day-of-month", "day": 32},
        {"rule": "day-of-month", "day": 15, "months_after": 13},
        {"rule": "day-of-month", "day": 15, "months_after": -1},
        {"rule": "day-of-month", "day": 15, "roll": "nearest"},
        {"rule": "date-in-period", "month": 0, "day": 25},
        {"rule": "date-in-period", "month": 13, "day": 25},
        {"rule": "date-in-period", "month": 11, "day": 0},
        {"rule": "date-in-period", "month": 11, "day": 32},
        {"rule": "date-in-period", "month": 11},
        {"rule": "date-in-period", "day": 25},
        {"rule": "date-in-period", "month": 11, "day": 25, "months_after": 1},
        {"rule": "date-in-period", "month": 11, "day": 25, "roll": "nearest"},
        {"rule": "date", "date": "15/01/2025"},
        {"rule": "date", "date": "2025-01-15T00:00:00"},
        {"rule": "date", "date": datetime(2025, 1, 15)},
        {"rule": "date", "date": "2025-02-30"},
        {"rule": "date"},
        {"rule": "weekday", "day": 1},
        {"days": 2},
    ],
)
def test_bad_rules_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RULES.validate_python(data)


def test_rules_are_frozen() -> None:
    rule = after(2)
    with pytest.raises(ValidationError):
        rule.days = 3


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (after(2), "2 working days after the period ends"),
        (after(1), "1 working day after the period ends"),
        (after(0), "the day the period ends, or the next working day if that is a day off"),
        (
            on_day(15, 1),
            "the 15th of the month after the period ends, "
            "moved to the next working day if that is a day off",
        ),
        (
            on_day(1, 0, "preceding"),
            "the 1st of the month the period ends in, "
            "moved to the previous working day if that is a day off",
        ),
        (
            on_day(22, 2, "none"),
            "the 22nd of the month 2 months after the period ends, even if that is a day off",
        ),
        (
            on_day(31, 1),
            "the 31st of the month after the period ends (or its last day if shorter), "
            "moved to the next working day if that is a day off",
        ),
        (
            on_day(13, 1, "none"),
            "the 13th of the month after the period ends, even if that is a day off",
        ),
        (
            on_day(23, 1, "none"),
            "the 23rd of the month after the period ends, even if that is a day off",
        ),
        (in_period(11, 25), "the 25th of the period's 11th month, even if that is a day off"),
        (
            in_period(2, 31, "following"),
            "the 31st of the period's 2nd month (or its last day if shorter), "
            "moved to the next working day if that is a day off",
        ),
        (
            in_period(1, 1, "preceding"),
            "the 1st of the period's 1st month, moved to the previous working day if that is a "
            "day off (or the next one if that is before the period starts)",
        ),
        (ExplicitDate(rule="date", date=date(2025, 1, 15)), "the fixed date 2025-01-15"),
    ],
)
def test_describe(rule: DueRule, text: str) -> None:
    assert rule.describe() == text


# --- hand-checked due dates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "cadence", "convention", "key", "expected"),
    [
        # cut-off month 2024-02 ends Wednesday 14/02/2024, inside Tết (8–14/02)
        (after(0), Cadence.MONTHLY, CUT, "2024-02", date(2024, 2, 15)),
        (after(2), Cadence.MONTHLY, CUT, "2024-02", date(2024, 2, 16)),
        # cut-off month 2025-01 ends 14/01/2025; Tết 2025 falls in the next ten working days
        (after(10), Cadence.MONTHLY, CUT, "2025-01", date(2025, 2, 4)),
        # year 2024 ends 31/12/2024, New Year's Day 2025 is off
        (after(1), Cadence.YEARLY, CAL, "2024", date(2025, 1, 2)),
        (after(2), Cadence.YEARLY, CAL, "2024", date(2025, 1, 3)),
        # the cut-off year 2024 ends Saturday 14/12/2024
        (after(0), Cadence.YEARLY, CUT, "2024", date(2024, 12, 16)),
        (on_day(31), Cadence.YEARLY, CUT, "2024", date(2024, 12, 31)),
        # quarter 2024-Q1 ends Sunday 31/03/2024
        (after(1), Cadence.QUARTERLY, CAL, "2024-Q1", date(2024, 4, 1)),
        # month 2024-08 ends Saturday 31/08; 2 and 3 September 2024 are off
        (after(1), Cadence.MONTHLY, CAL, "2024-08", date(2024, 9, 4)),
        # month 2024-04 ends on 30/04, a holiday, as is 1/05; Saturday 4 May 2024 is worked
        (after(1), Cadence.MONTHLY, CAL, "2024-04", date(2024, 5, 2)),
        (after(3), Cadence.MONTHLY, CAL, "2024-04", date(2024, 5, 4)),
        # 31 January + 1 month is the last day of February (leap and common years)
        (on_day(31, 1), Cadence.MONTHLY, CAL, "2024-01", date(2024, 2, 29)),
        (on_day(30, 1), Cadence.MONTHLY, CAL, "2025-01", date(2025, 2, 28)),
        (on_day(31, 1, "none"), Cadence.MONTHLY, CAL, "2023-01", date(2023, 2, 28)),
        # day 31 in April is 30 April 2024, a holiday, as is 1 May; 29 April is swapped off
        (on_day(31, 1), Cadence.MONTHLY, CAL, "2024-03", date(2024, 5, 2)),
        (on_day(31, 1, "preceding"), Cadence.MONTHLY, CAL, "2024-03", date(2024, 4, 26)),
        (on_day(31, 1, "none"), Cadence.MONTHLY, CAL, "2024-03", date(2024, 4, 30)),
        # the 18th of April 2024 is Hùng Kings' day
        (on_day(18, 1), Cadence.QUARTERLY, CAL, "2024-Q1", date(2024, 4, 19)),
        (on_day(18, 1, "preceding"), Cadence.QUARTERLY, CAL, "2024-Q1", date(2024, 4, 17)),
        (on_day(15, 1), Cadence.QUARTERLY, CAL, "2024-Q1", date(2024, 4, 15)),
        # the cut-off quarter 2025-Q1 (15/12/2024–14/03/2025): the 20th of March
        (on_day(20), Cadence.QUARTERLY, CUT, "2025-Q1", date(2025, 3, 20)),
        # months_after crosses the year: the 10th, 1 month after December 2024
        (on_day(10, 1), Cadence.MONTHLY, CAL, "2024-12", date(2025, 1, 10)),
        # 12 months after January 2025: Friday 30 January 2026
        (on_day(30, 12), Cadence.MONTHLY, CAL, "2025-01", date(2026, 1, 30)),
        # a day of the period's n-th month, before the period ends, kept even on a day off
        (in_period(11, 25), Cadence.YEARLY, CAL, "2024", date(2024, 11, 25)),
        (in_period(11, 25), Cadence.YEARLY, CUT, "2024", date(2024, 11, 25)),
        (in_period(11, 25), Cadence.YEARLY, CAL, "2023", date(2023, 11, 25)),  # a Saturday
        (in_period(11, 25, "following"), Cadence.YEARLY, CAL, "2023", date(2023, 11, 27)),
        (in_period(6, 15), Cadence.SIX_MONTHLY, CUT, "2024-H1", date(2024, 6, 15)),
        (in_period(6, 15), Cadence.SIX_MONTHLY, CAL, "2024-H2", date(2024, 12, 15)),
        (in_period(3, 10), Cadence.QUARTERLY, CAL, "2024-Q2", date(2024, 6, 10)),
        (in_period(9, 5), Cadence.NINE_MONTHLY, CUT, "2024-9M", date(2024, 9, 5)),
        # after the cut-off period's end (14/06) when the day is after the 14th
        (in_period(6, 20), Cadence.SIX_MONTHLY, CUT, "2024-H1", date(2024, 6, 20)),
        # day 31 of a quarter's 2nd month is the last day of February
        (in_period(2, 31), Cadence.QUARTERLY, CAL, "2024-Q1", date(2024, 2, 29)),
        (in_period(2, 31), Cadence.QUARTERLY, CUT, "2025-Q1", date(2025, 2, 28)),
        # 29/01/2025 is in Tết (25/01–02/02/2025)
        (in_period(1, 29, "following"), Cadence.YEARLY, CAL, "2025", date(2025, 2, 3)),
        (in_period(1, 29, "preceding"), Cadence.YEARLY, CUT, "2025", date(2025, 1, 24)),
        # Saturday 1 June 2024 rolled back would be 31 May, before the calendar month starts
        (in_period(1, 1, "preceding"), Cadence.MONTHLY, CAL, "2024-06", date(2024, 6, 3)),
        # the cut-off month 2024-06 starts on 15 May, so 31 May is inside it
        (in_period(1, 1, "preceding"), Cadence.MONTHLY, CUT, "2024-06", date(2024, 5, 31)),
        # an explicit date is kept as is, even on a holiday
        (
            ExplicitDate(rule="date", date=date(2025, 1, 1)),
            Cadence.YEARLY,
            CAL,
            "2024",
            date(2025, 1, 1),
        ),
    ],
)
def test_due_dates_hand_checked(
    rule: DueRule, cadence: Cadence, convention: Convention, key: str, expected: date
) -> None:
    assert due(rule, cadence, convention, key) == expected


def test_the_ministry_regime_units_first_the_department_two_days_later() -> None:
    # the year's report by 25 November of the report year, the half year's by 15 June,
    # the receiving department's two days after the units', none moved to a working day
    year = period_for_key(Cadence.YEARLY, CUT, "2024")
    half = period_for_key(Cadence.SIX_MONTHLY, CUT, "2024-H1")
    assert due_date(in_period(11, 25), year, CALENDAR) == date(2024, 11, 25)
    assert due_date(in_period(11, 27), year, CALENDAR) == date(2024, 11, 27)
    assert due_date(in_period(6, 15), half, CALENDAR) == date(2024, 6, 15)  # a Saturday
    assert due_date(in_period(6, 17), half, CALENDAR) == date(2024, 6, 17)
    assert year.end == date(2024, 12, 14) and half.end == date(2024, 6, 14)


@pytest.mark.parametrize(
    ("period", "problem"),
    [
        (period_for_key(Cadence.QUARTERLY, CAL, "2024-Q1"), "2024-Q1 has no report month 4"),
        (Period("once", date(2024, 3, 1), date(2024, 3, 1)), "'once' is not the key of a recur"),
    ],
)
def test_a_date_in_a_period_without_that_month_is_refused(period: Period, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        due_date(in_period(4, 1), period, CALENDAR)


def test_a_tiered_chain() -> None:
    # communes by the 15th of the month after the quarter, the lead office 2 working days later
    quarter = period_for_key(Cadence.QUARTERLY, CAL, "2025-Q1")
    communes = due_date(on_day(15, 1), quarter, CALENDAR)
    assert communes == date(2025, 4, 15)
    assert CALENDAR.add_working_days(communes, 2) == date(2025, 4, 17)


@pytest.mark.parametrize(
    "rule",
    [after(2), on_day(15, 1), in_period(1, 1), ExplicitDate(rule="date", date=date(2025, 1, 15))],
)
def test_standing_duties_have_no_due_date(rule: DueRule) -> None:
    assert due_date(rule, Period("standing", date(2024, 1, 1), None), CALENDAR) is None


def test_due_dates_follow_local_overrides() -> None:
    local = WorkCalendar(extra_workdays={date(2024, 2, 10): "Làm bù"})
    period = period_for_key(Cadence.MONTHLY, CAL, "2024-01")  # ends Wednesday 31/01/2024
    assert due_date(on_day(10, 1), period, local) == date(2024, 2, 10)
    assert due_date(on_day(10, 1), period, CALENDAR) == date(2024, 2, 15)


# --- properties ---------------------------------------------------------------------------

PERIODS = st.builds(
    period_containing,
    st.sampled_from([Cadence.MONTHLY, Cadence.QUARTERLY, Cadence.SIX_MONTHLY, Cadence.YEARLY]),
    st.sampled_from(list(Convention)),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31)),
)
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(PERIODS, st.integers(min_value=0, max_value=60))
def test_working_days_after_end_is_never_before_the_end(period: Period, days: int) -> None:
    assert period.end is not None
    result = due_date(after(days), period, CALENDAR)
    assert result is not None
    assert result >= period.end if days == 0 else result > period.end
    assert CALENDAR.is_working_day(result)


@FAST
@given(
    PERIODS,
    st.integers(min_value=1, max_value=31),
    st.integers(min_value=0, max_value=12),
    st.sampled_from(["following", "preceding", "none"]),
)
def test_day_of_month_lands_on_the_clamped_day_then_rolls(
    period: Period, day: int, months_after: int, roll: RollDirection
) -> None:
    assert period.end is not None
    result = due_date(on_day(day, months_after, roll), period, CALENDAR)
    assert result is not None
    unrolled = due_date(on_day(day, months_after, "none"), period, CALENDAR)
    assert unrolled is not None
    months = (unrolled.year - period.end.year) * 12 + unrolled.month - period.end.month
    assert months == months_after
    last_of_month = (unrolled + timedelta(days=1)).day == 1
    assert unrolled.day == day or (unrolled.day < day and last_of_month)
    assert result == CALENDAR.roll(unrolled, roll)
    if roll != "none":
        assert CALENDAR.is_working_day(result)


@FAST
@given(PERIODS, st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_explicit_date_is_returned_as_is(period: Period, day: date) -> None:
    assert due_date(ExplicitDate(rule="date", date=day), period, CALENDAR) == day


RECURRING = sorted(set(Cadence) - {Cadence.ONCE, Cadence.STANDING})


@st.composite
def periods_and_months(draw: st.DrawFn) -> tuple[Cadence, Convention, Period, int]:
    """A recurring period of any cadence (the one containing a day, or the next) and one of
    its report months."""
    cadence = draw(st.sampled_from(RECURRING))
    convention = draw(st.sampled_from(list(Convention)))
    day = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31)))
    periods = periods_for(
        cadence, convention, window_start=day, window_end=None, opened_by=day + timedelta(400)
    )
    month = draw(st.integers(min_value=1, max_value=months_in(cadence)))
    return cadence, convention, periods[0], month


@FAST
@given(
    periods_and_months(),
    st.integers(min_value=1, max_value=31),
    st.sampled_from(["following", "preceding", "none"]),
)
def test_date_in_period_is_the_day_of_that_month_and_never_before_the_start(
    drawn: tuple[Cadence, Convention, Period, int], day: int, roll: RollDirection
) -> None:
    cadence, convention, period, month = drawn
    assert period.end is not None
    result = due_date(in_period(month, day, roll), period, CALENDAR)
    unrolled = due_date(in_period(month, day), period, CALENDAR)
    assert result is not None and unrolled is not None
    # the report months end with the month the period ends in, whatever the convention
    months_before_end = (period.end.year - unrolled.year) * 12 + period.end.month - unrolled.month
    assert months_before_end == months_in(cadence) - month
    last_of_month = (unrolled + timedelta(days=1)).day == 1
    assert unrolled.day == day or (unrolled.day < day and last_of_month)
    assert period.start <= unrolled and period.start <= result
    if convention == CAL:  # a calendar period is its months; a cut-off one ends on the 14th
        assert unrolled <= period.end
    if roll == "none":
        assert result == unrolled
    else:
        assert CALENDAR.is_working_day(result)
        assert result in (CALENDAR.roll(unrolled, roll), CALENDAR.roll(unrolled, "following"))


@FAST
@given(
    st.sampled_from([*RECURRING, Cadence.ONCE]),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=31),
)
def test_a_schedule_takes_only_months_its_periods_have(
    cadence: Cadence, month: int, day: int
) -> None:
    data = {"cadence": cadence, "due": {"rule": "date-in-period", "month": month, "day": day}}
    if cadence is not Cadence.ONCE and month <= months_in(cadence):
        assert Schedule.model_validate(data).due == in_period(month, day)
        return
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate(data)
    (error,) = caught.value.errors()
    if cadence is Cadence.ONCE:
        assert error["loc"] == ()
    else:
        assert (error["loc"], error["input"]) == (("due", "month"), month)
        assert error["msg"] == f"a {cadence.value} period has only {months_in(cadence)} months"


def test_a_directive_asking_for_a_month_its_periods_lack_is_refused_naming_it() -> None:
    data = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    due = {"rule": "date-in-period", "month": 4, "day": 25}
    data["requirements"][2]["schedule"] = [{"cadence": "quarterly", "due": due}]
    with pytest.raises(InputError) as caught:
        parse_directive(data, "bo.yaml")
    assert str(caught.value) == (
        "bo.yaml: requirements[2].schedule[0].due.month: "
        "a quarterly period has only 3 months (got 4)"
    )

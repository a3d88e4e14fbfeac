"""Reporting periods under the calendar and the Decree 09/2019/NĐ-CP cut-off conventions."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.rules.periods import (
    Cadence,
    Convention,
    Period,
    period_containing,
    period_for_key,
    periods_for,
)

CAL, CUT = Convention.CALENDAR, Convention.DECREE_09_2019
RECURRING = [
    Cadence.MONTHLY,
    Cadence.QUARTERLY,
    Cadence.SIX_MONTHLY,
    Cadence.NINE_MONTHLY,
    Cadence.YEARLY,
]
TILING = [cadence for cadence in RECURRING if cadence is not Cadence.NINE_MONTHLY]
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
ONE_DAY = timedelta(days=1)
FAST = settings(max_examples=150, deadline=None)


def p(key: str, start: tuple[int, int, int], end: tuple[int, int, int]) -> Period:
    """A period from compact tuples."""
    return Period(key, date(*start), date(*end))


# --- hand-checked bounds ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "convention", "key", "expected"),
    [
        (Cadence.MONTHLY, CAL, "2024-01", p("2024-01", (2024, 1, 1), (2024, 1, 31))),
        (Cadence.MONTHLY, CAL, "2024-02", p("2024-02", (2024, 2, 1), (2024, 2, 29))),  # leap
        (Cadence.MONTHLY, CAL, "2023-02", p("2023-02", (2023, 2, 1), (2023, 2, 28))),
        (Cadence.MONTHLY, CAL, "2024-04", p("2024-04", (2024, 4, 1), (2024, 4, 30))),
        (Cadence.QUARTERLY, CAL, "2024-Q1", p("2024-Q1", (2024, 1, 1), (2024, 3, 31))),
        (Cadence.QUARTERLY, CAL, "2024-Q4", p("2024-Q4", (2024, 10, 1), (2024, 12, 31))),
        (Cadence.SIX_MONTHLY, CAL, "2024-H1", p("2024-H1", (2024, 1, 1), (2024, 6, 30))),
        (Cadence.SIX_MONTHLY, CAL, "2024-H2", p("2024-H2", (2024, 7, 1), (2024, 12, 31))),
        (Cadence.NINE_MONTHLY, CAL, "2024-9M", p("2024-9M", (2024, 1, 1), (2024, 9, 30))),
        (Cadence.YEARLY, CAL, "2024", p("2024", (2024, 1, 1), (2024, 12, 31))),
        (Cadence.MONTHLY, CUT, "2024-01", p("2024-01", (2023, 12, 15), (2024, 1, 14))),
        (Cadence.MONTHLY, CUT, "2024-03", p("2024-03", (2024, 2, 15), (2024, 3, 14))),
        (Cadence.MONTHLY, CUT, "2024-12", p("2024-12", (2024, 11, 15), (2024, 12, 14))),
        (Cadence.QUARTERLY, CUT, "2024-Q1", p("2024-Q1", (2023, 12, 15), (2024, 3, 14))),
        (Cadence.QUARTERLY, CUT, "2025-Q1", p("2025-Q1", (2024, 12, 15), (2025, 3, 14))),
        (Cadence.QUARTERLY, CUT, "2024-Q2", p("2024-Q2", (2024, 3, 15), (2024, 6, 14))),
        (Cadence.QUARTERLY, CUT, "2024-Q4", p("2024-Q4", (2024, 9, 15), (2024, 12, 14))),
        (Cadence.SIX_MONTHLY, CUT, "2024-H1", p("2024-H1", (2023, 12, 15), (2024, 6, 14))),
        (Cadence.SIX_MONTHLY, CUT, "2024-H2", p("2024-H2", (2024, 6, 15), (2024, 12, 14))),
        (Cadence.NINE_MONTHLY, CUT, "2024-9M", p("2024-9M", (2023, 12, 15), (2024, 9, 14))),
        (Cadence.YEARLY, CUT, "2024", p("2024", (2023, 12, 15), (2024, 12, 14))),
        (Cadence.YEARLY, CUT, "2025", p("2025", (2024, 12, 15), (2025, 12, 14))),
    ],
)
def test_period_for_key(
    cadence: Cadence, convention: Convention, key: str, expected: Period
) -> None:
    assert period_for_key(cadence, convention, key) == expected


@pytest.mark.parametrize(
    ("cadence", "convention", "day", "key"),
    [
        (Cadence.MONTHLY, CAL, date(2024, 1, 31), "2024-01"),
        (Cadence.MONTHLY, CAL, date(2024, 2, 29), "2024-02"),
        (Cadence.MONTHLY, CUT, date(2024, 12, 14), "2024-12"),
        (Cadence.MONTHLY, CUT, date(2024, 12, 15), "2025-01"),
        (Cadence.MONTHLY, CUT, date(2024, 12, 31), "2025-01"),
        (Cadence.MONTHLY, CUT, date(2024, 2, 29), "2024-03"),
        (Cadence.QUARTERLY, CAL, date(2024, 12, 31), "2024-Q4"),
        (Cadence.QUARTERLY, CUT, date(2024, 12, 14), "2024-Q4"),
        (Cadence.QUARTERLY, CUT, date(2024, 12, 15), "2025-Q1"),
        (Cadence.QUARTERLY, CUT, date(2024, 3, 15), "2024-Q2"),
        (Cadence.SIX_MONTHLY, CUT, date(2024, 6, 14), "2024-H1"),
        (Cadence.SIX_MONTHLY, CUT, date(2024, 6, 15), "2024-H2"),
        (Cadence.SIX_MONTHLY, CUT, date(2024, 12, 15), "2025-H1"),
        (Cadence.NINE_MONTHLY, CAL, date(2024, 9, 30), "2024-9M"),
        (Cadence.NINE_MONTHLY, CUT, date(2024, 9, 14), "2024-9M"),
        (Cadence.NINE_MONTHLY, CUT, date(2024, 12, 15), "2025-9M"),
        (Cadence.YEARLY, CAL, date(2024, 12, 31), "2024"),
        (Cadence.YEARLY, CUT, date(2024, 12, 14), "2024"),
        (Cadence.YEARLY, CUT, date(2024, 12, 15), "2025"),
    ],
)
def test_period_containing(cadence: Cadence, convention: Convention, day: date, key: str) -> None:
    assert period_containing(cadence, convention, day).key == key


@pytest.mark.parametrize(
    ("convention", "day"),
    [
        (CAL, date(2024, 10, 1)),
        (CAL, date(2024, 12, 31)),
        (CUT, date(2024, 9, 15)),
        (CUT, date(2024, 12, 14)),
    ],
)
def test_nine_monthly_periods_leave_a_gap(convention: Convention, day: date) -> None:
    with pytest.raises(ValueError, match="no 9-monthly period contains"):
        period_containing(Cadence.NINE_MONTHLY, convention, day)


@pytest.mark.parametrize(
    ("cadence", "key"),
    [
        (Cadence.QUARTERLY, "2024-Q5"),
        (Cadence.QUARTERLY, "2024-Q0"),
        (Cadence.QUARTERLY, "2024-H1"),
        (Cadence.QUARTERLY, "2024-q1"),
        (Cadence.MONTHLY, "2024-13"),
        (Cadence.MONTHLY, "2024-00"),
        (Cadence.MONTHLY, "2024-1"),
        (Cadence.MONTHLY, " 2024-01"),
        (Cadence.MONTHLY, "2024-Q1"),
        (Cadence.SIX_MONTHLY, "2024-H3"),
        (Cadence.SIX_MONTHLY, "2024-H0"),
        (Cadence.NINE_MONTHLY, "2024-9"),
        (Cadence.NINE_MONTHLY, "2024"),
        (Cadence.YEARLY, "24"),
        (Cadence.YEARLY, "2024-01"),
        (Cadence.YEARLY, "0999"),
    ],
)
def test_keys_that_do_not_fit_the_cadence(cadence: Cadence, key: str) -> None:
    for convention in Convention:
        with pytest.raises(ValueError, match="period key"):
            period_for_key(cadence, convention, key)


@pytest.mark.parametrize("cadence", [Cadence.ONCE, Cadence.STANDING])
def test_once_and_standing_have_no_keys_or_containing_periods(cadence: Cadence) -> None:
    with pytest.raises(ValueError, match="not a recurring cadence"):
        period_for_key(cadence, CAL, "once")
    with pytest.raises(ValueError, match="not a recurring cadence"):
        period_containing(cadence, CUT, date(2024, 1, 1))


def test_periods_are_immutable() -> None:
    period = period_for_key(Cadence.YEARLY, CAL, "2024")
    with pytest.raises(dataclasses.FrozenInstanceError):
        period.end = date(2025, 1, 1)  # type: ignore[misc]


# --- periods_for ----------------------------------------------------------------------------


def test_periods_for_monthly_within_a_year() -> None:
    owed = periods_for(
        Cadence.MONTHLY,
        CAL,
        window_start=date(2024, 1, 1),
        window_end=date(2024, 12, 31),
        opened_by=date(2024, 6, 10),
    )
    assert [period.key for period in owed] == [f"2024-{month:02d}" for month in range(1, 7)]


def test_periods_for_cut_off_quarters_open_ended() -> None:
    owed = periods_for(
        Cadence.QUARTERLY,
        CUT,
        window_start=date(2024, 1, 1),
        window_end=None,
        opened_by=date(2024, 12, 20),
    )
    # 2024-Q1 began on 15/12/2023, before the window, but ends inside it; 2025-Q1 has begun.
    assert [period.key for period in owed] == [
        "2024-Q1",
        "2024-Q2",
        "2024-Q3",
        "2024-Q4",
        "2025-Q1",
    ]


def test_periods_for_skips_a_period_ending_after_the_window() -> None:
    owed = periods_for(
        Cadence.YEARLY,
        CUT,
        window_start=date(2024, 1, 1),
        window_end=date(2024, 12, 31),
        opened_by=date(2025, 6, 1),
    )
    assert [period.key for period in owed] == ["2024"]


def test_periods_for_nine_monthly_from_inside_the_gap() -> None:
    owed = periods_for(
        Cadence.NINE_MONTHLY,
        CAL,
        window_start=date(2024, 10, 15),
        window_end=date(2026, 9, 30),
        opened_by=date(2030, 1, 1),
    )
    assert [period.key for period in owed] == ["2025-9M", "2026-9M"]


@pytest.mark.parametrize("cadence", [Cadence.ONCE, Cadence.STANDING])
def test_periods_for_once_and_standing(cadence: Cadence) -> None:
    start = date(2025, 3, 1)
    owed = periods_for(
        cadence, CAL, window_start=start, window_end=date(2025, 12, 31), opened_by=start
    )
    end = start if cadence is Cadence.ONCE else None
    assert owed == [Period(cadence.value, start, end)]
    later = periods_for(
        cadence, CUT, window_start=start, window_end=None, opened_by=start - ONE_DAY
    )
    assert later == []


def test_periods_for_an_empty_window() -> None:
    owed = periods_for(
        Cadence.MONTHLY,
        CAL,
        window_start=date(2024, 6, 1),
        window_end=date(2024, 5, 1),
        opened_by=date(2025, 1, 1),
    )
    assert owed == []


# --- properties ---------------------------------------------------------------------------


@FAST
@given(st.sampled_from(RECURRING), st.sampled_from(list(Convention)), DAYS)
def test_period_containing_contains_and_round_trips(
    cadence: Cadence, convention: Convention, day: date
) -> None:
    try:
        period = period_containing(cadence, convention, day)
    except ValueError:
        assert cadence is Cadence.NINE_MONTHLY
        gap_start = date(day.year, 10, 1) if convention is CAL else date(day.year, 9, 15)
        gap_end = date(day.year, 12, 31) if convention is CAL else date(day.year, 12, 14)
        assert gap_start <= day <= gap_end
        return
    assert period.end is not None
    assert period.start <= day <= period.end
    assert period_for_key(cadence, convention, period.key) == period


@FAST
@given(st.sampled_from(TILING), st.sampled_from(list(Convention)), DAYS)
def test_consecutive_periods_tile_time(cadence: Cadence, convention: Convention, day: date) -> None:
    period = period_containing(cadence, convention, day)
    assert period.end is not None
    following = period_containing(cadence, convention, period.end + ONE_DAY)
    preceding = period_containing(cadence, convention, period.start - ONE_DAY)
    assert following.start == period.end + ONE_DAY
    assert preceding.end == period.start - ONE_DAY
    assert preceding.key < period.key < following.key


@FAST
@given(st.integers(min_value=1990, max_value=2100), st.sampled_from(list(Convention)))
def test_months_quarters_and_halves_tile_the_year(year: int, convention: Convention) -> None:
    whole = period_for_key(Cadence.YEARLY, convention, str(year))
    months = [period_for_key(Cadence.MONTHLY, convention, f"{year}-{m:02d}") for m in range(1, 13)]
    quarters = [period_for_key(Cadence.QUARTERLY, convention, f"{year}-Q{q}") for q in range(1, 5)]
    halves = [period_for_key(Cadence.SIX_MONTHLY, convention, f"{year}-H{h}") for h in (1, 2)]
    for parts in (months, quarters, halves):
        assert parts[0].start == whole.start
        assert parts[-1].end == whole.end
        for before, after in itertools.pairwise(parts):
            assert before.end is not None
            assert after.start == before.end + ONE_DAY
    nine = period_for_key(Cadence.NINE_MONTHLY, convention, f"{year}-9M")
    assert (nine.start, nine.end) == (whole.start, quarters[2].end)


def brute_force(
    cadence: Cadence, convention: Convention, start: date, end: date | None, opened_by: date
) -> list[Period]:
    """Every period holding a day up to `opened_by`, filtered by the owed rule, one by one."""
    found: set[Period] = set()
    day = start - timedelta(days=400)  # no period is longer than a year
    while day <= opened_by:
        with contextlib.suppress(ValueError):  # the 9-monthly gap
            found.add(period_containing(cadence, convention, day))
        day += ONE_DAY
    return sorted(
        (
            period
            for period in found
            if period.end is not None
            and start <= period.end
            and (end is None or period.end <= end)
            and period.start <= opened_by
        ),
        key=lambda period: period.start,
    )


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([*RECURRING, Cadence.ONCE, Cadence.STANDING]),
    st.sampled_from(list(Convention)),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31)),
    st.one_of(st.none(), st.integers(min_value=-30, max_value=800)),
    st.integers(min_value=-60, max_value=500),
)
def test_periods_for_matches_brute_force(
    cadence: Cadence, convention: Convention, start: date, length: int | None, horizon: int
) -> None:
    end = None if length is None else start + timedelta(days=length)
    opened_by = start + timedelta(days=horizon)
    owed = periods_for(cadence, convention, window_start=start, window_end=end, opened_by=opened_by)
    if cadence in (Cadence.ONCE, Cadence.STANDING):
        expected_end = start if cadence is Cadence.ONCE else None
        expected = [Period(cadence.value, start, expected_end)] if start <= opened_by else []
        assert owed == expected
        return
    for period in owed:
        assert period.end is not None
        assert start <= period.end
        assert end is None or period.end <= end
        assert period.start <= opened_by
    assert owed == brute_force(cadence, convention, start, end, opened_by)

"""Working days: Vietnam's holidays and day swaps, local overrides, the override file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.errors import InputError
from models.files.calendar import read_calendar
from models.rules.workdays import RollDirection, WorkCalendar, local_date, local_time_text

CALENDAR = WorkCalendar()
# Far enough from 2100 (the package's last year) that adding 60 working days stays inside.
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
STEPS = st.integers(min_value=1, max_value=60)
FAST = settings(max_examples=150, deadline=None)


# --- Vietnam's calendar as the holidays package (0.109) knows it ---------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 1, 1), False),  # New Year's Day, Monday
        (date(2024, 2, 7), True),  # the Wednesday before Tết
        (date(2024, 2, 8), False),  # Tết 2024: 8–14 February
        (date(2024, 2, 12), False),
        (date(2024, 2, 14), False),
        (date(2024, 2, 15), True),
        (date(2024, 4, 18), False),  # Hùng Kings' day 2024 (10th of the 3rd lunar month)
        (date(2024, 4, 29), False),  # Monday off, swapped with Saturday 4 May
        (date(2024, 4, 30), False),
        (date(2024, 5, 1), False),
        (date(2024, 5, 2), True),
        (date(2024, 5, 4), True),  # make-up Saturday
        (date(2024, 5, 5), False),  # an ordinary Sunday
        (date(2024, 9, 2), False),  # National Day, and the 3rd added to it
        (date(2024, 9, 3), False),
        (date(2024, 9, 4), True),
        (date(2025, 1, 1), False),
        (date(2025, 1, 27), False),  # Tết 2025: 27–31 January on weekdays
        (date(2025, 1, 31), False),
        (date(2025, 2, 3), True),
        (date(2025, 4, 26), True),  # make-up Saturday for Friday 2 May 2025
        (date(2025, 5, 2), False),
        (date(2025, 9, 1), False),  # National Day 2025: Monday 1 and Tuesday 2 September
        (date(2025, 9, 2), False),
        (date(2026, 11, 24), False),  # Vietnam Cultural Day, from 2026
    ],
)
def test_is_working_day_knows_vietnams_calendar(day: date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


def test_a_year_of_working_days() -> None:
    # 2024: 262 weekdays, 12 of them holidays (1/1, five of Tết, 18/4, 29/4, 30/4, 1/5, 2/9,
    # 3/9), plus the make-up Saturday 4 May.
    assert CALENDAR.working_days_between(date(2023, 12, 31), date(2024, 12, 31)) == 251


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2024, 2, 7), 1, date(2024, 2, 15)),  # over Tết 2024
        (date(2024, 2, 7), 2, date(2024, 2, 16)),
        (date(2024, 4, 26), 1, date(2024, 5, 2)),  # over 27/4–1/5 2024
        (date(2024, 4, 26), 2, date(2024, 5, 3)),
        (date(2024, 4, 26), 3, date(2024, 5, 4)),  # the make-up Saturday counts
        (date(2024, 4, 26), 4, date(2024, 5, 6)),
        (date(2024, 8, 30), 1, date(2024, 9, 4)),  # over 31/8–3/9 2024
        (date(2024, 12, 31), 1, date(2025, 1, 2)),  # over New Year 2025
        (date(2024, 12, 31), 3, date(2025, 1, 6)),
        (date(2025, 1, 24), 1, date(2025, 2, 3)),  # over Tết 2025 (25/1–2/2)
        (date(2025, 4, 25), 1, date(2025, 4, 26)),  # Saturday 26 April 2025 is worked
        (date(2025, 4, 25), 3, date(2025, 4, 29)),
        (date(2025, 4, 25), 4, date(2025, 5, 5)),  # over 30/4–4/5 2025
        (date(2025, 8, 29), 1, date(2025, 9, 3)),  # over 30/8–2/9 2025
        (date(2024, 2, 10), 0, date(2024, 2, 15)),  # n == 0 rolls a day off forward
        (date(2024, 5, 4), 0, date(2024, 5, 4)),  # and keeps a working day
    ],
)
def test_add_working_days_hand_checked(day: date, n: int, expected: date) -> None:
    assert CALENDAR.add_working_days(day, n) == expected


def test_add_working_days_refuses_negative_n() -> None:
    with pytest.raises(ValueError, match="negative"):
        CALENDAR.add_working_days(date(2024, 1, 2), -1)


@pytest.mark.parametrize(
    ("day", "direction", "expected"),
    [
        (date(2024, 2, 10), "following", date(2024, 2, 15)),
        (date(2024, 2, 10), "preceding", date(2024, 2, 7)),
        (date(2024, 2, 10), "none", date(2024, 2, 10)),
        (date(2024, 4, 29), "preceding", date(2024, 4, 26)),
        (date(2024, 4, 29), "following", date(2024, 5, 2)),
        (date(2024, 5, 4), "following", date(2024, 5, 4)),
        (date(2024, 5, 4), "preceding", date(2024, 5, 4)),
        (date(2025, 1, 1), "preceding", date(2024, 12, 31)),
    ],
)
def test_roll_hand_checked(day: date, direction: RollDirection, expected: date) -> None:
    assert CALENDAR.roll(day, direction) == expected


def test_roll_refuses_an_unknown_direction() -> None:
    with pytest.raises(ValueError, match="nearest"):
        CALENDAR.roll(date(2024, 2, 10), "nearest")  # type: ignore[arg-type]


def test_working_days_between_edges() -> None:
    assert CALENDAR.working_days_between(date(2024, 2, 7), date(2024, 2, 16)) == 2
    assert CALENDAR.working_days_between(date(2024, 2, 7), date(2024, 2, 7)) == 0
    assert CALENDAR.working_days_between(date(2024, 2, 16), date(2024, 2, 7)) == 0


def test_datetimes_are_refused() -> None:
    with pytest.raises(TypeError, match="local_date"):
        CALENDAR.add_working_days(datetime(2024, 2, 7, 9, 0, tzinfo=UTC), 2)


def test_years_without_holiday_data_are_refused() -> None:
    with pytest.raises(ValueError, match="2101"):
        CALENDAR.is_working_day(date(2101, 1, 3))


def test_local_date_uses_vietnam_time() -> None:
    assert local_date(datetime(2024, 12, 31, 16, 59, 59, tzinfo=UTC)) == date(2024, 12, 31)
    assert local_date(datetime(2024, 12, 31, 17, 0, tzinfo=UTC)) == date(2025, 1, 1)
    tokyo = timezone(timedelta(hours=9))
    assert local_date(datetime(2025, 1, 1, 1, 30, tzinfo=tokyo)) == date(2024, 12, 31)
    assert type(local_date(datetime(2025, 1, 1, tzinfo=UTC))) is date


def test_local_date_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2024, 12, 31, 17, 0))


# --- properties ---------------------------------------------------------------------------


@FAST
@given(DAYS)
def test_agrees_with_the_holidays_package(day: date) -> None:
    package = holidays.country_holidays("VN", years=day.year)
    assert CALENDAR.is_working_day(day) is package.is_working_day(day)


@FAST
@given(DAYS, STEPS)
def test_add_working_days_lands_n_working_days_later(day: date, n: int) -> None:
    result = CALENDAR.add_working_days(day, n)
    assert result > day
    assert CALENDAR.is_working_day(result)
    assert CALENDAR.working_days_between(day, result) == n


@FAST
@given(DAYS)
def test_add_zero_working_days_is_roll_following(day: date) -> None:
    result = CALENDAR.add_working_days(day, 0)
    assert result == CALENDAR.roll(day, "following")
    assert result >= day
    assert CALENDAR.is_working_day(result)


@FAST
@given(DAYS, st.integers(min_value=0, max_value=59), STEPS)
def test_add_working_days_is_monotonic_and_composes(day: date, n: int, more: int) -> None:
    fewer, further = CALENDAR.add_working_days(day, n), CALENDAR.add_working_days(day, n + more)
    if n == 0 and not CALENDAR.is_working_day(day):
        # rolled forward to the first working day after `day`, which n == 1 also reaches
        assert further == CALENDAR.add_working_days(fewer, more - 1)
    else:
        assert fewer < further
        assert further == CALENDAR.add_working_days(fewer, more)


@FAST
@given(DAYS)
def test_roll_reaches_the_nearest_working_day(day: date) -> None:
    following = CALENDAR.roll(day, "following")
    preceding = CALENDAR.roll(day, "preceding")
    assert CALENDAR.is_working_day(following)
    assert CALENDAR.is_working_day(preceding)
    assert preceding <= day <= following
    # nothing working strictly in between
    assert CALENDAR.working_days_between(preceding, following) == (0 if preceding == day else 1)
    assert CALENDAR.roll(day, "none") == day


@FAST
@given(st.dates(date(2000, 1, 1), date(2097, 12, 31)), st.integers(0, 400), st.integers(0, 400))
def test_working_days_between_adds_up(start: date, first: int, second: int) -> None:
    middle = start + timedelta(days=first)
    end = middle + timedelta(days=second)
    total = CALENDAR.working_days_between(start, end)
    assert total == CALENDAR.working_days_between(start, middle) + CALENDAR.working_days_between(
        middle, end
    )
    assert 0 <= total <= (end - start).days


# --- local overrides ----------------------------------------------------------------------


def test_overrides_change_working_days_and_add_working_days() -> None:
    saturday, thursday, holiday = date(2027, 1, 9), date(2026, 12, 31), date(2025, 9, 1)
    local = WorkCalendar(
        extra_holidays={thursday: "Nghỉ bù"},
        extra_workdays={saturday: "Làm bù", holiday: "Làm bù"},
    )
    assert not CALENDAR.is_working_day(saturday)
    assert local.is_working_day(saturday)
    assert CALENDAR.is_working_day(thursday)
    assert not local.is_working_day(thursday)
    assert local.is_working_day(holiday)  # even over a package holiday
    # 31/12/2026 off, 1/1/2027 New Year, then the weekend: Monday 4 January
    assert CALENDAR.add_working_days(date(2026, 12, 30), 1) == thursday
    assert local.add_working_days(date(2026, 12, 30), 1) == date(2027, 1, 4)
    assert CALENDAR.add_working_days(date(2027, 1, 8), 1) == date(2027, 1, 11)
    assert local.add_working_days(date(2027, 1, 8), 1) == saturday
    assert local.working_days_between(date(2027, 1, 7), date(2027, 1, 11)) == 3
    assert local.roll(date(2027, 1, 10), "preceding") == saturday


def test_the_same_date_cannot_be_both_off_and_worked() -> None:
    with pytest.raises(ValueError, match="2027-01-09"):
        WorkCalendar(extra_holidays={date(2027, 1, 9): "a"}, extra_workdays={date(2027, 1, 9): "b"})


def test_override_file(tmp_path: Path) -> None:
    path = tmp_path / "swaps.yaml"
    path.write_text(
        "# newly announced day swaps the package does not know yet\n"
        "holidays:\n"
        "  - date: 2026-12-31\n"
        '    name: "Nghỉ bù Tết Dương lịch"\n'
        "workdays:\n"
        "  - date: 2027-01-09\n"
        "    name: Làm bù\n",
        encoding="utf-8",
    )
    local = read_calendar(path)
    assert dict(local.extra_holidays) == {date(2026, 12, 31): "Nghỉ bù Tết Dương lịch"}
    assert dict(local.extra_workdays) == {date(2027, 1, 9): "Làm bù"}
    assert local.add_working_days(date(2026, 12, 30), 1) == date(2027, 1, 4)
    assert local.add_working_days(date(2027, 1, 8), 1) == date(2027, 1, 9)


def test_override_names_are_nfc(tmp_path: Path) -> None:
    path = tmp_path / "swaps.yaml"
    decomposed = "Nghi\u0309 bu\u0300"  # "Nghỉ bù" typed with combining marks
    path.write_text(f"holidays:\n  - date: 2026-12-31\n    name: {decomposed}\n", encoding="utf-8")
    assert read_calendar(path).extra_holidays[date(2026, 12, 31)] == "Nghỉ bù"


@pytest.mark.parametrize("text", ["", "# nothing announced yet\n", "holidays:\nworkdays: []\n"])
def test_empty_override_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "swaps.yaml"
    path.write_text(text, encoding="utf-8")
    local = read_calendar(path)
    assert not local.extra_holidays
    assert not local.extra_workdays


ENTRY = "  - date: 2026-12-31\n    name: x\n"


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("swaps: []\n", "swaps", "swaps"),
        ("- 2026-12-31\n", "(file)", ["2026-12-31"]),
        ("holidays: 2026-12-31\n", "holidays", "2026-12-31"),
        ("holidays:\n  - 2026-12-31\n", "holidays[0]", "2026-12-31"),
        ("holidays:\n  - name: x\n", "holidays[0].date", None),
        ("holidays:\n  - date: 2026-02-30\n    name: x\n", "holidays[0].date", "2026-02-30"),
        ("holidays:\n  - date: tomorrow\n    name: x\n", "holidays[0].date", "tomorrow"),
        ("holidays:\n  - date: 20261231\n    name: x\n", "holidays[0].date", 20261231),
        (
            "holidays:\n  - date: 2026-12-31 08:00\n    name: x\n",
            "holidays[0].date",
            "2026-12-31 08:00",
        ),
        ("workdays:\n  - date: 2027-01-09\n", "workdays[0].name", None),
        ("workdays:\n  - date: 2027-01-09\n    name: ' '\n", "workdays[0].name", " "),
        (
            "holidays:\n  - date: 2026-12-31\n    name: x\n    when: now\n",
            "holidays[0].when",
            "when",
        ),
        (
            "holidays:\n" + ENTRY + "  - date: 2026-12-30\n    name: y\n" + ENTRY,
            "holidays[2].date",
            "2026-12-31",
        ),
        ("holidays:\n" + ENTRY + "workdays:\n" + ENTRY, "workdays[0].date", "2026-12-31"),
    ],
)
def test_bad_override_files(tmp_path: Path, text: str, field: str, value: object) -> None:
    path = tmp_path / "swaps.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_calendar(path)
    assert caught.value.source == str(path)
    assert caught.value.field == field
    assert caught.value.value == value
    assert str(path) in str(caught.value)
    assert field in str(caught.value)


def test_duplicate_and_clash_errors_name_the_first_entry(tmp_path: Path) -> None:
    path = tmp_path / "swaps.yaml"
    path.write_text("holidays:\n" + ENTRY + ENTRY, encoding="utf-8")
    with pytest.raises(InputError, match=r"holidays\[1\]\.date: duplicates holidays\[0\]\.date"):
        read_calendar(path)
    path.write_text("holidays:\n" + ENTRY + "workdays:\n" + ENTRY, encoding="utf-8")
    with pytest.raises(InputError, match=r"workdays\[0\]\.date: is also listed in holidays\[0\]"):
        read_calendar(path)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "swaps.yaml"
    path.write_text("holidays:\n  - date: [2026-12-31\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_calendar(path)
    assert (caught.value.source, caught.value.field) == (str(path), "line 3, column 1")
    assert "not valid YAML" in caught.value.problem


def test_missing_override_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(InputError) as caught:
        read_calendar(path)
    assert (caught.value.source, caught.value.field) == (str(path), "(file)")


def test_a_moment_reads_in_vietnams_time_and_naive_ones_are_refused() -> None:
    assert local_time_text(datetime(2024, 3, 15, 17, 5, tzinfo=UTC)) == "16/03/2024 00:05"
    with pytest.raises(ValueError, match="naive"):
        local_time_text(datetime(2024, 3, 15, 17, 5))

"""The holidays package's answers kept in a file: the same days as the package, worked out
again from the package whenever the file cannot be used, and never an error."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.files.holiday_cache import FILE_NAME, CachedPackageDays
from models.rules.workdays import HOLIDAYS_PACKAGE, WorkCalendar

FIRST, LAST = HOLIDAYS_PACKAGE.years()


class Refuses:
    """A package that must not be asked: the answers come from the file."""

    def years(self) -> tuple[int, int]:
        raise AssertionError("asked the package for its years")

    def days_off(self, year: int) -> frozenset[date]:
        raise AssertionError(f"asked the package for {year}")


class Counts:
    """The package, counting how often it is asked for its years."""

    def __init__(self) -> None:
        self.asked = 0

    def years(self) -> tuple[int, int]:
        self.asked += 1
        return HOLIDAYS_PACKAGE.years()

    def days_off(self, year: int) -> frozenset[date]:
        return HOLIDAYS_PACKAGE.days_off(year)


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder whose file has been written."""
    directory = tmp_path_factory.mktemp("cache")
    assert CachedPackageDays(directory).years() == (FIRST, LAST)
    return directory


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=FIRST, max_value=LAST))
def test_the_file_answers_what_the_package_says(warm: Path, year: int) -> None:
    cached = CachedPackageDays(warm, package=Refuses())
    assert cached.years() == (FIRST, LAST)
    assert cached.days_off(year) == HOLIDAYS_PACKAGE.days_off(year)


def test_a_calendar_on_the_file_keeps_tet_the_make_up_saturdays_and_the_years(warm: Path) -> None:
    calendar = WorkCalendar(package=CachedPackageDays(warm, package=Refuses()))
    assert not calendar.is_working_day(date(2024, 2, 8))  # Tết 2024
    assert calendar.is_working_day(date(2024, 5, 4))  # a make-up Saturday
    assert not calendar.is_working_day(date(2024, 5, 5))  # an ordinary Sunday
    assert calendar.add_working_days(date(2024, 2, 7), 1) == date(2024, 2, 15)
    with pytest.raises(ValueError, match="2101"):
        calendar.is_working_day(date(2101, 1, 3))


def _spoil_version(text: str) -> str:
    data = json.loads(text)
    data["holidays"] = "0.1"
    return json.dumps(data)


def _drop_a_year(text: str) -> str:
    data = json.loads(text)
    del data["days"]["2024"]
    return json.dumps(data)


def _bad_date(text: str) -> str:
    data = json.loads(text)
    data["days"]["2024"]["off"][0] = "2024-02-30"
    return json.dumps(data)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(None, id="missing"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(lambda text: text[: len(text) // 2], id="cut short"),
        pytest.param(lambda text: "[]", id="a list"),
        pytest.param(lambda text: '{"holidays": 1}', id="no days"),
        pytest.param(_spoil_version, id="another version"),
        pytest.param(_drop_a_year, id="a year missing"),
        pytest.param(_bad_date, id="not a date"),
    ],
)
def test_a_file_that_cannot_be_used_is_worked_out_again(
    warm: Path, tmp_path: Path, spoil: object
) -> None:
    path = tmp_path / FILE_NAME
    if callable(spoil):
        path.write_text(spoil((warm / FILE_NAME).read_text(encoding="utf-8")), encoding="utf-8")
    package = Counts()
    cached = CachedPackageDays(tmp_path, package=package)
    assert cached.days_off(2024) == HOLIDAYS_PACKAGE.days_off(2024)
    assert package.asked == 1
    # written again, whole: the next process reads it without the package
    assert (tmp_path / FILE_NAME).read_bytes() == (warm / FILE_NAME).read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]
    assert CachedPackageDays(tmp_path, package=Refuses()).years() == (FIRST, LAST)


def test_a_file_that_is_not_text_is_worked_out_again(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"\xff\xfe{")
    assert CachedPackageDays(tmp_path).days_off(2025) == HOLIDAYS_PACKAGE.days_off(2025)
    assert CachedPackageDays(tmp_path, package=Refuses()).years() == (FIRST, LAST)


def test_a_folder_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    for directory in (blocked, blocked / "dondoc"):
        cached = CachedPackageDays(directory)
        assert cached.years() == (FIRST, LAST)
        assert cached.days_off(2024) == HOLIDAYS_PACKAGE.days_off(2024)
    assert [p.name for p in tmp_path.iterdir()] == ["not-a-folder"]


def test_a_file_that_cannot_be_replaced_is_no_error(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).mkdir()  # a folder where the file would be
    cached = CachedPackageDays(tmp_path)
    assert cached.years() == (FIRST, LAST)
    assert cached.days_off(2024) == HOLIDAYS_PACKAGE.days_off(2024)
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # and nothing left half-written
    assert (tmp_path / FILE_NAME).is_dir()


def test_a_missing_folder_is_made(tmp_path: Path) -> None:
    directory = tmp_path / "cache" / "dondoc"
    assert CachedPackageDays(directory).years() == (FIRST, LAST)
    assert CachedPackageDays(directory, package=Refuses()).years() == (FIRST, LAST)

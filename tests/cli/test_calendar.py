"""`dondoc units calendar`: one unit's calendar feed, and the address it is served at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

KEY = "a-test-key-that-is-long-enough-for-hmac-0123456789"


@pytest.fixture
def keyed(published: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DONDOC_CALENDAR_FEED_KEY", KEY)
    monkeypatch.setenv("DONDOC_OUTPUTS_URL", "http://127.0.0.1:4280/")
    return published


def _uids(feed: str | bytes) -> set[str]:
    return {str(e["UID"]) for e in Calendar.from_ical(feed).walk("VEVENT")}


def test_the_feed_goes_to_stdout_or_a_file(keyed: Any, tmp_path: Path) -> None:
    shown = keyed("units", "calendar", "18679", "--as-of", "2024-03-01")
    assert "cam-xuyen-cchc-2024/1c/18679/2024-Q1@dondoc" in _uids(shown.stdout)
    file = tmp_path / "lich" / "yen-hoa.ics"
    written = keyed("units", "calendar", "18679", "--as-of", "2024-03-01", "--out", str(file))
    assert written.stdout.strip() == f"7 events: {file}"
    assert _uids(file.read_bytes()) == _uids(shown.stdout)


def test_the_address_is_the_units_own(keyed: Any) -> None:
    one = keyed("units", "calendar", "18679", "--address").stdout.strip()
    other = keyed("units", "calendar", "18673", "--address").stdout.strip()
    assert one.startswith("http://127.0.0.1:4280/lich/18679-") and one.endswith(".ics")
    assert other.startswith("http://127.0.0.1:4280/lich/18673-")
    assert one.rsplit("-", 1)[1] != other.rsplit("-", 1)[1]


def test_an_unknown_unit_or_no_key_is_one_line_and_exit_2(
    keyed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = keyed("units", "calendar", "99999", "--address", ok=False)
    assert (unknown.exit_code, unknown.stderr) == (
        2,
        "error: unit 99999 is not in the register\n",
    )
    monkeypatch.delenv("DONDOC_CALENDAR_FEED_KEY")
    unset = keyed("units", "calendar", "18679", "--address", ok=False)
    assert unset.exit_code == 2
    assert unset.stderr == (
        "error: environment: DONDOC_CALENDAR_FEED_KEY: is not set: the calendar addresses are "
        "derived from it\n"
    )
    monkeypatch.setenv("DONDOC_CALENDAR_FEED_KEY", "too-short")
    weak = keyed("units", "calendar", "18679", ok=False)
    assert weak.exit_code == 2
    assert "DONDOC_CALENDAR_FEED_KEY" in weak.stderr and "too-short" not in weak.stderr

"""Each unit's calendar feed (.ics): its due dates and the days the ladder chases them, read
back with icalendar, on every backend."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from sqlalchemy import Engine

import notifications.feed
import services.feeds
import services.records
from models.errors import InputError, NotFound
from services.settings import Settings, load_settings
from tests.conftest import obligation_id
from tests.store.test_isolation import BROKEN, HEALTHY, break_stored_text, publish_three
from tests.store.test_ledger import FIGURES, NARRATIVE

KEY = "a-test-key-that-is-long-enough-for-hmac-0123456789"
SEED = "cam-xuyen-cchc-2024"
DAY = date(2024, 3, 1)
# 08:00 in Hà Nội, when the daily chase sends, in UTC
CHASED = (1, 0)
# The seed's report 1c of a commune, hand-worked from the directive's header: due on the 15th
# of the period's last month, the next working day if it is a day off.
DUE_1C = {
    "2024-Q1": date(2024, 3, 15),
    "2024-Q2": date(2024, 6, 17),
    "2024-H1": date(2024, 6, 17),
    "2024-Q3": date(2024, 9, 16),
    "2024-Q4": date(2024, 12, 16),
    "2024-H2": date(2024, 12, 16),
    "2024": date(2024, 12, 16),
}


def settings_for(engine: Engine, tmp_path: Path, key: str | None = KEY) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        outputs_dir=tmp_path / "outputs",
        outputs_url="http://127.0.0.1:4280/",
        calendar_feed_key=key,
    )


def events(feed: bytes) -> dict[str, Any]:
    """The feed's events by UID."""
    return {str(e["UID"]): e for e in Calendar.from_ical(feed).walk("VEVENT")}


def uid(unit: str, requirement: str, period: str) -> str:
    return f"{SEED}/{requirement}/{unit}/{period}@dondoc"


def alarms(event: Any) -> list[datetime]:
    return sorted(a.decoded("TRIGGER") for a in event.walk("VALARM"))


def at_eight(*days: date) -> list[datetime]:
    return [datetime(d.year, d.month, d.day, *CHASED, tzinfo=UTC) for d in days]


def served(settings: Settings, unit: str) -> Path:
    """The file the daily run wrote at the unit's address."""
    address = services.feeds.feed_address(settings, unit)
    assert settings.outputs_url is not None and address.startswith(settings.outputs_url)
    return settings.outputs_dir / address.removeprefix(settings.outputs_url)


def test_a_commune_feed_holds_one_event_per_obligation_on_its_due_date(
    seeded: Engine, tmp_path: Path
) -> None:
    feed = services.feeds.unit_feed(settings_for(seeded, tmp_path), unit="18679", day=DAY)
    found = events(feed)
    assert set(found) == {uid("18679", "1c", period) for period in DUE_1C}
    # as published: nothing has happened to them since (RFC 5545 starts SEQUENCE at 0)
    assert {event.decoded("SEQUENCE") for event in found.values()} == {0}
    for period, due in DUE_1C.items():
        event = found[uid("18679", "1c", period)]
        assert event.decoded("DTSTART") == due
        assert event.decoded("DTEND") == date.fromordinal(due.toordinal() + 1)
    q1 = found[uid("18679", "1c", "2024-Q1")]
    assert str(q1["SUMMARY"]) == (
        "Hạn nộp 1c · Quý I/2024: Báo cáo kết quả công tác tuyên truyền CCHC (quý, 6 tháng, năm)"
    )
    description = str(q1["DESCRIPTION"])
    assert "Kỳ: Quý I/2024" in description
    assert "Hạn nộp: 15/03/2024" in description
    assert "Cơ quan chủ trì: Phòng Văn hóa - Thông tin huyện Cẩm Xuyên" in description
    calendar = Calendar.from_ical(feed)
    assert str(calendar["X-WR-CALNAME"]) == "Lịch báo cáo · 18679 Xã Yên Hòa"


def test_each_event_alarms_on_the_days_the_ladder_chases(seeded: Engine, tmp_path: Path) -> None:
    found = events(services.feeds.unit_feed(settings_for(seeded, tmp_path), unit="18679", day=DAY))
    # the default ladder: 3 working days before, then 1, 5 and 10 working days after
    assert alarms(found[uid("18679", "1c", "2024-Q1")]) == at_eight(
        date(2024, 3, 12), date(2024, 3, 18), date(2024, 3, 22), date(2024, 3, 29)
    )
    assert alarms(found[uid("18679", "1c", "2024-Q4")]) == at_eight(
        date(2024, 12, 11), date(2024, 12, 17), date(2024, 12, 23), date(2024, 12, 30)
    )
    description = str(found[uid("18679", "1c", "2024-Q1")]["DESCRIPTION"])
    assert "12/03/2024: 3 ngày làm việc trước hạn, dondoc nhắc đơn vị" in description
    assert "22/03/2024: quá hạn 5 ngày làm việc, dondoc báo cơ quan chủ trì" in description


def test_an_extension_moves_the_event_in_the_next_days_feed_under_the_same_uid(
    seeded: Engine, tmp_path: Path
) -> None:
    settings = settings_for(seeded, tmp_path)
    first = services.feeds.write_feeds(settings, day=date(2024, 3, 11))
    assert first.changed == first.units
    before = events(served(settings, "18679").read_bytes())[uid("18679", "1c", "2024-Q1")]
    # nothing changed: no file is written again (the server's Last-Modified holds)
    assert services.feeds.write_feeds(settings, day=date(2024, 3, 11)).changed == 0
    moved = datetime(2024, 3, 11, 9, 30, tzinfo=UTC)
    services.records.extend(
        settings,
        obligation_id(seeded, "1c", "18679", "2024-Q1"),
        services.records.Issued("vhtt.lan", "extend-q1", "test", moved),
        due=date(2024, 3, 29),
        reason="Lũ",
    )
    # only the unit whose obligation moved has a new feed
    assert services.feeds.write_feeds(settings, day=date(2024, 3, 12)).changed == 1
    after = events(served(settings, "18679").read_bytes())[uid("18679", "1c", "2024-Q1")]
    assert before.decoded("DTSTART") == date(2024, 3, 15)
    assert after.decoded("DTSTART") == date(2024, 3, 29)
    assert after.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert after.decoded("LAST-MODIFIED") == moved
    assert after.decoded("DTSTAMP") == moved
    assert alarms(after)[0] == at_eight(date(2024, 3, 26))[0]
    assert "đã gia hạn, hạn ban đầu 15/03/2024" in str(after["DESCRIPTION"])


def test_a_feed_made_from_what_it_was_made_from_before_is_not_rendered_again(
    seeded: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(seeded, tmp_path)
    services.feeds.write_feeds(settings, day=DAY)
    rendered: list[str] = []
    feed_ics = notifications.feed.feed_ics

    def counted(code: str, *args: Any, **kwargs: Any) -> bytes:
        rendered.append(code)
        return feed_ics(code, *args, **kwargs)

    monkeypatch.setattr(notifications.feed, "feed_ics", counted)
    services.feeds.write_feeds(settings, day=DAY)
    assert rendered == []
    services.records.extend(
        settings,
        obligation_id(seeded, "1c", "18679", "2024-Q1"),
        services.records.Issued("vhtt.lan", "extend-q1", "test", datetime(2024, 3, 2, tzinfo=UTC)),
        due=date(2024, 3, 29),
        reason=None,
    )
    services.feeds.write_feeds(settings, day=DAY)
    assert rendered == ["18679"]


def test_what_is_handed_in_leaves_the_feed(seeded: Engine, tmp_path: Path) -> None:
    settings = settings_for(seeded, tmp_path)
    services.records.submit(
        settings,
        obligation_id(seeded, "1c", "18679", "2024-Q1"),
        services.records.Issued("cb.18679", "submit-q1", "test", datetime(2024, 3, 5, tzinfo=UTC)),
        figures=FIGURES,
        narrative=NARRATIVE,
        evidence=None,
    )
    found = events(services.feeds.unit_feed(settings, unit="18679", day=date(2024, 3, 6)))
    assert uid("18679", "1c", "2024-Q1") not in found
    assert uid("18679", "1c", "2024-Q2") in found


def test_a_feed_holds_its_own_units_obligations_only(seeded: Engine, tmp_path: Path) -> None:
    settings = settings_for(seeded, tmp_path)
    services.feeds.write_feeds(settings, day=DAY)
    for unit in ("18679", "18673", "446-TTVHTT"):
        found = events(served(settings, unit).read_bytes())
        assert found
        assert all(f"/{unit}/" in key for key in found), (unit, sorted(found))
    centre = {key.split("/")[1] for key in events(served(settings, "446-TTVHTT").read_bytes())}
    assert centre == {"4a", "4b", "4c"}


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """The outputs folder served as scripts/serve serves it (Python's http.server)."""
    folder = tmp_path / "outputs"
    folder.mkdir(exist_ok=True)
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_each_unit_has_its_own_unguessable_address_and_the_folder_lists_nothing(
    seeded: Engine, tmp_path: Path, http_server: str
) -> None:
    settings = settings_for(seeded, tmp_path).model_copy(update={"outputs_url": http_server})
    services.feeds.write_feeds(settings, day=DAY)
    one = services.feeds.feed_address(settings, "18679")
    other = services.feeds.feed_address(settings, "18673")
    token_one = one.rsplit("/", 1)[1].removeprefix("18679-").removesuffix(".ics")
    token_other = other.rsplit("/", 1)[1].removeprefix("18673-").removesuffix(".ics")
    assert token_one != token_other and len(token_one) >= 32
    with urllib.request.urlopen(one) as answer:
        assert uid("18679", "1c", "2024-Q1") in events(answer.read())
    for wrong in (
        f"{http_server}lich/18679-{token_other}.ics",
        f"{http_server}lich/18679-{'0' * len(token_one)}.ics",
        f"{http_server}lich/18679.ics",
    ):
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(wrong)
        assert missing.value.code == 404
    with urllib.request.urlopen(f"{http_server}lich/") as listing:
        page = listing.read().decode()
    assert ".ics" not in page and "18679" not in page


def test_another_key_gives_other_addresses_and_retires_the_old_files(
    seeded: Engine, tmp_path: Path
) -> None:
    settings = settings_for(seeded, tmp_path)
    services.feeds.write_feeds(settings, day=DAY)
    old = served(settings, "18679")
    rotated = settings_for(seeded, tmp_path, key=KEY[::-1])
    services.feeds.write_feeds(rotated, day=DAY)
    assert served(rotated, "18679") != old
    assert served(rotated, "18679").exists()
    assert not old.exists()


def test_the_feeds_of_every_unit_are_read_in_a_few_queries(seeded: Engine, tmp_path: Path) -> None:
    settings = settings_for(seeded, tmp_path)
    engine = settings.engine()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        written = services.feeds.write_feeds(settings, day=DAY)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert written.units > 30
    assert len([s for s in statements if "obligation" in s.lower()]) == 1


def test_a_directive_that_no_longer_reads_is_named_and_the_others_are_written(
    registered: Engine, tmp_path: Path
) -> None:
    publish_three(registered)
    break_stored_text(registered)
    settings = settings_for(registered, tmp_path)
    written = services.feeds.write_feeds(settings, day=DAY)
    (failure,) = written.failed
    assert failure.directive == BROKEN
    assert failure.vi.startswith(f"Lập lịch báo cáo của chỉ thị {BROKEN} không làm được: ")
    directives = {key.split("/")[0] for key in events(served(settings, "18679").read_bytes())}
    assert directives == set(HEALTHY)


def test_no_key_no_address(seeded: Engine, tmp_path: Path) -> None:
    settings = settings_for(seeded, tmp_path, key=None)
    with pytest.raises(InputError) as refused:
        services.feeds.feed_address(settings, "18679")
    assert "DONDOC_CALENDAR_FEED_KEY" in str(refused.value)
    assert services.feeds.write_feeds(settings, day=DAY).units == 0
    assert not (settings.outputs_dir / "lich").exists()


def test_an_unknown_unit_has_no_feed(seeded: Engine, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        services.feeds.unit_feed(settings_for(seeded, tmp_path), unit="99999", day=DAY)


@pytest.mark.parametrize("key", ["", "short", " " * 40, "x" * 31])
def test_a_weak_key_is_refused_naming_the_variable(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_CALENDAR_FEED_KEY", key)
    with pytest.raises(InputError) as refused:
        load_settings()
    assert "DONDOC_CALENDAR_FEED_KEY" in str(refused.value)
    # a secret, even a refused one, is printed nowhere
    assert refused.value.value is None

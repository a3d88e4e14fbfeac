"""A unit's calendar feed (iCalendar, RFC 5545), written with the `icalendar` library.

One all-day event per obligation the unit still owes, on its effective due date, under a UID
that names the obligation (directive, requirement, unit, period), so a calendar application
updates the event when its due date moves rather than adding another. SEQUENCE counts the
obligation's events after its creation (0 when new, as RFC 5545 starts it; every event raises
it); DTSTAMP and LAST-MODIFIED are the
moment of its latest event (a feed published without METHOD: the moment the information was
last revised). So a feed written again with nothing changed is the same, byte for byte.

Each step of the escalation ladder is an alarm at the hour the daily chase sends it, and a
line of the description, for applications that ignore the alarms of a subscribed calendar.

A feed records the digest of what it was made from and by (X-DONDOC-SOURCE: the unit, its
items, the sign-in page, this module's code and icalendar's version), so the daily run
renders again only the feeds whose digest changed: rendering is nearly all of its time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from icalendar import Alarm, Calendar, Event, vDuration

from models.rules.vietnamese import day_text, period_words
from models.rules.workdays import TIMEZONE
from models.storage.feeds import Chased, FeedItem

# The hour the daily chase sends its letters (prefect.yaml: don-doc-hang-ngay, 08:00).
CHASE_TIME = time(8, 0)
# How often a calendar application should fetch the feed again: it is written every morning.
REFRESH = timedelta(hours=12)
PRODID = "-//dondoc//Lich bao cao//VI"
# What makes a feed besides its data: this module's code and the library's version.
MAKER = hashlib.sha256(Path(__file__).read_bytes() + icalendar.__version__.encode()).hexdigest()
SOURCE = "X-DONDOC-SOURCE"
# 128 bits of the digest: its line stays within the 75 octets a line holds unfolded
SOURCE_CHARS = 32
# The digest's line, among the calendar's own properties, which come before its events
RECORDED = re.compile(f"\r\n{SOURCE}:([0-9a-f]{{{SOURCE_CHARS}}})\r\n".encode())
HEAD_BYTES = 4096


def _chased_text(chased: Chased) -> str:
    """What the ladder does on a step's day, if the item is still owed then."""
    step = chased.step
    n = step.working_days
    when = (
        f"{-n} ngày làm việc trước hạn"
        if n < 0
        else "ngày đến hạn"
        if n == 0
        else f"quá hạn {n} ngày làm việc"
    )
    if step.to == "unit":
        what = "dondoc nhắc đơn vị"
    elif step.to == "lead":
        what = f"dondoc báo cơ quan chủ trì ({chased.told})"
    else:
        what = f"dondoc báo {chased.told}"
        if step.dispatch:
            what += ", kèm dự thảo công văn đôn đốc"
    return f"{when}, {what}"


def _description(item: FeedItem, sign_in_url: str) -> str:
    due = day_text(item.effective_due)
    if item.effective_due != item.due:
        due += f" (đã gia hạn, hạn ban đầu {day_text(item.due)})"
    lines = [
        f"Yêu cầu {item.requirement}: {item.title}",
        f"Kỳ: {period_words(item.period)}",
        f"Hạn nộp: {due}",
        f"Cơ quan chủ trì: {item.lead}",
        f"Văn bản: {item.subject}",
    ]
    if item.returned:
        lines.append("Báo cáo đã bị trả lại để sửa: cần nộp lại.")
    lines.append("Nếu chưa nộp:")
    lines += [f"- {day_text(c.day)}: {_chased_text(c)}" for c in item.chased]
    lines.append(f"Nộp báo cáo: {sign_in_url}")
    return "\n".join(lines)


def _event(item: FeedItem, sign_in_url: str) -> Event:
    event = Event()
    event.add("uid", f"{item.directive}/{item.requirement}/{item.unit}/{item.period}@dondoc")
    event.add("dtstamp", item.changed_at)
    event.add("last-modified", item.changed_at)
    event.add("sequence", item.version - 1)  # its `created` event is version 1
    event.add("dtstart", item.effective_due)
    event.add("dtend", item.effective_due + timedelta(days=1))
    due = f"Hạn nộp {item.requirement} · {period_words(item.period)}"
    event.add("summary", f"{due}: {item.title}")
    event.add("description", _description(item, sign_in_url))
    event.add("url", sign_in_url)
    event.add("transp", "TRANSPARENT")  # a deadline, not a meeting: the day stays free
    for chased in item.chased:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{due}: {_chased_text(chased)}")
        # an absolute trigger is in UTC (RFC 5545, 3.8.6.3)
        at = datetime.combine(chased.day, CHASE_TIME, tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC)
        alarm.add("trigger", at, parameters={"VALUE": "DATE-TIME"})
        event.add_component(alarm)
    return event


def source_digest(code: str, name: str, items: Sequence[FeedItem], *, sign_in_url: str) -> str:
    """The digest of what a unit's feed is made from and by."""
    material = repr((MAKER, code, name, sign_in_url, tuple(items)))
    return hashlib.sha256(material.encode()).hexdigest()[:SOURCE_CHARS]


def recorded_source(head: bytes) -> str | None:
    """The digest a feed records, from its first HEAD_BYTES bytes (None if none is there)."""
    found = RECORDED.search(head)
    return None if found is None else found[1].decode()


def feed_ics(code: str, name: str, items: Sequence[FeedItem], *, sign_in_url: str) -> bytes:
    """The unit's calendar as iCalendar text (UTF-8, CRLF lines, folded at 75 octets)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add(SOURCE, source_digest(code, name, items, sign_in_url=sign_in_url))
    calendar.add("calscale", "GREGORIAN")
    title = f"Lịch báo cáo · {code} {name}"
    calendar.add("name", title)  # RFC 7986
    calendar.add("x-wr-calname", title)  # what most applications read
    calendar.add("x-wr-timezone", TIMEZONE)
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for item in items:
        calendar.add_component(_event(item, sign_in_url))
    return calendar.to_ical()

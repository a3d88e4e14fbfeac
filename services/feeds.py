"""Each unit's calendar feed: written every morning by the daily status run into the outputs
folder, at an address only the unit is given.

A calendar application cannot sign in, so the address itself is the secret: `lich/<unit
code>-<token>.ics`, the token an HMAC of the unit's code under DONDOC_CALENDAR_FEED_KEY. The
folder holds an index page, so the file server lists none of its files; a feed whose address
the key no longer gives (the key changed) is removed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from models.errors import DirectiveFailure, Failures, InputError
from models.storage import feeds
from services.reports import written_whole
from services.settings import Settings

FOLDER = "lich"
# hex characters of the HMAC kept in an address: 128 bits
TOKEN_CHARS = 32
# What the folder's own address shows instead of a list of its files.
INDEX = (
    '<!doctype html><html lang="vi"><meta charset="utf-8"><title>Lịch báo cáo</title>'
    "<p>Mỗi đơn vị có đường dẫn lịch riêng; hãy hỏi quản trị viên dondoc.</p></html>\n"
)


@dataclass(frozen=True, slots=True)
class FeedRun:
    """What a run wrote: how many units' feeds and events, how many files changed, where, and
    the directives left out because they could not be read."""

    units: int
    events: int
    changed: int
    folder: Path | None
    failed: list[DirectiveFailure] = field(default_factory=list)


def _key(settings: Settings) -> bytes:
    if settings.calendar_feed_key is None:
        raise InputError(
            "environment",
            "DONDOC_CALENDAR_FEED_KEY",
            None,
            "is not set: the calendar addresses are derived from it",
        )
    return settings.calendar_feed_key.get_secret_value().encode()


def feed_name(key: bytes, unit: str) -> str:
    """The file name of a unit's feed: its code and a token only the key gives."""
    token = hmac.new(key, f"lich:{unit}".encode(), hashlib.sha256).hexdigest()[:TOKEN_CHARS]
    return f"{unit}-{token}.ics"


def feed_address(settings: Settings, unit: str) -> str:
    """The address a unit's calendar application subscribes to (`unit_address` checks the
    register first)."""
    if settings.outputs_url is None:
        raise InputError(
            "environment",
            "DONDOC_OUTPUTS_URL",
            None,
            "is not set: the address the outputs folder is served at",
        )
    return f"{settings.outputs_url}{FOLDER}/{feed_name(_key(settings), unit)}"


def unit_address(settings: Settings, unit: str) -> str:
    """The address of a unit of the register's calendar (NotFound for another code)."""
    address = feed_address(settings, unit)
    feeds.check_unit(settings.engine(), unit)
    return address


def _reader(
    settings: Settings, day: date, failures: Failures, unit: str | None = None
) -> Generator[feeds.UnitFeed, None, None]:
    return feeds.feeds(
        settings.engine(),
        day=day,
        calendar=settings.calendar(),
        default_ladder=settings.escalation,
        failures=failures,
        unit=unit,
    )


def _one(settings: Settings, unit: str, day: date) -> feeds.UnitFeed:
    """One unit and what it owes as of `day` (NotFound if it is not in the register)."""
    reader = _reader(settings, day, Failures(feeds.WRITING), unit)
    with closing(reader):
        return next(reader)


def unit_feed(settings: Settings, *, unit: str, day: date) -> bytes:
    """One unit's feed as of `day` (NotFound if the unit is not in the register)."""
    from notifications.feed import feed_ics

    found = _one(settings, unit, day)
    return feed_ics(found.code, found.name, found.items, sign_in_url=settings.sign_in_url)


def write_unit_feed(settings: Settings, *, unit: str, day: date, out: Path) -> int:
    """One unit's feed as of `day`, written whole at `out`; how many events it holds."""
    from notifications.feed import feed_ics

    found = _one(settings, unit, day)
    with written_whole(out) as (part,):
        part.write_bytes(
            feed_ics(found.code, found.name, found.items, sign_in_url=settings.sign_in_url)
        )
    return len(found.items)


def _replace(path: Path, content: bytes) -> None:
    """Write `content` whole at `path`: a reader sees the old file or the new one."""
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        part.write_bytes(content)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _head(path: Path, size: int) -> bytes:
    """The first `size` bytes of the file at `path` (nothing if there is none)."""
    try:
        with path.open("rb") as file:
            return file.read(size)
    except FileNotFoundError:
        return b""


def write_feeds(settings: Settings, *, day: date) -> FeedRun:
    """Every unit's feed as of `day`, into the outputs folder's `lich/`: one query for every
    unit's items; a feed is rendered and written again only when what it is made from changed
    (the digest it records), and a file no unit's address names any more is removed. Without
    a key, nothing is written."""
    if settings.calendar_feed_key is None:
        return FeedRun(0, 0, 0, None)
    from notifications import feed

    key = _key(settings)
    folder = settings.outputs_dir / FOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            str(folder), "(folder)", str(folder), f"cannot be created: {exc.strerror or exc}"
        ) from None
    if _head(folder / "index.html", len(INDEX.encode()) + 1) != INDEX.encode():
        _replace(folder / "index.html", INDEX.encode())
    failures = Failures(feeds.WRITING)
    names: set[str] = set()
    units = events = changed = 0
    for found in _reader(settings, day, failures):
        name = feed_name(key, found.code)
        made_of = (found.code, found.name, found.items)
        source = feed.source_digest(*made_of, sign_in_url=settings.sign_in_url)
        if feed.recorded_source(_head(folder / name, feed.HEAD_BYTES)) != source:
            _replace(folder / name, feed.feed_ics(*made_of, sign_in_url=settings.sign_in_url))
            changed += 1
        names.add(name)
        units += 1
        events += len(found.items)
    for stale in folder.glob("*.ics"):
        if stale.name not in names:
            stale.unlink(missing_ok=True)
    return FeedRun(units, events, changed, folder, failures.listed())

"""The `holidays` package's answers for Vietnam, kept in a small JSON file outside the clone so
that a process reckoning working days need not import the package: importing it loads every
country's module, 0.2 s on a quiet machine and up to 0.8 s on a busy one (vacanza/holidays #998).

The file holds, for each year the package knows, the weekdays off and the weekend days worked,
under the package's installed version. A file that is missing, unreadable, of another version or
not what this module writes is worked out again from the package and written anew in one step
(a process reads the old file or the new one, never half of one). A folder that cannot be
written is no error: each process then works the answers out from the package, as it would
without a cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import metadata
from pathlib import Path
from uuid import uuid4

from models.rules.workdays import HOLIDAYS_PACKAGE, PackageDays

FILE_NAME = "vietnam-holidays.json"
# The shape of the file; raised when what it holds changes, so older files are worked out again.
FORMAT = 1


def default_directory() -> Path:
    """Where a user's caches go: $XDG_CACHE_HOME/dondoc, or ~/.cache/dondoc."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "dondoc"


@cache
def package_days(directory: Path) -> CachedPackageDays:
    """The package's answers kept in `directory`, read once per process."""
    return CachedPackageDays(directory)


@dataclass(frozen=True, slots=True)
class _Answers:
    years: tuple[int, int]
    # each year's weekdays off and weekend days worked
    swaps: dict[int, tuple[frozenset[date], frozenset[date]]]


class CachedPackageDays:
    """What `package` says, read from the file in `directory` on first use, or worked out from
    `package` and written there when the file cannot be used."""

    def __init__(self, directory: Path, *, package: PackageDays = HOLIDAYS_PACKAGE) -> None:
        self._path = directory / FILE_NAME
        self._package = package
        self._answers: _Answers | None = None

    def years(self) -> tuple[int, int]:
        """The first and the last year the package knows."""
        return self._read().years

    def days_off(self, year: int) -> frozenset[date]:
        """Every day of `year` that is not a working day (weekends included)."""
        off, worked = self._read().swaps[year]
        return off | {day for day in _days_of(year) if day.weekday() >= 5 and day not in worked}

    def _read(self) -> _Answers:
        if self._answers is None:
            version = metadata.version("holidays")  # the package's metadata, not its import
            answers = _parse(self._path, version)
            if answers is None:
                answers = self._work_out()
                _write(self._path, _text(answers, version))
            self._answers = answers
        return self._answers

    def _work_out(self) -> _Answers:
        first, last = self._package.years()
        swaps = {}
        for year in range(first, last + 1):
            off = self._package.days_off(year)
            swaps[year] = (
                frozenset(day for day in off if day.weekday() < 5),
                frozenset(day for day in _days_of(year) if day.weekday() >= 5 and day not in off),
            )
        return _Answers((first, last), swaps)


def _days_of(year: int) -> Iterator[date]:
    first = date(year, 1, 1)
    return (first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days))


def _text(answers: _Answers, version: str) -> str:
    first, last = answers.years
    swaps = {
        str(year): {"off": sorted(map(str, off)), "worked": sorted(map(str, worked))}
        for year, (off, worked) in answers.swaps.items()
    }
    return json.dumps(
        {"holidays": version, "format": FORMAT, "years": [first, last], "days": swaps}
    )


def _parse(path: Path, version: str) -> _Answers | None:
    """The answers in the file at `path`, if it holds all of them for `version`."""
    try:
        data = json.loads(path.read_bytes())
        if data["holidays"] != version or data["format"] != FORMAT:
            return None
        first, last = data["years"]
        swaps = {
            int(year): (_dates(entry["off"]), _dates(entry["worked"]))
            for year, entry in data["days"].items()
        }
        if swaps.keys() != set(range(first, last + 1)):
            return None
    # missing or unreadable, not JSON, or not the shape `_text` writes
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return None
    return _Answers((first, last), swaps)


def _dates(texts: list[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(text) for text in texts)


def _write(path: Path, text: str) -> None:
    """Replace the file at `path` with `text` in one step; a folder that cannot be written is
    left as it is."""
    temporary = path.with_name(f".{path.name}.{uuid4().hex}")  # this writer's own
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        with suppress(OSError):
            temporary.unlink()

"""The calendar override file: extra holidays and working days announced after the `holidays`
package was released, as a YAML file of `holidays` and `workdays` lists of {date, name}.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path

from models.errors import InputError
from models.files.textfiles import read_yaml
from models.rules.workdays import HOLIDAYS_PACKAGE, PackageDays, WorkCalendar

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OVERRIDE_KEYS = ("holidays", "workdays")


def _read_day_list(source: str, key: str, entries: object) -> list[tuple[str, date, str]]:
    """Validate one list of the override file into (field path, date, name) triples."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InputError(source, key, entries, "must be a list of {date, name} entries")
    seen: dict[date, str] = {}
    result: list[tuple[str, date, str]] = []
    for index, entry in enumerate(entries):
        field = f"{key}[{index}]"
        if not isinstance(entry, dict):
            raise InputError(source, field, entry, "must be a mapping with date and name")
        for item_key in entry:
            if item_key not in ("date", "name"):
                raise InputError(
                    source, f"{field}.{item_key}", item_key, "unknown key; expected date, name"
                )
        raw_date = entry.get("date")
        if not isinstance(raw_date, str) or not _ISO_DATE.fullmatch(raw_date):
            raise InputError(source, f"{field}.date", raw_date, "must be a date YYYY-MM-DD")
        try:
            day = date.fromisoformat(raw_date)
        except ValueError:
            raise InputError(source, f"{field}.date", raw_date, "is not a real date") from None
        if day in seen:
            raise InputError(source, f"{field}.date", raw_date, f"duplicates {seen[day]}")
        raw_name = entry.get("name")
        if not isinstance(raw_name, str) or not raw_name.strip():
            raise InputError(source, f"{field}.name", raw_name, "must be a non-empty text")
        seen[day] = f"{field}.date"
        result.append((f"{field}.date", day, unicodedata.normalize("NFC", raw_name.strip())))
    return result


def read_calendar(path: Path, *, package: PackageDays = HOLIDAYS_PACKAGE) -> WorkCalendar:
    """A calendar on what `package` says, with the extra holidays and working days listed in a
    YAML file."""
    source = str(path)
    data = read_yaml(path)
    if data is None:
        return WorkCalendar(package=package)
    if not isinstance(data, dict):
        raise InputError(source, "(file)", data, "must be a mapping with holidays, workdays")
    for key in data:
        if key not in _OVERRIDE_KEYS:
            raise InputError(source, str(key), key, "unknown key; expected holidays, workdays")
    lists = {key: _read_day_list(source, key, data.get(key)) for key in _OVERRIDE_KEYS}
    first_seen = {day: field for field, day, _ in lists["holidays"]}
    for field, day, _ in lists["workdays"]:
        if day in first_seen:
            raise InputError(source, field, day.isoformat(), f"is also listed in {first_seen[day]}")
    return WorkCalendar(
        extra_holidays={day: name for _, day, name in lists["holidays"]},
        extra_workdays={day: name for _, day, name in lists["workdays"]},
        package=package,
    )

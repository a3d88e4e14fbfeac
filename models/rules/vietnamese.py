"""How dates, numbers, periods and names read in Vietnamese documents and messages: dates
dd/mm/yyyy, a decimal comma and thousands dots (80,5%; 1.234), periods in words ("Quý I/2024",
"6 tháng đầu năm 2024"), unit names in Vietnamese alphabetical order (ICU's collation: "Xã Ân
Phú" before "Xã Cẩm Bình", "Xã Đồng Lộc" after "Xã Cẩm Dương", which code-point order gets
wrong)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from functools import cache
from typing import TypeVar

import icu

T = TypeVar("T")
ROMAN = ("I", "II", "III", "IV")
PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?P<part>\d{2}|Q[1-4]|H[12]|9M))?$")


def day_text(day: date) -> str:
    """dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")


def number_text(value: int) -> str:
    """A count with Vietnamese thousands separators: 40204 → 40.204."""
    return f"{value:,}".replace(",", ".")


def decimal_text(value: float, places: int = 1) -> str:
    """A number with a decimal comma and thousands dots: 1234.5 → 1.234,5."""
    return f"{value:,.{places}f}".translate(str.maketrans(",.", ".,"))


def percent_text(share: float | None) -> str:
    """A share as a percentage with one decimal: 0.8 → 80,0%; None (nothing to divide) → —."""
    return "—" if share is None else f"{decimal_text(share * 100)}%"


def period_words(key: str) -> str:
    """A period key in words: 2024-02 → Tháng 02/2024, 2024-Q1 → Quý I/2024, 2024-H1 → 6 tháng
    đầu năm 2024, 2024-H2 → 6 tháng cuối năm 2024, 2024-9M → 9 tháng năm 2024, 2024 → Năm
    2024; `once` → Một lần; `standing` → Thường xuyên."""
    if key == "once":
        return "Một lần"
    if key == "standing":
        return "Thường xuyên"
    match = PERIOD.match(key)
    if match is None:
        raise ValueError(f"not a period key: {key!r}")
    year, part = match["year"], match["part"]
    if part is None:
        return f"Năm {year}"
    if part.startswith("Q"):
        return f"Quý {ROMAN[int(part[1]) - 1]}/{year}"
    if part == "H1":
        return f"6 tháng đầu năm {year}"
    if part == "H2":
        return f"6 tháng cuối năm {year}"
    if part == "9M":
        return f"9 tháng năm {year}"
    return f"Tháng {part}/{year}"


def period_short(key: str) -> str:
    """A period key as a column heading of a few letters: 2024-Q1 → QI, 2024-H1 → 6TĐ (6 tháng
    đầu năm), 2024-H2 → 6TC, 2024-9M → 9T, 2024 → Năm, 2024-02 → T02, once → 1L, standing →
    TX."""
    special = {"once": "1L", "standing": "TX"}
    if key in special:
        return special[key]
    match = PERIOD.match(key)
    if match is None:
        raise ValueError(f"not a period key: {key!r}")
    part = match["part"]
    if part is None:
        return "Năm"
    if part.startswith("Q"):
        return f"Q{ROMAN[int(part[1]) - 1]}"
    return {"H1": "6TĐ", "H2": "6TC", "9M": "9T"}.get(part, f"T{part}")


@cache
def _collator() -> icu.Collator:
    return icu.Collator.createInstance(icu.Locale("vi_VN"))


def sort_key(text: str) -> bytes:
    """The key that puts Vietnamese text in alphabetical order."""
    return bytes(_collator().getSortKey(text))


def sorted_vi(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """`items` in Vietnamese alphabetical order of `key(item)`."""
    collate = _collator().getSortKey  # found once: a national report sorts ten thousand lines
    return sorted(items, key=lambda item: collate(key(item)))

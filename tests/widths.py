"""How wide text shows on screen, for the tests that bound the width of what Prefect's UI shows."""

from __future__ import annotations

import unicodedata


def columns(text: str) -> int:
    """Character columns of `text` on screen: wide characters (emoji) two, marks none."""
    return sum(
        0
        if unicodedata.combining(ch) or unicodedata.category(ch) == "Mn"
        else 2
        if unicodedata.east_asian_width(ch) in "WF"
        else 1
        for ch in text
    )

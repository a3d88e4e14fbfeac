"""Text people type into registers and directives: trimmed of invisible edges before it is
judged empty, and free of characters no document holds."""

from __future__ import annotations

import re
import unicodedata

# Spaces (a no-break space too) and the zero-width characters a copy from a web page or a
# word processor brings along: a name of only these is no name.
_EDGES = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def trim(text: str) -> str:
    """`text` in NFC without leading or trailing spaces and zero-width characters."""
    return _EDGES.sub("", unicodedata.normalize("NFC", text))


def control_character(text: str) -> str | None:
    """The first control character (other than tab and line breaks) or lone surrogate in
    `text`: PostgreSQL refuses NUL, JSON cannot encode a lone surrogate, and neither belongs in
    a document."""
    found = _CONTROL.search(text)
    return found.group() if found else None


def character_problem(char: str) -> str:
    """How an error names a character `control_character` found."""
    return f"holds the control character U+{ord(char):04X}"

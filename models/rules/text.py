"""Text people type into registers and directives: trimmed of invisible edges before it is
judged empty, and free of characters no document holds."""

from __future__ import annotations

import re
import unicodedata

# Spaces (a no-break space too) and the zero-width characters a copy from a web page or a
# word processor brings along: a name of only these is no name.
_EDGES = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$")
# Bidirectional embeddings, overrides and isolates reorder what a reader sees (a name can be
# shown as another one); Vietnamese text has no use for them.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
# A name, an address, a code or a figure's text is one line: a line break in it ends a mail
# header early, splits a CSV row or a table cell.
_LINE_CONTROL = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff]")


def trim(text: str) -> str:
    """`text` in NFC without leading or trailing spaces and zero-width characters."""
    return _EDGES.sub("", unicodedata.normalize("NFC", text))


def control_character(text: str, *, one_line: bool = False) -> str | None:
    """The first control character (other than tab and line breaks, unless `one_line`),
    bidirectional control or lone surrogate in `text`: PostgreSQL refuses NUL, JSON cannot
    encode a lone surrogate, a workbook cell refuses most controls, and none belongs in a
    document."""
    found = (_LINE_CONTROL if one_line else _CONTROL).search(text)
    return found.group() if found else None


def character_problem(char: str) -> str:
    """How an error names a character `control_character` found."""
    if char in "\t\n\r\u2028\u2029":
        return f"holds a line break or tab (U+{ord(char):04X}) where one line is expected"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return f"holds the bidirectional control U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"holds the lone surrogate U+{ord(char):04X}"
    return f"holds the control character U+{ord(char):04X}"


def printable(text: str) -> str:
    """`text` with each character `control_character` finds (line breaks and tabs kept)
    replaced by U+FFFD: what a document shows of a text stored before such characters were
    refused, since a workbook cell and Word's XML refuse them."""
    return _CONTROL.sub("\ufffd", text)


# What markdown reads as structure anywhere in a line: escapes, code, emphasis, links and
# images, tables, strikethrough, headings and entities (CommonMark lets a backslash escape each).
_MARKDOWN = re.compile(r"([\\`*_\[\]|~#&])")
# What starts a list or a setext heading's rule, or an ordered list, at the start of a line.
_MARK = re.compile(r"^[-+=]")
_ORDERED = re.compile(r"^(\d+)([.)])")


def markdown_text(text: str) -> str:
    """`text` as an artifact's markdown shows it literally, on one line (a table cell or a
    paragraph): it cannot open a heading, a list, a link, an image or raw HTML, nor break
    out of a table."""
    line = _MARKDOWN.sub(r"\\\1", " ".join(text.split()))
    line = line.replace("<", "&lt;").replace(">", "&gt;")
    return _ORDERED.sub(r"\1\\\2", _MARK.sub(r"\\\g<0>", line))

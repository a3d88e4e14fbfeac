"""A reminder a unit answers by e-mail: the block a letter carries (its one-time token, and for
each obligation it asks for the figures' labels with blanks) and how a reply's text is read
back. Pure: no storage, no mail.

Each line a unit fills ends with a tag naming the obligation and the field, then a colon and
the value: `Số lớp tập huấn (lớp) [#12.so_lop]: 5`. A reply quotes the letter (each line after
`>` marks) or copies the block; the first value given for a field is the one read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from models.rules.deliverable import Deliverable

# Where the letter's token goes: the outbox keeps the letter with this slot, and delivery puts
# the token of that delivery in its place, so no table holds the token itself. A control
# character no directive or register text may hold, so no text a person wrote can be taken
# for it.
TOKEN_SLOT = "\x1fma-tra-loi\x1f"
TOKEN_TAG = "[#ma]"
# The fields besides the figures: keys a figure cannot have (a figure's key has no hyphen).
NARRATIVE = "thuyet-minh"
EVIDENCE = "minh-chung"
_TOKEN = re.compile(r"\[#ma\]:\s*([A-Za-z0-9_-]{16,100})")
_FIELD = re.compile(r"\[#(\d{1,18})\.([a-z][a-z0-9_-]{0,39})\]:(.*)$")
_QUOTED = re.compile(r"^[\s>]*")


@dataclass(frozen=True, slots=True)
class Blank:
    """One line of the block: its label, the tag the reply gives it back under."""

    label: str
    obligation_id: int
    key: str

    @property
    def line(self) -> str:
        return f"{self.label} [#{self.obligation_id}.{self.key}]: "


def label(text: str, unit: str | None) -> str:
    """A figure's label with its unit of measure, as the block and the receipt show it."""
    return f"{text} ({unit})" if unit else text


def blanks(obligation_id: int, what: Deliverable) -> list[Blank]:
    """The lines a unit fills for one obligation: each figure (with its unit of measure),
    then the narrative and the evidence link if the requirement takes them."""
    lines = [
        Blank(label(figure.label, figure.unit), obligation_id, figure.key)
        for figure in what.figures
    ]
    if what.narrative is not None:
        lines.append(Blank(what.narrative.label, obligation_id, NARRATIVE))
    if what.evidence is not None:
        lines.append(Blank(what.evidence.label, obligation_id, EVIDENCE))
    return lines


@dataclass
class Reply:
    """What a reply's text gives back: the token, and the fields filled per obligation, in
    the order the reply names the obligations."""

    token: str | None = None
    filled: dict[int, dict[str, str]] = field(default_factory=dict)

    def handed_in(self, obligation_id: int) -> dict[str, Any]:
        """The figures, narrative and evidence of one obligation as `validate_submission`
        takes them."""
        values = dict(self.filled.get(obligation_id, {}))
        narrative = values.pop(NARRATIVE, None)
        evidence = values.pop(EVIDENCE, None)
        return {"figures": values, "narrative": narrative, "evidence": evidence}


def read_reply(lines: Iterable[str]) -> Reply:
    """The token and the filled fields of a reply's text (its lines, quoted or not). A field
    left blank is not read; an obligation with no field filled is not named."""
    found = Reply()
    for raw in lines:
        line = _QUOTED.sub("", raw).rstrip()
        if found.token is None and (token := _TOKEN.search(line)):
            found.token = token.group(1)
            continue
        tagged = _FIELD.search(line)
        if tagged is None:
            continue
        value = tagged.group(3).strip()
        if not value:
            continue
        fields = found.filled.setdefault(int(tagged.group(1)), {})
        fields.setdefault(tagged.group(2), value)
    return found

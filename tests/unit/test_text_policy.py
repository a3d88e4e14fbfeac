"""What text dondoc takes from people: which characters a one-line text (a name, an address, a
code, a figure) and a multi-line text (a narrative) refuse, and how a refusal names them."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from models.rules.text import character_problem, control_character
from notifications.cells import printable_values
from notifications.dispatch import Signer


@pytest.mark.parametrize("text", ["Xã Nam Phúc Thăng", "a\tb", "dòng một\r\ndòng hai", "α‎β"])
def test_a_multi_line_text_keeps_tabs_and_line_breaks(text: str) -> None:
    assert control_character(text) is None


@pytest.mark.parametrize(
    ("text", "char", "problem"),
    [
        ("Thị trấn\nCẩm Xuyên", "\n", "line break or tab (U+000A)"),
        ("Cẩm\rXuyên", "\r", "line break or tab (U+000D)"),
        ("Cẩm\tXuyên", "\t", "line break or tab (U+0009)"),
        ("Cẩm\u2028Xuyên", "\u2028", "line break or tab (U+2028)"),
        ("Cẩm\x85Xuyên", "\x85", "control character U+0085"),
    ],
)
def test_a_one_line_text_refuses_line_breaks(text: str, char: str, problem: str) -> None:
    assert control_character(text) in {None, char}
    assert control_character(text, one_line=True) == char
    assert problem in character_problem(char)


@pytest.mark.parametrize(
    ("char", "problem"),
    [
        ("\x00", "control character U+0000"),
        ("\x01", "control character U+0001"),
        ("\x0b", "control character U+000B"),
        ("\x7f", "control character U+007F"),
        ("\u202e", "bidirectional control U+202E"),
        ("\u2066", "bidirectional control U+2066"),
        ("\ud800", "lone surrogate U+D800"),
    ],
)
def test_every_text_refuses_controls_bidi_overrides_and_lone_surrogates(
    char: str, problem: str
) -> None:
    for one_line in (False, True):
        assert control_character(f"Xã Yên{char}Hòa", one_line=one_line) == char
    assert character_problem(char).endswith(problem)


def test_a_documents_context_is_made_printable_through_every_container_it_holds() -> None:
    """Word's XML refuses control characters: a template's context is cleaned through its
    dicts, lists, tuples and dataclasses, each kept of its own kind, since the template reads
    a dataclass's or a named tuple's fields by name."""

    class Row(NamedTuple):
        name: str
        count: int

    signer = Signer("TM. ỦY BAN NHÂN DÂN", "", "PHÓ CHỦ TỊCH", "Phạm\x01 Hoàng Anh")
    cleaned = printable_values(
        {"signer": signer, "rows": [Row("Xã\x0b Yên Hòa", 3)], "pair": ("a\x00", 1)}
    )
    assert cleaned["signer"] == Signer("TM. ỦY BAN NHÂN DÂN", "", "PHÓ CHỦ TỊCH", "Phạm� Hoàng Anh")
    assert cleaned["rows"] == [Row("Xã� Yên Hòa", 3)] and cleaned["rows"][0].name == "Xã� Yên Hòa"
    assert cleaned["pair"] == ("a�", 1)

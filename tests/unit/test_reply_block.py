"""The block a reminder carries and how a reply's text is read back (pure)."""

from __future__ import annotations

from models.rules.deliverable import Deliverable, Figure, TextPart
from models.rules.reply import blanks, read_reply

WHAT = Deliverable(
    figures=[
        Figure(key="classes", label="Số lớp", type="integer", unit="lớp"),
        Figure(key="ready", label="Đã xong", type="boolean"),
    ],
    narrative=TextPart(label="Nội dung"),
)


def test_the_block_has_a_blank_per_figure_and_text_part() -> None:
    assert [b.line for b in blanks(7, WHAT)] == [
        "Số lớp (lớp) [#7.classes]: ",
        "Đã xong [#7.ready]: ",
        "Nội dung [#7.thuyet-minh]: ",
    ]


def test_a_quoted_reply_is_read_the_first_value_of_each_field_wins() -> None:
    reply = read_reply(
        [
            "Gửi kèm số liệu",
            "Số lớp (lớp) [#7.classes]: 4",
            "> Mã trả lời [#ma]: abcdefghijklmnopqrstuvwx",
            ">> Số lớp (lớp) [#7.classes]: 9",
            "> Đã xong [#7.ready]:",
            "> Nội dung [#7.thuyet-minh]:  Có: đủ  ",
            "> Số lớp (lớp) [#8.classes]:   ",
        ]
    )
    assert reply.token == "abcdefghijklmnopqrstuvwx"
    assert reply.filled == {7: {"classes": "4", "thuyet-minh": "Có: đủ"}}
    assert reply.handed_in(7) == {
        "figures": {"classes": "4"},
        "narrative": "Có: đủ",
        "evidence": None,
    }


def test_a_reply_without_the_token_line_has_none() -> None:
    assert read_reply(["Số lớp (lớp) [#7.classes]: 4"]).token is None

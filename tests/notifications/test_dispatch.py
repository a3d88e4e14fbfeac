"""The urging dispatch as Word document, read back with python-docx: laid out as Nghị định
30/2020/NĐ-CP sets out a công văn, its parts in order, the late units and their overdue items
right, Vietnamese text intact; and the signer block read from the directive."""

from __future__ import annotations

import io
from datetime import date

import docx
from sqlalchemy import Engine

from models.rules.ladder import DEFAULT_LADDER
from models.rules.vietnamese import sort_key
from models.rules.workdays import WorkCalendar
from models.storage.chase import plan
from models.storage.db import transaction
from notifications.dispatch import DOCX, place_and_date, signer_of
from notifications.render import renderer

CALENDAR = WorkCalendar()
MONDAY = date(2024, 3, 18)


def _draft(engine: Engine) -> tuple[docx.document.Document, list[str], int]:
    """The dispatch sent to the issuer on MONDAY, the late units it should name, and how many
    overdue items it should list."""
    with transaction(engine, writes=False) as conn:
        found = plan(conn, day=MONDAY, calendar=CALENDAR, default_ladder=DEFAULT_LADDER)
    letter = next(
        letter for letter in found.letters if letter.recipient.email == "ubnd@camxuyen.example"
    )
    late = [i for i in letter.items if i.step.dispatch]
    rendered = renderer(CALENDAR)(letter, MONDAY)
    (attachment,) = rendered.attachments
    assert attachment.content_type == DOCX
    assert attachment.filename == "cong-van-don-doc-cam-xuyen-cchc-2024-2024-03-18.docx"
    assert "Dự thảo công văn đôn đốc" in rendered.html and attachment.filename in rendered.text
    units = sorted({i.unit_name for i in late}, key=sort_key)
    return docx.Document(io.BytesIO(attachment.content)), units, len(late)


def test_the_dispatch_has_the_decrees_parts_in_order(seeded: Engine) -> None:
    document, units, items = _draft(seeded)
    section = document.sections[0]
    assert [round(x.mm) for x in (section.page_width, section.page_height)] == [210, 297]
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin)] == [20, 20]
    assert [round(m.mm) for m in (section.left_margin, section.right_margin)] == [30, 15]
    assert document.styles["Normal"].font.name == "Times New Roman"
    head, rows, foot = document.tables
    issuer, nation = (cell.text for cell in head.rows[0].cells)
    assert "ỦY BAN NHÂN DÂN HUYỆN CẨM XUYÊN" in issuer and "Số:" in issuer
    assert "/UBND-VHTT" in issuer and "V/v đôn đốc thực hiện" in issuer
    assert nation.split("\n")[1:3] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    assert "Cẩm Xuyên, ngày 18 tháng 3 năm 2024" in nation
    text = [p.text for p in document.paragraphs if p.text.strip()]
    assert text[0] == "Kính gửi:"
    assert text[1 : 1 + len(units)] == [
        f"- {u}{';' if n < len(units) - 1 else '.'}" for n, u in enumerate(units)
    ]
    opening, request, closing = text[1 + len(units) :]
    assert opening.startswith("Thực hiện Công văn /UBND-VHTT tháng 02/2024 của Ủy ban nhân dân")
    assert "đến ngày 18/03/2024" in opening
    assert "trước ngày 25/03/2024" in request and closing.endswith("./.")
    assert [c.text for c in rows.rows[0].cells] == ["TT", "Đơn vị", "Nhiệm vụ", "Kỳ", "Hạn"]
    body = [[c.text for c in r.cells] for r in rows.rows[1:]]
    assert len(body) == items and [r[0] for r in body] == [str(n) for n in range(1, items + 1)]
    assert sorted({r[1] for r in body}, key=sort_key) == units
    assert body[0][3:] == ["Tháng 01/2024", "22/01/2024"]
    received, signer = (cell.text for cell in foot.rows[0].cells)
    assert received.split("\n")[1:] == [
        "Nơi nhận:",
        "- Như trên;",
        "- Phòng Văn hóa - Thông tin huyện Cẩm Xuyên;",
        "- Lưu: VT, VHTT.",
    ]
    assert [line for line in signer.split("\n") if line] == [
        "TM. ỦY BAN NHÂN DÂN",
        "KT. CHỦ TỊCH",
        "PHÓ CHỦ TỊCH",
        "Phạm Hoàng Anh",
    ]


def test_the_signer_and_the_date_line() -> None:
    deputy = signer_of("TL. Chủ tịch, Chánh Văn phòng Lê Văn Bình", "ubnd_huyen")
    assert (deputy.deputy, deputy.title, deputy.name) == (
        "TL. CHỦ TỊCH",
        "CHÁNH VĂN PHÒNG",
        "Lê Văn Bình",
    )
    signer = signer_of("Chủ tịch Nguyễn Văn An", "ubnd_xa")
    assert (signer.on_behalf, signer.deputy, signer.title, signer.name) == (
        "TM. ỦY BAN NHÂN DÂN",
        "",
        "CHỦ TỊCH",
        "Nguyễn Văn An",
    )
    blank = signer_of(None, "phong")
    assert (blank.on_behalf, blank.title, blank.name) == ("", "", "")
    assert place_and_date("Ủy ban nhân dân huyện Cẩm Xuyên", date(2024, 2, 5)) == (
        "Cẩm Xuyên, ngày 05 tháng 02 năm 2024"
    )
    assert place_and_date("Ủy ban nhân dân huyện Cẩm Xuyên", date(2024, 11, 25)) == (
        "Cẩm Xuyên, ngày 25 tháng 11 năm 2024"
    )

"""The urging dispatch as Word document, read back with python-docx: laid out as Nghị định
30/2020/NĐ-CP sets out a công văn, its parts in order, each late unit named once with its
counts, Vietnamese text intact, two pages at most however many items are late; the signer
block read from the directive; and every item in its .xlsx appendix, read back with
openpyxl."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from types import SimpleNamespace

import docx
import openpyxl
import pytest
from sqlalchemy import Engine

from models.rules.ladder import DEFAULT_LADDER
from models.rules.obligation import State
from models.rules.status import Day
from models.rules.vietnamese import sort_key
from models.rules.workdays import WorkCalendar
from models.storage import ledger
from models.storage.chase import (
    DirectiveInfo,
    Group,
    Item,
    Rendered,
    Summary,
    grouper,
    plan,
    summaries,
)
from models.storage.db import transaction
from notifications import dispatch
from notifications.dispatch import (
    DISPATCH_ROWS,
    DOCX,
    LISTED_BELOW,
    XLSX,
    place_and_date,
    signer_of,
)
from notifications.render import renderer, summary_renderer
from tests.conftest import obligation_id
from tests.pages import CELL_MARGINS_TWIPS, Layout, pages

CALENDAR = WorkCalendar()
MONDAY = date(2024, 3, 18)
MARCH = date(2024, 3, 1)  # the first working day of March 2024: the month's summary
UNITS = ["TT", "Đơn vị", "Số nhiệm vụ quá hạn", "Trong đó bị trả lại", "Hạn sớm nhất"]


def _draft(engine: Engine) -> tuple[docx.document.Document, list[str], int]:
    """The dispatch sent to the issuer on MONDAY, the late units it should name, and how many
    overdue items it should count."""
    with transaction(engine, writes=False) as conn:
        found = plan(conn, day=MONDAY, calendar=CALENDAR, default_ladder=DEFAULT_LADDER)
    letter = next(
        letter for letter in found.letters if letter.recipient.email == "ubnd@camxuyen.example"
    )
    late = [i for i in letter.items if i.step.dispatch]
    rendered = renderer(CALENDAR)(letter, MONDAY)
    word, appendix = rendered.attachments
    assert (word.content_type, appendix.content_type) == (DOCX, XLSX)
    assert word.filename == "cong-van-don-doc-cam-xuyen-cchc-2024-2024-03-18.docx"
    assert appendix.filename == "cong-van-don-doc-cam-xuyen-cchc-2024-2024-03-18-phu-luc.xlsx"
    assert "Dự thảo công văn đôn đốc" in rendered.html
    assert word.filename in rendered.text and appendix.filename in rendered.text
    units = sorted({i.unit_name for i in late}, key=sort_key)
    return docx.Document(io.BytesIO(word.content)), units, len(late)


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
    to, opening, request, closing = text
    assert to == f"Kính gửi: {LISTED_BELOW}."
    assert opening.startswith("Thực hiện Công văn /UBND-VHTT tháng 02/2024 của Ủy ban nhân dân")
    assert f"đến ngày 18/03/2024, {len(units)} đơn vị sau" in opening
    assert f"chưa hoàn thành {items} nhiệm vụ" in opening and "Phụ lục kèm theo" in opening
    assert "trước ngày 25/03/2024" in request and closing.endswith("./.")
    assert [c.text for c in rows.rows[0].cells] == UNITS
    body = [[c.text for c in r.cells] for r in rows.rows[1:]]
    assert [r[0] for r in body] == [str(n) for n in range(1, len(units) + 1)]
    assert [r[1] for r in body] == units
    assert sum(int(r[2]) for r in body) == items
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


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 1, tzinfo=UTC)  # 08:00 in Hà Nội


def _march(engine: Engine) -> tuple[Summary, Rendered]:
    """The summary of 01/03/2024 after Phòng Nội vụ handed in its January content (2b) and
    Phòng Tư pháp its February content, which the lead office returned: the offices owe
    2b for January (due 22/01) and February (due 20/02), the Centre its January programme
    (4a, due 05/02)."""
    handed_in = obligation_id(engine, "2b", "446-NV", "2024-01")
    returned = obligation_id(engine, "2b", "446-TP", "2024-02")
    for oid, actor in ((handed_in, "noivu.nam"), (returned, "tuphap.ha")):
        ledger.submit(
            engine,
            oid,
            ledger.Issued(actor, f"s-{oid}", "test", _at(date(2024, 2, 19))),
            figures={"items": 1},
            narrative="Tin bài",
            evidence=None,
        )
    ledger.return_(
        engine,
        returned,
        ledger.Issued("vhtt.lan", "r", "test", _at(date(2024, 2, 21))),
        reason="Thiếu tài liệu",
    )
    with transaction(engine, writes=False) as conn:
        (found,) = summaries(conn, on=Day(MARCH, MARCH))
    return found, summary_renderer(CALENDAR)(found, found.recipients[0], MARCH)


def test_the_dispatch_names_each_late_unit_once_with_its_counts(seeded: Engine) -> None:
    """Counted by hand from the seed: five offices owe 2b for January and February, less
    the one handed in; one of Phòng Tư pháp's two was returned; the Centre owes 4a."""
    _, rendered = _march(seeded)
    word, _ = rendered.attachments
    assert word.filename == "cong-van-don-doc-cam-xuyen-cchc-2024-2024-03-01-tong-hop-thang.docx"
    document = docx.Document(io.BytesIO(word.content))
    _, rows, _ = document.tables
    assert [[c.text for c in r.cells] for r in rows.rows] == [
        UNITS,
        ["1", "Phòng Nội vụ huyện Cẩm Xuyên", "1", "0", "20/02/2024"],
        ["2", "Phòng Tài chính - Kế hoạch huyện Cẩm Xuyên", "2", "0", "22/01/2024"],
        ["3", "Phòng Tư pháp huyện Cẩm Xuyên", "2", "1", "22/01/2024"],
        ["4", "Phòng Văn hóa - Thông tin huyện Cẩm Xuyên", "2", "0", "22/01/2024"],
        ["5", "Trung tâm Văn hóa - Truyền thông huyện Cẩm Xuyên", "1", "0", "05/02/2024"],
        ["6", "Văn phòng HĐND và UBND huyện Cẩm Xuyên", "2", "0", "22/01/2024"],
    ]
    whole = "\n".join(
        [p.text for p in document.paragraphs]
        + [c.text for table in document.tables for row in table.rows for c in row.cells]
    )
    for name in ("Phòng Nội vụ huyện", "Phòng Tư pháp huyện", "Trung tâm Văn hóa - Truyền"):
        assert whole.count(name) == 1
    assert "6 đơn vị sau chưa hoàn thành 10 nhiệm vụ" in whole
    assert "Cung cấp thông tin" not in whole and "Tháng 01/2024" not in whole


def test_the_appendix_has_every_item_once(seeded: Engine) -> None:
    """Each item with its unit, requirement, period in words, due date, status and days
    late on 01/03/2024 (22/01 is 39 days before it, 05/02 25 and 20/02 10)."""
    found, rendered = _march(seeded)
    _, appendix = rendered.attachments
    assert appendix.filename == (
        "cong-van-don-doc-cam-xuyen-cchc-2024-2024-03-01-tong-hop-thang-phu-luc.xlsx"
    )
    assert appendix.filename in rendered.text and appendix.filename in rendered.html
    sheet = openpyxl.load_workbook(io.BytesIO(appendix.content))["Phụ lục"]
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[2][0] == (
        "(Kèm theo Công văn số      /UBND-VHTT ngày 01/03/2024 của Ủy ban nhân dân huyện Cẩm Xuyên)"
    )
    assert lines[4] == (
        "TT",
        "Đơn vị",
        "Nhiệm vụ",
        "Nội dung nhiệm vụ",
        "Kỳ",
        "Hạn",
        "Tình trạng",
        "Số ngày quá hạn",
    )
    content = "Cung cấp thông tin, nội dung tuyên truyền về CCHC cho Trung tâm VH-TT huyện"
    programme = "Chuyên mục CCHC trên sóng Truyền thanh - Truyền hình huyện (01 chương trình/tháng)"
    january = ("2b", content, "Tháng 01/2024", "22/01/2024", "Quá hạn", 39)
    february = ("2b", content, "Tháng 02/2024", "20/02/2024", "Quá hạn", 10)
    centre = ("4a", programme, "Tháng 01/2024", "05/02/2024", "Quá hạn", 25)
    expected = [
        ("Phòng Nội vụ huyện Cẩm Xuyên", *february),
        ("Phòng Tài chính - Kế hoạch huyện Cẩm Xuyên", *january),
        ("Phòng Tài chính - Kế hoạch huyện Cẩm Xuyên", *february),
        ("Phòng Tư pháp huyện Cẩm Xuyên", *january),
        ("Phòng Tư pháp huyện Cẩm Xuyên", *february[:4], "Trả lại để bổ sung", 10),
        ("Phòng Văn hóa - Thông tin huyện Cẩm Xuyên", *january),
        ("Phòng Văn hóa - Thông tin huyện Cẩm Xuyên", *february),
        ("Trung tâm Văn hóa - Truyền thông huyện Cẩm Xuyên", *centre),
        ("Văn phòng HĐND và UBND huyện Cẩm Xuyên", *january),
        ("Văn phòng HĐND và UBND huyện Cẩm Xuyên", *february),
    ]
    body = lines[5:]
    assert [row[0] for row in body] == list(range(1, len(found.items) + 1))
    assert [(*row[1:5], f"{row[5]:%d/%m/%Y}", *row[6:]) for row in body] == expected
    due = sheet.cell(6, 6)
    assert due.number_format == "DD/MM/YYYY" and due.is_date
    assert len(found.items) == len(expected) == 10


@pytest.mark.parametrize("day", [date(2024, 12, 2), date(2025, 3, 3)])
def test_the_seed_dispatch_keeps_to_two_pages(seeded: Engine, day: date) -> None:
    """The month's summary when every commune and office of the seed is late with months
    and quarters of reports (158 items, then all 234 of the year): the dispatch names the
    27 units with their counts on at most two pages (estimated as tests/pages.py says;
    listing each item took 23 pages), and its appendix holds every item."""
    with transaction(seeded, writes=False) as conn:
        (found,) = summaries(conn, on=Day(day, day))
    assert len(found.items) >= 158 and len(found.late) == 27
    rendered = summary_renderer(CALENDAR)(found, found.recipients[0], day)
    document = docx.Document(io.BytesIO(rendered.attachments[0].content))
    assert pages(document) <= 2
    _, rows, _ = document.tables
    assert len(rows.rows) == 1 + 27
    assert sum(int(row.cells[2].text) for row in rows.rows[1:]) == len(found.items)
    _, appendix = rendered.attachments
    sheet = openpyxl.load_workbook(io.BytesIO(appendix.content))["Phụ lục"]
    assert len(list(sheet.iter_rows(min_row=6, values_only=True))) == len(found.items)


PROVINCE = DirectiveInfo(
    code="ha-tinh-cchc-2024",
    number=None,
    symbol="UBND-NV",
    document_date="2024-02",
    subject="V/v báo cáo công tác cải cách hành chính năm 2024",
    document_issuer="Ủy ban nhân dân tỉnh Hà Tĩnh",
    signed_by="KT. Chủ tịch, Phó Chủ tịch Nguyễn Văn An",
    issuer_name="Ủy ban nhân dân tỉnh Hà Tĩnh",
    issuer_parent="",
    issuer_kind="ubnd_tinh",
    lead_name="Sở Nội vụ tỉnh Hà Tĩnh",
    dispatch_symbol="UBND-NV",
)
# A name too long for one line of the dispatch's table.
LONG = "Ban Quản lý dự án đầu tư xây dựng công trình dân dụng và công nghiệp"


def _many(units: int, name: str) -> list[Item]:
    """`units` units right under the province, each named `name` and a number, each with two
    overdue monthly reports."""
    register = {"42": SimpleNamespace(name=PROVINCE.issuer_name, parent_code=None)}
    for n in range(units):
        register[f"C{n}"] = SimpleNamespace(name=f"{name} {n:04d}", parent_code="42")
    group = grouper(register)
    state = State("open", 1, None, None, None, None, None, None, None, None, "0" * 64)
    step = next(step for step in DEFAULT_LADDER if step.dispatch)
    return [
        Item(
            obligation_id=2 * n + m,
            directive=PROVINCE.code,
            subject=PROVINCE.subject,
            requirement="thang",
            title="Báo cáo tháng",
            unit=f"C{n}",
            unit_name=register[f"C{n}"].name,
            period=f"2024-{m + 1:02d}",
            effective_due=date(2024, m + 2, 7),
            step=step,
            reason=None,
            state=state,
            info=PROVINCE,
            group=group(f"C{n}", "42"),
            holder=Group(f"C{n}", register[f"C{n}"].name),
        )
        for n in range(units)
        for m in range(2)
    ]


@pytest.mark.parametrize("units", [DISPATCH_ROWS, 3_000])
def test_the_longest_dispatch_keeps_to_two_pages(units: int) -> None:
    """Every name taking two lines of the table: DISPATCH_ROWS units named one by one, or
    3,000 counted by the bodies above them (here each its own) in as many rows, the last
    counting the others, keep to two pages."""
    values = dispatch.context(PROVINCE, _many(units, LONG), day=MONDAY, calendar=CALENDAR)
    document = docx.Document(io.BytesIO(dispatch.render_docx(values)))
    _, rows, _ = document.tables
    assert len(rows.rows) == 1 + DISPATCH_ROWS
    layout = Layout(document)
    name = rows.rows[1].cells[1]
    assert layout.lines(name.paragraphs[0], name.width.pt - CELL_MARGINS_TWIPS / 20)[0] == 2
    assert pages(document) <= 2


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

"""Letters and documents follow the holder of a role on their day: after 01/07/2025, when the
seed district's bodies closed, the chase letters, the urging dispatch (and its appendix), the
monthly summary and the consolidated report of the seed directive go to, and are issued by,
the units that hold the roles then (the province's People's Committee for the district's, the
province's department for the district's Phòng Văn hóa - Thông tin, the 2025 communes for
those merged into them), with their names, place and addresses; the dissolved bodies' names
are in none of the documents' header, "Kính gửi", "Nơi nhận" or signature. Read back with
python-docx and openpyxl, on every backend. A document made before then names the 2024
bodies, as it always did."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import Engine

from models.rules.ladder import DEFAULT_LADDER
from models.rules.status import Day
from models.storage import reporting
from models.storage.chase import ChasePlan, Letter, plan, summaries
from models.storage.db import transaction
from notifications.render import renderer, summary_renderer
from notifications.report import write_consolidation_docx, write_consolidation_xlsx
from tests.conftest import CALENDAR
from tests.store.test_succession import HOLDERS, SUCCESSION, load

TODAY = date(2026, 12, 7)  # a Monday, as the issue was tried
DECEMBER = date(2026, 12, 1)  # the first working day of December 2026: the month's summary
BEFORE = date(2025, 6, 30)  # the district's last working day
# What names the district's dissolved bodies in a document's parts that say who issues it,
# to whom and from where: their names (in any case), their place and the 2024 signer.
DISSOLVED = ("huyện cẩm xuyên", "cẩm xuyên, ngày", "phạm hoàng anh")
PROVINCE = "Ủy ban nhân dân tỉnh Hà Tĩnh"
DEPARTMENT = "Sở Văn hóa, Thể thao và Du lịch tỉnh Hà Tĩnh"
# The addresses of the 2025 communes the 2024 ones became part of, and of their staff (Xã
# Cẩm Bình, 18685, has none yet).
COMMUNE_ADDRESSES = {
    f"{box}.{code}@camxuyen.example"
    for code in set(HOLDERS.values()) - {"18685"}
    for box in ("ubnd", "vanhoa")
}
DEPARTMENT_ADDRESSES = {"svhttdl@hatinh.example", "an.svhttdl@hatinh.example"}
# The staff of the closed communes and of the district's offices owing work: they alone may
# still hand in their unit's past work.
CLOSED_STAFF = {
    f"vanhoa.{code}@camxuyen.example" for code, holder in HOLDERS.items() if holder != code
} | {
    f"{name}@camxuyen.example"
    for name in (
        "lan.vhtt",
        "hung.vhtt",
        "minh.ttvhtt",
        "nam.noivu",
        "ha.tuphap",
        "son.vanphong",
        "mai.tckh",
    )
}


@pytest.fixture
def reformed(seeded: Engine) -> Engine:
    """The seed directive, published for 2024, once the 2025 map is registered."""
    load(seeded, SUCCESSION)
    return seeded


def _plan(engine: Engine, day: date, to: str) -> ChasePlan:
    """What a chase on `day` sends for every step addressed `to` (unit, lead or issuer)."""
    ladder = [step for step in DEFAULT_LADDER if step.to == to][-1:]
    with transaction(engine, writes=False) as conn:
        return plan(conn, day=day, calendar=CALENDAR, default_ladder=ladder)


def _none_dissolved(text: str) -> None:
    assert not any(name in text.lower() for name in DISSOLVED), text


def test_the_letters_go_to_the_holders_addresses(reformed: Engine) -> None:
    """The communes' letters go to the 2025 communes, the lead office's to the department,
    the issuer's to the province, never to a closed unit's own address; a closed unit's staff
    hear of its own work, which they alone may still hand in."""
    units = _plan(reformed, TODAY, "unit")
    to = {letter.recipient.email: letter for letter in units.letters}
    # the department holds the lead office's own report (5); no one the other offices' work
    assert set(to) == COMMUNE_ADDRESSES | DEPARTMENT_ADDRESSES | CLOSED_STAFF
    assert units.unreachable == []
    assert {i.unit for i in to["vanhoa.18697@camxuyen.example"].items} == {"18697"}
    assert {i.unit for i in to["nam.noivu@camxuyen.example"].items} == {"446-NV"}
    merged = to["ubnd.18673@camxuyen.example"]
    assert merged.recipient.name == "Xã Cẩm Xuyên"
    # Xã Cẩm Xuyên hears of its own 2024 work and of Xã Cẩm Quang's and Xã Cẩm Quan's
    assert {i.unit_name for i in merged.items} == {"Xã Cẩm Xuyên", "Xã Cẩm Quang", "Xã Cẩm Quan"}
    assert {i.holder.name for i in merged.items} == {"Xã Cẩm Xuyên"}
    text = renderer(CALENDAR)(merged, TODAY).text
    assert text.startswith("Kính gửi: Xã Cẩm Xuyên\n")
    assert "\n- Xã Cẩm Quang (đơn vị kế thừa: Xã Cẩm Xuyên): Báo cáo kết quả" in text
    lead = _plan(reformed, TODAY, "lead")
    assert {letter.recipient.email for letter in lead.letters} == DEPARTMENT_ADDRESSES
    issuer = _plan(reformed, TODAY, "issuer")
    assert [letter.recipient for letter in issuer.letters] == [
        type(issuer.letters[0].recipient)("ubnd@hatinh.example", PROVINCE)
    ]


Dispatch = tuple[docx.document.Document, list[str], str, list[tuple[object, ...]]]


def _dispatch(letter: Letter, day: date) -> Dispatch:
    """The urging dispatch attached to `letter` (see `_dispatch_parts`)."""
    word, appendix, *_ = renderer(CALENDAR)(letter, day).attachments
    return _dispatch_parts(word.content, appendix.content)


def _dispatch_parts(word: bytes, appendix: bytes) -> Dispatch:
    """A dispatch: the document, the parts of it that say who issues it, to whom and from
    where (header, "Kính gửi", "Nơi nhận", signature), and its appendix's title and caption
    and rows."""
    document = docx.Document(io.BytesIO(word))
    head, _, foot = document.tables
    to = next(p.text for p in document.paragraphs if p.text.startswith("Kính gửi"))
    parts = [*(c.text for c in head.rows[0].cells), to, *(c.text for c in foot.rows[0].cells)]
    lines = list(
        openpyxl.load_workbook(io.BytesIO(appendix))["Phụ lục"].iter_rows(values_only=True)
    )
    return document, parts, "\n".join(str(row[0]) for row in lines[:3]), lines[5:]


def test_the_dispatch_is_issued_by_the_province_after_the_reform(reformed: Engine) -> None:
    (letter,) = _plan(reformed, TODAY, "issuer").letters
    document, parts, caption, rows = _dispatch(letter, TODAY)
    for part in parts:
        _none_dissolved(part)
    issuer, nation, received, signer = parts[0], parts[1], parts[3], parts[4]
    assert "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH" in issuer and "/UBND-SVHTTDL" in issuer
    assert "Hà Tĩnh, ngày 07 tháng 12 năm 2026" in nation
    assert f"- {DEPARTMENT};" in received and "- Lưu: VT, SVHTTDL." in received
    # the province's signer is not known: the block is left for its office to fill
    assert [line for line in signer.split("\n") if line] == ["TM. ỦY BAN NHÂN DÂN"]
    _none_dissolved(caption)
    assert f"của {PROVINCE})" in caption
    # the appendix lists each item under the unit that owed it, and who holds it now
    assert "Xã Cẩm Quang (đơn vị kế thừa: Xã Cẩm Xuyên)" in {cell for row in rows for cell in row}
    _, table, _ = document.tables
    # the eight communes of 2025 that hold the communes' late work, and the department the
    # lead office's; not the district's other offices, closed with no successor
    assert [row.cells[1].text for row in table.rows[1:]] == [
        "Sở Văn hóa, Thể thao và Du lịch tỉnh Hà Tĩnh",
        "Xã Cẩm Bình",
        "Xã Cẩm Duệ",
        "Xã Cẩm Hưng",
        "Xã Cẩm Lạc",
        "Xã Cẩm Trung",
        "Xã Cẩm Xuyên",
        "Xã Thiên Cầm",
        "Xã Yên Hòa",
    ]
    text = "\n".join(p.text for p in document.paragraphs)
    # what it follows up is the district's own document of 2024
    assert "/UBND-VHTT tháng 02/2024 của Ủy ban nhân dân huyện Cẩm Xuyên" in text
    assert f"gửi kết quả về {DEPARTMENT}" in text


def test_the_monthly_summary_goes_to_the_province(reformed: Engine) -> None:
    with transaction(reformed, writes=False) as conn:
        (found,) = summaries(conn, on=Day(DECEMBER, DECEMBER))
    assert [to.email for to in found.recipients] == ["ubnd@hatinh.example"]
    assert found.info.issuer_name == PROVINCE and found.info.lead_name == DEPARTMENT
    assert "Xã Cẩm Quang" not in {late.unit_name for late in found.late}
    rendered = summary_renderer(CALENDAR)(found, found.recipients[0], DECEMBER)
    assert rendered.text.startswith(f"Kính gửi: {PROVINCE}")
    word, appendix = rendered.attachments
    _, parts, caption, _ = _dispatch_parts(word.content, appendix.content)
    for part in [*parts, caption]:
        _none_dissolved(part)
    assert "Hà Tĩnh, ngày 01 tháng 12 năm 2026" in parts[1]


def test_a_dispatch_before_the_reform_names_the_district(reformed: Engine) -> None:
    found = _plan(reformed, BEFORE, "issuer")
    letters = {letter.recipient.email: letter for letter in found.letters}
    # the district's committee and its administrator
    assert set(letters) == {"ubnd@camxuyen.example", "admin@camxuyen.example"}
    letter = letters["ubnd@camxuyen.example"]
    _, parts, caption, _ = _dispatch(letter, BEFORE)
    assert "ỦY BAN NHÂN DÂN HUYỆN CẨM XUYÊN" in parts[0] and "/UBND-VHTT" in parts[0]
    assert "Cẩm Xuyên, ngày 30 tháng 6 năm 2025" in parts[1]
    assert "- Phòng Văn hóa - Thông tin huyện Cẩm Xuyên;" in parts[3]
    assert "Phạm Hoàng Anh" in parts[4]
    assert "của Ủy ban nhân dân huyện Cẩm Xuyên)" in caption


def _report(engine: Engine, day: date, folder: Path) -> tuple[list[str], list[str], str]:
    """The consolidated report of the communes' first quarter of 2024 made on `day`: its
    Word document's header, "Nơi nhận" and signature, its text, and the workbook's heading
    lines."""
    report = reporting.consolidation(
        engine,
        directive="cam-xuyen-cchc-2024",
        requirement="1c",
        period="2024-Q1",
        on=Day(day, day),
    )
    word = write_consolidation_docx(report, folder / "bao-cao.docx")
    book = openpyxl.load_workbook(write_consolidation_xlsx(report, folder / "bao-cao.xlsx"))
    document = docx.Document(str(word))
    head, *_, foot = document.tables
    parts = [*(c.text for c in head.rows[0].cells), *(c.text for c in foot.rows[0].cells)]
    lines = [str(book["Tổng hợp"].cell(row, 1).value) for row in range(1, 7)]
    lines.append(str(book["Đơn vị"].cell(2, 1).value))
    return parts, lines, "\n".join(p.text for p in document.paragraphs)


def test_the_consolidated_report_is_the_departments_after_the_reform(
    reformed: Engine, tmp_path: Path
) -> None:
    parts, lines, text = _report(reformed, TODAY, tmp_path)
    for part in parts:
        _none_dissolved(part)
    office, nation, received, signer = parts
    assert "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH" in office
    assert "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH" in office and "/BC-SVHTTDL" in office
    assert "Hà Tĩnh, ngày 07 tháng 12 năm 2026" in nation
    assert f"- {PROVINCE} (để báo cáo);" in received and "- Lưu: VT, SVHTTDL." in received
    assert "GIÁM ĐỐC" in signer
    assert lines[0] == DEPARTMENT.upper()
    assert lines[4] == (
        "Theo Công văn số …/UBND-VHTT tháng 02/2024 của Ủy ban nhân dân huyện Cẩm Xuyên"
    )
    assert lines[6].endswith(f"ngày 07/12/2026 của {DEPARTMENT})")
    # it reports to the province on the district's document of 2024, about the 2024 communes
    assert "tháng 02/2024 của Ủy ban nhân dân huyện Cẩm Xuyên về việc" in text
    assert f"{DEPARTMENT} tổng hợp kết quả" in text
    assert f"{DEPARTMENT} báo cáo {PROVINCE} xem xét" in text
    assert "Thị trấn Cẩm Xuyên" in text


def test_a_consolidated_report_before_the_reform_is_the_districts(
    reformed: Engine, tmp_path: Path
) -> None:
    parts, lines, _ = _report(reformed, BEFORE, tmp_path)
    office, nation, received, signer = parts
    assert "ỦY BAN NHÂN DÂN HUYỆN CẨM XUYÊN" in office and "/BC-VHTT" in office
    assert "Cẩm Xuyên, ngày 30 tháng 6 năm 2025" in nation
    assert "- Ủy ban nhân dân huyện Cẩm Xuyên (để báo cáo);" in received
    assert "TRƯỞNG PHÒNG" in signer
    assert lines[0] == "PHÒNG VĂN HÓA - THÔNG TIN HUYỆN CẨM XUYÊN"


def test_work_no_one_holds_is_told_to_the_leadership_and_urged_of_no_one(
    reformed: Engine,
) -> None:
    """The district's offices closed with no successor: their overdue work is in the letter
    to the province (in a workbook of its own, the section being counted by bodies), marked
    as such, and neither in the dispatch nor in its appendix; the month's summary says how
    much of it there is."""
    (letter,) = _plan(reformed, TODAY, "issuer").letters
    word, appendix, own = renderer(CALENDAR)(letter, TODAY).attachments
    assert own.filename == "danh-sach-de-nghi-don-doc-2026-12-07.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(own.content))["Phụ lục"]
    units = {row[2] for row in sheet.iter_rows(min_row=6, values_only=True)}
    closed = "Phòng Nội vụ huyện Cẩm Xuyên (đã giải thể, không có đơn vị kế thừa)"
    assert closed in units and not any("kế thừa: " in unit for unit in units)
    *_, rows = _dispatch_parts(word.content, appendix.content)
    assert not any("đã giải thể" in str(cell) for row in rows for cell in row)
    with transaction(reformed, writes=False) as conn:
        (found,) = summaries(conn, on=Day(DECEMBER, DECEMBER))
    text = summary_renderer(CALENDAR)(found, found.recipients[0], DECEMBER).text
    assert closed in text
    assert "Trong đó 68 nhiệm vụ của 5 đơn vị đã giải thể, không có đơn vị kế thừa" in text

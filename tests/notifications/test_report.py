"""The consolidated report of Quý I/2024 in the seed district, built by hand as the queries would
return it, read back: the workbook with openpyxl (the rates and totals as numbers with
Vietnamese formats, every unit in order, A4 landscape), the Word document with python-docx (the
decree's parts, the reporting figures, the units table, the late and missing units, the
assessments); and a nation-sized one, counted per body above the units."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import docx
import openpyxl
import pytest

from models.rules.consolidation import Consolidation
from models.rules.status import STATUS_WORDS
from models.rules.vietnamese import sort_key
from notifications.report import (
    PERCENT,
    filename,
    heading,
    write_consolidation_docx,
    write_consolidation_xlsx,
)
from tests.notifications.conftest import (
    DISTRICTS,
    HOSTILE,
    national_consolidation,
    seed_consolidation,
)


@pytest.fixture
def seed() -> Consolidation:
    return seed_consolidation()


def _sheet_rows(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_title_reads_from_the_requirement_and_period(seed: Consolidation) -> None:
    assert heading(seed) == "Kết quả công tác tuyên truyền CCHC quý I/2024"


def test_the_workbook_sums_up_and_lists_every_unit(seed: Consolidation, tmp_path: Path) -> None:
    path = write_consolidation_xlsx(seed, tmp_path / f"{filename(seed)}.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Tổng hợp", "Đơn vị"]
    summary = book["Tổng hợp"]
    rows = _sheet_rows(summary)
    assert rows[0][0] == "PHÒNG VĂN HÓA - THÔNG TIN HUYỆN CẨM XUYÊN"
    assert rows[2][0] == "Kết quả công tác tuyên truyền CCHC quý I/2024"
    assert rows[5][0] == "Số liệu đến ngày 20/03/2024"
    figures = {row[1]: row[3] for row in rows if isinstance(row[1], str) and row[3] is not None}
    assert figures["Số đơn vị phải báo cáo"] == 20
    assert figures["Số đơn vị đã báo cáo"] == 16
    assert figures["Số đơn vị báo cáo đúng hạn"] == 12
    assert figures["Tỷ lệ báo cáo"] == pytest.approx(0.8)
    assert figures["Tỷ lệ báo cáo đúng hạn"] == pytest.approx(0.6)
    assert figures["Số đơn vị được miễn"] == 1
    assert figures["Số đơn vị quá hạn chưa báo cáo"] == 3
    rate_cell = next(c for c in summary["D"] if c.value == pytest.approx(0.8))
    assert rate_cell.number_format == PERCENT and "," not in PERCENT.split("]")[1]
    header = rows.index(
        ["TT", "Chỉ tiêu", "Đơn vị tính", "Tổng số", "Số báo cáo", "Mức yêu cầu", "Số đạt"]
    )
    totals = rows[header + 1 : header + 7]
    assert totals[0] == [1, "Số lớp tập huấn", "lớp", 23, 14, "ít nhất 1", 12]
    assert totals[3][1:5] == ["Số tờ rơi", "tờ", 3100, 14]
    assert all(isinstance(row[3], int) for row in totals)

    units = book["Đơn vị"]
    rows = _sheet_rows(units)
    header = 3
    labels = [t.label for t in seed.totals]
    assert rows[header] == [
        "TT",
        "Mã",
        "Đơn vị",
        "Tình trạng",
        "Ngày gửi",
        "Đúng hạn / trễ hạn",
        *labels,
        "Chưa đạt mức yêu cầu",
        "Nội dung báo cáo",
        "Đường dẫn",
    ]
    body = rows[header + 1 :]
    assert [row[2] for row in body] == [u.name for u in seed.units]
    assert [row[2] for row in body] == sorted((row[2] for row in body), key=sort_key)
    by_name = {row[2]: row for row in body}
    late = by_name["Xã Nam Phúc Thăng"]
    assert late[1:6] == [
        "18712",
        "Xã Nam Phúc Thăng",
        "Chấp nhận (nộp trễ)",
        datetime(2024, 3, 19),
        "Trễ hạn",
    ]
    assert late[6] == 0 and isinstance(late[8], int)
    assert late[-3:] == [
        "Số lớp tập huấn: ít nhất 1",
        HOSTILE,
        "https://camxuyen.example/cchc/18712-2024-q1.pdf",
    ]
    assert by_name["Xã Cẩm Lĩnh"][3:7] == ["Quá hạn", None, None, None]
    assert by_name["Xã Cẩm Thạch"][3] == STATUS_WORDS["waived"]
    assert units.cell(header + 2, 5).number_format == "DD/MM/YYYY"

    for sheet in (summary, units):
        assert sheet.page_setup.orientation == "landscape"
        assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4  # "9": A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert units.print_title_rows == "$4:$4" and units.freeze_panes == "C5"
    narrative = units.cell(header + 2, len(labels) + 8)
    assert narrative.alignment.wrap_text and units.column_dimensions["A"].width == 5


def _paragraphs(document: docx.document.Document) -> list[str]:
    return [p.text for p in document.paragraphs if p.text.strip()]


def test_the_report_has_the_decrees_parts_and_the_figures(
    seed: Consolidation, tmp_path: Path
) -> None:
    path = write_consolidation_docx(seed, tmp_path / f"{filename(seed)}.docx")
    document = docx.Document(str(path))
    section = document.sections[0]
    assert [round(x.mm) for x in (section.page_width, section.page_height)] == [210, 297]
    assert [round(m.mm) for m in (section.left_margin, section.right_margin)] == [30, 15]
    head, totals, units, foot = document.tables
    body, nation = (cell.text for cell in head.rows[0].cells)
    assert body.split("\n")[1:3] == [
        "ỦY BAN NHÂN DÂN HUYỆN CẨM XUYÊN",
        "PHÒNG VĂN HÓA - THÔNG TIN",
    ]
    assert "Số:        /BC-VHTT" in body
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in nation
    assert "Cẩm Xuyên, ngày 20 tháng 3 năm 2024" in nation

    text = _paragraphs(document)
    assert text[:3] == [
        "BÁO CÁO",
        "Kết quả công tác tuyên truyền CCHC quý I/2024",
        "I. NHIỆM VỤ ĐƯỢC GIAO",
    ]
    sections = [t for t in text if t[:3] in ("I. ", "II.", "III", "IV.")]
    assert sections == [
        "I. NHIỆM VỤ ĐƯỢC GIAO",
        "II. TÌNH HÌNH GỬI BÁO CÁO",
        "III. KẾT QUẢ THỰC HIỆN",
        "IV. TÌNH HÌNH THỰC HIỆN CỦA CÁC ĐƠN VỊ",
    ]
    asked = text[3]
    assert "về việc tập trung triển khai Kế hoạch tuyên truyền CCHC năm 2024" in asked
    assert "từ ngày 15/12/2023 đến ngày 14/03/2024" in asked and "15/03/2024" in asked
    reporting = text[5]
    assert "16/20 đơn vị đã gửi báo cáo, đạt tỷ lệ 80,0%" in reporting
    assert "12 đơn vị gửi đúng hạn (tỷ lệ đúng hạn 60,0%) và 4 đơn vị gửi trễ hạn" in reporting
    assert "4 đơn vị chưa gửi báo cáo, trong đó 3 đơn vị đã quá hạn" in reporting
    assert "Số lớp tập huấn (ít nhất 1): 12/14 báo cáo đạt mức yêu cầu." in text

    assert [c.text for c in totals.rows[0].cells] == [
        "TT",
        "Nội dung",
        "Đơn vị tính",
        "Tổng số",
        "Số báo cáo",
        "Mức yêu cầu",
    ]
    assert [c.text for c in totals.rows[4].cells] == ["4", "Số tờ rơi", "tờ", "3.100", "14", ""]
    assert len(totals.rows) == 1 + len(seed.totals)

    header = [c.text for c in units.rows[0].cells]
    assert header == ["TT", "Đơn vị", "Tình trạng", "Ngày gửi", *(t.label for t in seed.totals)]
    rows = [[c.text for c in r.cells] for r in units.rows[1:]]
    assert [r[1] for r in rows] == [u.name for u in seed.units]
    by_name = {r[1]: r for r in rows}
    assert by_name["Xã Cẩm Dương"][2:5] == ["Chấp nhận (nộp trễ)", "18/03/2024", "1"]
    assert by_name["Xã Cẩm Duệ"][2:] == ["Đã nộp, chờ xét", "15/03/2024", "", "", "", "", "", ""]
    widths = [c.width.cm for c in units.rows[1].cells]
    assert [round(w, 1) for w in widths[:4]] == [1.0, 3.2, 2.5, 2.3]
    assert round(sum(widths), 1) == 16.5

    late = next(t for t in text if t.startswith("Các đơn vị gửi báo cáo trễ hạn"))
    assert late == (
        "Các đơn vị gửi báo cáo trễ hạn (4): Xã Cẩm Dương, Xã Cẩm Sơn, Xã Cẩm Thịnh, "
        "Xã Nam Phúc Thăng."
    )
    missing = next(t for t in text if t.startswith("Các đơn vị chưa gửi báo cáo"))
    assert "(4): Xã Cẩm Lạc (Quá hạn), Xã Cẩm Lĩnh (Quá hạn), Xã Cẩm Lộc (Trả lại" in missing
    assert "Xã Cẩm Thạch" not in missing
    missed = next(t for t in text if t.startswith("Các đơn vị chưa đạt mức yêu cầu"))
    assert missed.count("Số lớp tập huấn: ít nhất 1") == 2
    assessments = [u for u in seed.units if u.narrative]
    start = text.index("Đánh giá của các đơn vị:") + 1
    assert text[start : start + len(assessments)] == [
        f"{u.name}: {u.narrative}" for u in assessments
    ]
    assert f"Xã Nam Phúc Thăng: {HOSTILE}" in text  # & and <…> kept as written
    assert text[-1].endswith(f"tệp {filename(seed)}.xlsx kèm theo./.")

    received, signer = (cell.text for cell in foot.rows[0].cells)
    assert received.split("\n")[1:] == [
        "Nơi nhận:",
        "- Ủy ban nhân dân huyện Cẩm Xuyên (để báo cáo);",
        "- Lưu: VT, VHTT.",
    ]
    assert [line for line in signer.split("\n") if line] == ["TRƯỞNG PHÒNG"]


def test_a_nation_sized_report_counts_per_body_and_refers_to_the_workbook(
    tmp_path: Path,
) -> None:
    big = national_consolidation()
    assert len(big.units) == 63
    document = docx.Document(str(write_consolidation_docx(big, tmp_path / "bao-cao.docx")))
    _, _, groups, _ = document.tables
    rows = [[c.text for c in r.cells] for r in groups.rows]
    assert rows[0][:3] == ["TT", "Đơn vị cấp trên", "Số đơn vị phải báo cáo"]
    assert [r[1] for r in rows[1:]] == sorted(DISTRICTS, key=sort_key)
    assert rows[1][2:] == ["20", "16", "12", "4", "4", "1"]
    text = _paragraphs(document)
    assert any("63 đơn vị thuộc 3 đơn vị cấp trên" in t and "bao-cao.xlsx" in t for t in text)
    assert not any(t.startswith("Các đơn vị gửi báo cáo trễ hạn") for t in text)
    assert not any(u.name in t for u in big.units for t in text)
    book = openpyxl.load_workbook(write_consolidation_xlsx(big, tmp_path / "bao-cao.xlsx"))
    listed = _sheet_rows(book["Đơn vị"])[4:]
    assert len(listed) == 63 and {row[3] for row in listed} == set(DISTRICTS)


# What people typed that a spreadsheet would run as a formula (OWASP's CSV injection prefixes).
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,2)", "-2+3", "@SUM(1)", "\t=1+1"]


def _typed(seed: Consolidation, names: list[str], narratives: list[str]) -> Consolidation:
    """The seed report with the first units' names and narratives as given."""
    units = [
        u._replace(name=names[n], narrative=narratives[n]) if n < len(names) else u
        for n, u in enumerate(seed.units)
    ]
    return replace(seed, units=units)


def _cells(path: Path) -> dict[object, str]:
    """Every text cell of the workbook: value → data type."""
    book = openpyxl.load_workbook(path)
    return {c.value: c.data_type for s in book for row in s.iter_rows() for c in row if c.value}


def test_every_typed_text_is_written_to_the_workbook_as_text_never_a_formula(
    seed: Consolidation, tmp_path: Path
) -> None:
    typed = _typed(seed, FORMULAS, [f"{text} đánh giá" for text in reversed(FORMULAS)])
    cells = _cells(write_consolidation_xlsx(typed, tmp_path / "bao-cao.xlsx"))
    for text in [*FORMULAS, *(f"{text} đánh giá" for text in FORMULAS)]:
        assert cells[text] == "s", text


def test_characters_a_document_cannot_hold_from_older_events_are_shown_replaced(
    seed: Consolidation, tmp_path: Path
) -> None:
    """Submissions refuse them now; an event stored before still reaches the documents."""
    typed = _typed(
        seed,
        ["Xã Cẩm\x00 Bình", "Xã Cẩm Duệ\u202e"],
        ["Quý I\x01 tập huấn\x0b 2 lớp", "Quý I \ud800 xong"],
    )
    cells = _cells(write_consolidation_xlsx(typed, tmp_path / "bao-cao.xlsx"))
    assert {"Xã Cẩm\ufffd Bình", "Quý I\ufffd tập huấn\ufffd 2 lớp", "Quý I \ufffd xong"} <= set(
        cells
    )
    document = docx.Document(str(write_consolidation_docx(typed, tmp_path / "bao-cao.docx")))
    text = "\n".join(_paragraphs(document))
    assert "Quý I\ufffd tập huấn\ufffd 2 lớp" in text and "\x01" not in text

"""Builds the Word template of the urging dispatch (công văn đôn đốc),
`templates/cong-van-don-doc.docx`, laid out as Nghị định 30/2020/NĐ-CP, Appendix I, sets out an
administrative dispatch: A4 portrait, margins 20/20/30/15 mm, Times New Roman, the issuing body
and number top left with the subject line under them, the national title and motto top right
with the place and date, "Kính gửi", a justified body with first-line indents, "Nơi nhận" bottom
left and the signer block bottom right, page numbers from the second page. Between the opening
and the request, either the late units' items or, for a dispatch to too many units to name,
the bodies above them with counts (the units and items then go to an .xlsx appendix).

The template holds docxtpl's Jinja2 tags; an office may edit it in Word and keep the tags.
Rebuild it with `python -m notifications.dispatch_template`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

TEMPLATE = Path(__file__).resolve().parent / "templates" / "cong-van-don-doc.docx"
FONT = "Times New Roman"


def _line(
    container: Any,
    text: str,
    *,
    size: float = 14,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    after: float = 0,
) -> Paragraph:
    paragraph: Paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(after)
    paragraph.paragraph_format.space_before = Pt(0)
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold
    run.italic = italic
    return paragraph


def _rule(cell: _Cell, width_cm: float) -> None:
    """A short centred rule under a heading (a bottom border on an indented empty line)."""
    paragraph = cell.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    indent = max((cell.width.cm if cell.width else 8) - width_cm, 0) / 2  # type: ignore[union-attr]
    paragraph.paragraph_format.left_indent = Cm(indent)
    paragraph.paragraph_format.right_indent = Cm(indent)
    paragraph.paragraph_format.space_after = Pt(6)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    paragraph.add_run("").font.size = Pt(2)


def _page_number(paragraph: Paragraph) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    paragraph._p.append(field)


def _body(document: Any, text: str) -> Paragraph:
    paragraph: Paragraph = document.add_paragraph(text)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Cm(1.27)
    paragraph.paragraph_format.space_after = Pt(6)
    return paragraph


def _grid(
    document: Any, titles: tuple[str, ...], loop: str, fields: tuple[str, ...], name: str
) -> None:
    """A bordered table: a header row of `titles`, then one row per turn of `loop`."""
    table = document.add_table(rows=3, cols=len(titles))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, title in zip(table.rows[0].cells, titles, strict=True):
        cell.paragraphs[0].text = ""
        run = cell.paragraphs[0].add_run(title)
        run.bold, run.font.size = True, Pt(12)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    table.rows[1].cells[0].paragraphs[0].text = loop
    for cell, field in zip(table.rows[2].cells, fields, strict=True):
        cell.paragraphs[0].text = ""
        cell.paragraphs[0].add_run(f"{{{{ {name}.{field} }}}}").font.size = Pt(12)
    end = table.add_row()
    end.cells[0].paragraphs[0].text = "{%tr endfor %}"


def build(path: Path = TEMPLATE) -> Path:
    """Write the template to `path`."""
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)  # type: ignore[union-attr]
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.different_first_page_header_footer = True
    number = section.header.paragraphs[0]
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number(number)

    head = document.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = head.rows[0].cells
    left.width, right.width = Cm(6.5), Cm(9.5)
    left.paragraphs[0].text = ""
    _line(left, "{{ issuer_parent }}", size=13)
    _line(left, "{{ issuer }}", size=13, bold=True)
    _rule(left, 2.5)
    _line(left, "Số:        /{{ symbol }}", size=13, after=4)
    _line(left, "{{ subject }}", size=12)
    _line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=12, bold=True)
    _line(right, "Độc lập - Tự do - Hạnh phúc", size=13, bold=True)
    _rule(right, 5.5)
    _line(right, "{{ place_and_date }}", size=14, italic=True)

    _line(document, "", after=6)
    _line(document, "Kính gửi:", align=WD_ALIGN_PARAGRAPH.CENTER)
    _line(document, "{%p for unit in recipients %}", align=WD_ALIGN_PARAGRAPH.CENTER)
    _line(
        document, "- {{ unit }}{{ ';' if not loop.last else '.' }}", align=WD_ALIGN_PARAGRAPH.CENTER
    )
    _line(document, "{%p endfor %}", align=WD_ALIGN_PARAGRAPH.CENTER, after=6)

    _body(document, "{{ opening }}")
    _line(document, "{%p if grouped %}")
    _grid(
        document,
        ("TT", "Đơn vị", "Số đơn vị chưa hoàn thành", "Số nhiệm vụ quá hạn", "Hạn sớm nhất"),
        "{%tr for group in groups %}",
        ("number", "name", "units", "overdue", "oldest_due"),
        "group",
    )
    _line(document, "{%p else %}")
    _grid(
        document,
        ("TT", "Đơn vị", "Nhiệm vụ", "Kỳ", "Hạn"),
        "{%tr for row in rows %}",
        ("number", "unit", "task", "period", "due"),
        "row",
    )
    _line(document, "{%p endif %}")
    _line(document, "", after=0)
    _body(document, "{{ request }}")
    _body(document, "{{ closing }}")

    foot = document.add_table(rows=1, cols=2)
    received, signer = foot.rows[0].cells
    received.width, signer.width = Cm(8), Cm(8)
    received.paragraphs[0].text = ""
    _line(received, "Nơi nhận:", size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    _line(received, "{%p for copy in copies %}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _line(received, "{{ copy }}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _line(received, "{%p endfor %}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    signer.paragraphs[0].text = ""
    _line(signer, "{{ signer.on_behalf }}", bold=True)
    _line(signer, "{{ signer.deputy }}", bold=True)
    _line(signer, "{{ signer.title }}", bold=True, after=60)
    _line(signer, "{{ signer.name }}", bold=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


if __name__ == "__main__":
    print(build())

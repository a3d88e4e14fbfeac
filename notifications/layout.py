"""The layout every administrative document dondoc drafts shares, as Nghị định 30/2020/NĐ-CP,
Appendix I, sets it out: A4 portrait, margins 20/20/30/15 mm, Times New Roman, page numbers
from the second page; the issuing body and number top left, the national title and motto top
right with the place and date; justified body paragraphs with first-line indents; bordered
tables; "Nơi nhận" bottom left and the signer block bottom right. The Word templates built
from these pieces hold docxtpl's Jinja2 tags, which the builders pass in as text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"
# The text's width between the margins, and the two columns of the head.
TEXT_CM = 16.5
LEFT_CM, RIGHT_CM = 7.5, 9.5  # together a little wider than the text, as is usual
INDENT_CM = 1.27  # a body paragraph's first line


def line(
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


def rule(container: Any, width_cm: float, within_cm: float) -> None:
    """A short centred rule under a heading (a bottom border on an indented empty line) in a
    cell or page `within_cm` wide."""
    paragraph = container.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    indent = max(within_cm - width_cm, 0) / 2
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


def body(document: Any, text: str) -> Paragraph:
    paragraph: Paragraph = document.add_paragraph(text)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Cm(INDENT_CM)
    paragraph.paragraph_format.space_after = Pt(6)
    return paragraph


def mark_size(paragraph: Paragraph, size: float) -> None:
    """The paragraph's mark at `size` too: a word processor makes a paragraph's last line as
    high as its mark, so a table row of smaller text would otherwise keep the body's height."""
    properties = OxmlElement("w:rPr")
    for tag in ("w:sz", "w:szCs"):
        element = OxmlElement(tag)
        element.set(qn("w:val"), str(round(size * 2)))
        properties.append(element)
    paragraph._p.get_or_add_pPr().append(properties)


def header_cell(cell: _Cell, title: str, *, size: float = 12) -> None:
    """A table heading: bold and centred."""
    cell.paragraphs[0].text = ""
    run = cell.paragraphs[0].add_run(title)
    run.bold, run.font.size = True, Pt(size)
    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    mark_size(cell.paragraphs[0], size)


def grid(
    document: Any,
    titles: tuple[str, ...],
    loop: str,
    fields: tuple[str, ...],
    name: str,
    *,
    size: float = 12,
    widths: tuple[float, ...] | None = None,
) -> Table:
    """A bordered table: a header row of `titles`, then one row per turn of `loop`; its
    columns `widths` cm wide if given."""
    table = document.add_table(rows=3, cols=len(titles))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, title in zip(table.rows[0].cells, titles, strict=True):
        header_cell(cell, title, size=size)
    table.rows[1].cells[0].paragraphs[0].text = loop
    for cell, field in zip(table.rows[2].cells, fields, strict=True):
        cell.paragraphs[0].text = ""
        cell.paragraphs[0].add_run(f"{{{{ {name}.{field} }}}}").font.size = Pt(size)
        mark_size(cell.paragraphs[0], size)
    end = table.add_row()
    end.cells[0].paragraphs[0].text = "{%tr endfor %}"
    if widths is not None:
        set_widths(table, widths)
    return table


def set_widths(table: Table, widths: Sequence[float]) -> None:
    """Fix the columns' widths in cm, for Word (the cells') and LibreOffice (the grid's)."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def new_document() -> Any:
    """An empty A4 portrait document in Times New Roman 14 pt with the decree's margins and
    page numbers from the second page."""
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
    return document


def head(document: Any, number: str, subject: str | None = None) -> None:
    """The issuing body (`{{ issuer_parent }}` over `{{ issuer }}`) and its `number` line, with
    the `subject` of a công văn under it; the national title, motto and `{{ place_and_date }}`."""
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_widths(table, (LEFT_CM, RIGHT_CM))
    left, right = table.rows[0].cells
    left.paragraphs[0].text = ""
    line(left, "{{ issuer_parent }}", size=13)
    line(left, "{{ issuer }}", size=13, bold=True)
    rule(left, 2.5, LEFT_CM)
    line(left, number, size=13, after=4)
    if subject is not None:
        line(left, subject, size=12)
    line(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=12, bold=True)
    line(right, "Độc lập - Tự do - Hạnh phúc", size=13, bold=True)
    rule(right, 5.5, RIGHT_CM)
    line(right, "{{ place_and_date }}", size=14, italic=True)


def foot(document: Any, signer: Sequence[str]) -> None:
    """ "Nơi nhận" with one `{{ copy }}` line per turn of `copies`, and the signer block: the
    lines of `signer`, room for the signature and seal before the last (the name)."""
    table = document.add_table(rows=1, cols=2)
    received, signs = table.rows[0].cells
    received.width, signs.width = Cm(8), Cm(8)
    received.paragraphs[0].text = ""
    line(received, "Nơi nhận:", size=12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    line(received, "{%p for copy in copies %}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    line(received, "{{ copy }}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    line(received, "{%p endfor %}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    signs.paragraphs[0].text = ""
    *titles, name = signer
    for n, text in enumerate(titles):
        line(signs, text, bold=True, after=60 if n == len(titles) - 1 else 0)
    line(signs, name, bold=True)

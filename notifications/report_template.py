"""Builds the Word template of the consolidated report (báo cáo tổng hợp),
`templates/bao-cao-tong-hop.docx`, laid out as Nghị định 30/2020/NĐ-CP, Appendix I, sets out a
report (the layout is `notifications.layout`, shared with the urging dispatch): the lead office
under its parent and "Số:      /BC-…" top left, the national title, motto, place and date top
right; "BÁO CÁO" and the title under a short rule; then what was asked, who reported, the
totals, and either each unit with its status and figures, the late and missing units, the
targets missed and the units' own assessments, or, for too many units to list, the bodies above
them with counts (the units then being in the .xlsx sent beside it); "Nơi nhận" and the signer.

The template holds docxtpl's Jinja2 tags; an office may edit it in Word and keep the tags. The
units table's figure columns repeat with `{%tc %}`: one per figure the requirement asks for.
Rebuild it with `python -m notifications.report_template`.
"""

from __future__ import annotations

from pathlib import Path

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Cm, Pt

from notifications.layout import (
    INDENT_CM,
    TEXT_CM,
    body,
    foot,
    grid,
    head,
    header_cell,
    line,
    new_document,
    rule,
)

TEMPLATE = Path(__file__).resolve().parent / "templates" / "bao-cao-tong-hop.docx"
TABLE_PT = 11
FIGURE_PT = 9  # the figures' labels, in narrow columns


def _section(document: object, title: str) -> None:
    """A numbered section heading: bold, at the body's indent."""
    paragraph = line(document, title, bold=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=6)
    paragraph.paragraph_format.first_line_indent = Cm(INDENT_CM)
    paragraph.paragraph_format.keep_with_next = True


def _units(document: object) -> None:
    """The units table: fixed columns, then one column per figure (`{%tc %}` loops), the
    header row repeated on every page."""
    fixed = ("TT", "Đơn vị", "Tình trạng", "Ngày gửi")
    table = document.add_table(rows=4, cols=len(fixed) + 3)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = table.rows[0]
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    titles = (*fixed, "{%tc for figure in figures %}", "{{ figure }}", "{%tc endfor %}")
    for cell, title in zip(header.cells, titles, strict=True):
        header_cell(cell, title, size=TABLE_PT if title in fixed else FIGURE_PT)
    table.rows[1].cells[0].paragraphs[0].text = "{%tr for row in units %}"
    fields = (
        "{{ row.number }}",
        "{{ row.name }}",
        "{{ row.status }}",
        "{{ row.handed_in }}",
        "{%tc for value in row.cells %}",
        "{{ value }}",
        "{%tc endfor %}",
    )
    for cell, text in zip(table.rows[2].cells, fields, strict=True):
        cell.paragraphs[0].text = ""
        cell.paragraphs[0].add_run(text).font.size = Pt(TABLE_PT)
    table.rows[3].cells[0].paragraphs[0].text = "{%tr endfor %}"


def build(path: Path = TEMPLATE) -> Path:
    """Write the template to `path`."""
    document = new_document()
    head(document, "Số:        /{{ symbol }}")

    line(document, "", after=6)
    line(document, "BÁO CÁO", bold=True)
    line(document, "{{ heading }}", bold=True)
    rule(document, 3, TEXT_CM)

    _section(document, "I. NHIỆM VỤ ĐƯỢC GIAO")
    body(document, "{{ asked }}")
    _section(document, "II. TÌNH HÌNH GỬI BÁO CÁO")
    body(document, "{{ reporting }}")
    _section(document, "III. KẾT QUẢ THỰC HIỆN")
    body(document, "{{ results }}").paragraph_format.keep_with_next = True
    grid(
        document,
        ("TT", "Nội dung", "Đơn vị tính", "Tổng số", "Số báo cáo", "Mức yêu cầu"),
        "{%tr for total in totals %}",
        ("number", "label", "unit", "total", "count", "target"),
        "total",
        size=TABLE_PT,
        widths=(1.0, 5.6, 2.3, 2.3, 2.0, 3.3),
    )
    line(document, "", after=6)
    line(document, "{%p for target in targets %}")
    body(document, "{{ target }}")
    line(document, "{%p endfor %}")

    _section(document, "IV. TÌNH HÌNH THỰC HIỆN CỦA CÁC ĐƠN VỊ")
    body(document, "{{ units_intro }}").paragraph_format.keep_with_next = True
    line(document, "{%p if grouped %}")
    grid(
        document,
        (
            "TT",
            "Đơn vị cấp trên",
            "Số đơn vị phải báo cáo",
            "Đã báo cáo",
            "Đúng hạn",
            "Trễ hạn",
            "Chưa báo cáo",
            "Được miễn",
        ),
        "{%tr for group in groups %}",
        ("number", "name", "expected", "reported", "on_time", "late", "missing", "waived"),
        "group",
        size=TABLE_PT,
        widths=(1.0, 4.7, 2.0, 1.8, 1.8, 1.7, 1.8, 1.7),
    )
    line(document, "{%p else %}")
    _units(document)
    line(document, "", after=6)
    body(document, "{{ late }}")
    body(document, "{{ missing }}")
    body(document, "{{ missed }}")
    line(document, "{%p if narratives %}")
    body(document, "{{ narratives_intro }}")
    line(document, "{%p endif %}")
    line(document, "{%p for narrative in narratives %}")
    paragraph = body(document, "")
    paragraph.add_run("{{ narrative.unit }}: ").bold = True
    paragraph.add_run("{{ narrative.text }}")
    line(document, "{%p endfor %}")
    line(document, "{%p endif %}")
    line(document, "", after=0)
    body(document, "{{ closing }}")
    foot(document, ("{{ signer_title }}", ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


if __name__ == "__main__":
    print(build())

"""Builds the Word template of the urging dispatch (công văn đôn đốc),
`templates/cong-van-don-doc.docx`, laid out as Nghị định 30/2020/NĐ-CP, Appendix I, sets out an
administrative dispatch: A4 portrait, margins 20/20/30/15 mm, Times New Roman, the issuing body
and number top left with the subject line under them, the national title and motto top right
with the place and date, "Kính gửi", a justified body with first-line indents, "Nơi nhận" bottom
left and the signer block bottom right, page numbers from the second page. Between the opening
and the request, a table of the late units with their counts or, for a dispatch to too many
units to name, of the bodies above them; the items are in the .xlsx appendix.

The layout is `notifications.layout`, shared with the consolidated report. The template holds
docxtpl's Jinja2 tags; an office may edit it in Word and keep the tags.
Rebuild it with `python -m notifications.dispatch_template`.
"""

from __future__ import annotations

from pathlib import Path

from docx.enum.text import WD_ALIGN_PARAGRAPH

from notifications.layout import body, foot, grid, head, line, new_document

TEMPLATE = Path(__file__).resolve().parent / "templates" / "cong-van-don-doc.docx"
# The tables' headings, and their columns' widths in cm (the text's 16.5 in all).
UNIT_COLUMNS = ("TT", "Đơn vị", "Số nhiệm vụ quá hạn", "Trong đó bị trả lại", "Hạn sớm nhất")
GROUP_COLUMNS = ("TT", "Đơn vị", "Số đơn vị chưa hoàn thành", "Số nhiệm vụ quá hạn", "Hạn sớm nhất")
TABLE_CM = (0.9, 8.9, 2.1, 2.1, 2.5)


def build(path: Path = TEMPLATE) -> Path:
    """Write the template to `path`."""
    document = new_document()
    head(document, "Số:        /{{ symbol }}", "{{ subject }}")

    line(document, "", after=6)
    line(document, "Kính gửi: {{ recipient }}.", align=WD_ALIGN_PARAGRAPH.CENTER, after=6)

    body(document, "{{ opening }}")
    line(document, "{%p if grouped %}")
    grid(
        document,
        GROUP_COLUMNS,
        "{%tr for group in groups %}",
        ("number", "name", "units", "overdue", "oldest_due"),
        "group",
        widths=TABLE_CM,
    )
    line(document, "{%p else %}")
    grid(
        document,
        UNIT_COLUMNS,
        "{%tr for unit in units %}",
        ("number", "name", "overdue", "returned", "oldest_due"),
        "unit",
        widths=TABLE_CM,
    )
    line(document, "{%p endif %}")
    line(document, "", after=0)
    body(document, "{{ request }}")
    body(document, "{{ closing }}")
    foot(
        document,
        (
            "{{ signer.on_behalf }}",
            "{{ signer.deputy }}",
            "{{ signer.title }}",
            "{{ signer.name }}",
        ),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


if __name__ == "__main__":
    print(build())

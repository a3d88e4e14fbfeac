"""The consolidated report (báo cáo tổng hợp) of one requirement and period, as the lead office
signs it: a Word document rendered from `templates/bao-cao-tong-hop.docx` (docxtpl) and a
workbook with the figures behind it (openpyxl), both from a
`models.rules.consolidation.Consolidation`.

The Word document lists each unit with its status and main figures, the late and missing ones,
the targets missed and the units' own assessments; for more than `dispatch.MAX_LISTED_UNITS`
units it gives counts per body above them instead and refers to the workbook, which always has
every unit. The workbook is meant to sit beside the document under the same name with `.xlsx`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from models.rules.consolidation import Consolidation, FigureTotal, Office, UnitReport
from models.rules.status import STATUS_WORDS
from models.rules.vietnamese import day_text, decimal_text, number_text, percent_text, sort_key
from notifications.cells import (
    DAY,
    FONT,
    day_value,
    heading_cell,
    print_setup,
    printable_values,
    put,
)
from notifications.dispatch import MAX_LISTED_UNITS, PLACE, place_and_date, subject_phrase
from notifications.layout import TEXT_CM, set_widths
from notifications.report_template import TEMPLATE

# The Word table shows at most this many figures per unit; the workbook has them all.
MAX_FIGURE_COLUMNS = 6
# The Word units table's fixed columns (TT, Đơn vị, Tình trạng, Ngày gửi) in cm; the figures
# share the rest of the text's width.
FIXED_COLUMNS_CM = (1.0, 3.2, 2.5, 2.3)
# Who signs for the lead office, by the first word(s) of its name.
HEADS = (
    ("Phòng", "TRƯỞNG PHÒNG"),
    ("Văn phòng", "CHÁNH VĂN PHÒNG"),
    ("Thanh tra", "CHÁNH THANH TRA"),
    ("Sở", "GIÁM ĐỐC"),
    ("Trung tâm", "GIÁM ĐỐC"),
    ("Ban", "TRƯỞNG BAN"),
    ("Vụ", "VỤ TRƯỞNG"),
)
UNKNOWN_PARENT = "(không rõ đơn vị cấp trên)"
# Handed in and not sent back, as models.rules.consolidation defines "reported".
REPORTED = ("submitted", "accepted", "accepted_late")
ACCEPTED = ("accepted", "accepted_late")
# Vietnamese number formats: Excel shows the separators of the reader's system (a comma for
# decimals on Vietnamese Windows), LibreOffice those of the format's language, Vietnamese.
INTEGER = "[$-42A]#,##0"
DECIMAL = "[$-42A]#,##0.00"
PERCENT = "[$-42A]0.0%"
NARRATIVE_WIDTH = 50  # characters
LINE_PT = 15


def _office_heading(office: Office, parent: Office | None) -> str:
    """The office's name as it stands under its parent's: "Phòng Văn hóa - Thông tin huyện
    Cẩm Xuyên" under the district's committee reads "Phòng Văn hóa - Thông tin", "Vụ Cải cách
    hành chính - Bộ Nội vụ" under the ministry "Vụ Cải cách hành chính"."""
    if parent is None:
        return office.name
    match = PLACE.search(parent.name)
    for tail in (f" {match.group(0)}" if match else None, f" - {parent.name}"):
        if tail and office.name.endswith(tail):
            return office.name[: -len(tail)]
    return office.name


def _short(office: Office) -> str:
    """The office's short sign for the archive line and the number: 446-VHTT → VHTT."""
    return office.code.rsplit("-", 1)[-1]


def _head_of(office: Office) -> str:
    return next((title for start, title in HEADS if office.name.startswith(start + " ")), "")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def heading(c: Consolidation) -> str:
    """The report's title: "Kết quả công tác tuyên truyền CCHC quý I/2024", from the
    requirement's title less "Báo cáo" and its parenthesis."""
    what = re.sub(r"\s*\([^)]*\)\s*$", "", re.sub(r"^Báo cáo\s+", "", c.title))
    what = _lower_first(what)
    if not what.startswith("kết quả"):
        what = f"kết quả thực hiện nhiệm vụ {what}"
    return f"{what[:1].upper()}{what[1:]} {_lower_first(c.period.words)}"


def figure_text(value: float | str | None) -> str:
    """A figure as a document shows it: 1.234; 12,50; Có / Không; text as given; blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, str):
        return value
    if float(value).is_integer():
        return number_text(int(value))
    return decimal_text(value, 2)


def _names(units: Iterable[UnitReport], *, status: bool = False) -> str:
    return ", ".join(f"{u.name} ({STATUS_WORDS[u.status]})" if status else u.name for u in units)


def _listed(intro: str, units: list[UnitReport], none: str, *, status: bool = False) -> str:
    if not units:
        return none
    return f"{intro} ({number_text(len(units))}): {_names(units, status=status)}."


def _numeric(c: Consolidation) -> list[FigureTotal]:
    return [t for t in c.totals if t.total is not None]


def _labels(c: Consolidation) -> dict[str, FigureTotal]:
    return {t.key: t for t in c.totals}


def _missed_text(c: Consolidation, unit: UnitReport) -> str:
    figures = _labels(c)
    return "; ".join(
        f"{figures[k].label}: {figures[k].target}" if k in figures and figures[k].target else k
        for k in unit.missed
    )


def _groups(c: Consolidation) -> list[dict[str, Any]]:
    """Counts per body above the units, in Vietnamese order."""
    found: dict[str, list[UnitReport]] = {}
    for unit in c.units:
        found.setdefault(unit.parent or UNKNOWN_PARENT, []).append(unit)
    rows = []
    for n, name in enumerate(sorted(found, key=sort_key), start=1):
        units = found[name]
        waived = sum(u.status == "waived" for u in units)
        reported = sum(u.status in REPORTED for u in units)
        on_time = sum(u.on_time is True and u.status in REPORTED for u in units)
        rows.append(
            {
                "number": n,
                "name": name,
                "expected": number_text(len(units) - waived),
                "reported": number_text(reported),
                "on_time": number_text(on_time),
                "late": number_text(reported - on_time),
                "missing": number_text(len(units) - waived - reported),
                "waived": number_text(waived),
            }
        )
    return rows


def report_context(c: Consolidation, appendix: str) -> dict[str, Any]:
    """What the Word template fills in; `appendix` is the workbook's file name."""
    rate = c.rate
    period = _lower_first(c.period.words)
    span = (
        f" (số liệu từ ngày {day_text(c.period.start)} đến ngày {day_text(c.period.end)})"
        if c.period.end
        else ""
    )
    due = f", hạn gửi báo cáo ngày {day_text(c.period.due)}" if c.period.due else ""
    accepted = sum(u.status in ACCEPTED for u in c.units)
    late = rate.reported - rate.on_time
    missing = rate.expected - rate.reported
    numeric = _numeric(c)[:MAX_FIGURE_COLUMNS]
    met = {t.figure: t for t in c.targets if t.group == rate.group}
    grouped = len(c.units) > MAX_LISTED_UNITS
    values: dict[str, Any] = {
        "issuer_parent": c.above.name.upper() if c.above else "",
        "issuer": _office_heading(c.lead, c.above).upper(),
        "symbol": f"BC-{_short(c.lead)}",
        "place_and_date": place_and_date((c.above or c.lead).name, c.as_of),
        "heading": heading(c),
        "asked": (
            f"Thực hiện {c.document} của {c.issued_by} về việc {subject_phrase(c.subject)}, "
            f"các đơn vị được giao nhiệm vụ {c.requirement}: {c.title}. Kỳ báo cáo {period}"
            f"{span}{due}. {c.lead.name} tổng hợp kết quả đến ngày {day_text(c.as_of)} "
            "như sau:"
        ),
        "reporting": (
            f"Có {number_text(rate.reported)}/{number_text(rate.expected)} đơn vị đã gửi báo "
            f"cáo, đạt tỷ lệ {percent_text(rate.reporting_rate)}; trong đó "
            f"{number_text(rate.on_time)} đơn vị gửi đúng hạn (tỷ lệ đúng hạn "
            f"{percent_text(rate.on_time_rate)}) và {number_text(late)} đơn vị gửi trễ hạn. "
            f"{number_text(missing)} đơn vị chưa gửi báo cáo, trong đó "
            f"{number_text(rate.overdue)} đơn vị đã quá hạn. "
            f"{number_text(rate.waived)} đơn vị được miễn báo cáo kỳ này."
        ),
        "results": (
            f"Tổng hợp số liệu từ {number_text(accepted)} báo cáo đã được chấp nhận "
            "(số liệu của báo cáo chờ xét duyệt chưa được tính):"
        ),
        "totals": [
            {
                "number": n,
                "label": t.label,
                "unit": t.unit or "",
                "total": figure_text(t.total),
                "count": number_text(t.count),
                "target": t.target or "",
            }
            for n, t in enumerate(c.totals, start=1)
        ],
        "targets": [
            f"{t.label} ({t.target}): {number_text(met[t.key].met)}/"
            f"{number_text(met[t.key].accepted)} báo cáo đạt mức yêu cầu."
            for t in c.totals
            if t.key in met
        ],
        "grouped": grouped,
        "closing": (
            f"{c.lead.name} báo cáo {c.issuer.name} xem xét, chỉ đạo; danh sách và số liệu "
            f"chi tiết của từng đơn vị tại tệp {appendix} kèm theo./."
        ),
        "copies": [f"- {c.issuer.name} (để báo cáo);", f"- Lưu: VT, {_short(c.lead)}."],
        "signer_title": _head_of(c.lead),
    }
    if grouped:
        groups = _groups(c)
        return values | {
            "units_intro": (
                f"{number_text(len(c.units))} đơn vị thuộc {number_text(len(groups))} "
                "đơn vị cấp trên; tình hình theo đơn vị cấp trên như sau (từng đơn vị, đơn vị "
                f"trễ hạn, chưa báo cáo, chưa đạt mức yêu cầu và nội dung báo cáo: tại tệp "
                f"{appendix} kèm theo):"
            ),
            "groups": groups,
            "figures": [],
            "units": [],
            "narratives": [],
        }
    narratives = [{"unit": u.name, "text": u.narrative} for u in c.units if u.narrative]
    return values | {
        "units_intro": "Tình hình và số liệu chính của từng đơn vị:",
        "groups": [],
        "figures": [t.label for t in numeric],
        "units": [
            {
                "number": n,
                "name": u.name,
                "status": STATUS_WORDS[u.status],
                "handed_in": day_text(u.handed_in) if u.handed_in else "",
                "cells": [figure_text(u.figures.get(t.key)) for t in numeric],
            }
            for n, u in enumerate(c.units, start=1)
        ],
        "late": _listed("Các đơn vị gửi báo cáo trễ hạn", c.late, "Không có đơn vị gửi trễ hạn."),
        "missing": _listed(
            "Các đơn vị chưa gửi báo cáo",
            c.missing,
            "Tất cả các đơn vị phải báo cáo đã gửi báo cáo.",
            status=True,
        ),
        "missed": (
            "Các đơn vị chưa đạt mức yêu cầu: "
            + "; ".join(f"{u.name} ({_missed_text(c, u)})" for u in c.targets_missed)
            + "."
            if c.targets_missed
            else "Không có đơn vị chưa đạt mức yêu cầu."
        ),
        "narratives_intro": "Đánh giá của các đơn vị:",
        "narratives": narratives,
    }


def _fit_units_table(document: DocxTemplate, figures: int) -> None:
    """Give the rendered units table its widths: the fixed columns, then the figures sharing
    the rest (docxtpl spreads `{%tc %}` columns evenly over the template's widths)."""
    share = (TEXT_CM - sum(FIXED_COLUMNS_CM)) / max(figures, 1)
    for table in document.docx.tables:  # type: ignore[union-attr]
        if [c.text for c in table.rows[0].cells[:3]] == ["TT", "Đơn vị", "Tình trạng"]:
            set_widths(table, [*FIXED_COLUMNS_CM, *([share] * figures)])


def write_consolidation_docx(c: Consolidation, path: Path) -> Path:
    """The report as a Word document at `path`, referring to the workbook beside it
    (`path` with `.xlsx`)."""
    values = report_context(c, path.with_suffix(".xlsx").name)
    document = DocxTemplate(str(TEMPLATE))
    document.render(printable_values(values), autoescape=True)
    if not values["grouped"]:
        _fit_units_table(document, len(values["figures"]))
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def _number(sheet: Worksheet, row: int, column: int, value: float | None, fmt: str) -> None:
    cell = put(sheet, row, column, value)
    cell.number_format = fmt


def _figure_cell(sheet: Worksheet, row: int, column: int, value: float | str | None) -> None:
    """A figure: numbers stay numbers (whole ones without decimals), yes/no and text as words."""
    if value is None or isinstance(value, bool | str):
        put(sheet, row, column, figure_text(value))
    else:
        whole = float(value).is_integer()
        _number(sheet, row, column, int(value) if whole else value, INTEGER if whole else DECIMAL)


def _bold_row(sheet: Worksheet, row: int, values: list[str]) -> None:
    for column, value in enumerate(values, start=1):
        heading_cell(put(sheet, row, column, value))


def _summary_sheet(sheet: Worksheet, c: Consolidation) -> None:
    lines = [
        c.lead.name.upper(),
        "BÁO CÁO TỔNG HỢP",
        heading(c),
        f"Nhiệm vụ {c.requirement}: {c.title}",
        f"Theo {c.document} của {c.issued_by}",
        f"Số liệu đến ngày {day_text(c.as_of)}",
    ]
    for row, text in enumerate(lines, start=1):
        put(sheet, row, 1, text).font = Font(name=FONT, bold=row <= 3)
    rate = c.rate
    row = len(lines) + 2
    put(sheet, row, 1, "TÌNH HÌNH GỬI BÁO CÁO").font = Font(name=FONT, bold=True)
    figures: list[tuple[str, float | None, str]] = [
        ("Số đơn vị phải báo cáo", rate.expected, INTEGER),
        ("Số đơn vị đã báo cáo", rate.reported, INTEGER),
        ("Số đơn vị báo cáo đúng hạn", rate.on_time, INTEGER),
        ("Tỷ lệ báo cáo", rate.reporting_rate, PERCENT),
        ("Tỷ lệ báo cáo đúng hạn", rate.on_time_rate, PERCENT),
        ("Số đơn vị được miễn", rate.waived, INTEGER),
        ("Số đơn vị quá hạn chưa báo cáo", rate.overdue, INTEGER),
    ]
    for label, value, fmt in figures:
        row += 1
        put(sheet, row, 2, label)
        _number(sheet, row, 4, value, fmt)
    row += 2
    put(sheet, row, 1, "TỔNG HỢP SỐ LIỆU").font = Font(name=FONT, bold=True)
    row += 1
    met = {t.figure: t for t in c.targets if t.group == rate.group}
    _bold_row(
        sheet,
        row,
        ["TT", "Chỉ tiêu", "Đơn vị tính", "Tổng số", "Số báo cáo", "Mức yêu cầu", "Số đạt"],
    )
    for n, total in enumerate(c.totals, start=1):
        row += 1
        put(sheet, row, 1, n)
        put(sheet, row, 2, total.label)
        put(sheet, row, 3, total.unit or "")
        _figure_cell(sheet, row, 4, total.total)
        _number(sheet, row, 5, total.count, INTEGER)
        put(sheet, row, 6, total.target or "")
        if total.key in met:
            _number(sheet, row, 7, met[total.key].met, INTEGER)
    print_setup(sheet, [6, 40, 14, 14, 12, 16, 10], None)


def _units_sheet(sheet: Worksheet, c: Consolidation) -> None:
    parents = len({u.parent for u in c.units}) > 1
    columns: list[tuple[str, float]] = [("TT", 5), ("Mã", 9), ("Đơn vị", 22)]
    if parents:
        columns.append(("Đơn vị cấp trên", 24))
    columns += [("Tình trạng", 18), ("Ngày gửi", 11), ("Đúng hạn / trễ hạn", 9)]
    columns += [(t.label, 11) for t in c.totals]
    columns += [("Chưa đạt mức yêu cầu", 20), ("Nội dung báo cáo", NARRATIVE_WIDTH)]
    columns += [("Đường dẫn", 24)]
    put(sheet, 1, 1, f"DANH SÁCH ĐƠN VỊ: {heading(c).upper()}").font = Font(name=FONT, bold=True)
    put(
        sheet,
        2,
        1,
        f"(Kèm theo Báo cáo số      /BC-{_short(c.lead)} ngày {day_text(c.as_of)} "
        f"của {c.lead.name})",
    ).font = Font(name=FONT, italic=True)
    header = 4
    _bold_row(sheet, header, [name for name, _ in columns])
    top = Alignment(vertical="top", wrap_text=True)
    for n, unit in enumerate(c.units, start=1):
        row = header + n
        cells: list[Any] = [n, unit.code, unit.name]
        if parents:
            cells.append(unit.parent or "")
        cells += [STATUS_WORDS[unit.status], None, _on_time_words(unit)]
        for column, value in enumerate(cells, start=1):
            put(sheet, row, column, value)
        handed = sheet.cell(row, len(cells) - 1)
        if unit.handed_in:
            handed.value = day_value(unit.handed_in)
            handed.number_format = DAY
        for column, total in enumerate(c.totals, start=len(cells) + 1):
            _figure_cell(sheet, row, column, unit.figures.get(total.key))
        last = len(cells) + len(c.totals)
        for column, value in enumerate(
            (_missed_text(c, unit), unit.narrative or "", unit.evidence or ""), start=last + 1
        ):
            put(sheet, row, column, value)
        for cell in sheet[row]:
            cell.alignment = top
        # Row heights are not fitted on opening: room for the wrapped assessment.
        lines = -(-len(unit.narrative or "") // NARRATIVE_WIDTH)
        sheet.row_dimensions[row].height = LINE_PT * max(lines, 2)
    print_setup(sheet, [width for _, width in columns], header)


def _on_time_words(unit: UnitReport) -> str:
    return {True: "Đúng hạn", False: "Trễ hạn", None: ""}[unit.on_time]


def write_consolidation_xlsx(c: Consolidation, path: Path) -> Path:
    """The report's workbook at `path`: "Tổng hợp" (the heading, the rates, the totals) and
    "Đơn vị" (every unit in the order given, with its status, figures and assessment), both
    set to print on A4 landscape."""
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Tổng hợp"
    _summary_sheet(summary, c)
    _units_sheet(workbook.create_sheet("Đơn vị"), c)
    workbook.save(str(path))
    return path


def filename(c: Consolidation) -> str:
    """The report's file name without its extension."""
    return f"bao-cao-tong-hop-{c.directive}-{c.requirement}-{c.period.key}-{c.as_of.isoformat()}"

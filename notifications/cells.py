"""What people typed, as dondoc's documents hold it: a workbook cell is text and never a
formula (a unit name or narrative starting with `=`, `+`, `-` or `@` is shown as typed, not
run), and a workbook cell or a Word document shows the characters it cannot hold, which
older events may carry, as U+FFFD rather than refusing to be written. Also the look the
workbooks share: headings, dates dd/mm/yyyy, printing on A4."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from datetime import date, datetime
from typing import Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from models.rules.text import printable

FONT = "Times New Roman"
DAY = "DD/MM/YYYY"


def put(sheet: Worksheet, row: int, column: int, value: Any) -> Cell:
    """`sheet.cell(row, column, value)`, a text as text."""
    cell: Cell = sheet.cell(row, column, printable(value) if isinstance(value, str) else value)
    return _as_text(cell, value)


def streamed(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A cell of a write-only sheet's row: a text as text, anything else as it is."""
    if not isinstance(value, str):
        return value
    return _as_text(WriteOnlyCell(sheet, printable(value)), value)


def _as_text(cell: Cell, value: Any) -> Cell:
    # openpyxl takes a text starting with "=" for a formula; Excel and LibreOffice would run it
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def printable_values(value: Any) -> Any:
    """A Word template's context with every text `printable` (docxtpl's XML refuses the
    rest), through its dicts, lists, tuples and dataclasses, each kept of its own kind (a
    template reads a dataclass's or a named tuple's fields by name)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {key: printable_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [printable_values(item) for item in value]
    if isinstance(value, tuple):
        items = [printable_values(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: printable_values(getattr(value, f.name)) for f in fields(value)}
        return replace(value, **changes)
    return value


def heading_cell(cell: Cell) -> Cell:
    """A table's heading cell: bold, centred, wrapped."""
    cell.font = Font(name=FONT, bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    return cell


def day_value(day: date) -> datetime:
    """A date as a workbook holds one (shown dd/mm/yyyy with `DAY`)."""
    return datetime.combine(day, datetime.min.time())


def print_setup(
    sheet: Worksheet | WriteOnlyWorksheet, widths: list[float], header_row: int | None
) -> None:
    """Columns `widths` characters wide; A4 landscape, fitted to the page's width, with the
    header row repeated and frozen."""
    for n, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True  # type: ignore[union-attr]
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    if header_row is not None:
        sheet.print_title_rows = f"{header_row}:{header_row}"
        sheet.freeze_panes = f"C{header_row + 1}"

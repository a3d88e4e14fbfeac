"""The daily compliance table (units × statuses) reads on one screen of Prefect's UI at 1400
px: its status columns are headed by codes a short legend above it explains, each unit named
in full; the table of reporting rates fits Prefect's column."""

from __future__ import annotations

import csv
from datetime import date

from flows.daily import (
    RATES_LEGEND,
    UNIT,
    compliance_markdown,
    compliance_tables,
    legend,
    rates_table,
)
from models.rules.consolidation import CELL_CODES, CELL_WORDS, Rate
from models.rules.status import STATUSES
from tests.conftest import UNITS
from tests.widths import columns

# Prefect's v2 UI at a 1400 px wide window gives an artifact a column 690 px wide (as for the
# matrix's markdown, tests/notifications/test_matrix.py), and shows a table artifact's cells
# unwrapped, clipping what does not fit. Measured on the table of docs/screenshots/5-tuan-thu.png
# (Chromium, Prefect's web font at 14 px): a cell takes 17 px besides its text (padding and
# border), and text about 7 px a character; bold headers and digits are wider, so the estimate
# below counts 8. The table's own border takes 2 px.
COLUMN_PX, CELL_PX, CHAR_PX, BORDER_PX = 690, 17, 8, 2


def width_px(rows: list[dict[str, object]]) -> int:
    """The table's estimated width: each column's widest cell, its header included."""
    return BORDER_PX + sum(
        CELL_PX + CHAR_PX * max(columns(key), *(columns(str(row[key])) for row in rows))
        for key in rows[0]
    )


def seed_units() -> list[tuple[str, str]]:
    with UNITS.open(encoding="utf-8") as file:
        return [(row["code"], row["name"]) for row in csv.DictReader(file)]


def test_the_table_names_every_unit_in_full_under_its_short_legend() -> None:
    """A markdown table, whose cells wrap in Prefect's column (a table artifact's do not, and
    clipped the units' names): each unit in full, the legend of the codes above the table,
    on the same screen."""
    found = [
        ("cchc", code, name, s, 10 + n)
        for code, name in seed_units()
        for n, s in enumerate(STATUSES)
    ]
    rows = compliance_tables(found)["cchc"]
    assert list(rows[0]) == [UNIT, *(CELL_CODES[s] for s in STATUSES)]
    markdown = compliance_markdown("cchc", date(2024, 3, 20), rows)
    lines = markdown.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert lines.index(table[0]) < 6  # the title and the legend, then the table
    legend_line = next(line for line in lines if line.startswith("Ký hiệu"))
    assert lines.index(legend_line) < lines.index(table[0]) and len(legend_line) < 300
    assert all(f"{code} {name}" in markdown for code, name in seed_units())
    assert len(table) == len(seed_units()) + 2
    assert "…" not in markdown


def test_only_the_statuses_that_occur_are_columns_and_the_legend_names_them() -> None:
    found = [
        ("cchc", "18679", "Xã Yên Hòa", "overdue", 1),
        ("cchc", "18679", "Xã Yên Hòa", "open", 6),
        ("cchc", "18673", "Thị trấn Cẩm Xuyên", "accepted_late", 2),
    ]
    rows = compliance_tables(found)["cchc"]
    assert rows == [
        {UNIT: "18673 Thị trấn Cẩm Xuyên", "CH": 0, "QH": 0, "TH": 2},
        {UNIT: "18679 Xã Yên Hòa", "CH": 6, "QH": 1, "TH": 0},
    ]
    assert legend(rows) == (
        f"CH {CELL_WORDS['open']} · QH {CELL_WORDS['overdue']} · TH {CELL_WORDS['accepted_late']}"
    )


def test_the_rates_table_fits_prefects_column_at_national_scale() -> None:
    # the widest values: the longest period in words, national counts, 100 % and a long code
    worst = [
        Rate("1c-tong-hop", period, "", 190_969, 190_969, 190_969, 0, 190_969)
        for period in ("2024-H2", "2024-Q3", "2024-09")
    ]
    rows = rates_table(worst)
    assert rows[0]["kỳ"] == "6 tháng cuối năm 2024" and rows[0]["% nộp"] == "100,0%"
    assert width_px(rows) <= COLUMN_PX
    # the bound can be missed: the waived count as a column of its own does not fit
    assert width_px([{**row, "được miễn": 190_969} for row in rows]) > COLUMN_PX
    assert "% đúng hạn" in RATES_LEGEND

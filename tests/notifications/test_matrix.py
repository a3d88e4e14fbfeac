"""The compliance matrix of requirement 1c in the seed district, built by hand as the queries
would return it: the HTML page has every unit in order with the right colour per cell, the
legend and the counts per period; the markdown artifact fits Prefect's UI on a 1400 px screen;
at national scale the HTML groups units under the body above them and the markdown counts per
body."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from models.rules.consolidation import CELL_WORDS, Matrix, MatrixRow
from models.rules.vietnamese import period_short, sort_key
from notifications.matrix import MARKS, MAX_MATRIX_ROWS, NOT_OWED, matrix_html, matrix_markdown
from tests.notifications.conftest import national_matrix, seed_matrix
from tests.widths import columns

# Prefect's v2 UI, in Chromium at a 1400 px wide window, gives a markdown artifact a column
# 690 px wide (the navigation on the left and the artifact's details on the right take the
# rest), and its tables fill it. Measured there: the seed matrix's table is 578 px wide when
# nothing wraps (Chromium, Prefect's own web font, Noto Color Emoji), where the estimate below
# gives 634: a cell takes 32 px besides its text, and a character column under 6 px (an emoji
# counts two, as in a terminal). A table whose columns' widest cells add up, so estimated, to
# at most 690 px shows without wrapping or scrolling; one whose longest unbreakable words do
# shows without sideways scrolling, its cells wrapping at spaces.
COLUMN_PX, CELL_PX, CHAR_PX = 690, 32, 6


def table(markdown: str) -> list[list[str]]:
    """The markdown table's cells, rows without the alignment line, `**` dropped."""
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    return [
        [cell.strip().replace("**", "") for cell in row.strip("|").split("|")]
        for row in rows
        if not re.fullmatch(r"\|[:\-|]+\|", row)
    ]


def width_px(rows: list[list[str]], *, wrapping: bool = False) -> int:
    """The table's estimated width: each column's widest cell, or with `wrapping` its longest
    word, at CHAR_PX a column, plus CELL_PX."""

    def measure(cell: str) -> int:
        return max(map(columns, cell.split(" "))) if wrapping else columns(cell)

    return sum(
        CELL_PX + CHAR_PX * max(measure(row[n]) for row in rows) for n in range(len(rows[0]))
    )


class Cells(HTMLParser):
    """The matrix's rows: each row heading with its cells' classes and words."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[tuple[str, str]]]] = []
        self.groups: list[str] = []
        self._class = ""
        self._text = ""
        self._group = False
        self._small = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr":
            self._group = found.get("class") == "group"
        elif tag in ("th", "td"):
            self._class, self._text = found.get("class") or "", ""
        self._small = self._small or tag == "small"

    def handle_data(self, data: str) -> None:
        if not self._small:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        text = self._text.strip()
        if tag == "small":
            self._small = False
        elif tag == "th" and self._group:
            self.groups.append(text)
        elif tag == "th":
            self.rows.append((text, []))
        elif tag == "td" and "cell" in self._class.split() and self.rows:
            self.rows[-1][1].append((self._class, text))


def _parse(html: str) -> Cells:
    parser = Cells()
    parser.feed(html.split("<tbody>", 1)[1].split("<tfoot>", 1)[0])
    return parser


def test_the_page_shows_every_unit_in_order_with_its_colour() -> None:
    m = seed_matrix()
    html = matrix_html(m)
    assert "<link" not in html and "<script" not in html and "src=" not in html
    rows = _parse(html).rows
    assert [name for name, _ in rows] == [row.name for row in m.rows]
    assert [name for name, _ in rows] == sorted((name for name, _ in rows), key=sort_key)
    for (_, cells), row in zip(rows, m.rows, strict=True):
        assert [c for c, _ in cells] == [f"cell c-{s or 'none'}" for s in row.cells]
        assert [w for _, w in cells] == [CELL_WORDS[s] if s else "" for s in row.cells]
    lĩnh = dict(rows)["Xã Cẩm Lĩnh"]
    assert [w for _, w in lĩnh[:3]] == ["Quá hạn"] * 3
    assert '<td class="late-count bad">3</td>' in html  # the problem commune, at a glance
    for key, word in CELL_WORDS.items():
        assert f'<li class="c-{key}">{word}</li>' in html
    assert "Quý I/2024<br><small>hạn 15/03/2024</small>" in html
    assert "6 tháng đầu năm 2024<br><small>hạn 17/06/2024</small>" in html
    footer = html.split("<tfoot>", 1)[1]
    assert "18/20 · 2 quá hạn" in footer and "5/20" in footer
    assert re.search(r"<th colspan=\"2\">Sắp đến hạn</th>\s*(<td>[^<]*</td>){3}<td>15</td>", footer)


def test_the_page_colours_each_status_apart() -> None:
    css = matrix_html(seed_matrix()).split("<style>", 1)[1].split("</style>", 1)[0]
    colours = {
        key: re.search(rf"\.c-{key}\b[^{{]*\{{ background: (#[0-9a-f]{{6}})", css)
        for key in (
            "accepted",
            "accepted_late",
            "submitted",
            "returned",
            "overdue",
            "due_soon",
            "open",
        )
    }
    found = {key: match.group(1) for key, match in colours.items() if match}
    assert len(set(found.values())) == len(colours) == len(found)
    assert re.search(r"\.c-waived, \.c-transferred, \.c-closed \{ background: #f", css)


def test_at_national_scale_the_page_groups_units_under_their_body() -> None:
    m = national_matrix()
    assert len(m.rows) > MAX_MATRIX_ROWS
    parsed = _parse(matrix_html(m))
    parents = sorted({row.parent for row in m.rows if row.parent}, key=sort_key)
    assert [g.rsplit(" (", 1)[0] for g in parsed.groups] == parents
    assert parsed.groups[1] == "Ủy ban nhân dân huyện số 02 (21 đơn vị)"
    assert len(parsed.rows) == len(m.rows)
    first = [name for name, _ in parsed.rows[:21]]
    assert first == [row.name for row in m.rows if row.parent == parents[0]]
    assert {c for _, cells in parsed.rows[:21] for c, _ in cells} == {
        "cell c-closed",
        "cell c-none",
    }


def test_the_markdown_fits_prefects_column_without_wrapping() -> None:
    m = seed_matrix()
    markdown = matrix_markdown(m)
    rows = table(markdown)
    assert rows[0] == ["Đơn vị", "QI", "QII", "6TĐ", "QIII", "QIV", "6TC", "Năm"]
    assert [r[0] for r in rows[1:-1]] == [row.name for row in m.rows]
    assert rows[-1][0] == "Cộng" and rows[-1][1] == "18/20 🔴2" and rows[-1][5] == NOT_OWED
    lĩnh = next(r for r in rows if r[0] == "Xã Cẩm Lĩnh")
    assert lĩnh[1:4] == [MARKS["overdue"]] * 3 and lĩnh[5] == NOT_OWED
    assert all(mark in markdown for mark in MARKS.values())  # the legend
    assert "**QI** Quý I/2024 (hạn 15/03/2024)" in markdown
    assert width_px(rows) <= COLUMN_PX
    doubled = [MatrixRow(r.code, r.name, r.parent, r.cells * 2) for r in m.rows]
    wider = Matrix(m.directive, m.requirement, m.title, m.as_of, m.periods * 2, doubled)
    assert width_px(table(matrix_markdown(wider))) > COLUMN_PX  # the bound can be missed


def test_at_national_scale_the_markdown_has_one_row_per_body() -> None:
    m = national_matrix()
    rows = table(matrix_markdown(m))
    assert rows[0] == ["Đơn vị cấp trên", "Số ĐV", *(period_short(p.key) for p in m.periods)]
    assert len(rows) == 1 + 24 + 1
    assert rows[1] == ["UBND huyện số 01", "21", *[NOT_OWED] * 7]
    assert rows[2][:4] == ["UBND huyện số 02", "21", "18/20 🔴2", "18/21 🔴2"]
    assert rows[-1][:3] == ["Cộng", "504", "414/460 🔴46"]
    assert width_px(rows, wrapping=True) <= COLUMN_PX


def test_a_typed_name_stays_in_its_cell_as_typed() -> None:
    m = seed_matrix()
    hostile = "Xã [Cẩm](http://evil) | <b>Bình</b>\n## Hồ sơ"
    rows = [
        MatrixRow(r.code, hostile if n == 0 else r.name, r.parent, r.cells)
        for n, r in enumerate(m.rows)
    ]
    markdown = matrix_markdown(
        Matrix(m.directive, m.requirement, m.title, m.as_of, m.periods, rows)
    )
    table_rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table_rows) == len(rows) + 3
    assert all(len(re.findall(r"(?<!\\)\|", line)) == len(m.periods) + 2 for line in table_rows)
    assert "<b>" not in markdown and "](http" not in markdown.replace("\\](http", "")
    assert not re.search(r"^#+ Hồ sơ", markdown, flags=re.M)

"""The compliance matrix of one requirement: units × periods, each cell the unit's status in
that period on the day, so that a person sees at a glance which unit is the problem.

Two forms: a self-contained HTML page (`templates/matrix.html.j2`: inline CSS, a coloured
cell per status with its word, a legend, counts per period at the bottom), and a Prefect
markdown artifact that fits a 1400 px screen without sideways scrolling (a coloured mark and a
two-letter code per cell, short period headings explained above the table).

At national scale, more than `MAX_MATRIX_ROWS` units: the HTML page groups the units under the
body above them, each group opening with its own counts per period, rather than paging them.
One file keeps the browser's search over every unit, and the group lines say which district or
province to look at before any row is read; pages would cut a group in two and hide its totals.
The markdown artifact, which Prefect's UI renders whole, has one row per body instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from models.rules.consolidation import CELL_CODES, CELL_WORDS, Matrix, MatrixRow
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text, number_text, period_short, sort_key
from notifications.report import REPORTED, UNKNOWN_PARENT
from notifications.templating import environment

MAX_MATRIX_ROWS = 300
# Not owed by the unit itself any more: waived, passed on, closed.
SETTLED_ELSEWHERE = frozenset({"waived", "transferred", "closed"})
# A cell of the markdown form: a coloured mark and the status's code of one or two letters.
COLOURS = {
    "accepted": "🟢",
    "accepted_late": "🟡",
    "submitted": "🔵",
    "returned": "🟣",
    "overdue": "🔴",
    "due_soon": "🟠",
    "open": "⚪\ufe0f",  # emoji presentation, not a small text circle
    "waived": "⬜",
    "transferred": "⬜",
    "closed": "⬜",
}
MARKS = {status: f"{COLOURS[status]} {code}" for status, code in CELL_CODES.items()}
NOT_OWED = "–"


@dataclass(frozen=True, slots=True)
class Tally:
    """One period's cells of a group of units."""

    owed: int  # owed by the units themselves: not waived, passed on or closed
    reported: int
    overdue: int
    statuses: Counter[str]

    @classmethod
    def of(cls, cells: Sequence[str | None]) -> Tally:
        statuses = Counter(c for c in cells if c is not None)
        return cls(
            owed=sum(n for s, n in statuses.items() if s not in SETTLED_ELSEWHERE),
            reported=sum(statuses[s] for s in REPORTED),
            overdue=statuses["overdue"],
            statuses=statuses,
        )


def tallies(rows: Sequence[MatrixRow], periods: int) -> list[Tally]:
    """Each period's tally over `rows`."""
    return [Tally.of([row.cells[p] for row in rows]) for p in range(periods)]


def by_parent(rows: Sequence[MatrixRow]) -> list[tuple[str, list[MatrixRow]]]:
    """The rows under each body above them, bodies in Vietnamese order, rows in the given
    order."""
    groups: dict[str, list[MatrixRow]] = {}
    for row in rows:
        groups.setdefault(row.parent or UNKNOWN_PARENT, []).append(row)
    return sorted(groups.items(), key=lambda group: sort_key(group[0]))


def matrix_html(m: Matrix) -> str:
    """The matrix as one self-contained HTML page."""
    grouped = len(m.rows) > MAX_MATRIX_ROWS
    groups = by_parent(m.rows) if grouped else [("", m.rows)]
    present = {c for row in m.rows for c in row.cells if c is not None}
    return (
        environment()
        .get_template("matrix.html.j2")
        .render(
            m=m,
            words=CELL_WORDS,
            grouped=grouped,
            groups=[(name, rows, tallies(rows, len(m.periods))) for name, rows in groups],
            totals=tallies(m.rows, len(m.periods)),
            statuses=[s for s in CELL_WORDS if s in present],
            units=number_text(len(m.rows)),
        )
    )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(":--" if n == 0 else ":-:" for n in range(len(header))) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _count(tally: Tally) -> str:
    """A group's period in a few characters: reported / owed, and the overdue in red."""
    if not tally.owed:
        return NOT_OWED
    text = f"{tally.reported}/{tally.owed}"
    return f"{text} 🔴{tally.overdue}" if tally.overdue else text


def matrix_markdown(m: Matrix) -> str:
    """The matrix as a Prefect markdown artifact: one row per unit, or per body above the
    units beyond `MAX_MATRIX_ROWS` of them, and the periods' counts at the bottom."""
    heads = [period_short(p.key) for p in m.periods]
    periods = " · ".join(
        f"**{short}** {p.words}" + (f" (hạn {day_text(p.due)})" if p.due else "")
        for short, p in zip(heads, m.periods, strict=True)
    )
    count = "đã nộp / phải nộp, 🔴 quá hạn"
    if len(m.rows) > MAX_MATRIX_ROWS:
        explain = f"Mỗi ô: số đơn vị {count}."
        header = ["Đơn vị cấp trên", "Số ĐV", *heads]
        body = [
            [
                markdown_text(name.replace("Ủy ban nhân dân ", "UBND ", 1)),
                number_text(len(rows)),
                *map(_count, tallies(rows, len(m.periods))),
            ]
            for name, rows in by_parent(m.rows)
        ]
        total = ["**Cộng**", number_text(len(m.rows))]
    else:
        legend = " · ".join(f"{MARKS[s]} {word}" for s, word in CELL_WORDS.items())
        explain = f"Ký hiệu: {legend} · {NOT_OWED} không phải thực hiện. Dòng Cộng: {count}."
        header = ["Đơn vị", *heads]
        body = [
            [markdown_text(row.name), *(MARKS[c] if c else NOT_OWED for c in row.cells)]
            for row in m.rows
        ]
        total = ["**Cộng**"]
    body.append([*total, *map(_count, tallies(m.rows, len(m.periods)))])
    lines = [
        f"### {m.requirement} · {markdown_text(m.title)}",
        "",
        f"Chỉ thị `{m.directive}`, tình hình ngày {day_text(m.as_of)}: "
        f"{number_text(len(m.rows))} đơn vị.",
        "",
        f"Kỳ: {periods}.",
        "",
        explain,
        "",
        *_table(header, body),
    ]
    return "\n".join(lines) + "\n"

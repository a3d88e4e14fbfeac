"""How many pages a Word document dondoc drafts takes when printed, estimated from the document
itself (no word processor here: LibreOffice is not installed), for the tests that bound a
document's length.

The estimate lays the body out as a word processor does, erring long:
- each character as wide as Times New Roman draws it (the advance widths of Adobe's Times
  metrics, which Times New Roman shares; Vietnamese letters as wide as their base letter, ư
  and ơ a little wider; bold 8 % wider; anything else half an em); no kerning, which only
  narrows;
- lines broken greedily at spaces within the paragraph's or the cell's width (less the
  indents and the cells' margins);
- each line as high as its font's single line (1.15 em: Times New Roman's ascent, descent and
  gap) times the paragraph's line spacing, read from the paragraph, else its table's style,
  else the document's defaults; spacing before and after likewise;
- a table row never broken across pages (a word processor may break one), a paragraph broken
  between its lines.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator
from typing import Any

from docx.document import Document
from docx.oxml.ns import qn
from docx.shared import Length
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

SINGLE_EM = 1.15  # Times New Roman's line: (ascent 1825 + descent 443 + gap 87) / 2048
BOLD = 1.08
CELL_MARGINS_TWIPS = 2 * 108  # Word's default left and right cell margins
BORDER_PT = 0.5  # a single rule of size 4 (eighths of a point) under each row
# Advance widths in thousandths of an em (Adobe Times-Roman).
WIDTHS = dict(
    zip(
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
        "abcdefghijklmnopqrstuvwxyz{|}~",
        (
            250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278,
            *[500] * 10, 278, 278, 564, 564, 564, 444, 921,
            722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889, 722, 722, 556,
            722, 667, 556, 611, 722, 722, 944, 722, 722, 611, 333, 278, 333, 469, 500, 333,
            444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500, 500,
            500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541,
        ),
        strict=True,
    )
)  # fmt: skip
WIDER = {"ư": 560, "ơ": 560, "Ư": 800, "Ơ": 800, "đ": 500, "Đ": 722, "–": 500, "—": 1000}


def char_em(ch: str) -> float:
    """How wide a character is, in ems."""
    if ch in WIDER:
        return WIDER[ch] / 1000
    base = unicodedata.normalize("NFD", ch)[:1]
    return WIDTHS.get(base, 500) / 1000


def text_pt(text: str, size: float, bold: bool) -> float:
    """How wide a text is, in points."""
    return sum(char_em(ch) for ch in text) * size * (BOLD if bold else 1)


def _defaults(document: Document) -> tuple[float, float, float]:
    """The document's default spacing before and after a paragraph (pt) and line spacing."""
    spacing = document.styles.element.find(f"{qn('w:docDefaults')}//{qn('w:spacing')}")
    if spacing is None:
        return 0.0, 0.0, 1.0
    before = int(spacing.get(qn("w:before"), "0")) / 20
    after = int(spacing.get(qn("w:after"), "0")) / 20
    line = int(spacing.get(qn("w:line"), "240")) / 240
    return before, after, line


class Layout:
    """The estimate for one document; `pages()` gives it."""

    def __init__(self, document: Document) -> None:
        self.document = document
        section = document.sections[0]
        self.height = Length(section.page_height - section.top_margin - section.bottom_margin).pt
        self.width = Length(section.page_width - section.left_margin - section.right_margin).pt
        self.defaults = _defaults(document)
        normal = document.styles["Normal"].font.size
        self.size = normal.pt if normal is not None else 11.0

    def _spacing(self, paragraph: Paragraph, table: Table | None) -> tuple[float, float, float]:
        """Before, after (pt) and the line spacing: the paragraph's own, else its style's,
        else its table style's, else the document's."""
        before, after, line = self.defaults
        for source in (table.style if table is not None else None, paragraph.style, paragraph):
            if source is None:
                continue
            fmt = source.paragraph_format
            before = fmt.space_before.pt if fmt.space_before is not None else before
            after = fmt.space_after.pt if fmt.space_after is not None else after
            if isinstance(fmt.line_spacing, float):
                line = fmt.line_spacing
        return before, after, line

    def _mark(self, paragraph: Paragraph) -> float:
        """The size of the paragraph's mark, in points: its own, else its style's."""
        size = paragraph._p.find(f"{qn('w:pPr')}/{qn('w:rPr')}/{qn('w:sz')}")
        if size is not None:
            return int(size.get(qn("w:val"))) / 2
        style = paragraph.style.font.size if paragraph.style is not None else None
        return style.pt if style is not None else self.size

    def lines(self, paragraph: Paragraph, width: float) -> tuple[int, float]:
        """How many lines the paragraph takes within `width` points, and its largest font."""
        fmt = paragraph.paragraph_format
        left = fmt.left_indent.pt if fmt.left_indent is not None else 0.0
        right = fmt.right_indent.pt if fmt.right_indent is not None else 0.0
        first = fmt.first_line_indent.pt if fmt.first_line_indent is not None else 0.0
        words: list[tuple[float, float]] = []  # (width of the word, of the space after it)
        sizes = [self._mark(paragraph)]  # the last line is as high as the mark, at least
        for run in paragraph.runs:
            if not run.text:  # no glyph, no height
                continue
            size = run.font.size.pt if run.font.size is not None else self.size
            sizes.append(size)
            bold = bool(run.bold)
            pieces = run.text.split(" ")
            for n, piece in enumerate(pieces):
                if n > 0 and words:
                    words[-1] = (words[-1][0], text_pt(" ", size, bold))
                if piece:
                    words.append((text_pt(piece, size, bold), 0.0))
        count, used, room = 1, 0.0, width - left - right - first
        for word, space in words:
            if used and used + word > room:
                count, used, room = count + 1, 0.0, width - left - right
            if word > room:  # a word wider than the line is broken anywhere
                extra = math.ceil(word / room) - 1
                count, used = count + extra, word - extra * room
            else:
                used += word
            used += space
        return count, max(sizes)

    def _paragraph(self, paragraph: Paragraph, width: float, table: Table | None) -> list[float]:
        """The heights of the paragraph's lines, spacing included in its first and last."""
        before, after, spacing = self._spacing(paragraph, table)
        count, size = self.lines(paragraph, width)
        heights = [size * SINGLE_EM * spacing] * count
        heights[0] += before
        heights[-1] += after
        return heights

    def _cell(self, cell: _Cell, table: Table) -> float:
        width = (cell.width.pt if cell.width is not None else self.width) - CELL_MARGINS_TWIPS / 20
        return sum(sum(self._paragraph(p, width, table)) for p in cell.paragraphs)

    def atoms(self) -> Iterator[float]:
        """The heights of what cannot be broken across pages, in order: the lines of the body's
        paragraphs, the rows of its tables."""
        body = self.document.element.body
        for child in body.iterchildren():
            if child.tag == qn("w:p"):
                yield from self._paragraph(Paragraph(child, self.document), self.width, None)
            elif child.tag == qn("w:tbl"):
                table = Table(child, self.document)
                ruled = table.style is not None and table.style.name == "Table Grid"
                for row in table.rows:
                    height = max(self._cell(cell, table) for cell in row.cells)
                    yield height + (BORDER_PT if ruled else 0.0)

    def pages(self) -> int:
        count, used = 1, 0.0
        for height in self.atoms():
            if used and used + height > self.height:
                count, used = count + 1, 0.0
            used += height
        return count


def pages(document: Any) -> int:
    """The pages a python-docx document takes, as estimated above."""
    return Layout(document).pages()

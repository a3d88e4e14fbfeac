"""What the lead office consolidates: reporting rates as DHIS2 defines them, the compliance
matrix, and the consolidated report of one requirement and period.

Definitions, for a requirement, a period and a group of units:
- expected: the units that owe it (who owed a period is settled when it opens, and by the
  hand-overs of closing units), less those waived; transferred and closed obligations belong
  to nobody any more (their successor's obligation counts instead);
- reported: handed in and not sent back (submitted, accepted, accepted late);
- on time: reported, handed in by the effective due date (local day);
- overdue: expected, not reported, past the effective due date on the day;
- rates: reported / expected and on time / expected (None with nothing expected);
- totals add up the figures of accepted submissions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

# The shape of a cell in the compliance matrix: the status on the day, with "accepted" read as
# accepted on time. None: the unit did not owe that period.
CELL_WORDS = {
    "accepted": "Đúng hạn",
    "accepted_late": "Trễ hạn",
    "submitted": "Chờ xét",
    "returned": "Trả lại",
    "overdue": "Quá hạn",
    "due_soon": "Sắp đến hạn",
    "open": "Chưa đến hạn",
    "waived": "Được miễn",
    "transferred": "Đã chuyển",
    "closed": "Đã đóng",
}
# The same statuses in one or two letters, for tables too narrow for the words (explained
# beside them).
CELL_CODES = {
    "accepted": "ĐH",
    "accepted_late": "TH",
    "submitted": "CX",
    "returned": "TL",
    "overdue": "QH",
    "due_soon": "SH",
    "open": "CH",
    "waived": "M",
    "transferred": "C",
    "closed": "Đ",
}


@dataclass(frozen=True, slots=True)
class Rate:
    """Reporting of one requirement and period by one group of units (`group`: a kind, a tag,
    a parent unit's code, or "" for all the units)."""

    requirement: str
    period: str
    group: str
    expected: int
    reported: int
    on_time: int
    waived: int
    overdue: int

    @property
    def reporting_rate(self) -> float | None:
        return self.reported / self.expected if self.expected else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.expected if self.expected else None


@dataclass(frozen=True, slots=True)
class TargetCount:
    """How many accepted reports reached a figure's target."""

    requirement: str
    period: str
    group: str
    figure: str
    target: str  # in words: "ít nhất 1"
    accepted: int
    met: int


@dataclass(frozen=True, slots=True)
class PeriodInfo:
    key: str
    words: str  # "Quý I/2024"
    start: date
    end: date | None
    due: date | None  # the directive's due date for the units


@dataclass(frozen=True, slots=True)
class FigureTotal:
    """One figure over the accepted submissions: the sum for numbers (booleans count the
    yes answers), None for text."""

    key: str
    label: str
    unit: str | None
    total: float | None
    count: int  # accepted submissions that gave it
    target: str | None  # in words, "ít nhất 1", when the figure has one


class UnitReport(NamedTuple):
    """One unit's line in the consolidated report (a named tuple: a national report builds
    ten thousand)."""

    code: str
    name: str
    status: str  # status on the day (models.rules.status.STATUSES)
    handed_in: date | None  # local day of the latest submission
    on_time: bool | None  # None when not reported
    figures: dict[str, float | str | None]  # accepted figures only
    narrative: str | None
    evidence: str | None
    missed: tuple[str, ...] = ()  # keys of the figures whose target it missed
    parent: str | None = None  # the body above it, by name, as MatrixRow.parent


@dataclass(frozen=True, slots=True)
class Office:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Consolidation:
    """The consolidated report of one requirement and period, as of a day: made by the unit
    its reports are handed to, for the unit that unit reports to (the lead office for the
    directive's issuer, unless a requirement that sums this one up names others), each the
    holder of the role that day, named as they were then."""

    directive: str  # code
    subject: str  # the directive document's subject line
    document: str  # "Công văn số …/UBND-VHTT ngày …" as far as it is known
    issued_by: str  # the body that issued that document, as named on its date
    issuer: Office  # who receives the report
    lead: Office  # who consolidates and signs it
    above: Office | None  # the body above the one that signs, over it in the header
    requirement: str
    title: str
    period: PeriodInfo
    as_of: date
    rate: Rate
    totals: list[FigureTotal]
    units: list[UnitReport]  # every expected or waived unit, Vietnamese order
    targets: list[TargetCount] = field(default_factory=list)

    @property
    def late(self) -> list[UnitReport]:
        return [u for u in self.units if u.on_time is False]

    @property
    def missing(self) -> list[UnitReport]:
        return [u for u in self.units if u.on_time is None and u.status != "waived"]

    @property
    def waived(self) -> list[UnitReport]:
        return [u for u in self.units if u.status == "waived"]

    @property
    def targets_missed(self) -> list[UnitReport]:
        return [u for u in self.units if u.missed]


@dataclass(frozen=True, slots=True)
class MatrixRow:
    code: str
    name: str
    parent: str | None  # the name of the body above the unit
    cells: tuple[str | None, ...]  # a CELL_WORDS key per period, None where not owed


@dataclass(frozen=True, slots=True)
class Matrix:
    """Units × periods of one requirement, as of a day; rows in Vietnamese order."""

    directive: str
    requirement: str
    title: str
    as_of: date
    periods: list[PeriodInfo]
    rows: list[MatrixRow]

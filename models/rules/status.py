"""Status as of a day: the one definition that listings, the daily table, chasing, rates and
forms all use.

The log stores what happened (open, submitted, returned, accepted, accepted late, waived,
closed); what people see on a given day also depends on the due date: an open or returned
obligation past its effective due date is overdue, and an open one due within the next few
working days is due soon. `RULES` states that once; `status_on` applies it in Python and
`models.storage.queries.status_expression` builds the same rules into SQL. Pure: no database,
no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from models.rules.workdays import WorkCalendar

# Every status a person can see, in the order tables show them.
STATUSES = (
    "open",
    "due_soon",
    "overdue",
    "submitted",
    "returned",
    "accepted",
    "accepted_late",
    "waived",
    "closed",
    "transferred",
)

# What people read in tables, receipts and forms (Vietnamese first).
STATUS_WORDS = {
    "open": "Trong hạn",
    "due_soon": "Sắp đến hạn",
    "overdue": "Quá hạn",
    "submitted": "Đã nộp, chờ xét",
    "returned": "Trả lại để bổ sung",
    "accepted": "Đã chấp nhận",
    "accepted_late": "Chấp nhận (nộp trễ)",
    "waived": "Được miễn",
    "closed": "Đã đóng",
    "transferred": "Chuyển đơn vị kế thừa",
}


@dataclass(frozen=True, slots=True)
class Day:
    """The day statuses are judged on, and the last day that still counts as due soon."""

    day: date
    soon_until: date

    @classmethod
    def of(cls, day: date, calendar: WorkCalendar, soon_working_days: int) -> Day:
        """Due soon means due within `soon_working_days` working days of `day`."""
        return cls(day, calendar.add_working_days(day, soon_working_days))


@dataclass(frozen=True, slots=True)
class Rule:
    """A stored status shown as another one when its effective due date is `due` the day:
    `before` the day itself, or `by` the end of the due-soon window."""

    stored: tuple[str, ...]
    due: Literal["before", "by"]
    shown: str


# The first rule that matches wins; an obligation no rule matches (or with no due date: a
# standing duty) shows its stored status.
RULES = (
    Rule(("open", "returned"), "before", "overdue"),
    Rule(("open",), "by", "due_soon"),
)


def status_on(stored: str, effective_due: date | None, on: Day) -> str:
    """What an obligation stored as `stored` and due `effective_due` shows on the day."""
    if effective_due is None:
        return stored
    for rule in RULES:
        due_matches = (
            effective_due < on.day if rule.due == "before" else effective_due <= on.soon_until
        )
        if stored in rule.stored and due_matches:
            return rule.shown
    return stored

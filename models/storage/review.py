"""The lead office's review desk: what it can decide on, with what each unit handed in.

An officer narrows the directive's obligations by requirement, period, unit (or a body above
units: a province or district brings all its units) and status; the desk counts the matches
and lists the first `LISTED` of them, each with the figures under their labels, the narrative,
the evidence and how late it was handed in, so a decision is taken on what was sent. The
queries are bounded by the filters and the limit, whatever the number of units.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import InputError, Unauthorized
from models.rules.authz import check_unit_open
from models.rules.obligation import OPEN_STATES
from models.rules.status import Day
from models.rules.vietnamese import sort_key
from models.rules.workdays import local_date
from models.storage.db import transaction
from models.storage.desk import returned_reasons
from models.storage.ledger import load_actor, record_denial
from models.storage.queries import status_as_of
from models.storage.reference import holder_on, published_codes
from models.storage.reporting import Scope, joined, period_order
from models.storage.tables import DIRECTIVE, EVENT, OBLIGATION, REQUIREMENT, UNIT

# What the lead office can act on: submitted reports (accept, return), and what is still owed
# (extend, waive), by the status shown on the day.
ACTIONABLE = ("submitted", *OPEN_STATES)
# The statuses an officer can narrow to, in the order the desk lists them.
REVIEW_STATUSES = ("submitted", "overdue", "due_soon", "returned", "open")
# What a person can read through before deciding; past it, the officer narrows the filters.
LISTED = 20


def check_reviewer(engine: Engine, username: str, *, directive: str, now: datetime) -> None:
    """Refuse, before the desk shows anything, a person who decides nothing in `directive`:
    its review desk is for the unit holding its lead office's role, the units holding the
    role of a recipient of the lead office's reports, and administrators. A refusal is
    recorded; a directive that is not published is refused as the desk's filters are."""
    try:
        with transaction(engine, writes=False) as conn:
            actor = load_actor(conn, username, "review")
            lead = conn.execute(
                sa.select(DIRECTIVE.c.lead_unit_code).where(
                    DIRECTIVE.c.code == directive, DIRECTIVE.c.status == "published"
                )
            ).scalar()
            if lead is None:
                raise InputError(
                    "form",
                    "directive",
                    directive,
                    "names no published directive",
                    vi=f"Không có chỉ thị đã công bố nào mã «{directive}».",
                )
            if actor.role == "admin":
                return
            today = local_date(now)
            check_unit_open(actor, "review", today)
            if _decides(conn, actor.unit_code, directive, lead, today):
                return
            raise Unauthorized(
                f"{username} of unit {actor.unit_code} decides nothing in {directive}: its review "
                "desk is for its lead office, the recipients of the lead office's reports and "
                "administrators",
                vi=f"Bàn xét duyệt của chỉ thị {directive} dành cho cơ quan chủ trì và đơn vị nhận "
                f"báo cáo; tài khoản {username} thuộc đơn vị {actor.unit_code}.",
            )
    except Unauthorized as denied:
        record_denial(
            engine,
            actor=username,
            command="review",
            target=f"directive {directive}",
            reason=str(denied),
            now=now,
        )
        raise


def _decides(conn: sa.Connection, unit: str, directive: str, lead: str, today: date) -> bool:
    """Whether `unit` holds, on `today`, the role of the directive's lead office or of a
    recipient of the lead office's reports."""
    recipients = conn.execute(
        sa.select(REQUIREMENT.c.recipient_code)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .where(DIRECTIVE.c.code == directive, REQUIREMENT.c.recipient_code.is_not(None))
        .distinct()
    ).scalars()
    return any(holder_on(conn, office, today) == unit for office in {lead, *recipients})


def desks_of(engine: Engine, username: str, *, now: datetime) -> list[str]:
    """The published directives whose review desk is the person's (`check_reviewer` would let
    them in), by code; nothing is recorded for the others, which are only not listed."""
    today = local_date(now)
    with transaction(engine, writes=False) as conn:
        try:
            actor = load_actor(conn, username, "review")
            check_unit_open(actor, "review", today)
        except (InputError, Unauthorized):
            return []
        leads = conn.execute(
            sa.select(DIRECTIVE.c.code, DIRECTIVE.c.lead_unit_code)
            .where(DIRECTIVE.c.status == "published")
            .order_by(DIRECTIVE.c.code)
        ).all()
        return [
            code
            for code, lead in leads
            if actor.role == "admin" or _decides(conn, actor.unit_code, code, lead, today)
        ]


@dataclass(frozen=True, slots=True)
class Shown:
    """One figure as handed in: its label, value and unit of measure."""

    label: str
    value: Any
    unit: str | None


@dataclass(frozen=True, slots=True)
class Case:
    """One obligation the lead office can decide on, with what its unit handed in."""

    obligation_id: int
    unit: str
    unit_name: str
    requirement: str
    title: str
    period: str
    due: date | None  # the effective due date
    status: str  # as of the day
    figures: list[Shown]
    narrative: str | None
    evidence: str | None
    submitted_at: datetime | None
    handed_in: date | None  # the local day the report arrived
    submitted_by: str | None
    reason: str | None  # why it was last returned, while it stays returned

    @property
    def days_late(self) -> int:
        """Days past the due date: of the hand-in for a report, of the day otherwise."""
        if self.due is None or self.handed_in is None:
            return 0
        return max(0, (self.handed_in - self.due).days)


@dataclass(frozen=True, slots=True)
class Cases:
    """The matches of one review query: how many in all, and the first of them."""

    total: int
    listed: list[Case]


@dataclass(frozen=True, slots=True)
class Choices:
    """What a directive's review form offers to narrow by: its requirements with periods, and
    the periods each one's obligations have, in chronological order."""

    requirements: list[tuple[str, str]]  # (code, title)
    periods: dict[str, list[str]]  # by requirement code (one an amendment dropped too)


def choices(engine: Engine, directive: str, *, requirement: str | None = None) -> Choices:
    """The requirements and periods of one published directive (the periods of only one of
    its requirements, given it)."""
    with transaction(engine, writes=False) as conn:
        scope = Scope(conn, directive, requirement=requirement, source="form")
        rows = conn.execute(
            joined(
                sa.select(
                    REQUIREMENT.c.code,
                    OBLIGATION.c.period_key,
                    sa.func.min(OBLIGATION.c.period_start).label("start"),
                    sa.func.max(OBLIGATION.c.period_end).label("end"),
                ),
                units=False,
            )
            .where(*scope.filters)
            .group_by(REQUIREMENT.c.code, OBLIGATION.c.period_key)
        ).all()
    requirements = [(r.code, r.title) for r in scope.spec.requirements if not r.standing]
    # a requirement an amendment dropped still has the periods it was owed for
    periods: dict[str, list[str]] = {
        code: [] for code, spec in scope.requirements.items() if not spec.standing
    }
    for r in sorted(rows, key=lambda r: period_order(r.start, r.end)):
        if r.code in periods:
            periods[r.code].append(r.period_key)
    return Choices(requirements, periods)


def all_choices(engine: Engine) -> dict[str, Choices]:
    """`choices` of every published directive, by its code."""
    with transaction(engine, writes=False) as conn:
        codes = published_codes(conn)
    return {code: choices(engine, code) for code in codes}


def _units_under(conn: sa.Connection, code: str) -> sa.Select[Any]:
    """The unit `code` and every unit below it, as a subquery of codes; an unknown code is
    refused, naming it."""
    known = conn.execute(sa.select(UNIT.c.name).where(UNIT.c.code == code)).first()
    if known is None:
        raise InputError(
            "form",
            "unit",
            code,
            "names no unit",
            vi=f"Không có đơn vị mã {code}: ghi mã của một đơn vị, hoặc của tỉnh, huyện để xem "
            "mọi đơn vị trực thuộc.",
        )
    tree = sa.select(UNIT.c.code).where(UNIT.c.code == code).cte("subtree", recursive=True)
    tree = tree.union_all(sa.select(UNIT.c.code).where(UNIT.c.parent_code == tree.c.code))
    return sa.select(tree.c.code)


def _submitters(conn: sa.Connection, ids: list[int]) -> dict[int, str]:
    """Who handed in each obligation's latest submission."""
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(EVENT.c.obligation_id, EVENT.c.actor)
        .where(EVENT.c.obligation_id.in_(ids), EVENT.c.kind == "submitted")
        .order_by(EVENT.c.obligation_id, EVENT.c.version)
    )
    return {r.obligation_id: r.actor for r in rows}


def _figures(scope: Scope, requirement: str, stored: str | None) -> list[Shown]:
    values = json.loads(stored) if stored else {}
    return [
        Shown(f.label, values.get(f.key), f.unit)
        for f in scope.spec_of(requirement).what.figures
        if f.key in values
    ]


def cases(
    engine: Engine,
    *,
    directive: str,
    on: Day,
    requirement: str | None = None,
    period: str | None = None,
    unit: str | None = None,
    status: str | None = None,
    obligation: int | None = None,
    limit: int = LISTED,
) -> Cases:
    """The obligations of `directive` the lead office can act on that match the filters (a
    `unit` brings the units under it too; `status` is one of REVIEW_STATUSES, as of the
    day), or the one `obligation` of the directive whatever its status: how many, and the
    first `limit`: submitted reports first, then by period and unit code; each status's and
    period's units in Vietnamese alphabetical order."""
    if status is not None and status not in REVIEW_STATUSES:
        raise InputError(
            "form",
            "status",
            status,
            f"must be one of {', '.join(REVIEW_STATUSES)}",
            vi=f"Tình trạng «{status}» không có trong bàn xét duyệt.",
        )
    shown = status_as_of(on)
    with transaction(engine, writes=False) as conn:
        scope = Scope(conn, directive, requirement=requirement, period=period, source="form")
        filters = [
            *scope.filters,
            OBLIGATION.c.status.in_(ACTIONABLE)
            if obligation is None
            else OBLIGATION.c.id == obligation,
        ]
        if status is not None:
            filters.append(shown == status)
        if unit is not None:
            filters.append(OBLIGATION.c.unit_code.in_(_units_under(conn, unit)))
        total = conn.execute(
            joined(sa.select(sa.func.count()), units=False).where(*filters)
        ).scalar_one()
        rows = conn.execute(
            joined(
                sa.select(
                    OBLIGATION.c.id,
                    OBLIGATION.c.unit_code,
                    UNIT.c.name,
                    REQUIREMENT.c.code.label("requirement"),
                    REQUIREMENT.c.title,
                    OBLIGATION.c.period_key,
                    OBLIGATION.c.period_start,
                    OBLIGATION.c.period_end,
                    OBLIGATION.c.effective_due,
                    OBLIGATION.c.status,
                    shown.label("shown"),
                    OBLIGATION.c.figures,
                    OBLIGATION.c.narrative,
                    OBLIGATION.c.evidence,
                    OBLIGATION.c.submitted_at,
                    OBLIGATION.c.handed_in_on,
                )
            )
            .where(*filters)
            .order_by(
                OBLIGATION.c.status != "submitted",
                OBLIGATION.c.period_end.nulls_last(),
                OBLIGATION.c.period_start.desc(),
                REQUIREMENT.c.code,
                OBLIGATION.c.unit_code,
            )
            .limit(limit)
        ).all()
        submitted = [r.id for r in rows if r.status == "submitted"]
        by = _submitters(conn, submitted)
        reasons = returned_reasons(conn, [r.id for r in rows if r.status == "returned"])
    ordered = sorted(
        rows,
        key=lambda r: (
            r.status != "submitted",
            period_order(r.period_start, r.period_end),
            r.requirement,
            sort_key(r.name),
        ),
    )
    listed = [
        Case(
            r.id,
            r.unit_code,
            r.name,
            r.requirement,
            r.title,
            r.period_key,
            r.effective_due,
            r.shown,
            _figures(scope, r.requirement, r.figures) if r.status == "submitted" else [],
            r.narrative if r.status == "submitted" else None,
            r.evidence if r.status == "submitted" else None,
            r.submitted_at if r.status == "submitted" else None,
            r.handed_in_on if r.status == "submitted" else None,
            by.get(r.id),
            reasons.get(r.id),
        )
        for r in ordered
    ]
    return Cases(total, listed)

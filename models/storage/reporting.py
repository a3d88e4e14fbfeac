"""The consolidation queries: rates, target counts, the compliance matrix and the consolidated
report, each a few grouped SQL queries that read the same on SQLite and PostgreSQL. The
definitions are in `models.rules.consolidation`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from models.errors import Failures, InputError
from models.files.directive import DirectiveSpec, RequirementSpec, document_day
from models.files.registry import UnitRow
from models.rules.consolidation import (
    Consolidation,
    FigureTotal,
    Matrix,
    MatrixRow,
    Office,
    PeriodInfo,
    Rate,
    TargetCount,
    UnitReport,
)
from models.rules.deliverable import Figure
from models.rules.status import Day
from models.rules.vietnamese import day_text, period_words, sort_key, sorted_vi
from models.storage.db import transaction
from models.storage.queries import status_as_of
from models.storage.reference import Units, UnitThen, upsert
from models.storage.tables import (
    DIRECTIVE,
    DRAFT,
    EVENT,
    FIGURE_VALUE,
    OBLIGATION,
    REQUIREMENT,
    REVISION,
    UNIT,
)

Grouping = Literal["kind", "tag", "parent"]
GROUPINGS: tuple[Grouping, ...] = ("kind", "tag", "parent")
REPORTED = ("submitted", "accepted", "accepted_late")
ACCEPTED = ("accepted", "accepted_late")
# obligations nobody owes any more: their unit closed (with or without a successor)
GONE = ("transferred", "closed")
NO_PERIOD = ("standing",)
_decode = json.JSONDecoder().decode


def _reported() -> sa.ColumnElement[bool]:
    return OBLIGATION.c.status.in_(REPORTED)


def _on_time() -> sa.ColumnElement[bool]:
    """Reported, and arrived by the effective due date (the rule `decide_accept` applies)."""
    return sa.and_(
        _reported(),
        sa.or_(
            OBLIGATION.c.effective_due.is_(None),
            OBLIGATION.c.handed_in_on <= OBLIGATION.c.effective_due,
        ),
    )


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _group_column(by: Grouping | None) -> sa.ColumnElement[Any]:
    """A unit's group as it was at the period's end: a rate about 2024 groups a commune by its
    kind, tags and parent of 2024 (of `UNIT_THEN`, which `joined(dated=True)` joins)."""
    if by == "kind":
        return UNIT_THEN.column("kind")
    if by == "parent":
        return sa.func.coalesce(UNIT_THEN.column("parent_code"), "")
    if by == "tag":
        # a JSON list: spread over its tags after the query
        return UNIT_THEN.column("tags")
    return sa.literal("")


def _groups(by: Grouping | None, value: str) -> list[str]:
    return json.loads(value) if by == "tag" else [value]


def period_order(start: date, end: date | None) -> tuple[date, int]:
    """Chronological: by the last day, the shorter period first (Q2 before H1)."""
    return (end or date.max, -start.toordinal())


class Scope:
    """One published directive, and optionally one of its requirements and periods, checked
    against the database; `source` names where the codes came from in errors."""

    def __init__(
        self,
        conn: Connection,
        directive: str,
        *,
        requirement: str | None = None,
        period: str | None = None,
        source: str = "report",
    ) -> None:
        rows = conn.execute(_WITH_REVISIONS, {"code": directive}).all()
        if not rows:
            raise InputError(source, "directive", directive, "names no published directive")
        self.row = row = rows[0]
        self.spec = DirectiveSpec.model_validate_json(row.content)
        self.requirements = {r.code: r for r in self.spec.requirements}
        self.first, self.amendments = _amendments(
            [r for r in rows if r.revision_number is not None]
        )
        if self.amendments:
            # a requirement an amendment dropped (only an amendment drops one) still reports
            # the periods it was owed for
            for code, spec in conn.execute(
                sa.select(REQUIREMENT.c.code, REQUIREMENT.c.spec)
                .where(
                    REQUIREMENT.c.directive_id == row.id,
                    REQUIREMENT.c.code.not_in(list(self.requirements)),
                )
                .order_by(REQUIREMENT.c.id)
            ):
                self.requirements[code] = RequirementSpec.model_validate_json(spec)
        if requirement is not None and requirement not in self.requirements:
            known = ", ".join(self.requirements)
            raise InputError(
                source, "requirement", requirement, f"is not a requirement of {directive} ({known})"
            )
        if requirement is not None and self.requirements[requirement].standing:
            raise InputError(
                source, "requirement", requirement, "is a standing duty: it has no periods"
            )
        self.requirement = requirement
        self.filters = [DIRECTIVE.c.code == directive, OBLIGATION.c.period_key.not_in(NO_PERIOD)]
        if requirement is not None:
            self.filters.append(REQUIREMENT.c.code == requirement)
        # the period's dates and due date, as one of its obligations has them
        self.period: Any = None
        if period is not None:
            self.filters.append(OBLIGATION.c.period_key == period)
            self.period = conn.execute(
                joined(
                    sa.select(
                        OBLIGATION.c.period_key,
                        OBLIGATION.c.period_start,
                        OBLIGATION.c.period_end,
                        OBLIGATION.c.due_date,
                    ),
                    units=False,
                )
                .where(*self.filters)
                .limit(1)
            ).first()
            if self.period is None:
                what = f"{directive} {requirement}" if requirement else directive
                raise InputError(source, "period", period, f"is not an opened period of {what}")

    def spec_of(self, requirement: str) -> RequirementSpec:
        return self.requirements[requirement]

    def meets(self, requirement: str, figure: Figure) -> sa.ColumnElement[bool]:
        """Whether an accepted value reaches the target its obligation is judged under: that
        of the latest amendment it follows (one that revised it, or under which it was
        opened, due from the amendment's day), else the directive's first text's; NULL where
        that text sets the figure no target. What was handed in before an amendment keeps
        the target it was handed in for."""
        if not self.amendments:
            return _meets(figure)
        return sa.case(
            *((self._follows(a), _meets_in(a.spec, requirement, figure)) for a in self.amendments),
            else_=_meets_in(self.first, requirement, figure),
        )

    def _follows(self, amendment: Amendment) -> sa.ColumnElement[bool]:
        key = f"revision:{self.row.code}:{amendment.number}:"
        revised = sa.exists().where(
            EVENT.c.idempotency_key == sa.literal(key) + sa.cast(OBLIGATION.c.id, sa.String)
        )
        opened = sa.and_(
            sa.exists().where(
                EVENT.c.obligation_id == OBLIGATION.c.id,
                EVENT.c.version == 1,
                EVENT.c.at >= amendment.made_at,
            ),
            sa.or_(
                OBLIGATION.c.due_date.is_(None),
                OBLIGATION.c.due_date >= amendment.effective_from,
            ),
        )
        return sa.or_(revised, opened)


@dataclass(frozen=True, slots=True)
class Amendment:
    """An amendment of a directive as the reports judge by it: its number, when it was made,
    the day it applies from, and the text it put in force."""

    number: int
    made_at: datetime
    effective_from: date
    spec: DirectiveSpec


# A directive by its code (`code`) with each of its revisions in order, one row each (the
# directive's row alone, its revision columns NULL, if it has none): `Scope`'s one read of both.
_WITH_REVISIONS = (
    sa.select(
        DIRECTIVE,
        *(
            REVISION.c[name].label(f"revision_{name}")
            for name in ("number", "kind", "made_at", "effective_from", "content", "replaced")
        ),
    )
    .outerjoin(REVISION, REVISION.c.directive_id == DIRECTIVE.c.id)
    .where(DIRECTIVE.c.code == sa.bindparam("code"))
    .order_by(REVISION.c.number)
)


def _amendments(rows: Sequence[Any]) -> tuple[DirectiveSpec | None, list[Amendment]]:
    """A revised directive's first text and its amendments, newest first, from its revisions'
    rows in order ((None, []) for a directive never revised)."""
    if not rows:
        return None, []
    amendments = [
        Amendment(
            r.revision_number,
            r.revision_made_at,
            r.revision_effective_from,
            DirectiveSpec.model_validate_json(r.revision_content),
        )
        for r in reversed(rows)
        if r.revision_kind == "amend"
    ]
    return DirectiveSpec.model_validate_json(rows[0].revision_replaced), amendments


def _meets_in(
    spec: DirectiveSpec | None, requirement: str, figure: Figure
) -> sa.ColumnElement[bool]:
    """`_meets` with the target `spec` sets the figure of `requirement` (NULL for none)."""
    found = None
    if spec is not None:
        req = next((r for r in spec.requirements if r.code == requirement), None)
        found = (
            None
            if req is None
            else next((f for f in req.what.figures if f.key == figure.key), None)
        )
    if found is None or found.target is None:
        return sa.null().cast(sa.Boolean)
    return _meets(found)


# the body above a unit, for the name it is grouped under
PARENT = UNIT.alias("parent")
# the unit and the body above it as they were at the period's end (see `joined`)
UNIT_THEN = UnitThen(UNIT, OBLIGATION.c.period_end)
PARENT_THEN = UnitThen(PARENT, OBLIGATION.c.period_end)


def joined(
    query: sa.Select[Any], *, units: bool = True, parent: bool = False, dated: bool = False
) -> sa.Select[Any]:
    """`query` over obligations with their requirement and directive (which the scope's
    filters name), and their unit (and its parent) only where they are read; `dated`: with
    their versions at the period's end, `UNIT_THEN` and `PARENT_THEN`, the parent being the
    one the unit had then."""
    query = query.join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id).join(
        DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id
    )
    if units or parent:
        query = query.join(UNIT, UNIT.c.code == OBLIGATION.c.unit_code)
        if dated:
            query = UNIT_THEN.join(query)
    if not parent:
        return query
    above = UNIT_THEN.column("parent_code") if dated else UNIT.c.parent_code
    query = query.outerjoin(PARENT, PARENT.c.code == above)
    return PARENT_THEN.join(query) if dated else query


def _rates(conn: Connection, scope: Scope, on: Day, by: Grouping | None) -> list[Rate]:
    group = _group_column(by).label("grp")
    shown = status_as_of(on)
    query = joined(
        sa.select(
            REQUIREMENT.c.code,
            OBLIGATION.c.period_key,
            sa.func.min(OBLIGATION.c.period_start).label("start"),
            sa.func.max(OBLIGATION.c.period_end).label("end"),
            group,
            _count(OBLIGATION.c.status.not_in((*GONE, "waived"))).label("expected"),
            _count(_reported()).label("reported"),
            _count(_on_time()).label("on_time"),
            _count(OBLIGATION.c.status == "waived").label("waived"),
            _count(shown == "overdue").label("overdue"),
        ),
        units=by is not None,
        dated=by is not None,
    ).where(*scope.filters)
    query = query.group_by(REQUIREMENT.c.code, OBLIGATION.c.period_key, group)
    sums: dict[tuple[str, str, str], list[int]] = {}
    order: dict[tuple[str, str], tuple[date, int]] = {}
    for r in conn.execute(query):
        order[(r.code, r.period_key)] = period_order(r.start, r.end)
        for name in _groups(by, r.grp):
            totals = sums.setdefault((r.code, r.period_key, name), [0, 0, 0, 0, 0])
            for i, value in enumerate((r.expected, r.reported, r.on_time, r.waived, r.overdue)):
                totals[i] += value
    keys = sorted(sums, key=lambda k: (sort_key(k[0]), order[(k[0], k[1])], sort_key(k[2])))
    return [Rate(req, period, name, *sums[(req, period, name)]) for req, period, name in keys]


def target_words(figure: Figure) -> str | None:
    """A figure's target in words: "ít nhất 1", "nhiều nhất 5", "từ 1 đến 5"."""
    target = figure.target
    if target is None:
        return None
    low, high = target.at_least, target.at_most
    if low is not None and high is not None:
        return f"từ {low:g} đến {high:g}"
    return f"ít nhất {low:g}" if low is not None else f"nhiều nhất {high:g}"


def _meets(figure: Figure) -> sa.ColumnElement[bool]:
    """Whether a stored figure value reaches the figure's target."""
    assert figure.target is not None
    bounds = []
    if figure.target.at_least is not None:
        bounds.append(FIGURE_VALUE.c.number >= figure.target.at_least)
    if figure.target.at_most is not None:
        bounds.append(FIGURE_VALUE.c.number <= figure.target.at_most)
    return sa.and_(*bounds)


def _with_targets(scope: Scope) -> list[tuple[str, Figure]]:
    codes = [scope.requirement] if scope.requirement else list(scope.requirements)
    return [
        (code, figure)
        for code in codes
        if (what := scope.spec_of(code).what) is not None
        for figure in what.figures
        if figure.target is not None
    ]


def _target_counts(
    conn: Connection, scope: Scope, by: Grouping | None, figure_of: Sequence[tuple[str, Figure]]
) -> list[TargetCount]:
    counts: dict[tuple[str, str, str, str], list[int]] = {}
    group = _group_column(by).label("grp")
    for code, figure in figure_of:
        query = joined(
            sa.select(
                OBLIGATION.c.period_key,
                group,
                _count(scope.meets(code, figure).is_not(None)).label("accepted"),
                _count(scope.meets(code, figure)).label("met"),
            ).join(FIGURE_VALUE, FIGURE_VALUE.c.obligation_id == OBLIGATION.c.id),
            units=by is not None,
            dated=by is not None,
        ).where(
            *scope.filters,
            REQUIREMENT.c.code == code,
            FIGURE_VALUE.c.key == figure.key,
            OBLIGATION.c.status.in_(ACCEPTED),
        )
        for r in conn.execute(query.group_by(OBLIGATION.c.period_key, group)):
            for name in _groups(by, r.grp):
                pair = counts.setdefault((code, r.period_key, name, figure.key), [0, 0])
                pair[0] += r.accepted
                pair[1] += r.met
    words = {(code, f.key): target_words(f) or "" for code, f in figure_of}
    return [
        TargetCount(code, period, name, key, words[(code, key)], accepted, met)
        for (code, period, name, key), (accepted, met) in counts.items()
    ]


def rates(
    engine: Engine,
    *,
    directive: str,
    on: Day,
    requirement: str | None = None,
    period: str | None = None,
    by: Grouping | None = None,
) -> tuple[list[Rate], list[TargetCount]]:
    """Rates per requirement, period and group, and how many accepted reports met each
    figure's target, in one read transaction."""
    with transaction(engine, writes=False) as conn:
        scope = Scope(conn, directive, requirement=requirement, period=period)
        found = _rates(conn, scope, on, by)
        targets = _target_counts(conn, scope, by, _with_targets(scope))
    place = {(r.requirement, r.period, r.group): i for i, r in enumerate(found)}
    targets.sort(key=lambda t: (place.get((t.requirement, t.period, t.group), 0), t.figure))
    return found, targets


def matrix(engine: Engine, *, directive: str, requirement: str, on: Day) -> Matrix:
    """Units × periods of one requirement: each cell the status on the day; each unit named,
    with the body above it, as it was at the end of its last period in the matrix (a matrix of
    2024 keeps the names of 2024)."""
    shown = status_as_of(on).label("shown")
    with transaction(engine, writes=False) as conn:
        scope = Scope(conn, directive, requirement=requirement)
        rows = conn.execute(
            joined(
                sa.select(
                    OBLIGATION.c.unit_code,
                    UNIT_THEN.column("name").label("name"),
                    PARENT_THEN.column("name").label("parent"),
                    OBLIGATION.c.period_key,
                    OBLIGATION.c.period_start,
                    OBLIGATION.c.period_end,
                    OBLIGATION.c.due_date,
                    shown,
                ),
                parent=True,
                dated=True,
            ).where(*scope.filters)
        ).all()
    periods = _periods(rows)
    column = {p.key: i for i, p in enumerate(periods)}
    cells: dict[str, list[str | None]] = {}
    units: dict[str, tuple[str, str | None]] = {}
    named_at: dict[str, int] = {}  # the period (its column) each unit's name is of
    for r in rows:
        if column[r.period_key] >= named_at.get(r.unit_code, -1):
            units[r.unit_code] = (r.name, r.parent)
            named_at[r.unit_code] = column[r.period_key]
        cells.setdefault(r.unit_code, [None] * len(periods))[column[r.period_key]] = r.shown
    ordered = sorted_vi(units, key=lambda code: units[code][0])
    return Matrix(
        directive=directive,
        requirement=requirement,
        title=scope.spec_of(requirement).title,
        as_of=on.day,
        periods=periods,
        rows=[MatrixRow(c, units[c][0], units[c][1], tuple(cells[c])) for c in ordered],
    )


def _periods(rows: Sequence[Any]) -> list[PeriodInfo]:
    """The distinct periods of the rows, chronologically; the due date the directive set (the
    earliest, should units of one period differ)."""
    found: dict[str, PeriodInfo] = {}
    for r in rows:
        known = found.get(r.period_key)
        if known is None or (r.due_date and (known.due is None or r.due_date < known.due)):
            found[r.period_key] = PeriodInfo(
                r.period_key, period_words(r.period_key), r.period_start, r.period_end, r.due_date
            )
    return sorted(found.values(), key=lambda p: period_order(p.start, p.end))


def _document(row: Any) -> str:
    """The directive's document as far as it is known: "Công văn số 12/UBND-VHTT ngày …"."""
    number = f"{row.number}/{row.symbol}" if row.number else f"…/{row.symbol}"
    day = row.document_date
    if len(day) == 10:
        when = f" ngày {day_text(date.fromisoformat(day))}"
    else:
        when = f" tháng {day[5:7]}/{day[:4]}"
    return f"Công văn số {number}{when}"


def _holding(units: Units, code: str, day: date) -> UnitRow:
    """Who holds unit `code`'s role on `day` (the unit, or its successor once it has closed;
    the unit itself if no one does), as it is that day."""
    holder = units.holder(code, day) or code
    unit = units.on(holder, day)
    assert unit is not None, holder  # a directive names units the register holds
    return unit


def _office(unit: UnitRow) -> Office:
    """A unit as the body that acts for it in documents (see `UnitRow.body`)."""
    return Office(unit.code, unit.body().name)


def _makers(scope: Scope, requirement: str) -> tuple[str, str]:
    """Who makes the consolidated report of `requirement`, and to whom it goes (unit codes):
    the unit owing the requirement that sums it up, to that requirement's recipient (the
    Sở's report of the communes' quarter goes to the ministry's department, which reports on
    the Sở's to the ministry); with none, the lead office, to the directive's issuer."""
    lead, issuer = scope.row.lead_unit_code, scope.row.issuer_code
    for req in scope.spec.requirements:
        if requirement in req.consolidates:
            (owner,) = req.who.units  # as the directive's file is checked
            recipient = req.to or lead
            return owner, issuer if recipient == owner else recipient
    return lead, issuer


def consolidation(
    engine: Engine, *, directive: str, requirement: str, period: str, on: Day
) -> Consolidation:
    """The consolidated report of one requirement and period as of the day."""
    shown = status_as_of(on).label("shown")
    with transaction(engine, writes=False) as conn:
        scope = Scope(conn, directive, requirement=requirement, period=period)
        what = scope.spec_of(requirement).what
        spec_figures = list(what.figures) if what else []
        (rate,) = _rates(conn, scope, on, None)
        targets = _target_counts(conn, scope, None, _with_targets(scope))
        lines = conn.execute(
            joined(
                sa.select(
                    OBLIGATION.c.id,
                    OBLIGATION.c.unit_code,
                    # a report about a period names units as they were named then
                    UNIT_THEN.column("name"),
                    OBLIGATION.c.status,
                    shown,
                    OBLIGATION.c.handed_in_on,
                    _on_time(),
                    OBLIGATION.c.figures,
                    OBLIGATION.c.narrative,
                    OBLIGATION.c.evidence,
                    PARENT_THEN.column("name"),
                ),
                parent=True,
                dated=True,
            ).where(*scope.filters, OBLIGATION.c.status.not_in(GONE))
        ).all()
        totals = _totals(conn, scope, spec_figures)
        missed = _missed(conn, scope, spec_figures)
        maker, recipient = _makers(scope, requirement)
        units = Units(conn)
        # the offices the report names, with their successors, in one read (the body above
        # the one that signs, if not among them, in another)
        units.read(recipient, maker, scope.row.issuer_code)
        issuer = _office(_holding(units, recipient, on.day))
        signs = _holding(units, maker, on.day)
        lead = _office(signs)
        parent = signs.parent_code
        # the body above the one that signs, for the report's header
        above = None if parent is None else _office(_holding(units, parent, on.day))
        issued_by = units.on(scope.row.issuer_code, document_day(scope.row.document_date))
        assert issued_by is not None, scope.row.issuer_code  # a directive's issuer is a unit
    (period_info,) = _periods([scope.period])  # one period: its dates are every row's
    return Consolidation(
        directive=directive,
        subject=scope.row.subject,
        document=_document(scope.row),
        issued_by=issued_by.body().name,
        issuer=issuer,
        lead=lead,
        above=above,
        requirement=requirement,
        title=scope.spec_of(requirement).title,
        period=period_info,
        as_of=on.day,
        rate=rate,
        totals=totals,
        units=sorted_vi(_unit_lines(lines, missed), key=lambda u: u.name),
        targets=targets,
    )


def _unit_lines(rows: Sequence[Any], missed: dict[int, tuple[str, ...]]) -> list[UnitReport]:
    """Each unit's line; only accepted figures count, only what was handed in shows."""
    # the accepted lines' figures (JSON objects) decoded at once, as one list: decoding each
    # on its own took four times as long
    accepted = iter(_decode(f"[{','.join(r[7] for r in rows if r[3] in ACCEPTED and r[7])}]"))
    lines = []
    for oid, code, name, stored, shown, day, on_time, figures, text, link, parent in rows:
        gaps = missed.get(oid, ())
        if stored not in REPORTED:
            lines.append(UnitReport(code, name, shown, None, None, {}, None, None, gaps, parent))
            continue
        given = next(accepted) if stored in ACCEPTED and figures else {}
        lines.append(
            UnitReport(code, name, shown, day, bool(on_time), given, text, link, gaps, parent)
        )
    return lines


def _totals(conn: Connection, scope: Scope, figures: Sequence[Figure]) -> list[FigureTotal]:
    """Each figure summed over the accepted submissions, in one grouped query."""
    query = (
        joined(
            sa.select(
                FIGURE_VALUE.c.key,
                sa.func.sum(FIGURE_VALUE.c.number).label("total"),
                sa.func.count().label("n"),
            ).join(FIGURE_VALUE, FIGURE_VALUE.c.obligation_id == OBLIGATION.c.id),
            units=False,
        )
        .where(*scope.filters, OBLIGATION.c.status.in_(ACCEPTED))
        .group_by(FIGURE_VALUE.c.key)
    )
    found = {r.key: (r.total, r.n) for r in conn.execute(query)}
    return [
        FigureTotal(
            key=f.key,
            label=f.label,
            unit=f.unit,
            total=None if f.type == "text" else float(found.get(f.key, (0, 0))[0] or 0),
            count=found.get(f.key, (0, 0))[1],
            target=target_words(f),
        )
        for f in figures
    ]


def _missed(
    conn: Connection, scope: Scope, figures: Sequence[Figure]
) -> dict[int, tuple[str, ...]]:
    """For each accepted obligation of the scope's requirement, the figures whose target it
    did not reach."""
    requirement = scope.requirement
    assert requirement is not None  # a consolidation is of one requirement
    missed: dict[int, list[str]] = defaultdict(list)
    for figure in figures:
        if figure.target is None:
            continue
        query = joined(
            sa.select(OBLIGATION.c.id).join(
                FIGURE_VALUE, FIGURE_VALUE.c.obligation_id == OBLIGATION.c.id
            ),
            units=False,
        ).where(
            *scope.filters,
            OBLIGATION.c.status.in_(ACCEPTED),
            FIGURE_VALUE.c.key == figure.key,
            sa.not_(scope.meets(requirement, figure)),
        )
        for oid in conn.execute(query).scalars():
            missed[oid].append(figure.key)
    return {oid: tuple(keys) for oid, keys in missed.items()}


@dataclass(frozen=True, slots=True)
class DraftDue:
    """An obligation of a consolidating requirement (the lead office's report, or the report
    of the office the lead office reports to) not handed in yet, for a period whose deadline
    has passed for `sources` (in the directive's order)."""

    obligation_id: int
    directive: str
    requirement: str
    period: str
    sources: tuple[str, ...]


def drafts_due(engine: Engine, *, day: date, failures: Failures | None = None) -> list[DraftDue]:
    """What the consolidation run drafts on `day`: every open or returned obligation of a
    consolidating requirement whose sources' deadline for its period is past. Per directive,
    its file is read once, and its consolidating requirements' obligations and its sources'
    deadlines are one query each. With `failures`, a directive whose file no longer reads is
    named there, and the others' drafts are found."""
    found: list[DraftDue] = []
    with transaction(engine, writes=False) as conn:
        directives = conn.execute(
            sa.select(DIRECTIVE.c.id, DIRECTIVE.c.code, DIRECTIVE.c.content)
            .where(DIRECTIVE.c.status == "published")
            .order_by(DIRECTIVE.c.code)
        ).all()
        for directive_id, directive, content in directives:
            with nullcontext() if failures is None else failures.of(directive):
                sums_up = {
                    r.code: r.consolidates
                    for r in DirectiveSpec.model_validate_json(content).requirements
                    if r.consolidates
                }
                if not sums_up:
                    continue
                own = conn.execute(
                    sa.select(OBLIGATION.c.id, OBLIGATION.c.period_key, REQUIREMENT.c.code)
                    .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
                    .where(
                        REQUIREMENT.c.directive_id == directive_id,
                        REQUIREMENT.c.code.in_(sums_up),
                        OBLIGATION.c.status.in_(("open", "returned")),
                    )
                    .order_by(OBLIGATION.c.period_end, OBLIGATION.c.period_key, REQUIREMENT.c.id)
                ).all()
                if not own:
                    continue
                deadlines = {
                    (code, period): due
                    for code, period, due in conn.execute(
                        sa.select(
                            REQUIREMENT.c.code,
                            OBLIGATION.c.period_key,
                            sa.func.max(OBLIGATION.c.due_date),
                        )
                        .join(OBLIGATION, OBLIGATION.c.requirement_id == REQUIREMENT.c.id)
                        .where(
                            REQUIREMENT.c.directive_id == directive_id,
                            REQUIREMENT.c.code.in_(
                                {c for codes in sums_up.values() for c in codes}
                            ),
                        )
                        .group_by(REQUIREMENT.c.code, OBLIGATION.c.period_key)
                    )
                }
                for r in own:
                    sources = tuple(
                        code
                        for code in sums_up[r.code]
                        if (due := deadlines.get((code, r.period_key))) and due < day
                    )
                    if sources:
                        found.append(DraftDue(r.id, directive, r.code, r.period_key, sources))
    return found


def write_draft(
    engine: Engine,
    obligation_id: int,
    *,
    narrative: str,
    evidence: str | None,
    files: Sequence[str],
    as_of: date,
    now: datetime,
) -> None:
    """Keep the newest draft of a consolidating obligation (one row per obligation)."""
    row = {
        "obligation_id": obligation_id,
        "narrative": narrative,
        "evidence": evidence,
        "files": json.dumps(list(files), ensure_ascii=False),
        "as_of": as_of,
        "written_at": now,
    }
    with transaction(engine) as conn:
        upsert(conn, DRAFT, "obligation_id", [row])


@dataclass(frozen=True, slots=True)
class Drafted:
    """The newest draft of a consolidating obligation."""

    narrative: str
    evidence: str | None
    files: tuple[str, ...]
    as_of: date


def drafts(engine: Engine, obligation_ids: Sequence[int]) -> dict[int, Drafted]:
    """The drafts of these obligations, by obligation id."""
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(sa.select(DRAFT).where(DRAFT.c.obligation_id.in_(obligation_ids)))
        return {
            r.obligation_id: Drafted(r.narrative, r.evidence, tuple(json.loads(r.files)), r.as_of)
            for r in rows
        }

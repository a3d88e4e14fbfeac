"""Read side: obligations with their status as of a day, published directives, and the
outbox."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import SQLModel

from models.errors import NotFound
from models.rules.status import RULES, Day
from models.storage.db import transaction
from models.storage.tables import DIRECTIVE, MESSAGE, OBLIGATION, REQUIREMENT, UNIT

if TYPE_CHECKING:
    from models.files.directive import RequirementSpec

# Rows a streamed listing fetches from the database at a time: a server-side cursor's batch
# on PostgreSQL, a `fetchmany` on SQLite. Memory holds about this many rows, however many match.
FETCH_ROWS = 2_000


class ObligationPublic(NamedTuple):
    """An obligation as listings and scripts see it. A named tuple rather than a model:
    listings stream hundreds of thousands, and building and dumping a pydantic model for each
    took longer than fetching it."""

    id: int
    directive: str
    requirement: str
    unit: str
    period: str
    due: date | None
    status: str
    version: int

    def to_json(self) -> dict[str, Any]:
        """The object `dondoc obligations --json` prints: the due date in ISO 8601."""
        row = self._asdict()
        row["due"] = None if self.due is None else self.due.isoformat()
        return row


@dataclass(frozen=True, slots=True)
class ObligationFilter:
    """Which obligations a listing shows: each field set narrows it (None: any)."""

    directive: str | None = None
    requirement: str | None = None
    unit: str | None = None
    period: str | None = None
    status: str | None = None  # as shown on the day


class DirectivePublic(SQLModel):
    """A published directive with its size."""

    code: str
    number: str | None
    symbol: str
    document_date: str
    subject: str
    lead: str
    effective_from: date
    effective_until: date | None
    status: str
    requirements: int
    obligations: int


def status_expression(
    stored: sa.ColumnElement[str], effective_due: sa.ColumnElement[date], on: Day
) -> sa.ColumnElement[str]:
    """`models.rules.status.status_on` as SQL: the same RULES, in the same order."""
    whens = [
        (
            sa.and_(
                stored.in_(rule.stored),
                effective_due.is_not(None),
                effective_due < on.day if rule.due == "before" else effective_due <= on.soon_until,
            ),
            rule.shown,
        )
        for rule in RULES
    ]
    return sa.case(*whens, else_=stored)


def status_as_of(on: Day) -> sa.ColumnElement[str]:
    """Each obligation's status on the day."""
    return status_expression(OBLIGATION.c.status, OBLIGATION.c.effective_due, on)


def _own(on: Day, where: ObligationFilter) -> list[sa.ColumnElement[bool]]:
    """What `where` asks of an obligation's own columns: its unit, period and status on the
    day."""
    chosen: list[sa.ColumnElement[bool]] = []
    if where.unit is not None:
        chosen.append(OBLIGATION.c.unit_code == where.unit)
    if where.period is not None:
        chosen.append(OBLIGATION.c.period_key == where.period)
    if where.status is not None:
        chosen.append(status_as_of(on) == where.status)
    return chosen


def _obligations(on: Day, where: ObligationFilter) -> sa.Select[Any]:
    """The obligations `where` selects, with their status on the day, unordered."""
    query = (
        sa.select(
            OBLIGATION.c.id,
            DIRECTIVE.c.code.label("directive"),
            REQUIREMENT.c.code.label("requirement"),
            OBLIGATION.c.unit_code,
            OBLIGATION.c.period_key,
            OBLIGATION.c.effective_due,
            status_as_of(on).label("shown"),
            OBLIGATION.c.version,
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
    )
    filters = _own(on, where)
    if where.directive is not None:
        filters.append(DIRECTIVE.c.code == where.directive)
    if where.requirement is not None:
        filters.append(REQUIREMENT.c.code == where.requirement)
    return query.where(*filters)


def _requirements(where: ObligationFilter) -> sa.Select[Any]:
    """The ids of the requirements `where` can select from, in the listing's order: by
    directive code, then requirement code (the pair is unique)."""
    query = (
        sa.select(REQUIREMENT.c.id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .order_by(DIRECTIVE.c.code, REQUIREMENT.c.code)
    )
    if where.directive is not None:
        query = query.where(DIRECTIVE.c.code == where.directive)
    if where.requirement is not None:
        query = query.where(REQUIREMENT.c.code == where.requirement)
    return query


def _selected(on: Day, where: ObligationFilter) -> list[sa.ColumnElement[bool]]:
    """Everything `where` asks, of the obligation table alone: a directive or requirement as
    the ids of the requirements it names. Every obligation has its requirement and every
    requirement its directive (foreign keys that cannot be null), so what these select from
    the one table is what the listing's joins select: counting it joins nothing."""
    chosen = _own(on, where)
    if where.directive is not None or where.requirement is not None:
        chosen.append(OBLIGATION.c.requirement_id.in_(_requirements(where).order_by(None)))
    return chosen


@contextmanager
def _reading(engine: Engine) -> Iterator[sa.Connection]:
    """The listing's read transaction."""
    with transaction(engine, writes=False) as conn:
        if conn.dialect.name == "postgresql":
            # PostgreSQL plans a cursor for reading a tenth of its rows; the listing reads every
            # one, and the fast-start plan (nested loops, an incremental sort) took 2.5 times as
            # long over the national data set
            conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        yield conn


def stream_obligations(
    engine: Engine,
    *,
    on: Day,
    where: ObligationFilter,
    limit: int | None = None,
    offset: int = 0,
) -> Generator[ObligationPublic, None, None]:
    """Obligations `where` selects, ordered by directive, requirement, period and unit (from
    the `offset`-th, at most `limit`), fetched FETCH_ROWS at a time, so memory stays flat
    however many match. The read transaction stays open until the generator is exhausted or
    closed.

    The rows are read requirement after requirement, each one's along ix_obligation_listing,
    so a page reads its own rows and stops: one query ordered across the joined codes sorted
    every row that matched first. A requirement's periods all end (or, a standing duty's, none
    do), so its order by period end needs no rule for NULLs and each database's index serves
    it. An offset skips whole requirements by their counts."""
    with _reading(engine) as conn:
        counts = _counts(conn, on, where) if offset else {}
        yield from _listing(conn, on, where, limit=limit, offset=offset, counts=counts)


class Page(NamedTuple):
    """One page of the listing, and how many obligations its filter selects in all."""

    rows: list[ObligationPublic]
    matched: int


def obligation_page(
    engine: Engine, *, on: Day, where: ObligationFilter, limit: int, offset: int = 0
) -> Page:
    """The page `stream_obligations` lists with this `limit` and `offset`, and how many
    obligations `where` selects in all, in one read transaction. A page from the first row
    that is not full is every match; past the first, the counts the offset skips by add up to
    them; otherwise one more count, of the obligation table alone."""
    with _reading(engine) as conn:
        counts = _counts(conn, on, where) if offset else {}
        rows = list(_listing(conn, on, where, limit=limit, offset=offset, counts=counts))
        if offset:
            return Page(rows, sum(counts.values()))
        if len(rows) < limit:
            return Page(rows, len(rows))
        query = sa.select(sa.func.count()).select_from(OBLIGATION).where(*_selected(on, where))
        return Page(rows, int(conn.execute(query).scalar_one()))


def _listing(
    conn: sa.Connection,
    on: Day,
    where: ObligationFilter,
    *,
    limit: int | None,
    offset: int,
    counts: dict[int, int],
) -> Iterator[ObligationPublic]:
    """The rows `stream_obligations` lists, read on `conn`; an offset skips whole
    requirements by their `counts`."""
    make = ObligationPublic._make
    requirements = list(conn.execute(_requirements(where)).scalars())
    left = limit
    for requirement in requirements:
        if left == 0:
            return
        if offset:
            here = counts.get(requirement, 0)
            if offset >= here:
                offset -= here
                continue
        query = (
            _obligations(on, where)
            .where(OBLIGATION.c.requirement_id == requirement)
            .order_by(OBLIGATION.c.period_end, OBLIGATION.c.period_key, OBLIGATION.c.unit_code)
            .limit(left)
            .offset(offset or None)
        )
        offset = 0
        # yield_per: a server-side cursor on PostgreSQL (psycopg), fetchmany on SQLite
        for row in conn.execution_options(yield_per=FETCH_ROWS).execute(query):
            yield make(row)
            if left is not None:
                left -= 1


def _counts(conn: sa.Connection, on: Day, where: ObligationFilter) -> dict[int, int]:
    """How many obligations `where` selects in each requirement that has any."""
    query = (
        sa.select(OBLIGATION.c.requirement_id, sa.func.count())
        .where(*_selected(on, where))
        .group_by(OBLIGATION.c.requirement_id)
    )
    return {requirement: n for requirement, n in conn.execute(query)}


def list_obligations(
    engine: Engine,
    *,
    on: Day,
    directive: str | None = None,
    unit: str | None = None,
    period: str | None = None,
    status: str | None = None,
) -> list[ObligationPublic]:
    """Obligations matching the filters, ordered by directive, requirement, period and unit."""
    where = ObligationFilter(directive=directive, unit=unit, period=period, status=status)
    return list(stream_obligations(engine, on=on, where=where))


def list_directives(engine: Engine) -> list[DirectivePublic]:
    """Every published directive with its requirement and obligation counts."""
    requirements = (
        sa.select(sa.func.count())
        .where(REQUIREMENT.c.directive_id == DIRECTIVE.c.id)
        .scalar_subquery()
    )
    obligations = (
        sa.select(sa.func.count())
        .select_from(OBLIGATION.join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id))
        .where(REQUIREMENT.c.directive_id == DIRECTIVE.c.id)
        .scalar_subquery()
    )
    query = sa.select(DIRECTIVE, requirements.label("n_req"), obligations.label("n_obl")).order_by(
        DIRECTIVE.c.code
    )
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(query).all()
    return [
        DirectivePublic(
            code=r.code,
            number=r.number,
            symbol=r.symbol,
            document_date=r.document_date,
            subject=r.subject,
            lead=r.lead_unit_code,
            effective_from=r.effective_from,
            effective_until=r.effective_until,
            status=r.status,
            requirements=r.n_req,
            obligations=r.n_obl,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class OpenWork:
    """A requirement that can still take submissions: some unit owes one of its periods
    (open or returned)."""

    directive: str
    requirement: str
    title: str


def open_work(
    engine: Engine, *, directive: str | None = None, requirement: str | None = None
) -> list[OpenWork]:
    """Every published requirement with something still to hand in (standing duties have no
    deliverable and are left out), or only those of one directive, or one requirement of it:
    one indexed existence check per requirement."""
    query = (
        sa.select(
            DIRECTIVE.c.code.label("directive"),
            REQUIREMENT.c.code.label("requirement"),
            REQUIREMENT.c.title,
        )
        .where(
            REQUIREMENT.c.directive_id == DIRECTIVE.c.id,
            DIRECTIVE.c.status == "published",
            sa.exists().where(
                OBLIGATION.c.requirement_id == REQUIREMENT.c.id,
                OBLIGATION.c.status.in_(("open", "returned")),
                OBLIGATION.c.period_key != "standing",
            ),
        )
        .order_by(DIRECTIVE.c.code, REQUIREMENT.c.code)
    )
    if directive is not None:
        query = query.where(DIRECTIVE.c.code == directive)
    if requirement is not None:
        query = query.where(REQUIREMENT.c.code == requirement)
    with transaction(engine, writes=False) as conn:
        return [OpenWork(r.directive, r.requirement, r.title) for r in conn.execute(query)]


def find_obligation(
    engine: Engine, *, directive: str, requirement: str, unit: str, period: str
) -> int | None:
    """The id of one obligation by its natural key, or None."""
    query = (
        sa.select(OBLIGATION.c.id)
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .where(
            DIRECTIVE.c.code == directive,
            REQUIREMENT.c.code == requirement,
            OBLIGATION.c.unit_code == unit,
            OBLIGATION.c.period_key == period,
        )
    )
    with transaction(engine, writes=False) as conn:
        return conn.execute(query).scalar_one_or_none()


def requirement_spec(engine: Engine, *, directive: str, requirement: str) -> RequirementSpec:
    """A published requirement as its directive file states it."""
    # The directive file's models, 0.02 s to load, are loaded by the few callers that read a
    # requirement back, not by every listing.
    from models.files.directive import RequirementSpec

    query = (
        sa.select(REQUIREMENT.c.spec)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .where(DIRECTIVE.c.code == directive, REQUIREMENT.c.code == requirement)
    )
    with transaction(engine, writes=False) as conn:
        spec = conn.execute(query).scalar_one_or_none()
    if spec is None:
        raise NotFound(
            f"directive {directive} has no requirement {requirement}",
            vi=f"Chỉ thị {directive} không có nhiệm vụ {requirement}.",
        )
    return RequirementSpec.model_validate_json(spec)


def compliance(engine: Engine, *, on: Day) -> list[tuple[str, str, str, str, int]]:
    """(directive, unit code, unit name, status on the day, count), one grouped query."""
    shown = status_as_of(on).label("shown")
    query = (
        sa.select(
            DIRECTIVE.c.code, OBLIGATION.c.unit_code, UNIT.c.name, shown, sa.func.count().label("n")
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .join(UNIT, UNIT.c.code == OBLIGATION.c.unit_code)
        .where(DIRECTIVE.c.status == "published", OBLIGATION.c.period_key != "standing")
        .group_by(DIRECTIVE.c.code, OBLIGATION.c.unit_code, UNIT.c.name, shown)
        .order_by(DIRECTIVE.c.code, OBLIGATION.c.unit_code)
    )
    with transaction(engine, writes=False) as conn:
        return [(r.code, r.unit_code, r.name, r.shown, r.n) for r in conn.execute(query)]


def list_messages(engine: Engine, *, status: str | None = None) -> list[dict[str, Any]]:
    """The messages in the outbox, newest first (`status`: only those in this status)."""
    query = sa.select(
        MESSAGE.c.key,
        MESSAGE.c.run,
        MESSAGE.c.recipient,
        MESSAGE.c.subject,
        MESSAGE.c.status,
        MESSAGE.c.attempts,
        MESSAGE.c.next_attempt_at,
        MESSAGE.c.sent_at,
        MESSAGE.c.last_error,
        MESSAGE.c.channel,  # where it went, or who dropped it
    ).order_by(MESSAGE.c.id.desc())
    if status is not None:
        query = query.where(MESSAGE.c.status == status)
    with transaction(engine, writes=False) as conn:
        return [dict(r._mapping) for r in conn.execute(query)]

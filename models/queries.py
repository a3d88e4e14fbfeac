"""Read side: obligations with their status as of a day, published directives, and the
outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import SQLModel

from models.db import transaction
from models.directive import RequirementSpec
from models.errors import NotFound
from models.status import RULES, Day
from models.tables import DIRECTIVE, MESSAGE, OBLIGATION, REQUIREMENT, UNIT


class ObligationPublic(SQLModel):
    """An obligation as listings and scripts see it."""

    id: int
    directive: str
    requirement: str
    unit: str
    period: str
    due: date | None
    status: str
    version: int


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
    """`models.status.status_on` as SQL: the same RULES, in the same order."""
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
    shown = status_as_of(on).label("shown")
    query = (
        sa.select(
            OBLIGATION.c.id,
            DIRECTIVE.c.code.label("directive"),
            REQUIREMENT.c.code.label("requirement"),
            OBLIGATION.c.unit_code,
            OBLIGATION.c.period_key,
            OBLIGATION.c.effective_due,
            shown,
            OBLIGATION.c.version,
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .order_by(
            DIRECTIVE.c.code,
            REQUIREMENT.c.code,
            OBLIGATION.c.period_end.nulls_first(),
            OBLIGATION.c.period_key,
            OBLIGATION.c.unit_code,
        )
    )
    filters: list[Any] = []
    if directive is not None:
        filters.append(DIRECTIVE.c.code == directive)
    if unit is not None:
        filters.append(OBLIGATION.c.unit_code == unit)
    if period is not None:
        filters.append(OBLIGATION.c.period_key == period)
    if status is not None:
        filters.append(shown == status)
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(query.where(*filters)).all()
    return [
        ObligationPublic(
            id=r.id,
            directive=r.directive,
            requirement=r.requirement,
            unit=r.unit_code,
            period=r.period_key,
            due=r.effective_due,
            status=r.shown,
            version=r.version,
        )
        for r in rows
    ]


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


@dataclass(frozen=True, slots=True)
class AwaitingReview:
    """An obligation the lead office can still decide on."""

    obligation_id: int
    status: str
    unit: str
    unit_name: str
    requirement: str
    period: str


def open_work(engine: Engine) -> list[OpenWork]:
    """Every published requirement with something still to hand in (standing duties have no
    deliverable and are left out)."""
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
    query = (
        sa.select(REQUIREMENT.c.spec)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .where(DIRECTIVE.c.code == directive, REQUIREMENT.c.code == requirement)
    )
    with transaction(engine, writes=False) as conn:
        spec = conn.execute(query).scalar_one_or_none()
    if spec is None:
        raise NotFound(f"directive {directive} has no requirement {requirement}")
    return RequirementSpec.model_validate_json(spec)


def awaiting_review(engine: Engine) -> dict[str, list[AwaitingReview]]:
    """Obligations the lead office can act on, per published directive: submitted ones
    (accept, return) first, then open and returned ones (extend, waive)."""
    query = (
        sa.select(
            DIRECTIVE.c.code.label("directive"),
            OBLIGATION.c.id,
            OBLIGATION.c.status,
            OBLIGATION.c.unit_code,
            UNIT.c.name,
            REQUIREMENT.c.code.label("requirement"),
            OBLIGATION.c.period_key,
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .join(UNIT, UNIT.c.code == OBLIGATION.c.unit_code)
        .where(
            OBLIGATION.c.status.in_(("submitted", "open", "returned")),
            OBLIGATION.c.period_key != "standing",
            DIRECTIVE.c.status == "published",
        )
        .order_by(DIRECTIVE.c.code, OBLIGATION.c.status != "submitted", OBLIGATION.c.id)
    )
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(query).all()
    waiting: dict[str, list[AwaitingReview]] = {}
    for r in rows:
        waiting.setdefault(r.directive, []).append(
            AwaitingReview(r.id, r.status, r.unit_code, r.name, r.requirement, r.period_key)
        )
    return waiting


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
    """The messages in the outbox, newest first (`status`: only pending, sent or failed)."""
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
    ).order_by(MESSAGE.c.id.desc())
    if status is not None:
        query = query.where(MESSAGE.c.status == status)
    with transaction(engine, writes=False) as conn:
        return [dict(r._mapping) for r in conn.execute(query)]

"""Read side: obligations with their status as of a day, and published directives."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import SQLModel

from models.db import transaction
from models.tables import DIRECTIVE, OBLIGATION, REQUIREMENT

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
)


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


def status_as_of(as_of: date, soon_until: date) -> sa.ColumnElement[str]:
    """The status people see: an open obligation is overdue after its due day and due soon
    from `soon_until` back to the due day; everything else is its stored state."""
    due = OBLIGATION.c.effective_due
    stored = OBLIGATION.c.status
    return sa.case(
        (sa.and_(stored == "open", due.is_not(None), due < as_of), "overdue"),
        (sa.and_(stored == "open", due.is_not(None), due <= soon_until), "due_soon"),
        else_=stored,
    )


def list_obligations(
    engine: Engine,
    *,
    as_of: date,
    soon_until: date,
    directive: str | None = None,
    unit: str | None = None,
    period: str | None = None,
    status: str | None = None,
) -> list[ObligationPublic]:
    """Obligations matching the filters, ordered by directive, requirement, period and unit."""
    shown = status_as_of(as_of, soon_until).label("shown")
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

"""Each unit's calendar: what it still owes, with its due dates and the days the escalation
ladder chases each item, read for every unit at once.

One query reads the obligations still owed (open or returned, with a due date) of every
published directive, with the moment of each one's latest event; the documents (titles,
ladders) and the registers (names of the day, who holds the lead office's role) are read once
per run, as the chase reads them.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, date, datetime
from itertools import groupby
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import Failures, NotFound
from models.rules.ladder import CHASEABLE, Step, step_day
from models.rules.workdays import WorkCalendar
from models.storage.chase import Register, read_documents
from models.storage.db import transaction
from models.storage.tables import EVENT, OBLIGATION, UNIT

# The work of the run, as its failures name it to a clerk.
WRITING = "Lập lịch báo cáo"


class Chased(NamedTuple):
    """A ladder step and the working day it falls on for one due date."""

    day: date
    step: Step
    told: str  # the lead office or issuer it tells, as named on the feed's day ("" for the unit)


class FeedItem(NamedTuple):
    """One obligation a unit still owes, as its calendar shows it."""

    directive: str
    subject: str  # the directive's
    requirement: str
    title: str
    unit: str
    period: str
    due: date  # as the directive set it
    effective_due: date  # after extensions
    returned: bool  # sent back for correction
    version: int  # the obligation's: every event raises it
    changed_at: datetime  # UTC, its latest event's moment
    lead: str  # the lead office, the unit holding its role on the feed's day
    chased: tuple[Chased, ...]


class UnitFeed(NamedTuple):
    """A unit, as named on the feed's day, and what it still owes, by due date."""

    code: str
    name: str
    items: list[FeedItem]


def feeds(
    engine: Engine,
    *,
    day: date,
    calendar: WorkCalendar,
    default_ladder: list[Step],
    failures: Failures,
    unit: str | None = None,
) -> Generator[UnitFeed, None, None]:
    """Every unit of the register (or `unit` alone: NotFound if it is not one), with what it
    owes: its items in one query for all units, in order of due date. A directive whose stored
    text no longer reads is left out, as a failure. The read transaction stays open until the
    generator is exhausted or closed."""
    with transaction(engine, writes=False) as conn:
        documents = read_documents(conn, failures)
        register = Register(conn, day)
        if unit is not None and unit not in register.units:
            raise NotFound(f"unit {unit} is not in the register")
        ladders = documents.ladders(default_ladder)
        # per requirement: its directive's code and subject, its code and title, the names of
        # the lead office and the issuer on the day, and its ladder
        shared: dict[int, tuple[str, str, str, str, str, str, list[Step]]] = {}
        for id_, (code, spec) in documents.requirements.items():
            document = documents.directives[code]
            shared[id_] = (
                code,
                document.document.subject,
                spec.code,
                spec.title,
                register.holding(document.lead).name,
                register.holding(document.document.issuer).name,
                ladders[id_],
            )
        steps: dict[tuple[int, date], tuple[Chased, ...]] = {}

        def chased(requirement_id: int, effective_due: date) -> tuple[Chased, ...]:
            found = steps.get((requirement_id, effective_due))
            if found is None:
                *_, lead, issuer, ladder = shared[requirement_id]
                told = {"unit": "", "lead": lead, "issuer": issuer}
                found = steps[(requirement_id, effective_due)] = tuple(
                    Chased(step_day(s, effective_due, calendar), s, told[s.to]) for s in ladder
                )
            return found

        query = (
            sa.select(
                OBLIGATION.c.unit_code,
                OBLIGATION.c.requirement_id,
                OBLIGATION.c.period_key,
                OBLIGATION.c.due_date,
                OBLIGATION.c.effective_due,
                OBLIGATION.c.status,
                OBLIGATION.c.version,
                EVENT.c.at,
            )
            .join(
                EVENT,
                sa.and_(
                    EVENT.c.obligation_id == OBLIGATION.c.id,
                    EVENT.c.version == OBLIGATION.c.version,
                ),
            )
            .where(
                OBLIGATION.c.requirement_id.in_(list(shared)),
                OBLIGATION.c.status.in_(CHASEABLE),
                OBLIGATION.c.effective_due.is_not(None),
            )
            .order_by(
                OBLIGATION.c.unit_code,
                OBLIGATION.c.effective_due,
                OBLIGATION.c.requirement_id,
                OBLIGATION.c.period_end,
                OBLIGATION.c.period_key,
            )
        )
        if unit is not None:
            query = query.where(OBLIGATION.c.unit_code == unit)
        rows = conn.execute(query.execution_options(yield_per=5000))
        seen: set[str] = set()
        for code, group in groupby(rows, key=lambda row: row.unit_code):
            seen.add(code)
            items = []
            for row in group:
                directive, subject, requirement, title, lead, *_ = shared[row.requirement_id]
                items.append(
                    FeedItem(
                        directive,
                        subject,
                        requirement,
                        title,
                        code,
                        row.period_key,
                        row.due_date,
                        row.effective_due,
                        row.status == "returned",
                        row.version,
                        row.at.astimezone(UTC),
                        lead,
                        chased(row.requirement_id, row.effective_due),
                    )
                )
            yield UnitFeed(code, register.named(code).name, items)
        for code in sorted(register.units if unit is None else [unit]):
            if code not in seen:
                yield UnitFeed(code, register.named(code).name, [])


def check_unit(engine: Engine, code: str) -> None:
    """NotFound unless unit `code` is in the register."""
    with transaction(engine, writes=False) as conn:
        found = conn.execute(sa.select(UNIT.c.code).where(UNIT.c.code == code)).first()
    if found is None:
        raise NotFound(f"unit {code} is not in the register")

"""A unit's desk: what one unit owes and when, as its own staff see it.

The submission form offers a unit only the periods it still owes (open or returned), in
order of their due dates; the unit's list ("việc của đơn vị") shows all its obligations, the
most urgent first, with the reason of the latest return. Statuses are judged as of a day by
the one definition in `models.rules.status` (its SQL twin, `status_as_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import InputError, Unauthorized
from models.rules.authz import ActorInfo
from models.rules.obligation import OPEN_STATES, load_payload
from models.rules.status import Day
from models.rules.text import control_character
from models.rules.workdays import local_date
from models.storage.db import transaction
from models.storage.ledger import load_actor, record_denial
from models.storage.queries import status_as_of
from models.storage.reference import holder_on
from models.storage.tables import DIRECTIVE, EVENT, OBLIGATION, REQUIREMENT, UNIT

# The order a unit's list takes: what is late or about to be first, what waits on others last.
URGENCY = (
    "overdue",
    "due_soon",
    "returned",
    "open",
    "submitted",
    "accepted_late",
    "accepted",
    "waived",
    "transferred",
    "closed",
)

# What a unit still has to hand in (the head of URGENCY), and what waits on the lead office.
TO_DO = ("overdue", "due_soon", "returned", "open")
WAITING = "submitted"
# The period of a duty with no deadline, listed apart.
STANDING = "standing"


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A unit by its code and name."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Owed:
    """One obligation of a unit, as its staff see it on a day."""

    obligation_id: int
    directive: str
    requirement: str
    title: str
    period: str
    due: date | None  # the effective due date; None for a standing duty
    status: str  # as of the day
    reason: str | None  # why it was returned, while it stays returned


def _oversees(conn: sa.Connection, actor: ActorInfo, unit: str, day: date) -> bool:
    """Whether the actor's unit leads (or holds the role of the lead office of) a published
    directive that obliges `unit`."""
    leads = conn.execute(
        sa.select(DIRECTIVE.c.lead_unit_code)
        .where(
            DIRECTIVE.c.status == "published",
            sa.exists().where(
                REQUIREMENT.c.directive_id == DIRECTIVE.c.id,
                OBLIGATION.c.requirement_id == REQUIREMENT.c.id,
                OBLIGATION.c.unit_code == unit,
            ),
        )
        .distinct()
    ).scalars()
    return any(holder_on(conn, lead, day) == actor.unit_code for lead in list(leads))


def actor_unit(
    engine: Engine,
    username: str,
    *,
    command: str,
    now: datetime,
    unit: str | None = None,
    day: date | None = None,
) -> UnitRef:
    """The unit `username` acts for; or (`unit`) another one whose work they ask for, which
    a directive their unit leads on `day` (that of `now` unless given) obliges, or any for
    an admin. An actor the register does not know, or another unit asked for without that
    right, is refused and the denial recorded (as for any command); an unknown unit is
    refused naming it."""
    try:
        with transaction(engine, writes=False) as conn:
            actor = load_actor(conn, username, command)
            code = unit or actor.unit_code
            if control_character(code, one_line=True):
                raise InputError(
                    "form", "unit", code, "names no unit", vi="Mã đơn vị không hợp lệ."
                )
            name = conn.execute(sa.select(UNIT.c.name).where(UNIT.c.code == code)).scalar()
            if name is None:
                raise InputError(
                    "form", "unit", code, "names no unit", vi=f"Không có đơn vị mã {code}."
                )
            if not (
                code == actor.unit_code
                or actor.role == "admin"
                or _oversees(conn, actor, code, day or local_date(now))
            ):
                raise Unauthorized(
                    f"{username} of unit {actor.unit_code} may list only their own unit's "
                    f"work, not {code}'s",
                    vi=f"Tài khoản {username} thuộc đơn vị {actor.unit_code}: chỉ xem được việc "
                    "của đơn vị mình, hoặc của đơn vị mà đơn vị mình chủ trì đôn đốc.",
                )
    except Unauthorized as denied:
        record_denial(
            engine, actor=username, command=command, target="(desk)", reason=str(denied), now=now
        )
        raise
    return UnitRef(code, name)


def returned_reasons(conn: sa.Connection, returned: list[int]) -> dict[int, str | None]:
    """The reason of each obligation's latest return."""
    if not returned:
        return {}
    rows = conn.execute(
        sa.select(EVENT.c.obligation_id, EVENT.c.payload)
        .where(EVENT.c.obligation_id.in_(returned), EVENT.c.kind == "returned")
        .order_by(EVENT.c.obligation_id, EVENT.c.version)
    )
    return {r.obligation_id: load_payload(r.payload).get("reason") for r in rows}


def unit_obligations(
    engine: Engine,
    *,
    unit: str,
    on: Day,
    directive: str | None = None,
    requirement: str | None = None,
    owing: bool = False,
) -> list[Owed]:
    """A unit's obligations under published directives (`owing`: only those it can still
    hand in, open or returned, standing duties left out), in order of their due dates: the
    earliest first, then the shorter period of two due together (Quý II before 6 tháng đầu
    năm), standing duties last."""
    shown = status_as_of(on).label("shown")
    query = (
        sa.select(
            OBLIGATION.c.id,
            DIRECTIVE.c.code.label("directive"),
            REQUIREMENT.c.code.label("requirement"),
            REQUIREMENT.c.title,
            OBLIGATION.c.period_key,
            OBLIGATION.c.effective_due,
            OBLIGATION.c.status,
            shown,
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .where(OBLIGATION.c.unit_code == unit, DIRECTIVE.c.status == "published")
        .order_by(
            OBLIGATION.c.effective_due.nulls_last(),
            OBLIGATION.c.period_end.nulls_last(),
            OBLIGATION.c.period_start.desc(),
            DIRECTIVE.c.code,
            REQUIREMENT.c.code,
        )
    )
    if directive is not None:
        query = query.where(DIRECTIVE.c.code == directive)
    if requirement is not None:
        query = query.where(REQUIREMENT.c.code == requirement)
    if owing:
        query = query.where(
            OBLIGATION.c.status.in_(OPEN_STATES), OBLIGATION.c.period_key != "standing"
        )
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(query).all()
        reasons = returned_reasons(conn, [r.id for r in rows if r.status == "returned"])
    return [
        Owed(
            r.id,
            r.directive,
            r.requirement,
            r.title,
            r.period_key,
            r.effective_due,
            r.shown,
            reasons.get(r.id),
        )
        for r in rows
    ]


def by_urgency(owed: list[Owed]) -> list[Owed]:
    """The unit's list, the most urgent first; within a status, by due date (stable)."""
    return sorted(owed, key=lambda item: URGENCY.index(item.status))

"""Chasing: on a working day, find every obligation a ladder step (or a return notice) is due
for, group what each recipient must hear into one letter, and write the events and the
outbox rows in one transaction.

Reads are set-based (one query for the candidates, one for their chase history, one for the
registers); events go through `ledger.append_many`, the same deciders, fold and hash chain as
single commands. Rendering is passed in, so this module stays free of templates.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from models.directive import DirectiveSpec, RequirementSpec
from models.ladder import CHASEABLE, Cycle, Step, due_step
from models.ledger import Planned, append_many, state_from_row
from models.obligation import State, decide_chase
from models.queries import status_as_of
from models.registry import SYSTEM_ACTOR
from models.status import Day
from models.tables import (
    ACTOR,
    ATTACHMENT,
    DIRECTIVE,
    EVENT,
    MESSAGE,
    OBLIGATION,
    REQUIREMENT,
    UNIT,
)
from models.vietnamese import sort_key
from models.workdays import WorkCalendar, local_date

# Told to the unit at the next run after a return, with the reason; not a rung of a ladder.
RETURN_NOTICE = Step(key="tra-lai", working_days=0, to="unit", template="tra-lai")
# The monthly summary to the issuer's leadership, with the urging dispatch; not a ladder rung.
SUMMARY_STEP = Step(
    key="tong-hop-thang", working_days=0, to="issuer", template="tong-hop-thang", dispatch=True
)
# Obligations due further ahead than this cannot have a step due yet (the earliest step is at
# most 30 working days before the due date).
LOOKAHEAD = timedelta(days=62)
BATCH = 2000


@dataclass(frozen=True, slots=True)
class DirectiveInfo:
    """What a letter or an urging dispatch says about the directive being chased."""

    code: str
    number: str | None
    symbol: str
    document_date: str
    subject: str
    signed_by: str | None
    issuer_name: str
    issuer_parent: str  # the body above the issuer, "" if none
    issuer_kind: str
    lead_name: str


@dataclass(frozen=True, slots=True)
class Group:
    """The body a dispatch to many late units addresses instead of each of them: a late
    unit's ancestor just under the issuer, from the register's parent links."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """One obligation one step is due for today."""

    obligation_id: int
    directive: str
    subject: str
    requirement: str
    title: str
    unit: str
    unit_name: str
    period: str
    effective_due: date
    step: Step
    reason: str | None  # the return's reason, for a return notice
    state: State
    info: DirectiveInfo
    group: Group

    @property
    def key(self) -> str:
        """The event's idempotency key: one per obligation, step, due date and return."""
        return (
            f"chase:{self.obligation_id}:{self.step.key}:{self.effective_due}:v{self.state.version}"
        )


@dataclass(frozen=True, slots=True)
class Recipient:
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Letter:
    """Everything one recipient hears from one run, in one message."""

    recipient: Recipient
    items: list[Item]

    def key(self, run: str) -> str:
        material = "\x1f".join([run, self.recipient.email, *sorted(i.key for i in self.items)])
        return hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class ChasePlan:
    """What a run on `day` finds: the items, the letters, and the units no one can be told."""

    day: date
    working_day: bool
    items: list[Item] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    unreachable: list[tuple[str, str, str]] = field(default_factory=list)  # unit, name, role

    @property
    def run(self) -> str:
        return f"chase {self.day.isoformat()}"


def _owed(day: date, only: Collection[int] | None) -> list[sa.ColumnElement[bool]]:
    """Obligations that may have a step due by `day` (all of them, or those in `only`)."""
    conditions = [
        OBLIGATION.c.status.in_(CHASEABLE),
        OBLIGATION.c.effective_due.is_not(None),
        OBLIGATION.c.effective_due <= day + LOOKAHEAD,
    ]
    if only is not None:
        conditions.append(OBLIGATION.c.id.in_(list(only)))
    return conditions


def _rows() -> sa.Select[Any]:
    """Obligations with what a letter or a dispatch says of them (the directive's document and
    the requirement's spec are read once, by `_documents`, not with every row)."""
    return (
        sa.select(
            OBLIGATION,
            REQUIREMENT.c.code.label("requirement_code"),
            REQUIREMENT.c.title,
            DIRECTIVE.c.code.label("directive_code"),
            DIRECTIVE.c.subject,
            DIRECTIVE.c.lead_unit_code,
            DIRECTIVE.c.issuer_code,
            UNIT.c.name.label("unit_name"),
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .join(UNIT, UNIT.c.code == OBLIGATION.c.unit_code)
    )


def _documents(conn: Connection) -> tuple[dict[str, str], dict[int, str]]:
    """The published directives' documents by code and their requirements' specs by id, as
    stored (JSON), read once per run."""
    published = DIRECTIVE.c.status == "published"
    documents = conn.execute(sa.select(DIRECTIVE.c.code, DIRECTIVE.c.content).where(published))
    specs = conn.execute(
        sa.select(REQUIREMENT.c.id, REQUIREMENT.c.spec)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .where(published)
    )
    return {code: text for code, text in documents}, {id_: text for id_, text in specs}


def _texts() -> Callable[[str], str]:
    """One copy of each text the items repeat (titles, names, period keys): every row brings
    its own copy, and a national run holds tens of thousands of items."""
    seen: dict[str, str] = {}
    return lambda text: seen.setdefault(text, text)


def _item(
    row: Any,
    step: Step,
    reason: str | None,
    info: DirectiveInfo,
    group: Group,
    text: Callable[[str], str],
) -> Item:
    return Item(
        obligation_id=row.id,
        directive=text(row.directive_code),
        subject=text(row.subject),
        requirement=text(row.requirement_code),
        title=text(row.title),
        unit=text(row.unit_code),
        unit_name=text(row.unit_name),
        period=text(row.period_key),
        effective_due=row.effective_due,
        step=step,
        reason=reason,
        state=state_from_row(row),
        info=info,
        group=group,
    )


def _candidates(conn: Connection, day: date, only: Collection[int] | None) -> Iterator[Any]:
    query = (
        _rows()
        .where(DIRECTIVE.c.status == "published", *_owed(day, only))
        .order_by(OBLIGATION.c.id)
    )
    yield from conn.execute(query.execution_options(yield_per=5000))


def _history(conn: Connection, day: date, only: Collection[int] | None) -> dict[int, list[Any]]:
    """The returns and chases of every candidate, oldest first."""
    candidate = sa.select(OBLIGATION.c.id).where(*_owed(day, only)).scalar_subquery()
    query = (
        sa.select(EVENT.c.obligation_id, EVENT.c.kind, EVENT.c.at, EVENT.c.payload)
        .where(
            EVENT.c.kind.in_(("returned", "reminded", "escalated")),
            EVENT.c.obligation_id.in_(candidate),
        )
        .order_by(EVENT.c.obligation_id, EVENT.c.version)
    )
    found: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(query):
        found[row.obligation_id].append(row)
    return found


def _cycle(effective_due: date, history: list[Any]) -> tuple[Cycle, str | None, bool]:
    """The chase cycle, the latest return's reason, and whether that return was told."""
    returned_on: date | None = None
    reason: str | None = None
    last_sent: str | None = None
    told = True
    for event in history:
        payload = json.loads(event.payload)
        if event.kind == "returned":
            returned_on, reason, last_sent, told = (
                local_date(event.at),
                payload["reason"],
                None,
                False,
            )
        elif payload.get("step") == RETURN_NOTICE.key:
            told = True
        elif payload.get("due") == effective_due.isoformat():
            last_sent = payload.get("step")
    return Cycle(effective_due, returned_on, last_sent), reason, told


def _units(conn: Connection) -> dict[str, Any]:
    """The unit register, read once per run: names, kinds, parents and addresses."""
    columns = (UNIT.c.code, UNIT.c.name, UNIT.c.kind, UNIT.c.parent_code, UNIT.c.email)
    return {r.code: r for r in conn.execute(sa.select(*columns))}


def grouper(units: dict[str, Any]) -> Callable[[str, str], Group]:
    """The group of a unit under an issuer: the unit's ancestor just under the nearest body
    that is both the issuer (or one of its ancestors) and an ancestor of the unit; the unit's
    topmost ancestor if they share none. One `Group` per body, shared by its items."""
    groups: dict[str, Group] = {}
    found: dict[tuple[str, str], Group] = {}

    def chain(code: str) -> list[str]:
        codes = [code]
        while (parent := units[codes[-1]].parent_code) and parent in units and parent not in codes:
            codes.append(parent)
        return codes

    def group(unit: str, issuer: str) -> Group:
        known = found.get((unit, issuer))
        if known is None:
            ancestors = chain(unit)
            shared = next((a for a in chain(issuer) if a in ancestors), None)
            at = ancestors.index(shared) - 1 if shared is not None else len(ancestors) - 1
            code = ancestors[max(at, 0)]
            if code not in groups:
                groups[code] = Group(code, units[code].name)
            known = found[(unit, issuer)] = groups[code]
        return known

    return group


def _info(spec: DirectiveSpec, row: Any, units: dict[str, Any]) -> DirectiveInfo:
    issuer = units[row.issuer_code]
    parent = units.get(issuer.parent_code) if issuer.parent_code else None
    return DirectiveInfo(
        code=spec.code,
        number=spec.document.number,
        symbol=spec.document.symbol,
        document_date=spec.document.date,
        subject=spec.document.subject,
        signed_by=spec.document.signed_by,
        issuer_name=issuer.name,
        issuer_parent=parent.name if parent else "",
        issuer_kind=issuer.kind,
        lead_name=units[row.lead_unit_code].name,
    )


def plan(
    conn: Connection,
    *,
    day: date,
    calendar: WorkCalendar,
    default_ladder: list[Step],
    only: Collection[int] | None = None,
) -> ChasePlan:
    """Everything a chase run on `day` would send; nothing is written. With `only`, just those
    obligations, on any day (a return is told at once, holiday or not)."""
    if only is None and not calendar.is_working_day(day):
        return ChasePlan(day, working_day=False)
    result = ChasePlan(day, working_day=calendar.is_working_day(day))
    history = _history(conn, day, only)
    units = _units(conn)
    group = grouper(units)
    text = _texts()
    documents, specs = _documents(conn)
    infos: dict[str, DirectiveInfo] = {}
    directives: dict[str, DirectiveSpec] = {}
    requirements: dict[int, RequirementSpec] = {}
    owners: dict[int, tuple[str, str]] = {}  # obligation -> (lead, issuer)
    for row in _candidates(conn, day, only):
        spec = directives.get(row.directive_code)
        if spec is None:
            spec = directives[row.directive_code] = DirectiveSpec.model_validate_json(
                documents[row.directive_code]
            )
            infos[row.directive_code] = _info(spec, row, units)
        requirement = requirements.get(row.requirement_id)
        if requirement is None:
            requirement = requirements[row.requirement_id] = RequirementSpec.model_validate_json(
                specs[row.requirement_id]
            )
        cycle, reason, told = _cycle(row.effective_due, history.get(row.id, []))
        if row.status == "returned" and not told:
            step: Step | None = RETURN_NOTICE
        else:
            ladder = spec.ladder(requirement, default_ladder)
            step = due_step(ladder, row.status, cycle, day, calendar)
        if step is None:
            continue
        owners[row.id] = (row.lead_unit_code, row.issuer_code)
        reason_told = reason if step is RETURN_NOTICE else None
        result.items.append(
            _item(
                row,
                step,
                reason_told,
                infos[row.directive_code],
                group(row.unit_code, row.issuer_code),
                text,
            )
        )
    _address(conn, result, owners, units)
    return result


def _addresses(conn: Connection, units: dict[str, Any]) -> Callable[[str], list[Recipient]]:
    """Who hears for a unit: its own e-mail, then its staff's, from the registers."""
    staff: dict[str, list[Recipient]] = defaultdict(list)
    for actor in conn.execute(
        sa.select(ACTOR.c.unit_code, ACTOR.c.full_name, ACTOR.c.email).where(
            ACTOR.c.email.is_not(None)
        )
    ):
        staff[actor.unit_code].append(Recipient(actor.email.lower(), actor.full_name))

    def addresses(code: str) -> list[Recipient]:
        own = units[code].email
        found = [Recipient(own.lower(), units[code].name)] if own else []
        return found + staff.get(code, [])

    return addresses


def _address(
    conn: Connection,
    result: ChasePlan,
    owners: dict[int, tuple[str, str]],
    units: dict[str, Any],
) -> None:
    """Group the items into one letter per recipient address; an item whose target has no
    address at all is reported as unreachable and left for a later run."""
    addresses = _addresses(conn, units)
    letters: dict[str, list[Item]] = defaultdict(list)
    names: dict[str, str] = {}
    reachable: list[Item] = []
    missing: set[tuple[str, str, str]] = set()
    for item in result.items:
        lead, issuer = owners[item.obligation_id]
        target = {"unit": item.unit, "lead": lead, "issuer": issuer}[item.step.to]
        to = addresses(target)
        if not to:
            missing.add((target, units[target].name, item.step.to))
            continue
        reachable.append(item)
        for recipient in to:
            names.setdefault(recipient.email, recipient.name)
            letters[recipient.email].append(item)
    result.items = reachable
    result.unreachable = sorted(missing, key=lambda m: sort_key(m[1]))
    result.letters = [
        Letter(Recipient(email, names[email]), items) for email, items in sorted(letters.items())
    ]


def write(
    conn: Connection,
    chase: ChasePlan,
    *,
    render: Callable[[Letter, date], Rendered],
    now: datetime,
) -> int:
    """Append the items' events and the letters' outbox rows in the caller's transaction;
    returns the number of messages written (a letter already in the outbox is not written
    again)."""
    by_id = {item.obligation_id: item for item in chase.items}
    planned = [
        Planned(
            item.obligation_id,
            item.state,
            decide_chase(item.state, item.step.kind, item.step.key, item.step.to),
            item.key,
        )
        for item in by_id.values()
    ]
    for start in range(0, len(planned), BATCH):
        append_many(
            conn, planned[start : start + BATCH], actor=SYSTEM_ACTOR, channel=chase.run, now=now
        )
    keys = [letter.key(chase.run) for letter in chase.letters]
    new = _not_stored(conn, keys)
    return store_messages(
        conn,
        chase.run,
        [
            (key, letter.recipient, render(letter, chase.day))
            for key, letter in zip(keys, chase.letters, strict=True)
            if key in new
        ],
        now,
    )


def _not_stored(conn: Connection, keys: list[str]) -> set[str]:
    """Those of `keys` the outbox does not hold yet (one query per thousand keys)."""
    stored: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        stored.update(
            conn.execute(sa.select(MESSAGE.c.key).where(MESSAGE.c.key.in_(chunk))).scalars()
        )
    return set(keys) - stored


def store_messages(
    conn: Connection,
    run: str,
    messages: list[tuple[str, Recipient, Rendered]],
    now: datetime,
) -> int:
    """Put rendered messages (key, recipient, content) and their files in the outbox, due for
    delivery now, in two statements; returns how many."""
    if not messages:
        return 0
    conn.execute(
        MESSAGE.insert(),
        [
            {
                "key": key,
                "run": run,
                "created_at": now,
                "recipient": to.email,
                "recipient_name": to.name,
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": None,
                "sent_at": None,
                "channel": None,
            }
            for key, to, message in messages
        ],
    )
    files = [
        {
            "message_key": key,
            "filename": a.filename,
            "content_type": a.content_type,
            "content": a.content,
        }
        for key, _, message in messages
        for a in message.attachments
    ]
    if files:
        conn.execute(ATTACHMENT.insert(), files)
    return len(messages)


@dataclass(frozen=True, slots=True)
class Late:
    """One unit's overdue obligations under one directive on a day."""

    unit: str
    unit_name: str
    overdue: int
    oldest_due: date


@dataclass
class Summary:
    """The monthly summary for a directive's leadership: the late units, worst first, and the
    overdue items the urging dispatch lists."""

    info: DirectiveInfo
    late: list[Late]
    items: list[Item]
    recipients: list[Recipient]


def first_working_day(day: date, calendar: WorkCalendar) -> date:
    """The first working day of `day`'s month."""
    return calendar.roll(day.replace(day=1), "following")


def summaries(conn: Connection, *, on: Day) -> list[Summary]:
    """Per published directive with overdue obligations on the day: who is late and with what
    (one query for the items, one for the registers)."""
    shown = status_as_of(on)
    query = (
        _rows()
        .where(DIRECTIVE.c.status == "published", shown == "overdue")
        .order_by(DIRECTIVE.c.code, OBLIGATION.c.id)
    )
    units = _units(conn)
    group = grouper(units)
    text = _texts()
    documents, _ = _documents(conn)
    by_directive: dict[str, Summary] = {}
    issuers: dict[str, str] = {}
    for row in conn.execute(query):
        found = by_directive.get(row.directive_code)
        if found is None:
            found = by_directive[row.directive_code] = Summary(
                _info(DirectiveSpec.model_validate_json(documents[row.directive_code]), row, units),
                [],
                [],
                [],
            )
            issuers[row.directive_code] = row.issuer_code
        found.items.append(
            _item(
                row,
                SUMMARY_STEP,
                None,
                found.info,
                group(row.unit_code, row.issuer_code),
                text,
            )
        )
    addresses = _addresses(conn, units)
    for code, found in by_directive.items():
        counts: dict[str, list[Item]] = defaultdict(list)
        for item in found.items:
            counts[item.unit].append(item)
        found.late = sorted(
            (
                Late(unit, items[0].unit_name, len(items), min(i.effective_due for i in items))
                for unit, items in counts.items()
            ),
            key=lambda late: (-late.overdue, late.oldest_due, sort_key(late.unit_name)),
        )
        found.recipients = addresses(issuers[code])
    return list(by_directive.values())


def write_summaries(
    conn: Connection,
    found: list[Summary],
    *,
    day: date,
    render: Callable[[Summary, Recipient, date], Rendered],
    now: datetime,
) -> int:
    """The month's summaries into the outbox, one per directive and recipient; a rerun in the
    same month writes nothing again. Returns the messages written."""
    run = f"summary {day:%Y-%m}"
    wanted = [
        (
            hashlib.sha256(f"{run}\x1f{summary.info.code}\x1f{to.email}".encode()).hexdigest()[:32],
            summary,
            to,
        )
        for summary in found
        for to in summary.recipients
    ]
    new = _not_stored(conn, [key for key, _, _ in wanted])
    return store_messages(
        conn,
        run,
        [(key, to, render(summary, to, day)) for key, summary, to in wanted if key in new],
        now,
    )

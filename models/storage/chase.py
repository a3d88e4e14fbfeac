"""Chasing: on a working day, find every obligation a ladder step (or a return notice) is due
for, group what each recipient must hear into one letter, and write the events and the
outbox rows in one transaction.

Reads are set-based (one query for the candidates, one for the chase history of those that
can have one, one for the registers); events go through `ledger.append_many`, the same
deciders, fold and hash chain as single commands. Rendering is passed in, so this module stays
free of templates.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection

from models.collector import paused_gc
from models.errors import Failures
from models.files.directive import DirectiveSpec, RequirementSpec, document_day
from models.files.registry import SYSTEM_ACTOR, UnitRow, heir_on, histories, version_on
from models.rules.deliverable import Deliverable
from models.rules.ladder import CHASEABLE, Cycle, Step, check_templates, due_step
from models.rules.obligation import State, decide_chase
from models.rules.status import Day
from models.rules.vietnamese import sort_key
from models.rules.workdays import WorkCalendar, local_date
from models.storage.ledger import STATE_SELECT, Planned, append_many, state_from
from models.storage.queries import status_as_of
from models.storage.reference import load_units, load_versions
from models.storage.replies import ask_replies
from models.storage.tables import (
    ACTOR,
    ATTACHMENT,
    DIRECTIVE,
    EVENT,
    MESSAGE,
    OBLIGATION,
    REQUIREMENT,
)

# Told to the unit at the next run after a return, with the reason; not a rung of a ladder.
RETURN_NOTICE = Step(key="tra-lai", working_days=0, to="unit", template="tra-lai")
# The monthly summary to the issuer's leadership, with the urging dispatch; not a ladder rung.
SUMMARY_STEP = Step(
    key="tong-hop-thang", working_days=0, to="issuer", template="tong-hop-thang", dispatch=True
)
BATCH = 2000
# The work of each run, as its failures name it to a clerk.
CHASING = "Đôn đốc"
SUMMING = "Tổng hợp tháng"
# Builds a named tuple from a tuple of its fields, as its `_make` does without checking their
# number: a third of the time of calling the class, for the tens of thousands a run builds.
_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class DirectiveInfo:
    """What a letter or an urging dispatch made on a day says about the directive being
    chased: its document (the body that issued it as named then), and who issues and
    receives what is made that day, the units holding the issuer's and the lead office's
    roles on the day (their successors once they have closed), as named that day."""

    code: str
    number: str | None
    symbol: str  # the document's
    document_date: str
    subject: str
    document_issuer: str  # the document's issuer as named on the document's date
    signed_by: str | None  # the document's signer; None once another unit holds its role
    issuer_name: str
    issuer_parent: str  # the body above the issuer, "" if none
    issuer_kind: str
    lead_name: str
    dispatch_symbol: str  # the document's symbol, with the lead office's sign of the day


@dataclass(frozen=True, slots=True)
class Group:
    """A unit by its code and name: the body a dispatch to many late units addresses instead
    of each of them (a late unit's ancestor just under the issuer, from the register's parent
    links), or the unit holding a late unit's work on the day."""

    code: str
    name: str


class Item(NamedTuple):
    """One obligation one step is due for today (a named tuple: a national run builds tens of
    thousands)."""

    obligation_id: int
    directive: str
    subject: str
    requirement: str
    title: str
    unit: str  # the unit that owes it
    unit_name: str
    period: str
    effective_due: date
    step: Step
    reason: str | None  # the return's reason, for a return notice
    state: State
    info: DirectiveInfo
    group: Group  # the body under the issuer of the unit it is asked of (see `asked`)
    # who holds the unit's work on the day: the unit, or its successor once it has closed;
    # None for a unit closed with no successor
    holder: Group | None
    what: Deliverable | None = None  # what the unit hands in, for the letter's reply block

    @property
    def owed_by(self) -> str:
        """The unit as a letter names the item: with the unit that now holds its work once the
        unit has closed, or saying that no one does."""
        if self.holder is None:
            return f"{self.unit_name} (đã giải thể, không có đơn vị kế thừa)"
        if self.holder.code == self.unit:
            return self.unit_name
        return f"{self.unit_name} (đơn vị kế thừa: {self.holder.name})"

    @property
    def asked(self) -> Group:
        """Whom the item is asked of on the day: the unit holding its work or, when no one
        does, the closed unit itself, named as such."""
        return self.holder or Group(self.unit, self.owed_by)

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

    @property
    def answerable(self) -> list[Item]:
        """The items the recipient may hand in by answering the letter: those asked of a
        unit, one per obligation."""
        found = {i.obligation_id: i for i in self.items if i.step.to == "unit" and i.what}
        return list(found.values())

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
    """What a run on `day` finds: the items, the letters, the units no one can be told, and
    the directives it cannot chase (whose items it leaves out)."""

    day: date
    working_day: bool
    items: list[Item] = field(default_factory=list)
    letters: list[Letter] = field(default_factory=list)
    unreachable: list[tuple[str, str, str]] = field(default_factory=list)  # unit, name, role
    failed: Failures = field(default_factory=lambda: Failures(CHASING))

    @property
    def run(self) -> str:
        return f"chase {self.day.isoformat()}"

    def leave_out(self, directives: Collection[str]) -> None:
        """Take the items of these directives out of the plan and of its letters (a letter
        left with no item goes too): what each recipient still hears is what grouping the
        other items would give."""
        self.items = [item for item in self.items if item.directive not in directives]
        letters = [
            Letter(letter.recipient, [i for i in letter.items if i.directive not in directives])
            for letter in self.letters
        ]
        self.letters = [letter for letter in letters if letter.items]


def _owed(limit: date, only: Collection[int] | None) -> list[sa.ColumnElement[bool]]:
    """Obligations that may have a step due: still owed, with a due date by `limit`, or
    returned (a return is told whenever its due date is); all of them, or those in `only`."""
    conditions = [
        OBLIGATION.c.status.in_(CHASEABLE),
        OBLIGATION.c.effective_due.is_not(None),
        sa.or_(OBLIGATION.c.effective_due <= limit, OBLIGATION.c.status == "returned"),
    ]
    if only is not None:
        conditions.append(OBLIGATION.c.id.in_(list(only)))
    return conditions


@dataclass(frozen=True, slots=True)
class Documents:
    """The published directives and their requirements (with their directive's code), read
    and validated once per run."""

    directives: dict[str, DirectiveSpec]
    requirements: dict[int, tuple[str, RequirementSpec]]

    def ladders(self, default: list[Step]) -> dict[int, list[Step]]:
        """The escalation ladder of each requirement."""
        return {
            id_: self.directives[code].ladder(requirement, default)
            for id_, (code, requirement) in self.requirements.items()
        }


def read_documents(conn: Connection, failures: Failures) -> Documents:
    """The published directives and requirements; a directive whose stored text or one of
    whose requirements no longer reads is left out whole, as a failure."""
    published = DIRECTIVE.c.status == "published"
    directives: dict[str, DirectiveSpec] = {}
    for code, content in conn.execute(
        sa.select(DIRECTIVE.c.code, DIRECTIVE.c.content).where(published)
    ):
        with failures.of(code):
            directives[code] = DirectiveSpec.model_validate_json(content)
    requirements: dict[int, tuple[str, RequirementSpec]] = {}
    for id_, code, spec in conn.execute(
        sa.select(REQUIREMENT.c.id, DIRECTIVE.c.code, REQUIREMENT.c.spec)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .where(published)
    ):
        with failures.of(code):
            requirements[id_] = (code, RequirementSpec.model_validate_json(spec))
    return Documents(
        {code: spec for code, spec in directives.items() if code not in failures},
        {id_: found for id_, found in requirements.items() if found[0] not in failures},
    )


def reach(ladders: dict[int, list[Step]], day: date, calendar: WorkCalendar) -> date:
    """The latest due date any step can be due for on `day`: a step k working days before a
    due date D falls after `day` once D is later than the k-th working day after `day`."""
    ahead = max((-ladder[0].working_days for ladder in ladders.values()), default=0)
    return calendar.add_working_days(day, max(ahead, 0))


# What the items of one requirement share (see `_Reader.requirement`).
_Shared = tuple[
    str,
    str,
    str,
    str,
    DirectiveInfo,
    str,
    dict[str, tuple[str, str, Group, Group | None]],
    Deliverable,
]


class Register:
    """The unit register as a run on `day` reads it, once: each unit as named on a day (the
    version then in force), and who holds its work and role on `day` (see `heir_on`)."""

    def __init__(self, conn: Connection, day: date) -> None:
        self.day = day
        self.units = {unit.code: unit for unit in load_units(conn)}
        earlier = load_versions(conn)  # a few rows: the units that continued under their code
        continued = {version.code for version in earlier}
        self.versions = histories(
            (self.units[code] for code in continued if code in self.units), earlier
        )
        self.holders: dict[str, UnitRow | None] = {}

    def named(self, code: str, day: date | None = None) -> UnitRow:
        """Unit `code` as named on `day` (the run's by default)."""
        versions = self.versions.get(code)
        return self.units[code] if versions is None else version_on(versions, day or self.day)

    def holder(self, code: str) -> UnitRow | None:
        """Who holds unit `code`'s work and role on the run's day, as named that day: the unit
        while it exists, then its successor; None once it has closed with no successor."""
        if code not in self.holders:
            heir = heir_on(self.units, self.units[code], self.day)
            self.holders[code] = None if heir is None else self.named(heir.code)
        return self.holders[code]

    def holding(self, code: str) -> UnitRow:
        """The holder of unit `code`'s role on the run's day, or the unit itself, as last
        named, if no one holds it (what is made then still says whose role it was)."""
        return self.holder(code) or self.named(code)


class _Reader:
    """Turns obligation rows into items with what a run reads once: the published documents
    and the registers. What an item repeats of its requirement, and of its unit under the
    directive's issuer, is one shared tuple each, found once: a national run builds tens of
    thousands of items from a few requirements and ten thousand units."""

    def __init__(self, conn: Connection, day: date, failures: Failures) -> None:
        self.documents = read_documents(conn, failures)
        self.register = Register(conn, day)
        self.units = self.register.units
        self.group = grouper(self.units)
        self.infos: dict[str, DirectiveInfo] = {}
        self.periods: dict[str, str] = {}
        self.requirements: dict[int, _Shared] = {}
        # per issuer, per unit: the unit's code, name, group under that issuer and holder
        self.unit_parts: dict[str, dict[str, tuple[str, str, Group, Group | None]]] = {}
        self.holders: dict[str, Group] = {}

    def owed(self, only: sa.ColumnElement[bool]) -> sa.Select[Any]:
        """The obligations of the published directives that `only` selects, in id order, as
        `Owed` rows."""
        return (
            sa.select(
                OBLIGATION.c.id,
                OBLIGATION.c.requirement_id,
                OBLIGATION.c.unit_code,
                OBLIGATION.c.period_key,
                *STATE_SELECT,
            )
            .where(OBLIGATION.c.requirement_id.in_(list(self.documents.requirements)), only)
            .order_by(OBLIGATION.c.id)
        )

    def info(self, code: str) -> DirectiveInfo:
        info = self.infos.get(code)
        if info is None:
            info = self.infos[code] = _info(self.documents.directives[code], self.register)
        return info

    def requirement(self, requirement_id: int) -> _Shared:
        """What the items of a requirement share: its directive's code and subject, its code
        and title, the directive's info, the unit holding its issuer's role, and the parts of
        units under that holder."""
        code, requirement = self.documents.requirements[requirement_id]
        document = self.documents.directives[code].document
        issuer = self.register.holding(document.issuer).code
        shared = self.requirements[requirement_id] = (
            code,
            document.subject,
            requirement.code,
            requirement.title,
            self.info(code),
            issuer,
            self.unit_parts.setdefault(issuer, {}),
            requirement.what,
        )
        return shared

    def holder(self, code: str) -> Group | None:
        """Who holds unit `code`'s work on the run's day (None if no one does), one `Group`
        per holder."""
        holding = self.register.holder(code)
        if holding is None:
            return None
        found = self.holders.get(holding.code)
        if found is None:
            found = self.holders[holding.code] = Group(holding.code, holding.name)
        return found

    def item(self, row: Owed, step: Step, reason: str | None) -> Item:
        shared = self.requirements.get(row.requirement_id) or self.requirement(row.requirement_id)
        code, subject, requirement, title, info, issuer, parts, what = shared
        unit = parts.get(row.unit_code)
        if unit is None:
            found = self.units[row.unit_code]
            holder = self.holder(found.code)
            unit = parts[row.unit_code] = (
                found.code,
                found.name,
                self.group((holder.code if holder else found.code), issuer),
                holder,
            )
        unit_code, unit_name, group, holder = unit
        period = self.periods.setdefault(row.period_key, row.period_key)
        return _new(
            Item,
            (
                row.id,
                code,
                subject,
                requirement,
                title,
                unit_code,
                unit_name,
                period,
                row.effective_due,
                step,
                reason,
                row.state,
                info,
                group,
                holder,
                what,
            ),
        )


class Owed(NamedTuple):
    """An obligation as a run reads it."""

    id: int
    requirement_id: int
    unit_code: str
    period_key: str
    effective_due: date
    state: State


def _read(conn: Connection, query: sa.Select[Any]) -> Iterator[Owed]:
    """The rows of a query of obligations that all have a due date, taken from the driver
    5,000 at a time. Not through a server-side cursor (`yield_per`): a run holds every row
    anyway, and on PostgreSQL the cursor's round trips added a fifth to the read."""
    for row in (row for rows in conn.execute(query).partitions(5000) for row in rows):
        state = _new(State, row[4:])
        if state.figures is not None:  # JSON text, which `state_from` decodes
            state = state_from(row[4:])
        if state.effective_due is None:
            raise ValueError(f"obligation {row[0]} has no due date to chase")
        yield _new(Owed, (row[0], row[1], row[2], row[3], state.effective_due, state))


def _history(conn: Connection, limit: date, only: Collection[int] | None) -> dict[int, list[Any]]:
    """The returns and chases of every candidate, oldest first. Only a candidate some event
    moved past its `created` one (its version 1) can have any."""
    candidate = (
        sa.select(OBLIGATION.c.id)
        .where(*_owed(limit, only), OBLIGATION.c.version > 1)
        .scalar_subquery()
    )
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


def _cycle(effective_due: date, history: Sequence[Any]) -> tuple[Cycle, str | None, bool]:
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
    return _new(Cycle, (effective_due, returned_on, last_sent)), reason, told


def grouper(units: dict[str, Any]) -> Callable[[str, str], Group]:
    """The group of a unit under an issuer: the unit's ancestor just under the nearest body
    that is both the issuer (or one of its ancestors) and an ancestor of the unit; the unit's
    topmost ancestor if they share none. One `Group` per body, shared by its items."""
    groups: dict[str, Group] = {}
    found: dict[tuple[str, str], Group] = {}

    chains: dict[str, list[str]] = {}

    def chain(code: str) -> list[str]:
        """The unit and its ancestors, nearest first (a cycle in the register ends it)."""
        known = chains.get(code)
        if known is None:
            codes = [code]
            while (
                (parent := units[codes[-1]].parent_code) and parent in units and parent not in codes
            ):
                codes.append(parent)
            known = chains[code] = codes
        return known

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


def _info(spec: DirectiveSpec, register: Register) -> DirectiveInfo:
    """The directive's document, and the units holding its issuer's and lead office's roles
    on the run's day, as named then: the document's signer signs only for its own body, and
    the lead office's sign in the dispatch's symbol is the holder's ("UBND-VHTT" becomes
    "UBND-SVHTTDL" once the department holds the district office's role)."""
    document = spec.document
    # documents are issued and received by bodies: a province by its People's Committee
    issuer = register.holding(document.issuer).body()
    lead = register.holding(spec.lead).body()
    parent = issuer.parent_code
    symbol = document.symbol
    if lead.code != spec.lead and "-" in symbol:
        symbol = f"{symbol.rsplit('-', 1)[0]}-{lead.code.rsplit('-', 1)[-1]}"
    return DirectiveInfo(
        code=spec.code,
        number=document.number,
        symbol=document.symbol,
        document_date=document.date,
        subject=document.subject,
        document_issuer=register.named(document.issuer, document_day(document.date)).body().name,
        signed_by=document.signed_by if issuer.code == document.issuer else None,
        issuer_name=issuer.name,
        issuer_parent=register.named(parent).body().name if parent in register.units else "",
        issuer_kind=issuer.kind,
        lead_name=lead.name,
        dispatch_symbol=symbol,
    )


@paused_gc()
def plan(
    conn: Connection,
    *,
    day: date,
    calendar: WorkCalendar,
    default_ladder: list[Step],
    only: Collection[int] | None = None,
    templates: Collection[str] | None = None,
) -> ChasePlan:
    """Everything a chase run on `day` would send; nothing is written. With `only`, just those
    obligations, on any day (a return is told at once, holiday or not). A directive whose
    stored text no longer reads, whose items cannot be built, or (`templates`: the message
    templates that exist) one of whose steps due names no template, is left out and named in
    the plan's failures; the others are chased."""
    if only is None and not calendar.is_working_day(day):
        return ChasePlan(day, working_day=False)
    result = ChasePlan(day, working_day=calendar.is_working_day(day))
    reader = _Reader(conn, day, result.failed)
    ladders = reader.documents.ladders(default_ladder)
    limit = reach(ladders, day, calendar)
    rows = list(_read(conn, reader.owed(sa.and_(*_owed(limit, only)))))
    # no history to read when every candidate is at its `created` event (a first run); an
    # event appended between the two reads fails the append's compare-and-set, as ever
    history = _history(conn, limit, only) if any(r.state.version > 1 for r in rows) else {}
    # the step due, per requirement, status and cycle: many obligations share all three
    steps: dict[tuple[int, str, Cycle], Step | None] = {}
    # the cycle of an obligation never returned nor chased (most are), one per due date
    first: dict[date, tuple[Cycle, str | None, bool]] = {}
    item, items = reader.item, result.items
    for row in rows:
        try:
            status = row.state.status
            past = history.get(row.id)
            found = (
                first.get(row.effective_due) if past is None else _cycle(row.effective_due, past)
            )
            if found is None:
                found = first[row.effective_due] = _cycle(row.effective_due, ())
            cycle, reason, told = found
            if status == "returned" and not told:
                step: Step | None = RETURN_NOTICE
            else:
                asked = (row.requirement_id, status, cycle)
                if asked not in steps:
                    steps[asked] = due_step(
                        ladders[row.requirement_id], status, cycle, day, calendar
                    )
                step = steps[asked]
            if step is None:
                continue
            items.append(item(row, step, reason if step is RETURN_NOTICE else None))
        except Exception as error:  # a directive's broken data stays in that directive
            result.failed.add(reader.documents.requirements[row.requirement_id][0], error)
    if templates is not None:
        _check_step_templates(result, templates)
    if result.failed:
        result.items = [i for i in result.items if i.directive not in result.failed]
    owners = {
        code: (spec.lead, spec.document.issuer)
        for code, spec in reader.documents.directives.items()
    }
    _address(conn, result, owners, reader.register)
    return result


def _check_step_templates(found: ChasePlan, templates: Collection[str]) -> None:
    """Fail each directive with a step due whose message template no longer exists (stored
    before templates were checked, or a template removed since), naming the step."""
    steps: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for item in found.items:
        steps[item.directive].add((f"step {item.step.key}.template", item.step.template))
    for directive, references in sorted(steps.items()):
        with found.failed.of(directive):
            check_templates(sorted(references), templates, f"chase: {directive}")


def _addresses(
    conn: Connection, register: Register
) -> tuple[Callable[[str], list[Recipient]], dict[str, list[Recipient]]]:
    """Who hears for a unit: its own e-mail, under its name of the run's day, then its
    staff's; and each unit's staff alone, from the registers."""
    staff: dict[str, list[Recipient]] = defaultdict(list)
    for actor in conn.execute(
        sa.select(ACTOR.c.unit_code, ACTOR.c.full_name, ACTOR.c.email).where(
            ACTOR.c.email.is_not(None)
        )
    ):
        staff[actor.unit_code].append(Recipient(actor.email.lower(), actor.full_name))

    found: dict[str, list[Recipient]] = {}

    def addresses(code: str) -> list[Recipient]:
        known = found.get(code)
        if known is None:
            own = register.units[code].email
            name = register.named(code).name
            known = found[code] = [Recipient(own.lower(), name)] if own else []
            known += staff.get(code, [])
        return known

    return addresses, staff


def _address(
    conn: Connection,
    result: ChasePlan,
    owners: dict[str, tuple[str, str]],
    register: Register,
) -> None:
    """Group the items into one letter per recipient address (`owners`: each directive's
    lead office and issuer): each goes to the unit holding its target's role on the run's day
    (the unit, the lead office, the issuer, or the successor of the one that closed), never
    to a closed unit's own address; a closed unit's items also go to its staff, who alone may
    still hand in its past work. An item no one can be told of (its target's role held by no
    one, or by a unit with no address at all, and no staff) is reported as unreachable and
    left for a later run."""
    addresses, staff = _addresses(conn, register)
    letters: dict[str, list[Item]] = defaultdict(list)
    names: dict[str, str] = {}
    reachable: list[Item] = []
    missing: set[tuple[str, str, str]] = set()
    # the letters each target's items go into, found at its first item
    into: dict[tuple[str, bool], list[list[Item]]] = {}
    for item in result.items:
        to_whom = item.step.to
        if to_whom == "unit":
            target = item.unit
        else:
            lead, issuer = owners[item.directive]
            target = lead if to_whom == "lead" else issuer
        found = into.get((target, to_whom == "unit"))
        if found is None:
            holder = register.holder(target)
            to = addresses(holder.code) if holder is not None else []
            if to_whom == "unit" and (holder is None or holder.code != target):
                to = [*to, *staff.get(target, [])]
            for recipient in to:
                names.setdefault(recipient.email, recipient.name)
            emails = dict.fromkeys(recipient.email for recipient in to)
            found = into[(target, to_whom == "unit")] = [letters[email] for email in emails]
        if not found:
            holder = register.holding(target)
            missing.add((holder.code, holder.name, to_whom))
            continue
        reachable.append(item)
        for letter in found:
            letter.append(item)
    result.items = reachable
    result.unreachable = sorted(missing, key=lambda m: sort_key(m[1]))
    result.letters = [
        Letter(Recipient(email, names[email]), items) for email, items in sorted(letters.items())
    ]


@paused_gc()
def append_events(conn: Connection, chase: ChasePlan, *, now: datetime) -> int:
    """Append each item's event, by the system actor, in the caller's transaction, a batch at
    a time, each directive's in a savepoint of its own: a directive whose events fail to
    append has none appended, and is named in the plan's failures. Returns how many were
    appended."""
    by_directive: dict[str, dict[int, Item]] = defaultdict(dict)
    for item in chase.items:
        by_directive[item.directive][item.obligation_id] = item
    appended = 0
    for directive, by_id in by_directive.items():
        with chase.failed.of(directive), conn.begin_nested():
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
                    conn,
                    planned[start : start + BATCH],
                    actor=SYSTEM_ACTOR,
                    channel=chase.run,
                    now=now,
                )
            appended += len(planned)
    return appended


@paused_gc()
def write(
    conn: Connection,
    chase: ChasePlan,
    *,
    render: Callable[[Letter, date], Rendered],
    now: datetime,
    reply_to: str | None = None,
) -> int:
    """Append the items' events and the letters' outbox rows in the caller's transaction;
    returns the number of messages written (a letter already in the outbox is not written
    again). A directive whose letters fail to render or whose events fail to append is left
    out (named in the plan's failures), with none of its events, and the others' letters are
    written without its items. With `reply_to`, the letters that ask units for what they owe
    may be answered there (their reply block is `render`'s)."""
    done: dict[str, Rendered] = {}
    while True:
        messages = rendered(conn, chase, render=render, done=done)
        attempt = conn.begin_nested()
        try:
            append_events(conn, chase, now=now)
            failed = {item.directive for item in chase.items if item.directive in chase.failed}
            if not failed:
                written = store_messages(conn, chase.run, messages, now)
                if reply_to is not None:
                    letters = {letter.key(chase.run): letter for letter in chase.letters}
                    asked = [
                        (k, [i.obligation_id for i in letters[k].answerable]) for k, *_ in messages
                    ]
                    ask_replies(conn, asked, reply_to=reply_to)
                attempt.commit()
                return written
            attempt.rollback()
        except BaseException:
            if attempt.is_active:
                attempt.rollback()
            raise
        # the letters change without the failed directives' items: render and append again
        chase.leave_out(failed)


def rendered(
    conn: Connection,
    chase: ChasePlan,
    *,
    render: Callable[[Letter, date], Rendered],
    done: dict[str, Rendered] | None = None,
) -> list[tuple[str, Recipient, Rendered]]:
    """The letters the outbox does not hold yet, rendered (key, recipient, content): what
    `write` stores, and what a dry run renders so that it fails where the real run would.
    A letter that fails to render is rendered again for each directive of its items: those
    that fail alone (or, if none does, all of them) are named in the plan's failures and
    left out, and the letters are rendered without them. `done`: letters rendered before,
    by key, not rendered again."""
    done = {} if done is None else done
    while True:
        keys = [letter.key(chase.run) for letter in chase.letters]
        new = _not_stored(conn, keys)
        found: list[tuple[str, Recipient, Rendered]] = []
        failed: set[str] = set()
        for key, letter in zip(keys, chase.letters, strict=True):
            if key not in new:
                continue
            if key not in done:
                try:
                    done[key] = render(letter, chase.day)
                except Exception as error:  # find the directives at fault, keep the others
                    failed |= _at_fault(letter, chase, render, error)
                    continue
            found.append((key, letter.recipient, done[key]))
        if not failed:
            return found
        chase.leave_out(failed)


def _at_fault(
    letter: Letter, chase: ChasePlan, render: Callable[[Letter, date], Rendered], error: Exception
) -> set[str]:
    """The directives of a letter that failed to render (`error`) whose items fail alone, each
    named in the plan's failures; all of the letter's if none does."""
    by_directive: dict[str, list[Item]] = defaultdict(list)
    for item in letter.items:
        by_directive[item.directive].append(item)
    for directive, items in by_directive.items():
        with chase.failed.of(directive):
            render(Letter(letter.recipient, items), chase.day)
    at_fault = {directive for directive in by_directive if directive in chase.failed}
    if not at_fault:
        for directive in by_directive:
            chase.failed.add(directive, error)
        at_fault = set(by_directive)
    return at_fault


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
    """The overdue obligations a unit holds under one directive on a day (its own, and those of
    the units it succeeded): how many, how many of them were returned for correction, and the
    oldest due date."""

    unit: str
    unit_name: str
    overdue: int
    oldest_due: date
    returned: int


def late_units(items: Iterable[Item]) -> list[Late]:
    """The units the items are asked of on the day (each unit, or its successor once it has
    closed; see `Item.asked`) with their counts, in the order they first come."""
    found: dict[Group, list[Item]] = {}
    for item in items:
        found.setdefault(item.asked, []).append(item)
    return [
        Late(
            unit.code,
            unit.name,
            len(owed),
            min(i.effective_due for i in owed),
            sum(i.state.status == "returned" for i in owed),
        )
        for unit, owed in found.items()
    ]


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


@paused_gc()
def summaries(conn: Connection, *, on: Day, failures: Failures | None = None) -> list[Summary]:
    """Per published directive with overdue obligations on the day: who is late and with what
    (one query for the items, one for the registers). A directive whose stored text no longer
    reads or whose summary cannot be built is left out, named in `failures`."""
    failures = Failures(SUMMING) if failures is None else failures
    reader = _Reader(conn, on.day, failures)
    by_directive: dict[str, Summary] = {}
    for row in _read(conn, reader.owed(status_as_of(on) == "overdue")):
        code = reader.documents.requirements[row.requirement_id][0]
        try:
            found = by_directive.get(code)
            if found is None:
                found = by_directive[code] = Summary(reader.info(code), [], [], [])
            found.items.append(reader.item(row, SUMMARY_STEP, None))
        except Exception as error:  # a directive's broken data stays in that directive
            failures.add(code, error)
    addresses, _ = _addresses(conn, reader.register)
    for code, found in sorted(by_directive.items()):
        with failures.of(code):
            found.late = sorted(
                late_units(found.items),
                key=lambda late: (-late.overdue, late.oldest_due, sort_key(late.unit_name)),
            )
            issuer = reader.register.holder(reader.documents.directives[code].document.issuer)
            found.recipients = addresses(issuer.code) if issuer is not None else []
    return [found for code, found in sorted(by_directive.items()) if code not in failures]


def write_summaries(
    conn: Connection,
    found: list[Summary],
    *,
    day: date,
    render: Callable[[Summary, Recipient, date], Rendered],
    now: datetime,
    failures: Failures | None = None,
) -> int:
    """The month's summaries into the outbox, one per directive and recipient; a rerun in the
    same month writes nothing again. A directive whose summary fails to render writes none
    (named in `failures`); the others' are written. Returns the messages written."""
    failures = Failures(SUMMING) if failures is None else failures
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
    messages: dict[str, list[tuple[str, Recipient, Rendered]]] = defaultdict(list)
    for key, summary, to in wanted:
        code = summary.info.code
        if key in new and code not in failures:
            with failures.of(code):
                messages[code].append((key, to, render(summary, to, day)))
    return store_messages(
        conn,
        run,
        [message for code, some in messages.items() if code not in failures for message in some],
        now,
    )

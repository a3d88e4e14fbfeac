"""The event log in the database: commands append events and update the projection in one
transaction; `verify` checks the hash chains; `rebuild` recomputes the projection."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from models.authz import ActorInfo, check_review, check_submit
from models.db import binder, driver_mark, transaction
from models.directive import RequirementSpec
from models.errors import ConcurrencyConflict, InputError, LogCorrupt, NotFound, Unauthorized
from models.obligation import (
    GENESIS,
    Decision,
    State,
    decide_accept,
    decide_extend,
    decide_return,
    decide_submit,
    decide_waive,
    event_digest,
    event_hash,
    evolve,
    load_payload,
    payload_text,
    utc_text,
)
from models.tables import ACTOR, DENIAL, DIRECTIVE, EVENT, OBLIGATION, REQUIREMENT

ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command did: the event it appended, or the earlier one its key matched."""

    obligation_id: int
    kind: str
    version: int
    status: str
    replayed: bool  # True when the idempotency key had already been applied


@dataclass(frozen=True, slots=True)
class Target:
    """The obligation a command acts on, with what deciding and authorizing need."""

    obligation_id: int
    unit_code: str
    lead_unit_code: str
    requirement: RequirementSpec
    state: State


def load_actor(conn: Connection, username: str, source: str) -> ActorInfo:
    row = conn.execute(
        sa.select(ACTOR.c.username, ACTOR.c.unit_code, ACTOR.c.role).where(
            ACTOR.c.username == username
        )
    ).first()
    if row is None:
        raise InputError(source, "actor", username, "names no actor in the register")
    return ActorInfo(row.username, row.unit_code, row.role)


def record_denial(
    engine: Engine, *, actor: str, command: str, target: str, reason: str, now: datetime
) -> None:
    """Keep a refused attempt on record, in a transaction of its own."""
    with transaction(engine) as conn:
        conn.execute(
            DENIAL.insert().values(
                at=now, actor=actor, command=command, target=target, reason=reason
            )
        )


def state_from_row(row: Any) -> State:
    return State(
        status=row.status,
        version=row.version,
        due_date=row.due_date,
        effective_due=row.effective_due,
        figures=json.loads(row.figures) if row.figures is not None else None,
        narrative=row.narrative,
        evidence=row.evidence,
        submitted_at=row.submitted_at,
        decided_at=row.decided_at,
        last_hash=row.last_hash,
    )


def projection_values(state: State) -> dict[str, Any]:
    """The projection columns of `obligation` for a state."""
    return {
        "status": state.status,
        "version": state.version,
        "effective_due": state.effective_due,
        "figures": json.dumps(state.figures, ensure_ascii=False, sort_keys=True)
        if state.figures is not None
        else None,
        "narrative": state.narrative,
        "evidence": state.evidence,
        "submitted_at": state.submitted_at,
        "decided_at": state.decided_at,
        "last_hash": state.last_hash,
    }


def _load_target(conn: Connection, obligation_id: int) -> Target:
    row = conn.execute(
        sa.select(OBLIGATION, REQUIREMENT.c.spec, DIRECTIVE.c.lead_unit_code)
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .where(OBLIGATION.c.id == obligation_id)
    ).first()
    if row is None:
        raise NotFound(f"no obligation {obligation_id}")
    return Target(
        obligation_id=row.id,
        unit_code=row.unit_code,
        lead_unit_code=row.lead_unit_code,
        requirement=RequirementSpec.model_validate_json(row.spec),
        state=state_from_row(row),
    )


def _replayed(conn: Connection, key: str, obligation_id: int, kind: str) -> Outcome | None:
    row = conn.execute(
        sa.select(EVENT.c.obligation_id, EVENT.c.kind, EVENT.c.version).where(
            EVENT.c.idempotency_key == key
        )
    ).first()
    if row is None:
        return None
    if (row.obligation_id, row.kind) != (obligation_id, kind):
        raise InputError(
            kind,
            "idempotency key",
            key,
            f"was used for a {row.kind} on obligation {row.obligation_id}",
        )
    status = conn.execute(
        sa.select(OBLIGATION.c.status).where(OBLIGATION.c.id == obligation_id)
    ).scalar_one()
    return Outcome(obligation_id, kind, row.version, status, replayed=True)


@dataclass(frozen=True, slots=True)
class Issued:
    """Who issued a command, through which channel, when, and under which idempotency key
    (a command repeated with the same key appends nothing more)."""

    actor: str
    key: str
    channel: str
    now: datetime


def append(conn: Connection, target: Target, decision: Decision, by: Issued) -> Outcome:
    """Number, chain and append one event, and move the projection in the same transaction.

    The projection update is a compare-and-set on the version: a concurrent writer that got
    there first makes it match nothing, and the unique (obligation, version) constraint is
    the last guard."""
    state = target.state
    version = state.version + 1
    text = payload_text(decision.payload)
    digest = event_hash(
        state.last_hash, version, decision.kind, by.key, by.actor, by.now, by.channel, text
    )
    new = evolve(state, decision.kind, decision.payload, by.now, digest)
    moved = conn.execute(
        OBLIGATION.update()
        .where(OBLIGATION.c.id == target.obligation_id, OBLIGATION.c.version == state.version)
        .values(**projection_values(new))
    ).rowcount
    if moved != 1:
        raise ConcurrencyConflict(f"obligation {target.obligation_id} changed meanwhile")
    try:
        conn.execute(
            EVENT.insert().values(
                obligation_id=target.obligation_id,
                version=version,
                kind=decision.kind,
                idempotency_key=by.key,
                actor=by.actor,
                at=by.now,
                channel=by.channel,
                payload=text,
                prev_hash=state.last_hash,
                hash=digest,
            )
        )
    except IntegrityError:
        raise ConcurrencyConflict(
            f"obligation {target.obligation_id} version {version} was appended meanwhile"
        ) from None
    return Outcome(target.obligation_id, decision.kind, version, new.status, replayed=False)


# The columns of an event row, in the order bulk writers hand them to the driver.
EVENT_COLUMNS = (
    "obligation_id",
    "version",
    "kind",
    "idempotency_key",
    "actor",
    "at",
    "channel",
    "payload",
    "prev_hash",
    "hash",
)


# The State fields the projection stores, under the same names as its columns.
PROJECTED = (
    "status",
    "version",
    "effective_due",
    "figures",
    "narrative",
    "evidence",
    "submitted_at",
    "decided_at",
    "last_hash",
)


projected = attrgetter(*PROJECTED)


def _payload_text(seen: dict[str, str], payload: dict[str, Any]) -> str:
    """`payload_text`, once per distinct payload of a batch (a chase repeats a few). Equal
    reprs of JSON values are equal values (True and 1 differ there, as in JSON)."""
    key = repr(payload)
    text = seen.get(key)
    if text is None:
        text = seen[key] = payload_text(payload)
    return text


@dataclass(frozen=True, slots=True)
class Planned:
    """One event a set-based run decided on: the obligation as it was read, what was decided,
    and the event's idempotency key."""

    obligation_id: int
    state: State
    decision: Decision
    key: str


def append_many(
    conn: Connection, planned: list[Planned], *, actor: str, channel: str, now: datetime
) -> list[Outcome]:
    """Append one event to each of many obligations in a few statements, with the same
    numbering, fold and hash chain as `append`.

    The projection moves by a compare-and-set on each obligation's version, writing only the
    columns the event changes: if any obligation changed since it was read (a concurrent
    single command won), or any key or version is taken, nothing of the batch is written and
    ConcurrencyConflict tells the caller to read again and retry. Rows go to the driver's
    executemany, as publishing's do."""
    if not planned:
        return []
    mark = driver_mark(conn)
    binders = {c.name: binder(conn, c) for c in OBLIGATION.c}
    at, at_text = binder(conn, EVENT.c.at)(now), utc_text(now)
    texts: dict[str, str] = {}
    events: list[tuple[Any, ...]] = []
    moves: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    outcomes: list[Outcome] = []
    for item in planned:
        old = item.state
        version = old.version + 1
        kind, payload = item.decision.kind, item.decision.payload
        text = _payload_text(texts, payload)
        digest = event_digest(old.last_hash, version, kind, item.key, actor, at_text, channel, text)
        new = evolve(old, kind, payload, now, digest)
        events.append(
            (
                item.obligation_id,
                version,
                kind,
                item.key,
                actor,
                at,
                channel,
                text,
                old.last_hash,
                digest,
            )
        )
        after = projection_values(new)
        changed = tuple(
            name
            for name, was, now_is in zip(PROJECTED, projected(old), projected(new), strict=True)
            if was != now_is
        )
        moves.setdefault(changed, []).append(
            (*(binders[name](after[name]) for name in changed), item.obligation_id, old.version)
        )
        outcomes.append(Outcome(item.obligation_id, kind, version, new.status, replayed=False))
    moved = 0
    for changed, rows in moves.items():
        assignments = ", ".join(f"{name} = {mark}" for name in changed)
        moved += conn.exec_driver_sql(
            f"UPDATE obligation SET {assignments} WHERE id = {mark} AND version = {mark}", rows
        ).rowcount
    if moved != len(planned):
        raise ConcurrencyConflict(
            f"{len(planned) - moved} of {len(planned)} obligations changed meanwhile"
        )
    columns = ", ".join(EVENT_COLUMNS)
    try:
        conn.exec_driver_sql(
            f"INSERT INTO event ({columns}) VALUES ({', '.join([mark] * len(EVENT_COLUMNS))})",
            events,
        )
    except IntegrityError:
        raise ConcurrencyConflict("an event of the batch was appended meanwhile") from None
    return outcomes


Decider = Callable[[Target], Decision]


def run_command(
    engine: Engine,
    obligation_id: int,
    by: Issued,
    *,
    command: str,
    kind: str,
    authorize: Callable[[ActorInfo, Target], None],
    decide: Decider,
) -> Outcome:
    """Authorize, decide and append, retrying when another writer got there first.

    A refusal (bad input, wrong state, no right) writes no event; a denial of rights is
    recorded in the denial register."""
    for _ in range(ATTEMPTS):
        try:
            with transaction(engine) as conn:
                replay = _replayed(conn, by.key, obligation_id, kind)
                if replay is not None:
                    return replay
                who = load_actor(conn, by.actor, command)
                target = _load_target(conn, obligation_id)
                authorize(who, target)
                return append(conn, target, decide(target), by)
        except Unauthorized as denied:
            record_denial(
                engine,
                actor=by.actor,
                command=command,
                target=f"obligation {obligation_id}",
                reason=str(denied),
                now=by.now,
            )
            raise
        except ConcurrencyConflict:
            continue
    raise ConcurrencyConflict(f"obligation {obligation_id}: too many concurrent writers")


def _as_unit(who: ActorInfo, target: Target) -> None:
    check_submit(who, target.unit_code)


def _review(
    engine: Engine, obligation_id: int, by: Issued, command: str, kind: str, decide: Decider
) -> Outcome:
    """A command only the directive's lead office may give."""

    def as_lead(who: ActorInfo, target: Target) -> None:
        check_review(who, target.lead_unit_code, command)

    return run_command(
        engine, obligation_id, by, command=command, kind=kind, authorize=as_lead, decide=decide
    )


def submit(
    engine: Engine,
    obligation_id: int,
    by: Issued,
    *,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> Outcome:
    """A unit's staff hand in the figures the requirement asks for."""
    return run_command(
        engine,
        obligation_id,
        by,
        command="submit",
        kind="submitted",
        authorize=_as_unit,
        decide=lambda t: decide_submit(t.state, t.requirement.what, figures, narrative, evidence),
    )


def accept(engine: Engine, obligation_id: int, by: Issued) -> Outcome:
    """The lead office accepts a submission."""
    return _review(
        engine, obligation_id, by, "accept", "accepted", lambda t: decide_accept(t.state)
    )


def return_(engine: Engine, obligation_id: int, by: Issued, *, reason: str | None) -> Outcome:
    """The lead office returns a submission for correction."""
    return _review(
        engine, obligation_id, by, "return", "returned", lambda t: decide_return(t.state, reason)
    )


def extend(
    engine: Engine, obligation_id: int, by: Issued, *, due: date, reason: str | None
) -> Outcome:
    """The lead office moves the due date later."""
    return _review(
        engine,
        obligation_id,
        by,
        "extend",
        "extended",
        lambda t: decide_extend(t.state, due, reason),
    )


def waive(engine: Engine, obligation_id: int, by: Issued, *, reason: str | None) -> Outcome:
    """The lead office releases the unit from the obligation."""
    return _review(
        engine, obligation_id, by, "waive", "waived", lambda t: decide_waive(t.state, reason)
    )


@dataclass(frozen=True, slots=True)
class Problem:
    """One place where the log and its chain or projection disagree."""

    obligation_id: int
    version: int | None
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"obligation {self.obligation_id}"
        if self.version is not None:
            where += f", version {self.version}"
        if self.event_id is not None:
            where = f"event {self.event_id} ({where})"
        return f"{where}: {self.problem}"


def _obligations(conn: Connection) -> Iterator[Any]:
    query = (
        sa.select(
            OBLIGATION,
            REQUIREMENT.c.code.label("requirement_code"),
            DIRECTIVE.c.code.label("directive_code"),
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .order_by(OBLIGATION.c.id)
    )
    yield from conn.execute(query.execution_options(yield_per=5000))


def _events(conn: Connection) -> Iterator[Any]:
    query = sa.select(EVENT).order_by(EVENT.c.obligation_id, EVENT.c.version)
    yield from conn.execute(query.execution_options(yield_per=5000))


def _replay(obligation: Any, events: list[Any], problems: list[Problem]) -> State | None:
    """Fold one obligation's events, checking numbering, chain, hashes and identity."""
    state: State | None = None
    prev = GENESIS
    for expected, ev in enumerate(events, start=1):
        at = (obligation.id, ev.version, ev.id)
        if ev.version != expected:
            problems.append(Problem(*at, f"expected version {expected}: an event is missing"))
            return None
        if ev.prev_hash != prev:
            problems.append(
                Problem(
                    *at, "does not chain to the event before it (deleted, inserted or reordered)"
                )
            )
            return None
        digest = event_hash(
            ev.prev_hash,
            ev.version,
            ev.kind,
            ev.idempotency_key,
            ev.actor,
            ev.at,
            ev.channel,
            ev.payload,
        )
        if digest != ev.hash:
            problems.append(Problem(*at, "its content does not match its hash (edited)"))
            return None
        payload = load_payload(ev.payload)
        if ev.kind == "created" and (
            payload.get("directive"),
            payload.get("requirement"),
            payload.get("unit"),
            payload.get("period"),
        ) != (
            obligation.directive_code,
            obligation.requirement_code,
            obligation.unit_code,
            obligation.period_key,
        ):
            problems.append(Problem(*at, "the created event names another obligation"))
            return None
        state = evolve(state, ev.kind, payload, ev.at, digest)
        prev = digest
    if state is None:
        problems.append(Problem(obligation.id, None, None, "has no events"))
    return state


def _walk(conn: Connection) -> Iterator[tuple[Any, State | None, list[Problem]]]:
    """Each obligation with the state its events fold to, and the problems found on the way."""
    events = _events(conn)
    pending = next(events, None)
    for obligation in _obligations(conn):
        own: list[Any] = []
        problems: list[Problem] = []
        while pending is not None and pending.obligation_id < obligation.id:
            problems.append(
                Problem(
                    pending.obligation_id, pending.version, pending.id, "belongs to no obligation"
                )
            )
            pending = next(events, None)
        while pending is not None and pending.obligation_id == obligation.id:
            own.append(pending)
            pending = next(events, None)
        yield obligation, _replay(obligation, own, problems), problems


def verify(engine: Engine) -> tuple[int, list[Problem]]:
    """Check every chain and that the projection matches the log: (events checked, problems)."""
    problems: list[Problem] = []
    checked = 0
    with transaction(engine, writes=False) as conn:
        for obligation, state, found in _walk(conn):
            problems += found
            if state is None:
                continue
            checked += state.version
            if (obligation.version, obligation.last_hash) != (state.version, state.last_hash):
                problems.append(
                    Problem(
                        obligation.id,
                        obligation.version,
                        None,
                        f"the projection says version {obligation.version} but the log ends at "
                        f"version {state.version} (events deleted at the end, or the projection "
                        "edited)",
                    )
                )
    return checked, problems


def rebuild(engine: Engine) -> tuple[int, int]:
    """Recompute every projection row from the log: (obligations replayed, rows corrected).

    Refuses (and changes nothing) if the log does not verify."""
    fixes: list[dict[str, Any]] = []
    replayed = 0
    with transaction(engine) as conn:
        for obligation, state, problems in _walk(conn):
            if problems or state is None:
                raise LogCorrupt(
                    "the log does not verify, so the projection is not rebuilt: "
                    + "; ".join(str(p) for p in problems)
                )
            replayed += 1
            values = projection_values(state)
            if any(getattr(obligation, k) != v for k, v in values.items()):
                fixes.append({"obligation_id": obligation.id, **values})
        if fixes:
            conn.execute(
                OBLIGATION.update().where(OBLIGATION.c.id == sa.bindparam("obligation_id")),
                fixes,
            )
    return replayed, len(fixes)

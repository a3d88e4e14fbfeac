"""The event log in the database: commands append events and update the projection in one
transaction; `verify` checks the hash chains; `rebuild` recomputes the projection."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from itertools import compress, groupby
from operator import attrgetter, itemgetter, ne
from pathlib import Path
from typing import Any, NamedTuple, cast
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy import Connection, Dialect, Engine
from sqlalchemy.exc import IntegrityError

from models.collector import paused_gc
from models.errors import (
    ConcurrencyConflict,
    InputError,
    LogCorrupt,
    NotFound,
    Unauthorized,
)
from models.files.directive import DirectiveSpec, RequirementSpec
from models.files.textfiles import read_text
from models.rules.authz import ActorInfo, check_review, check_submit
from models.rules.obligation import (
    GENESIS,
    Arrival,
    Decision,
    State,
    created_state,
    decide_accept,
    decide_extend,
    decide_receive,
    decide_return,
    decide_submit,
    decide_waive,
    digester,
    event_hash,
    evolve,
    load_payload,
    note_text,
    payload_text,
    reason_text,
    received_payload,
    utc_text,
    validate_submission,
)
from models.rules.text import character_problem, control_character
from models.rules.workdays import WorkCalendar, local_date
from models.storage.db import (
    Driver,
    DriverQuery,
    binder,
    converter,
    driver_mark,
    driver_transaction,
    transaction,
)
from models.storage.reference import UNIT_BY_CODE, holder_in, unit_or_none
from models.storage.tables import (
    ACTOR,
    DENIAL,
    DIRECTIVE,
    EVENT,
    FIGURE_VALUE,
    OBLIGATION,
    REQUIREMENT,
    REVISION,
    UNIT,
    length,
)

ATTEMPTS = 5


class Outcome(NamedTuple):
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
    period_start: date
    lead_unit_code: str
    requirement: RequirementSpec
    state: State
    submitted_by: str | None  # who handed in the latest submission, if any


# Who gives a command: the actor register's row and the closing day of their unit.
_ACTOR_COLUMNS = (ACTOR.c.username, ACTOR.c.unit_code, ACTOR.c.role, UNIT.c.valid_until)
_ACTOR_UNIT = ACTOR.outerjoin(UNIT, UNIT.c.code == ACTOR.c.unit_code)
_ACTOR_QUERY = (
    sa.select(*_ACTOR_COLUMNS)
    .select_from(_ACTOR_UNIT)
    .where(ACTOR.c.username == sa.bindparam("username"))
)


def _actor(row: Sequence[Any] | None, username: str, source: str) -> ActorInfo:
    """The actor from `_ACTOR_COLUMNS`' values; Unauthorized if the register has none."""
    if row is None or row[0] is None:
        raise Unauthorized(
            f"{source}: actor {username!r} names no actor in the register",
            vi=f"Không có tài khoản «{username}» trong danh sách cán bộ.",
        )
    return ActorInfo(*row)


def _check_actor_name(username: str, command: str) -> None:
    """Refuse a name no database can look up or record (a NUL, a lone surrogate) or no
    register holds (a line break, a control character) as bad input."""
    char = control_character(username, one_line=True)
    if char is not None:
        raise InputError(
            command,
            "actor",
            username,
            character_problem(char),
            vi=f"Tên tài khoản chứa ký tự không được phép (U+{ord(char):04X}).",
        )


def load_actor(conn: Connection, username: str, source: str) -> ActorInfo:
    _check_actor_name(username, source)
    return _actor(conn.execute(_ACTOR_QUERY, {"username": username}).first(), username, source)


def record_denial(
    engine: Engine, *, actor: str, command: str, target: str, reason: str, now: datetime
) -> None:
    """Keep a refused attempt on record, in a transaction of its own. A name longer than the
    register holds names no actor, and is kept as far as its column goes (the reason quotes
    it whole), so that PostgreSQL records it as SQLite does."""
    with transaction(engine) as conn:
        conn.execute(
            DENIAL.insert().values(
                at=now,
                actor=actor[: length(DENIAL.c.actor)],
                command=command,
                target=target[: length(DENIAL.c.target)],
                reason=reason,
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
        handed_in_on=row.handed_in_on,
        decided_at=row.decided_at,
        last_hash=row.last_hash,
    )


# The projection's columns in State's order, to select a state with (see `state_from`).
STATE_SELECT = tuple(OBLIGATION.c[name] for name in State._fields)


def state_from(values: Sequence[Any]) -> State:
    """A state from the values of STATE_SELECT's columns."""
    state = State._make(values)
    if state.figures is None:
        return state
    stored = cast(str, state.figures)  # the column holds the figures as JSON text
    return state._replace(figures=json.loads(stored))


def _figures_text(figures: dict[str, Any]) -> str:
    """Submitted figures as the projection stores them."""
    return json.dumps(figures, ensure_ascii=False, sort_keys=True)


ACCEPTED = ("accepted", "accepted_late")
FigureRow = tuple[str, float | None, str | None]  # key, number, text


def figure_rows(state: State) -> list[FigureRow]:
    """The `figure_value` rows of an obligation in this state: its figures once accepted
    (numbers, and booleans as 0 or 1, in `number`; text in `text`), by key."""
    if state.status not in ACCEPTED or not state.figures:
        return []
    return [
        (key, None, value) if isinstance(value, str) else (key, float(value), None)
        for key, value in sorted(state.figures.items())
    ]


def newly_accepted(oid: int, old: State, new: State) -> list[tuple[Any, ...]]:
    """The `figure_value` rows an event adds: the figures, when it accepts a submission."""
    if new.status in ACCEPTED and old.status not in ACCEPTED:
        return [(oid, *row) for row in figure_rows(new)]
    return []


def projection_values(state: State) -> dict[str, Any]:
    """The projection columns of `obligation` for a state, as SQLAlchemy takes them."""
    values = state._asdict()
    if state.figures is not None:
        values["figures"] = _figures_text(state.figures)
    return values


@lru_cache(maxsize=256)
def requirement_spec(stored: str) -> RequirementSpec:
    """A requirement as stored (canonical JSON), parsed once: a published requirement never
    changes, and every command on its obligations reads it."""
    return RequirementSpec.model_validate_json(stored)


class Keyed(NamedTuple):
    """The event an idempotency key was already used for."""

    obligation_id: int
    kind: str
    version: int
    actor: str
    payload: str


class Loaded(NamedTuple):
    """What a command reads, in one query: its target, the event its key was used for (if
    any), and the actor register's row of who gives it (`_ACTOR_COLUMNS`, None if absent)."""

    target: Target
    keyed: Keyed | None
    actor: tuple[Any, ...] | None


_KEYED = EVENT.alias("keyed")
_SUBMITTED_BY = (
    sa.select(EVENT.c.actor)
    .where(EVENT.c.obligation_id == OBLIGATION.c.id, EVENT.c.kind == "submitted")
    .order_by(EVENT.c.version.desc())
    .limit(1)
    .scalar_subquery()
)
_HEAD = (
    OBLIGATION.c.id,
    OBLIGATION.c.unit_code,
    OBLIGATION.c.period_start,
    REQUIREMENT.c.spec,
    DIRECTIVE.c.lead_unit_code,
    _SUBMITTED_BY.label("submitted_by"),
)
_KEYED_COLUMNS = tuple(_KEYED.c[name] for name in Keyed._fields)
# Built once: a statement kept whole keeps its cache key, so each command only binds it.
_COMMAND_QUERY = (
    sa.select(*_HEAD, *STATE_SELECT, *_KEYED_COLUMNS, *_ACTOR_COLUMNS)
    .select_from(
        OBLIGATION.join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
        .outerjoin(_KEYED, _KEYED.c.idempotency_key == sa.bindparam("key"))
        .outerjoin(_ACTOR_UNIT, ACTOR.c.username == sa.bindparam("actor"))
    )
    .where(OBLIGATION.c.id == sa.bindparam("obligation_id"))
)
_STATE_AT = len(_HEAD)
_KEYED_AT = _STATE_AT + len(STATE_SELECT)
_ACTOR_AT = _KEYED_AT + len(_KEYED_COLUMNS)
_COMMAND = DriverQuery(_COMMAND_QUERY)


def load(driver: Driver, obligation_id: int, by: Issued) -> Loaded:
    """The obligation a command acts on, the event its key names and its actor's row."""
    row = _COMMAND.first(driver, obligation_id=obligation_id, key=by.key, actor=by.actor)
    if row is None:
        raise NotFound(
            f"no obligation {obligation_id}", vi=f"Không có nghĩa vụ số {obligation_id}."
        )
    oid, unit_code, period_start, spec, lead, submitted_by = row[:_STATE_AT]
    target = Target(
        obligation_id=oid,
        unit_code=unit_code,
        period_start=period_start,
        lead_unit_code=lead,
        requirement=requirement_spec(spec),
        state=state_from(row[_STATE_AT:_KEYED_AT]),
        submitted_by=submitted_by,
    )
    keyed = row[_KEYED_AT:_ACTOR_AT]
    return Loaded(
        target,
        None if keyed[0] is None else Keyed._make(keyed),
        None if row[_ACTOR_AT] is None else tuple(row[_ACTOR_AT:]),
    )


_UNIT = DriverQuery(UNIT_BY_CODE)


def holder(driver: Driver, office: str, day: date) -> str | None:
    """`reference.holder_on`, read in a command's transaction."""
    return holder_in(lambda code: unit_or_none(_UNIT.first(driver, code=code)), office, day)


# The idempotency keys of the events dondoc writes itself; no command may use them.
SYSTEM_KEYS = ("created:", "chase:", "closure:", "revision:", "mail:")
# The keys of the commands a form's flow run gives (the run's id): no key typed by a person.
FLOW_KEYS = ("prefect:",)


def check_key(key: str, command: str) -> str:
    """`key`, if a command may use it: one line, within the event column's length, and not
    one of dondoc's own; an InputError otherwise, before anything is read or written."""
    char = control_character(key, one_line=True)
    limit = length(EVENT.c.idempotency_key)
    problem = (
        character_problem(char)
        if char is not None
        else f"is {len(key):,} characters long; at most {limit} are kept"
        if len(key) > limit
        else "is kept for dondoc's own events"
        if key.startswith(SYSTEM_KEYS)
        else None
    )
    if problem is not None:
        raise InputError(
            command,
            "idempotency key",
            key,
            problem,
            vi="Mã lệnh (idempotency key) không hợp lệ; hãy dùng mã khác.",
        )
    return key


def typed_key(key: str, command: str) -> str:
    """A key a person typed (`--key`): as `check_key`, and not one of the keys the forms'
    flow runs give their commands."""
    if key.startswith(FLOW_KEYS):
        raise InputError(
            command,
            "idempotency key",
            key,
            "is kept for the commands of the forms' flow runs",
            vi="Khóa này dành riêng cho các lượt chạy biểu mẫu.",
        )
    return check_key(key, command)


def _replayed(by: Issued, target: Target, kind: str, asked: Asked, keyed: Keyed) -> Outcome:
    """The outcome of the command this one repeats, whose key named the event `keyed`: the
    same kind of command on the same obligation by the same actor, asking the same (`asked`:
    the payload fields the command's input sets). Anything else under a used key is a key
    conflict."""
    stored = load_payload(keyed.payload)
    differs = [
        field
        for field, (was, now) in {
            "obligation": (keyed.obligation_id, target.obligation_id),
            "command": (keyed.kind, kind),
            "actor": (keyed.actor, by.actor),
            **{name: (stored.get(name), value) for name, value in asked(target).items()},
        }.items()
        if was != now
    ]
    if differs:
        raise InputError(
            kind,
            "idempotency key",
            by.key,
            f"was used for a {keyed.kind} of obligation {keyed.obligation_id} by {keyed.actor}; "
            f"this command differs in {', '.join(differs)}: give it a key of its own",
            vi="Mã lệnh (idempotency key) này đã được dùng cho một lệnh khác; hãy dùng mã mới.",
        )
    return Outcome(target.obligation_id, kind, keyed.version, target.state.status, replayed=True)


@dataclass(frozen=True, slots=True)
class Issued:
    """Who issued a command, through which channel, when, and under which idempotency key
    (a command repeated with the same key appends nothing more)."""

    actor: str
    key: str
    channel: str
    now: datetime


# The columns of an event row, in the order the batch hands them to the driver.
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


# Each field of State is the obligation column of the same name: the projection.
STATE_COLUMNS = State._fields
EVERY_FIELD = tuple(range(len(STATE_COLUMNS)))
# What a new obligation's row holds besides its state.
IDENTITY = ("id", "requirement_id", "unit_code", "period_key", "period_start", "period_end")
OBLIGATION_COLUMNS = (*IDENTITY, *STATE_COLUMNS)


class Planned(NamedTuple):
    """One event a set-based run decided on: the obligation as it was read, what was decided,
    and the event's idempotency key."""

    obligation_id: int
    state: State
    decision: Decision
    key: str


class New(NamedTuple):
    """An obligation to create, with its `created` event's key and payload as stored
    (`payload_text` of its `created_payload`), and the due date that payload records (all
    the event's fold needs); its id is given apart."""

    requirement_id: int
    unit_code: str
    period_key: str
    period_start: date
    period_end: date | None
    due: date | None
    key: str
    text: str


FIGURE_COLUMNS = ("obligation_id", "key", "number", "text")


@lru_cache(maxsize=16)
def _insert(mark: str, table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join([mark] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


Row = Callable[[tuple[Any, ...]], tuple[Any, ...]]


class _Stored:
    """How one dialect's driver stores an event's time and the projection's columns, in the
    form SQLAlchemy itself would send: built once per dialect, as every batch and every
    single command needs the same."""

    def __init__(self, dialect: Dialect) -> None:
        self.mark = driver_mark(dialect)
        self.at = binder(dialect, EVENT.c.at)
        # Dates repeat (a period's bounds, a due date): each is converted once.
        self.date = lru_cache(maxsize=4096)(binder(dialect, OBLIGATION.c.period_start))
        self.convert: list[Callable[[Any], Any] | None] = [
            self._converter(dialect, OBLIGATION.c[name]) for name in STATE_COLUMNS
        ]
        self.rows: dict[tuple[int, ...], Row] = {}

    def _converter(self, dialect: Dialect, column: sa.Column[Any]) -> Callable[[Any], Any] | None:
        if column.name == "figures":
            return _figures_text
        convert = converter(dialect, column)
        return self.date if convert and isinstance(column.type, sa.Date) else convert

    def row(self, fields: tuple[int, ...]) -> Row:
        """Picks the fields at these positions of a state, as the driver stores them."""
        maker = self.rows.get(fields)
        if maker is None:
            maker = self.rows[fields] = self._row(fields)
        return maker

    def _row(self, fields: tuple[int, ...]) -> Row:
        pick = itemgetter(*fields) if len(fields) > 1 else lambda v: (v[fields[0]],)
        fix = [(i, c) for i, f in enumerate(fields) if (c := self.convert[f]) is not None]
        if not fix:
            return pick

        def stored(values: tuple[Any, ...]) -> tuple[Any, ...]:
            row = list(pick(values))
            for i, convert in fix:
                if row[i] is not None:
                    row[i] = convert(row[i])
            return tuple(row)

        return stored


_STORED: WeakKeyDictionary[Dialect, _Stored] = WeakKeyDictionary()


def _stored(dialect: Dialect) -> _Stored:
    stored = _STORED.get(dialect)
    if stored is None:
        stored = _STORED[dialect] = _Stored(dialect)
    return stored


class _Batch:
    """The one way events reach the log: each event is numbered after the obligation's
    version, chained to its last hash, hashed and folded into the new state here, and the
    rows go to the driver in the stored form SQLAlchemy itself would send. A batch is written
    in the caller's transaction by `append_many` or `create_many` (`write_events`), a batch of
    one by `append`."""

    def __init__(self, dialect: Dialect, *, actor: str, channel: str, now: datetime) -> None:
        stored = _stored(dialect)
        self.mark, self.date, self.row = stored.mark, stored.date, stored.row
        self.actor, self.channel, self.now = actor, channel, now
        self.at, self.digest = stored.at(now), digester(actor, utc_text(now), channel)
        self.events: list[tuple[Any, ...]] = []
        self.texts: dict[str, str] = {}

    def text(self, payload: dict[str, Any]) -> str:
        """`payload_text`, once per distinct payload of the batch (a chase repeats a few).
        Equal reprs of JSON values are equal values (True and 1 differ there, as in JSON)."""
        key = repr(payload)
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = payload_text(payload)
        return text

    def event(
        self,
        obligation_id: int,
        old: State | None,
        kind: str,
        payload: dict[str, Any],
        key: str,
        text: str,
    ) -> State:
        """Chain one event (its payload stored as `text`) after `old` (None: the obligation's
        first) and return the state it leads to."""
        version, prev = (1, GENESIS) if old is None else (old.version + 1, old.last_hash)
        digest = self.chain(obligation_id, version, prev, kind, key, text)
        return evolve(old, kind, payload, self.now, digest)

    def chain(
        self, obligation_id: int, version: int, prev: str, kind: str, key: str, text: str
    ) -> str:
        """Hash the event numbered `version` after the hash `prev`, add its row to the batch
        and return its hash, leaving the fold to the caller: `event` folds each one, and a
        bulk creation folds its `created` events once per due date (`created_state`)."""
        digest = self.digest(prev, version, kind, key, text)
        self.events.append(
            (
                obligation_id,
                version,
                kind,
                key,
                self.actor,
                self.at,
                self.channel,
                text,
                prev,
                digest,
            )
        )
        return digest

    def write_events(self, conn: Connection) -> None:
        conn.exec_driver_sql(_insert(self.mark, "event", EVENT_COLUMNS), self.events)


@paused_gc()
def append_many(
    conn: Connection, planned: list[Planned], *, actor: str, channel: str, now: datetime
) -> list[Outcome]:
    """Append one event to each of many obligations in a few statements.

    The projection moves by a compare-and-set on each obligation's version, writing only the
    columns the event changes: if any obligation changed since it was read (a concurrent
    command won), or any key or version is taken, nothing of the batch is written and
    ConcurrencyConflict tells the caller to read again and retry."""
    if not planned:
        return []
    batch = _Batch(conn.dialect, actor=actor, channel=channel, now=now)
    moves: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    outcomes: list[Outcome] = []
    accepted: list[tuple[Any, ...]] = []
    for oid, old, decision, key in planned:
        kind, payload = decision
        new = batch.event(oid, old, kind, payload, key, batch.text(payload))
        accepted += newly_accepted(oid, old, new)
        changed = tuple(compress(EVERY_FIELD, map(ne, old, new)))
        moves.setdefault(changed, []).append((*batch.row(changed)(new), oid, old.version))
        outcomes.append(Outcome(oid, kind, new.version, new.status, replayed=False))
    moved = 0
    mark = batch.mark
    for changed, rows in moves.items():
        moved += conn.exec_driver_sql(_move(mark, changed), rows).rowcount
    if moved != len(planned):
        raise ConcurrencyConflict(
            f"{len(planned) - moved} of {len(planned)} obligations changed meanwhile"
        )
    try:
        batch.write_events(conn)
    except IntegrityError:
        raise ConcurrencyConflict("an event of the batch was appended meanwhile") from None
    if accepted:
        conn.exec_driver_sql(_insert(mark, "figure_value", FIGURE_COLUMNS), accepted)
    return outcomes


@paused_gc()
def create_many(
    conn: Connection,
    ids: Sequence[int],
    new: Sequence[New],
    *,
    actor: str,
    channel: str,
    now: datetime,
) -> None:
    """Create many obligations under these ids, each with its `created` event, in two
    statements: the row is the fold of that event, like every later state. A key or an
    obligation that exists already raises IntegrityError, and the caller's transaction
    writes nothing."""
    if not new:
        return
    batch = _Batch(conn.dialect, actor=actor, channel=channel, now=now)
    bind_date, head = batch.date, batch.row(EVERY_FIELD[:-1])
    # The new states of one due date differ in their last hash alone: the rest is folded and
    # converted once per due date (the hash is stored as it is).
    heads: dict[date | None, tuple[Any, ...]] = {}
    rows = []
    for oid, (requirement_id, unit, period_key, start, end, due, key, text) in zip(
        ids, new, strict=True
    ):
        digest = batch.chain(oid, 1, GENESIS, "created", key, text)
        stored = heads.get(due)
        if stored is None:
            stored = heads[due] = head(created_state(due, digest))
        rows.append(
            (
                oid,
                requirement_id,
                unit,
                period_key,
                bind_date(start),
                bind_date(end),
                *stored,
                digest,
            )
        )
    conn.exec_driver_sql(_insert(batch.mark, "obligation", OBLIGATION_COLUMNS), rows)
    batch.write_events(conn)


@lru_cache(maxsize=64)
def _move(mark: str, changed: tuple[int, ...]) -> str:
    """The compare-and-set of an obligation's projection: the changed columns, where the
    version is still the one read."""
    assignments = ", ".join(f"{STATE_COLUMNS[f]} = {mark}" for f in changed)
    return f"UPDATE obligation SET {assignments} WHERE id = {mark} AND version = {mark}"


@lru_cache(maxsize=64)
def _move_and_log(changed: tuple[int, ...]) -> str:
    """PostgreSQL: `_move` and the event's insert as one statement. The event is written only
    if the projection moved, numbered by the row it moved."""
    rest = EVENT_COLUMNS[2:]
    return (
        f"WITH moved AS ({_move('%s', changed)} RETURNING id, version) "
        f"INSERT INTO event ({', '.join(EVENT_COLUMNS)}) "
        f"SELECT id, version, {', '.join(['%s'] * len(rest))} FROM moved"
    )


def append(driver: Driver, target: Target, decision: Decision, by: Issued) -> Outcome:
    """Append one command's event and move the projection, as a batch of one: on PostgreSQL
    in one statement, on SQLite in two, on the driver's cursor in the command's transaction
    (the rows are already in the driver's form). A projection that moved since `target` was
    read, or a key or version taken meanwhile, is a ConcurrencyConflict, and nothing is
    written."""
    dialect = driver.dialect
    batch = _Batch(dialect, actor=by.actor, channel=by.channel, now=by.now)
    oid, old = target.obligation_id, target.state
    kind, payload = decision
    new = batch.event(oid, old, kind, payload, by.key, payload_text(payload))
    changed = tuple(compress(EVERY_FIELD, map(ne, old, new)))
    move = (*batch.row(changed)(new), oid, old.version)
    (event,) = batch.events
    figures = newly_accepted(oid, old, new)
    with closing(driver.connection.cursor()) as cursor:
        try:
            if dialect.name == "postgresql":
                cursor.execute(_move_and_log(changed), (*move, *event[2:]))
                moved = cursor.rowcount
            else:
                cursor.execute(_move(batch.mark, changed), move)
                moved = cursor.rowcount
                if moved:
                    cursor.execute(_insert(batch.mark, "event", EVENT_COLUMNS), event)
        except dialect.loaded_dbapi.IntegrityError:
            raise ConcurrencyConflict(
                f"obligation {oid}: its event was appended meanwhile"
            ) from None
        if not moved:
            raise ConcurrencyConflict(f"obligation {oid} changed meanwhile")
        if figures:
            cursor.executemany(_insert(batch.mark, "figure_value", FIGURE_COLUMNS), figures)
    return Outcome(oid, kind, new.version, new.status, replayed=False)


Decider = Callable[[Target], Decision]
Asked = Callable[[Target], dict[str, Any]]


def run_command(
    engine: Engine,
    obligation_id: int,
    by: Issued,
    *,
    command: str,
    kind: str,
    authorize: Callable[[Driver, ActorInfo, Target, date], None],
    asked: Asked,
    decide: Decider,
) -> Outcome:
    """Authorize, decide and append, retrying when another writer got there first.

    A command repeated under its key appends nothing and answers as the first did; a
    refusal (bad input, wrong state, no right, a key used for another command) writes no
    event; a denial of rights, an unknown actor's included, is recorded in the denial
    register. The actor's rights are checked before their key is: a key replayed by
    someone without the right learns nothing of the command that used it."""
    check_key(by.key, command)
    _check_actor_name(by.actor, command)
    for _ in range(ATTEMPTS):
        try:
            with driver_transaction(engine) as driver:
                target, keyed, actor = load(driver, obligation_id, by)
                who = _actor(actor, by.actor, command)
                authorize(driver, who, target, local_date(by.now))
                if keyed is not None:
                    return _replayed(by, target, kind, asked, keyed)
                return append(driver, target, decide(target), by)
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


def _as_unit(driver: Driver, who: ActorInfo, target: Target, today: date) -> None:
    check_submit(who, target.unit_code)


def _review(
    engine: Engine,
    obligation_id: int,
    by: Issued,
    command: str,
    kind: str,
    asked: Asked,
    decide: Decider,
) -> Outcome:
    """A command only the directive's lead office may give (or, on the lead office's own
    obligations, their recipient or an administrator); nobody decides on a submission they
    handed in or entered themselves."""

    def as_reviewer(driver: Driver, who: ActorInfo, target: Target, today: date) -> None:
        check_review(
            who,
            command,
            unit=target.unit_code,
            lead=target.lead_unit_code,
            recipient=target.requirement.to,
            consolidated=bool(target.requirement.consolidates),
            holder_of=lambda office: holder(driver, office, today),
            submitted_by=target.submitted_by if kind in ("accepted", "returned") else None,
            today=today,
        )

    return run_command(
        engine,
        obligation_id,
        by,
        command=command,
        kind=kind,
        authorize=as_reviewer,
        asked=asked,
        decide=decide,
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
        asked=lambda t: validate_submission(t.requirement.what, figures, narrative, evidence),
        decide=lambda t: decide_submit(t.state, t.requirement.what, figures, narrative, evidence),
    )


def receive(
    engine: Engine,
    obligation_id: int,
    by: Issued,
    *,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
    arrival: Arrival,
    grace_days: int,
    calendar: WorkCalendar,
) -> Outcome:
    """The lead office's staff record a unit's report that arrived on paper, by official
    e-mail or through the document system (`arrival`): a submission like the unit's own,
    on time by the day it arrived. Whoever may decide on the unit's submissions may enter
    it; the person who entered it then does not accept or return it."""

    def when(target: Target) -> dict[str, Any]:
        return {
            "today": local_date(by.now),
            "period_start": target.period_start,
            "grace_days": grace_days,
            "calendar": calendar,
        }

    what = (figures, narrative, evidence, arrival)
    return _review(
        engine,
        obligation_id,
        by,
        "receive",
        "submitted",
        lambda t: received_payload(t.requirement.what, *what, **when(t)),
        lambda t: decide_receive(t.state, t.requirement.what, *what, **when(t)),
    )


def accept(engine: Engine, obligation_id: int, by: Issued) -> Outcome:
    """The lead office accepts a submission."""
    return _review(
        engine,
        obligation_id,
        by,
        "accept",
        "accepted",
        lambda t: {},
        lambda t: decide_accept(t.state),
    )


def return_(engine: Engine, obligation_id: int, by: Issued, *, reason: str | None) -> Outcome:
    """The lead office returns a submission for correction."""
    return _review(
        engine,
        obligation_id,
        by,
        "return",
        "returned",
        lambda t: {"reason": reason_text(reason, "return")},
        lambda t: decide_return(t.state, reason),
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
        lambda t: {"due": due.isoformat(), "reason": note_text(reason)},
        lambda t: decide_extend(t.state, due, reason),
    )


def waive(engine: Engine, obligation_id: int, by: Issued, *, reason: str | None) -> Outcome:
    """The lead office releases the unit from the obligation."""
    return _review(
        engine,
        obligation_id,
        by,
        "waive",
        "waived",
        lambda t: {"reason": reason_text(reason, "waive")},
        lambda t: decide_waive(t.state, reason),
    )


@dataclass(frozen=True, slots=True)
class Problem:
    """One place where the log and its chain or projection disagree, or a directive's rows
    and its stored content (then `directive` names it, and there is no obligation)."""

    obligation_id: int | None
    version: int | None
    event_id: int | None
    problem: str
    directive: str | None = None

    def __str__(self) -> str:
        if self.obligation_id is None:
            return f"directive {self.directive}: {self.problem}"
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
        if ev.kind == "created":
            problems += [
                Problem(
                    obligation.id,
                    None,
                    None,
                    f"column {column} is {stored!r} but its created event says {said!r}",
                )
                for column, stored, said in (
                    ("period_start", obligation.period_start.isoformat(), payload.get("start")),
                    ("period_end", _iso(obligation.period_end), payload.get("end")),
                )
                if stored != said
            ]
        state = evolve(state, ev.kind, payload, ev.at, digest)
        prev = digest
    if state is None:
        problems.append(Problem(obligation.id, None, None, "has no events"))
    return state


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _difference(stored: Any, said: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place where two JSON values differ: (path, stored value, value said)."""
    if isinstance(stored, dict) and isinstance(said, dict):
        for key in sorted(stored.keys() | said.keys()):
            found = _difference(stored.get(key), said.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if isinstance(stored, list) and isinstance(said, list) and len(stored) == len(said):
        for i, (one, other) in enumerate(zip(stored, said, strict=True)):
            found = _difference(one, other, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if stored == said else (path or "(all)", stored, said)


def _column_drift(name: str, stored: Any, said: Any) -> str:
    """How a stored column differs from what the directive's content says, located inside a
    JSON column (a requirement's spec)."""
    if name == "spec" and isinstance(stored, str):
        try:
            found = _difference(json.loads(stored), json.loads(said))
        except ValueError:
            return "column spec is not JSON"
        if found is None:
            return "column spec is not the text its content gives"
        at, was, is_ = found
        return f"column spec, at {at}, is {was!r} but its content says {is_!r}"
    return f"column {name} is {stored!r} but its content says {said!r}"


def _directive_problems(conn: Connection) -> list[Problem]:
    """Where a directive's row or its requirements' rows differ from the content it was
    published with: the content must match its hash, and every column publishing derives
    from it must be what the content says."""
    requirements: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in conn.execute(sa.select(REQUIREMENT).order_by(REQUIREMENT.c.id)):
        requirements[row.directive_id][row.code] = row
    revised = _revised(conn)
    return [
        Problem(None, None, None, text, directive=row.code)
        for row in conn.execute(sa.select(DIRECTIVE).order_by(DIRECTIVE.c.id))
        for text in _directive_drift(row, requirements[row.id], revised.get(row.id))
    ]


class Revised(NamedTuple):
    """What a directive's revisions say its row holds: the content of the latest one, its
    status (withdrawn by one, or published) and the requirements one dropped."""

    content_sha256: str
    status: str
    dropped: set[str]


def _revised(conn: Connection) -> dict[int, Revised]:
    """What the revisions of each revised directive say (see `Revised`)."""
    found: dict[int, Revised] = {}
    query = sa.select(REVISION).order_by(REVISION.c.directive_id, REVISION.c.number)
    for row in conn.execute(query):
        earlier = found.get(row.directive_id)
        dropped = set() if earlier is None else earlier.dropped
        dropped |= {c["requirement"] for c in json.loads(row.changes) if c["change"] == "dropped"}
        withdrawn = row.kind == "withdraw" or (
            earlier is not None and earlier.status != "published"
        )
        found[row.directive_id] = Revised(
            row.content_sha256, "withdrawn" if withdrawn else "published", dropped
        )
    return found


def _directive_drift(row: Any, stored: dict[str, Any], revised: Revised | None = None) -> list[str]:
    """How one directive's row and its requirements' rows (by code) differ from its content
    (and, once revised, from what its revisions say)."""
    if hashlib.sha256(row.content.encode()).hexdigest() != row.source_sha256:
        return ["its content does not match its hash (edited)"]
    if revised is not None and row.source_sha256 != revised.content_sha256:
        return ["its content is not the one its latest revision gave it"]
    try:
        spec = DirectiveSpec.model_validate_json(row.content)
    except ValueError as exc:
        return [f"its content is no valid directive: {exc}"]
    columns = spec.stored_columns()
    if revised is not None:
        columns["status"] = revised.status
    found = [
        _column_drift(name, getattr(row, name), said)
        for name, said in columns.items()
        if getattr(row, name) != said
    ]
    rest = dict(stored)
    for said_row in spec.requirement_columns():
        code = said_row["code"]
        requirement = rest.pop(code, None)
        if requirement is None:
            found.append(f"requirement {code} of its content has no row")
            continue
        found += [
            f"requirement {code}: {_column_drift(name, getattr(requirement, name), said)}"
            for name, said in said_row.items()
            if getattr(requirement, name) != said
        ]
    kept = set() if revised is None else revised.dropped
    return found + [
        f"requirement {code} has a row but is not in its content"
        for code in rest
        if code not in kept
    ]


def _stored_figures(conn: Connection) -> Iterator[tuple[int, list[FigureRow]]]:
    """Each obligation's `figure_value` rows, by key, in obligation order."""
    query = sa.select(FIGURE_VALUE).order_by(FIGURE_VALUE.c.obligation_id, FIGURE_VALUE.c.key)
    rows = conn.execute(query.execution_options(yield_per=5000))
    for oid, group in groupby(rows, key=attrgetter("obligation_id")):
        yield oid, [(r.key, r.number, r.text) for r in group]


class Walked(NamedTuple):
    """One obligation's row, the state its events fold to (None if they do not), the problems
    found on the way, its stored figure rows and the hashes of its events."""

    obligation: Any
    state: State | None
    problems: list[Problem]
    figures: list[FigureRow]
    chain: set[str]


def _walk(conn: Connection) -> Iterator[Walked]:
    """Each obligation with the state its events fold to, the problems found on the way, its
    stored figure rows and the hashes of its events."""
    events = _events(conn)
    pending = next(events, None)
    figures = _stored_figures(conn)
    held = next(figures, None)
    for obligation in _obligations(conn):
        while held is not None and held[0] < obligation.id:
            held = next(figures, None)
        stored: list[FigureRow] = []
        if held is not None and held[0] == obligation.id:
            stored, held = held[1], next(figures, None)
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
        state = _replay(obligation, own, problems)
        yield Walked(obligation, state, problems, stored, {event.hash for event in own})


def _figures_drift(obligation: Any, state: State, stored: list[FigureRow]) -> list[Problem]:
    expected = figure_rows(state)
    if stored == expected:
        return []
    return [
        Problem(
            obligation.id,
            None,
            None,
            f"its figure_value rows are {stored!r} but the log says {expected!r}",
        )
    ]


def _cut(obligation: Any, state: State, chain: set[str]) -> bool:
    """Whether the projection row has folded events its log no longer holds: it is ahead of
    the log's last version, or the hash of the last event it folded is no event's of its
    chain (the tail deleted and the version set back). A row that has folded nothing yet
    holds the hash before the first event."""
    return obligation.version > state.version or (
        obligation.last_hash not in (state.last_hash, GENESIS) and obligation.last_hash not in chain
    )


def _drift(obligation: Any, state: State, chain: set[str]) -> list[Problem]:
    """Where an obligation's projection row disagrees with the state its events fold to:
    every column of the state, named with both values."""
    if obligation.version > state.version:
        return [
            Problem(
                obligation.id,
                obligation.version,
                None,
                f"the projection says version {obligation.version} but the log ends at "
                f"version {state.version}: events were deleted at the end",
            )
        ]
    cut = _cut(obligation, state, chain)
    return [
        Problem(
            obligation.id,
            None,
            None,
            f"column {name} is {getattr(obligation, name)!r} but the log says {value!r}"
            + (
                ", and no event of its chain has that hash: events were deleted at the end "
                "(or the column edited)"
                if cut and name == "last_hash"
                else ""
            ),
        )
        for name, value in projection_values(state).items()
        if getattr(obligation, name) != value
    ]


def verify(engine: Engine) -> tuple[int, list[Problem]]:
    """Check every directive's rows against its stored, hashed content, every chain, and
    every projection column against the state its obligation's events fold to: (events
    checked, problems)."""
    checked = 0
    with transaction(engine, writes=False) as conn:
        problems = _directive_problems(conn)
        for obligation, state, found, stored, chain in _walk(conn):
            problems += found
            if state is not None:
                checked += state.version
                problems += _drift(obligation, state, chain)
                if obligation.version <= state.version:  # else events were deleted: said
                    problems += _figures_drift(obligation, state, stored)
    return checked, problems


def rebuild(engine: Engine) -> tuple[int, int]:
    """Recompute every projection row and accepted figure row from the log: (obligations
    replayed, obligations corrected).

    Refuses, and changes nothing, if a chain does not verify or a projection row has folded
    events its log no longer holds: it is ahead of its log, or the hash of the last event it
    folded is in no event of its chain (events deleted at the end, and maybe the version set
    back: rebuilding would erase the evidence)."""
    fixes: list[dict[str, Any]] = []
    refigured: dict[int, list[FigureRow]] = {}
    ahead: list[int] = []
    replayed = 0
    with transaction(engine) as conn:
        for obligation, state, problems, stored, chain in _walk(conn):
            if problems or state is None:
                raise LogCorrupt(
                    "the log does not verify, so the projection is not rebuilt: "
                    + "; ".join(str(p) for p in problems)
                )
            replayed += 1
            if _cut(obligation, state, chain):
                ahead.append(obligation.id)
                continue
            if _drift(obligation, state, chain):
                fixes.append({"obligation_id": obligation.id, **projection_values(state)})
            if _figures_drift(obligation, state, stored):
                refigured[obligation.id] = figure_rows(state)
        if ahead:
            shown = ", ".join(str(oid) for oid in ahead[:20])
            more = f" and {len(ahead) - 20} more" if len(ahead) > 20 else ""
            raise LogCorrupt(
                f"the projection is ahead of the log for obligation(s) {shown}{more}: it holds "
                "events the log does not (deleted at the end), so the projection is not rebuilt"
            )
        if fixes:
            conn.execute(
                OBLIGATION.update().where(OBLIGATION.c.id == sa.bindparam("obligation_id")),
                fixes,
            )
        if refigured:
            conn.execute(
                FIGURE_VALUE.delete().where(FIGURE_VALUE.c.obligation_id.in_(list(refigured)))
            )
            rows = [(oid, *row) for oid, own in refigured.items() for row in own]
            if rows:
                mark = driver_mark(conn.dialect)
                conn.exec_driver_sql(_insert(mark, "figure_value", FIGURE_COLUMNS), rows)
    return replayed, len(set(refigured) | {f["obligation_id"] for f in fixes})


MAX_ANCHOR_BYTES = 4_096


@dataclass(frozen=True, slots=True)
class Anchor:
    """A commitment to the whole log as it stood, kept outside the database: how many events
    it held (those with an id up to `last_event_id`) and one SHA-256 over every obligation's
    chain head. Each head hashes its whole chain, so a log rewritten (even re-hashed
    consistently) or truncated since no longer gives the same anchor."""

    taken_at: str  # ISO 8601 UTC
    events: int
    last_event_id: int
    heads_sha256: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "taken_at": self.taken_at,
                "events": self.events,
                "last_event_id": self.last_event_id,
                "heads_sha256": self.heads_sha256,
            },
            indent=2,
        )

    @classmethod
    def read(cls, path: Path) -> Anchor:
        """The anchor kept in a file, read at most MAX_ANCHOR_BYTES of it (an anchor is a few
        hundred bytes): a bigger file, or a device that never ends, is refused."""
        return cls.from_json(read_text(path, MAX_ANCHOR_BYTES), str(path))

    @classmethod
    def from_json(cls, text: str, source: str) -> Anchor:
        try:
            value = json.loads(text)
            return cls(
                str(value["taken_at"]),
                int(value["events"]),
                int(value["last_event_id"]),
                str(value["heads_sha256"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(
                source,
                "(file)",
                text[:40],
                f"is not a dondoc log anchor: {exc}",
                vi="Tệp này không phải tệp neo nhật ký của dondoc.",
            ) from None


def _heads(conn: Connection, last_event_id: int) -> tuple[int, str]:
    """The number of events up to `last_event_id`, and the digest over the chain heads among
    them (obligation, version and hash of each obligation's latest event, in obligation
    order)."""
    upto = EVENT.c.id <= last_event_id
    events = conn.execute(sa.select(sa.func.count()).where(upto)).scalar_one()
    latest = (
        sa.select(EVENT.c.obligation_id, sa.func.max(EVENT.c.version).label("version"))
        .where(upto)
        .group_by(EVENT.c.obligation_id)
        .subquery()
    )
    heads = (
        sa.select(EVENT.c.obligation_id, EVENT.c.version, EVENT.c.hash)
        .join(
            latest,
            sa.and_(
                latest.c.obligation_id == EVENT.c.obligation_id,
                latest.c.version == EVENT.c.version,
            ),
        )
        .order_by(EVENT.c.obligation_id)
    )
    digest = hashlib.sha256()
    for oid, version, head in conn.execute(heads.execution_options(yield_per=10_000)):
        digest.update(f"{oid}:{version}:{head}\n".encode())
    return events, digest.hexdigest()


def anchor(engine: Engine, *, now: datetime) -> Anchor:
    """The log's anchor now. On PostgreSQL the event table is locked against writers while it
    is taken, so no event with a lower id can still be committing."""
    with transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("LOCK TABLE event IN SHARE MODE"))
        last = conn.execute(sa.select(sa.func.coalesce(sa.func.max(EVENT.c.id), 0))).scalar_one()
        events, digest = _heads(conn, last)
    return Anchor(utc_text(now), events, last, digest)


def check_anchor(engine: Engine, kept: Anchor) -> list[str]:
    """How the log differs from what an anchor taken earlier commits to (empty: it holds)."""
    with transaction(engine, writes=False) as conn:
        events, digest = _heads(conn, kept.last_event_id)
    problems = []
    if events != kept.events:
        problems.append(
            f"the log held {kept.events} events at the anchor of {kept.taken_at} and holds "
            f"{events} of them now: events were deleted"
        )
    if digest != kept.heads_sha256:
        problems.append(
            f"the chains differ from the anchor of {kept.taken_at}: the log was rewritten or "
            "truncated since"
        )
    return problems

"""Publishing directives and opening their periods: set-based and idempotent.

For every requirement, schedule and period that has started (or starts within the horizon),
every unit obliged on that period gets one obligation and its `created` event. What exists
already is skipped, so publishing twice or opening the same day twice creates nothing twice.
Rows are generated and written in chunks (one multi-row INSERT per chunk and table), so memory
stays flat however many units there are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from models.collector import paused_gc
from models.errors import (
    ConcurrencyConflict,
    DirectiveFailure,
    Failures,
    InputError,
    Refused,
    Unauthorized,
)
from models.files.directive import DirectiveSpec, RequirementSpec, Selector
from models.files.directive_words import path_loc, place
from models.files.registry import UnitRow, heir_on, histories, version_on
from models.rules.authz import check_publish
from models.rules.obligation import (
    OPEN_STATES,
    created_payload,
    created_texts,
    decide_cancel,
    decide_transfer,
    payload_text,
)
from models.rules.periods import Period, due_date, periods_for
from models.rules.vietnamese import day_text
from models.rules.workdays import WorkCalendar
from models.storage.db import transaction
from models.storage.ledger import (
    ATTEMPTS,
    STATE_SELECT,
    New,
    Planned,
    append_many,
    create_many,
    load_actor,
    record_denial,
    state_from,
)
from models.storage.reference import load_units, load_versions, published_codes
from models.storage.tables import DIRECTIVE, OBLIGATION, REQUIREMENT, REVISION, UNIT

CHUNK = 5_000
# The versions of the units that continued under their code, oldest first, by code.
Versions = Mapping[str, Sequence[UnitRow]]
# The states of an obligation whose unit no longer holds its work: passed to a successor, or
# closed for want of one.
PASSED_ON = ("transferred", "closed")


@dataclass
class OpenReport:
    """Obligations created, per directive and requirement code, and the directives whose
    periods could not be opened."""

    created: dict[tuple[str, str], int] = field(default_factory=dict)
    failed: list[DirectiveFailure] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.created.values())

    def merge(self, other: OpenReport) -> None:
        for key, n in other.created.items():
            self.created[key] = self.created.get(key, 0) + n


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What publishing did: whether the directive was new, and what it opened."""

    directive: str
    new: bool
    opened: OpenReport


def _selects(selector: Selector, unit: UnitRow) -> bool:
    return selector.picks(code=unit.code, kind=unit.kind, tags=unit.tags, parent=unit.parent_code)


def _register(conn: Connection) -> tuple[list[UnitRow], dict[str, list[UnitRow]]]:
    """The unit register, and the versions of the few units that continued under their code
    with another name, kind or parent (every other unit has one version, its row)."""
    units = load_units(conn)
    earlier = load_versions(conn)
    continued = {v.code for v in earlier}
    return units, histories((u for u in units if u.code in continued), earlier)


class Obliged:
    """Which units owe a requirement on a given day: those the selector picks that exist that
    day, and, for a picked unit that has closed, its (first existing) successor. A unit that
    continued under its code is picked by its version of the day: the kind and parent it had
    then."""

    def __init__(self, selector: Selector, units: Sequence[UnitRow], versions: Versions) -> None:
        self.selector = selector
        self.versions = versions
        self.by_code = {u.code: u for u in units}
        self.picked = [
            u for u in units if any(_selects(selector, v) for v in self.versions.get(u.code, (u,)))
        ]
        # picked units that never open, close nor change owe every day
        self.always = not any(
            u.valid_from or u.valid_until or u.code in self.versions for u in self.picked
        )
        self.closing = {u.code for u in units if u.valid_until is not None}

    def _picks(self, unit: UnitRow, day: date) -> bool:
        held = self.versions.get(unit.code)
        return held is None or _selects(self.selector, version_on(held, day))

    def on(self, day: date, held: Collection[str] = ()) -> list[str]:
        """The owers on `day` of a period the units `held` already hold. A successor does not
        owe a period one of the units it took over from holds: their obligation passes to it
        by events while still open (`hand_over`), and one they handed in before their
        closure was registered is not owed twice."""
        if self.always:
            return [unit.code for unit in self.picked]
        owing = (heir_on(self.by_code, u, day) for u in self.picked if self._picks(u, day))
        taken = {
            heir.code
            for code in held
            if code in self.closing
            and (heir := heir_on(self.by_code, self.by_code[code], day)) is not None
            and heir.code != code
        }
        return list(dict.fromkeys(u.code for u in owing if u is not None and u.code not in taken))


def _reference_day(period: Period, opened_by: date, window_end: date | None) -> date:
    """The day on which a period's owers are taken: its last day; for a standing duty, the
    day it is opened, within the directive's window."""
    if period.end is not None:
        return period.end
    day = max(period.start, opened_by)
    return day if window_end is None else min(day, window_end)


def _candidates(
    req: RequirementSpec,
    obliged: Obliged,
    window_start: date,
    window_end: date | None,
    opened_by: date,
    calendar: WorkCalendar,
    held: Mapping[str, Collection[str]],
    revised_from: date | None = None,
) -> Iterator[tuple[Period, date | None, list[str]]]:
    """Each period of `req` started by `opened_by`, its due date and its owers, the units
    `held` holds (by period key) apart from those they took over from. Of a directive amended
    from a day (`revised_from`), a period started before it and due before it is left out:
    the rule before the amendment owes it, and the amendment opened it under that rule."""
    for schedule in req.schedule:
        periods = periods_for(
            schedule.cadence,
            schedule.convention,
            window_start=window_start,
            window_end=window_end,
            opened_by=opened_by,
        )
        for period in periods:
            due = None if schedule.due is None else due_date(schedule.due, period, calendar)
            if revised_from is not None and _before(period, due, revised_from):
                continue
            day = _reference_day(period, opened_by, window_end)
            yield period, due, obliged.on(day, held.get(period.key, ()))


def _before(period: Period, due: date | None, day: date) -> bool:
    """Whether a period is over for a revision from `day`: started and due before it (a
    standing duty never is)."""
    return due is not None and period.start < day and due < day


def _unowed(
    req: RequirementSpec,
    obliged: Obliged,
    window_start: date,
    window_end: date | None,
    opened_by: date,
    changes: Collection[date],
    calendar: WorkCalendar,
    since: date | None = None,
) -> str | None:
    """Why no unit would ever owe `req` in the directive's window, or from the day an
    amendment applies (`since`: the periods started and due before it left out, as
    `_candidates` leaves them out) ("periods": its schedule has no period there; "units": no
    unit it picks, nor their successors, exists on a day its periods take their owers), or
    None when one would. Who owes changes only on the register's `changes` days, so a year
    past the last of them shows every cadence of an open-ended window."""
    last = window_end or max([window_start, opened_by, *changes]) + timedelta(days=366)
    periods = [
        period
        for schedule in req.schedule
        for period in periods_for(
            schedule.cadence,
            schedule.convention,
            window_start=window_start,
            window_end=window_end,
            opened_by=last,
        )
        if since is None
        or schedule.due is None
        or not _before(period, due_date(schedule.due, period, calendar), since)
    ]
    if not periods:
        return "periods"
    for period in periods:
        first = _reference_day(period, opened_by, window_end)
        # a standing duty is opened each day, for whoever owes it then
        later = (d for d in changes if first < d <= last) if period.end is None else ()
        if any(obliged.on(day) for day in (first, *later)):
            return None
    return "units"


def _check_owed(
    spec: DirectiveSpec,
    source: str,
    units: Sequence[UnitRow],
    opened_by: date,
    calendar: WorkCalendar,
    *,
    versions: Versions,
    amended_from: date | None = None,
    checked: Collection[str] | None = None,
) -> None:
    """Refuse a directive with a requirement no unit would ever owe in its window (its units
    all closed with no successor, or its schedule no period there), before it is stored: a
    publish that creates nothing is never silent, and its code stays free. An amendment from
    a day (`amended_from`) is refused alike for a requirement among `checked` (those it adds
    or changes) that no unit would owe anything due from that day."""
    start, until = spec.effective.start, spec.effective.until
    continued = [v for held in versions.values() for v in held]
    changes = {d for u in (*units, *continued) for d in (u.valid_from, u.valid_until) if d}
    dates = f"{day_text(start)}–{day_text(until)}" if until else day_text(start)
    window, window_vi = (dates, dates) if until else (f"from {dates}", f"từ {dates}")
    closed = "các đơn vị được chọn đều đã giải thể mà không có đơn vị kế thừa, hoặc chưa thành lập"
    # (English problem, Vietnamese reason) of each kind of refusal, and what the line ends with
    if amended_from is None:
        said = {
            "periods": (
                f"has no period in the directive's effective window, {window}",
                f"lịch báo cáo không có kỳ nào trong thời gian hiệu lực ({window_vi})",
            ),
            "units": (
                f"selects no unit that exists in the directive's effective window, {window} "
                "(they closed with no successor, or open after it)",
                f"{closed}, trong thời gian hiệu lực ({window_vi})",
            ),
        }
        done, verb = "nothing was published, and the code stays free", "Chưa công bố"
        again = "Sửa tệp rồi công bố lại; mã chỉ thị vẫn dùng được."
    else:
        day = day_text(amended_from)
        said = {
            "periods": (
                f"has no period due from {day}, the day the amendment applies from",
                f"lịch báo cáo không còn kỳ nào đến hạn từ ngày áp dụng {day}",
            ),
            "units": (
                f"selects no unit that would owe a period due from {day}, the day the "
                "amendment applies from (they closed with no successor, or open after it)",
                f"{closed}, vào các kỳ đến hạn từ ngày áp dụng {day}",
            ),
        }
        done, verb = "nothing was amended", "Chưa sửa đổi"
        again = "Sửa tệp hoặc ngày áp dụng rồi sửa đổi lại."
    for i, req in enumerate(spec.requirements):
        if checked is not None and req.code not in checked:
            continue
        obliged = Obliged(req.who, units, versions)
        why = _unowed(req, obliged, start, until, opened_by, changes, calendar, amended_from)
        if why is None:
            continue
        value: object
        if why == "periods":
            field = f"requirements[{i}].schedule"
            value = [schedule.model_dump(exclude_defaults=True) for schedule in req.schedule]
        else:
            field = f"requirements[{i}].who"
            value = req.who.model_dump(exclude_defaults=True)
        problem, reason = said[why]
        raise InputError(
            source,
            field,
            value,
            f"{problem}: {done}",
            vi=(
                f"{verb} chỉ thị {spec.code}: nhiệm vụ {req.code} — {reason}, nên không "
                f"đơn vị nào phải thực hiện. {again}"
            ),
        )


def _chunks(rows: Iterator[Any]) -> Iterator[list[Any]]:
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


@dataclass(frozen=True, slots=True)
class Opening:
    """What one run of opening periods shares: the unit register, the day periods must have
    started by, the calendar, who and what is recorded on the `created` events, and an
    optional callback told how many obligations each written chunk held."""

    units: Sequence[UnitRow]
    opened_by: date
    calendar: WorkCalendar
    actor: str
    channel: str
    now: datetime
    progress: Callable[[int], None] | None = None
    versions: Versions = field(default_factory=dict)


def created_key(directive: str, requirement: str, unit: str, period: str) -> str:
    """The idempotency key of an obligation's `created` event: one per obligation."""
    return f"created:{directive}:{requirement}:{unit}:{period}"


def _fresh_ids(conn: Connection, n: int) -> list[int]:
    """n fresh obligation ids, taken before the insert instead of returned row by row. On
    SQLite the write lock is held since BEGIN IMMEDIATE; on PostgreSQL they come from the
    column's own sequence."""
    if conn.dialect.name == "postgresql":
        return list(
            conn.execute(
                sa.text(
                    "SELECT nextval(pg_get_serial_sequence('obligation', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            ).scalars()
        )
    first = conn.execute(sa.select(sa.func.coalesce(sa.func.max(OBLIGATION.c.id), 0))).scalar_one()
    return list(range(first + 1, first + 1 + n))


def _missing(
    conn: Connection,
    run: Opening,
    *,
    window: tuple[date, date | None],
    requirement_id: int | None,
    req: RequirementSpec,
    revised_from: date | None = None,
) -> Iterator[tuple[Period, date | None, str]]:
    """Each obligation of `req` that opening its periods would create now: its period, due
    date and unit (those of a requirement not stored yet, `requirement_id` None, are all
    missing). Publishing creates these; its preview counts them."""
    existing: set[tuple[str, str]] = set()
    # who holds each period's work: not those whose obligation passed it on or closed
    held: dict[str, set[str]] = {}
    if requirement_id is not None:
        for unit, key, status in conn.execute(
            sa.select(OBLIGATION.c.unit_code, OBLIGATION.c.period_key, OBLIGATION.c.status).where(
                OBLIGATION.c.requirement_id == requirement_id
            )
        ):
            existing.add((unit, key))
            if status not in PASSED_ON:
                held.setdefault(key, set()).add(unit)
    obliged = Obliged(req.who, run.units, run.versions)
    found = _candidates(req, obliged, *window, run.opened_by, run.calendar, held, revised_from)
    for period, due, owing in found:
        for unit in owing:
            if (unit, period.key) not in existing:
                yield period, due, unit


def _open_requirement(
    conn: Connection, run: Opening, *, directive: Any, requirement_id: int, req: RequirementSpec
) -> int:
    code = directive.code
    window = (directive.effective_from, directive.effective_until)

    def owed() -> Iterator[New]:
        """Each missing obligation, with its `created` event."""
        texts: dict[str, Callable[[str], str]] = {}
        for period, due, unit in _missing(
            conn,
            run,
            window=window,
            requirement_id=requirement_id,
            req=req,
            revised_from=directive.revised_from,
        ):
            key = period.key
            if key not in texts:
                texts[key] = created_texts(code, req.code, key, period.start, period.end, due)
            yield New(
                requirement_id,
                unit,
                key,
                period.start,
                period.end,
                due,
                created_key(code, req.code, unit, key),
                texts[key](unit),
            )

    created = 0
    for chunk in _chunks(owed()):
        create_many(
            conn,
            _fresh_ids(conn, len(chunk)),
            chunk,
            actor=run.actor,
            channel=run.channel,
            now=run.now,
        )
        created += len(chunk)
        if run.progress is not None:
            run.progress(len(chunk))
    return created


@paused_gc()
def _open_directive(conn: Connection, run: Opening, directive: Any) -> OpenReport:
    report = OpenReport()
    requirements = conn.execute(
        sa.select(REQUIREMENT.c.id, REQUIREMENT.c.code, REQUIREMENT.c.spec)
        .where(REQUIREMENT.c.directive_id == directive.id)
        .order_by(REQUIREMENT.c.id)
    ).all()
    if directive.revised_from is not None:
        # an amendment may have dropped requirements: their rows stay, owing what they did
        asked = {req["code"] for req in json.loads(directive.content)["requirements"]}
        requirements = [req for req in requirements if req.code in asked]
    for req in requirements:
        report.created[(directive.code, req.code)] = _open_requirement(
            conn,
            run,
            directive=directive,
            requirement_id=req.id,
            req=RequirementSpec.model_validate_json(req.spec),
        )
    return report


def _check_references(
    spec: DirectiveSpec, source: str, units: Sequence[UnitRow], versions: Versions
) -> None:
    codes = {u.code for u in units}
    data = spec.model_dump(mode="json", by_alias=True)
    for where, code in spec.unit_references():
        if code not in codes:
            raise InputError(
                source,
                where,
                code,
                "names no unit in the register",
                vi=f"{place(path_loc(where), data)}: không có đơn vị mã «{code}» trong danh mục.",
            )
    for i, req in enumerate(spec.requirements):
        if not any(_selects(req.who, v) for u in units for v in versions.get(u.code, (u,))):
            where = f"requirements[{i}].who"
            raise InputError(
                source,
                where,
                req.who.model_dump(exclude_defaults=True),
                "selects no unit in the register",
                vi=f"{place(path_loc(where), data)}: không chọn được đơn vị nào trong danh mục.",
            )


def _store_directive(conn: Connection, spec: DirectiveSpec, *, actor: str, now: datetime) -> Any:
    directive_id = conn.execute(
        DIRECTIVE.insert()
        .returning(DIRECTIVE.c.id)
        .values(**spec.stored_columns(), published_at=now, published_by=actor)
    ).scalar_one()
    conn.execute(
        REQUIREMENT.insert(),
        [{"directive_id": directive_id, **row} for row in spec.requirement_columns()],
    )
    return directive_id


def _published_otherwise(spec: DirectiveSpec, source: str) -> Refused:
    return Refused(
        f"{source}: directive {spec.code} is already published with other content; a "
        "revised directive needs a code of its own",
        vi=f"Mã chỉ thị {spec.code} đã được dùng cho một chỉ thị đã công bố với nội dung khác: "
        "chỉ thị sửa đổi cần một mã mới.",
    )


# The day from which the directive's latest amendment applies (None if it has none).
REVISED_FROM = (
    sa.select(sa.func.max(REVISION.c.effective_from))
    .where(REVISION.c.directive_id == DIRECTIVE.c.id, REVISION.c.kind == "amend")
    .scalar_subquery()
    .label("revised_from")
)


def _withdrawn(code: str, source: str) -> Refused:
    return Refused(
        f"{source}: directive {code} has been withdrawn; nothing more is opened for it",
        vi=f"Chỉ thị {code} đã bị bãi bỏ: không mở thêm kỳ nào.",
    )


def _directive_row(conn: Connection, code: str, *, lock: bool = True) -> Any:
    query = sa.select(
        DIRECTIVE.c.id,
        DIRECTIVE.c.code,
        DIRECTIVE.c.effective_from,
        DIRECTIVE.c.effective_until,
        DIRECTIVE.c.source_sha256,
        DIRECTIVE.c.status,
        DIRECTIVE.c.content,
        REVISED_FROM,
    ).where(DIRECTIVE.c.code == code)
    return conn.execute(query.with_for_update() if lock else query).first()


@contextmanager
def _denials_recorded(engine: Engine, actor: str, target: str, now: datetime) -> Iterator[None]:
    """Keep an Unauthorized raised within on record as a denial of publishing `target`."""
    try:
        yield
    except Unauthorized as denied:
        record_denial(
            engine, actor=actor, command="publish", target=target, reason=str(denied), now=now
        )
        raise


def check_publisher(engine: Engine, actor: str, *, source: str, now: datetime) -> None:
    """Refuse (and record) an actor who may not publish, before what they sent is read: a
    pasted text is parsed only for an administrator."""
    with (
        _denials_recorded(engine, actor, f"directive from {source}", now),
        transaction(engine, writes=False) as conn,
    ):
        check_publish(load_actor(conn, actor, source))


def publish(
    engine: Engine,
    spec: DirectiveSpec,
    *,
    source: str,
    actor: str,
    as_of: date,
    now: datetime,
    calendar: WorkCalendar,
    horizon_days: int = 0,
    channel: str = "cli",
    progress: Callable[[int], None] | None = None,
) -> PublishReport:
    """Store a validated directive (once) and open its periods up to `as_of` + horizon.

    Publishing the same content again only opens what is missing; different content under a
    published code is refused, and so is a new directive no unit would ever owe (see
    `_check_owed`)."""

    def attempt() -> PublishReport:
        with (
            _denials_recorded(engine, actor, f"directive {spec.code}", now),
            transaction(engine) as conn,
        ):
            check_publish(load_actor(conn, actor, source))
            units, versions = _register(conn)
            opened_by = as_of + timedelta(days=horizon_days)
            run = Opening(units, opened_by, calendar, actor, channel, now, progress, versions)
            _check_references(spec, source, units, versions)
            row = _directive_row(conn, spec.code)
            new = row is None
            if row is None:
                _check_owed(spec, source, units, opened_by, calendar, versions=versions)
                _store_directive(conn, spec, actor=actor, now=now)
                row = _directive_row(conn, spec.code)
            elif row.status != "published":
                raise _withdrawn(spec.code, source)
            elif row.source_sha256 != spec.sha256():
                raise _published_otherwise(spec, source)
            return PublishReport(spec.code, new, _open_directive(conn, run, row))

    try:
        return attempt()
    except IntegrityError:
        # Another publisher stored the same directive meanwhile: now it exists, so this
        # attempt only opens what is missing.
        return attempt()


@dataclass(frozen=True, slots=True)
class PreviewRow:
    """What publishing would create for one requirement and one kind of unit: how many
    obligations, and the first and last of their due dates (None for standing duties)."""

    requirement: str
    title: str
    kind: str
    obligations: int
    first_due: date | None
    last_due: date | None


@dataclass(frozen=True, slots=True)
class Preview:
    """What publishing a directive would do, computed without writing: whether it is new,
    and the obligations it would create, per requirement and unit kind."""

    directive: str
    new: bool
    rows: list[PreviewRow]

    @property
    def total(self) -> int:
        return sum(row.obligations for row in self.rows)


def _previewed(conn: Connection, run: Opening, spec: DirectiveSpec, row: Any) -> list[PreviewRow]:
    """Publishing's own count of the obligations it would create, per requirement (in the
    directive's order) and unit kind (in the order they come; the kind of the unit's version
    on the day the period's owers are taken)."""
    kinds = {u.code: u.kind for u in run.units}
    stored = {} if row is None else _requirement_ids(conn, row.id)
    window = (spec.effective.start, spec.effective.until)
    rows = []
    for req in spec.requirements:
        found: dict[str, list[Any]] = {}
        for period, due, unit in _missing(
            conn,
            run,
            window=window,
            requirement_id=stored.get(req.code),
            req=req,
            revised_from=None if row is None else row.revised_from,
        ):
            held = run.versions.get(unit)
            day = _reference_day(period, run.opened_by, window[1])
            kind = kinds[unit] if held is None else version_on(held, day).kind
            counted = found.setdefault(kind, [0, None, None])
            counted[0] += 1
            if due is not None:
                counted[1] = due if counted[1] is None else min(counted[1], due)
                counted[2] = due if counted[2] is None else max(counted[2], due)
        rows += [
            PreviewRow(req.code, req.title, kind, n, first, last)
            for kind, (n, first, last) in found.items()
        ]
    return rows


def _requirement_ids(conn: Connection, directive_id: int) -> dict[str, int]:
    return dict(
        conn.execute(
            sa.select(REQUIREMENT.c.code, REQUIREMENT.c.id).where(
                REQUIREMENT.c.directive_id == directive_id
            )
        ).all()
    )


def preview(
    engine: Engine,
    spec: DirectiveSpec,
    *,
    source: str,
    actor: str,
    as_of: date,
    now: datetime,
    calendar: WorkCalendar,
    horizon_days: int = 0,
) -> Preview:
    """What `publish` would do with the same arguments, without writing (but a denial, which
    is recorded): the same checks and refusals, and the obligations it would create, counted
    by the same computation."""
    with (
        _denials_recorded(engine, actor, f"directive {spec.code}", now),
        transaction(engine, writes=False) as conn,
    ):
        check_publish(load_actor(conn, actor, source))
        units, versions = _register(conn)
        opened_by = as_of + timedelta(days=horizon_days)
        run = Opening(units, opened_by, calendar, actor, "preview", now, versions=versions)
        _check_references(spec, source, units, versions)
        row = _directive_row(conn, spec.code, lock=False)
        if row is None:
            _check_owed(spec, source, units, opened_by, calendar, versions=versions)
        elif row.status != "published":
            raise _withdrawn(spec.code, source)
        elif row.source_sha256 != spec.sha256():
            raise _published_otherwise(spec, source)
        return Preview(spec.code, row is None, _previewed(conn, run, spec, row))


def open_periods(
    engine: Engine,
    *,
    as_of: date,
    now: datetime,
    calendar: WorkCalendar,
    horizon_days: int = 0,
    actor: str = "dondoc",
    channel: str = "scheduled",
    progress: Callable[[int], None] | None = None,
) -> OpenReport:
    """Open every published directive's periods that have started by `as_of` + horizon, each
    directive in a savepoint of its own: one that fails (a requirement whose stored text no
    longer reads, say) opens nothing and is named in the report's failures; the others are
    opened."""
    report = OpenReport()
    failures = Failures("Mở kỳ mới")
    with transaction(engine) as conn:
        units, versions = _register(conn)
        run = Opening(
            units,
            as_of + timedelta(days=horizon_days),
            calendar,
            actor,
            channel,
            now,
            progress,
            versions,
        )
        codes = published_codes(conn)
        for code in codes:
            with failures.of(code), conn.begin_nested():
                report.merge(_open_directive(conn, run, _directive_row(conn, code)))
    report.failed = failures.listed()
    return report


@dataclass(frozen=True, slots=True)
class Handover:
    """What passing closed units' work on did: obligations moved to a successor (with the
    new obligations created for them), and obligations closed for want of one."""

    transferred: int = 0
    created: int = 0
    cancelled: int = 0


def _stranded(conn: Connection, today: date) -> list[Any]:
    """Obligations still owed by a unit that has closed, for a period whose owers are taken
    after the closure (a period's last day; a standing duty's, today)."""
    closes = UNIT.c.valid_until
    return list(
        conn.execute(
            sa.select(
                OBLIGATION.c.id,
                OBLIGATION.c.requirement_id,
                OBLIGATION.c.unit_code,
                OBLIGATION.c.period_key,
                OBLIGATION.c.period_start,
                OBLIGATION.c.period_end,
                REQUIREMENT.c.code.label("requirement_code"),
                DIRECTIVE.c.code.label("directive_code"),
                closes.label("closed_on"),
                *STATE_SELECT,
            )
            .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
            .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
            .join(UNIT, UNIT.c.code == OBLIGATION.c.unit_code)
            .where(
                DIRECTIVE.c.status == "published",
                OBLIGATION.c.status.in_(OPEN_STATES),
                closes.is_not(None),
                sa.or_(
                    OBLIGATION.c.period_end >= closes,
                    sa.and_(OBLIGATION.c.period_end.is_(None), closes <= today),
                ),
            )
            .order_by(OBLIGATION.c.id)
        )
    )


@paused_gc()
def hand_over(engine: Engine, *, today: date, now: datetime, actor: str, channel: str) -> Handover:
    """Pass the work of closed units on, by events, never by deleting: an obligation a closed
    unit still owes for a period after its closure is `transferred` to the successor that
    owes the period (created for it, naming where it comes from, unless it exists), or
    `closed` when there is none. Past periods stay with the unit that owed them. Idempotent:
    a transferred or closed obligation is owed no more."""
    for _ in range(ATTEMPTS):
        try:
            with transaction(engine) as conn:
                return _hand_over(conn, today=today, now=now, actor=actor, channel=channel)
        except ConcurrencyConflict:
            continue
    raise ConcurrencyConflict("handing over closed units' work: too many concurrent writers")


def _hand_over(
    conn: Connection, *, today: date, now: datetime, actor: str, channel: str
) -> Handover:
    stranded = _stranded(conn, today)
    if not stranded:
        return Handover()
    by_code = {u.code: u for u in load_units(conn)}
    owned = {
        (r.requirement_id, r.unit_code, r.period_key): r.id
        for r in conn.execute(
            sa.select(
                OBLIGATION.c.id,
                OBLIGATION.c.requirement_id,
                OBLIGATION.c.unit_code,
                OBLIGATION.c.period_key,
            ).where(OBLIGATION.c.requirement_id.in_({r.requirement_id for r in stranded}))
        )
    }
    heirs = [heir_on(by_code, by_code[r.unit_code], r.period_end or today) for r in stranded]
    # one new obligation per successor and period, however many closed units merge into it
    new: dict[tuple[int, str, str], tuple[Any, UnitRow]] = {}
    for row, heir in zip(stranded, heirs, strict=True):
        if heir is not None:
            owed = (row.requirement_id, heir.code, row.period_key)
            if owed not in owned:
                new.setdefault(owed, (row, heir))
    ids = _fresh_ids(conn, len(new))
    created = []
    for row, heir in new.values():
        payload = created_payload(
            row.directive_code,
            row.requirement_code,
            heir.code,
            row.period_key,
            row.period_start,
            row.period_end,
            row.due_date,  # as the directive set it, with no extension
            taken_over=row.id,
        )
        created.append(
            New(
                row.requirement_id,
                heir.code,
                row.period_key,
                row.period_start,
                row.period_end,
                row.due_date,
                created_key(row.directive_code, row.requirement_code, heir.code, row.period_key),
                payload_text(payload),
            )
        )
    create_many(conn, ids, created, actor=actor, channel=channel, now=now)
    owned |= {
        (n.requirement_id, n.unit_code, n.period_key): oid
        for oid, n in zip(ids, created, strict=True)
    }
    moves: list[Planned] = []
    for row, heir in zip(stranded, heirs, strict=True):
        state = state_from(row[-len(STATE_SELECT) :])
        decision = (
            decide_cancel(state, row.unit_code, row.closed_on)
            if heir is None
            else decide_transfer(
                state,
                row.unit_code,
                row.closed_on,
                heir.code,
                owned[(row.requirement_id, heir.code, row.period_key)],
            )
        )
        moves.append(Planned(row.id, state, decision, f"closure:{row.id}"))
    append_many(conn, moves, actor=actor, channel=channel, now=now)
    cancelled = sum(m.decision.kind == "closed" for m in moves)
    return Handover(len(moves) - cancelled, len(created), cancelled)

"""Revising a published directive by a later dispatch: amending it, or withdrawing it, from a
day.

A revision applies to what is due on or after its day (its from-date). The directive is first
brought up to that day under the rule in force (its periods opened as the daily run opens
them, up to the day before), then every obligation still owed and due from that day follows
the new rule by events naming the dispatch: `revised` (a new due date, a deliverable that
changed) or `closed` (its unit or requirement dropped, its period no longer asked, the
directive withdrawn); what the new rule adds is `created`. Handed-in and decided obligations
keep what they were judged under, and nothing is deleted. Each revision is a row of `revision`
(append-only), written in one transaction with its events and the letter each unit it touched
receives.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from models.errors import ConcurrencyConflict, InputError, Refused
from models.files.directive import DirectiveSpec
from models.files.registry import SYSTEM_ACTOR, UnitRow
from models.rules import lengths
from models.rules.authz import check_publish
from models.rules.deliverable import Deliverable
from models.rules.obligation import OPEN_STATES, decide_revise, decide_revoke
from models.rules.text import character_problem, control_character, trim
from models.rules.vietnamese import day_text
from models.rules.workdays import WorkCalendar
from models.storage.chase import Recipient, Rendered, store_messages
from models.storage.db import transaction
from models.storage.ledger import (
    ATTEMPTS,
    STATE_SELECT,
    Planned,
    append_many,
    load_actor,
    state_from,
)
from models.storage.publishing import (
    PASSED_ON,
    Obliged,
    Opening,
    Versions,
    _candidates,
    _check_owed,
    _check_references,
    _denials_recorded,
    _directive_row,
    _hand_over,
    _open_directive,
    _register,
    _requirement_ids,
)
from models.storage.reporting import target_words
from models.storage.tables import ACTOR, DIRECTIVE, OBLIGATION, REQUIREMENT, REVISION, UNIT

# The fields of a requirement a revision names, in that order; the rest is "other".
_NAMED = ("schedule", "who", "what", "to", "title")


@dataclass(frozen=True, slots=True)
class Dispatch:
    """The dispatch that revises a directive: its number and symbol ("125/UBND-VHTT"), its
    date, and the day from which it applies."""

    number: str
    dated: date
    effective_from: date
    source: str = "dispatch"  # where it was given, as errors name it


def dispatch_of(number: str, dated: date, effective_from: date, *, source: str) -> Dispatch:
    """The revising dispatch as given: its number and symbol one line of text (trimmed, in
    NFC), of at most `lengths.DISPATCH` characters, with no control character."""
    text = trim(number)
    char = control_character(text, one_line=True)
    problem = (
        "is empty: name the dispatch by its number and symbol, such as 125/UBND-VHTT"
        if not text
        else character_problem(char)
        if char is not None
        else f"is {len(text):,} characters long; at most {lengths.DISPATCH} are kept"
        if len(text) > lengths.DISPATCH
        else None
    )
    if problem is not None:
        raise InputError(
            source,
            "--dispatch",
            number,
            problem,
            vi="Số, ký hiệu văn bản phải là một dòng chữ, như 125/UBND-VHTT "
            f"(tối đa {lengths.DISPATCH} ký tự).",
        )
    return Dispatch(text, dated, effective_from, source)


@dataclass(frozen=True, slots=True)
class Change:
    """What a revision did to one obligation of a unit (or gave it): `due` (a new due date),
    `what` (what it must hand in changed), `closed` (owed no more) or `created` (newly owed),
    with its due date before and after and, for `what`, the changes in words."""

    unit: str
    requirement: str
    title: str
    period: str
    kind: str
    old_due: date | None
    new_due: date | None
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Notice:
    """What one unit is told of a revision, in one letter to one of its addresses."""

    directive: str
    subject: str
    kind: str
    dispatch: Dispatch
    unit: str
    unit_name: str
    recipient: Recipient
    changes: list[Change]


@dataclass
class RevisionReport:
    """What a revision did (or, for a dry run, would do): its number, what changed per
    requirement, each obligation's change, the letters written and the units no one could be
    told of (no address, no staff with one)."""

    directive: str
    number: int
    kind: str
    dispatch: Dispatch
    requirements: list[dict[str, str | None]]
    changes: list[Change] = field(default_factory=list)
    letters: int = 0
    unreachable: list[str] = field(default_factory=list)
    written: bool = True
    keys: list[str] = field(default_factory=list)  # the outbox keys of its letters


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """One revision as the history shows it."""

    number: int
    kind: str
    dispatch: str
    dated: date
    effective_from: date
    made_by: str
    made_at: datetime
    changes: list[dict[str, str | None]]


class _DryRun(Exception):
    """Rolls a dry run's transaction back, carrying what it found."""

    def __init__(self, report: RevisionReport) -> None:
        super().__init__("dry run")
        self.report = report


Render = Callable[[Notice], Rendered]


def requirement_changes(old: DirectiveSpec, new: DirectiveSpec) -> list[dict[str, str | None]]:
    """What an amendment changes, in order: the directive's own fields, then requirement by
    requirement (those of the old text first, then the added ones), each change one entry
    {"requirement": code or None, "change": one of "document", "lead", "effective",
    "escalation" (the directive's), "dropped", "added", "schedule", "who", "what", "to",
    "title", "other"}."""
    found: list[dict[str, str | None]] = []
    was, is_ = (
        old.model_dump(mode="json", by_alias=True),
        new.model_dump(mode="json", by_alias=True),
    )
    for name in ("document", "lead", "effective", "escalation"):
        if was.get(name) != is_.get(name):
            found.append({"requirement": None, "change": name})
    before = {r["code"]: r for r in was["requirements"]}
    after = {r["code"]: r for r in is_["requirements"]}
    for code, req in before.items():
        if code not in after:
            found.append({"requirement": code, "change": "dropped"})
            continue
        named = [name for name in _NAMED if req.get(name) != after[code].get(name)]
        rest = {k for k in req.keys() | after[code].keys() if k not in _NAMED}
        if any(req.get(k) != after[code].get(k) for k in rest):
            named.append("other")
        found += [{"requirement": code, "change": name} for name in named]
    found += [{"requirement": code, "change": "added"} for code in after if code not in before]
    return found


def deliverable_changes(old: Deliverable, new: Deliverable) -> list[str]:
    """How what a unit hands in changed, in a clerk's words: figures added or dropped, a
    target set, raised or lowered, a figure otherwise changed, the narrative or the evidence
    link asked otherwise."""
    found: list[str] = []
    before = {f.key: f for f in old.figures}
    after = {f.key: f for f in new.figures}
    for key, figure in after.items():
        if key not in before:
            found.append(f"thêm chỉ tiêu «{figure.label}»")
            continue
        earlier = before[key]
        if earlier.target != figure.target:
            was, is_ = target_words(earlier) or "không có", target_words(figure) or "không có"
            found.append(f"mục tiêu của chỉ tiêu «{figure.label}»: {was} → {is_}")
        if earlier.model_copy(update={"target": None}) != figure.model_copy(
            update={"target": None}
        ):
            found.append(f"chỉ tiêu «{figure.label}» thay đổi")
    found += [f"bỏ chỉ tiêu «{f.label}»" for key, f in before.items() if key not in after]
    if old.narrative != new.narrative:
        found.append("yêu cầu về phần đánh giá, thuyết minh thay đổi")
    if old.evidence != new.evidence:
        found.append("yêu cầu về đường dẫn minh chứng thay đổi")
    return found


def _rules_changed(old: DirectiveSpec, new: DirectiveSpec) -> set[str]:
    """The requirements of `new` an amendment adds or changes (all of them when the
    directive's window changes): those whose owers from its day it decides anew."""
    found = requirement_changes(old, new)
    if any(change["change"] == "effective" for change in found):
        return {req.code for req in new.requirements}
    return {
        code
        for change in found
        if (code := change["requirement"]) is not None and change["change"] != "dropped"
    }


def _check_dispatch(conn: Connection, row: Any, dispatch: Dispatch, *, window_start: date) -> int:
    """The next revision's number, once the dispatch fits: from a day in the directive's
    window, and not before its latest revision's."""
    if dispatch.effective_from < window_start:
        raise InputError(
            dispatch.source,
            "--from",
            dispatch.effective_from.isoformat(),
            f"is before directive {row.code}'s window, which starts on {window_start.isoformat()}",
            vi=f"Ngày áp dụng {day_text(dispatch.effective_from)} trước ngày chỉ thị {row.code} "
            f"có hiệu lực ({day_text(window_start)}).",
        )
    latest = conn.execute(
        sa.select(REVISION.c.number, REVISION.c.effective_from)
        .where(REVISION.c.directive_id == row.id)
        .order_by(REVISION.c.number.desc())
        .limit(1)
    ).first()
    if latest is not None and dispatch.effective_from < latest.effective_from:
        raise InputError(
            dispatch.source,
            "--from",
            dispatch.effective_from.isoformat(),
            f"is before the day revision {latest.number} of {row.code} applies from, "
            f"{latest.effective_from.isoformat()}",
            vi=f"Ngày áp dụng {day_text(dispatch.effective_from)} trước ngày áp dụng của lần "
            f"sửa đổi {latest.number} ({day_text(latest.effective_from)}).",
        )
    return 1 if latest is None else latest.number + 1


def _published_row(conn: Connection, code: str, source: str) -> Any:
    row = _directive_row(conn, code)
    if row is None:
        raise InputError(
            source,
            "directive",
            code,
            "names no published directive",
            vi=f"Không có chỉ thị đã công bố nào mã «{code}».",
        )
    if row.status != "published":
        raise Refused(
            f"{source}: directive {code} is already withdrawn",
            vi=f"Chỉ thị {code} đã bị bãi bỏ.",
        )
    return row


def _upto(conn: Connection, row: Any, dispatch: Dispatch, opened_by: date) -> date:
    """The day periods are opened by around a revision: the day before it applies, the
    opening's own day, or the latest period already opened, whichever is last, so that every
    obligation the rule in force owes before the revision exists, and the new rule is read
    over every period opened."""
    latest = conn.execute(
        sa.select(sa.func.max(OBLIGATION.c.period_start))
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .where(REQUIREMENT.c.directive_id == row.id)
    ).scalar_one()
    return max(d for d in (dispatch.effective_from - timedelta(days=1), opened_by, latest) if d)


def _in_scope(conn: Connection, directive_id: int, day: date) -> list[Any]:
    """The directive's obligations a revision from `day` applies to: still owed, and due on
    or after it (a standing duty, always)."""
    due = OBLIGATION.c.effective_due
    return list(
        conn.execute(
            sa.select(
                OBLIGATION.c.id,
                OBLIGATION.c.unit_code,
                OBLIGATION.c.period_key,
                REQUIREMENT.c.code.label("requirement_code"),
                REQUIREMENT.c.title.label("requirement_title"),
                *STATE_SELECT,
            )
            .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
            .where(
                REQUIREMENT.c.directive_id == directive_id,
                OBLIGATION.c.status.in_(OPEN_STATES),
                sa.or_(due.is_(None), due >= day),
            )
            .order_by(OBLIGATION.c.id)
        )
    )


def _owed_under(
    conn: Connection,
    spec: DirectiveSpec,
    requirement_ids: dict[str, int],
    run: Opening,
) -> dict[str, dict[str, tuple[date | None, set[str]]]]:
    """For each requirement of `spec`, by period key: its due date and the units owing it
    under `spec`, over the periods started by the run's day."""
    owed: dict[str, dict[str, tuple[date | None, set[str]]]] = {}
    for req in spec.requirements:
        held: dict[str, set[str]] = defaultdict(set)
        if req.code in requirement_ids:
            for unit, key, status in conn.execute(
                sa.select(
                    OBLIGATION.c.unit_code, OBLIGATION.c.period_key, OBLIGATION.c.status
                ).where(OBLIGATION.c.requirement_id == requirement_ids[req.code])
            ):
                if status not in PASSED_ON:
                    held[key].add(unit)
        found = _candidates(
            req,
            Obliged(req.who, run.units, run.versions),
            spec.effective.start,
            spec.effective.until,
            run.opened_by,
            run.calendar,
            held,
        )
        owed[req.code] = {period.key: (due, set(units)) for period, due, units in found}
    return owed


def _decide(
    rows: list[Any],
    *,
    old: DirectiveSpec,
    new: DirectiveSpec | None,
    owed: dict[str, dict[str, tuple[date | None, set[str]]]],
    revision: dict[str, Any],
    key: Callable[[int], str],
) -> tuple[list[Planned], list[Change]]:
    """The event each obligation in scope gets, and the change it makes for its unit."""
    was = {r.code: r for r in old.requirements}
    now = {} if new is None else {r.code: r for r in new.requirements}
    day = date.fromisoformat(revision["from"])
    planned: list[Planned] = []
    changes: list[Change] = []
    for row in rows:
        state = state_from(row[-len(STATE_SELECT) :])
        code = row.requirement_code
        # the title it was owed under (a requirement dropped has no other)
        title = row.requirement_title
        req = now.get(code)
        period = owed.get(code, {}).get(row.period_key)
        reason = None
        if new is None:
            reason = f"directive withdrawn by dispatch {revision['dispatch']}"
        elif req is None:
            reason = f"requirement {code} dropped by dispatch {revision['dispatch']}"
        elif period is None:
            reason = f"period {row.period_key} no longer asked by dispatch {revision['dispatch']}"
        elif row.unit_code not in period[1]:
            reason = f"unit {row.unit_code} no longer asked by dispatch {revision['dispatch']}"
        if reason is not None:
            decision = decide_revoke(state, revision=revision, reason=reason)
            planned.append(Planned(row.id, state, decision, key(row.id)))
            changes.append(
                Change(
                    row.unit_code, code, title, row.period_key, "closed", state.effective_due, None
                )
            )
            continue
        assert req is not None and period is not None
        due = period[0]
        if due is None or due == state.due_date or due < day:
            due = state.due_date  # a revision never makes anything due before it applies
        details = tuple(deliverable_changes(was[code].what, req.what)) if code in was else ()
        if due == state.due_date and not details:
            continue
        decision = decide_revise(state, revision=revision, due=due, changes=list(details))
        planned.append(Planned(row.id, state, decision, key(row.id)))
        new_due = (
            date.fromisoformat(due_text)
            if (due_text := decision.payload["effective_due"])
            else None
        )
        if new_due == state.effective_due and not details:
            continue  # an extension later than the new date stands: nothing changes for the unit
        kind = "due" if new_due != state.effective_due else "what"
        changes.append(
            Change(
                row.unit_code,
                code,
                req.title,
                row.period_key,
                kind,
                state.effective_due,
                new_due,
                details,
            )
        )
    return planned, changes


def _created_since(conn: Connection, directive_id: int, after: int) -> list[Change]:
    """The obligations of the directive created after obligation `after`, as changes."""
    return [
        Change(r.unit_code, r.code, r.title, r.period_key, "created", None, r.due_date)
        for r in conn.execute(
            sa.select(
                OBLIGATION.c.unit_code,
                OBLIGATION.c.period_key,
                OBLIGATION.c.due_date,
                REQUIREMENT.c.code,
                REQUIREMENT.c.title,
            )
            .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
            .where(REQUIREMENT.c.directive_id == directive_id, OBLIGATION.c.id > after)
            .order_by(OBLIGATION.c.id)
        )
    ]


def _last_obligation(conn: Connection) -> int:
    return conn.execute(sa.select(sa.func.coalesce(sa.func.max(OBLIGATION.c.id), 0))).scalar_one()


def _store_spec(
    conn: Connection, directive_id: int, spec: DirectiveSpec, ids: dict[str, int]
) -> None:
    """The directive's row and its requirements' rows as the amended text says; a dropped
    requirement's row stays, with what its obligations were asked."""
    conn.execute(
        DIRECTIVE.update().where(DIRECTIVE.c.id == directive_id).values(**spec.stored_columns())
    )
    for columns in spec.requirement_columns():
        if columns["code"] in ids:
            conn.execute(
                REQUIREMENT.update()
                .where(REQUIREMENT.c.id == ids[columns["code"]])
                .values(**columns)
            )
        else:
            conn.execute(REQUIREMENT.insert().values(directive_id=directive_id, **columns))


def _notices(
    conn: Connection,
    changes: list[Change],
    *,
    code: str,
    subject: str,
    kind: str,
    dispatch: Dispatch,
) -> tuple[list[Notice], list[str]]:
    """One letter per unit a revision touched, to its own address (or, where it has none, to
    each of its staff who has one), and the units no one can be told of."""
    by_unit: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        by_unit[change.unit].append(change)
    units = {
        u.code: u
        for u in conn.execute(
            sa.select(UNIT.c.code, UNIT.c.name, UNIT.c.email).where(UNIT.c.code.in_(list(by_unit)))
        )
    }
    staff: dict[str, list[Recipient]] = defaultdict(list)
    for actor in conn.execute(
        sa.select(ACTOR.c.unit_code, ACTOR.c.full_name, ACTOR.c.email)
        .where(ACTOR.c.unit_code.in_(list(by_unit)), ACTOR.c.email.is_not(None))
        .order_by(ACTOR.c.username)
    ):
        staff[actor.unit_code].append(Recipient(actor.email.lower(), actor.full_name))
    notices: list[Notice] = []
    unreachable: list[str] = []
    for unit_code, own in sorted(by_unit.items()):
        unit = units[unit_code]
        to = [Recipient(unit.email.lower(), unit.name)] if unit.email else staff[unit_code]
        if not to:
            unreachable.append(unit_code)
        notices += [
            Notice(code, subject, kind, dispatch, unit_code, unit.name, recipient, own)
            for recipient in to
        ]
    return notices, unreachable


def _tell(
    conn: Connection, notices: list[Notice], *, run: str, render: Render, now: datetime
) -> list[str]:
    """The letters into the outbox, in the revision's transaction: their keys."""
    letters = [
        (
            hashlib.sha256(f"{run}\x1f{n.unit}\x1f{n.recipient.email}".encode()).hexdigest()[:32],
            n.recipient,
            render(n),
        )
        for n in notices
    ]
    store_messages(conn, run, letters, now)
    return [key for key, _, _ in letters]


@dataclass(frozen=True, slots=True)
class _Revising:
    """What one revision is made with: who, where, when, and how its letters are rendered."""

    units: Sequence[UnitRow]
    versions: Versions  # of the units that continued under their code
    today: date
    opened_by: date
    calendar: WorkCalendar
    actor: str
    channel: str
    now: datetime
    render: Render


def _revise(
    conn: Connection,
    how: _Revising,
    *,
    row: Any,
    old: DirectiveSpec,
    new: DirectiveSpec | None,
    dispatch: Dispatch,
    number: int,
) -> RevisionReport:
    """Apply a revision (`new` None: a withdrawal) to a directive whose row is locked."""
    kind = "withdraw" if new is None else "amend"
    # closed units' work passes on first, as the daily run passes it, so that the revision
    # reaches whoever owes it now
    _hand_over(conn, today=how.today, now=how.now, actor=SYSTEM_ACTOR, channel=how.channel)
    run = Opening(
        how.units,
        _upto(conn, row, dispatch, how.opened_by),
        how.calendar,
        how.actor,
        how.channel,
        how.now,
        versions=how.versions,
    )
    _open_directive(conn, run, row)  # every period owed under the rule in force exists
    revision = {
        "revision": number,
        "dispatch": dispatch.number,
        "dated": dispatch.dated.isoformat(),
        "from": dispatch.effective_from.isoformat(),
    }
    ids = _requirement_ids(conn, row.id)
    planned, changes = _decide(
        _in_scope(conn, row.id, dispatch.effective_from),
        old=old,
        new=new,
        owed={} if new is None else _owed_under(conn, new, ids, run),
        revision=revision,
        key=lambda oid: f"revision:{row.code}:{number}:{oid}",
    )
    append_many(conn, planned, actor=how.actor, channel=how.channel, now=how.now)
    summary = (
        [{"requirement": None, "change": "withdrawn"}]
        if new is None
        else requirement_changes(old, new)
    )
    content = row.content if new is None else new.canonical_json()
    conn.execute(
        REVISION.insert().values(
            directive_id=row.id,
            number=number,
            kind=kind,
            dispatch=dispatch.number,
            dispatch_date=dispatch.dated,
            effective_from=dispatch.effective_from,
            content_sha256=hashlib.sha256(content.encode()).hexdigest(),
            content=content,
            replaced=row.content,
            changes=json.dumps(summary, ensure_ascii=False),
            made_by=how.actor,
            made_at=how.now,
            channel=how.channel,
        )
    )
    if new is None:
        conn.execute(DIRECTIVE.update().where(DIRECTIVE.c.id == row.id).values(status="withdrawn"))
    else:
        _store_spec(conn, row.id, new, ids)
        after = _last_obligation(conn)
        _open_directive(conn, run, _directive_row(conn, row.code))
        changes += _created_since(conn, row.id, after)
    report = RevisionReport(row.code, number, kind, dispatch, summary, changes)
    notices, report.unreachable = _notices(
        conn,
        changes,
        code=row.code,
        subject=(new or old).document.subject,
        kind=kind,
        dispatch=dispatch,
    )
    # the outbox's run column holds 64 characters; the directive's code may be longer
    report.keys = _tell(
        conn, notices, run=f"revision {number} {row.code}"[:64], render=how.render, now=how.now
    )
    report.letters = len(report.keys)
    return report


def _retried(attempt: Callable[[], RevisionReport], dry_run: bool) -> RevisionReport:
    """Run a revision, again if a concurrent command changed one of its obligations; a dry
    run's transaction is rolled back, and its report returned."""
    for _ in range(ATTEMPTS):
        try:
            report = attempt()
        except ConcurrencyConflict:
            continue
        except _DryRun as done:
            done.report.written = False
            return done.report
        return report
    raise ConcurrencyConflict("revising a directive: too many concurrent writers")


def amend(
    engine: Engine,
    spec: DirectiveSpec,
    dispatch: Dispatch,
    *,
    source: str,
    actor: str,
    as_of: date,
    now: datetime,
    calendar: WorkCalendar,
    render: Render,
    horizon_days: int = 0,
    channel: str = "cli",
    dry_run: bool = False,
) -> RevisionReport:
    """Amend a published directive to the validated text `spec` (its whole new text, under
    its code), from the dispatch's day: see the module. A dry run does all of it in a
    transaction it rolls back."""

    def attempt() -> RevisionReport:
        with (
            _denials_recorded(engine, actor, f"directive {spec.code}", now),
            transaction(engine) as conn,
        ):
            check_publish(load_actor(conn, actor, source))
            units, versions = _register(conn)
            _check_references(spec, source, units, versions)
            row = _published_row(conn, spec.code, source)
            if row.source_sha256 == spec.sha256():
                raise InputError(
                    source,
                    "(file)",
                    spec.code,
                    "is the directive's text as it stands: nothing to amend",
                    vi=f"Nội dung trùng với chỉ thị {spec.code} hiện hành: không có gì để sửa đổi.",
                )
            old = DirectiveSpec.model_validate_json(row.content)
            number = _check_dispatch(conn, row, dispatch, window_start=old.effective.start)
            _check_owed(
                spec,
                source,
                units,
                max(as_of + timedelta(days=horizon_days), dispatch.effective_from),
                calendar,
                versions=versions,
                amended_from=dispatch.effective_from,
                checked=_rules_changed(old, spec),
            )
            how = _Revising(
                units,
                versions,
                as_of,
                as_of + timedelta(days=horizon_days),
                calendar,
                actor,
                channel,
                now,
                render,
            )
            report = _revise(
                conn, how, row=row, old=old, new=spec, dispatch=dispatch, number=number
            )
            if dry_run:
                raise _DryRun(report)
            return report

    return _retried(attempt, dry_run)


def withdraw(
    engine: Engine,
    code: str,
    dispatch: Dispatch,
    *,
    source: str,
    actor: str,
    as_of: date,
    now: datetime,
    calendar: WorkCalendar,
    render: Render,
    horizon_days: int = 0,
    channel: str = "cli",
    dry_run: bool = False,
) -> RevisionReport:
    """Withdraw a published directive from the dispatch's day: what is still owed and due
    from then is closed by events naming the dispatch, and no later run opens or chases it."""

    def attempt() -> RevisionReport:
        with (
            _denials_recorded(engine, actor, f"directive {code}", now),
            transaction(engine) as conn,
        ):
            check_publish(load_actor(conn, actor, source))
            row = _published_row(conn, code, source)
            old = DirectiveSpec.model_validate_json(row.content)
            number = _check_dispatch(conn, row, dispatch, window_start=old.effective.start)
            how = _Revising(
                *_register(conn),
                as_of,
                as_of + timedelta(days=horizon_days),
                calendar,
                actor,
                channel,
                now,
                render,
            )
            report = _revise(
                conn, how, row=row, old=old, new=None, dispatch=dispatch, number=number
            )
            if dry_run:
                raise _DryRun(report)
            return report

    return _retried(attempt, dry_run)


@dataclass(frozen=True, slots=True)
class History:
    """A directive as published and the revisions made to it since, in order."""

    code: str
    document: str  # number/symbol, as its text gives them
    subject: str
    status: str
    effective_from: date
    effective_until: date | None
    published_at: datetime
    published_by: str
    revisions: list[RevisionInfo]


def history(engine: Engine, code: str, *, source: str) -> History:
    """A directive and its revisions, in order."""
    with transaction(engine, writes=False) as conn:
        row = conn.execute(sa.select(DIRECTIVE).where(DIRECTIVE.c.code == code)).first()
        if row is None:
            raise InputError(source, "directive", code, "names no published directive")
        revisions = [
            RevisionInfo(
                r.number,
                r.kind,
                r.dispatch,
                r.dispatch_date,
                r.effective_from,
                r.made_by,
                r.made_at,
                json.loads(r.changes),
            )
            for r in conn.execute(
                sa.select(REVISION)
                .where(REVISION.c.directive_id == row.id)
                .order_by(REVISION.c.number)
            )
        ]
    return History(
        row.code,
        f"{row.number or '…'}/{row.symbol}",
        row.subject,
        row.status,
        row.effective_from,
        row.effective_until,
        row.published_at,
        row.published_by,
        revisions,
    )

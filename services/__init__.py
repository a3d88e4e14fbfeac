"""Use cases that the command line and the flows both call, each one unit of work: the
settings are turned into an engine, a calendar and channels here, once.

The types callers need from the layers below are re-exported here, so `cli/` and `flows/`
import this module and never the storage modules themselves (import-linter checks it).

The documents (letters, dispatches, reports, matrices: docxtpl, openpyxl and Jinja2) are
imported by the use cases that write them, not here: they took an eighth of the start of every
command (0.14 s of CPU), and most commands write none."""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from models.errors import ConcurrencyConflict, InputError, NotFound, Unauthorized
from models.files.directive import DirectiveSpec, RequirementSpec
from models.files.directive import load_directive as load_directive
from models.files.registry import SYSTEM_ACTOR, ActorRow, read_actors, read_units, validate_actor
from models.rules.consolidation import Consolidation, Matrix, Rate, TargetCount
from models.rules.ladder import check_templates, template_references
from models.rules.vietnamese import period_words
from models.rules.workdays import calendar_years
from models.rules.workdays import local_date as local_date
from models.storage import desk, ledger, publishing, queries, reference, reporting, review
from models.storage.chase import (
    ChasePlan,
    Summary,
    first_working_day,
    plan,
    rendered,
    summaries,
    write,
    write_summaries,
)
from models.storage.db import transaction, upgrade
from models.storage.desk import Owed as Owed
from models.storage.desk import UnitRef as UnitRef
from models.storage.ledger import ATTEMPTS
from models.storage.ledger import Issued as Issued
from models.storage.ledger import Outcome as Outcome
from models.storage.ledger import typed_key as typed_key
from models.storage.publishing import Handover as Handover
from models.storage.publishing import OpenReport as OpenReport
from models.storage.publishing import PublishReport as PublishReport
from models.storage.queries import DirectivePublic
from models.storage.queries import ObligationFilter as ObligationFilter
from models.storage.queries import ObligationPublic as ObligationPublic
from models.storage.queries import OpenWork as OpenWork
from models.storage.reporting import GROUPINGS as GROUPINGS
from models.storage.reporting import Grouping as Grouping
from models.storage.review import LISTED as LISTED
from models.storage.review import REVIEW_STATUSES as REVIEW_STATUSES
from models.storage.review import Case as Case
from models.storage.review import Cases as Cases
from models.storage.review import Choices as Choices
from models.storage.tables import MESSAGE_STATUSES as MESSAGE_STATUSES
from notifications.delivery import Delivery as Delivery
from notifications.delivery import Smtp, deliver, drop, readdress
from notifications.steps import step_templates
from services.settings import Settings
from services.settings import load_settings as load_environment

# Obligation ids are the `obligation` table's Integer key: int4 on PostgreSQL. SQLite would
# hold larger ones, but the two backends must answer the same ids the same way.
MAX_ID = 2**31 - 1


def load_settings() -> Settings:
    """The settings from the environment, with the templates of the default escalation
    ladder (DONDOC_ESCALATION) checked against the message templates that exist; an
    InputError naming the variable otherwise."""
    settings = load_environment()
    check_default_ladder(settings)
    return settings


def check_default_ladder(settings: Settings) -> None:
    """Refuse a default ladder step naming a message template that does not exist."""
    references = template_references(settings.escalation, "DONDOC_ESCALATION")
    check_templates(references, step_templates(), "environment")


def known_day(day: date, source: str, field: str) -> date:
    """`day`, if the working days around it are known: every command works out working days
    from the day it is given, and due-soon windows, due dates and escalation steps reach into
    the next year, so the calendar's last year is not a day's own. An InputError naming the
    field otherwise."""
    first_year, last_year = calendar_years()
    if not first_year <= day.year < last_year:
        raise InputError(
            source,
            field,
            day.isoformat(),
            f"is outside the years whose working days are known ({first_year}–{last_year - 1}, "
            f"with {last_year} for what falls due after)",
        )
    return day


def obligation_number(value: int, source: str, field: str) -> int:
    """An obligation id within the range either database holds; an InputError otherwise."""
    if not 1 <= value <= MAX_ID:
        raise InputError(
            source, field, value, f"is not an obligation id (ids run from 1 to {MAX_ID})"
        )
    return value


def upgrade_database(settings: Settings) -> None:
    """Create or migrate dondoc's database to the newest schema."""
    upgrade(settings.engine_to_upgrade())


def _unit_codes(settings: Settings) -> set[str]:
    """The codes of the unit register, that registers being imported may refer to."""
    with transaction(settings.engine(), writes=False) as conn:
        return reference.unit_codes(conn)


def import_units(settings: Settings, file: Path, *, now: datetime) -> tuple[int, Handover]:
    """Validate a unit register file against the units already stored, upsert it, then pass
    the work the units it closes still owe for later periods on to their successors."""
    engine = settings.engine()
    with transaction(engine, writes=False) as conn:
        register = reference.load_units(conn)
    imported = reference.import_units(engine, read_units(file, register))
    handed = publishing.hand_over(
        engine, today=local_date(now), now=now, actor=SYSTEM_ACTOR, channel="register"
    )
    return imported, handed


def import_actors(settings: Settings, file: Path) -> tuple[int, list[tuple[str, str, str]]]:
    """Validate an actor register file against the unit register, then upsert it; returns
    how many actors it holds and those it moved to another unit (username, from, to)."""
    actors = read_actors(file, _unit_codes(settings))
    return len(actors), reference.import_actors(settings.engine(), actors)


def add_actor(
    settings: Settings,
    *,
    username: str,
    full_name: str,
    unit: str,
    role: str,
    email: str | None,
    move: bool = False,
) -> tuple[ActorRow, str | None]:
    """Create (or update) one actor, validated as a line of the actor register would be (its
    username trimmed, as the file's cells are); moving an existing actor to another unit
    takes `move`. Returns the actor and the unit they were moved from, if they were."""
    known = _unit_codes(settings)
    actor = validate_actor("actors add", "", username, full_name, unit, role, email, known)
    return actor, reference.add_actor(settings.engine(), actor, move=move)


def check_can_publish(settings: Settings, actor: str, *, source: str, now: datetime) -> None:
    """Refuse an actor who may not publish before anything they sent is read (the denial is
    recorded); `publish` checks again in its own transaction."""
    publishing.check_publisher(settings.engine(), actor, source=source, now=now)


def publish(
    settings: Settings,
    spec: DirectiveSpec,
    *,
    source: str,
    actor: str,
    as_of: date,
    now: datetime,
    channel: str = "cli",
) -> PublishReport:
    """Store a validated directive (once) and open its periods that have started by `as_of`
    (plus the configured horizon). A ladder step naming a message template that does not
    exist is refused, and nothing is written."""
    check_templates(spec.template_references(), step_templates(), source)
    return publishing.publish(
        settings.engine(),
        spec,
        source=source,
        actor=actor,
        as_of=as_of,
        now=now,
        calendar=settings.calendar(),
        horizon_days=settings.open_horizon_days,
        channel=channel,
    )


def open_periods(
    settings: Settings,
    *,
    as_of: date,
    now: datetime,
    actor: str = "dondoc",
    channel: str = "scheduled",
) -> OpenReport:
    """Pass closed units' work on to their successors, then open every published directive's
    periods that have started by `as_of` (plus the configured horizon)."""
    engine = settings.engine()
    publishing.hand_over(engine, today=as_of, now=now, actor=SYSTEM_ACTOR, channel=channel)
    return publishing.open_periods(
        engine,
        as_of=as_of,
        now=now,
        calendar=settings.calendar(),
        horizon_days=settings.open_horizon_days,
        actor=actor,
        channel=channel,
    )


def submit(
    settings: Settings,
    obligation_id: int,
    by: Issued,
    *,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> Outcome:
    """A unit's staff hand in an obligation's figures."""
    return ledger.submit(
        settings.engine(),
        obligation_id,
        by,
        figures=figures,
        narrative=narrative,
        evidence=evidence,
    )


def submit_for(
    settings: Settings,
    by: Issued,
    *,
    directive: str,
    requirement: str,
    unit: str,
    period: str,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> Outcome:
    """A unit's staff hand in the figures of the obligation named by its directive,
    requirement, unit and period (as the submission form names it)."""
    engine = settings.engine()
    oid = queries.find_obligation(
        engine, directive=directive, requirement=requirement, unit=unit, period=period
    )
    if oid is None:
        raise InputError(
            "form",
            "period",
            period,
            f"unit {unit} owes no {requirement} for this period",
            vi=f"Đơn vị {unit} không có nghĩa vụ «{requirement}» cho kỳ {period}.",
        )
    return ledger.submit(engine, oid, by, figures=figures, narrative=narrative, evidence=evidence)


def accept(settings: Settings, obligation_id: int, by: Issued) -> Outcome:
    """The lead office accepts a submission."""
    return ledger.accept(settings.engine(), obligation_id, by)


@dataclass(frozen=True, slots=True)
class ChaseRun:
    """What a chase run found, wrote and delivered."""

    plan: ChasePlan
    messages_written: int  # for a dry run: the messages it rendered and would write
    delivery: Delivery | None  # None for a dry run


def smtp(settings: Settings) -> Smtp | None:
    """The SMTP channel the settings configure, if any."""
    if settings.smtp_host is None:
        return None
    return Smtp(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.mail_from,
        timeout=settings.smtp_timeout,
    )


def chase(
    settings: Settings,
    *,
    day: date,
    now: datetime,
    dry_run: bool = False,
    only: Collection[int] | None = None,
) -> ChaseRun:
    """Chase what is due on `day` (`only`: for these obligations): the events and the
    messages in one transaction (retried whole if a concurrent command got there first), then
    deliver the outbox. A dry run renders every message the real run would write, so it
    fails where the real run would, and writes and sends nothing."""
    from notifications.render import renderer

    check_default_ladder(settings)
    engine = settings.engine()
    calendar = settings.calendar()
    for _ in range(ATTEMPTS):
        try:
            with transaction(engine, writes=not dry_run) as conn:
                found = plan(
                    conn,
                    day=day,
                    calendar=calendar,
                    default_ladder=settings.escalation,
                    only=only,
                )
                _check_step_templates(found)
                if dry_run:
                    would = rendered(conn, found, render=renderer(calendar))
                    return ChaseRun(found, len(would), None)
                written = write(conn, found, render=renderer(calendar), now=now)
            break
        except ConcurrencyConflict:
            continue
    else:
        raise ConcurrencyConflict("chase: too many concurrent writers")
    return ChaseRun(found, written, deliver_outbox(settings, now=now))


def _check_step_templates(found: ChasePlan) -> None:
    """Refuse, before anything is rendered or written, a run with a step whose message
    template no longer exists (a directive published before templates were checked, or a
    template removed since), naming the directive and the step."""
    references = {
        (f"{item.directive}: step {item.step.key}.template", item.step.template)
        for item in found.items
    }
    check_templates(sorted(references), step_templates(), "chase")


def deliver_outbox(
    settings: Settings,
    *,
    now: datetime,
    everything: bool = False,
    only: Collection[str] | None = None,
) -> Delivery:
    """Deliver the messages that are due (`everything`: retry the waiting ones now; `only`:
    just the messages of these keys)."""
    return deliver(
        settings.engine(),
        now=now,
        smtp=smtp(settings),
        folder=settings.outbox_dir,
        everything=everything,
        only=only,
        budget=timedelta(seconds=settings.delivery_budget),
    )


def return_(
    settings: Settings, obligation_id: int, by: Issued, *, reason: str | None
) -> tuple[Outcome, ChaseRun]:
    """The lead office returns a submission; its unit is told at once, with the reason (the
    return stands even if the notice cannot be delivered yet: it stays in the outbox)."""
    outcome = ledger.return_(settings.engine(), obligation_id, by, reason=reason)
    told = chase(settings, day=local_date(by.now), now=by.now, only=[obligation_id])
    return outcome, told


def extend(
    settings: Settings, obligation_id: int, by: Issued, *, due: date, reason: str | None
) -> Outcome:
    """The lead office moves an obligation's due date later."""
    return ledger.extend(settings.engine(), obligation_id, by, due=due, reason=reason)


def waive(settings: Settings, obligation_id: int, by: Issued, *, reason: str | None) -> Outcome:
    """The lead office releases the unit from an obligation."""
    return ledger.waive(settings.engine(), obligation_id, by, reason=reason)


def decide(
    settings: Settings,
    obligation_id: int,
    by: Issued,
    decision: str,
    *,
    reason: str | None,
    new_due: date | None,
) -> tuple[Outcome, ChaseRun | None]:
    """The lead office's decision on an obligation (accept, return, waive or extend), with
    the notice a return sends at once (None for the other decisions)."""
    if decision == "accept":
        return accept(settings, obligation_id, by), None
    if decision == "return":
        return return_(settings, obligation_id, by, reason=reason)
    if decision == "waive":
        return waive(settings, obligation_id, by, reason=reason), None
    if new_due is None:
        raise InputError(
            "form",
            "new_due",
            None,
            "an extension needs the new due date",
            vi="Gia hạn cần ghi ngày hạn mới.",
        )
    return extend(settings, obligation_id, by, due=new_due, reason=reason), None


def verify(settings: Settings) -> tuple[int, list[ledger.Problem]]:
    """Check every hash chain and that the projection matches the log: the events read and
    the problems found."""
    return ledger.verify(settings.engine())


def rebuild(settings: Settings) -> tuple[int, int]:
    """Recompute every obligation's current state from the log: the obligations replayed and
    the projection rows corrected."""
    return ledger.rebuild(settings.engine())


def anchor_log(settings: Settings, *, now: datetime) -> tuple[ledger.Anchor, Path]:
    """Take the log's anchor and keep it in a file of its own under the anchor folder,
    outside the database (one per run: anchor-<time>.json)."""
    taken = ledger.anchor(settings.engine(), now=now)
    settings.anchor_dir.mkdir(parents=True, exist_ok=True)
    path = settings.anchor_dir / f"anchor-{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.json"
    path.write_text(taken.to_json() + "\n", encoding="utf-8")
    return taken, path


def check_anchor(settings: Settings, file: Path) -> tuple[ledger.Anchor, list[str]]:
    """The anchor kept in `file`, and how the log differs from it now (empty: it holds)."""
    kept = ledger.Anchor.read(file)
    return kept, ledger.check_anchor(settings.engine(), kept)


def list_directives(settings: Settings) -> list[DirectivePublic]:
    """Published directives with their requirement and obligation counts."""
    return queries.list_directives(settings.engine())


def stream_obligations(
    settings: Settings,
    *,
    day: date,
    where: ObligationFilter,
    limit: int | None = None,
    offset: int = 0,
) -> Generator[ObligationPublic, None, None]:
    """Obligations `where` selects, with their status as of `day` (the configured due-soon
    window), from the `offset`-th, at most `limit`, streamed from the database: iterate it to
    the end or close it. The database is checked before it returns."""
    return queries.stream_obligations(
        settings.engine(), on=settings.status_day(day), where=where, limit=limit, offset=offset
    )


def rates(
    settings: Settings,
    *,
    directive: str,
    day: date,
    requirement: str | None = None,
    period: str | None = None,
    by: reporting.Grouping | None = None,
) -> tuple[list[Rate], list[TargetCount]]:
    """Reporting rates per requirement, period and unit group as of `day`, and how many
    accepted reports met each target."""
    return reporting.rates(
        settings.engine(),
        directive=directive,
        on=settings.status_day(day),
        requirement=requirement,
        period=period,
        by=by,
    )


def matrix(settings: Settings, *, directive: str, requirement: str, day: date) -> Matrix:
    """Units × periods of one requirement, each cell the status as of `day`."""
    return reporting.matrix(
        settings.engine(),
        directive=directive,
        requirement=requirement,
        on=settings.status_day(day),
    )


def consolidation(
    settings: Settings, *, directive: str, requirement: str, period: str, day: date
) -> Consolidation:
    """The consolidated report of one requirement and period as of `day`."""
    return reporting.consolidation(
        settings.engine(),
        directive=directive,
        requirement=requirement,
        period=period,
        on=settings.status_day(day),
    )


def _folder(folder: Path) -> None:
    """`folder`, created if need be; an InputError naming it if it is a file or cannot be."""
    if folder.exists() and not folder.is_dir():
        raise InputError(str(folder), "(folder)", str(folder), "is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            str(folder), "(folder)", str(folder), f"cannot be created: {exc.strerror or exc}"
        ) from None


@contextmanager
def _written_whole(*files: Path) -> Iterator[list[Path]]:
    """Files beside `files` for the block to write, moved onto `files` once every one is
    written: a failure leaves each file as it was, none half-written, and no file beside
    it. A file that is a folder or a device, or a folder that cannot be created or written
    to, is an InputError naming it."""
    for file in files:
        _folder(file.parent)
        if file.exists() and not file.is_file():
            problem = "is a folder, not a file" if file.is_dir() else "is not a regular file"
            raise InputError(str(file), "(file)", str(file), problem)
    parts = [file.with_name(f".{file.name}.{uuid.uuid4().hex}.part") for file in files]
    try:
        yield parts
        for part, file in zip(parts, files, strict=True):
            os.replace(part, file)
    except OSError as exc:
        # the file the failure concerns: the one whose part was written or moved
        named = {str(part): file for part, file in zip(parts, files, strict=True)}
        failed = named.get(str(exc.filename), files[0])
        raise InputError(
            str(failed), "(file)", str(failed), f"cannot be written: {exc.strerror or exc}"
        ) from None
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def _report_files(found: Consolidation, out: Path) -> list[Path]:
    """A consolidated report written into `out` as a workbook (.xlsx) and a Word draft
    (.docx), both or neither."""
    from notifications import report

    stem = report.filename(found)
    files = [out / f"{stem}.xlsx", out / f"{stem}.docx"]
    with _written_whole(*files) as (workbook, draft):
        report.write_consolidation_xlsx(found, workbook)
        report.write_consolidation_docx(found, draft)
    return files


def _matrix_file(html: str, out: Path) -> Path:
    with _written_whole(out) as (page,):
        page.write_text(html, encoding="utf-8")
    return out


def write_consolidation(
    settings: Settings, *, directive: str, requirement: str, period: str, day: date, out: Path
) -> tuple[Consolidation, list[Path]]:
    """The consolidated report of one requirement and period as of `day`, written into `out`
    as a workbook (.xlsx) and a Word draft (.docx)."""
    found = consolidation(
        settings, directive=directive, requirement=requirement, period=period, day=day
    )
    return found, _report_files(found, out)


def write_matrix(
    settings: Settings, *, directive: str, requirement: str, day: date, out: Path
) -> tuple[Matrix, Path]:
    """The compliance matrix of one requirement as one self-contained HTML file `out`."""
    from notifications.matrix import matrix_html

    found = matrix(settings, directive=directive, requirement=requirement, day=day)
    return found, _matrix_file(matrix_html(found), out)


@dataclass(frozen=True, slots=True)
class Drafted:
    """One lead-office report drafted by the consolidation run: the reports it sums up, the
    files written (relative to the outputs folder), and the draft its form now offers."""

    due: reporting.DraftDue
    reports: list[Consolidation]
    files: list[str]
    narrative: str
    evidence: str | None


@dataclass(frozen=True, slots=True)
class ConsolidationRun:
    """What a consolidation run drafted, and the matrix of each requirement it summed up
    (one per requirement, whatever the periods drafted)."""

    day: date
    working_day: bool
    drafted: list[Drafted]
    matrices: list[Matrix]


def consolidate(settings: Settings, *, day: date, now: datetime) -> ConsolidationRun:
    """On a working day, draft every lead-office report whose units' deadline has passed and
    that is not handed in yet: the consolidated reports and matrices of what it sums up go to
    the outputs folder, and the draft to its obligation, for a person to check and submit.
    Each requirement's matrix covers all its periods: it is read and rendered once, and
    copied into the folder of each period drafted."""
    from notifications.draft import draft_text
    from notifications.matrix import matrix_html

    if not settings.calendar().is_working_day(day):
        return ConsolidationRun(day, False, [], [])
    engine = settings.engine()
    on = settings.status_day(day)
    pages: dict[tuple[str, str], tuple[Matrix, str]] = {}
    drafted = []
    for due in reporting.drafts_due(engine, day=day):
        folder = Path(due.directive) / due.period
        reports, written = [], []
        for source in due.sources:
            found = reporting.consolidation(
                engine, directive=due.directive, requirement=source, period=due.period, on=on
            )
            if (due.directive, source) not in pages:
                grid = reporting.matrix(engine, directive=due.directive, requirement=source, on=on)
                pages[(due.directive, source)] = (grid, matrix_html(grid))
            page = settings.outputs_dir / folder / f"ma-tran-{source}-{day.isoformat()}.html"
            files = [
                *_report_files(found, settings.outputs_dir / folder),
                _matrix_file(pages[(due.directive, source)][1], page),
            ]
            reports.append(found)
            written += [str(path.relative_to(settings.outputs_dir)) for path in files]
        narrative = draft_text(
            reports,
            period=period_words(due.period),
            as_of=day,
            files=[Path(f).name for f in written],
        )
        evidence = f"{settings.outputs_url}{folder.as_posix()}/" if settings.outputs_url else None
        reporting.write_draft(
            engine,
            due.obligation_id,
            narrative=narrative,
            evidence=evidence,
            files=written,
            as_of=day,
            now=now,
        )
        drafted.append(Drafted(due, reports, written, narrative, evidence))
    return ConsolidationRun(day, True, drafted, [grid for grid, _ in pages.values()])


def drafts(settings: Settings, obligation_ids: Collection[int]) -> dict[int, reporting.Drafted]:
    """The consolidation run's drafts of these obligations."""
    return reporting.drafts(settings.engine(), list(obligation_ids))


def count_obligations(settings: Settings, *, day: date, where: ObligationFilter) -> int:
    """How many obligations `where` selects as of `day`."""
    return queries.count_obligations(settings.engine(), on=settings.status_day(day), where=where)


def compliance(settings: Settings, *, day: date) -> list[tuple[str, str, str, str, int]]:
    """(directive, unit code, unit name, status as of `day`, count)."""
    return queries.compliance(settings.engine(), on=settings.status_day(day))


def requirement_spec(settings: Settings, *, directive: str, requirement: str) -> RequirementSpec:
    """A published requirement as its directive file states it."""
    return queries.requirement_spec(settings.engine(), directive=directive, requirement=requirement)


def open_work(
    settings: Settings, *, directive: str | None = None, requirement: str | None = None
) -> list[OpenWork]:
    """Every published requirement with something still to hand in (the submission forms),
    or those of one directive or requirement."""
    return queries.open_work(settings.engine(), directive=directive, requirement=requirement)


def review_choices(settings: Settings) -> dict[str, Choices]:
    """Per published directive, what its review form offers to narrow by."""
    return review.all_choices(settings.engine())


def review_cases(
    settings: Settings,
    *,
    directive: str,
    day: date,
    requirement: str | None = None,
    period: str | None = None,
    unit: str | None = None,
    status: str | None = None,
) -> Cases:
    """What the lead office can decide on among the directive's obligations that match, as
    of `day`: how many, and the first of them with what each unit handed in."""
    return review.cases(
        settings.engine(),
        directive=directive,
        on=settings.status_day(day),
        requirement=requirement,
        period=period,
        unit=unit,
        status=status,
    )


def review_case(settings: Settings, *, directive: str, obligation: int, day: date) -> Case:
    """One obligation of the directive as the review desk shows it; one of another directive
    (or none) is not found."""
    found = review.cases(
        settings.engine(), directive=directive, on=settings.status_day(day), obligation=obligation
    ).listed
    if not found:
        raise NotFound(
            f"obligation {obligation} is not one of {directive}",
            vi=f"Nghĩa vụ #{obligation} không thuộc chỉ thị {directive}.",
        )
    return found[0]


def actor_unit(settings: Settings, actor: str, *, command: str, now: datetime) -> UnitRef:
    """The unit an actor acts for (an unknown actor is refused, and the denial recorded)."""
    return desk.actor_unit(settings.engine(), actor, command=command, now=now)


def still_owed(
    settings: Settings, *, unit: str, directive: str, requirement: str, day: date
) -> list[Owed]:
    """What a unit can still hand in for one requirement (open or returned), by due date,
    with its status as of `day` (the submission form's periods)."""
    return desk.unit_obligations(
        settings.engine(),
        unit=unit,
        on=settings.status_day(day),
        directive=directive,
        requirement=requirement,
        owing=True,
    )


def desk_unit(
    settings: Settings, actor: str, unit: str | None, *, day: date, now: datetime
) -> UnitRef:
    """The unit whose list the actor asks for: their own, or another one their unit's
    directives oblige (any for an admin); refused otherwise, and the denial recorded."""
    return desk.actor_unit(settings.engine(), actor, command="list", now=now, unit=unit, day=day)


def unit_desk(settings: Settings, *, unit: str, day: date) -> list[Owed]:
    """Every obligation of a unit, the most urgent first, with its status as of `day` and
    the reason of its latest return (the unit's own list)."""
    return desk.by_urgency(
        desk.unit_obligations(settings.engine(), unit=unit, on=settings.status_day(day))
    )


def list_messages(settings: Settings, *, status: str | None = None) -> list[dict[str, Any]]:
    """The messages in the outbox, newest first (`status`: only those in this status)."""
    if status is not None and status not in MESSAGE_STATUSES:
        raise InputError(
            "outbox list", "--status", status, f"must be one of {', '.join(MESSAGE_STATUSES)}"
        )
    return queries.list_messages(settings.engine(), status=status)


def drop_message(settings: Settings, key: str, *, actor: str, now: datetime) -> None:
    """An administrator takes a message out of delivery for good (kept for the record, with
    who and when); a refusal is recorded."""
    engine = settings.engine()
    try:
        with transaction(engine, writes=False) as conn:
            who = ledger.load_actor(conn, actor, "outbox drop")
        if who.role != "admin":
            raise Unauthorized(f"outbox drop: {actor} is {who.role}; only an admin may drop mail")
    except Unauthorized as denied:
        ledger.record_denial(
            engine,
            actor=actor,
            command="drop",
            target=f"message {key}",
            reason=str(denied),
            now=now,
        )
        raise
    drop(engine, key, actor=actor, now=now)


def retry_messages(settings: Settings, keys: Collection[str], *, now: datetime) -> Delivery:
    """Deliver these messages now, whatever their backoff or rejection, under the names the
    registers now give their addresses (after a register is corrected)."""
    readdress(settings.engine(), keys, now=now)
    return deliver_outbox(settings, now=now, everything=True, only=keys)


@dataclass(frozen=True, slots=True)
class SummaryRun:
    """What the monthly summary run found, wrote and delivered."""

    day: date
    first_working_day: bool
    summaries: list[Summary]
    messages_written: int
    delivery: Delivery | None


def monthly_summary(
    settings: Settings, *, day: date, now: datetime, dry_run: bool = False
) -> SummaryRun:
    """On the month's first working day, send each directive's leadership the late units,
    worst first, with the urging dispatch; on any other day do nothing. A rerun in the same
    month writes nothing again."""
    from notifications.render import summary_renderer

    calendar = settings.calendar()
    if day != first_working_day(day, calendar):
        return SummaryRun(day, False, [], 0, None)
    engine = settings.engine()
    with transaction(engine, writes=not dry_run) as conn:
        found = summaries(conn, on=settings.status_day(day))
        if dry_run:
            return SummaryRun(day, True, found, 0, None)
        written = write_summaries(conn, found, day=day, render=summary_renderer(calendar), now=now)
    return SummaryRun(day, True, found, written, deliver_outbox(settings, now=now))

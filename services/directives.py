"""Directives: publishing one, amending or withdrawing it, opening their periods, and what is
published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from models.files.directive import DirectiveSpec, RequirementSpec
from models.files.directive import load_directive as load_directive
from models.files.registry import SYSTEM_ACTOR
from models.rules.ladder import check_templates
from models.storage import publishing, queries, revisions
from models.storage.publishing import Handover as Handover
from models.storage.publishing import OpenReport as OpenReport
from models.storage.publishing import Preview as Preview
from models.storage.publishing import PublishReport as PublishReport
from models.storage.queries import DirectivePublic
from models.storage.queries import OpenWork as OpenWork
from models.storage.revisions import Change as Change
from models.storage.revisions import Dispatch as Dispatch
from models.storage.revisions import History as History
from models.storage.revisions import RevisionReport as RevisionReport
from models.storage.revisions import dispatch_of as dispatch_of
from notifications.steps import step_templates
from services.settings import Settings

if TYPE_CHECKING:
    from services.mail import Delivery


@dataclass(frozen=True, slots=True)
class Revised:
    """What a revision did, and the delivery of its letters (None for a dry run)."""

    report: RevisionReport
    delivery: Delivery | None


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
    exist is refused, and so is a new directive with a requirement no unit would ever owe in
    its window; nothing is written, and the code stays free."""
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


def preview(
    settings: Settings, spec: DirectiveSpec, *, source: str, actor: str, as_of: date, now: datetime
) -> Preview:
    """What `publish` would create with the same arguments, per requirement and unit kind, or
    its refusal, with nothing written (but a denial, which is recorded)."""
    check_templates(spec.template_references(), step_templates(), source)
    return publishing.preview(
        settings.engine(),
        spec,
        source=source,
        actor=actor,
        as_of=as_of,
        now=now,
        calendar=settings.calendar(),
        horizon_days=settings.open_horizon_days,
    )


def amend(
    settings: Settings,
    spec: DirectiveSpec,
    dispatch: Dispatch,
    *,
    source: str,
    actor: str,
    as_of: date,
    now: datetime,
    channel: str = "cli",
    dry_run: bool = False,
) -> Revised:
    """Amend a published directive to its whole new text `spec`, from the dispatch's day:
    what is still owed and due from then follows the new text by events naming the dispatch,
    what it adds is opened, and each unit affected gets one letter, delivered at once (or
    kept in the outbox for a later run: the revision stands). Checked as publishing checks;
    a dry run writes nothing."""
    from notifications.revision import revision_renderer

    check_templates(spec.template_references(), step_templates(), source)
    report = revisions.amend(
        settings.engine(),
        spec,
        dispatch,
        source=source,
        actor=actor,
        as_of=as_of,
        now=now,
        calendar=settings.calendar(),
        render=revision_renderer(),
        horizon_days=settings.open_horizon_days,
        channel=channel,
        dry_run=dry_run,
    )
    return _delivered(settings, report, now)


def _delivered(settings: Settings, report: RevisionReport, now: datetime) -> Revised:
    """A revision's letters delivered now (none for a dry run)."""
    from services.mail import deliver_outbox  # the mail channels, only for what sends

    if not report.written:
        return Revised(report, None)
    return Revised(report, deliver_outbox(settings, now=now, only=report.keys))


def withdraw(
    settings: Settings,
    code: str,
    dispatch: Dispatch,
    *,
    source: str,
    actor: str,
    as_of: date,
    now: datetime,
    channel: str = "cli",
    dry_run: bool = False,
) -> Revised:
    """Withdraw a published directive from the dispatch's day: what is still owed and due
    from then is closed by events naming the dispatch, each unit concerned gets one letter
    (delivered as an amendment's), and no later run opens or chases the directive. A dry run
    writes nothing."""
    from notifications.revision import revision_renderer

    report = revisions.withdraw(
        settings.engine(),
        code,
        dispatch,
        source=source,
        actor=actor,
        as_of=as_of,
        now=now,
        calendar=settings.calendar(),
        render=revision_renderer(),
        horizon_days=settings.open_horizon_days,
        channel=channel,
        dry_run=dry_run,
    )
    return _delivered(settings, report, now)


def history(settings: Settings, code: str, *, source: str) -> History:
    """A directive as published and its revisions since, in order."""
    return revisions.history(settings.engine(), code, source=source)


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


def list_directives(settings: Settings) -> list[DirectivePublic]:
    """Published directives with their requirement and obligation counts."""
    return queries.list_directives(settings.engine())


def requirement_spec(settings: Settings, *, directive: str, requirement: str) -> RequirementSpec:
    """A published requirement as its directive file states it."""
    return queries.requirement_spec(settings.engine(), directive=directive, requirement=requirement)


def open_work(
    settings: Settings, *, directive: str | None = None, requirement: str | None = None
) -> list[OpenWork]:
    """Every published requirement with something still to hand in (the submission forms),
    or those of one directive or requirement."""
    return queries.open_work(settings.engine(), directive=directive, requirement=requirement)

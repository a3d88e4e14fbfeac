"""Use cases that the command line and the flows both call, each one unit of work: the
settings are turned into an engine, a calendar and channels here, once."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from models import ledger
from models.chase import (
    ChasePlan,
    Summary,
    first_working_day,
    plan,
    summaries,
    write,
    write_summaries,
)
from models.db import transaction
from models.errors import ConcurrencyConflict
from models.ledger import ATTEMPTS
from models.settings import Settings
from models.workdays import local_date
from notifications.delivery import Delivery, Smtp, deliver
from notifications.render import renderer, summary_renderer


@dataclass(frozen=True, slots=True)
class ChaseRun:
    """What a chase run found, wrote and delivered."""

    plan: ChasePlan
    messages_written: int
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
    deliver the outbox. A dry run writes and sends nothing."""
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
                if dry_run:
                    return ChaseRun(found, 0, None)
                written = write(conn, found, render=renderer(calendar), now=now)
            break
        except ConcurrencyConflict:
            continue
    else:
        raise ConcurrencyConflict("chase: too many concurrent writers")
    return ChaseRun(found, written, deliver_outbox(settings, now=now))


def deliver_outbox(settings: Settings, *, now: datetime, everything: bool = False) -> Delivery:
    """Deliver the messages that are due (`everything`: retry the waiting ones now)."""
    return deliver(
        settings.engine(),
        now=now,
        smtp=smtp(settings),
        folder=settings.outbox_dir,
        everything=everything,
    )


def return_(
    settings: Settings, obligation_id: int, by: ledger.Issued, *, reason: str | None
) -> tuple[ledger.Outcome, ChaseRun]:
    """The lead office returns a submission; its unit is told at once, with the reason (the
    return stands even if the notice cannot be delivered yet: it stays in the outbox)."""
    outcome = ledger.return_(settings.engine(), obligation_id, by, reason=reason)
    told = chase(settings, day=local_date(by.now), now=by.now, only=[obligation_id])
    return outcome, told


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

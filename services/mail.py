"""Chasing and mail: the chase run, the monthly summary and the outbox."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from models.errors import (
    ConcurrencyConflict,
    DirectiveFailure,
    Failures,
    InputError,
    Unauthorized,
)
from models.storage import ledger, queries
from models.storage.chase import (
    SUMMING,
    ChasePlan,
    Summary,
    first_working_day,
    plan,
    rendered,
    summaries,
    write,
    write_summaries,
)
from models.storage.chase import Item as Item
from models.storage.db import transaction
from models.storage.ledger import ATTEMPTS
from models.storage.tables import MESSAGE_STATUSES as MESSAGE_STATUSES
from notifications.delivery import Delivery as Delivery
from notifications.delivery import Smtp, deliver, drop, readdress
from notifications.steps import step_templates
from services.checks import check_default_ladder
from services.settings import Settings


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
    deliver the outbox. A directive that cannot be chased (its stored text no longer reads, a
    step names a template that no longer exists, its letters fail to render or its events to
    append) is left out with none of its events or letters, and named in the plan's failures;
    the others are chased. A dry run renders every message the real run would write, so it
    finds the same failures, and writes and sends nothing."""
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
                    templates=step_templates(),
                )
                render = renderer(calendar, reply_to=settings.reply_address)
                if dry_run:
                    would = rendered(conn, found, render=render)
                    return ChaseRun(found, len(would), None)
                written = write(
                    conn, found, render=render, now=now, reply_to=settings.reply_address
                )
            break
        except ConcurrencyConflict:
            continue
    else:
        raise ConcurrencyConflict("chase: too many concurrent writers")
    return ChaseRun(found, written, deliver_outbox(settings, now=now))


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
    failed: list[DirectiveFailure] = field(default_factory=list)


def monthly_summary(
    settings: Settings, *, day: date, now: datetime, dry_run: bool = False
) -> SummaryRun:
    """On the month's first working day, send each directive's leadership the late units,
    worst first, with the urging dispatch; on any other day do nothing. A rerun in the same
    month writes nothing again. A directive whose summary cannot be built or rendered sends
    none and is named in the run's failures; the others' are sent."""
    from notifications.render import summary_renderer

    calendar = settings.calendar()
    if day != first_working_day(day, calendar):
        return SummaryRun(day, False, [], 0, None)
    engine = settings.engine()
    failures = Failures(SUMMING)
    render = summary_renderer(calendar)
    with transaction(engine, writes=not dry_run) as conn:
        found = summaries(conn, on=settings.status_day(day), failures=failures)
        if dry_run:
            for summary in found:
                with failures.of(summary.info.code):
                    for to in summary.recipients:
                        render(summary, to, day)
            kept = [s for s in found if s.info.code not in failures]
            return SummaryRun(day, True, kept, 0, None, failures.listed())
        written = write_summaries(conn, found, day=day, render=render, now=now, failures=failures)
    kept = [s for s in found if s.info.code not in failures]
    delivery = deliver_outbox(settings, now=now)
    return SummaryRun(day, True, kept, written, delivery, failures.listed())

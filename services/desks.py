"""The desks: a unit's own list and forms, and the lead office's review desk."""

from __future__ import annotations

from datetime import date, datetime

from models.errors import NotFound
from models.storage import desk, review
from models.storage.desk import STANDING as STANDING
from models.storage.desk import TO_DO as TO_DO
from models.storage.desk import WAITING as WAITING
from models.storage.desk import Owed as Owed
from models.storage.desk import UnitRef as UnitRef
from models.storage.review import LISTED as LISTED
from models.storage.review import REVIEW_STATUSES as REVIEW_STATUSES
from models.storage.review import Case as Case
from models.storage.review import Cases as Cases
from models.storage.review import Choices as Choices
from services.settings import Settings


def check_reviewer(settings: Settings, actor: str, *, directive: str, now: datetime) -> None:
    """Refuse, before the review desk shows anything, a person who decides nothing in the
    directive (recorded): its lead office, the recipients of its reports and administrators
    pass."""
    review.check_reviewer(settings.engine(), actor, directive=directive, now=now)


def waiting_decisions(
    settings: Settings, actor: str, *, day: date, now: datetime
) -> dict[str, Cases]:
    """What waits for the person's decision: per directive whose review desk is theirs, the
    reports handed in and not yet decided (how many, and the first of them)."""
    engine = settings.engine()
    return {
        directive: review.cases(
            engine, directive=directive, on=settings.status_day(day), status="submitted"
        )
        for directive in review.desks_of(engine, actor, now=now)
    }


def review_choices(settings: Settings) -> dict[str, Choices]:
    """Per published directive, what its review form offers to narrow by."""
    return review.all_choices(settings.engine())


def requirement_periods(settings: Settings, *, directive: str, requirement: str) -> list[str]:
    """The periods of one requirement's obligations, in chronological order."""
    return review.choices(settings.engine(), directive, requirement=requirement).periods[
        requirement
    ]


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

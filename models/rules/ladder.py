"""The escalation ladder: when, and to whom, dondoc chases an obligation that is not handed in.

A ladder is a list of steps at working-day offsets from the obligation's effective due date
(negative: before it). Each step names who is told and with which template: the unit itself
(its e-mail and its staff), the directive's lead office, or the issuer's leadership (with a
draft urging dispatch). Defaults come from the settings; a directive file may set its own
ladder (`escalation:`) and a requirement its own again.

Chasing is judged per cycle: a cycle is one effective due date since the latest return. An
extension starts a new cycle (every step moves with the due date); a return starts one too
(the unit is told at once, with the reason, and the steps whose day comes after the return
chase it again). Within a cycle each step is sent at most once, and a run sends only the
latest step whose day has come: a unit three steps behind gets one message, not three.
Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from typing import Annotated, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from models.errors import InputError
from models.rules.workdays import WorkCalendar

Recipient = Literal["unit", "lead", "issuer"]
CHASEABLE = ("open", "returned")


class Step(BaseModel):
    """One rung: `working_days` from the effective due date, who is told, with what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=40)
    working_days: int = Field(ge=-30, le=60)
    to: Recipient
    template: str = Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=60)
    dispatch: bool = False  # attach the draft urging dispatch (công văn đôn đốc)

    @property
    def kind(self) -> str:
        """The event it leaves in the obligation's log."""
        return "reminded" if self.to == "unit" else "escalated"


def _ordered(steps: list[Step]) -> list[Step]:
    keys = [s.key for s in steps]
    if len(set(keys)) != len(keys):
        raise ValueError("each step needs its own key")
    offsets = [s.working_days for s in steps]
    if offsets != sorted(set(offsets)):
        raise ValueError("steps must come in order of working_days, each later than the one before")
    return steps


Ladder = Annotated[list[Step], Field(min_length=1), AfterValidator(_ordered)]

DEFAULT_LADDER: list[Step] = [
    Step(key="nhac-truoc-han", working_days=-3, to="unit", template="nhac-truoc-han"),
    Step(key="qua-han", working_days=1, to="unit", template="qua-han"),
    Step(key="bao-co-quan-chu-tri", working_days=5, to="lead", template="bao-co-quan-chu-tri"),
    Step(
        key="de-nghi-don-doc",
        working_days=10,
        to="issuer",
        template="de-nghi-don-doc",
        dispatch=True,
    ),
]


def template_references(ladder: list[Step], path: str) -> list[tuple[str, str]]:
    """Every (field path, template name) of a ladder found at `path` (`escalation`)."""
    return [(f"{path}[{i}].template", step.template) for i, step in enumerate(ladder)]


def check_templates(
    references: Iterable[tuple[str, str]], known: Collection[str], source: str
) -> None:
    """Refuse a step naming a template that does not exist (`known`: the names of those that
    do, which the letters' renderer knows): every chase run would fail rendering it."""
    for where, name in references:
        if name not in known:
            raise InputError(
                source,
                where,
                name,
                f"names no message template; the templates are: {', '.join(sorted(known))}",
                vi=f"bậc nhắc dùng mẫu thư “{name}” không có",
            )


class Cycle(NamedTuple):
    """What the log says about chasing one obligation: its effective due date, the local day
    of its latest return (None if never returned), and the key of the latest step already
    sent for this due date since that return (None if none). A run keys its answers by it."""

    effective_due: date
    returned_on: date | None
    last_sent: str | None


def step_day(step: Step, effective_due: date, calendar: WorkCalendar) -> date:
    """The working day the step falls on."""
    return calendar.shift_working_days(effective_due, step.working_days)


def due_step(
    ladder: list[Step], stored: str, cycle: Cycle | None, day: date, calendar: WorkCalendar
) -> Step | None:
    """The step to send on `day`, if any: the latest whose day has come in this cycle (and,
    after a return, after the return), provided it is later than the step last sent.
    Obligations handed in, accepted, waived or closed, and standing duties, are never chased."""
    if stored not in CHASEABLE or cycle is None:
        return None
    come = [
        (index, step)
        for index, step in enumerate(ladder)
        if step_day(step, cycle.effective_due, calendar) <= day
        and (
            cycle.returned_on is None
            or step_day(step, cycle.effective_due, calendar) > cycle.returned_on
        )
    ]
    if not come:
        return None
    index, latest = come[-1]
    keys = [step.key for step in ladder]
    if cycle.last_sent in keys and keys.index(cycle.last_sent) >= index:
        return None
    return latest

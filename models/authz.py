"""Who may do what. Prefect OSS has no users, so dondoc checks every actor itself."""

from __future__ import annotations

from dataclasses import dataclass

from models.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class ActorInfo:
    """The acting person as the actor register knows them."""

    username: str
    unit_code: str
    role: str


def check_submit(actor: ActorInfo, unit_code: str) -> None:
    """A unit's staff submit only for their own unit."""
    if actor.unit_code != unit_code:
        raise Unauthorized(
            f"{actor.username} acts for unit {actor.unit_code} and cannot submit for {unit_code}"
        )


def check_review(actor: ActorInfo, lead_unit_code: str, command: str) -> None:
    """Only the directive's lead office accepts, returns, extends or waives."""
    if actor.unit_code != lead_unit_code:
        raise Unauthorized(
            f"{actor.username} acts for unit {actor.unit_code}; only the lead office "
            f"{lead_unit_code} may {command}"
        )


def check_publish(actor: ActorInfo) -> None:
    """Only administrators publish directives."""
    if actor.role != "admin":
        raise Unauthorized(f"{actor.username} is {actor.role}; only an admin may publish")

"""The unit and actor registers: importing them, adding an actor."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from models.files.directive_form import register_lists
from models.files.registry import (
    SYSTEM_ACTOR,
    ActorRow,
    UnitRow,
    read_actors,
    read_units,
    validate_actor,
)
from models.rules.workdays import local_date
from models.storage import publishing, reference
from models.storage.db import transaction
from models.storage.publishing import Handover
from services.settings import Settings


def form_lists(settings: Settings) -> dict[str, list[str]]:
    """What the publishing form offers of the unit register: its offices and kinds of unit."""
    with transaction(settings.engine(), writes=False) as conn:
        return register_lists(reference.load_units(conn))


def _unit_codes(settings: Settings) -> set[str]:
    """The codes of the unit register, that registers being imported may refer to."""
    with transaction(settings.engine(), writes=False) as conn:
        return reference.unit_codes(conn)


def import_units(
    settings: Settings, file: Path, *, now: datetime
) -> tuple[int, list[tuple[UnitRow, UnitRow]], Handover]:
    """Validate a unit register file against the units already stored, upsert it, then pass
    the work the units it closes still owe for later periods on to their successors. Returns
    how many rows it held, the units it continued under their code (the version that ends,
    the one that follows it) and what was handed on."""
    engine = settings.engine()
    with transaction(engine, writes=False) as conn:
        register, versions = reference.load_units(conn), reference.load_versions(conn)
    rows = read_units(file, register, versions)
    continued = reference.import_units(engine, rows)
    handed = publishing.hand_over(
        engine, today=local_date(now), now=now, actor=SYSTEM_ACTOR, channel="register"
    )
    return len(rows), continued, handed


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

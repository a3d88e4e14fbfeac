"""Obligations listed and counted, with their status as of a day."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date

from models.storage import queries
from models.storage.queries import ObligationFilter as ObligationFilter
from models.storage.queries import ObligationPublic as ObligationPublic
from models.storage.queries import Page
from services.settings import Settings


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


def obligation_page(
    settings: Settings, *, day: date, where: ObligationFilter, limit: int, offset: int = 0
) -> Page:
    """The page `stream_obligations` gives with this `limit` and `offset`, and how many
    obligations `where` selects in all as of `day`, in one read of the database."""
    return queries.obligation_page(
        settings.engine(), on=settings.status_day(day), where=where, limit=limit, offset=offset
    )


def compliance(settings: Settings, *, day: date) -> list[tuple[str, str, str, str, int]]:
    """(directive, unit code, unit name, status as of `day`, count)."""
    return queries.compliance(settings.engine(), on=settings.status_day(day))

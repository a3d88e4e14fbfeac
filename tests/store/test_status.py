"""Status as of a day has one definition: the pure function and its SQL twin agree on every
stored status, due date and day, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from models.rules.status import STATUSES, Day, status_on
from models.storage.db import transaction
from models.storage.queries import status_expression

STORED = [s for s in STATUSES if s not in ("due_soon", "overdue")]
DAYS = st.dates(min_value=date(2023, 12, 1), max_value=date(2025, 2, 1))
OBLIGATIONS = st.lists(
    st.tuples(st.sampled_from(STORED), st.none() | DAYS), min_size=1, max_size=30
)


def _sql_statuses(engine: Engine, obligations: list[tuple[str, date | None]], on: Day) -> list[str]:
    columns = [
        status_expression(sa.literal(stored, sa.String), sa.literal(due, sa.Date), on)
        for stored, due in obligations
    ]
    with transaction(engine, writes=False) as conn:
        return list(conn.execute(sa.select(*columns)).one())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(obligations=OBLIGATIONS, day=DAYS, soon=st.integers(min_value=0, max_value=20))
def test_the_function_and_the_sql_agree(
    engine: Engine, obligations: list[tuple[str, date | None]], day: date, soon: int
) -> None:
    on = Day(day, day + timedelta(days=soon))
    expected = [status_on(stored, due, on) for stored, due in obligations]
    assert _sql_statuses(engine, obligations, on) == expected


def test_the_rules_by_example() -> None:
    on = Day(date(2024, 3, 15), date(2024, 3, 20))
    assert status_on("open", date(2024, 3, 14), on) == "overdue"
    assert status_on("open", date(2024, 3, 15), on) == "due_soon"
    assert status_on("open", date(2024, 3, 20), on) == "due_soon"
    assert status_on("open", date(2024, 3, 21), on) == "open"
    assert status_on("returned", date(2024, 3, 14), on) == "overdue"
    assert status_on("returned", date(2024, 3, 15), on) == "returned"
    assert status_on("open", None, on) == "open"
    for done in ("submitted", "accepted", "accepted_late", "waived", "closed"):
        assert status_on(done, date(2024, 1, 1), on) == done

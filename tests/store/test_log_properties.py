"""Properties of the event log over random command sequences, on every backend: the live
projection is what rebuilding from the log gives, in every column, and the log verifies; a
single edited projection column is found by verify, named with its obligation and column.

One seeded database serves all of a test's examples (seeding one per example would take
minutes), so later examples meet obligations earlier ones moved on: refusals are part of the
random sequences too."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from models.errors import InputError, Refused, Unauthorized
from models.storage import ledger
from models.storage.db import transaction
from models.storage.tables import OBLIGATION
from tests.conftest import obligation_id

COMMUNES = ("18673", "18676", "18679", "18682", "18712")
PERIODS = ("2024-Q1", "2024-Q2", "2024-Q3")
COMMANDS = ("submit", "accept", "return", "extend", "waive")
FIGURES = {
    "training_classes": 1,
    "seminars": 0,
    "news_items": 3,
    "leaflets": 50,
    "documents": 1,
    "other_forms": 0,
}
START = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
LEAD = "vhtt.lan"
EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def give(engine: Engine, oid: int, unit: str, command: str, step: int) -> None:
    """One command, by the actor who may give it, at its own time; refusals are expected."""
    by = ledger.Issued(
        f"cb.{unit}" if command == "submit" else LEAD,
        f"prop:{uuid.uuid4()}",
        "test",
        START + timedelta(days=step),
    )
    try:
        if command == "submit":
            ledger.submit(engine, oid, by, figures=FIGURES, narrative="Quý", evidence=None)
        elif command == "accept":
            ledger.accept(engine, oid, by)
        elif command == "return":
            ledger.return_(engine, oid, by, reason="Bổ sung số liệu")
        elif command == "extend":
            ledger.extend(
                engine, oid, by, due=date(2024, 12, 1) + timedelta(days=step), reason=None
            )
        else:
            ledger.waive(engine, oid, by, reason="Sáp nhập")
    except (Refused, InputError, Unauthorized):
        pass


def projection(engine: Engine) -> list[tuple[Any, ...]]:
    with transaction(engine, writes=False) as conn:
        return [tuple(r) for r in conn.execute(sa.select(OBLIGATION).order_by(OBLIGATION.c.id))]


commands = st.lists(
    st.tuples(st.sampled_from(COMMUNES), st.sampled_from(PERIODS), st.sampled_from(COMMANDS)),
    min_size=1,
    max_size=8,
)


@EXAMPLES
@given(sequence=commands)
def test_the_live_projection_is_the_fold_of_the_log_in_every_column(
    seeded: Engine, sequence: list[tuple[str, str, str]]
) -> None:
    for step, (unit, period, command) in enumerate(sequence):
        give(seeded, obligation_id(seeded, "1c", unit, period), unit, command, step)
    live = projection(seeded)
    assert ledger.verify(seeded)[1] == []
    replayed, corrected = ledger.rebuild(seeded)
    assert corrected == 0 and replayed == len(live)
    assert projection(seeded) == live


# A different value for each projection column, given the one it holds.
EDITS: dict[str, Any] = {
    "status": lambda v: "waived" if v != "waived" else "open",
    "version": lambda v: v - 1,
    "due_date": lambda v: date(2030, 1, 1),
    "effective_due": lambda v: date(2030, 1, 1),
    "figures": lambda v: '{"leaflets":999999}',
    "narrative": lambda v: (v or "") + " (sửa)",
    "evidence": lambda v: "https://example.invalid/sua",
    "submitted_at": lambda v: datetime(2030, 1, 1, tzinfo=UTC),
    "decided_at": lambda v: datetime(2030, 1, 1, tzinfo=UTC),
    "last_hash": lambda v: "f" * 64,
}


@EXAMPLES
@given(sequence=commands, column=st.sampled_from(sorted(EDITS)), which=st.integers(0, 14))
def test_one_edited_projection_column_is_found_and_named(
    seeded: Engine, sequence: list[tuple[str, str, str]], column: str, which: int
) -> None:
    for step, (unit, period, command) in enumerate(sequence):
        give(seeded, obligation_id(seeded, "1c", unit, period), unit, command, step)
    unit, period = COMMUNES[which % 5], PERIODS[which // 5]
    oid = obligation_id(seeded, "1c", unit, period)
    read = sa.select(OBLIGATION.c[column]).where(OBLIGATION.c.id == oid)
    write = OBLIGATION.update().where(OBLIGATION.c.id == oid)
    with transaction(seeded) as conn:
        was = conn.execute(read).scalar_one()
        conn.execute(write.values({column: EDITS[column](was)}))
    try:
        _, problems = ledger.verify(seeded)
        assert [p.obligation_id for p in problems] == [oid]
        assert f"column {column} is " in str(problems[0])
    finally:
        with transaction(seeded) as conn:
            conn.execute(write.values({column: was}))
    assert ledger.verify(seeded)[1] == []

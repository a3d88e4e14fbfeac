"""Publishing encodes what a period's `created` payloads share once: each text must still be
the very stored text of `created_payload`, whatever the unit's code holds. And it folds the
`created` events of one due date once: that state must be `evolve`'s of the payload."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from models.rules.obligation import (
    GENESIS,
    created_payload,
    created_state,
    created_texts,
    evolve,
    payload_text,
)

DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@given(
    unit=st.text(),
    names=st.tuples(st.text(), st.text(), st.text()),
    start=DAYS,
    end=st.none() | DAYS,
    due=st.none() | DAYS,
)
def test_a_periods_texts_are_those_of_created_payloads(
    unit: str,
    names: tuple[str, str, str],
    start: date,
    end: date | None,
    due: date | None,
) -> None:
    directive, requirement, period = names
    text = created_texts(directive, requirement, period, start, end, due)(unit)
    expected = created_payload(directive, requirement, unit, period, start, end, due)
    assert text == payload_text(expected)


@given(due=st.none() | DAYS)
def test_a_created_state_is_the_fold_of_its_created_event(due: date | None) -> None:
    payload = created_payload("d", "r", "u", "p", date(2024, 1, 1), None, due)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    assert created_state(due, GENESIS) == evolve(None, "created", payload, at, GENESIS)

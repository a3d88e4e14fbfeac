"""Publishing encodes what a period's `created` payloads share once: each must still be the
very payload and stored text of `created_payload`, whatever the unit's code holds."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from models.obligation import created_payload, created_payloads, payload_text

DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@given(
    unit=st.text(),
    names=st.tuples(st.text(), st.text(), st.text()),
    start=DAYS,
    end=st.none() | DAYS,
    due=st.none() | DAYS,
)
def test_a_periods_payloads_are_created_payloads_and_their_text(
    unit: str,
    names: tuple[str, str, str],
    start: date,
    end: date | None,
    due: date | None,
) -> None:
    directive, requirement, period = names
    payload, text = created_payloads(directive, requirement, period, start, end, due)(unit)
    expected = created_payload(directive, requirement, unit, period, start, end, due)
    assert payload == expected
    assert text == payload_text(expected)

"""The escalation ladder over Vietnam's working days: where each step falls (never in Tết, on
a make-up Saturday when that is a working day), what a run sends after an extension or a
return, one step at a time, never for what is handed in; and ladders in directive files."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.errors import InputError
from models.files.directive import parse_directive
from models.rules.ladder import DEFAULT_LADDER, Cycle, Step, due_step, step_day
from models.rules.workdays import WorkCalendar
from models.storage.chase import reach
from services.settings import Settings
from tests.unit.test_directive_files import put, seed_data

CALENDAR = WorkCalendar()
LADDER = DEFAULT_LADDER
Q1_DUE = date(2024, 3, 15)  # the seed's quarterly report, a Friday


def days(due: date) -> list[date]:
    return [step_day(step, due, CALENDAR) for step in LADDER]


def chase(day: date, cycle: Cycle, stored: str = "open") -> str | None:
    step = due_step(LADDER, stored, cycle, day, CALENDAR)
    return step.key if step else None


def test_the_default_steps_of_a_quarterly_report() -> None:
    # 3 working days before, the working day after, 5 and 10 working days after
    assert days(Q1_DUE) == [
        date(2024, 3, 12),
        date(2024, 3, 18),
        date(2024, 3, 22),
        date(2024, 3, 29),
    ]
    assert [s.kind for s in LADDER] == ["reminded", "reminded", "escalated", "escalated"]


def test_a_step_that_would_fall_in_tet_moves_past_it() -> None:
    # due Wednesday 07/02/2024, the eve of Tết (08–14/02): the day after is Thursday 15/02
    assert days(date(2024, 2, 7))[1] == date(2024, 2, 15)
    # due Friday 16/02: three working days before are 15/02, 07/02 and 06/02
    assert days(date(2024, 2, 16))[0] == date(2024, 2, 6)


def test_a_make_up_saturday_is_a_day_the_ladder_counts() -> None:
    # 29/04–01/05/2024 are off; Saturday 04/05 is worked in their place
    assert days(date(2024, 5, 3))[1] == date(2024, 5, 4)
    assert days(date(2024, 5, 8))[0] == date(2024, 5, 4)  # 07/05, 06/05, then Saturday 04/05


@given(
    due=st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31)),
    offset=st.integers(min_value=-30, max_value=60),
)
def test_every_step_falls_on_a_working_day_at_its_distance(due: date, offset: int) -> None:
    step = Step(key="s", working_days=offset, to="unit", template="t")
    day = step_day(step, due, CALENDAR)
    assert CALENDAR.is_working_day(day)
    if offset > 0:
        assert day > due and CALENDAR.working_days_between(due, day) == offset
    elif offset < 0:
        # the working days in (day, due]: the n - 1 between them, and the due date if worked
        between = CALENDAR.working_days_between(day, due)
        assert day < due and between == -offset - 1 + CALENDAR.is_working_day(due)


@given(
    day=st.dates(min_value=date(2023, 2, 1), max_value=date(2026, 10, 31)),
    offset=st.integers(min_value=-30, max_value=60),
    near=st.integers(min_value=-2, max_value=2),
    later=st.integers(min_value=0, max_value=3),
)
def test_a_run_reads_every_obligation_a_step_can_be_due_for(
    day: date, offset: int, near: int, later: int
) -> None:
    """The chase reads only obligations due by `reach`; none with a step due is left out.
    Due dates are drawn near the edge: about as many working days after the run's day as
    the step comes before the due date."""
    step = Step(key="s", working_days=offset, to="unit", template="t")
    due = CALENDAR.add_working_days(day, max(-offset + near, 0)) + timedelta(days=later)
    if step_day(step, due, CALENDAR) <= day:
        assert due <= reach({1: [step], 2: LADDER}, day, CALENDAR)


def test_a_run_sends_the_step_whose_day_has_come_once() -> None:
    fresh = Cycle(Q1_DUE, None, None)
    assert chase(date(2024, 3, 11), fresh) is None
    assert chase(date(2024, 3, 12), fresh) == "nhac-truoc-han"
    reminded = Cycle(Q1_DUE, None, "nhac-truoc-han")
    assert chase(date(2024, 3, 15), reminded) is None  # the rerun the same week sends nothing
    assert chase(date(2024, 3, 18), reminded) == "qua-han"
    told = Cycle(Q1_DUE, None, "qua-han")
    assert chase(date(2024, 3, 21), told) is None
    assert chase(date(2024, 3, 22), told) == "bao-co-quan-chu-tri"


def test_a_unit_several_steps_behind_gets_only_the_latest() -> None:
    assert chase(date(2024, 4, 1), Cycle(Q1_DUE, None, None)) == "de-nghi-don-doc"
    assert chase(date(2024, 4, 1), Cycle(Q1_DUE, None, "de-nghi-don-doc")) is None


def test_an_extension_moves_every_step() -> None:
    # extended from 15/03 to 29/03: a new cycle, judged on the new date
    extended = Cycle(date(2024, 3, 29), None, None)
    assert chase(date(2024, 3, 22), extended) is None
    assert chase(date(2024, 3, 26), extended) == "nhac-truoc-han"
    assert chase(date(2024, 4, 1), extended) == "qua-han"


def test_a_returned_obligation_is_chased_again_from_its_due_date() -> None:
    # returned on Wednesday 20/03, overdue since 18/03: the steps before the return are not
    # repeated (the return notice told the unit); the next one comes on its day
    returned = Cycle(Q1_DUE, date(2024, 3, 20), None)
    assert chase(date(2024, 3, 21), returned, "returned") is None
    assert chase(date(2024, 3, 22), returned, "returned") == "bao-co-quan-chu-tri"
    # returned before its due date: the reminder before the due date comes again
    early = Cycle(Q1_DUE, date(2024, 3, 8), None)
    assert chase(date(2024, 3, 12), early, "returned") == "nhac-truoc-han"


@pytest.mark.parametrize("stored", ["submitted", "accepted", "accepted_late", "waived", "closed"])
def test_what_is_handed_in_or_released_is_never_chased(stored: str) -> None:
    assert chase(date(2024, 4, 30), Cycle(Q1_DUE, None, None), stored) is None


def test_a_standing_duty_is_never_chased() -> None:
    assert due_step(LADDER, "open", None, date(2024, 4, 30), CALENDAR) is None


def test_directive_and_requirement_ladders_override_the_default() -> None:
    data = seed_data()
    mine = [{"key": "nhac", "working_days": -1, "to": "unit", "template": "nhac-truoc-han"}]
    put("escalation", [{"key": "tre", "working_days": 2, "to": "lead", "template": "qua-han"}])(
        data
    )
    put("requirements[2].escalation", mine)(data)  # 1c
    spec = parse_directive(data, "d.yaml")
    own = spec.requirements[2]
    other = spec.requirements[4]  # 2b
    assert [s.key for s in spec.ladder(own, LADDER)] == ["nhac"]
    assert [s.key for s in spec.ladder(other, LADDER)] == ["tre"]
    plain = parse_directive(seed_data(), "d.yaml")
    assert plain.ladder(plain.requirements[4], LADDER) == LADDER
    # a file without ladders keeps the hash it had before ladders existed
    assert "escalation" not in plain.canonical_json()


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [
                {"key": "a", "working_days": 5, "to": "unit", "template": "x"},
                {"key": "b", "working_days": 1, "to": "lead", "template": "y"},
            ],
            "d.yaml: escalation: steps must come in order of working_days",
        ),
        (
            [
                {"key": "a", "working_days": 1, "to": "unit", "template": "x"},
                {"key": "a", "working_days": 2, "to": "lead", "template": "y"},
            ],
            "each step needs its own key",
        ),
        (
            [{"key": "a", "working_days": 1, "to": "mayor", "template": "x"}],
            "escalation[0].to: Input should be 'unit', 'lead' or 'issuer' (got 'mayor')",
        ),
        (
            [{"key": "a", "working_days": 90, "to": "unit", "template": "x"}],
            "escalation[0].working_days: Input should be less than or equal to 60 (got 90)",
        ),
    ],
)
def test_a_bad_ladder_is_refused_naming_the_field(steps: list[object], message: str) -> None:
    data = seed_data()
    put("escalation", steps)(data)
    with pytest.raises(InputError) as refused:
        parse_directive(data, "d.yaml")
    assert "d.yaml" in str(refused.value) and message in str(refused.value)


def test_a_standing_duty_takes_no_ladder() -> None:
    data = seed_data()
    standing = next(
        i for i, r in enumerate(data["requirements"]) if r["schedule"][0]["cadence"] == "standing"
    )
    put(f"requirements[{standing}].escalation", [dict(DEFAULT_LADDER[0].model_dump())])(data)
    with pytest.raises(InputError, match="never chased"):
        parse_directive(data, "d.yaml")


def test_the_default_ladder_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().escalation == DEFAULT_LADDER
    monkeypatch.setenv(
        "DONDOC_ESCALATION", '[{"key": "a", "working_days": 2, "to": "lead", "template": "x"}]'
    )
    assert [s.key for s in Settings().escalation] == ["a"]

"""A submission's figures as `validate_submission` takes them: numbers within the bound every
path holds (a double in figure_value, a sum over every unit, int() and float()), written
with the digits 0-9, the field and value named when refused."""

from __future__ import annotations

from typing import Any

import pytest

from models.errors import InputError
from models.rules.deliverable import Deliverable, Figure
from models.rules.obligation import FIGURE_BOUND, validate_submission

WHAT = Deliverable(
    figures=[
        Figure(key="budget", label="Kinh phí", type="number", unit="triệu đồng"),
        Figure(key="people", label="Số người", type="integer", required=False),
    ]
)


def figures(**given: Any) -> dict[str, Any]:
    return validate_submission(WHAT, given, None, None)["figures"]


@pytest.mark.parametrize(
    "value",
    [1e308, "1e308", "1e400", -1e16, 10**400, "9" * 400, float(FIGURE_BOUND) * 1.000001],
)
def test_a_number_beyond_the_bound_is_refused_naming_field_and_value(value: Any) -> None:
    with pytest.raises(InputError, match="must be between -1,000,000,000,000,000") as refused:
        figures(budget=value)
    assert (refused.value.field, refused.value.value) == ("figures.budget", value)
    assert "±1.000.000.000.000.000" in (refused.value.vi or "")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("nan", "must be a number"),
        ("inf", "must be a number"),
        ("1_000", "must be a number"),
        ("٣", "must be written with the digits 0-9"),
        ("３.５", "must be written with the digits 0-9"),
        ([1], "must be a number"),
    ],
)
def test_what_is_not_a_number_in_0_to_9_is_refused(value: Any, problem: str) -> None:
    with pytest.raises(InputError, match=problem) as refused:
        figures(budget=value)
    assert refused.value.field == "figures.budget"


def test_numbers_within_the_bound_sum_to_a_finite_total() -> None:
    assert figures(budget="-1e15", people=str(FIGURE_BOUND)) == {
        "budget": -1e15,
        "people": FIGURE_BOUND,
    }
    assert figures(budget=" 12.5 ", people="+07") == {"budget": 12.5, "people": 7}
    assert figures(budget=".5", people=3.0) == {"budget": 0.5, "people": 3}

"""Numbers and short period headings as Vietnamese documents and tables write them."""

from __future__ import annotations

import pytest

from models.rules.vietnamese import decimal_text, percent_text, period_short


def test_numbers_take_a_decimal_comma_and_thousands_dots() -> None:
    assert decimal_text(1234.5) == "1.234,5"
    assert decimal_text(12.5, 2) == "12,50"
    assert percent_text(16 / 20) == "80,0%"
    assert percent_text(2 / 3) == "66,7%"
    assert percent_text(None) == "—"


def test_periods_shorten_to_a_few_letters() -> None:
    keys = ["2024-Q1", "2024-Q4", "2024-H1", "2024-H2", "2024-9M", "2024", "2024-02"]
    assert [period_short(k) for k in keys] == ["QI", "QIV", "6TĐ", "6TC", "9T", "Năm", "T02"]
    assert (period_short("once"), period_short("standing")) == ("1L", "TX")
    with pytest.raises(ValueError, match="2024-Q5"):
        period_short("2024-Q5")

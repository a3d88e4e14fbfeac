"""The lead office's review desk over a seeded history: what matches the filters, how many,
the first of them with what each unit handed in (figures under their labels, narrative,
who, when and how late), and refusals naming the field. On every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import flows.review
from models.errors import InputError, Refused, Unauthorized
from models.rules.vietnamese import sort_key
from models.storage import review
from models.storage.db import transaction
from services.settings import Settings
from tests.conftest import obligation_id
from tests.store.test_reporting import ON, history

DIRECTIVE = "cam-xuyen-cchc-2024"

__all__ = ["history"]


def test_a_report_waiting_for_a_decision_shows_what_the_unit_handed_in(history: Engine) -> None:
    found = review.cases(
        history, directive="cam-xuyen-cchc-2024", on=ON, requirement="1c", status="submitted"
    )
    assert found.total == 1
    (case,) = found.listed
    assert (case.unit, case.unit_name, case.period, case.status) == (
        "18697",
        "Xã Cẩm Quang",
        "2024-Q1",
        "submitted",
    )
    # handed in at 00:30 on 16/03 in Hà Tĩnh: one day after the due date
    assert (case.submitted_by, str(case.handed_in), case.days_late) == ("cb.18697", "2024-03-16", 1)
    shown = {f.label: (f.value, f.unit) for f in case.figures}
    assert shown["Số lớp tập huấn"] == (7, "lớp")
    assert len(shown) == 6
    assert case.narrative == "Báo cáo của cb.18697"


def test_what_is_still_owed_is_listed_with_the_reason_it_came_back(history: Engine) -> None:
    found = review.cases(
        history,
        directive="cam-xuyen-cchc-2024",
        on=ON,
        requirement="1c",
        period="2024-Q1",
        status="overdue",
    )
    # 21 communes less three accepted, one waived and one waiting for a decision
    assert found.total == 16 == len(found.listed)
    returned = next(c for c in found.listed if c.unit == "18682")
    assert (returned.reason, returned.figures, returned.handed_in) == ("Sai số liệu", [], None)
    names = [c.unit_name for c in found.listed]
    assert names == sorted(names, key=sort_key)


def test_a_body_above_units_brings_its_units_and_the_list_stops_at_the_limit(
    history: Engine,
) -> None:
    found = review.cases(
        history,
        directive="cam-xuyen-cchc-2024",
        on=ON,
        requirement="1c",
        period="2024-Q1",
        unit="446",
        limit=5,
    )
    assert found.total == 17 and len(found.listed) == 5
    assert found.listed[0].status == "submitted"  # what waits for a decision comes first
    one = review.cases(history, directive="cam-xuyen-cchc-2024", on=ON, unit="18682")
    assert {c.unit for c in one.listed} == {"18682"} and one.total == len(one.listed) > 1


def test_one_obligation_is_found_whatever_its_status(history: Engine) -> None:
    oid = obligation_id(history, "1c", "18712", "2024-Q1")
    found = review.cases(history, directive="cam-xuyen-cchc-2024", on=ON, obligation=oid)
    assert [(c.obligation_id, c.status) for c in found.listed] == [(oid, "accepted")]


@pytest.mark.parametrize(
    ("field", "value", "filters"),
    [
        ("unit", "99999", {"unit": "99999"}),
        ("requirement", "9z", {"requirement": "9z"}),
        ("period", "2031-Q1", {"period": "2031-Q1"}),
        ("status", "accepted", {"status": "accepted"}),
    ],
)
def test_a_filter_naming_nothing_is_refused_naming_the_field(
    history: Engine, field: str, value: str, filters: dict[str, str]
) -> None:
    with pytest.raises(InputError) as refused:
        review.cases(history, directive="cam-xuyen-cchc-2024", on=ON, **filters)  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.value) == (field, value)


def test_the_form_offers_the_requirements_each_with_its_own_periods_in_order(
    history: Engine,
) -> None:
    offered = review.choices(history, "cam-xuyen-cchc-2024")
    codes = [code for code, _ in offered.requirements]
    assert "1c" in codes and "1a" not in codes  # 1a is a standing duty: nothing to review
    assert "1a" not in offered.periods
    periods = offered.periods["1c"]
    assert periods.index("2024-Q1") < periods.index("2024-Q2") < periods.index("2024-H1")
    # the months are the monthly report's (4a), not the quarterly one's
    assert "2024-02" not in periods and "2024-02" in offered.periods["4a"]
    months = offered.periods["4a"]
    assert months.index("2024-02") < months.index("2024-03")


def test_the_desk_opens_only_to_those_who_decide_in_the_directive(seeded: Engine) -> None:
    now = datetime(2024, 4, 15, 2, 0, tzinfo=UTC)
    # the lead office, the recipient of one of its reports, an administrator
    for person in ("vhtt.lan", "ttvhtt.minh", "admin.cx"):
        review.check_reviewer(seeded, person, directive=DIRECTIVE, now=now)
    # once the lead office has closed, its successor holds the desk, and its staff do not
    merged = datetime(2025, 7, 2, 2, 0, tzinfo=UTC)
    review.check_reviewer(seeded, "svhttdl.an", directive=DIRECTIVE, now=merged)
    for person, said, at in (
        ("cb.18673", "tài khoản cb.18673 thuộc đơn vị 18673", now),
        ("nguoi.la", "Không có tài khoản «nguoi.la»", now),
        ("svhttdl.an", "tài khoản svhttdl.an thuộc đơn vị 42-SVHTTDL", now),
        ("vhtt.lan", "đã ngừng hoạt động từ 01/07/2025", merged),
    ):
        with pytest.raises(Unauthorized) as refused:
            review.check_reviewer(seeded, person, directive=DIRECTIVE, now=at)
        assert said in (refused.value.vi or "")
    with pytest.raises(InputError):
        review.check_reviewer(seeded, "vhtt.lan", directive="khong-co", now=now)
    with transaction(seeded, writes=False) as conn:
        denied = conn.execute(
            sa.text("SELECT actor, command, target FROM denial ORDER BY id")
        ).all()
    assert [tuple(row) for row in denied] == [
        (person, "review", f"directive {DIRECTIVE}")
        for person in ("cb.18673", "nguoi.la", "svhttdl.an", "vhtt.lan")
    ]


def test_a_persons_desks_are_the_directives_they_decide_in_and_listing_them_denies_nothing(
    seeded: Engine,
) -> None:
    now = datetime(2024, 4, 15, 2, 0, tzinfo=UTC)
    merged = datetime(2025, 7, 2, 2, 0, tzinfo=UTC)
    for person, at, desks in (
        ("vhtt.lan", now, [DIRECTIVE]),
        ("ttvhtt.minh", now, [DIRECTIVE]),
        ("admin.cx", now, [DIRECTIVE]),
        ("svhttdl.an", merged, [DIRECTIVE]),
        ("svhttdl.an", now, []),
        ("vhtt.lan", merged, []),
        ("cb.18673", now, []),
        ("nguoi.la", now, []),
    ):
        assert review.desks_of(seeded, person, now=at) == desks, (person, at)
    with transaction(seeded, writes=False) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM denial")).scalar_one() == 0


def test_a_refused_decision_leaves_the_runs_name_without_it(
    seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accepting what was never handed in is refused: the run is not named "· chấp nhận"
    (only a recorded decision names it), and nothing is written."""
    names: list[str] = []
    monkeypatch.setattr(flows.review, "rename_run", names.append)
    settings = Settings(database_url=seeded.url.render_as_string(hide_password=False))
    oid = obligation_id(seeded, "1c", "18712", "2024-Q1")
    with pytest.raises(Refused):
        flows.review.decide_on(
            settings, DIRECTIVE, "svhttdl.an", f"{oid} · 18712", "Chấp nhận", None, None
        )
    assert names == []
    with transaction(seeded, writes=False) as conn:
        kinds = conn.execute(
            sa.text("SELECT kind FROM event WHERE obligation_id = :o"), {"o": oid}
        ).scalars()
        assert "accepted" not in list(kinds)

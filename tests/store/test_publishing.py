"""Publishing the seed directive and opening periods: counts, due dates, idempotency."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import Refused
from models.files.directive import load_directive
from models.files.registry import UnitRow
from models.rules.status import Day
from models.storage import publishing, reference
from models.storage.db import transaction
from models.storage.queries import list_obligations
from models.storage.tables import OBLIGATION, REQUIREMENT
from tests.conftest import CALENDAR, MINISTRY, NOW, SEED, count, publish_seed

COMMUNES = 21


def _rows(engine: Engine, sql: str, **params: object) -> list[sa.Row]:
    with transaction(engine, writes=False) as conn:
        return list(conn.execute(sa.text(sql), params))


def _periods(engine: Engine, requirement: str, unit: str) -> dict[str, date | None]:
    query = (
        sa.select(OBLIGATION.c.period_key, OBLIGATION.c.due_date)
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .where(REQUIREMENT.c.code == requirement, OBLIGATION.c.unit_code == unit)
    )
    with transaction(engine, writes=False) as conn:
        return {r.period_key: r.due_date for r in conn.execute(query)}


def test_each_commune_owes_four_quarterly_two_half_yearly_and_one_yearly_report(
    seeded: Engine,
) -> None:
    rows = _rows(
        seeded,
        "SELECT o.unit_code, o.period_key FROM obligation o "
        "JOIN requirement r ON r.id = o.requirement_id WHERE r.code = '1c'",
    )
    per_unit: dict[str, Counter[str]] = {}
    for unit, key in rows:
        shape = "Q" if "-Q" in key else "H" if "-H" in key else "Y"
        per_unit.setdefault(unit, Counter())[shape] += 1
    assert len(per_unit) == COMMUNES
    assert all(c == Counter({"Q": 4, "H": 2, "Y": 1}) for c in per_unit.values())


def test_seed_due_dates_follow_the_rules_written_in_the_file(seeded: Engine) -> None:
    # 15th of the cut-off period's last month, moved to the next working day
    assert _periods(seeded, "1c", "18712") == {
        "2024-Q1": date(2024, 3, 15),
        "2024-Q2": date(2024, 6, 17),  # 15/06/2024 is a Saturday
        "2024-H1": date(2024, 6, 17),
        "2024-Q3": date(2024, 9, 16),  # 15/09/2024 is a Sunday
        "2024-Q4": date(2024, 12, 16),
        "2024-H2": date(2024, 12, 16),
        "2024": date(2024, 12, 16),
    }
    # the lead office consolidates 3 working days after the cut-off on the 14th, which is
    # two working days after the units' deadline
    assert _periods(seeded, "5", "446-VHTT") == {
        "2024-Q1": date(2024, 3, 19),
        "2024-Q2": date(2024, 6, 19),
        "2024-H1": date(2024, 6, 19),
        "2024-Q3": date(2024, 9, 18),  # 14/09/2024 is a Saturday
        "2024-Q4": date(2024, 12, 18),  # so is 14/12/2024
        "2024-H2": date(2024, 12, 18),
        "2024": date(2024, 12, 18),
    }


def test_a_ministry_regime_is_due_on_days_before_its_periods_end(registered: Engine) -> None:
    spec = load_directive(MINISTRY)
    report = publishing.publish(
        registered,
        spec,
        source=str(MINISTRY),
        actor="admin.cx",
        as_of=date(2024, 12, 31),
        now=NOW,
        calendar=CALENDAR,
    )
    assert report.new and report.opened.total == (COMMUNES + 1) * 3
    # the cut-off half year ends on 14/06, the year on 14/12; no day is moved to a working day
    assert _periods(registered, "bc-xa", "18712") == {
        "2024-H1": date(2024, 6, 15),  # a Saturday
        "2024-H2": date(2024, 12, 15),  # a Sunday
        "2024": date(2024, 11, 25),
    }
    assert _periods(registered, "bc-phong", "446-VHTT") == {
        "2024-H1": date(2024, 6, 17),
        "2024-H2": date(2024, 12, 17),
        "2024": date(2024, 11, 27),
    }
    # the day after the communes' deadline the year's reports are overdue, though it runs on
    on = Day.of(date(2024, 11, 26), CALENDAR, 3)
    year = list_obligations(registered, on=on, directive=spec.code, period="2024")
    shown = Counter((o.requirement, o.status) for o in year)
    assert shown == Counter({("bc-xa", "overdue"): COMMUNES, ("bc-phong", "due_soon"): 1})


def test_the_centre_owes_twelve_monthly_programmes_due_three_working_days_after(
    seeded: Engine,
) -> None:
    periods = _periods(seeded, "4a", "446-TTVHTT")
    assert sorted(periods) == [f"2024-{m:02d}" for m in range(1, 13)]
    assert periods["2024-01"] == date(2024, 2, 5)  # 1, 2 Feb working; Sat 3, Sun 4; Mon 5
    assert periods["2024-02"] == date(2024, 3, 5)  # Tết is in February, not after it
    # 30/4 is the month's last day and a holiday, 1/5 too; Thu 2/5, Fri 3/5, then the
    # make-up Saturday 4/5 is the third working day
    assert periods["2024-04"] == date(2024, 5, 4)
    assert periods["2024-08"] == date(2024, 9, 6)  # 2/9 and 3/9 are National Day
    assert periods["2024-12"] == date(2025, 1, 6)  # 1/1/2025 is New Year's Day; Thu, Fri, Mon


def test_standing_duties_are_owed_without_a_due_date(seeded: Engine) -> None:
    rows = _rows(
        seeded,
        "SELECT r.code, count(*) AS n, max(o.due_date) AS due FROM obligation o "
        "JOIN requirement r ON r.id = o.requirement_id WHERE o.period_key = 'standing' "
        "GROUP BY r.code ORDER BY r.code",
    )  # every due is NULL, so the text SQL's untyped result compares as None
    assert [(r.code, r.n, r.due) for r in rows] == [
        ("1a", COMMUNES, None),
        ("1b", COMMUNES, None),
        ("2a", 14, None),
        ("3", 1, None),
    ]


def test_publishing_after_the_units_closed_still_owes_what_the_window_covered(
    registered: Engine,
) -> None:
    # every unit of the seed register closed on 01/07/2025, when districts were abolished
    assert publish_seed(registered, as_of=date(2026, 11, 26)).opened.total == 291


def test_publishing_twice_creates_nothing_twice(seeded: Engine) -> None:
    obligations, events = count(seeded, "obligation"), count(seeded, "event")
    again = publish_seed(seeded)
    assert not again.new
    assert again.opened.total == 0
    assert (count(seeded, "obligation"), count(seeded, "event")) == (obligations, events)


def test_a_later_open_creates_only_the_periods_that_have_started(registered: Engine) -> None:
    first = publish_seed(registered, as_of=date(2024, 2, 20))
    opened = {k[1]: n for k, n in first.opened.created.items()}
    # cut-off Q1, H1, the year (all from 15/12/2023); January and February; standing duties
    assert opened["1c"] == COMMUNES * 3
    assert opened["4a"] == 2
    assert opened["4b"] == 1
    second = publishing.open_periods(registered, as_of=date(2024, 4, 1), now=NOW, calendar=CALENDAR)
    later = {k[1]: n for k, n in second.created.items()}
    assert later["1c"] == COMMUNES  # Q2 started on 15/03/2024
    assert later["4a"] == 2  # March and April
    assert later["1a"] == 0
    rerun = publishing.open_periods(registered, as_of=date(2024, 4, 1), now=NOW, calendar=CALENDAR)
    assert rerun.total == 0


def test_every_obligation_starts_with_one_created_event(seeded: Engine) -> None:
    rows = _rows(
        seeded,
        "SELECT count(*) AS n, min(e.version) AS lo, max(e.version) AS hi, "
        "count(DISTINCT e.kind) AS kinds FROM obligation o JOIN event e "
        "ON e.obligation_id = o.id",
    )
    assert rows[0].n == count(seeded, "obligation") == 291
    assert (rows[0].lo, rows[0].hi, rows[0].kinds) == (1, 1, 1)


def test_changed_content_under_a_published_code_is_refused(seeded: Engine) -> None:
    spec = load_directive(SEED)
    changed = spec.model_copy(
        update={"document": spec.document.model_copy(update={"subject": "Another subject"})}
    )
    before = count(seeded, "obligation")
    with pytest.raises(Refused, match="already published with other content"):
        publishing.publish(
            seeded,
            changed,
            source="changed.yaml",
            actor="admin.cx",
            as_of=date(2024, 12, 31),
            now=NOW,
            calendar=CALENDAR,
        )
    assert count(seeded, "obligation") == before


def test_a_closed_unit_stops_owing_and_its_successor_owes_from_then_on(
    registered: Engine,
) -> None:
    # Cẩm Lạc closes on 01/08/2024 and Cẩm Minh takes over its duties; a new unit, Cẩm
    # Lạc-Minh of a kind the directive does not select, takes over from Cẩm Minh on 01/11.
    new = UnitRow(
        "99001", "Xã Cẩm Lạc Minh", "xa_moi", "446", (), None, date(2024, 11, 1), None, None
    )
    reference.import_units(registered, [new])
    with transaction(registered) as conn:
        conn.execute(
            sa.text(
                "UPDATE unit SET valid_until = '2024-08-01', successor_code = "
                "'18751' WHERE code = '18748'"
            )
        )
        conn.execute(
            sa.text(
                "UPDATE unit SET valid_until = '2024-11-01', successor_code = "
                "'99001' WHERE code = '18751'"
            )
        )
    publish_seed(registered)
    assert sorted(_periods(registered, "1c", "18748")) == ["2024-H1", "2024-Q1", "2024-Q2"]
    assert sorted(_periods(registered, "1c", "18751")) == [
        "2024-H1",
        "2024-Q1",
        "2024-Q2",
        "2024-Q3",
    ]
    assert sorted(_periods(registered, "1c", "99001")) == ["2024", "2024-H2", "2024-Q4"]

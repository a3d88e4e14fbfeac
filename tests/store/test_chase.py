"""Chasing on the seed: which obligations a run on a given day chases and with which step,
what it writes (events by the system actor, one outbox letter per recipient), and that a rerun,
a non-working day, an extension, a return and a concurrent command behave as the ladder says.
Run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from models.errors import ConcurrencyConflict
from models.files.directive import load_directive
from models.rules.ladder import DEFAULT_LADDER
from models.rules.status import Day
from models.rules.workdays import WorkCalendar
from models.storage import ledger, publishing
from models.storage.chase import (
    ChasePlan,
    first_working_day,
    plan,
    summaries,
    write,
    write_summaries,
)
from models.storage.db import transaction
from models.storage.tables import OBLIGATION
from notifications.render import renderer, summary_renderer
from tests.conftest import MINISTRY, NOW, count, obligation_id

CALENDAR = WorkCalendar()
MONDAY = date(2024, 3, 18)  # the working day after the Q1 reports' due date (Friday 15/03)
FIGURES = {
    "training_classes": 1,
    "seminars": 1,
    "news_items": 2,
    "leaflets": 10,
    "documents": 1,
    "other_forms": 0,
}


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


def planned(engine: Engine, day: date) -> ChasePlan:
    with transaction(engine, writes=False) as conn:
        return plan(conn, day=day, calendar=CALENDAR, default_ladder=DEFAULT_LADDER)


def run(engine: Engine, day: date) -> tuple[ChasePlan, int]:
    with transaction(engine) as conn:
        found = plan(conn, day=day, calendar=CALENDAR, default_ladder=DEFAULT_LADDER)
        return found, write(conn, found, render=renderer(CALENDAR), now=at(day))


def steps(found: ChasePlan, requirement: str = "1c") -> dict[str, str]:
    """unit -> step key, for one requirement."""
    return {i.unit: i.step.key for i in found.items if i.requirement == requirement}


def by(actor: str, key: str, day: date = MONDAY) -> ledger.Issued:
    return ledger.Issued(actor, key, "test", at(day))


def submit(engine: Engine, unit: str, period: str = "2024-Q1") -> int:
    oid = obligation_id(engine, "1c", unit, period)
    ledger.submit(
        engine,
        oid,
        by(f"cb.{unit}", f"s-{unit}-{period}", date(2024, 3, 16)),
        figures=FIGURES,
        narrative="Báo cáo",
        evidence=None,
    )
    return oid


def test_the_day_after_the_due_date_every_late_commune_is_told_once(seeded: Engine) -> None:
    submitted = submit(seeded, "18712")
    accepted = submit(seeded, "18673")
    ledger.accept(seeded, accepted, by("vhtt.lan", "acc"))
    waived = obligation_id(seeded, "1c", "18679", "2024-Q1")
    ledger.waive(seeded, waived, by("vhtt.lan", "w"), reason="Sáp nhập")
    found = planned(seeded, MONDAY)
    late = steps(found)
    assert set(late.values()) == {"qua-han"}
    assert len(late) == 18 and not {"18712", "18673", "18679"} & set(late)
    assert {submitted, accepted, waived}.isdisjoint(i.obligation_id for i in found.items)


def test_a_run_writes_events_as_dondoc_and_one_letter_per_recipient(seeded: Engine) -> None:
    found, messages = run(seeded, MONDAY)
    assert messages == len(found.letters) == count(seeded, "message")
    with transaction(seeded, writes=False) as conn:
        chased = conn.execute(
            sa.text(
                "SELECT actor, kind, channel, count(*) AS n FROM event "
                "WHERE kind IN ('reminded', 'escalated') GROUP BY actor, kind, channel"
            )
        ).all()
        recipients = [r[0] for r in conn.execute(sa.text("SELECT recipient FROM message"))]
    kinds = Counter(i.step.kind for i in found.items)
    assert {(r.actor, r.kind, r.channel, r.n) for r in chased} == {
        ("dondoc", kind, "chase 2024-03-18", n) for kind, n in kinds.items()
    }
    assert len(recipients) == len(set(recipients))
    # the commune's own address and its officer's each get one letter
    assert {"ubnd.18712@camxuyen.example", "vanhoa.18712@camxuyen.example"} <= set(recipients)
    assert ledger.verify(seeded)[1] == []


def test_a_rerun_the_same_day_appends_and_writes_nothing(seeded: Engine) -> None:
    run(seeded, MONDAY)
    events, messages = count(seeded, "event"), count(seeded, "message")
    again, written = run(seeded, MONDAY)
    assert again.items == [] and written == 0
    assert (count(seeded, "event"), count(seeded, "message")) == (events, messages)


def test_the_next_step_comes_on_its_day_and_never_on_a_day_off(seeded: Engine) -> None:
    run(seeded, MONDAY)
    assert steps(planned(seeded, date(2024, 3, 21))) == {}
    sunday = planned(seeded, date(2024, 3, 24))
    assert not sunday.working_day and sunday.items == []
    assert set(steps(planned(seeded, date(2024, 3, 22))).values()) == {"bao-co-quan-chu-tri"}


def test_an_extension_moves_the_steps(seeded: Engine) -> None:
    oid = obligation_id(seeded, "1c", "18712", "2024-Q1")
    ledger.extend(seeded, oid, by("vhtt.lan", "x"), due=date(2024, 3, 29), reason="Bão")
    assert "18712" not in steps(planned(seeded, MONDAY))
    assert steps(planned(seeded, date(2024, 3, 26)))["18712"] == "nhac-truoc-han"


def test_a_return_is_told_with_its_reason_then_chased_again(seeded: Engine) -> None:
    run(seeded, MONDAY)
    oid = submit(seeded, "18712")
    ledger.return_(seeded, oid, by("vhtt.lan", "r", date(2024, 3, 20)), reason="Thiếu số liệu")
    found, _ = run(seeded, date(2024, 3, 21))
    notice = next(i for i in found.items if i.obligation_id == oid)
    assert (notice.step.key, notice.reason) == ("tra-lai", "Thiếu số liệu")
    letter = next(
        letter for letter in found.letters if notice in letter.items and "18712" in str(letter)
    )
    rendered = renderer(CALENDAR)(letter, found.day)
    assert "Thiếu số liệu" in rendered.text and "Thiếu số liệu" in rendered.html
    assert oid not in {i.obligation_id for i in planned(seeded, date(2024, 3, 21)).items}
    assert steps(planned(seeded, date(2024, 3, 22)))["18712"] == "bao-co-quan-chu-tri"


def test_a_return_months_before_the_due_date_is_told_at_once(seeded: Engine) -> None:
    """No ladder step is near a Q4 report in March, but its return is still told at once."""
    oid = submit(seeded, "18712", "2024-Q4")
    ledger.return_(seeded, oid, by("vhtt.lan", "r4", date(2024, 3, 20)), reason="Sai kỳ")
    found, _ = run(seeded, date(2024, 3, 21))
    notice = next(i for i in found.items if i.obligation_id == oid)
    assert (notice.step.key, notice.reason, notice.period) == ("tra-lai", "Sai kỳ", "2024-Q4")
    assert oid not in {i.obligation_id for i in planned(seeded, date(2024, 3, 22)).items}


def test_an_item_holds_the_state_the_ledger_reads(seeded: Engine) -> None:
    """A returned report keeps its figures: the plan's item holds them decoded, as the ledger
    reads the projection's row, not as the stored JSON text (its next event folds on it)."""
    oid = submit(seeded, "18712")
    ledger.return_(seeded, oid, by("vhtt.lan", "r", date(2024, 3, 20)), reason="Thiếu số liệu")
    notice = next(i for i in planned(seeded, date(2024, 3, 21)).items if i.obligation_id == oid)
    with seeded.connect() as conn:
        row = conn.execute(sa.select(OBLIGATION).where(OBLIGATION.c.id == oid)).one()
    assert notice.state == ledger.state_from_row(row)
    assert notice.state.figures == FIGURES


def test_a_concurrent_command_makes_the_whole_batch_write_nothing(seeded: Engine) -> None:
    found = planned(seeded, MONDAY)
    events = count(seeded, "event")
    submit(seeded, "18712")  # lands between the run's read and its write
    with pytest.raises(ConcurrencyConflict), transaction(seeded) as conn:
        write(conn, found, render=renderer(CALENDAR), now=at(MONDAY))
    assert count(seeded, "event") == events + 1 and count(seeded, "message") == 0


def test_a_unit_no_one_can_reach_is_reported_and_left_for_later(seeded: Engine) -> None:
    def unreachable(conn: Connection) -> None:
        conn.execute(sa.text("UPDATE unit SET email = NULL WHERE code = '18712'"))
        conn.execute(sa.text("UPDATE actor SET email = NULL WHERE unit_code = '18712'"))

    with transaction(seeded) as conn:
        unreachable(conn)
    found, _ = run(seeded, MONDAY)
    assert ("18712", "Xã Nam Phúc Thăng", "unit") in found.unreachable
    assert "18712" not in steps(found)
    # nothing was recorded for it: the next run finds it again, and reports it again
    oid = obligation_id(seeded, "1c", "18712", "2024-Q1")
    with transaction(seeded, writes=False) as conn:
        kinds = [
            r[0]
            for r in conn.execute(sa.text(f"SELECT kind FROM event WHERE obligation_id = {oid}"))
        ]
    assert kinds == ["created"]
    assert ("18712", "Xã Nam Phúc Thăng", "unit") in planned(seeded, MONDAY).unreachable


def test_the_monthly_summary_lists_the_late_units_worst_first(seeded: Engine) -> None:
    assert first_working_day(date(2024, 4, 15), CALENDAR) == date(2024, 4, 1)
    # Tết 2025: 27–31 January; 1 February is a Saturday, so Monday 3 February
    assert first_working_day(date(2025, 2, 20), CALENDAR) == date(2025, 2, 3)
    submit(seeded, "18712")
    day = date(2024, 4, 1)
    with transaction(seeded, writes=False) as conn:
        (found,) = summaries(conn, on=Day(day, day))
    counts = [late.overdue for late in found.late]
    assert counts == sorted(counts, reverse=True)
    assert not any(
        (i.unit, i.period, i.requirement) == ("18712", "2024-Q1", "1c") for i in found.items
    )
    assert sum(counts) == len(found.items)
    assert [to.email for to in found.recipients] == [
        "ubnd@camxuyen.example",
        "admin@camxuyen.example",
    ]
    render = summary_renderer(CALENDAR)
    with transaction(seeded) as conn:
        assert write_summaries(conn, [found], day=day, render=render, now=at(day)) == 2
        assert write_summaries(conn, [found], day=day, render=render, now=at(day)) == 0
    message = render(found, found.recipients[0], day)
    assert message.attachments[0].filename.endswith("2024-04-01-tong-hop-thang.docx")
    assert found.late[0].unit_name in message.text and "Tổng hợp tháng" in message.subject


def test_a_report_due_before_its_period_ends_is_chased_from_its_due_date(
    registered: Engine,
) -> None:
    # the communes' year report is due Monday 25/11/2024; the cut-off year runs to 14/12
    publishing.publish(
        registered,
        load_directive(MINISTRY),
        source=str(MINISTRY),
        actor="admin.cx",
        as_of=date(2024, 12, 31),
        now=NOW,
        calendar=CALENDAR,
    )

    def year(day: date) -> Counter[tuple[str, str]]:
        items = planned(registered, day).items
        return Counter((i.requirement, i.step.key) for i in items if i.period == "2024")

    assert year(date(2024, 11, 19)) == Counter()
    assert year(date(2024, 11, 20)) == Counter({("bc-xa", "nhac-truoc-han"): 21})
    assert year(date(2024, 11, 26)) == Counter(
        {("bc-xa", "qua-han"): 21, ("bc-phong", "nhac-truoc-han"): 1}
    )

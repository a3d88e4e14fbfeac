"""A report that arrived on paper, by official e-mail or through the document system, entered
by the lead office days later: on time is judged by the day it arrived, in acceptance, rates,
the matrix, the consolidated report and its workbook, and the log rebuilds that day. The
entry goes through the lead office's rights, four-eyes and the lifecycle; a bad arrival day
is refused with nothing written. On every backend."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from models.errors import InputError, Refused, Unauthorized
from models.rules.ladder import DEFAULT_LADDER
from models.rules.obligation import Arrival
from models.rules.status import Day
from models.storage import chase, db, ledger, reporting
from models.storage.db import transaction
from models.storage.tables import EVENT, OBLIGATION
from notifications.report import write_consolidation_xlsx
from tests.conftest import CALENDAR, count, obligation_id

DIRECTIVE = "cam-xuyen-cchc-2024"
GRACE = 5  # working days
# The communes' Q1 report (1c) was due on Friday 15/03/2024.
ON = Day(date(2024, 3, 22), date(2024, 3, 27))
FIGURES = {
    "training_classes": 2,
    "seminars": 1,
    "news_items": 4,
    "leaflets": 300,
    "documents": 5,
    "other_forms": 0,
}


def at(day: int, month: int = 3, hour: int = 3) -> datetime:
    return datetime(2024, month, day, hour, 0, tzinfo=UTC)  # 10:00 in Hà Tĩnh


def paper(arrived: date, **changed: Any) -> Arrival:
    return Arrival(**{"channel": "giay", "arrived": arrived, "number": "12/BC-UBND"} | changed)


def receive(
    engine: Engine, oid: int, arrival: Arrival, when: datetime, actor: str = "vhtt.lan"
) -> ledger.Outcome:
    return ledger.receive(
        engine,
        oid,
        ledger.Issued(actor, f"r-{oid}-{when.isoformat()}", "test", when),
        figures=FIGURES,
        narrative="Báo cáo số 12/BC-UBND",
        evidence=None,
        arrival=arrival,
        grace_days=GRACE,
        calendar=CALENDAR,
    )


def accept(engine: Engine, oid: int, actor: str, when: datetime) -> ledger.Outcome:
    return ledger.accept(engine, oid, ledger.Issued(actor, f"a-{oid}-{actor}", "test", when))


@pytest.fixture
def q1(seeded: Engine) -> int:
    return obligation_id(seeded, "1c", "18712", "2024-Q1")


def test_a_paper_report_that_arrived_before_the_deadline_is_on_time_everywhere(
    seeded: Engine, q1: int, tmp_path: Path
) -> None:
    """Arrived 14/03, entered 20/03, accepted 21/03: on time for the 15/03 deadline."""
    receive(seeded, q1, paper(date(2024, 3, 14)), at(20))
    assert accept(seeded, q1, "vhtt.hung", at(21)).status == "accepted"

    found, _ = reporting.rates(
        seeded, directive=DIRECTIVE, on=ON, requirement="1c", period="2024-Q1"
    )
    assert (found[0].reported, found[0].on_time) == (1, 1)
    cells = {
        r.code: r.cells
        for r in reporting.matrix(seeded, directive=DIRECTIVE, requirement="1c", on=ON).rows
    }
    assert cells["18712"][0] == "accepted"
    report = reporting.consolidation(
        seeded, directive=DIRECTIVE, requirement="1c", period="2024-Q1", on=ON
    )
    line = next(u for u in report.units if u.code == "18712")
    assert (line.handed_in, line.on_time) == (date(2024, 3, 14), True)
    assert report.late == []

    sheet = openpyxl.load_workbook(write_consolidation_xlsx(report, tmp_path / "q1.xlsx"))["Đơn vị"]
    row = next(r for r in sheet.iter_rows(values_only=True) if r[1] == "18712")
    assert row[3:6] == ("Đã chấp nhận", datetime(2024, 3, 14), "Đúng hạn")


def test_the_event_records_the_arrival_and_the_log_rebuilds_its_day(
    seeded: Engine, q1: int
) -> None:
    scan = "https://vanban.camxuyen.example/den/12-BC-UBND.pdf"
    receive(seeded, q1, paper(date(2024, 3, 14), channel="he-thong-van-ban", scan=scan), at(20))
    with transaction(seeded, writes=False) as conn:
        event = conn.execute(
            sa.select(EVENT.c.actor, EVENT.c.at, EVENT.c.payload).where(
                EVENT.c.obligation_id == q1, EVENT.c.kind == "submitted"
            )
        ).one()
    assert (event.actor, event.at) == ("vhtt.lan", at(20))
    assert json.loads(event.payload)["received"] == {
        "channel": "he-thong-van-ban",
        "arrived": "2024-03-14",
        "number": "12/BC-UBND",
        "scan": scan,
        "reason": None,
    }
    with transaction(seeded) as conn:
        conn.execute(OBLIGATION.update().where(OBLIGATION.c.id == q1).values(handed_in_on=None))
    _, problems = ledger.verify(seeded)
    assert [p.obligation_id for p in problems] == [q1]
    assert "column handed_in_on is None but the log says datetime.date(2024, 3, 14)" in str(
        problems[0]
    )
    assert ledger.rebuild(seeded) == (count(seeded, "obligation"), 1)
    assert ledger.verify(seeded)[1] == []


def test_a_report_recorded_in_dondoc_arrives_the_local_day_it_is_recorded(
    seeded: Engine, q1: int
) -> None:
    """00:30 on 16/03 in Hà Tĩnh is still 15/03 in UTC: late, as before."""
    ledger.submit(
        seeded,
        q1,
        ledger.Issued("cb.18712", "s-q1", "test", datetime(2024, 3, 15, 17, 30, tzinfo=UTC)),
        figures=FIGURES,
        narrative="Báo cáo",
        evidence=None,
    )
    with transaction(seeded, writes=False) as conn:
        day = conn.execute(sa.select(OBLIGATION.c.handed_in_on).where(OBLIGATION.c.id == q1))
        assert day.scalar_one() == date(2024, 3, 16)
    assert accept(seeded, q1, "vhtt.lan", at(18)).status == "accepted_late"


def _nothing_written(engine: Engine, oid: int) -> None:
    with transaction(engine, writes=False) as conn:
        row = conn.execute(
            sa.select(OBLIGATION.c.status, OBLIGATION.c.version).where(OBLIGATION.c.id == oid)
        ).one()
    assert tuple(row) == ("open", 1)


def test_an_arrival_after_the_day_it_is_entered_is_refused(seeded: Engine, q1: int) -> None:
    """Entered at 08:00 on 20/03 in Hà Tĩnh (01:00 UTC): 21/03 has not come yet."""
    with pytest.raises(InputError) as refused:
        receive(seeded, q1, paper(date(2024, 3, 21)), at(20, hour=1))
    assert refused.value.vi == (
        "Ngày đến 21/03/2024 muộn hơn ngày vào sổ 20/03/2024: báo cáo chưa thể đến sau ngày "
        "ghi nhận."
    )
    assert "arrived" in str(refused.value) and "2024-03-21" in str(refused.value)
    _nothing_written(seeded, q1)


def test_an_arrival_before_the_period_starts_is_refused(seeded: Engine, q1: int) -> None:
    with transaction(seeded, writes=False) as conn:
        start = conn.execute(
            sa.select(OBLIGATION.c.period_start).where(OBLIGATION.c.id == q1)
        ).scalar_one()
    day_before = date.fromordinal(start.toordinal() - 1)
    with pytest.raises(InputError, match="is before the period starts") as refused:
        receive(seeded, q1, paper(day_before), at(20))
    assert refused.value.vi is not None and "trước ngày bắt đầu kỳ báo cáo" in refused.value.vi
    _nothing_written(seeded, q1)


def test_an_arrival_entered_long_afterwards_needs_a_reason(seeded: Engine, q1: int) -> None:
    """Arrived Thursday 07/03: five working days later is Thursday 14/03, so an entry on
    Friday 15/03 says why."""
    assert receive(seeded, q1, paper(date(2024, 3, 7)), at(14)).replayed is False
    other = obligation_id(seeded, "1c", "18673", "2024-Q1")
    with pytest.raises(InputError, match="say why") as refused:
        receive(seeded, other, paper(date(2024, 3, 7)), at(15))
    assert refused.value.field == "reason"
    _nothing_written(seeded, other)
    why = "Văn thư nghỉ phép, văn bản chưa được chuyển"
    receive(seeded, other, paper(date(2024, 3, 7), reason=why), at(15, hour=4))
    with transaction(seeded, writes=False) as conn:
        payload = conn.execute(
            sa.select(EVENT.c.payload).where(
                EVENT.c.obligation_id == other, EVENT.c.kind == "submitted"
            )
        ).scalar_one()
    assert json.loads(payload)["received"]["reason"] == why


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"number": "  "}, "number"),
        ({"number": "12/BC\nUBND"}, "number"),
        ({"scan": "file:///c:/scan.pdf"}, "scan"),
    ],
)
def test_a_bad_channel_number_or_scan_is_named(
    seeded: Engine, q1: int, changed: dict[str, Any], field: str
) -> None:
    with pytest.raises(InputError) as refused:
        receive(seeded, q1, paper(date(2024, 3, 14), **changed), at(20))
    assert refused.value.field == field
    _nothing_written(seeded, q1)


def test_whoever_entered_it_does_not_accept_it(seeded: Engine, q1: int) -> None:
    receive(seeded, q1, paper(date(2024, 3, 14)), at(20))
    with pytest.raises(Unauthorized, match=r"vhtt\.lan handed in this submission"):
        accept(seeded, q1, "vhtt.lan", at(21))
    assert accept(seeded, q1, "vhtt.hung", at(21)).status == "accepted"


def test_a_clerk_of_the_unit_cannot_enter_a_report_received(seeded: Engine, q1: int) -> None:
    with pytest.raises(Unauthorized, match="only the lead office 446-VHTT may receive"):
        receive(seeded, q1, paper(date(2024, 3, 14)), at(20), actor="cb.18712")
    _nothing_written(seeded, q1)
    with transaction(seeded, writes=False) as conn:
        denial = conn.execute(sa.text("SELECT actor, command FROM denial")).one()
    assert tuple(denial) == ("cb.18712", "receive")


def test_a_report_already_handed_in_is_not_entered_again(seeded: Engine, q1: int) -> None:
    receive(seeded, q1, paper(date(2024, 3, 14)), at(20))
    with pytest.raises(Refused, match="cannot receive: the obligation is submitted"):
        receive(seeded, q1, paper(date(2024, 3, 13)), at(20, hour=4), actor="vhtt.hung")


def test_upgrading_a_database_gives_its_reports_the_day_they_were_recorded(
    seeded: Engine, q1: int
) -> None:
    """Migration 0011 on a database of 0010: a report handed in at 00:30 on 16/03 in Hà Tĩnh
    arrived on 16/03, as the log says."""
    ledger.submit(
        seeded,
        q1,
        ledger.Issued("cb.18712", "s-q1", "test", datetime(2024, 3, 15, 17, 30, tzinfo=UTC)),
        figures=FIGURES,
        narrative="Báo cáo",
        evidence=None,
    )
    config = db._migrations()
    with seeded.connect() as conn:
        conn.execution_options(dondoc_writes=True)
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
        conn.commit()
    db.upgrade(seeded)
    with transaction(seeded, writes=False) as conn:
        day = conn.execute(sa.select(OBLIGATION.c.handed_in_on).where(OBLIGATION.c.id == q1))
        assert day.scalar_one() == date(2024, 3, 16)
    assert ledger.verify(seeded)[1] == []


def test_a_report_entered_is_neither_chased_nor_summed_up_as_late(seeded: Engine, q1: int) -> None:
    """On Thursday 21/03 the ladder's steps after the 15/03 deadline are due for the communes
    that sent nothing; 18712's paper report, entered on 20/03, takes it off both lists."""
    receive(seeded, q1, paper(date(2024, 3, 14)), at(20))
    day = date(2024, 3, 21)
    with transaction(seeded, writes=False) as conn:
        found = chase.plan(conn, day=day, calendar=CALENDAR, default_ladder=DEFAULT_LADDER)
        (summary,) = chase.summaries(conn, on=Day(day, day))
    chased = {item.obligation_id for item in found.items}
    assert obligation_id(seeded, "1c", "18673", "2024-Q1") in chased and q1 not in chased
    late = {unit.unit for unit in summary.late}
    assert "18673" in late and "18712" not in late

"""The second canonical directive, on today's map: Hà Tĩnh's 69 communes and wards report to the
province's Sở Nội vụ, which sums their accepted figures up for the Ministry of Home Affairs'
CCHC department, which sums the Sở's accepted report up in turn. Rates and totals at each
level are worked out by hand here. On every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import services.reports
from models.errors import InputError, Unauthorized
from models.files.directive import load_directive
from models.files.registry import read_actors
from models.rules.consolidation import FigureTotal, Rate, TargetCount
from models.rules.status import Day
from models.storage import ledger, publishing, reference, reporting
from models.storage.db import transaction
from models.storage.tables import OBLIGATION, REQUIREMENT
from services.settings import Settings
from tests.conftest import CALENDAR, ROOT, obligation_id
from tests.store.test_succession import SUCCESSION, load

DIRECTIVE = "ha-tinh-cchc-2026"
FILE = ROOT / "directives" / f"{DIRECTIVE}.yaml"
REGISTERS = ROOT / "directives" / "units"
# the national register of 2025, then the province's own offices and addresses
UNITS = (REGISTERS / "vietnam-2025.csv", REGISTERS / "ha-tinh-2025.csv")
ACTORS = ROOT / "directives" / "actors" / "ha-tinh-2025.csv"
TODAY = date(2026, 12, 7)
COMMUNES = 69  # of province 42: 60 xã and 9 phường


def at(day: int, hour: int = 3) -> datetime:
    """A moment of March 2026 (03:00 UTC is 10:00 in Hà Tĩnh)."""
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def on(day: int) -> Day:
    return Day(date(2026, 3, day), date(2026, 3, day + 3))


def registered_2025(engine: Engine, *before: Path) -> None:
    """The registers of 2025 imported after those `before`, and the province's actors."""
    load(engine, *before, *UNITS)
    with transaction(engine, writes=False) as conn:
        known = reference.unit_codes(conn)
    reference.import_actors(engine, read_actors(ACTORS, known))


def publish(engine: Engine, as_of: date) -> publishing.PublishReport:
    return publishing.publish(
        engine,
        load_directive(FILE),
        source=FILE.name,
        actor="admin.ht",
        as_of=as_of,
        now=datetime(2026, 1, 16, 2, 0, tzinfo=UTC),
        calendar=CALENDAR,
    )


def submit(engine: Engine, oid: int, actor: str, when: datetime, **values: int) -> None:
    ledger.submit(
        engine,
        oid,
        ledger.Issued(actor, f"s-{oid}-{when.isoformat()}", "test", when),
        figures=values,
        narrative=f"Báo cáo của {actor}",
        evidence=None,
    )


def accept(engine: Engine, actor: str, oid: int, when: datetime) -> None:
    ledger.accept(engine, oid, ledger.Issued(actor, f"accept-{oid}-{actor}", "test", when))


def test_the_directive_publishes_on_the_2025_register(engine: Engine) -> None:
    registered_2025(engine)
    report = publish(engine, TODAY)
    # by 07/12/2026 every period of the year has started: 12 months (1, 3), 4 quarters (2, 4, 5)
    assert report.new and report.opened.created == {
        (DIRECTIVE, "1"): 12 * COMMUNES,
        (DIRECTIVE, "2"): 4 * COMMUNES,
        (DIRECTIVE, "3"): 12,
        (DIRECTIVE, "4"): 4,
        (DIRECTIVE, "5"): 4,
    }
    owers = owers_by_requirement(engine)
    # `under: ["42"]` picks the province's communes and wards, not its Sở nor other provinces'
    assert len(owers["2"]) == COMMUNES
    assert {"18073", "18673", "18844"} <= owers["2"]
    assert not owers["2"] & {"42-SNV", "00004", "40000"}
    assert (owers["4"], owers["5"]) == ({"42-SNV"}, {"BNV-VCCHC"})


def test_beside_the_seed_districts_registers_only_todays_communes_owe(registered: Engine) -> None:
    """The 2024 communes of Cẩm Xuyên were under the district (446): those that closed on
    01/07/2025 owe nothing in 2026, those that continue a code under the province do."""
    registered_2025(registered, SUCCESSION)
    publish(registered, TODAY)
    owers = owers_by_requirement(registered)
    assert len(owers["2"]) == COMMUNES
    assert {"18673", "18682"} <= owers["2"]
    assert not owers["2"] & {"18679", "18694", "446", "42-SVHTTDL"}


def test_a_selector_under_a_unit_the_register_lacks_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    registered_2025(engine)
    path = tmp_path / "typo.yaml"
    path.write_text(FILE.read_text(encoding="utf-8").replace('under: ["42"]', 'under: ["43"]', 1))
    with pytest.raises(InputError) as refused:
        publishing.publish(
            engine,
            load_directive(path),
            source=path.name,
            actor="admin.ht",
            as_of=TODAY,
            now=datetime(2026, 1, 16, 2, 0, tzinfo=UTC),
            calendar=CALENDAR,
        )
    assert (refused.value.field, refused.value.value, refused.value.problem) == (
        "requirements[0].who.under[0]",
        "43",
        "names no unit in the register",
    )
    assert owers_by_requirement(engine) == {}


def owers_by_requirement(engine: Engine) -> dict[str, set[str]]:
    """The units that owe each requirement, in any period."""
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(
            sa.select(REQUIREMENT.c.code, OBLIGATION.c.unit_code).join(
                REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id
            )
        ).all()
    found: dict[str, set[str]] = {}
    for code, unit in rows:
        found.setdefault(code, set()).add(unit)
    return found


@pytest.fixture
def q1(engine: Engine) -> Engine:
    return first_quarter(engine)


def first_quarter(engine: Engine) -> Engine:
    """Quarter I of 2026 (15/12/2025–14/03/2026), the communes' report (2) due Tuesday 17/03:
    four of the 69 hand in, three are accepted, one of them late; 65 hand in nothing."""
    registered_2025(engine)
    publish(engine, date(2026, 3, 19))
    oid = {
        u: obligation_id(engine, "2", u, "2026-Q1") for u in ("18073", "18100", "18406", "18496")
    }
    # Phường Thành Sen, on time, accepted
    submit(engine, oid["18073"], "cb.18073", at(10), news_items=12, sessions=3, inspections=2)
    accept(engine, "snv.ha", oid["18073"], at(11))
    # Phường Trần Phú, on time, accepted
    submit(engine, oid["18100"], "cb.18100", at(16), news_items=8, sessions=2, inspections=1)
    accept(engine, "snv.tuan", oid["18100"], at(16, 8))
    # Xã Can Lộc, a day late (18/03), accepted late; no inspection (target: at least 1)
    submit(engine, oid["18406"], "cb.18406", at(18), news_items=5, sessions=1, inspections=0)
    accept(engine, "snv.ha", oid["18406"], at(18, 8))
    # Xã Hương Khê, on the due day, awaiting review: reported, not in the totals
    submit(engine, oid["18496"], "cb.18496", at(17), news_items=20, sessions=4, inspections=1)
    return engine


def test_the_departments_draft_sums_up_the_communes_accepted_reports(
    q1: Engine, tmp_path: Path
) -> None:
    # reported: 18073, 18100, 18406, 18496 = 4 of 69; on time (by 17/03): all but 18406 = 3;
    # overdue on 19/03: 69 - 4 = 65
    (rate,), targets = reporting.rates(
        q1, directive=DIRECTIVE, requirement="2", period="2026-Q1", on=on(19)
    )
    assert rate == Rate(
        "2", "2026-Q1", "", expected=69, reported=4, on_time=3, waived=0, overdue=65
    )
    assert (round(rate.reporting_rate or 0, 4), round(rate.on_time_rate or 0, 4)) == (
        0.058,  # 4 / 69 = 0.05797
        0.0435,  # 3 / 69 = 0.04348
    )
    # inspections of the three accepted reports: 2, 1, 0 → two reach "at least 1"
    assert targets == [TargetCount("2", "2026-Q1", "", "inspections", "ít nhất 1", 3, 2)]
    found = reporting.consolidation(
        q1, directive=DIRECTIVE, requirement="2", period="2026-Q1", on=on(19)
    )
    # accepted only: 18073 + 18100 + 18406 (18496 awaits review)
    assert [(t.key, t.total, t.count) for t in found.totals] == [
        ("news_items", 25.0, 3),  # 12 + 8 + 5
        ("sessions", 6.0, 3),  # 3 + 2 + 1
        ("inspections", 3.0, 3),  # 2 + 1 + 0
    ]
    assert [u.name for u in found.late] == ["Xã Can Lộc"]
    assert len(found.missing) == 65

    settings = Settings(
        database_url=q1.url.render_as_string(hide_password=False), outputs_dir=tmp_path
    )
    run = services.reports.consolidate(settings, day=date(2026, 3, 19), now=at(19, 0))
    # Thursday 19/03: the Sở's monthly reports (3) of January to March and its quarterly
    # report (4); the ministry's (5) waits for the Sở's deadline, Friday 20/03
    assert [(d.due.requirement, d.due.period) for d in run.drafted] == [
        ("3", "2026-01"),
        ("3", "2026-02"),
        ("3", "2026-03"),
        ("4", "2026-Q1"),
    ]
    text = run.drafted[-1].narrative
    assert "4/69 đơn vị đã báo cáo (5,8%), 3 đúng hạn (4,3%)" in text
    assert (
        "Tổng số (các báo cáo đã chấp nhận): Số tin, bài tuyên truyền CCHC 25 tin/bài; "
        "Số buổi tuyên truyền trực tiếp 6 buổi; Số cuộc tự kiểm tra công tác CCHC 3 cuộc."
    ) in text
    assert "Nộp trễ hạn (1): Xã Can Lộc." in text
    assert "Chưa báo cáo (65):" in text
    assert "Chưa đạt chỉ tiêu (1): Xã Can Lộc." in text


def test_the_ministrys_draft_sums_up_the_departments_accepted_report(
    q1: Engine, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=q1.url.render_as_string(hide_password=False), outputs_dir=tmp_path
    )
    own = obligation_id(q1, "4", "42-SNV", "2026-Q1")
    ministry = obligation_id(q1, "5", "BNV-VCCHC", "2026-Q1")
    (sums,) = [
        d
        for d in services.reports.consolidate(settings, day=date(2026, 3, 19), now=at(19)).drafted
        if d.due.obligation_id == own
    ]
    # the Sở hands in its drafted report, with the province's totals, on Friday 20/03
    totals = {t.key: int(t.total or 0) for t in sums.reports[0].totals}
    assert totals == {"news_items": 25, "sessions": 6, "inspections": 3}
    ledger.submit(
        q1,
        own,
        ledger.Issued("snv.ha", "s4", "test", at(20)),
        figures=totals,
        narrative=sums.narrative,
        evidence=None,
    )
    # the Sở's own report is decided by the ministry's department it is sent to
    with pytest.raises(Unauthorized):
        accept(q1, "snv.tuan", own, at(20, 8))
    # nothing to sum up at the ministry until the Sở's report is due and past
    assert [d.requirement for d in reporting.drafts_due(q1, day=date(2026, 3, 20))] == ["3"] * 3
    accept(q1, "vcchc.binh", own, at(23))

    # Monday 23/03: the ministry's draft of Q1 sums up the Sở's accepted report
    assert reporting.drafts_due(q1, day=date(2026, 3, 23))[-1] == reporting.DraftDue(
        ministry, DIRECTIVE, "5", "2026-Q1", ("4",)
    )
    found = reporting.consolidation(
        q1, directive=DIRECTIVE, requirement="4", period="2026-Q1", on=on(23)
    )
    # one province expected, reported on time (20/03, due 20/03), accepted: 1/1, 100 %
    assert found.rate == Rate("4", "2026-Q1", "", 1, 1, 1, 0, 0)
    assert (found.rate.reporting_rate, found.rate.on_time_rate) == (1.0, 1.0)
    # the province's totals, as the Sở's accepted report gives them
    assert found.totals == [
        FigureTotal("news_items", "Số tin, bài tuyên truyền CCHC", "tin/bài", 25.0, 1, None),
        FigureTotal("sessions", "Số buổi tuyên truyền trực tiếp", "buổi", 6.0, 1, None),
        FigureTotal(
            "inspections", "Số cuộc tự kiểm tra công tác CCHC", "cuộc", 3.0, 1, "ít nhất 1"
        ),
    ]
    run = services.reports.consolidate(settings, day=date(2026, 3, 23), now=at(23, 8))
    (drafted,) = [d for d in run.drafted if d.due.requirement == "5"]
    assert "1/1 đơn vị đã báo cáo (100,0%), 1 đúng hạn (100,0%)" in drafted.narrative
    assert (
        "Số tin, bài tuyên truyền CCHC 25 tin/bài; Số buổi tuyên truyền trực tiếp 6 buổi; "
        "Số cuộc tự kiểm tra công tác CCHC 3 cuộc."
    ) in drafted.narrative
    assert services.reports.drafts(settings, [ministry])[ministry].narrative == drafted.narrative

    # the ministry's own consolidated report goes to the Ministry's leadership: the Sở, lead
    # office of the directive, does not decide on it
    ledger.submit(
        q1,
        ministry,
        ledger.Issued("vcchc.thu", "s5", "test", at(24)),
        figures={},
        narrative=drafted.narrative,
        evidence=None,
    )
    with pytest.raises(Unauthorized) as refused:
        accept(q1, "snv.ha", ministry, at(24, 8))
    assert "báo cáo tổng hợp của BNV-VCCHC" in (refused.value.vi or "")
    accept(q1, "vp.bnv.khoa", ministry, at(25))

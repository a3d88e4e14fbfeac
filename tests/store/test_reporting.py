"""Consolidation over a seeded history whose rates and totals are worked out by hand here: on
time, late, returned and resubmitted, returned and left, waived, awaiting review, a commune
closed mid-year with a successor, and a target missed. On every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

import services.reports
from models.errors import InputError
from models.rules.consolidation import Rate, TargetCount
from models.rules.status import Day
from models.storage import ledger, reporting
from services.settings import Settings
from tests.conftest import obligation_id
from tests.store.test_lifecycle import close_nam_phuc_thang

# 20/03/2024: the communes' Q1 report (1c) was due on Friday 15/03
ON = Day(date(2024, 3, 20), date(2024, 3, 25))
Q1_COMMUNES = 21


def at(day: int, month: int = 3) -> datetime:
    return datetime(2024, month, day, 3, 0, tzinfo=UTC)  # 10:00 in Hà Tĩnh


def figures(**values: int) -> dict[str, Any]:
    base = dict.fromkeys(
        ("training_classes", "seminars", "news_items", "leaflets", "documents", "other_forms"), 0
    )
    return base | values


def submit(engine: Engine, oid: int, actor: str, when: datetime, **values: int) -> None:
    ledger.submit(
        engine,
        oid,
        ledger.Issued(actor, f"s-{oid}-{when.isoformat()}", "test", when),
        figures=figures(**values),
        narrative=f"Báo cáo của {actor}",
        evidence=None,
    )


def decide(engine: Engine, command: str, oid: int, when: datetime, **kw: Any) -> None:
    by = ledger.Issued("vhtt.lan", f"{command}-{oid}-{when.isoformat()}", "test", when)
    getattr(ledger, command)(engine, oid, by, **kw)


@pytest.fixture
def history(seeded: Engine) -> Engine:
    q1 = {
        code: obligation_id(seeded, "1c", code, "2024-Q1")
        for code in ("18712", "18673", "18679", "18682", "18694", "18697")
    }
    # on time and accepted
    submit(seeded, q1["18712"], "cb.18712", at(10), training_classes=2, leaflets=300)
    decide(seeded, "accept", q1["18712"], at(11))
    # late (after 15/03) and accepted late
    submit(seeded, q1["18673"], "cb.18673", at(18), training_classes=1, leaflets=50, seminars=3)
    decide(seeded, "accept", q1["18673"], at(19))
    # returned, resubmitted by the due date, accepted: on time, with the second figures
    submit(seeded, q1["18679"], "cb.18679", at(12), training_classes=9)
    decide(seeded, "return_", q1["18679"], at(13), reason="Thiếu số tờ rơi")
    submit(seeded, q1["18679"], "cb.18679", at(14), training_classes=4, leaflets=120)
    decide(seeded, "accept", q1["18679"], at(15))
    # returned and never resubmitted: not reported, overdue
    submit(seeded, q1["18682"], "cb.18682", at(14), training_classes=5)
    decide(seeded, "return_", q1["18682"], at(15), reason="Sai số liệu")
    # waived: neither expected nor missing
    decide(seeded, "waive", q1["18694"], at(5), reason="Sáp nhập")
    # handed in at 00:30 on 16/03 in Hà Tĩnh (still 15/03 in UTC), awaiting review:
    # reported late, and not in the totals
    submit(
        seeded,
        q1["18697"],
        "cb.18697",
        datetime(2024, 3, 15, 17, 30, tzinfo=UTC),
        training_classes=7,
    )
    # the radio programme of January (4a, target: at least 1): none was aired
    jan = obligation_id(seeded, "4a", "446-TTVHTT", "2024-01")
    ledger.submit(
        seeded,
        jan,
        ledger.Issued("ttvhtt.minh", "p1", "test", at(2, 2)),
        figures={"programmes": 0},
        narrative=None,
        evidence=None,
    )
    decide(seeded, "accept", jan, at(3, 2))
    feb = obligation_id(seeded, "4a", "446-TTVHTT", "2024-02")
    ledger.submit(
        seeded,
        feb,
        ledger.Issued("ttvhtt.minh", "p2", "test", at(4)),
        figures={"programmes": 2},
        narrative=None,
        evidence=None,
    )
    decide(seeded, "accept", feb, at(5))
    return seeded


def test_rates_of_the_communes_q1_report(history: Engine) -> None:
    found, targets = reporting.rates(
        history, directive="cam-xuyen-cchc-2024", on=ON, requirement="1c", period="2024-Q1"
    )
    # 21 communes, one waived: 20 expected; 18712, 18673, 18679 and 18697 reported, of which
    # 18673 and 18697 late; overdue: 18682 (returned) and the 15 that sent nothing
    assert found == [Rate("1c", "2024-Q1", "", 20, 4, 2, 1, 16)]
    assert found[0].reporting_rate == pytest.approx(0.20)
    assert found[0].on_time_rate == pytest.approx(0.10)
    assert targets == []


def test_rates_by_kind_and_tag_add_up(history: Engine) -> None:
    by_kind, _ = reporting.rates(
        history,
        directive="cam-xuyen-cchc-2024",
        on=ON,
        requirement="1c",
        period="2024-Q1",
        by="kind",
    )
    # towns: 18673 (late) and 18676 (nothing); the rest are communes (xã)
    assert by_kind == [
        Rate("1c", "2024-Q1", "thi_tran", 2, 1, 0, 0, 1),
        Rate("1c", "2024-Q1", "xa", 18, 3, 2, 1, 15),
    ]
    by_tag, _ = reporting.rates(
        history,
        directive="cam-xuyen-cchc-2024",
        on=ON,
        requirement="1c",
        period="2024-Q1",
        by="tag",
    )
    assert by_tag == [Rate("1c", "2024-Q1", "commune", 20, 4, 2, 1, 16)]


def test_a_target_missed_is_counted(history: Engine) -> None:
    found, targets = reporting.rates(
        history, directive="cam-xuyen-cchc-2024", on=ON, requirement="4a"
    )
    assert [(r.period, r.expected, r.reported, r.on_time) for r in found[:3]] == [
        ("2024-01", 1, 1, 1),  # due 3 working days after January: 05/02
        ("2024-02", 1, 1, 1),
        ("2024-03", 1, 0, 0),
    ]
    assert targets == [
        TargetCount("4a", "2024-01", "", "programmes", "ít nhất 1", 1, 0),
        TargetCount("4a", "2024-02", "", "programmes", "ít nhất 1", 1, 1),
    ]


def test_the_consolidated_report(history: Engine) -> None:
    report = reporting.consolidation(
        history, directive="cam-xuyen-cchc-2024", requirement="1c", period="2024-Q1", on=ON
    )
    assert (report.period.words, report.period.due) == ("Quý I/2024", date(2024, 3, 15))
    assert report.rate == Rate("1c", "2024-Q1", "", 20, 4, 2, 1, 16)
    totals = {t.key: (t.total, t.count) for t in report.totals}
    # accepted only: 18712 (2, 300), 18673 (1, 50, 3 seminars), 18679's second report (4, 120)
    assert totals["training_classes"] == (7.0, 3)
    assert totals["leaflets"] == (470.0, 3)
    assert totals["seminars"] == (3.0, 3)
    assert [u.name for u in report.units][:3] == [
        "Thị trấn Cẩm Xuyên",
        "Thị trấn Thiên Cầm",
        "Xã Cẩm Duệ",
    ]
    assert len(report.units) == Q1_COMMUNES
    assert [u.code for u in report.late] == ["18673", "18697"]
    assert [u.code for u in report.waived] == ["18694"]
    assert len(report.missing) == 16 and "18682" in {u.code for u in report.missing}
    by_code = {u.code: u for u in report.units}
    assert by_code["18697"].status == "submitted" and by_code["18697"].on_time is False
    assert by_code["18697"].handed_in == date(2024, 3, 16)
    assert by_code["18697"].figures == {}  # not accepted yet: not in the totals
    assert by_code["18679"].figures["training_classes"] == 4
    assert by_code["18679"].handed_in == date(2024, 3, 14)
    assert report.lead.name.startswith("Phòng Văn hóa")


def test_the_matrix_shows_each_commune_and_period(history: Engine) -> None:
    found = reporting.matrix(history, directive="cam-xuyen-cchc-2024", requirement="1c", on=ON)
    assert [p.key for p in found.periods] == [
        "2024-Q1",
        "2024-Q2",
        "2024-H1",
        "2024-Q3",
        "2024-Q4",
        "2024-H2",
        "2024",
    ]
    cells = {r.code: r.cells for r in found.rows}
    assert cells["18712"][0] == "accepted" and cells["18673"][0] == "accepted_late"
    assert cells["18682"][0] == "overdue" and cells["18694"][0] == "waived"
    assert cells["18697"][0] == "submitted" and cells["18676"][:2] == ("overdue", "open")
    assert found.rows[0].name == "Thị trấn Cẩm Xuyên"


def test_a_commune_closed_mid_year_is_counted_once_on_each_side(history: Engine) -> None:
    close_nam_phuc_thang(history, "99001")
    day = Day(date(2024, 12, 31), date(2024, 12, 31))
    found, _ = reporting.rates(history, directive="cam-xuyen-cchc-2024", on=day, requirement="1c")
    expected = {r.period: r.expected for r in found}
    # Q2 ended (14/06) before the closure: Nam Phúc Thăng owes it; Q3 is its successor's
    assert expected["2024-Q2"] == expected["2024-Q3"] == Q1_COMMUNES
    rows = {
        r.code: r.cells
        for r in reporting.matrix(
            history, directive="cam-xuyen-cchc-2024", requirement="1c", on=day
        ).rows
    }
    assert rows["18712"][1] == "overdue" and rows["18712"][3] == "transferred"
    assert rows["99001"][1] is None and rows["99001"][3] == "overdue"


@pytest.mark.parametrize(
    ("kwargs", "field", "value"),
    [
        ({"directive": "nope"}, "directive", "nope"),
        ({"requirement": "9z"}, "requirement", "9z"),
        ({"requirement": "1c", "period": "2031-Q1"}, "period", "2031-Q1"),
        ({"requirement": "1a"}, "requirement", "1a"),
        ({"period": "standing"}, "period", "standing"),
    ],
)
def test_unknown_codes_are_named(
    seeded: Engine, kwargs: dict[str, str], field: str, value: str
) -> None:
    with pytest.raises(InputError) as refused:
        reporting.rates(seeded, on=ON, **({"directive": "cam-xuyen-cchc-2024"} | kwargs))
    assert (refused.value.field, refused.value.value) == (field, value)


def test_a_draft_is_due_once_the_units_deadline_has_passed(seeded: Engine) -> None:
    own = obligation_id(seeded, "5", "446-VHTT", "2024-Q1")
    # the units' Q1 reports (1c, 4c) are due on Friday 15/03: nothing to draft that day
    assert reporting.drafts_due(seeded, day=date(2024, 3, 15)) == []
    assert reporting.drafts_due(seeded, day=date(2024, 3, 16)) == [
        reporting.DraftDue(own, "cam-xuyen-cchc-2024", "5", "2024-Q1", ("1c", "4c"))
    ]
    # handed in: no more drafts for it
    ledger.submit(
        seeded,
        own,
        ledger.Issued("vhtt.lan", "s5", "test", at(18)),
        figures={},
        narrative="Tổng hợp quý I",
        evidence=None,
    )
    assert reporting.drafts_due(seeded, day=date(2024, 3, 18)) == []


def test_a_draft_is_rewritten_not_added(seeded: Engine) -> None:
    own = obligation_id(seeded, "5", "446-VHTT", "2024-Q1")
    for day, text in ((date(2024, 3, 18), "bản 1"), (date(2024, 3, 19), "bản 2")):
        reporting.write_draft(
            seeded, own, narrative=text, evidence=None, files=["a.xlsx"], as_of=day, now=at(day.day)
        )
    (kept,) = reporting.drafts(seeded, [own]).values()
    assert (kept.narrative, kept.as_of, kept.files) == ("bản 2", date(2024, 3, 19), ("a.xlsx",))


def test_the_consolidation_run_writes_the_reports_and_drafts_the_lead_offices(
    history: Engine, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=history.url.render_as_string(hide_password=False),
        outputs_dir=tmp_path,
        outputs_url="http://127.0.0.1:4280/",
    )
    # Saturday 16/03/2024: no run on a day off
    assert services.reports.consolidate(settings, day=date(2024, 3, 16), now=at(16)).drafted == []
    run = services.reports.consolidate(settings, day=ON.day, now=at(20))
    own = obligation_id(history, "5", "446-VHTT", "2024-Q1")
    (drafted,) = run.drafted
    assert drafted.due.obligation_id == own
    assert [r.requirement for r in drafted.reports] == ["1c", "4c"]
    folder = tmp_path / "cam-xuyen-cchc-2024" / "2024-Q1"
    written = sorted(p.name for p in folder.iterdir())
    assert written == sorted(Path(f).name for f in drafted.files)
    assert [Path(f).suffix for f in drafted.files] == [".xlsx", ".docx", ".html"] * 2
    # the draft: the communes' rates and totals, who was late and who sent nothing
    text = drafted.narrative
    assert text.startswith("Tổng hợp Quý I/2024, số liệu đến ngày 20/03/2024.")
    assert "4/20 đơn vị đã báo cáo (20,0%), 2 đúng hạn (10,0%); 1 đơn vị được miễn" in text
    assert "Số lớp tập huấn 7 lớp" in text
    assert "Nộp trễ hạn (2): Thị trấn Cẩm Xuyên, Xã Cẩm Quang." in text
    assert "Chưa báo cáo (16):" in text
    kept = services.reports.drafts(settings, [own])[own]
    assert (kept.narrative, kept.as_of) == (text, ON.day)
    assert kept.evidence == "http://127.0.0.1:4280/cam-xuyen-cchc-2024/2024-Q1/"


def test_the_consolidated_report_reads_in_a_few_statements(history: Engine) -> None:
    """What a report reads beside its lines and totals does not grow with them, and on
    PostgreSQL each statement is a round trip: the directive with its revisions, the period,
    the rate, the lines, the totals, and the offices it names with their successors, together
    (1c sets no target: nothing is read for targets)."""
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    event.listen(history, "before_cursor_execute", count)
    try:
        reporting.consolidation(
            history, directive="cam-xuyen-cchc-2024", requirement="1c", period="2024-Q1", on=ON
        )
    finally:
        event.remove(history, "before_cursor_execute", count)
    assert len(sent) <= 6, sent

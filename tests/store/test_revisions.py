"""A published directive amended and withdrawn by later dispatches, from a day: what is still
owed and due from then follows the new text by events naming the dispatch, handed-in and
decided work keeps what it was judged under, each unit affected is told once, and the log
still verifies. Due dates worked by hand on Vietnam's working days. On every backend."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import InputError, Refused
from models.files.directive import DirectiveSpec, parse_directive
from models.files.registry import read_units
from models.files.textfiles import read_yaml
from models.rules.ladder import DEFAULT_LADDER
from models.rules.status import Day
from models.storage import ledger, publishing, reference, reporting, review, revisions
from models.storage.chase import plan
from models.storage.db import transaction
from models.storage.tables import OBLIGATION, REQUIREMENT
from notifications.revision import revision_renderer
from tests.conftest import CALENDAR, ROOT, SEED, count, obligation_id, publish_seed

DISPATCH = revisions.Dispatch("125/UBND-VHTT", date(2024, 5, 27), date(2024, 6, 1))
AMENDED_AT = datetime(2024, 5, 27, 3, 0, tzinfo=UTC)
COMMUNES = 21
# the departments tagged cchc-content, who owe 2b
CONTENT_UNITS = {"446-VHTT", "446-NV", "446-TP", "446-VP", "446-TCKH"}


def seed_text(
    change: Callable[[dict[str, Any]], None], source: str = "amended.yaml"
) -> DirectiveSpec:
    """The seed directive's text, changed."""
    data = read_yaml(SEED)
    change(data)
    return parse_directive(data, source)


def requirement(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in data["requirements"] if r["code"] == code)


def later(data: dict[str, Any]) -> None:
    """1c's reports due on the 21st of the period's last month instead of the 15th (4c, whose
    schedule the file writes as 1c's, keeps the 15th)."""
    req = requirement(data, "1c")
    req["schedule"] = [{**s, "due": {**s["due"], "day": 21}} for s in req["schedule"]]


def amend(
    engine: Engine,
    spec: DirectiveSpec,
    dispatch: revisions.Dispatch = DISPATCH,
    *,
    as_of: date = date(2024, 5, 27),
    dry_run: bool = False,
) -> revisions.RevisionReport:
    return revisions.amend(
        engine,
        spec,
        dispatch,
        source="amended.yaml",
        actor="admin.cx",
        as_of=as_of,
        now=AMENDED_AT,
        calendar=CALENDAR,
        render=revision_renderer(),
        dry_run=dry_run,
    )


def withdraw(
    engine: Engine, dispatch: revisions.Dispatch, code: str = "cam-xuyen-cchc-2024"
) -> revisions.RevisionReport:
    return revisions.withdraw(
        engine,
        code,
        dispatch,
        source="command line",
        actor="admin.cx",
        as_of=dispatch.dated,
        now=AMENDED_AT,
        calendar=CALENDAR,
        render=revision_renderer(),
    )


# what a commune hands in for 1c
REPORT = {
    "training_classes": 1,
    "seminars": 0,
    "news_items": 3,
    "leaflets": 100,
    "documents": 2,
    "other_forms": 0,
}


def submit(engine: Engine, oid: int, actor: str, **figures: Any) -> None:
    ledger.submit(
        engine,
        oid,
        ledger.Issued(actor, f"s-{oid}", "test", datetime(2024, 5, 20, 3, 0, tzinfo=UTC)),
        figures=figures,
        narrative="Đã thực hiện",
        evidence=None,
    )


def dues(engine: Engine, requirement: str, unit: str) -> dict[str, tuple[str, date | None]]:
    """Each period of one unit's obligations of a requirement: its status and effective due."""
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(
            sa.select(OBLIGATION.c.period_key, OBLIGATION.c.status, OBLIGATION.c.effective_due)
            .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
            .where(REQUIREMENT.c.code == requirement, OBLIGATION.c.unit_code == unit)
        )
        return {key: (status, due) for key, status, due in rows}


def events(engine: Engine, oid: int) -> list[tuple[str, dict[str, Any]]]:
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(
            sa.text("SELECT kind, payload FROM event WHERE obligation_id = :o ORDER BY version"),
            {"o": oid},
        )
        return [(kind, json.loads(payload)) for kind, payload in rows]


def letters(engine: Engine) -> list[tuple[str, str, str]]:
    """The outbox: (recipient, subject, text) of each message."""
    with transaction(engine, writes=False) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT recipient, subject, text FROM message ORDER BY 1")
            )
        ]


def clean_log(engine: Engine) -> None:
    checked, problems = ledger.verify(engine)
    assert checked > 0 and problems == []
    assert ledger.rebuild(engine)[1] == 0


def test_a_moved_due_rule_moves_what_is_still_owed_from_its_day(seeded: Engine) -> None:

    handed_in = obligation_id(seeded, "1c", "18676", "2024-Q2")
    submit(seeded, handed_in, "cb.18676", **REPORT)
    # Xã Nam Phúc Thăng was given until 30/09 for its third quarter, later than the new date
    extended = obligation_id(seeded, "1c", "18712", "2024-Q3")
    ledger.extend(
        seeded,
        extended,
        ledger.Issued("vhtt.lan", "x-1", "test", AMENDED_AT),
        due=date(2024, 9, 30),
        reason="Bão",
    )
    before = dues(seeded, "1c", "18673")
    # 15/06/2024 is a Saturday, 15/09 and 15/12 Sundays: the next working day
    assert {k: before[k][1] for k in ("2024-Q1", "2024-Q2", "2024-H1", "2024-Q3", "2024-Q4")} == {
        "2024-Q1": date(2024, 3, 15),
        "2024-Q2": date(2024, 6, 17),
        "2024-H1": date(2024, 6, 17),
        "2024-Q3": date(2024, 9, 16),
        "2024-Q4": date(2024, 12, 16),
    }

    report = amend(seeded, seed_text(later))

    after = dues(seeded, "1c", "18673")
    # due before 01/06 stays; 21/06/2024 is a Friday; 21/09 and 21/12 Saturdays → Monday
    assert {k: after[k][1] for k in before} == {
        "2024-Q1": date(2024, 3, 15),
        "2024-Q2": date(2024, 6, 21),
        "2024-H1": date(2024, 6, 21),
        "2024-Q3": date(2024, 9, 23),
        "2024-Q4": date(2024, 12, 23),
        "2024-H2": date(2024, 12, 23),
        "2024": date(2024, 12, 23),
    }
    # what 18676 handed in keeps the date it was judged under; its later periods move
    assert dues(seeded, "1c", "18676")["2024-Q2"] == ("submitted", date(2024, 6, 17))
    assert dues(seeded, "1c", "18676")["2024-Q3"] == ("open", date(2024, 9, 23))
    assert [kind for kind, _ in events(seeded, handed_in)] == ["created", "submitted"]
    assert dues(seeded, "1c", "18712")["2024-Q3"] == ("open", date(2024, 9, 30))
    assert "Quý III" not in next(
        t for to, _, t in letters(seeded) if to == "ubnd.18712@camxuyen.example"
    )
    kind, payload = events(seeded, obligation_id(seeded, "1c", "18673", "2024-Q3"))[-1]
    assert kind == "revised"
    assert payload["dispatch"] == "125/UBND-VHTT" and payload["from"] == "2024-06-01"
    assert (payload["due"], payload["effective_due"]) == ("2024-09-23", "2024-09-23")
    assert report.requirements == [{"requirement": "1c", "change": "schedule"}]
    # each commune told once, in one letter, in Vietnamese with dd/mm/yyyy dates
    told = letters(seeded)
    assert len(told) == len({to for to, _, _ in told}) == COMMUNES == report.letters
    text = next(t for to, _, t in told if to == "ubnd.18673@camxuyen.example")
    assert "Văn bản số 125/UBND-VHTT ngày 27/05/2024 sửa đổi chỉ thị cam-xuyen-cchc-2024" in text
    assert "áp dụng từ ngày 01/06/2024" in text
    # a line per period, by due date
    assert text.split("\n\n")[2].splitlines()[1:] == [
        "- Quý II/2024: hạn nộp 17/06/2024 → 21/06/2024",
        "- 6 tháng đầu năm 2024: hạn nộp 17/06/2024 → 21/06/2024",
        "- Quý III/2024: hạn nộp 16/09/2024 → 23/09/2024",
        "- Quý IV/2024: hạn nộp 16/12/2024 → 23/12/2024",
        "- 6 tháng cuối năm 2024: hạn nộp 16/12/2024 → 23/12/2024",
        "- Năm 2024: hạn nộp 16/12/2024 → 23/12/2024",
    ]
    assert "Quý I/2024" not in text
    clean_log(seeded)


def test_a_unit_added_owes_what_is_due_from_the_day_and_alone_is_told(seeded: Engine) -> None:
    # 4a (a programme a month, reported 3 working days after the month) asked of 446-TTHCC too
    def added(data: dict[str, Any]) -> None:
        requirement(data, "4a")["who"] = {"units": ["446-TTVHTT", "446-TTHCC"]}

    unchanged = dues(seeded, "4a", "446-TTVHTT")
    report = amend(seeded, seed_text(added))

    # April ends on Reunification Day, with 01/05: its report fell due in early May, before
    # the dispatch; May ends on a Friday: Mon 03, Tue 04, Wed 05/06. National Day 02/09 and
    # 03/09/2024 are days off: August's is due Friday 06/09; 01/01/2025 too: Monday 06/01/2025
    assert {k: v[1] for k, v in dues(seeded, "4a", "446-TTHCC").items()} == {
        "2024-05": date(2024, 6, 5),
        "2024-06": date(2024, 7, 3),
        "2024-07": date(2024, 8, 5),
        "2024-08": date(2024, 9, 6),
        "2024-09": date(2024, 10, 3),
        "2024-10": date(2024, 11, 5),
        "2024-11": date(2024, 12, 4),
        "2024-12": date(2025, 1, 6),
    }
    assert dues(seeded, "4a", "446-TTVHTT") == unchanged
    assert report.requirements == [{"requirement": "4a", "change": "who"}]
    assert {c.kind for c in report.changes} == {"created"}
    told = letters(seeded)
    assert [to for to, _, _ in told] == ["tthcc@camxuyen.example"]
    assert "\n- Tháng 05/2024: phải thực hiện, hạn nộp 05/06/2024\n" in told[0][2]
    # the daily opening creates nothing more: what was due before the day is not owed
    opened = publishing.open_periods(
        seeded, as_of=date(2024, 12, 31), now=AMENDED_AT, calendar=CALENDAR
    )
    assert opened.total == 0
    clean_log(seeded)


def test_a_requirement_dropped_is_closed_from_its_day_naming_the_dispatch(seeded: Engine) -> None:
    def dropped(data: dict[str, Any]) -> None:
        data["requirements"] = [r for r in data["requirements"] if r["code"] != "2b"]

    handed_in = obligation_id(seeded, "2b", "446-NV", "2024-07")
    submit(seeded, handed_in, "noivu.nam", items=2)
    report = amend(seeded, seed_text(dropped))

    # 2b is due on the 20th: May's (Monday 20/05/2024) was due before the dispatch applies
    nv = dues(seeded, "2b", "446-NV")
    assert nv["2024-05"] == ("open", date(2024, 5, 20))
    assert nv["2024-06"] == ("closed", date(2024, 6, 20))
    assert nv["2024-07"] == ("submitted", date(2024, 7, 22))  # 20/07 a Saturday
    assert {status for key, (status, _) in nv.items() if key >= "2024-08"} == {"closed"}
    kind, payload = events(seeded, obligation_id(seeded, "2b", "446-TP", "2024-06"))[-1]
    assert kind == "closed"
    assert payload["reason"] == "requirement 2b dropped by dispatch 125/UBND-VHTT"
    assert (payload["dispatch"], payload["revision"]) == ("125/UBND-VHTT", 1)
    assert report.requirements == [{"requirement": "2b", "change": "dropped"}]
    told = {to: text for to, _, text in letters(seeded)}
    assert (
        "\n- Tháng 06/2024 (hạn 20/06/2024): không còn phải thực hiện\n"
        in told["noivu@camxuyen.example"]
    )
    assert sorted(to for to, _, _ in letters(seeded)) == [
        f"{name}@camxuyen.example" for name in ("noivu", "tckh", "tuphap", "vanphong", "vhtt")
    ]
    # rates stop counting it from the day; May still counts all five
    found, _ = reporting.rates(
        seeded,
        directive="cam-xuyen-cchc-2024",
        requirement="2b",
        on=Day(date(2024, 12, 31), date(2024, 12, 31)),
    )
    expected = {r.period: r.expected for r in found}
    assert (expected["2024-05"], expected["2024-06"], expected["2024-07"]) == (5, 0, 1)
    assert (
        publishing.open_periods(
            seeded, as_of=date(2024, 12, 31), now=AMENDED_AT, calendar=CALENDAR
        ).total
        == 0
    )
    clean_log(seeded)


def test_a_target_raised_applies_to_what_is_not_handed_in(seeded: Engine) -> None:
    def raised(data: dict[str, Any]) -> None:
        requirement(data, "2b")["what"]["figures"][0]["target"] = {"at_least": 3}

    handed_in = obligation_id(seeded, "2b", "446-NV", "2024-07")
    submit(seeded, handed_in, "noivu.nam", items=2)
    report = amend(seeded, seed_text(raised))

    kind, payload = events(seeded, obligation_id(seeded, "2b", "446-TP", "2024-06"))[-1]
    assert kind == "revised"
    assert payload["changes"] == [
        "mục tiêu của chỉ tiêu «Số tin, bài, tài liệu cung cấp»: ít nhất 1 → ít nhất 3"
    ]
    assert payload["due"] == "2024-06-20"  # its due date stays
    assert [k for k, _ in events(seeded, handed_in)] == ["created", "submitted"]
    assert [k for k, _ in events(seeded, obligation_id(seeded, "2b", "446-TP", "2024-05"))] == [
        "created"
    ]
    assert report.requirements == [{"requirement": "2b", "change": "what"}]
    assert len(letters(seeded)) == len(CONTENT_UNITS) == report.letters
    # two items each: July's, handed in before, meets the target it was handed in for;
    # August's, handed in after, falls short of the raised one
    later_one = obligation_id(seeded, "2b", "446-TP", "2024-08")
    submit(seeded, later_one, "tuphap.ha", items=2)
    for oid in (handed_in, later_one):
        ledger.accept(seeded, oid, ledger.Issued("vhtt.lan", f"a-{oid}", "test", AMENDED_AT))
    _, targets = reporting.rates(
        seeded,
        directive="cam-xuyen-cchc-2024",
        requirement="2b",
        on=Day(date(2024, 12, 31), date(2024, 12, 31)),
    )
    assert {(t.period, t.accepted, t.met) for t in targets} == {
        ("2024-07", 1, 1),
        ("2024-08", 1, 0),
    }
    clean_log(seeded)


def test_a_dry_run_shows_the_changes_and_writes_nothing(seeded: Engine) -> None:

    tables = ("event", "message", "revision", "obligation", "requirement")
    before = [count(seeded, t) for t in tables]
    report = amend(seeded, seed_text(later), dry_run=True)
    assert not report.written and report.letters == COMMUNES
    assert len([c for c in report.changes if c.kind == "due"]) == COMMUNES * 6
    assert [count(seeded, t) for t in tables] == before


def test_a_withdrawal_closes_what_is_owed_from_its_day_and_keeps_what_was_handed_in(
    seeded: Engine,
) -> None:
    handed_in = obligation_id(seeded, "1c", "18676", "2024-Q3")
    submit(seeded, handed_in, "cb.18676", **REPORT)
    dispatch = revisions.Dispatch("210/UBND-VHTT", date(2024, 6, 25), date(2024, 7, 1))
    with transaction(seeded, writes=False) as conn:
        chased = plan(conn, day=date(2024, 6, 20), calendar=CALENDAR, default_ladder=DEFAULT_LADDER)
    assert {item.requirement for item in chased.items} >= {"1c"}
    report = withdraw(seeded, dispatch)

    # Q2 fell due on 17/06, before the withdrawal: still owed, still counted
    assert dues(seeded, "1c", "18673")["2024-Q2"] == ("open", date(2024, 6, 17))
    assert dues(seeded, "1c", "18673")["2024-Q3"] == ("closed", date(2024, 9, 16))
    assert dues(seeded, "1c", "18676")["2024-Q3"] == ("submitted", date(2024, 9, 16))
    assert dues(seeded, "1a", "18673")["standing"][0] == "closed"
    kind, payload = events(seeded, obligation_id(seeded, "1c", "18673", "2024-Q3"))[-1]
    assert (kind, payload["reason"]) == (
        "closed",
        "directive withdrawn by dispatch 210/UBND-VHTT",
    )
    found, _ = reporting.rates(
        seeded,
        directive="cam-xuyen-cchc-2024",
        requirement="1c",
        on=Day(date(2024, 12, 31), date(2024, 12, 31)),
    )
    expected = {r.period: r.expected for r in found}
    assert (expected["2024-Q2"], expected["2024-Q3"], expected["2024-Q4"]) == (COMMUNES, 1, 0)
    with transaction(seeded, writes=False) as conn:
        assert reference.published_codes(conn) == []
        # Q2, overdue on 20/06 and still owed, is chased no more either
        assert (
            plan(
                conn, day=date(2024, 6, 20), calendar=CALENDAR, default_ladder=DEFAULT_LADDER
            ).items
            == []
        )
    assert report.requirements == [{"requirement": None, "change": "withdrawn"}]
    assert len(letters(seeded)) == report.letters > 0
    assert all("bãi bỏ chỉ thị cam-xuyen-cchc-2024" in subject for _, subject, _ in letters(seeded))
    assert (
        publishing.open_periods(
            seeded, as_of=date(2024, 12, 31), now=AMENDED_AT, calendar=CALENDAR
        ).total
        == 0
    )
    clean_log(seeded)

    history = revisions.history(seeded, "cam-xuyen-cchc-2024", source="test")
    assert history.status == "withdrawn"
    assert [(r.number, r.kind, r.dispatch, r.effective_from) for r in history.revisions] == [
        (1, "withdraw", "210/UBND-VHTT", date(2024, 7, 1))
    ]


@pytest.mark.parametrize(
    ("code", "dispatch", "error"),
    [
        (
            "cam-xuyen-cchc-2024",
            revisions.Dispatch("9/UBND", date(2024, 6, 1), date(2023, 12, 31)),
            InputError,
        ),
        (
            "no-such-directive",
            revisions.Dispatch("9/UBND", date(2024, 6, 1), date(2024, 7, 1)),
            InputError,
        ),
    ],
)
def test_a_withdrawal_refused_writes_nothing(
    seeded: Engine, code: str, dispatch: revisions.Dispatch, error: type[Exception]
) -> None:
    before = count(seeded, "event"), count(seeded, "revision")
    with pytest.raises(error):
        withdraw(seeded, dispatch, code)
    assert (count(seeded, "event"), count(seeded, "revision")) == before


def test_withdrawing_twice_is_refused(seeded: Engine) -> None:
    withdraw(seeded, revisions.Dispatch("210/UBND-VHTT", date(2024, 6, 25), date(2024, 7, 1)))
    before = count(seeded, "event"), count(seeded, "revision"), count(seeded, "message")
    with pytest.raises(Refused, match="already withdrawn"):
        withdraw(seeded, revisions.Dispatch("211/UBND-VHTT", date(2024, 6, 26), date(2024, 7, 1)))
    assert (count(seeded, "event"), count(seeded, "revision"), count(seeded, "message")) == before


def test_revisions_are_append_only(seeded: Engine) -> None:
    withdraw(seeded, revisions.Dispatch("210/UBND-VHTT", date(2024, 6, 25), date(2024, 7, 1)))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), transaction(seeded) as conn:
        conn.execute(sa.text("UPDATE revision SET dispatch = 'x'"))


# the communes' quarterly report of 2025, 5 working days after the quarter
QUARTERLY_2025 = {
    "code": "cx-quy-2025",
    "document": {
        "issuer": "446",
        "symbol": "UBND-VHTT",
        "date": "2025-01",
        "subject": "Báo cáo quý 2025",
    },
    "lead": "446-VHTT",
    "effective": {"from": "2025-01-01", "until": "2025-12-31"},
    "requirements": [
        {
            "code": "q",
            "title": "Báo cáo quý",
            "who": {"kinds": ["xa", "thi_tran"]},
            "what": {"figures": [{"key": "n", "label": "Số tin", "type": "integer", "min": 0}]},
            "schedule": [
                {"cadence": "quarterly", "due": {"rule": "working-days-after-end", "days": 5}}
            ],
            "to": "446-VHTT",
        }
    ],
}


def test_a_revision_after_units_closed_reaches_their_successors(registered: Engine) -> None:
    # the 2025 map: 14 communes close on 01/07/2025, passing their work on to 7 others, and
    # Xã Cẩm Bình opens
    with transaction(registered, writes=False) as conn:
        stored = reference.load_units(conn), reference.load_versions(conn)
    reference.import_units(
        registered, read_units(ROOT / "directives" / "units" / "cam-xuyen-2025.csv", *stored)
    )
    publishing.publish(
        registered,
        parse_directive(QUARTERLY_2025, "q.yaml"),
        source="q.yaml",
        actor="admin.cx",
        as_of=date(2025, 9, 30),
        now=AMENDED_AT,
        calendar=CALENDAR,
    )
    data = json.loads(json.dumps(QUARTERLY_2025))
    data["requirements"][0]["schedule"][0]["due"]["days"] = 10
    report = amend(
        registered,
        parse_directive(data, "q.yaml"),
        revisions.Dispatch("300/UBND-VHTT", date(2025, 9, 29), date(2025, 10, 1)),
        as_of=date(2025, 9, 30),
    )
    successors = {"18673", "18676", "18682", "18685", "18736", "18739", "18742", "18748"}
    # Q3 ends Tuesday 30/09/2025: 5 working days after is Tuesday 07/10, 10 is Tuesday 14/10
    assert {c.unit: (c.kind, c.old_due, c.new_due) for c in report.changes} == {
        unit: ("due", date(2025, 10, 7), date(2025, 10, 14)) for unit in successors
    }
    # a closed commune owes its second quarter (Monday 30/06: due Monday 07/07), as it did
    assert dues(registered, "q", "18697") == {
        "2025-Q1": ("open", date(2025, 4, 8)),
        "2025-Q2": ("open", date(2025, 7, 7)),
    }
    # Xã Cẩm Bình (18685) has no address nor staff yet: not told, and said so
    assert report.unreachable == ["18685"]
    told = sorted(to for to, _, _ in letters(registered))
    assert told == sorted(f"ubnd.{code}@camxuyen.example" for code in successors - {"18685"})
    clean_log(registered)


def test_a_revision_passes_a_closed_units_work_on_first(seeded: Engine, tmp_path: Path) -> None:
    # a register correction after the periods opened: Xã Cẩm Minh became part of Xã Cẩm Lạc
    # on 01/10/2024, and no daily run has passed its work on yet
    correction = tmp_path / "units.csv"
    correction.write_text(
        "code,name,kind,parent,tags,email,valid_from,valid_until,successor\n"
        "18751,Xã Cẩm Minh,xa,446,commune,ubnd.18751@camxuyen.example,,2024-10-01,18748\n",
        encoding="utf-8",
    )
    with transaction(seeded, writes=False) as conn:
        stored = reference.load_units(conn), reference.load_versions(conn)
    reference.import_units(seeded, read_units(correction, *stored))

    amend(seeded, seed_text(later), as_of=date(2024, 10, 7))

    # its fourth quarter (15/09 → 14/12) is Xã Cẩm Lạc's, which owes it by the new rule
    assert dues(seeded, "1c", "18751")["2024-Q4"] == ("transferred", date(2024, 12, 16))
    assert dues(seeded, "1c", "18748")["2024-Q4"] == ("open", date(2024, 12, 23))
    # its third, ended before it closed, stays its own, moved as every commune's
    assert dues(seeded, "1c", "18751")["2024-Q3"] == ("open", date(2024, 9, 23))
    clean_log(seeded)


def test_a_withdrawn_directive_is_not_published_again_and_its_status_is_checked(
    seeded: Engine,
) -> None:
    withdraw(seeded, revisions.Dispatch("210/UBND-VHTT", date(2024, 6, 25), date(2024, 7, 1)))
    with pytest.raises(Refused, match="has been withdrawn"):
        publish_seed(seeded)
    # a withdrawn directive put back by hand is found: its revisions say otherwise
    with transaction(seeded) as conn:
        conn.execute(sa.text("UPDATE directive SET status = 'published'"))
    _, problems = ledger.verify(seeded)
    assert [str(p) for p in problems] == [
        "directive cam-xuyen-cchc-2024: column status is 'published' but its content says "
        "'withdrawn'"
    ]


def test_a_revision_from_before_the_latest_ones_day_is_refused(seeded: Engine) -> None:
    amend(seeded, seed_text(later))
    before = count(seeded, "event"), count(seeded, "revision")
    earlier = revisions.Dispatch("130/UBND-VHTT", date(2024, 5, 28), date(2024, 5, 31))
    with pytest.raises(InputError, match="before the day revision 1 of cam-xuyen-cchc-2024"):
        withdraw(seeded, earlier)
    assert (count(seeded, "event"), count(seeded, "revision")) == before


def unrevised(engine: Engine) -> list[Any]:
    """What an amendment refused must leave as it was: the rows it could write, and the
    directive's text."""
    tables = ("event", "revision", "message", "obligation", "requirement")
    with transaction(engine, writes=False) as conn:
        texts = conn.execute(sa.text("SELECT code, content FROM directive ORDER BY code")).all()
    return [*(count(engine, t) for t in tables), [tuple(t) for t in texts]]


def test_an_amendment_whose_units_have_all_closed_by_its_day_is_refused(
    registered: Engine,
) -> None:
    """On the register of 2024 the communes close on 01/07/2025 with no successor: a 2025
    quarterly report, published in June, is owed for the first two quarters, but an amended
    due rule from 01/10/2025 would be owed by no one (the third quarter's owers are taken on
    30/09), so it is refused, in one Vietnamese line naming the requirement and the day, and
    nothing is written."""
    publishing.publish(
        registered,
        parse_directive(QUARTERLY_2025, "q.yaml"),
        source="q.yaml",
        actor="admin.cx",
        as_of=date(2025, 6, 30),
        now=AMENDED_AT,
        calendar=CALENDAR,
    )
    data = json.loads(json.dumps(QUARTERLY_2025))
    data["requirements"][0]["schedule"][0]["due"]["days"] = 10
    before = unrevised(registered)
    with pytest.raises(InputError) as refused:
        amend(
            registered,
            parse_directive(data, "q.yaml"),
            revisions.Dispatch("300/UBND-VHTT", date(2025, 9, 29), date(2025, 10, 1)),
            as_of=date(2025, 9, 30),
        )
    assert refused.value.field == "requirements[0].who"
    vi = refused.value.vi
    assert vi is not None and "\n" not in vi
    assert vi.startswith("Chưa sửa đổi chỉ thị cx-quy-2025: nhiệm vụ q — ")
    assert "đã giải thể" in vi and "từ ngày áp dụng 01/10/2025" in vi
    assert unrevised(registered) == before


def test_an_amendment_with_no_period_due_from_its_day_is_refused(seeded: Engine) -> None:
    """4b, the reporter named once by 15/03/2024, asked of another unit from 01/06/2024: no
    period of it is due from that day, so no one would owe it; refused, nothing written."""

    def moved(data: dict[str, Any]) -> None:
        requirement(data, "4b")["who"] = {"units": ["446-TTHCC"]}

    before = unrevised(seeded)
    with pytest.raises(InputError) as refused:
        amend(seeded, seed_text(moved))
    assert refused.value.field.endswith("].schedule")
    vi = refused.value.vi
    assert vi is not None and "\n" not in vi and "nhiệm vụ 4b" in vi
    assert "không còn kỳ nào đến hạn từ ngày áp dụng 01/06/2024" in vi
    assert unrevised(seeded) == before


def test_a_requirement_dropped_keeps_the_periods_still_owed_to_choose_from(
    seeded: Engine,
) -> None:
    """May's 2b, due before the dispatch, is still owed: its forms (the clerk's, and the
    lead office's for a report received by another channel) offer its periods, while the
    review desk no longer offers the requirement."""

    def dropped(data: dict[str, Any]) -> None:
        data["requirements"] = [r for r in data["requirements"] if r["code"] != "2b"]

    amend(seeded, seed_text(dropped))
    offered = review.choices(seeded, "cam-xuyen-cchc-2024")
    assert "2b" not in dict(offered.requirements)
    assert offered.periods["2b"][:2] == ["2024-01", "2024-02"]
    alone = review.choices(seeded, "cam-xuyen-cchc-2024", requirement="2b")
    assert alone.periods["2b"] == offered.periods["2b"]

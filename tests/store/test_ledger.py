"""The event log contract, on every backend: commands, rights, idempotency, concurrency,
tamper evidence and rebuilding the projection."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models.errors import ConcurrencyConflict, InputError, LogCorrupt, Refused, Unauthorized
from models.files.registry import ActorRow
from models.rules.obligation import Decision
from models.rules.status import Day
from models.rules.workdays import WorkCalendar
from models.storage import ledger, publishing, reference
from models.storage.db import transaction
from models.storage.queries import list_obligations
from models.storage.tables import OBLIGATION
from tests.conftest import count, obligation_id, publish_seed

LATER = datetime(2024, 3, 10, 3, 0, tzinfo=UTC)
FIGURES = {
    "training_classes": "2",
    "seminars": 1,
    "news_items": 14,
    "leaflets": 300,
    "documents": 5,
    "other_forms": 0,
}
NARRATIVE = "Tổ chức 2 lớp tập huấn về dịch vụ công trực tuyến."


def submit(
    engine: Engine,
    oid: int,
    actor: str = "cb.18712",
    key: str | None = None,
    figures: dict[str, Any] | None = None,
    at: datetime = LATER,
) -> ledger.Outcome:
    return ledger.submit(
        engine,
        oid,
        ledger.Issued(actor, key or f"s-{oid}-{actor}", "test", at),
        figures=figures or FIGURES,
        narrative=NARRATIVE,
        evidence=None,
    )


def events(engine: Engine, oid: int) -> list[sa.Row]:
    with transaction(engine, writes=False) as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT version, kind, actor, channel, payload FROM event "
                    "WHERE obligation_id = :o ORDER BY version"
                ),
                {"o": oid},
            )
        )


def status(engine: Engine, oid: int, as_of: date = date(2024, 3, 10)) -> str:
    rows = list_obligations(engine, on=Day(as_of, as_of + timedelta(days=4)))
    return next(r.status for r in rows if r.id == oid)


@pytest.fixture
def q1(seeded: Engine) -> int:
    """Nam Phúc Thăng's 2024-Q1 communication report, due 15/03/2024."""
    return obligation_id(seeded, "1c", "18712", "2024-Q1")


def test_a_submission_is_an_event_with_the_figures_actor_and_channel(
    seeded: Engine, q1: int
) -> None:
    outcome = submit(seeded, q1)
    assert (outcome.kind, outcome.version, outcome.status) == ("submitted", 2, "submitted")
    last = events(seeded, q1)[-1]
    assert (last.version, last.kind, last.actor, last.channel) == (
        2,
        "submitted",
        "cb.18712",
        "test",
    )
    assert '"training_classes":2' in last.payload  # "2" from the command line became 2
    assert status(seeded, q1) == "submitted"


def test_review_cycle_return_resubmit_accept_on_time(seeded: Engine, q1: int) -> None:
    submit(seeded, q1, key="first")
    ledger.return_(
        seeded, q1, ledger.Issued("vhtt.lan", "r", "test", LATER), reason="Thiếu số liệu tờ rơi"
    )
    assert status(seeded, q1) == "returned"
    submit(seeded, q1, key="second")
    done = ledger.accept(seeded, q1, ledger.Issued("vhtt.hung", "a", "test", LATER))
    assert done.status == "accepted"
    assert [e.kind for e in events(seeded, q1)] == [
        "created",
        "submitted",
        "returned",
        "submitted",
        "accepted",
    ]


def test_a_submission_after_the_due_day_is_accepted_late(seeded: Engine, q1: int) -> None:
    # due 15/03/2024; 16/03 00:30 in Hà Nội is still 15/03 in UTC: the local day counts
    submit(seeded, q1, at=datetime(2024, 3, 15, 17, 30, tzinfo=UTC))
    done = ledger.accept(seeded, q1, ledger.Issued("vhtt.lan", "a", "test", LATER))
    assert done.status == "accepted_late"


def test_an_extension_moves_the_due_date_and_the_status(seeded: Engine, q1: int) -> None:
    assert status(seeded, q1, as_of=date(2024, 3, 20)) == "overdue"
    ledger.extend(
        seeded,
        q1,
        ledger.Issued("vhtt.lan", "x", "test", LATER),
        due=date(2024, 3, 29),
        reason="Bão",
    )
    assert status(seeded, q1, as_of=date(2024, 3, 20)) == "open"
    assert status(seeded, q1, as_of=date(2024, 3, 27)) == "due_soon"
    with pytest.raises(InputError, match="must be after the current due date 2024-03-29"):
        ledger.extend(
            seeded,
            q1,
            ledger.Issued("vhtt.lan", "y", "test", LATER),
            due=date(2024, 3, 29),
            reason=None,
        )


def test_a_returned_obligation_is_overdue_once_its_due_date_has_passed(
    seeded: Engine, q1: int
) -> None:
    submit(seeded, q1)
    ledger.return_(
        seeded, q1, ledger.Issued("vhtt.lan", "r", "test", LATER), reason="Thiếu số liệu"
    )
    assert status(seeded, q1, as_of=date(2024, 3, 12)) == "returned"
    assert status(seeded, q1, as_of=date(2024, 3, 15)) == "returned"
    assert status(seeded, q1, as_of=date(2024, 3, 18)) == "overdue"


def test_nothing_is_chased_after_accepted_or_waived(seeded: Engine, q1: int) -> None:
    q2 = obligation_id(seeded, "1c", "18712", "2024-Q2")
    submit(seeded, q1)
    ledger.accept(seeded, q1, ledger.Issued("vhtt.lan", "a", "test", LATER))
    ledger.waive(seeded, q2, ledger.Issued("vhtt.lan", "w", "test", LATER), reason="Sáp nhập")
    far = date(2025, 6, 1)
    assert (status(seeded, q1, far), status(seeded, q2, far)) == ("accepted", "waived")
    overdue = list_obligations(seeded, on=Day(far, far), status="overdue")
    assert q1 not in {r.id for r in overdue} and q2 not in {r.id for r in overdue}
    with pytest.raises(Refused, match="the obligation is waived"):
        submit(seeded, q2)


def test_repeating_a_command_with_its_key_appends_nothing(seeded: Engine, q1: int) -> None:
    first = submit(seeded, q1, key="k1")
    again = submit(seeded, q1, key="k1")
    assert again.replayed and again.version == first.version == 2
    assert len(events(seeded, q1)) == 2
    with pytest.raises(InputError, match="differs in command, actor"):
        ledger.accept(seeded, q1, ledger.Issued("vhtt.lan", "k1", "test", LATER))


def test_a_used_key_with_another_command_is_refused_not_replayed(seeded: Engine, q1: int) -> None:
    submit(seeded, q1, key="k1")
    with pytest.raises(InputError, match="differs in figures"):
        submit(seeded, q1, key="k1", figures={**FIGURES, "leaflets": 301})
    assert '"leaflets":300' in events(seeded, q1)[-1].payload and len(events(seeded, q1)) == 2


def test_a_command_cannot_take_a_key_dondoc_keeps_for_its_own_events(
    registered: Engine,
) -> None:
    publish_seed(registered, as_of=date(2024, 3, 31))
    q1 = obligation_id(registered, "1c", "18673", "2024-Q1")
    for key in ("created:cam-xuyen-cchc-2024:1c:18673:2024-Q4", "chase:1:qua-han"):
        with pytest.raises(InputError, match="kept for dondoc's own events"):
            submit(registered, q1, actor="cb.18673", key=key)
    report = publishing.open_periods(
        registered, as_of=date(2024, 12, 31), now=LATER, calendar=WorkCalendar()
    )
    assert report.total > 0
    assert obligation_id(registered, "1c", "18673", "2024-Q4")


@pytest.mark.parametrize(
    ("figures", "field", "message"),
    [
        ({**FIGURES, "leaflets": -1}, "figures.leaflets", "must be at least 0"),
        ({**FIGURES, "seminars": "hai"}, "figures.seminars", "must be a whole number"),
        ({**FIGURES, "seminars": 1.5}, "figures.seminars", "must be a whole number"),
        ({**FIGURES, "posters": 3}, "figures.posters", "is not a figure of this requirement"),
        (
            {k: v for k, v in FIGURES.items() if k != "documents"},
            "figures.documents",
            "is required",
        ),
    ],
)
def test_bad_figures_are_refused_naming_the_field_and_nothing_is_written(
    seeded: Engine, q1: int, figures: dict[str, Any], field: str, message: str
) -> None:
    before = count(seeded, "event")
    with pytest.raises(InputError, match=message) as refused:
        submit(seeded, q1, figures=figures)
    assert refused.value.field == field
    assert count(seeded, "event") == before
    assert status(seeded, q1) == "open"


def test_a_required_narrative_and_a_bad_link_are_refused(seeded: Engine, q1: int) -> None:
    with pytest.raises(InputError, match="Đánh giá kết quả") as refused:
        ledger.submit(
            seeded,
            q1,
            ledger.Issued("cb.18712", "n", "test", LATER),
            figures=FIGURES,
            narrative="  ",
            evidence=None,
        )
    assert refused.value.field == "narrative"
    with pytest.raises(InputError, match="must be an http") as refused:
        ledger.submit(
            seeded,
            q1,
            ledger.Issued("cb.18712", "e", "test", LATER),
            figures=FIGURES,
            narrative=NARRATIVE,
            evidence="file:///etc/passwd",
        )
    assert refused.value.field == "evidence"


@pytest.mark.parametrize(
    ("command", "actor", "message"),
    [
        ("submit", "cb.18673", "acts for unit 18673 and cannot submit for 18712"),
        ("submit", "vhtt.lan", "acts for unit 446-VHTT and cannot submit for 18712"),
        ("accept", "cb.18712", "only the lead office 446-VHTT may accept"),
        ("accept", "ttvhtt.minh", "only the lead office 446-VHTT may accept"),
        ("waive", "admin.cx", "only the lead office 446-VHTT may waive"),
    ],
)
def test_rights_are_checked_and_denials_recorded(
    seeded: Engine, q1: int, command: str, actor: str, message: str
) -> None:
    if command == "accept":
        submit(seeded, q1)
    before = count(seeded, "event")
    with pytest.raises(Unauthorized, match=message):
        if command == "submit":
            submit(seeded, q1, actor=actor)
        elif command == "accept":
            ledger.accept(seeded, q1, ledger.Issued(actor, "a", "test", LATER))
        else:
            ledger.waive(seeded, q1, ledger.Issued(actor, "w", "test", LATER), reason="x")
    assert count(seeded, "event") == before
    with transaction(seeded, writes=False) as conn:
        denial = conn.execute(sa.text("SELECT actor, command, target, reason FROM denial")).one()
    assert (denial.actor, denial.command, denial.target) == (actor, command, f"obligation {q1}")
    assert message in denial.reason


def test_an_unknown_actor_is_refused_by_name_and_recorded(seeded: Engine, q1: int) -> None:
    with pytest.raises(Unauthorized, match="'nobody' names no actor in the register"):
        submit(seeded, q1, actor="nobody")
    with transaction(seeded, writes=False) as conn:
        denial = conn.execute(sa.text("SELECT actor, command FROM denial")).one()
    assert tuple(denial) == ("nobody", "submit")


def submit_consolidation(engine: Engine, actor: str) -> int:
    """The lead office hands in its own Q1 consolidated report (seed requirement 5)."""
    own = obligation_id(engine, "5", "446-VHTT", "2024-Q1")
    ledger.submit(
        engine,
        own,
        ledger.Issued(actor, "s5", "test", LATER),
        figures={},
        narrative="Tổng hợp quý I",
        evidence=None,
    )
    return own


def test_the_lead_offices_own_work_is_decided_by_its_recipient_not_by_itself(
    seeded: Engine,
) -> None:
    own = submit_consolidation(seeded, "vhtt.lan")
    with pytest.raises(Unauthorized, match="only its recipient 446 or an admin may accept it"):
        ledger.accept(seeded, own, ledger.Issued("vhtt.hung", "a5", "test", LATER))
    accepted = ledger.accept(seeded, own, ledger.Issued("admin.cx", "a5b", "test", LATER))
    assert accepted.status in ("accepted", "accepted_late")


def test_nobody_decides_on_a_submission_they_handed_in(seeded: Engine) -> None:
    reference.import_actors(
        seeded, [ActorRow("vhtt.admin", "Quản trị Phòng VH-TT", "446-VHTT", "admin", None)]
    )
    own = submit_consolidation(seeded, "vhtt.admin")
    with pytest.raises(Unauthorized, match="handed in this submission and cannot return it"):
        ledger.return_(seeded, own, ledger.Issued("vhtt.admin", "r5", "test", LATER), reason="x")
    assert [e.kind for e in events(seeded, own)] == ["created", "submitted"]


AFTER_CLOSURE = datetime(2025, 7, 1, 2, 0, tzinfo=UTC)  # 09:00 on the first day without it


def test_a_closed_units_staff_still_submit_but_its_successor_decides(seeded: Engine) -> None:
    """The register closes the district lead office 446-VHTT on 01/07/2025 with successor
    42-SVHTTDL, and the district committee 446 with successor 42."""
    q1 = obligation_id(seeded, "1c", "18712", "2024-Q1")
    submit(seeded, q1, at=AFTER_CLOSURE)
    before = ledger.Issued("vhtt.lan", "a0", "test", AFTER_CLOSURE - timedelta(days=1))
    assert ledger.accept(seeded, q1, before).status == "accepted_late"  # 30/06: still open

    q2 = obligation_id(seeded, "1c", "18712", "2024-Q2")
    submit(seeded, q2, at=AFTER_CLOSURE)
    with pytest.raises(Unauthorized, match="446-VHTT, closed on 01/07/2025") as refused:
        ledger.accept(seeded, q2, ledger.Issued("vhtt.lan", "a1", "test", AFTER_CLOSURE))
    assert refused.value.vi == (
        "Đơn vị 446-VHTT của tài khoản vhtt.lan đã ngừng hoạt động từ 01/07/2025: chỉ còn nộp "
        "được báo cáo còn nợ, không chấp nhận được."
    )
    assert ledger.accept(seeded, q2, ledger.Issued("svhttdl.an", "a2", "test", AFTER_CLOSURE))

    own = obligation_id(seeded, "5", "446-VHTT", "2024-Q2")
    ledger.submit(
        seeded,
        own,
        ledger.Issued("vhtt.lan", "s5", "test", AFTER_CLOSURE),
        figures={},
        narrative="Tổng hợp quý II",
        evidence=None,
    )
    with pytest.raises(Unauthorized, match="only its recipient 42 \\(successor of 446\\)"):
        ledger.accept(seeded, own, ledger.Issued("svhttdl.an", "a5", "test", AFTER_CLOSURE))
    with transaction(seeded, writes=False) as conn:
        denied = conn.execute(sa.text("SELECT actor FROM denial ORDER BY id")).scalars().all()
    assert denied == ["vhtt.lan", "svhttdl.an"]
    assert ledger.accept(seeded, own, ledger.Issued("admin.cx", "a6", "test", AFTER_CLOSURE))


def test_a_lead_office_closed_with_no_successor_leaves_the_decisions_to_admins(
    seeded: Engine,
) -> None:
    with transaction(seeded) as conn:
        conn.execute(sa.text("UPDATE unit SET successor_code = NULL WHERE code = '446-VHTT'"))
    q2 = obligation_id(seeded, "1c", "18712", "2024-Q2")
    submit(seeded, q2, at=AFTER_CLOSURE)
    with pytest.raises(Unauthorized, match="only an admin \\(the lead office 446-VHTT has closed"):
        ledger.accept(seeded, q2, ledger.Issued("svhttdl.an", "a1", "test", AFTER_CLOSURE))
    assert ledger.accept(seeded, q2, ledger.Issued("admin.cx", "a2", "test", AFTER_CLOSURE))


def test_the_same_version_appended_twice_is_refused(seeded: Engine, q1: int) -> None:
    with transaction(seeded, writes=False) as conn:
        target = ledger.load(conn, q1, ledger.Issued("dondoc", "read", "test", LATER)).target
    with transaction(seeded) as conn:
        ledger.append(
            conn,
            target,
            Decision("reminded", {"step": 1}),
            ledger.Issued("dondoc", "one", "test", LATER),
        )
    with pytest.raises(ConcurrencyConflict), transaction(seeded) as conn:
        ledger.append(
            conn,
            target,
            Decision("reminded", {"step": 1}),
            ledger.Issued("dondoc", "two", "test", LATER),
        )
    assert [e.version for e in events(seeded, q1)] == [1, 2]


def test_an_event_whose_key_is_taken_moves_nothing(seeded: Engine, q1: int) -> None:
    by = ledger.Issued("dondoc", "taken", "test", LATER)
    with transaction(seeded) as conn:
        ledger.append(conn, ledger.load(conn, q1, by).target, Decision("reminded", {}), by)
    with pytest.raises(ConcurrencyConflict), transaction(seeded) as conn:
        target = ledger.load(conn, q1, by).target
        ledger.append(conn, target, Decision("submitted", {"figures": FIGURES}), by)
    with transaction(seeded, writes=False) as conn:
        projected = conn.execute(
            sa.select(OBLIGATION.c.version, OBLIGATION.c.status).where(OBLIGATION.c.id == q1)
        ).one()
    assert tuple(projected) == (2, "open")
    assert [e.kind for e in events(seeded, q1)] == ["created", "reminded"]


def test_a_batch_with_one_bad_event_writes_nothing(seeded: Engine, q1: int) -> None:
    with transaction(seeded, writes=False) as conn:
        target = ledger.load(conn, q1, ledger.Issued("dondoc", "read", "test", LATER)).target
    with pytest.raises(ConcurrencyConflict), transaction(seeded) as conn:
        ledger.append(
            conn,
            target,
            Decision("reminded", {"step": 1}),
            ledger.Issued("dondoc", "good", "test", LATER),
        )
        ledger.append(
            conn,
            target,
            Decision("reminded", {"step": 2}),
            ledger.Issued("dondoc", "stale", "test", LATER),
        )
    assert [e.version for e in events(seeded, q1)] == [1]


def test_the_database_refuses_update_and_delete_on_the_log(seeded: Engine, q1: int) -> None:
    for sql in ("UPDATE event SET actor = 'x'", "DELETE FROM event"):
        with pytest.raises(DBAPIError, match="append-only"), transaction(seeded) as conn:
            conn.execute(sa.text(sql))
    assert len(events(seeded, q1)) == 1


DEPARTMENT_STAFF = {
    "446-VHTT": "vhtt.lan",
    "446-NV": "noivu.nam",
    "446-TP": "tuphap.ha",
    "446-VP": "vanphong.son",
    "446-TCKH": "tckh.mai",
}


@pytest.mark.slow
def test_two_concurrent_accepts_exactly_one_wins_200_rounds(seeded: Engine) -> None:
    with transaction(seeded, writes=False) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT o.id, o.unit_code, r.code FROM obligation o JOIN requirement r "
                "ON r.id = o.requirement_id WHERE r.code IN ('1c', '2b') ORDER BY o.id"
            )
        ).all()
    rounds = rows[:200]
    assert len(rounds) == 200
    for oid, unit, requirement in rounds:
        if requirement == "1c":
            submit(seeded, oid, actor=f"cb.{unit}")
        else:
            ledger.submit(
                seeded,
                oid,
                ledger.Issued(DEPARTMENT_STAFF[unit], f"s{oid}", "test", LATER),
                figures={"items": 3},
                narrative="Tin bài về dịch vụ công",
                evidence=None,
            )
    registered = seeded
    wins = 0
    for oid, unit, _ in rounds:
        # the lead office's own reports go to their recipient, the centre, or an admin
        deciders = ("ttvhtt.minh", "admin.cx") if unit == "446-VHTT" else ("vhtt.lan", "vhtt.hung")
        barrier = threading.Barrier(2)
        results: list[str] = []

        def accept(
            actor: str,
            oid: int = oid,
            barrier: threading.Barrier = barrier,
            results: list[str] = results,
        ) -> None:
            barrier.wait()
            try:
                ledger.accept(
                    registered, oid, ledger.Issued(actor, f"a{oid}{actor}", "test", LATER)
                )
                results.append("won")
            except Refused:
                results.append("refused")

        threads = [threading.Thread(target=accept, args=(a,)) for a in deciders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["refused", "won"], f"obligation {oid}: {results}"
        wins += 1
    assert wins == 200
    with transaction(registered, writes=False) as conn:
        gaps = conn.execute(
            sa.text(
                "SELECT obligation_id FROM event GROUP BY obligation_id "
                "HAVING count(*) != max(version) OR min(version) != 1"
            )
        ).all()
        accepted = conn.execute(
            sa.text("SELECT count(*) FROM event WHERE kind = 'accepted'")
        ).scalar_one()
    assert gaps == [] and accepted == 200
    assert ledger.verify(registered)[1] == []


def _drop_append_only_guard(conn: sa.Connection) -> None:
    """What an intruder with database rights would do first."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DROP TRIGGER event_append_only ON event"))
    else:
        conn.execute(sa.text("DROP TRIGGER event_no_update"))
        conn.execute(sa.text("DROP TRIGGER event_no_delete"))


@pytest.fixture
def history(seeded: Engine, q1: int) -> int:
    """Q1 with a full review cycle: 5 events."""
    submit(seeded, q1, key="first")
    ledger.return_(seeded, q1, ledger.Issued("vhtt.lan", "r", "test", LATER), reason="Thiếu")
    submit(seeded, q1, key="second")
    ledger.accept(seeded, q1, ledger.Issued("vhtt.lan", "a", "test", LATER))
    return q1


@pytest.mark.parametrize(
    ("tamper", "version", "expected"),
    [
        (
            "UPDATE event SET payload = replace(payload, '300', '3000') "
            "WHERE obligation_id = :o AND version = 2",
            2,
            "its content does not match its hash",
        ),
        (
            "UPDATE event SET actor = 'vhtt.hung' WHERE obligation_id = :o AND version = 5",
            5,
            "its content does not match its hash",
        ),
        (
            "DELETE FROM event WHERE obligation_id = :o AND version = 3",
            4,
            "expected version 3: an event is missing",
        ),
        (
            "DELETE FROM event WHERE obligation_id = :o AND version = 5",
            5,
            "the projection says version 5 but the log ends at version 4",
        ),
        (
            "UPDATE event SET version = 100 + version WHERE obligation_id = :o "
            "AND version IN (2, 4)",
            3,
            "expected version 2",
        ),
    ],
)
def test_tampering_is_detected_and_located(
    seeded: Engine, history: int, tamper: str, version: int, expected: str
) -> None:
    assert ledger.verify(seeded) == (291 + 4, [])
    with transaction(seeded) as conn:
        _drop_append_only_guard(conn)
        conn.execute(sa.text(tamper), {"o": history})
    _, problems = ledger.verify(seeded)
    assert len(problems) == 1
    assert (problems[0].obligation_id, problems[0].version) == (history, version)
    assert expected in str(problems[0])


def test_reordering_two_events_is_detected(seeded: Engine, history: int) -> None:
    with transaction(seeded) as conn:
        _drop_append_only_guard(conn)
        conn.execute(
            sa.text(
                "UPDATE event SET version = -version WHERE obligation_id = :o AND version IN (3, 4)"
            ),
            {"o": history},
        )
        conn.execute(
            sa.text(
                "UPDATE event SET version = 7 + version WHERE obligation_id = :o "
                "AND version IN (-3, -4)"
            ),
            {"o": history},
        )
    _, problems = ledger.verify(seeded)
    assert [(p.obligation_id, p.version) for p in problems] == [(history, 3)]
    assert "does not chain to the event before it" in str(problems[0])


def test_rebuild_reproduces_the_live_projection_exactly(seeded: Engine, history: int) -> None:
    q2 = obligation_id(seeded, "1c", "18712", "2024-Q2")
    ledger.extend(
        seeded, q2, ledger.Issued("vhtt.lan", "x", "test", LATER), due=date(2024, 7, 1), reason=None
    )
    query = sa.text("SELECT * FROM obligation ORDER BY id")
    with transaction(seeded, writes=False) as conn:
        live = [tuple(r) for r in conn.execute(query)]
    assert ledger.rebuild(seeded) == (291, 0)
    with transaction(seeded) as conn:
        conn.execute(
            sa.text(
                "UPDATE obligation SET status = 'open', version = 1, figures = "
                "NULL, effective_due = due_date, submitted_at = NULL, "
                "decided_at = NULL"
            )
        )
    assert ledger.rebuild(seeded) == (291, 2)
    with transaction(seeded, writes=False) as conn:
        assert [tuple(r) for r in conn.execute(query)] == live
    assert ledger.verify(seeded)[1] == []


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("status", "accepted"),
        ("figures", '{"leaflets":3000}'),
        ("effective_due", date(2024, 12, 31)),
        ("due_date", date(2024, 12, 31)),
        ("narrative", "Sửa tay"),
        ("submitted_at", None),
    ],
)
def test_verify_compares_every_projection_column_with_the_log(
    seeded: Engine, q1: int, column: str, value: object
) -> None:
    submit(seeded, q1)
    edit = sa.text(f"UPDATE obligation SET {column} = :value WHERE id = :o").bindparams(
        sa.bindparam("value", type_=OBLIGATION.c[column].type)
    )
    with transaction(seeded) as conn:
        conn.execute(edit, {"value": value, "o": q1})
    _, problems = ledger.verify(seeded)
    assert [p.obligation_id for p in problems] == [q1]
    assert f"column {column} is " in str(problems[0]) and "but the log says" in str(problems[0])


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            "UPDATE directive SET lead_unit_code = '18712'",
            "directive cam-xuyen-cchc-2024: column lead_unit_code is '18712' but its content "
            "says '446-VHTT'",
        ),
        (
            "UPDATE directive SET effective_until = NULL",
            "directive cam-xuyen-cchc-2024: column effective_until is None but its content "
            "says datetime.date(2024, 12, 31)",
        ),
        (
            'UPDATE directive SET content = replace(content, \'"lead":"446-VHTT"\', '
            "'\"lead\":\"18712\"'), lead_unit_code = '18712'",
            "directive cam-xuyen-cchc-2024: its content does not match its hash (edited)",
        ),
        (
            "UPDATE requirement SET recipient_code = '18712' WHERE code = '1c'",
            "directive cam-xuyen-cchc-2024: requirement 1c: column recipient_code is '18712' "
            "but its content says '446-VHTT'",
        ),
        (
            'UPDATE requirement SET spec = replace(spec, \'"unit":"tờ","min":0.0\', '
            '\'"unit":"tờ","min":5.0\') WHERE code = \'1c\'',
            "directive cam-xuyen-cchc-2024: requirement 1c: column spec, at "
            "what.figures[3].min, is 5.0 but its content says 0.0",
        ),
        (
            "INSERT INTO requirement (directive_id, code, title, spec) "
            "SELECT directive_id, '9', title, spec FROM requirement WHERE code = '1c'",
            "directive cam-xuyen-cchc-2024: requirement 9 has a row but is not in its content",
        ),
    ],
)
def test_verify_checks_every_directive_row_against_its_stored_content(
    seeded: Engine, tamper: str, expected: str
) -> None:
    """A directive's lead office changed by raw SQL lets another unit's staff decide: verify
    recomputes every row publishing derives from the directive's hashed content."""
    with transaction(seeded) as conn:
        conn.exec_driver_sql(tamper)
    _, problems = ledger.verify(seeded)
    assert [str(p) for p in problems] == [expected]


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [("period_start", date(2024, 1, 1), "2023-12-15"), ("period_end", None, "2024-03-14")],
)
def test_verify_checks_an_obligations_period_bounds_against_its_created_event(
    seeded: Engine, q1: int, column: str, value: date | None, said: str
) -> None:
    edit = sa.text(f"UPDATE obligation SET {column} = :value WHERE id = :o").bindparams(
        sa.bindparam("value", type_=OBLIGATION.c[column].type)
    )
    with transaction(seeded) as conn:
        conn.execute(edit, {"value": value, "o": q1})
    _, problems = ledger.verify(seeded)
    shown = value.isoformat() if value else None
    assert [str(p) for p in problems] == [
        f"obligation {q1}: column {column} is {shown!r} but its created event says {said!r}"
    ]


def test_rebuild_refuses_a_projection_ahead_of_its_log(seeded: Engine, history: int) -> None:
    with transaction(seeded) as conn:
        _drop_append_only_guard(conn)
        conn.execute(
            sa.text("DELETE FROM event WHERE obligation_id = :o AND version = 5"), {"o": history}
        )
    with pytest.raises(LogCorrupt, match=f"ahead of the log for obligation\\(s\\) {history}:"):
        ledger.rebuild(seeded)
    assert status(seeded, history) == "accepted"  # the evidence of the deletion stays


def test_rebuild_refuses_a_deleted_tail_whose_version_was_set_back(
    seeded: Engine, history: int
) -> None:
    """The intruder deletes the last event and sets the projection's version back: the hash
    of the event the projection folded last is still there, and in no event of its chain."""
    with transaction(seeded) as conn:
        _drop_append_only_guard(conn)
        conn.execute(
            sa.text("DELETE FROM event WHERE obligation_id = :o AND version = 5"), {"o": history}
        )
        conn.execute(sa.text("UPDATE obligation SET version = 4 WHERE id = :o"), {"o": history})
    _, problems = ledger.verify(seeded)
    assert history in {p.obligation_id for p in problems}
    assert any(
        "column last_hash is" in str(p) and "no event of its chain has that hash" in str(p)
        for p in problems
    )
    with pytest.raises(LogCorrupt, match=f"ahead of the log for obligation\\(s\\) {history}:"):
        ledger.rebuild(seeded)
    assert status(seeded, history) == "accepted"  # the evidence of the deletion stays
    assert ledger.verify(seeded)[1] == problems


def test_rebuild_refuses_a_log_that_does_not_verify(seeded: Engine, history: int) -> None:
    with transaction(seeded) as conn:
        _drop_append_only_guard(conn)
        conn.execute(
            sa.text("DELETE FROM event WHERE obligation_id = :o AND version = 2"), {"o": history}
        )
    with pytest.raises(LogCorrupt, match="expected version 2"):
        ledger.rebuild(seeded)


def test_refusals_carry_one_vietnamese_line_for_the_clerk(seeded: Engine, q1: int) -> None:
    with pytest.raises(InputError) as bad:
        submit(seeded, q1, figures={**FIGURES, "leaflets": -1})
    assert bad.value.vi == "Chỉ tiêu «Số tờ rơi» không được nhỏ hơn 0 (đã nhập «-1»)."
    submit(seeded, q1)
    with pytest.raises(Refused) as again:
        submit(seeded, q1, key="again")
    assert again.value.vi == "Không thể nộp: nghĩa vụ đang ở trạng thái «Đã nộp, chờ xét»."
    with pytest.raises(Unauthorized) as other:
        ledger.accept(seeded, q1, ledger.Issued("ttvhtt.minh", "a", "test", LATER))
    assert other.value.vi == (
        "Chỉ cán bộ cơ quan chủ trì 446-VHTT được chấp nhận; tài khoản ttvhtt.minh thuộc đơn "
        "vị 446-TTVHTT."
    )

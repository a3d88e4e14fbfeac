"""Signing in and the grants of the gate, on both databases: a one-time code opens one session
once; wrong codes are logged and, past the first few, slowed, without shutting out the person
who owns the code; sessions lapse, end and die with a disabled person; nothing secret is kept
in clear; a run redeems the grant the gate gave it once, and nothing else opens it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import NotFound, SignInRefused, Unauthorized
from models.rules.access import (
    CODE_LIFETIME,
    FREE_FAILURES,
    GRANT_LIFETIME,
    LONGEST_WAIT,
    SESSION_IDLE,
    SESSION_LIFETIME,
)
from models.storage import access
from models.storage.db import transaction
from tests.conftest import load_registers

NOW = datetime(2024, 4, 15, 1, 30, tzinfo=UTC)
CLERK = "cb.18673"
OTHER_CLERK = "cb.18712"
HOME = "10.0.0.7"
ELSEWHERE = "10.0.0.99"


def _log(engine: Engine, username: str) -> list[str]:
    with transaction(engine, writes=False) as conn:
        return list(
            conn.execute(
                sa.text("SELECT kind FROM access_event WHERE username = :u ORDER BY id"),
                {"u": username},
            ).scalars()
        )


def _code(engine: Engine, username: str = CLERK, at: datetime = NOW) -> str:
    issued = access.new_code(engine, username, now=at, address=HOME)
    assert issued is not None
    person, code = issued
    assert person.username == username and len(code) == 6 and code.isdigit()
    return code


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_code_opens_one_session_once(seeded: Engine) -> None:
    code = _code(seeded)
    token = access.sign_in(seeded, CLERK, code, now=NOW, address=HOME)
    person = access.session_person(seeded, token, now=NOW + timedelta(minutes=5))
    assert person is not None
    assert (person.username, person.unit_code, person.role) == (CLERK, "18673", "staff")
    with pytest.raises(SignInRefused) as again:
        access.sign_in(seeded, CLERK, code, now=NOW + timedelta(seconds=1), address=HOME)
    assert "không đúng" in (again.value.vi or "")
    assert _log(seeded, CLERK) == ["code-sent", "signed-in", "failed"]


def test_a_new_code_retires_the_last_and_a_code_lapses(seeded: Engine) -> None:
    first = _code(seeded)
    second = _code(seeded, at=NOW + timedelta(minutes=1))
    with pytest.raises(SignInRefused):
        access.sign_in(seeded, CLERK, first, now=NOW + timedelta(minutes=2), address=HOME)
    with pytest.raises(SignInRefused):
        late = NOW + timedelta(minutes=1) + CODE_LIFETIME
        access.sign_in(seeded, CLERK, second, now=late, address=HOME)


def test_no_code_for_a_stranger_a_disabled_person_or_one_without_an_address(
    seeded: Engine,
) -> None:
    assert access.new_code(seeded, "nguoi.la", now=NOW, address=HOME) is None
    access.set_disabled(seeded, CLERK, True, by="admin.cx", now=NOW, address="cli:root")
    assert access.new_code(seeded, CLERK, now=NOW, address=HOME) is None
    with transaction(seeded) as conn:
        conn.execute(sa.text("UPDATE actor SET email = NULL WHERE username = 'cb.18676'"))
    assert access.new_code(seeded, "cb.18676", now=NOW, address=HOME) is None
    assert _log(seeded, "nguoi.la") == ["failed"]
    assert _log(seeded, CLERK) == ["disabled", "failed"]
    # a stranger's try reads as a wrong code: the page tells no one which names exist
    with pytest.raises(SignInRefused) as stranger:
        access.sign_in(seeded, "nguoi.la", "123456", now=NOW, address=HOME)
    assert stranger.value.vi == access._WRONG


def test_fifty_wrong_codes_are_slowed_and_logged_and_the_right_one_still_works(
    seeded: Engine,
) -> None:
    code = _code(seeded)
    at, outcomes = NOW, []
    for _ in range(50):
        at += timedelta(seconds=1)
        try:
            access.sign_in(seeded, CLERK, _wrong(code), now=at, address=ELSEWHERE)
        except SignInRefused as refused:
            outcomes.append(refused.wait)
    assert len(outcomes) == 50  # every one refused
    assert outcomes[:FREE_FAILURES] == [0] * FREE_FAILURES  # the first few heard at once
    assert all(wait <= LONGEST_WAIT.total_seconds() for wait in outcomes)
    # then the waits double: of the 45 tries in 45 seconds, only a handful are heard
    heard = outcomes.count(0)
    assert FREE_FAILURES < heard <= FREE_FAILURES + 6
    assert _log(seeded, CLERK).count("failed") == heard
    assert _log(seeded, CLERK).count("slowed") == 50 - heard
    # the right code, tried while slowed, is not even heard ...
    with pytest.raises(SignInRefused) as slowed:
        access.sign_in(seeded, CLERK, code, now=at, address=ELSEWHERE)
    assert slowed.value.wait > 0 and "giây" in (slowed.value.vi or "")
    # ... but from the person's own address it opens at once, and elsewhere once the wait,
    # never longer than LONGEST_WAIT, is over (within the code's ten minutes)
    assert access.sign_in(seeded, CLERK, code, now=at, address=HOME)
    second = _code(seeded, at=at)
    assert access.sign_in(seeded, CLERK, second, now=at + LONGEST_WAIT, address=ELSEWHERE)


def test_sessions_lapse_when_idle_or_old_end_on_sign_out_and_with_a_disabled_person(
    seeded: Engine,
) -> None:
    def session(at: datetime) -> str:
        return access.sign_in(seeded, CLERK, _code(seeded, at=at), now=at, address=HOME)

    idle = session(NOW)
    assert access.session_person(seeded, idle, now=NOW + SESSION_IDLE / 2) is not None
    assert access.session_person(seeded, idle, now=NOW + SESSION_IDLE / 2 + SESSION_IDLE) is None
    busy = session(NOW)
    at = NOW
    while at + SESSION_IDLE / 2 < NOW + SESSION_LIFETIME:
        at += SESSION_IDLE / 2
        assert access.session_person(seeded, busy, now=at) is not None
    assert access.session_person(seeded, busy, now=NOW + SESSION_LIFETIME) is None
    ended = session(NOW)
    access.sign_out(seeded, ended, now=NOW + timedelta(minutes=1), address=HOME)
    assert access.session_person(seeded, ended, now=NOW + timedelta(minutes=2)) is None
    live = session(NOW)
    access.set_disabled(seeded, CLERK, True, by="admin.cx", now=NOW, address="cli:root")
    assert access.session_person(seeded, live, now=NOW + timedelta(minutes=1)) is None
    access.set_disabled(seeded, CLERK, False, by="admin.cx", now=NOW, address="cli:root")
    assert access.session_person(seeded, live, now=NOW + timedelta(minutes=1)) is None  # ended
    assert access.session_person(seeded, session(NOW), now=NOW) is not None
    assert access.session_person(seeded, "not-a-token", now=NOW) is None
    with pytest.raises(NotFound):
        access.set_disabled(seeded, "nguoi.la", True, by="admin.cx", now=NOW, address="cli:root")


def test_a_person_stays_disabled_when_the_registers_are_imported_again(seeded: Engine) -> None:
    access.set_disabled(seeded, CLERK, True, by="admin.cx", now=NOW, address="cli:root")
    load_registers(seeded)
    assert access.new_code(seeded, CLERK, now=NOW, address=HOME) is None


def test_the_review_desk_belongs_to_the_lead_office(seeded: Engine) -> None:
    lead = access.sign_in(seeded, "vhtt.lan", _code(seeded, "vhtt.lan"), now=NOW, address=HOME)
    clerk = access.sign_in(seeded, CLERK, _code(seeded), now=NOW, address=HOME)
    assert access.session_person(seeded, lead, now=NOW).reviews  # type: ignore[union-attr]
    assert not access.session_person(seeded, clerk, now=NOW).reviews  # type: ignore[union-attr]


def test_the_review_desk_belongs_to_the_lead_offices_successor_once_it_holds_the_role(
    seeded: Engine,
) -> None:
    """Phòng VH-TT closed on 01/07/2025 and Sở VH-TT-DL holds its role since: the Sở's
    officer reviews then, not before (the flow's own check says the same)."""
    later = datetime(2025, 7, 2, 2, 0, tzinfo=UTC)
    before = access.sign_in(
        seeded, "svhttdl.an", _code(seeded, "svhttdl.an"), now=NOW, address=HOME
    )
    after = access.sign_in(
        seeded, "svhttdl.an", _code(seeded, "svhttdl.an", later), now=later, address=HOME
    )
    assert not access.session_person(seeded, before, now=NOW).reviews  # type: ignore[union-attr]
    assert access.session_person(seeded, after, now=later).reviews  # type: ignore[union-attr]


def test_no_code_token_or_key_is_kept_in_clear(seeded: Engine) -> None:
    code = _code(seeded)
    token = access.sign_in(seeded, CLERK, code, now=NOW, address=HOME)
    key = access.grant_start(seeded, CLERK, "d-1", now=NOW)
    with transaction(seeded, writes=False) as conn:
        stored = conn.execute(sa.text("SELECT code_hash FROM sign_in_code")).scalar_one()
        every = [
            str(value)
            for table in sa.inspect(conn).get_table_names()
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
            for value in row
        ]
    assert stored.startswith("$argon2id$")
    assert not [v for v in every if code in v or token in v or key in v]


def test_a_run_redeems_the_grant_of_its_start_once(seeded: Engine) -> None:
    key = access.grant_start(seeded, CLERK, "d-1", now=NOW)
    assert (
        access.redeem_start(seeded, key, flow_run_id="r-1", deployment_id="d-1", now=NOW) == CLERK
    )
    # the same run started again after a crash is still the clerk's
    assert (
        access.redeem_start(seeded, key, flow_run_id="r-1", deployment_id="d-1", now=NOW) == CLERK
    )
    assert access.run_starter(seeded, "r-1") == CLERK
    refused = [
        (key, "r-2", "d-1", NOW),  # copied onto another run
        (None, "r-3", "d-1", NOW),  # created on the API without the gate
        ("made-up", "r-4", "d-1", NOW),
        (access.grant_start(seeded, CLERK, "d-1", now=NOW), "r-5", "d-2", NOW),
        (access.grant_start(seeded, CLERK, "d-1", now=NOW), "r-6", "d-1", NOW + GRANT_LIFETIME),
    ]
    for given, run, deployment, at in refused:
        with pytest.raises(Unauthorized):
            access.redeem_start(seeded, given, flow_run_id=run, deployment_id=deployment, now=at)
    assert access.run_starter(seeded, "r-2") is None
    with transaction(seeded, writes=False) as conn:
        denied = conn.execute(sa.text("SELECT target FROM denial ORDER BY id")).scalars().all()
    assert denied == [f"flow run r-{n}" for n in range(2, 7)]


def test_the_runs_a_person_started_are_theirs_from_their_creation(seeded: Engine) -> None:
    key = access.grant_start(seeded, CLERK, "d-1", now=NOW)
    unused = access.grant_start(seeded, CLERK, "d-1", now=NOW)
    others = access.grant_start(seeded, OTHER_CLERK, "d-1", now=NOW)
    assert access.started_runs(seeded, CLERK) == frozenset()
    # the gate keeps the id Prefect gave the run before any worker took it
    access.record_started_run(seeded, key, "r-1")
    access.record_started_run(seeded, others, "r-9")
    assert access.started_runs(seeded, CLERK) == {"r-1"}
    assert access.started_runs(seeded, OTHER_CLERK) == {"r-9"}
    # only that run redeems the grant; another that carries its key is refused
    with pytest.raises(Unauthorized):
        access.redeem_start(seeded, key, flow_run_id="r-2", deployment_id="d-1", now=NOW)
    assert access.redeem_start(seeded, key, flow_run_id="r-1", deployment_id="d-1", now=NOW) == (
        CLERK
    )
    # a grant redeemed before the gate kept the id names its run too, once
    access.redeem_start(seeded, unused, flow_run_id="r-3", deployment_id="d-1", now=NOW)
    access.record_started_run(seeded, unused, "r-4")
    assert access.started_runs(seeded, CLERK) == {"r-1", "r-3"}


def test_a_run_resumes_only_with_the_answer_the_gate_let_through(seeded: Engine) -> None:
    access.grant_resume(seeded, CLERK, "r-1", "a" * 64, now=NOW)
    with pytest.raises(Unauthorized):
        access.redeem_resume(seeded, "r-1", "b" * 64, starter=CLERK, now=NOW)  # another answer
    assert access.redeem_resume(seeded, "r-1", "a" * 64, starter=CLERK, now=NOW) == CLERK
    with pytest.raises(Unauthorized):
        access.redeem_resume(seeded, "r-1", "a" * 64, starter=CLERK, now=NOW)  # spent


def test_a_run_resumes_only_by_its_starter_or_an_administrator(seeded: Engine) -> None:
    """Whatever grant the gate wrote, the run takes an answer only from the person who
    started it or an administrator: another clerk's is refused and recorded."""
    access.grant_resume(seeded, "cb.18712", "r-1", "a" * 64, now=NOW)
    with pytest.raises(Unauthorized):
        access.redeem_resume(seeded, "r-1", "a" * 64, starter=CLERK, now=NOW)
    access.grant_resume(seeded, "admin.cx", "r-2", "a" * 64, now=NOW)
    assert access.redeem_resume(seeded, "r-2", "a" * 64, starter=CLERK, now=NOW) == "admin.cx"
    with transaction(seeded, writes=False) as conn:
        denied = conn.execute(sa.text("SELECT target, reason FROM denial")).all()
    assert [tuple(row) for row in denied] == [
        ("flow run r-1", "was resumed by cb.18712, who neither started it nor administers")
    ]

"""How a run waits on a clerk's form (flows/runtime.py `answer_of`): in its own process while
the clerk is at the form, so that Resume continues it in place rather than starting the flow
again in a new process; put away (Suspended, no process) once the form has been idle for a
while, or at once when another run waits for the worker slot it holds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.exceptions import Pause
from prefect.states import Cancelling, Scheduled

import flows.runtime
from flows.runtime import put_away_waiting
from flows.submission import submit_obligation
from models.storage.db import transaction
from tests.conftest import ROOT, obligation_id
from tests.flows.conftest import PrefectStack, paused_form

pytestmark = pytest.mark.slow
REPORT = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
FIGURES = {
    "training_classes": 1,
    "seminars": 2,
    "news_items": 3,
    "leaflets": 40,
    "documents": 1,
    "other_forms": 0,
}
# Units no other flow test acts for (test_burst.py leaves them out).
IN_PLACE, IDLE, YIELDS, ORPHANED = "18745", "18748", "18745", "18748"


@pytest.fixture(scope="module")
def forms(prefect_stack: PrefectStack) -> list[str]:
    return prefect_stack.sync().names


def _until(run_id: Any, done: Callable[[State], bool], within: float = 180) -> FlowRun:
    deadline = time.monotonic() + within
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(UUID(str(run_id)))
            if (run.state is not None and done(run.state)) or time.monotonic() > deadline:
                return run
            time.sleep(0.5)


def _history(run_id: Any) -> list[str]:
    """The names of the states the run went through, in order."""
    with get_client(sync_client=True) as client:
        states = client.read_flow_run_states(UUID(str(run_id)))
    return [s.name or "" for s in sorted(states, key=lambda s: s.timestamp)]


def _answer(schema: dict[str, Any], period: str) -> dict[str, Any]:
    """The clerk's answer on the form, for the period it offers as `period` in words."""
    offered = next(p for p in schema["properties"]["period"]["enum"] if p.startswith(f"{period} "))
    return {"period": offered, "figures": FIGURES, "narrative": f"Báo cáo {period}"}


def _resume(stack: PrefectStack, run_id: Any, person: str, answer: dict[str, Any]) -> None:
    with stack.gate(person) as client:
        sent = client.post(f"/api/flow_runs/{run_id}/resume", json={"run_input": answer})
    assert sent.status_code == 201 and sent.json()["status"] == "ACCEPT", sent.text


def _events(stack: PrefectStack, oid: int) -> list[sa.Row]:
    with transaction(stack.engine, writes=False) as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT kind, actor, channel FROM event WHERE obligation_id = :o "
                    "ORDER BY version"
                ),
                {"o": oid},
            )
        )


def test_a_clerk_who_resumes_while_the_run_waits_continues_it_in_place(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", IN_PLACE, "2024-Q3")
    before = _events(prefect_stack, oid)
    run = prefect_stack.start(REPORT, f"cb.{IN_PLACE}")
    waiting = _until(run.id, lambda s: s.is_paused() or s.is_final())
    # waiting in its process, not suspended
    assert waiting.state is not None and waiting.state.name == "Paused", waiting.state
    schema, description = paused_form(run.id)
    assert description.startswith(f"**{IN_PLACE} ")
    _resume(prefect_stack, run.id, f"cb.{IN_PLACE}", _answer(schema, "2024-Q3"))
    done = _until(run.id, lambda s: s.is_final())
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    # the process that showed the form took the answer: the run was never started again
    assert "Resuming" not in _history(run.id) and "Suspended" not in _history(run.id)
    recorded = _events(prefect_stack, oid)[len(before) :]
    assert [(e.kind, e.actor, e.channel) for e in recorded] == [
        ("submitted", f"cb.{IN_PLACE}", f"prefect-ui:{run.id}")
    ]
    assert "bien-nhan" in prefect_stack.artifacts(run.id)


def test_a_form_waiting_in_place_is_cancelled_as_the_ui_cancels_a_run(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    """Cancel on a run waiting at its form (the UI's Cancel: the run set Cancelling): the
    worker ends the run's process, which the run starter forked, and the run is Cancelled
    with nothing recorded."""
    oid = obligation_id(prefect_stack.engine, "1c", IN_PLACE, "2024-Q4")
    before = _events(prefect_stack, oid)
    run = prefect_stack.start(REPORT, f"cb.{IN_PLACE}")
    waiting = _until(run.id, lambda s: s.is_paused() or s.is_final())
    assert waiting.state is not None and waiting.state.name == "Paused", waiting.state
    starter_log = prefect_stack.var / "run-starter.log"
    started = next(
        line for line in starter_log.read_text().splitlines() if f"(flow run {run.id})" in line
    )
    pid = started.split()[0]
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run.id, Cancelling(), force=True)
    cancelled = _until(run.id, lambda s: s.is_final())
    assert cancelled.state is not None and cancelled.state.type == StateType.CANCELLED
    deadline = time.monotonic() + 60
    while f"{pid} ended: " not in starter_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert f"{pid} ended: " in starter_log.read_text()
    assert _events(prefect_stack, oid) == before


def test_an_idle_form_is_put_away_and_still_taken_after(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle past the time a run keeps its process, the form is suspended: the run's process
    ends, the same form stays open, and the answer sent to it is taken by the run the worker
    starts again, once."""
    monkeypatch.setattr(flows.runtime, "HERE_SECONDS", 2)
    oid = obligation_id(prefect_stack.engine, "1c", IDLE, "2024-Q3")
    before = _events(prefect_stack, oid)
    run = prefect_stack.granted(REPORT, f"cb.{IDLE}", here=True)
    # suspended, the flow ends its process (Prefect's engine exits on this exception)
    with pytest.raises(Pause):
        prefect_stack.run_here(submit_obligation, monkeypatch, run)
    put_away = prefect_stack.read_run(run.id)
    assert put_away.state is not None and put_away.state.name == "Suspended", put_away.state
    history = _history(run.id)
    assert history.index("Paused") < history.index("Suspended"), history
    schema, description = paused_form(run.id)
    assert description.startswith(f"**{IDLE} ")
    assert _events(prefect_stack, oid) == before
    _resume(prefect_stack, run.id, f"cb.{IDLE}", _answer(schema, "2024-Q3"))
    done = _until(run.id, lambda s: s.is_final())
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    assert "Resuming" in _history(run.id)
    recorded = _events(prefect_stack, oid)[len(before) :]
    assert [(e.kind, e.actor, e.channel) for e in recorded] == [
        ("submitted", f"cb.{IDLE}", f"prefect-ui:{run.id}")
    ]


@pytest.fixture
def queued_run(prefect_stack: PrefectStack) -> Iterator[None]:
    """A run of the work pool due a minute ago that no worker takes (its queue is paused):
    a run waiting for a worker slot. Deleted after, with its queue."""
    desk = prefect_stack.deployment_id("viec-cua-don-vi/viec-cua-don-vi")
    with get_client(sync_client=True) as client:
        queue = client.create_work_queue(name="giu-lai", work_pool_name="dondoc", is_paused=True)
        held = client.create_flow_run_from_deployment(
            UUID(desk),
            state=Scheduled(scheduled_time=datetime.now(UTC) - timedelta(minutes=1)),
            work_queue_name=queue.name,
        )
    try:
        yield
    finally:
        with get_client(sync_client=True) as client:
            client.delete_flow_run(held.id)
            client.delete_work_queue_by_id(queue.id)


def test_a_form_waiting_in_place_gives_its_slot_to_a_run_waiting_for_one(
    prefect_stack: PrefectStack,
    forms: list[str],
    monkeypatch: pytest.MonkeyPatch,
    queued_run: None,
) -> None:
    """While a run waits for a worker slot, a form waiting in its process is suspended at
    once rather than after HERE_SECONDS (which would hold this test for an hour)."""
    monkeypatch.setattr(flows.runtime, "HERE_SECONDS", 3600)
    run = prefect_stack.granted(REPORT, f"cb.{YIELDS}", here=True)
    # suspended, the flow ends its process (Prefect's engine exits on this exception)
    with pytest.raises(Pause):
        prefect_stack.run_here(submit_obligation, monkeypatch, run)
    put_away = prefect_stack.read_run(run.id)
    assert put_away.state is not None and put_away.state.name == "Suspended", put_away.state
    history = _history(run.id)
    assert history.index("Paused") < history.index("Suspended"), history
    paused_form(run.id)


def test_a_form_whose_process_ended_is_put_away_when_the_stack_starts_again(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    """A run waiting on a form in its process loses it when the stack stops. Starting again,
    `scripts/serve` puts such forms away (`put_away_waiting`, before its worker starts): the
    run is Suspended on the same form, and a Resume starts the flow again, which takes the
    answer once, where it would have left the run Running with no process."""
    oid = obligation_id(prefect_stack.engine, "1c", ORPHANED, "2024-Q4")
    before = _events(prefect_stack, oid)
    run = prefect_stack.granted(REPORT, f"cb.{ORPHANED}", here=True)
    # the run's process, as the worker starts it
    env = {
        **os.environ,
        **prefect_stack.flow_env,
        "PREFECT_API_URL": prefect_stack.api_url,
        "PREFECT_API_AUTH_STRING": prefect_stack.auth_string,
        "PREFECT__FLOW_RUN_ID": str(run.id),
    }
    process = subprocess.Popen([sys.executable, "-m", "prefect.engine"], env=env, cwd=ROOT)
    try:
        waiting = _until(run.id, lambda s: s.is_paused() or s.is_final())
        assert waiting.state is not None and waiting.state.name == "Paused", waiting.state
        schema, description = paused_form(run.id)
    finally:
        process.kill()
        process.wait()
    assert put_away_waiting("dondoc") >= 1
    put_away = prefect_stack.read_run(run.id)
    assert put_away.state is not None and put_away.state.name == "Suspended", put_away.state
    # the same form, as the clerk left it
    assert paused_form(run.id) == (schema, description)
    _resume(prefect_stack, run.id, f"cb.{ORPHANED}", _answer(schema, "2024-Q4"))
    done = _until(run.id, lambda s: s.is_final())
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    recorded = _events(prefect_stack, oid)[len(before) :]
    assert [(e.kind, e.actor, e.channel) for e in recorded] == [
        ("submitted", f"cb.{ORPHANED}", f"prefect-ui:{run.id}")
    ]

"""Clerks submitting at the same moment (DESIGN §4, case 15): against the stack `scripts/run`
starts, every submission sent the way the UI sends it, through the gate, each clerk signed in,
no retries: the form's Submit (one `POST /api/deployments/{id}/create_flow_run`), then, once
the run waits on their unit's form, its Resume (one `POST /api/flow_runs/{id}/resume` with the
answer), all at once each time. Every one is taken; the runs queue on the worker and complete,
every event is in the log, and the lead office's review desk lists every one as waiting for its
decision."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import services.desks
from flows.forms import period_choice
from gate.session import COOKIE
from models.storage import ledger
from models.storage.db import transaction
from services.settings import Settings
from tests.flows.conftest import PrefectStack, paused_form, serve_stack

pytestmark = pytest.mark.slow
FORM = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
# Units the other flow tests act for, and expect to find as they left them.
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RESERVED = ("18673", "18679", "18682", "18694", "18709", "18712", "18745", "18748")
# Clerks at once: ten times the two that Prefect on SQLite already lost one of. Each run is a
# worker process, and the suite's largest cost on two cores.
BURST = 20
FIGURES = {
    "training_classes": 1,
    "seminars": 1,
    "news_items": 3,
    "leaflets": 50,
    "documents": 2,
    "other_forms": 0,
}


def _open_obligations(stack: PrefectStack) -> list[sa.Row]:
    """Open 1c obligations of units no other test uses, leaving one unit per period so that no
    period leaves the form while the burst is in flight."""
    with transaction(stack.engine, writes=False) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT o.id, o.unit_code, o.period_key, o.effective_due FROM obligation o "
                "JOIN requirement r ON r.id = o.requirement_id "
                "WHERE r.code = '1c' AND o.status = 'open' AND o.unit_code NOT IN "
                f"({', '.join(repr(u) for u in RESERVED)}) "
                "ORDER BY o.period_key, o.unit_code"
            )
        ).all()
    by_period: dict[str, list[sa.Row]] = {}
    for row in rows:
        by_period.setdefault(row.period_key, []).append(row)
    return [row for period in by_period.values() for row in period[:-1]]


def _answer(row: sa.Row) -> dict[str, Any]:
    """What the clerk sends in their unit's form, the period as the form offers it."""
    due = date.fromisoformat(str(row.effective_due))
    owed = services.desks.Owed(
        row.id, "cam-xuyen-cchc-2024", "1c", "", row.period_key, due, "open", None
    )
    return {"period": period_choice(owed), "figures": FIGURES, "narrative": "Báo cáo gửi cùng lúc"}


def _send(
    stack: PrefectStack, requests: list[tuple[sa.Row, str, dict[str, Any]]]
) -> list[httpx.Response]:
    """POST every request through the gate at once, as the clerks of the rows (each signed
    in) clicking would."""
    cookies = [f"{COOKIE}={stack.session(f'cb.{row.unit_code}')}" for row, _, _ in requests]

    async def send() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=stack.gate_url, timeout=120) as client:
            return await asyncio.gather(
                *(
                    client.post(f"/api/{path}", json=body, headers={"cookie": cookie})
                    for (_, path, body), cookie in zip(requests, cookies, strict=True)
                )
            )

    return asyncio.run(send())


def _submit(stack: PrefectStack, deployment: str, batch: list[sa.Row]) -> list[str]:
    """The clerks of the batch click the form's Submit at once; the runs' ids."""
    created = _send(
        stack,
        [(row, f"deployments/{deployment}/create_flow_run", {"parameters": {}}) for row in batch],
    )
    _taken(created, 201)
    return [answer.json()["id"] for answer in created]


def _resume(stack: PrefectStack, run_ids: list[str], batch: list[sa.Row]) -> None:
    """The same clerks send their unit's form at once (Resume on their paused runs)."""
    resumed = _send(
        stack,
        [
            (row, f"flow_runs/{run_id}/resume", {"run_input": _answer(row)})
            for run_id, row in zip(run_ids, batch, strict=True)
        ],
    )
    _taken(resumed, 201)
    refused = [a.json()["details"] for a in resumed if a.json()["status"] != "ACCEPT"]
    assert not refused, f"{len(refused)} of {len(resumed)} answers refused: {refused[:3]}"


def _paused(stack: PrefectStack, run_ids: list[str]) -> None:
    """Wait until every run waits on its unit's form, and the form is there."""
    states = _wait(stack, run_ids, {"PAUSED", *FINAL}, within=900)
    assert set(states.values()) == {"PAUSED"}, states
    for run_id in run_ids:
        paused_form(run_id)


def _wait(stack: PrefectStack, run_ids: list[str], done: set[str], within: float) -> dict[str, str]:
    """The state type of each run, once every one is in `done` (or the time is up)."""
    deadline = time.monotonic() + within
    while True:
        with stack.api() as api:
            answer = api.post(
                "/flow_runs/filter",
                json={"flow_runs": {"id": {"any_": run_ids}}, "limit": len(run_ids)},
            )
        answer.raise_for_status()
        states = {r["id"]: r["state"]["type"] for r in answer.json()}
        if len(states) == len(run_ids) and set(states.values()) <= done:
            return states
        if time.monotonic() > deadline:
            return states
        time.sleep(2)


def _submitted(stack: PrefectStack, run_ids: list[str]) -> dict[str, int]:
    """The obligation each run's `submitted` event is for, by run id."""
    with transaction(stack.engine, writes=False) as conn:
        rows = conn.execute(
            sa.text("SELECT channel, obligation_id FROM event WHERE kind = 'submitted'")
        ).all()
    wanted = {f"prefect-ui:{rid}" for rid in run_ids}
    return {
        r.channel.removeprefix("prefect-ui:"): r.obligation_id for r in rows if r.channel in wanted
    }


@pytest.fixture(scope="module")
def prefect_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    """A stack of the burst's own, stopped when it is done: under `pytest -n` the burst runs
    in one worker while the other flow tests run in the other, and its forty runs find their
    worker as idle as a quickstart's."""
    yield from serve_stack(tmp_path_factory)


@pytest.fixture(scope="module")
def candidates(prefect_stack: PrefectStack) -> list[sa.Row]:
    prefect_stack.sync()
    rows = _open_obligations(prefect_stack)
    assert len(rows) >= BURST + 10, (
        f"the seed should leave {BURST + 10} open quarterly reports to submit"
    )
    return rows


def _taken(answers: list[httpx.Response], status: int) -> None:
    """Fails naming the refusals if any request was not taken."""
    refused = [(a.status_code, a.text[:200]) for a in answers if a.status_code != status]
    assert not refused, f"{len(refused)} of {len(answers)} requests refused: {refused[:3]}"


def test_twenty_clerks_at_once_are_all_taken_and_recorded(
    prefect_stack: PrefectStack, candidates: list[sa.Row]
) -> None:
    batch = candidates[:BURST]
    run_ids = _submit(prefect_stack, prefect_stack.deployment_id(FORM), batch)
    _paused(prefect_stack, run_ids)
    _resume(prefect_stack, run_ids, batch)
    states = _wait(prefect_stack, run_ids, FINAL, within=900)
    assert sorted(states.values()) == ["COMPLETED"] * BURST, states
    submitted = _submitted(prefect_stack, run_ids)
    assert sorted(submitted.values()) == sorted(row.id for row in batch)
    assert set(submitted) == set(run_ids)
    checked, problems = ledger.verify(prefect_stack.engine)
    assert problems == [] and checked > 0
    # the server logs every request it answered with an error: there was none
    assert "Encountered" not in (prefect_stack.var / "prefect-server.log").read_text()
    # the review desk offers every one of them for a decision
    settings = Settings(database_url=prefect_stack.database_url)
    waiting = {
        row.id: services.desks.review_case(
            settings, directive="cam-xuyen-cchc-2024", obligation=row.id, day=date.today()
        ).status
        for row in batch
    }
    assert set(waiting.values()) == {"submitted"}


def test_two_clerks_at_once_five_times_are_never_refused(
    prefect_stack: PrefectStack, candidates: list[sa.Row]
) -> None:
    """On Prefect's own SQLite database two runs created at once lost one every time (DESIGN
    §2, measured facts): five pairs show that loss if it comes back."""
    deployment = prefect_stack.deployment_id(FORM)
    pairs = candidates[BURST : BURST + 10]
    run_ids: list[str] = []
    for start in range(0, 10, 2):
        run_ids += _submit(prefect_stack, deployment, pairs[start : start + 2])
    _paused(prefect_stack, run_ids)
    for start in range(0, 10, 2):
        _resume(prefect_stack, run_ids[start : start + 2], pairs[start : start + 2])
    states = _wait(prefect_stack, run_ids, FINAL, within=900)
    assert sorted(states.values()) == ["COMPLETED"] * 10, states
    assert sorted(_submitted(prefect_stack, run_ids).values()) == sorted(row.id for row in pairs)
    assert ledger.verify(prefect_stack.engine)[1] == []

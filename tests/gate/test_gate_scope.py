"""What a person who is not an administrator reads of runs through the gate, against a real
Prefect server on both databases: only the runs they started. Each read of runs the UI makes
(every row of `gate.routes.READS` with a scope) is tried by another clerk in every way a body
can ask (everything, the clerk's run by its id, `operator: or_`): none of the clerk's run, its
task runs, logs, artifacts, answers or events comes back, while the clerk reads them all, an
administrator reads everyone's, and the review desk's officer reads their own runs alone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from gate.routes import FORMS, READS, STAFF, row_for
from gate.scope import MALFORMED, OR_OF_SEVERAL
from tests.gate.conftest import ADMINISTRATOR, CLERK, OFFICER, OTHER_CLERK, Stack, post

SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@dataclass(frozen=True)
class Traces:
    """A run started through the gate and what a worker would leave of it on the Prefect
    server: a log line, an artifact, a task run and the answer given on Resume, each holding
    `mark`."""

    run: str
    artifact: str
    mark: str


def _traces(stack: Stack, username: str, deployment: str, mark: str) -> Traces:
    run = stack.start(username, deployment)
    prefect = stack.prefect.client
    now = datetime.now(UTC).isoformat()
    log = {"name": "dondoc", "level": 20, "message": mark, "timestamp": now, "flow_run_id": run}
    assert post(prefect, "/api/logs/", [log]).status_code == 201
    _until_logged(stack, run)
    artifact = post(
        prefect,
        "/api/artifacts/",
        {"key": mark, "type": "markdown", "data": f"số liệu {mark}", "flow_run_id": run},
    )
    assert artifact.status_code == 201, artifact.text
    task = {"flow_run_id": run, "task_key": mark, "dynamic_key": "0", "name": mark}
    assert post(prefect, "/api/task_runs/", task).status_code == 201
    answer = {"key": "suspended-1-response", "value": json.dumps({"leaflets": 0, "ghi": mark})}
    assert post(prefect, f"/api/flow_runs/{run}/input", answer).status_code == 201
    return Traces(run, artifact.json()["id"], mark)


def _until_logged(stack: Stack, run: str) -> None:
    """Wait until the Prefect server reads back the log line written for `run`: it may store
    a log a little after it answered the write, on a busy machine."""
    body = {"logs": {"flow_run_id": {"any_": [run]}}}
    deadline = time.monotonic() + 90
    while not stack.prefect.client.post("/api/logs/filter", json=body).json():
        assert time.monotonic() < deadline, f"the log line of run {run} was never stored"
        time.sleep(0.5)


def _runs(key: str, *, page: bool = False) -> Callable[[Any], set[str]]:
    def shown(found: Any) -> set[str]:
        return {str(item[key]) for item in (found["results"] if page else found)}

    return shown


# The lists and counts of runs a clerk's pages read: the body's filter and its criterion that
# names runs, a second criterion of that filter, and the runs an answer shows (or how many).
LISTED: list[tuple[str, str, str, dict[str, Any], Callable[[Any], set[str] | int]]] = [
    ("/api/flow_runs/filter", "flow_runs", "id", {"name": {"like_": "-"}}, _runs("id")),
    (
        "/api/flow_runs/paginate",
        "flow_runs",
        "id",
        {"name": {"like_": "-"}},
        _runs("id", page=True),
    ),
    ("/api/flow_runs/count", "flow_runs", "id", {"name": {"like_": "-"}}, int),
    (
        "/api/task_runs/paginate",
        "flow_runs",
        "id",
        {"name": {"like_": "-"}},
        _runs("flow_run_id", page=True),
    ),
    ("/api/task_runs/count", "flow_runs", "id", {"name": {"like_": "-"}}, int),
    ("/api/ui/flow_runs/history", "flow_runs", "id", {"name": {"like_": "-"}}, _runs("id")),
    ("/api/logs/filter", "logs", "flow_run_id", {"level": {"ge_": 0}}, _runs("flow_run_id")),
    (
        "/api/artifacts/filter",
        "artifacts",
        "flow_run_id",
        {"type": {"any_": ["markdown"]}},
        _runs("flow_run_id"),
    ),
]


def _count(shown: set[str] | int, runs: set[str]) -> set[str] | int:
    """What an answer shows when it holds one item of each of `runs`."""
    return len(runs) if isinstance(shown, int) else runs


def test_every_read_of_runs_the_ui_makes_is_scoped() -> None:
    scoped = {(row.method, row.path) for row in READS if row.scope is not None}
    # and the list of forms, narrowed to those the person may start (tests/gate/test_gate_work.py)
    forms = {(row.method, row.path) for row in READS if row.scope == FORMS}
    assert forms == {("POST", "/api/deployments/filter"), ("POST", "/api/deployments/count")}
    assert scoped - forms == {
        *(("POST", path) for path, *_ in LISTED),
        ("POST", "/api/ui/flow_runs/count-task-runs"),
        ("POST", "/api/events/filter"),
        ("GET", "/api/flow_runs/{id}"),
        ("GET", "/api/flow_runs/{id}/graph-v2"),
        ("GET", "/api/flow_runs/{id}/input/{name}"),
        ("GET", "/api/artifacts/{id}"),
    }
    row = row_for(STAFF, "GET", "/api/flow_runs/694a6826-d415-42ba-a8a0-3ea224b1b0f9/input/x")
    assert row is not None and row.scope is not None


@pytest.mark.parametrize(
    ("path", "key", "criterion", "another", "seen"), LISTED, ids=[row[0] for row in LISTED]
)
def test_another_clerk_lists_none_of_a_clerks_runs(
    stack: Stack,
    path: str,
    key: str,
    criterion: str,
    another: dict[str, Any],
    seen: Callable[[Any], set[str] | int],
) -> None:
    mine = _traces(stack, CLERK, stack.submission, "cua-cb-18712")
    theirs = _traces(stack, OTHER_CLERK, stack.submission, "cua-cb-18673")
    naming = {criterion: {"any_": [mine.run]}}
    asked: dict[str, tuple[dict[str, Any], set[str]]] = {
        "everything": ({}, {theirs.run}),
        "an empty filter": ({key: None}, {theirs.run}),
        "the run by its id": ({key: naming}, set()),
        "its id in capitals": ({key: {criterion: {"any_": [mine.run.upper()]}}}, set()),
        "both runs": ({key: {criterion: {"any_": [mine.run, theirs.run]}}}, {theirs.run}),
        "or_": ({key: {"operator": "or_", **naming}}, set()),
        "or_ without the id": ({key: {"operator": "or_", **another}}, {theirs.run}),
    }
    with stack.browser(OTHER_CLERK) as browser:
        answers = {name: browser.post(path, json=body) for name, (body, _) in asked.items()}
        either = browser.post(path, json={key: {"operator": "or_", **naming, **another}})
    for name, (_, expected) in asked.items():
        answer = answers[name]
        assert answer.status_code == 200, (name, answer.text)
        assert mine.run not in answer.text and mine.mark not in answer.text, name
        shown = seen(answer.json())
        assert shown == _count(shown, expected), name
    # an `or_` the gate cannot join its restriction to is refused, not sent on
    assert either.status_code == 422
    assert either.json() == {"detail": OR_OF_SEVERAL}
    # the clerk lists their own run; an administrator everyone's
    with stack.browser(CLERK) as browser:
        own = seen(browser.post(path, json={}).json())
        named = seen(browser.post(path, json={key: naming}).json())
    assert own == named == _count(own, {mine.run})
    with stack.browser(ADMINISTRATOR) as browser:
        every = seen(browser.post(path, json={}).json())
    if isinstance(every, int):
        assert every >= 2  # the module's Prefect server keeps the runs of earlier tests
    else:
        assert {mine.run, theirs.run} <= every


@pytest.mark.parametrize(
    "path",
    [
        "/api/flow_runs/{run}",
        "/api/flow_runs/{run}/graph-v2",
        "/api/flow_runs/{run}/input/suspended-1-response",
        "/api/artifacts/{artifact}",
    ],
)
def test_another_clerk_opens_no_page_of_a_clerks_run(stack: Stack, path: str) -> None:
    mine = _traces(stack, CLERK, stack.submission, "cua-cb-18712")
    stack.start(OTHER_CLERK, stack.submission)
    address = path.format(run=mine.run, artifact=mine.artifact)
    with stack.browser(OTHER_CLERK) as browser:
        other = browser.get(address)
        capitals = browser.get(path.format(run=mine.run.upper(), artifact=mine.artifact.upper()))
    with stack.browser(CLERK) as browser:
        own = browser.get(address)
    with stack.browser(ADMINISTRATOR) as browser:
        administered = browser.get(address)
    # as if there were no such run: its existence is not told
    for refused in (other, capitals):
        assert refused.status_code == 404
        assert refused.json()["detail"] in (
            "Không tìm thấy lượt chạy này.",
            "Không tìm thấy artifact này.",
        )
        assert mine.mark not in refused.text
    assert own.status_code == administered.status_code == 200
    for opened in (own, administered):
        assert mine.run in opened.text or mine.mark in opened.text


def test_another_clerk_counts_no_task_run_of_a_clerks_run(stack: Stack) -> None:
    mine = _traces(stack, CLERK, stack.submission, "cua-cb-18712")
    theirs = _traces(stack, OTHER_CLERK, stack.submission, "cua-cb-18673")
    body = {"flow_run_ids": [mine.run, theirs.run]}
    with stack.browser(OTHER_CLERK) as browser:
        other = browser.post("/api/ui/flow_runs/count-task-runs", json=body)
    with stack.browser(ADMINISTRATOR) as browser:
        every = browser.post("/api/ui/flow_runs/count-task-runs", json=body)
    assert other.status_code == 200
    assert other.json() == {theirs.run: 1}
    assert every.json() == {mine.run: 1, theirs.run: 1}


def _events_of(stack: Stack, run: str) -> list[dict[str, Any]]:
    """The events the Prefect server holds about `run` (it records them a little after they
    happen: its own, the run's creation and scheduling)."""
    body = {"filter": {"any_resource": {"id": [f"prefect.flow-run.{run}"]}}}
    deadline = time.monotonic() + 90
    while True:
        events = stack.prefect.client.post("/api/events/filter", json=body).json()["events"]
        if events or time.monotonic() > deadline:
            return list(events)
        time.sleep(0.5)


def test_another_clerk_reads_no_event_of_a_clerks_run(stack: Stack) -> None:
    mine = stack.start(CLERK, stack.submission)
    theirs = stack.start(OTHER_CLERK, stack.submission)
    assert _events_of(stack, mine) and _events_of(stack, theirs)
    # what the run page asks (flow-run-graph), and everything
    page = {
        "filter": {
            "any_resource": {"id": [f"prefect.flow-run.{mine}"]},
            "event": {"exclude_prefix": ["prefect.log.write", "prefect.task-run."]},
            "order": "ASC",
        },
        "limit": 50,
    }
    with stack.browser(OTHER_CLERK) as browser:
        named = browser.post("/api/events/filter", json=page)
        everything = browser.post("/api/events/filter", json={})
        listed = browser.post("/api/events/filter", json={"filter": {"any_resource": []}})
    with stack.browser(CLERK) as browser:
        own = browser.post("/api/events/filter", json=page)
    for answer in (named, everything, listed):
        assert answer.status_code == 200, answer.text
        assert mine not in answer.text
    assert named.json()["events"] == []
    assert theirs in everything.text
    assert own.status_code == 200 and own.json()["events"]
    assert all(mine in json.dumps(event) for event in own.json()["events"])


@SQLITE
def test_a_person_who_started_nothing_reads_no_run_and_no_event(stack: Stack) -> None:
    mine = stack.start(CLERK, stack.submission)
    assert _events_of(stack, mine)
    with stack.browser(OTHER_CLERK) as browser:
        runs = browser.post("/api/flow_runs/filter", json={})
        events = browser.post("/api/events/filter", json={})
    assert runs.json() == []
    assert events.status_code == 200 and events.json()["events"] == []


@SQLITE
@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"flow_runs": []}',
        b'{"flow_runs": {"operator": "xor_"}}',
        b'{"flow_runs": {"id": []}}',
        b'{"flow_runs": {"id": {"any_": "x"}}}',
        b'{"flow_runs": {"id": {"any_": ["not-a-uuid"]}}}',
    ],
)
def test_a_body_the_gate_cannot_narrow_is_refused_in_one_line(stack: Stack, body: bytes) -> None:
    stack.start(CLERK, stack.submission)
    with stack.browser(CLERK) as browser:
        answer = browser.post(
            "/api/flow_runs/filter", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 422
    assert answer.json() == {"detail": MALFORMED}


def test_the_review_desks_officer_reads_their_own_runs_and_no_clerks(stack: Stack) -> None:
    review = _traces(stack, OFFICER, stack.review, "ho-so-xet-duyet")
    mine = _traces(stack, CLERK, stack.submission, "cua-cb-18712")
    by_key = {"artifacts": {"key": {"any_": ["ho-so-xet-duyet"]}}}
    with stack.browser(OFFICER) as browser:
        officers = browser.post("/api/flow_runs/filter", json={}).json()
        clerks_run = browser.get(f"/api/flow_runs/{mine.run}")
        clerks_answer = browser.get(f"/api/flow_runs/{mine.run}/input/suspended-1-response")
        desk = browser.post("/api/artifacts/filter", json=by_key).json()
    with stack.browser(CLERK) as browser:
        clerks = browser.post("/api/flow_runs/filter", json={}).json()
        desk_seen = browser.post("/api/artifacts/filter", json=by_key).json()
        desk_run = browser.get(f"/api/flow_runs/{review.run}")
    assert [run["id"] for run in officers] == [review.run]
    assert clerks_run.status_code == clerks_answer.status_code == 404
    assert [artifact["id"] for artifact in desk] == [review.artifact]
    assert [run["id"] for run in clerks] == [mine.run]
    assert desk_seen == []
    assert desk_run.status_code == 404

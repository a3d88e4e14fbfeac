"""One real Prefect stack for the whole test session: the one `scripts/run` starts, the gate
in front of it included, through which people start and resume runs."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import httpx
import pytest
from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import FlowRun
from prefect.events.worker import EventsWorker
from prefect.exceptions import PrefectHTTPStatusError
from prefect.flow_engine import run_flow_sync
from prefect.input.run_input import keyset_from_paused_state
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from prefect.states import Pending
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import Engine

import services.access
from flows.forms import FormSync, sync_forms
from gate.session import COOKIE
from models.storage.db import make_engine, upgrade
from services.settings import Settings
from tests.conftest import ROOT, load_registers, publish_seed

POOL = "dondoc"


def paused_form(run_id: Any, within: float = 120) -> tuple[dict[str, Any], str]:
    """The schema and description of the form a paused run waits on, once it is there.

    Prefect's `suspend_flow_run` proposes the Suspended state first and saves the form after
    it, so on a busy machine a run is seen paused before its form can be read or resumed
    (the server then answers 404, or rejects a resume: "Run input schema not found")."""
    deadline = time.monotonic() + within
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(UUID(str(run_id)))
            assert run.state is not None and run.state.is_paused(), run.state
            # where the UI reads the form: the keys the state names
            keys = run.state.state_details.run_input_keyset or keyset_from_paused_state(run.state)
            try:
                schema = client.read_flow_run_input(run.id, keys["schema"])
                description = client.read_flow_run_input(run.id, keys["description"])
            except PrefectHTTPStatusError as missing:
                if missing.response.status_code != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
                continue
            return json.loads(schema), json.loads(description)


@dataclass(frozen=True)
class PrefectStack:
    """A running server (`api_url`, which requires `auth_string`) and worker, the dondoc
    database the worker's flows write to, and the gate in front of the server (`gate_url`),
    over that database."""

    api_url: str
    auth_string: str
    engine: Engine
    database_url: str
    var: Path
    # what the worker's flow runs read from their environment
    flow_env: dict[str, str]
    gate_url: str
    settings: Settings
    sessions: dict[str, str] = field(default_factory=dict)

    def gate(self, person: str) -> httpx.Client:
        """A client of the gate, signed in as `person`."""
        client = httpx.Client(base_url=self.gate_url, timeout=120)
        client.cookies.set(COOKIE, self.session(person))
        return client

    def api(self) -> httpx.Client:
        """A client of the Prefect server itself, with its auth string (as the gate and the
        workers have it)."""
        credential = base64.b64encode(self.auth_string.encode()).decode()
        return httpx.Client(
            base_url=self.api_url, headers={"authorization": f"Basic {credential}"}, timeout=60
        )

    def session(self, person: str) -> str:
        """A live session of `person`, signed in with a code the operator printed (one per
        person for the whole test session: each costs two argon2 hashings)."""
        if person not in self.sessions:
            now = datetime.now(UTC)
            code = services.access.operator_code(self.settings, person, now=now, os_user="test")
            assert code is not None, person
            self.sessions[person] = services.access.sign_in(
                self.settings, person, code, now=now, address="127.0.0.1"
            )
        return self.sessions[person]

    def deployment_id(self, name: str) -> str:
        async def read() -> str:
            async with get_client() as client:
                return str((await client.read_deployment_by_name(name)).id)

        return run_coro_as_sync(read()) or ""

    def ask(
        self, deployment: str, person: str, *, here: bool = False, **parameters: Any
    ) -> httpx.Response:
        """What the form's Submit sends through the gate, signed in as `person`: the gate's
        answer. `here`: the run is created Pending, for `run_here` (the worker takes only
        Scheduled runs)."""
        body: dict[str, Any] = {"parameters": parameters, "job_variables": {}}
        if here:
            body["state"] = {"type": "PENDING"}
        path = f"/api/deployments/{self.deployment_id(deployment)}/create_flow_run"
        with self.gate(person) as client:
            return client.post(path, json=body)

    def start(
        self, deployment: str, person: str, *, here: bool = False, **parameters: Any
    ) -> FlowRun:
        """A run of `deployment` started through the gate by `person`."""
        created = self.ask(deployment, person, here=here, **parameters)
        assert created.status_code == 201, created.text
        return self.read_run(created.json()["id"])

    def granted(
        self, deployment: str, person: str, *, here: bool = False, **parameters: Any
    ) -> FlowRun:
        """A run created on the Prefect API directly, with the labels the gate sets and a real
        grant of `person` for it: what the gate's route table would refuse at its door (a unit
        it may not name, a desk that is not theirs), to show that the flow checks again."""
        deployment_id = self.deployment_id(deployment)
        key = services.access.grant_start(
            self.settings, person, deployment_id, now=datetime.now(UTC)
        )
        labels = {services.access.ACTOR_LABEL: person, services.access.GRANT_LABEL: key}
        return self.forged(deployment, labels, here=here, **parameters)

    def forged(
        self, deployment: str, labels: dict[str, str], *, here: bool = False, **parameters: Any
    ) -> FlowRun:
        """A run created on the Prefect API directly (as only the gate and the workers can),
        with whatever labels and parameters it is given."""

        async def create() -> FlowRun:
            async with get_client() as client:
                return await client.create_flow_run_from_deployment(
                    UUID(self.deployment_id(deployment)),
                    parameters=parameters,
                    labels=labels,
                    state=Pending() if here else None,
                )

        return cast(FlowRun, run_coro_as_sync(create()))

    def read_run(self, run_id: Any) -> FlowRun:
        with get_client(sync_client=True) as client:
            return client.read_flow_run(UUID(str(run_id)))

    def run_here(
        self,
        flow: Flow[..., Any],
        monkeypatch: pytest.MonkeyPatch,
        run: FlowRun | None = None,
        **parameters: Any,
    ) -> FlowRun:
        """A run of `flow` in this process, as the worker would run its deployment: the same
        parameters (checked and converted as the flow's signature says), the same server,
        database, folders and settings; the run as the server holds it once it has ended.
        `run`: that very run, created Pending (through the gate with `start(here=True)`, or
        on the API), with its parameters; otherwise a new run of the flow with `parameters`
        (a scheduled flow, which needs no person). For a flow's own logic; what only the
        worker shows (the deployment's entrypoint, a paused run resumed from the UI, runs
        queued together) stays with the deployments."""
        for name, value in self.flow_env.items():
            monkeypatch.setenv(name, value)
        if run is None:
            state = flow(**parameters, return_state=True)
        else:
            state = run_flow_sync(
                flow, flow_run=run, parameters=run.parameters, return_type="state"
            )
        return self.read_run(state.state_details.flow_run_id)

    def artifacts(self, run_id: Any) -> dict[str, Any]:
        """The artifacts a flow run left, by key."""

        async def read() -> list[Any]:
            async with get_client() as client:
                return await client.read_artifacts(
                    artifact_filter=ArtifactFilter(
                        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])
                    )
                )

        return {a.key: a for a in run_coro_as_sync(read()) or []}

    def sync(self, directive: str | None = None, requirement: str | None = None) -> FormSync:
        settings = Settings(database_url=self.database_url, work_pool=POOL, project_dir=ROOT)
        return cast(
            FormSync,
            run_coro_as_sync(sync_forms(settings, directive=directive, requirement=requirement)),
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


@pytest.fixture(scope="session")
def prefect_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    """The flow tests' stack (`serve_stack`), shared by the session."""
    yield from serve_stack(tmp_path_factory)


def serve_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    """`scripts/serve`, as `scripts/run` starts it (Prefect on its PostgreSQL behind its auth
    string, one process worker with the same limit and settings, the gate), on free ports,
    with the seed published."""
    var = tmp_path_factory.mktemp("serve")
    port, gate_port, pg_port, outputs_port, receiver_port = (_free_port() for _ in range(5))
    api_url = f"http://127.0.0.1:{port}/api"
    database_url = f"sqlite:///{var / 'dondoc.db'}"
    # Prefect's PostgreSQL keeps its data where the postgres user can reach it.
    pg_dir = Path(tempfile.gettempdir()) / f"dondoc-prefect-pg-{pg_port}"
    # what scripts/serve would default to, spelled out so that runs in this process read the
    # same as the worker's
    flow_env = {
        "DONDOC_DATABASE_URL": database_url,
        "DONDOC_PROJECT_DIR": str(ROOT),
        "DONDOC_WORK_POOL": POOL,
        "DONDOC_OUTBOX_DIR": str(var / "outbox"),
        "DONDOC_ANCHOR_DIR": str(var / "anchors"),
        "DONDOC_OUTPUTS_DIR": str(var / "outputs"),
        "DONDOC_OUTPUTS_URL": f"http://127.0.0.1:{outputs_port}/",
    }
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DONDOC_"))},
        "DONDOC_VAR_DIR": str(var),
        "DONDOC_PREFECT_PORT": str(port),
        "DONDOC_GATE_PORT": str(gate_port),
        "DONDOC_PREFECT_PG_PORT": str(pg_port),
        "DONDOC_OUTPUTS_PORT": str(outputs_port),
        "DONDOC_RECEIVER_PORT": str(receiver_port),
        "DONDOC_PREFECT_PG_DIR": str(pg_dir),
        **flow_env,
    }
    log = var / "serve.log"
    serve = subprocess.Popen(
        [str(ROOT / "scripts" / "serve")],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (var / "serve.ready").exists():
            if serve.poll() is not None:
                pytest.fail(
                    f"scripts/serve exited: {_tail(log)}\n{_tail(var / 'prefect-server.log')}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"scripts/serve was not ready within 300 s: {_tail(log)}")
            time.sleep(0.5)
        engine = make_engine(database_url)
        upgrade(engine)
        load_registers(engine)
        publish_seed(engine)
        gate_url = f"http://127.0.0.1:{gate_port}"
        # what the gate reads (as scripts/serve defaults it), for the operator's sign-in codes
        settings = Settings(
            database_url=database_url,
            outbox_dir=var / "outbox",
            project_dir=ROOT,
            sign_in_url=f"{gate_url}/dang-nhap",
        )
        # this process reaches the Prefect server as the operator's commands do
        auth_string = (var / "prefect-auth-string").read_text().strip()
        updates = {PREFECT_API_URL: api_url, PREFECT_API_AUTH_STRING: auth_string}
        with temporary_settings(updates=updates):  # type: ignore[arg-type]
            yield PrefectStack(
                api_url, auth_string, engine, database_url, var, flow_env, gate_url, settings
            )
            # the logs and events of the runs in this process reach the server before it
            # stops (or the process retries them for a minute at exit)
            APILogWorker.drain_all(timeout=60)
            EventsWorker.drain_all(timeout=60)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        subprocess.run(
            [str(ROOT / "scripts" / "pg-server"), "destroy"],
            env={**env, "DONDOC_PG_PORT": str(pg_port), "DONDOC_PG_DIR": str(pg_dir)},
            check=False,
        )

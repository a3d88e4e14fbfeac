"""One real Prefect server (and one process worker) for the whole test session."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import Engine

from flows.forms import sync_forms
from models.db import make_engine, upgrade
from tests.conftest import ROOT, load_registers, publish_seed

PREFECT = str(Path(os.sys.executable).parent / "prefect")
POOL = "dondoc-test"


@dataclass(frozen=True)
class PrefectStack:
    """A running server and worker, and the dondoc database the worker's flows write to."""

    api_url: str
    engine: Engine
    database_url: str

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

    def sync(self) -> list[str]:
        return (
            run_coro_as_sync(sync_forms(self.engine, work_pool=POOL, working_directory=str(ROOT)))
            or []
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the Prefect server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the Prefect server did not answer within 90 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def prefect_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    home = tmp_path_factory.mktemp("prefect")
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    database_url = f"sqlite:///{home / 'dondoc.db'}"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        "DONDOC_DATABASE_URL": database_url,
        "DONDOC_PROJECT_DIR": str(ROOT),
        "DONDOC_WORK_POOL": POOL,
    }
    server_log = home / "server.log"
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=server_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        _wait_healthy(api_url, server, server_log)
        subprocess.run(
            [PREFECT, "work-pool", "create", POOL, "--type", "process"],
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [PREFECT, "--no-prompt", "deploy", "--all"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", POOL, "--limit", "2"],
            env=env,
            stdout=(home / "worker.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        engine = make_engine(database_url)
        upgrade(engine)
        load_registers(engine)
        publish_seed(engine)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield PrefectStack(api_url, engine, database_url)
    finally:
        for process in (worker, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()

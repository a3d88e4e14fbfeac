"""A real Prefect server that requires its auth string, and the gate in front of it, served
by uvicorn on free ports: what a browser and a worker would reach. The server holds one work
pool and two deployments, a unit's submission form and the publishing form; no worker runs
(a started run stays Scheduled)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gate.app import create_app
from gate.routes import ADMIN, REVIEWER, STAFF
from gate.session import COOKIE, Person, session_cookie

AUTH_STRING = "prefect:kh0ng-ai-biet"
SECRET = "bi-mat-cua-cong-chi-dung-de-thu"
POOL = "dondoc"
CLERK = Person("cb.18712", STAFF)
OTHER_CLERK = Person("cb.18673", STAFF)
OFFICER = Person("svhttdl.an", REVIEWER)
ADMINISTRATOR = Person("admin.cx", ADMIN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    """The Prefect server (`prefect`: a client with its auth string, as a worker has it), the
    gate's address, and the ids of what the server holds."""

    prefect: httpx.Client
    gate_url: str
    submission: str  # the deployment of a unit's submission form
    publish: str  # the deployment of the publishing form

    def browser(self, person: Person | None) -> httpx.Client:
        """A client of the gate, signed in as `person` (or no one)."""
        cookies = {COOKIE: session_cookie(SECRET, person)} if person else {}
        return httpx.Client(base_url=self.gate_url, cookies=cookies, timeout=60)


def _create(client: httpx.Client, path: str, body: dict[str, Any]) -> str:
    response = client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("prefect-home")
    port, gate_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DONDOC_"))},
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_AUTH_STRING": AUTH_STRING,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    log = home / "server.log"
    prefect = Path(sys.executable).parent / "prefect"
    server = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    upstream = f"http://127.0.0.1:{port}"
    credential = "Basic " + base64.b64encode(AUTH_STRING.encode()).decode()
    client = httpx.Client(base_url=upstream, headers={"authorization": credential}, timeout=60)
    gate = uvicorn.Server(
        uvicorn.Config(
            create_app(upstream=upstream, auth_string=AUTH_STRING, secret=SECRET),
            host="127.0.0.1",
            port=gate_port,
            log_level="warning",
        )
    )
    serving = threading.Thread(target=gate.run, daemon=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Prefect server did not start: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        _create(client, "/api/work_pools/", {"name": POOL, "type": "process"})
        ids = {}
        for flow, name in (("nop-bao-cao", "1c · cam-xuyen-cchc-2024"), ("cong-bo-chi-thi",) * 2):
            flow_id = _create(client, "/api/flows/", {"name": flow})
            body = {"name": name, "flow_id": flow_id, "work_pool_name": POOL}
            ids[flow] = _create(client, "/api/deployments/", body)
        serving.start()
        while not gate.started:
            assert serving.is_alive(), "the gate did not start"
            time.sleep(0.05)
        gate_url = f"http://127.0.0.1:{gate_port}"
        yield Stack(client, gate_url, ids["nop-bao-cao"], ids["cong-bo-chi-thi"])
    finally:
        gate.should_exit = True
        if serving.is_alive():
            serving.join(timeout=30)
        client.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

"""A real Prefect server that requires its auth string (on the test PostgreSQL server, as the
quickstart has it), served once for all the gate's tests (each test counts from what it finds
there), and for each test the gate in front of it (uvicorn on a free port) over that test's
dondoc database (the seed district, on SQLite and PostgreSQL) and a real SMTP server: what a
browser and a worker would reach. The Prefect server holds one work pool and the deployments of
dondoc's forms (a requirement's submission, a unit's list, a directive's review desk,
publishing), which ask no one's name (the gate says who acts); no worker runs (a started run
stays Scheduled)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy import Engine, make_url

import services.access
from gate.app import create_app
from gate.session import COOKIE
from services.settings import Settings
from tests.smtp import Server, settings_for

AUTH_STRING = "prefect:kh0ng-ai-biet"
POOL = "dondoc"
CLERK = "cb.18712"  # staff of commune 18712
OTHER_CLERK = "cb.18673"
OFFICER = "vhtt.lan"  # the lead office of the seed directive: the review desk
ADMINISTRATOR = "admin.cx"
# The gate's clients are test code on 127.0.0.1 (uvicorn's view of them)
HERE = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Prefect:
    """The Prefect server (`client`: with its auth string, as a worker has it), its home
    (its log, and its SQLite database when there is no PostgreSQL), the ids of its
    deployments by flow, and its PostgreSQL database (a URL dondoc's engines take), if any."""

    client: httpx.Client
    home: Path
    deployments: dict[str, str]
    database: str | None = None

    def rows(self) -> str:
        """Every row of every table of the Prefect server's PostgreSQL database, as text."""
        if self.database is None:
            return ""
        engine = sa.create_engine(self.database)
        try:
            with engine.connect() as conn:
                tables = sa.inspect(conn).get_table_names()
                return "\n".join(
                    str(row[0])
                    for table in tables
                    for row in conn.exec_driver_sql(f'SELECT t::text FROM "{table}" t')
                )
        finally:
            engine.dispose()

    def runs(self) -> int:
        return int(self.client.post("/api/flow_runs/count", json={}).json())


@dataclass
class Clock:
    """The gate's clock: the real one, moved on by `ahead`."""

    ahead: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@dataclass(frozen=True)
class Stack:
    """The gate's address in front of the module's Prefect server, its settings (dondoc's
    database, the SMTP server) and clock."""

    prefect: Prefect
    url: str
    settings: Settings
    engine: Engine
    clock: Clock
    smtp: Server
    sessions: dict[str, str] = field(default_factory=dict)

    @property
    def submission(self) -> str:
        return self.prefect.deployments["nop-bao-cao"]

    @property
    def publish(self) -> str:
        return self.prefect.deployments["cong-bo-chi-thi"]

    @property
    def desk(self) -> str:
        return self.prefect.deployments["viec-cua-don-vi"]

    @property
    def review(self) -> str:
        return self.prefect.deployments["xet-duyet"]

    @property
    def received(self) -> str:
        return self.prefect.deployments["vao-so-bao-cao-den"]

    def browser(self, username: str | None = None) -> httpx.Client:
        """A client of the gate, signed in as `username` (with a code the operator printed,
        as the first administrator gets in) or as no one."""
        client = httpx.Client(base_url=self.url, timeout=60)
        if username is not None:
            client.cookies.set(COOKIE, self.session(username))
        return client

    def start(self, username: str, deployment: str, **body: object) -> str:
        """The id of a run `username` started through the gate (the form's Submit)."""
        with self.browser(username) as browser:
            created = browser.post(
                f"/api/deployments/{deployment}/create_flow_run", json={"parameters": {}, **body}
            )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def session(self, username: str) -> str:
        """A live session of `username` (one per test and person: each costs two argon2
        hashings)."""
        if username not in self.sessions:
            self.sessions[username] = self.new_session(username)
        return self.sessions[username]

    def new_session(self, username: str) -> str:
        now = self.clock.now()
        code = services.access.operator_code(self.settings, username, now=now, os_user="test")
        assert code is not None, username
        return services.access.sign_in(self.settings, username, code, now=now, address=HERE)


def post(client: httpx.Client, path: str, body: object) -> httpx.Response:
    """`body` posted to the Prefect server, again while its SQLite is busy (it answers 503
    when its own services write at the same moment)."""
    for _ in range(20):
        response = client.post(path, json=body)
        if response.status_code != 503:
            break
        time.sleep(0.2)
    return response


def _create(client: httpx.Client, path: str, body: dict[str, Any]) -> str:
    response = post(client, path, body)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def _schema(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


# The forms' deployments as flows/forms.py names them, each with its parameters' schema.
FORMS = {
    "nop-bao-cao": ("1c · cam-xuyen-cchc-2024", _schema()),
    "viec-cua-don-vi": ("viec-cua-don-vi", _schema(unit={"type": "string"})),
    "xet-duyet": ("Bàn xét duyệt · cam-xuyen-cchc-2024", _schema(unit={"type": "string"})),
    "vao-so-bao-cao-den": ("1c · cam-xuyen-cchc-2024", _schema(unit={"type": "string"})),
    "cong-bo-chi-thi": ("cong-bo-chi-thi", _schema()),
}


@contextmanager
def _prefect_database(port: int) -> Iterator[dict[str, str]]:
    """The Prefect server's own database: on the test PostgreSQL server when there is one, as
    the quickstart has it (on SQLite, Prefect answers 503 "database is locked" when a busy
    machine makes two requests overlap), a database of its own dropped afterwards; otherwise
    Prefect's SQLite file in its home."""
    url = os.environ.get("DONDOC_TEST_POSTGRES_URL")
    if not url:
        yield {}
        return
    name = f"dondoc_gate_prefect_{port}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        with sa.create_engine(make_url(url).set(database=name)).begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        prefect_url = make_url(url).set(drivername="postgresql+asyncpg", database=name)
        yield {
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_url.render_as_string(False),
            "DONDOC_TEST_PREFECT_DATABASE": make_url(url)
            .set(database=name)
            .render_as_string(False),
        }
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prefect]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    with _prefect_database(port) as database:
        yield from _prefect_server(home, port, database)


def _prefect_server(home: Path, port: int, database: dict[str, str]) -> Iterator[Prefect]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DONDOC_"))},
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_AUTH_STRING": AUTH_STRING,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        **{k: v for k, v in database.items() if k.startswith("PREFECT_")},
    }
    log = home / "server.log"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            *("server", "start", "--host", "127.0.0.1", "--port", str(port)),
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    credential = "Basic " + base64.b64encode(AUTH_STRING.encode()).decode()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"authorization": credential}, timeout=60
    )
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
        for flow, (name, schema) in FORMS.items():
            body = {
                "name": name,
                "flow_id": _create(client, "/api/flows/", {"name": flow}),
                "work_pool_name": POOL,
                "parameter_openapi_schema": schema,
                "parameters": {"directive": "cam-xuyen-cchc-2024"} if flow == "xet-duyet" else {},
                "tags": ["cam-xuyen-cchc-2024", flow],  # as dondoc's forms have theirs
            }
            ids[flow] = _create(client, "/api/deployments/", body)
        yield Prefect(client, home, ids, database.get("DONDOC_TEST_PREFECT_DATABASE"))
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def stack(prefect: Prefect, seeded: Engine, smtp: Server) -> Iterator[Stack]:
    clock = Clock()
    settings = settings_for(seeded, smtp, sign_in_url="http://127.0.0.1/dang-nhap")
    port = free_port()
    gate = uvicorn.Server(
        uvicorn.Config(
            create_app(
                settings=settings,
                upstream=str(prefect.client.base_url).rstrip("/"),
                auth_string=AUTH_STRING,
                now=clock.now,
            ),
            host="127.0.0.1",
            port=port,
            log_level="info",
        )
    )
    serving = threading.Thread(target=gate.run, daemon=True)
    serving.start()
    try:
        while not gate.started:
            assert serving.is_alive(), "the gate did not start"
            time.sleep(0.02)
        yield Stack(prefect, f"http://127.0.0.1:{port}", settings, seeded, clock, smtp)
    finally:
        gate.should_exit = True
        serving.join(timeout=30)
        settings.engine().dispose()

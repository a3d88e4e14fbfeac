"""Shared fixtures: a fresh dondoc database per test, on SQLite and (when configured) on
PostgreSQL, and the seed district loaded into it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

from models.files.directive import load_directive
from models.files.registry import read_actors, read_units
from models.rules.workdays import WorkCalendar
from models.storage import publishing, reference
from models.storage.db import make_engine, transaction, upgrade
from tests.smtp import Server

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "directives" / "units" / "cam-xuyen-2024.csv"
ACTORS = ROOT / "directives" / "actors" / "cam-xuyen-2024.csv"
SEED = ROOT / "directives" / "cam-xuyen-cchc-2024.yaml"
# due on fixed days of the period's months, before the periods end (date-in-period)
MINISTRY = ROOT / "tests" / "store" / "ministry-regime-2024.yaml"
NOW = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
CALENDAR = WorkCalendar()
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The flow tests first, the burst before the others: under `pytest -n` the longest
    groups start at once, and the rest fills in around them."""
    items.sort(key=lambda item: (item.path.parent.name != "flows", item.path.stem != "test_burst"))


class SharedStacks(LoadScopeScheduling):
    """Under `pytest -n`, the tests that share a Prefect stack run in one worker, which starts
    it once: the burst on its own stack, the other flow tests on the session's, and the gate's
    tests on their Prefect server. Every other module goes to whichever worker is free, in the
    order collected (`--no-loadscope-reorder`: xdist would otherwise start the modules with
    the most tests first, and the flow tests last)."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::")[0]
        folder = module.split("/")[1]
        if module == "tests/flows/test_burst.py":
            return "burst"
        return folder if folder in ("flows", "gate") else module


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> SharedStacks:
    return SharedStacks(config, log)


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's cache folder (DONDOC_CACHE_DIR, which the commands and flows it starts
    inherit): the tests leave the user's own cache alone."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DONDOC_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server `scripts/test` starts; required there, optional elsewhere."""
    url = os.environ.get("DONDOC_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("DONDOC_REQUIRE_POSTGRES") == "1":
            pytest.fail("DONDOC_TEST_POSTGRES_URL is not set but PostgreSQL tests are required")
        pytest.skip("no PostgreSQL server: run scripts/test, or set DONDOC_TEST_POSTGRES_URL")
    return url


# What a test's database holds when it starts, by the fixture the test asks for: `engine`
# (migrated), `registered` (and the seed district's registers) or `seeded` (and the seed
# directive published). Each is built once per session, the way those fixtures say, and every
# test gets its own copy of it.
STAGES = ("engine", "registered", "seeded")


def _build(engine: Engine, stage: str) -> None:
    upgrade(engine)
    if stage in ("registered", "seeded"):
        load_registers(engine)
    if stage == "seeded":
        publish_seed(engine)


def _stage(request: pytest.FixtureRequest) -> str:
    """The furthest stage the test's fixtures ask for."""
    return max((s for s in STAGES if s in request.fixturenames), key=STAGES.index)


@pytest.fixture(scope="session")
def postgres_templates(postgres_url: str) -> Iterator[Callable[[str], str]]:
    """The template database of each stage, built when a test first needs it; each test's
    database is copied from one."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    built: dict[str, str] = {}

    def template(stage: str) -> str:
        if stage not in built:
            name = f"dondoc_template_{stage}_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
            built[stage] = name
            engine = make_engine(_with_database(postgres_url, name))
            _build(engine, stage)
            engine.dispose()
        return built[stage]

    yield template
    with admin.connect() as conn:
        for name in built.values():
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The SQLite file of each stage, built when a test first needs it; each test's database
    is a copy of one."""
    built: dict[str, Path] = {}

    def template(stage: str) -> Path:
        if stage not in built:
            path = tmp_path_factory.mktemp("template") / f"{stage}.db"
            engine = make_engine(f"sqlite:///{path}")
            _build(engine, stage)
            engine.dispose()
            # the last connection's close checkpointed the log into the file: copy it alone
            assert not path.with_name(f"{path.name}-wal").exists(), path
            built[stage] = path
        return built[stage]

    return template


def _with_database(url: str, name: str) -> str:
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def _postgres_engine(request: pytest.FixtureRequest, stage: str) -> Iterator[Engine]:
    url = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("postgres_templates")(stage)
    name = f"dondoc_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
    engine = make_engine(_with_database(url, name))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated dondoc database (holding more if the test asks for `registered`
    or `seeded`)."""
    stage = _stage(request)
    if request.param == "postgresql":
        yield from _postgres_engine(request, stage)
        return
    path = tmp_path / "dondoc.db"
    shutil.copyfile(request.getfixturevalue("sqlite_templates")(stage), path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def load_registers(engine: Engine) -> None:
    """The seed district's units and actors."""
    reference.import_units(engine, read_units(UNITS))
    with transaction(engine, writes=False) as conn:
        known = reference.unit_codes(conn)
    reference.import_actors(engine, read_actors(ACTORS, known))


def publish_seed(engine: Engine, as_of: date = date(2024, 12, 31)) -> publishing.PublishReport:
    return publishing.publish(
        engine,
        load_directive(SEED),
        source=str(SEED),
        actor="admin.cx",
        as_of=as_of,
        now=NOW,
        calendar=CALENDAR,
    )


@pytest.fixture
def registered(engine: Engine) -> Engine:
    """A database holding the seed district's units and actors (loaded as `load_registers`
    loads them, once per session, and copied)."""
    return engine


@pytest.fixture
def seeded(registered: Engine) -> Engine:
    """The seed directive published for the whole of 2024 (as `publish_seed` publishes it,
    once per session, and copied)."""
    return registered


def count(engine: Engine, table: str) -> int:
    with transaction(engine, writes=False) as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def obligation_id(engine: Engine, requirement: str, unit: str, period: str) -> int:
    """The id of one obligation of the seed directive."""
    with transaction(engine, writes=False) as conn:
        return conn.execute(
            sa.text(
                "SELECT o.id FROM obligation o JOIN requirement r ON r.id = o.requirement_id "
                "WHERE r.code = :r AND o.unit_code = :u AND o.period_key = :p"
            ),
            {"r": requirement, "u": unit, "p": period},
        ).scalar_one()


@pytest.fixture
def smtp() -> Iterator[Server]:
    """A real SMTP server on 127.0.0.1 for the test, keeping what it accepts."""
    server = Server()
    server.start()
    yield server
    server.stop()

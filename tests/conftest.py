"""Shared fixtures: a fresh dondoc database per test, on SQLite and (when configured) on
PostgreSQL, and the seed district loaded into it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models import publishing, reference
from models.db import make_engine, transaction, upgrade
from models.directive import load_directive
from models.registry import read_actors, read_units
from models.workdays import WorkCalendar

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "directives" / "units" / "cam-xuyen-2024.csv"
ACTORS = ROOT / "directives" / "actors" / "cam-xuyen-2024.csv"
SEED = ROOT / "directives" / "cam-xuyen-cchc-2024.yaml"
# due on fixed days of the period's months, before the periods end (date-in-period)
MINISTRY = ROOT / "tests" / "store" / "ministry-regime-2024.yaml"
NOW = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
CALENDAR = WorkCalendar()
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server `scripts/test` starts; required there, optional elsewhere."""
    url = os.environ.get("DONDOC_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("DONDOC_REQUIRE_POSTGRES") == "1":
            pytest.fail("DONDOC_TEST_POSTGRES_URL is not set but PostgreSQL tests are required")
        pytest.skip("no PostgreSQL server: run scripts/test, or set DONDOC_TEST_POSTGRES_URL")
    return url


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    """A migrated database that each test's database is copied from."""
    name = f"dondoc_template_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    template = make_engine(_with_database(postgres_url, name))
    upgrade(template)
    template.dispose()
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    admin.dispose()


def _with_database(url: str, name: str) -> str:
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def _postgres_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    url = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("postgres_template")
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
    """An empty, migrated dondoc database."""
    if request.param == "postgresql":
        yield from _postgres_engine(request)
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'dondoc.db'}")
    upgrade(engine)
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
    """A database holding the seed district's units and actors."""
    load_registers(engine)
    return engine


@pytest.fixture
def seeded(registered: Engine) -> Engine:
    """The seed directive published for the whole of 2024."""
    publish_seed(registered)
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

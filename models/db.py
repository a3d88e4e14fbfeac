"""Engines and transactions for SQLite and PostgreSQL, and schema migrations."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from models.errors import DatabaseNotReady

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine with dondoc's guarantees: on SQLite, WAL, synchronous FULL, foreign keys,
    a busy timeout and `BEGIN IMMEDIATE` for transactions that write."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writes = conn.get_execution_options().get("dondoc_writes", True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


@contextmanager
def transaction(engine: Engine, *, writes: bool = True) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back if it raises.

    On SQLite a writing transaction takes the write lock at its start (`BEGIN IMMEDIATE`), so
    what it reads cannot change before it commits and it never fails half-way with a lock."""
    with engine.connect() as conn:
        conn.execution_options(dondoc_writes=writes)
        with conn.begin():
            yield conn


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector while a bulk run builds and writes rows: they hold no
    reference cycles (reference counting frees them), and collecting hundreds of thousands of
    young tuples again and again took a fifth of a national publish."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def driver_mark(conn: Connection) -> str:
    """The driver's parameter marker, for statements sent straight to its executemany."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def converter(conn: Connection, column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a value becomes what the driver stores for `column` (a date or time becomes what
    SQLAlchemy itself would send), or None where the driver takes the value as it is; for
    rows handed to the driver's executemany. It is not called with None."""
    dialect = conn.dialect
    convert: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return convert


def binder(conn: Connection, column: Column[Any]) -> Callable[[Any], Any]:
    """`converter` for any value, None included."""
    convert = converter(conn, column)
    return (lambda v: None if v is None else convert(v)) if convert else (lambda v: v)


def _migrations() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def _revisions() -> tuple[str | None, frozenset[str]]:
    """The newest migration, and every migration this code knows."""
    script = ScriptDirectory.from_config(_migrations())
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


def ready_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine on a database that `upgrade` brought to the newest migration; otherwise
    DatabaseNotReady, before anything is written (an SQLite file that does not exist is not
    created)."""
    shown = make_url(url).render_as_string(hide_password=True)
    not_set_up = f"the database at {shown} is not set up: run `dondoc db upgrade`"
    file = _sqlite_file(url)
    if file is not None and not file.exists():
        raise DatabaseNotReady(not_set_up)
    engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
    try:
        with transaction(engine, writes=False) as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        engine.dispose()
        reason = " ".join(str(exc.orig).split())
        raise DatabaseNotReady(f"cannot connect to {shown}: {reason}") from None
    head, known = _revisions()
    if current == head:
        return engine
    engine.dispose()
    if current is None:
        raise DatabaseNotReady(not_set_up)
    if current in known:
        raise DatabaseNotReady(
            f"the database at {shown} is at schema revision {current}, this dondoc needs "
            f"{head}: run `dondoc db upgrade`"
        )
    raise DatabaseNotReady(
        f"the database at {shown} is at schema revision {current}, which this dondoc does not "
        f"know (its newest is {head}): run the dondoc that migrated it"
    )


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    config = _migrations()
    with engine.connect() as conn:
        conn.execution_options(dondoc_writes=True)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()

"""Engines and transactions for SQLite and PostgreSQL, and schema migrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Column,
    Connection,
    Dialect,
    Engine,
    Select,
    column,
    create_engine,
    event,
    inspect,
    select,
    table,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import PoolProxiedConnection

from models.errors import DatabaseNotReady

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# The newest migration, which every command but `dondoc db upgrade` needs the database at: a
# migration added sets it (tests/store/test_schema.py checks it is Alembic's head). Alembic
# itself, a tenth of a second to import, is loaded only to migrate or to explain a mismatch.
HEAD = "0013"
# Alembic's record of the migration a database is at.
_VERSION = table("alembic_version", column("version_num"))


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _shown(url: str | URL) -> str:
    """A database URL as errors show it, without its password."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine with dondoc's guarantees: on SQLite, WAL, synchronous FULL, foreign keys,
    a busy timeout and `BEGIN IMMEDIATE` for transactions that write. An SQLite file that
    is a folder, or whose folder cannot be created, is DatabaseNotReady."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    file = _sqlite_file(url)
    if file is not None:
        if file.is_dir():
            raise DatabaseNotReady(
                f"the database at {_shown(url)} is a folder, not a database file"
            )
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseNotReady(
                f"cannot create the database at {_shown(url)}: {exc.strerror}"
            ) from None
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
        _begin_sqlite(
            conn.connection, writes=conn.get_execution_options().get("dondoc_writes", True)
        )

    return engine


def _begin_sqlite(connection: PoolProxiedConnection, *, writes: bool) -> None:
    """Start an SQLite transaction on the driver's connection: one that writes takes the write
    lock at once."""
    with closing(connection.cursor()) as cursor:
        cursor.execute("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextmanager
def transaction(engine: Engine, *, writes: bool = True) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back if it raises.

    On SQLite a writing transaction takes the write lock at its start (`BEGIN IMMEDIATE`), so
    what it reads cannot change before it commits and it never fails half-way with a lock."""
    with engine.connect() as conn:
        conn.execution_options(dondoc_writes=writes)
        with conn.begin():
            yield conn


class Driver(NamedTuple):
    """A driver connection checked out of an engine's pool, and the engine's dialect."""

    dialect: Dialect
    connection: PoolProxiedConnection


@contextmanager
def driver_transaction(engine: Engine) -> Iterator[Driver]:
    """A writing transaction on a driver connection from the engine's pool, committed when the
    block ends and rolled back if it raises; it begins as `transaction` does (psycopg begins
    by itself). For the ledger's commands, whose few statements go straight to the driver:
    SQLAlchemy's Connection and Transaction around them cost more than the statements."""
    connection = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            _begin_sqlite(connection, writes=True)
        try:
            yield Driver(engine.dialect, connection)
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
    finally:
        connection.close()


class _Compiled:
    """A query compiled for one dialect: its SQL, how its values are bound, how its row
    comes out."""

    def __init__(self, query: Select[Any], dialect: Dialect) -> None:
        compiled = query.compile(dialect=dialect)
        self.sql = compiled.string
        # The query's own constants, with its parameters unset, and their order where the
        # driver takes them by position.
        self.fixed = compiled.params
        self.order = compiled.positiontup
        processors = (
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in query.selected_columns
        )
        self.processors = [(i, p) for i, p in enumerate(processors) if p is not None]

    def params(self, values: Mapping[str, Any]) -> Any:
        bound = {**self.fixed, **values}
        return bound if self.order is None else tuple(bound[name] for name in self.order)

    def result(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for i, process in self.processors:
            values[i] = process(values[i])
        return values


class DriverQuery:
    """A query built with SQLAlchemy, compiled once per dialect, that runs on a `Driver`'s
    cursor: its row comes out as SQLAlchemy gives it, each column through its type's result
    processor (on SQLite, dates and times are stored as text). The values bound must need no
    processor on either driver (ids, text)."""

    def __init__(self, query: Select[Any]) -> None:
        self.query = query
        self.compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def first(self, driver: Driver, **values: Any) -> list[Any] | None:
        """The first row the query reads with these values, or None."""
        compiled = self.compiled.get(driver.dialect)
        if compiled is None:
            compiled = self.compiled[driver.dialect] = _Compiled(self.query, driver.dialect)
        with closing(driver.connection.cursor()) as cursor:
            cursor.execute(compiled.sql, compiled.params(values))
            row = cursor.fetchone()
        return None if row is None else compiled.result(row)


def driver_mark(dialect: Dialect) -> str:
    """The driver's parameter marker, for statements sent straight to its executemany."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def converter(dialect: Dialect, column: Column[Any]) -> Callable[[Any], Any] | None:
    """How a value becomes what the driver stores for `column` (a date or time becomes what
    SQLAlchemy itself would send), or None where the driver takes the value as it is; for
    rows handed to the driver's executemany. It is not called with None."""
    convert: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return convert


def binder(dialect: Dialect, column: Column[Any]) -> Callable[[Any], Any]:
    """`converter` for any value, None included."""
    convert = converter(dialect, column)
    return (lambda v: None if v is None else convert(v)) if convert else (lambda v: v)


def _migrations() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def revisions() -> tuple[str | None, frozenset[str]]:
    """The newest migration, and every migration this code knows, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_migrations())
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


def _current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None if it has none); DatabaseNotReady if it cannot
    be reached or is not a database (a text file as the SQLite file), with nothing written."""
    try:
        with transaction(engine, writes=False) as conn:
            if not inspect(conn).has_table(_VERSION.name):
                return None
            current: str | None = conn.execute(select(_VERSION.c.version_num)).scalar()
            return current
    except DatabaseError as exc:
        engine.dispose()
        reason = " ".join(str(exc.orig).split())
        raise DatabaseNotReady(f"cannot connect to {_shown(engine.url)}: {reason}") from None


def ready_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine on a database that `upgrade` brought to the newest migration; otherwise
    DatabaseNotReady, before anything is written (an SQLite file that does not exist is not
    created)."""
    shown = _shown(url)
    not_set_up = f"the database at {shown} is not set up: run `dondoc db upgrade`"
    file = _sqlite_file(url)
    if file is not None and not file.exists():
        raise DatabaseNotReady(not_set_up)
    engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
    current = _current_revision(engine)
    if current == HEAD:
        return engine
    engine.dispose()
    if current is None:
        raise DatabaseNotReady(not_set_up)
    head, known = revisions()
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
    """Bring the schema to the newest migration; DatabaseNotReady, before any migration
    runs, if the database cannot be reached or is not a database."""
    from alembic import command

    _current_revision(engine)
    config = _migrations()
    with engine.connect() as conn:
        conn.execution_options(dondoc_writes=True)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()

"""Reference data in the database: the unit and actor registers (upserted, not event-sourced)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import date
from importlib import import_module
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from models.errors import InputError, Refused
from models.files.registry import (
    ActorRow,
    UnitRow,
    add_version,
    heir_on,
    histories,
    life,
    version_on,
)
from models.storage.db import transaction
from models.storage.tables import ACTOR, DIRECTIVE, UNIT, UNIT_VERSION


def upsert(conn: Connection, table: sa.Table, key: str, rows: Sequence[dict[str, object]]) -> None:
    """Insert rows, or update the ones whose key exists, in one executemany statement. Only the
    rows' own columns are updated: what the register does not hold (the moment an
    administrator disabled a person) stays as it is."""
    if not rows:
        return
    # the insert of the connection's own dialect (sqlite or postgresql, loaded with its engine,
    # both with on_conflict_do_update): a command on SQLite need not import PostgreSQL's
    dialect = import_module(f"sqlalchemy.dialects.{conn.dialect.name}")
    stmt = dialect.insert(table)
    updates = {name: stmt.excluded[name] for name in rows[0] if name != key}
    conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=updates), list(rows))


def unit_codes(conn: Connection) -> set[str]:
    return set(conn.execute(sa.select(UNIT.c.code)).scalars())


def published_codes(conn: Connection) -> list[str]:
    """The codes of the published directives, in order."""
    return list(
        conn.execute(
            sa.select(DIRECTIVE.c.code)
            .where(DIRECTIVE.c.status == "published")
            .order_by(DIRECTIVE.c.code)
        ).scalars()
    )


# The unit register's columns in UnitRow's order (see `unit_row`).
UNIT_COLUMNS = tuple(UNIT.c[field.name] for field in fields(UnitRow))


def unit_row(values: Sequence[Any]) -> UnitRow:
    """A unit from the values of UNIT_COLUMNS (its tags are stored as JSON)."""
    code, name, kind, parent, tags, *rest = values
    return UnitRow(code, name, kind, parent, tuple(json.loads(tags)), *rest)


# One unit by its code (`code`), as `unit_row` reads it.
UNIT_BY_CODE = sa.select(*UNIT_COLUMNS).where(UNIT.c.code == sa.bindparam("code"))


def load_units(conn: Connection) -> list[UnitRow]:
    """The whole unit register, for selecting who owes what."""
    rows = conn.execute(sa.select(*UNIT_COLUMNS).order_by(UNIT.c.code)).all()
    # a register holds a few sets of tags, each decoded once: one decoding per unit took as
    # long as reading the register
    tags = {text: tuple(json.loads(text)) for text in {r.tags for r in rows}}
    return [
        UnitRow(code, name, kind, parent, tags[text], *rest)
        for code, name, kind, parent, text, *rest in rows
    ]


# The earlier versions of units that continue under their code, in UnitRow's order (no
# successor: a version that ends passes nothing on, its unit goes on).
VERSION_COLUMNS = tuple(
    UNIT_VERSION.c[f.name] if f.name in UNIT_VERSION.c else sa.null() for f in fields(UnitRow)
)


def load_versions(conn: Connection, code: str | None = None) -> list[UnitRow]:
    """The earlier versions of unit `code` (of every unit without it), as `unit_row` reads
    them: a few rows a unit that continued under its code, none for the others."""
    query = sa.select(*VERSION_COLUMNS)
    if code is not None:
        query = query.where(UNIT_VERSION.c.code == code)
    return [unit_row(r) for r in conn.execute(query)]


# Units by their codes (`codes`), and their successors, with each of their earlier versions,
# one row each (a unit's row alone, its version columns NULL, if it has none): what `Units`
# reads.
_CODES: sa.BindParameter[list[str]] = sa.bindparam("codes", expanding=True)
UNITS_WITH_VERSIONS = (
    sa.select(*UNIT_COLUMNS, *VERSION_COLUMNS)
    .select_from(UNIT.outerjoin(UNIT_VERSION, UNIT_VERSION.c.code == UNIT.c.code))
    .where(
        sa.or_(
            UNIT.c.code.in_(_CODES),
            UNIT.c.code.in_(sa.select(UNIT.c.successor_code).where(UNIT.c.code.in_(_CODES))),
        )
    )
)


class Units:
    """A few units of the register with their versions, as a report reads its offices: the
    units asked for together, with their successors, in one query, each code once (on
    PostgreSQL each read is a round trip, and who holds an office's role is found along its
    successors)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[str, UnitRow | None] = {}
        self.versions: dict[str, list[UnitRow]] = {}

    def read(self, *codes: str) -> None:
        """Read the units of these codes not read yet, and their successors, in one query."""
        wanted = [code for code in dict.fromkeys(codes) if code not in self.rows]
        if not wanted:
            return
        width = len(UNIT_COLUMNS)
        rows: dict[str, UnitRow] = {}
        earlier = []
        for values in self.conn.execute(UNITS_WITH_VERSIONS, {"codes": wanted}):
            if values[0] not in rows:
                rows[values[0]] = unit_row(values[:width])
            if values[width] is not None:
                earlier.append(unit_row(values[width:]))
        self.versions.update(histories(rows.values(), earlier))
        self.rows.update(dict.fromkeys(wanted) | rows)

    def row(self, code: str) -> UnitRow | None:
        """Unit `code` as its register row holds it, None if the register lacks it."""
        self.read(code)
        return self.rows[code]

    def on(self, code: str, day: date) -> UnitRow | None:
        """The version of unit `code` in force on `day` (see `unit_on`)."""
        self.read(code)
        versions = self.versions.get(code)
        return None if versions is None else version_on(versions, day)

    def holder(self, code: str, day: date) -> str | None:
        """Who holds `code`'s role on `day` (see `holder_on`)."""
        return holder_in(self.row, code, day)


def unit_on(conn: Connection, code: str, day: date) -> UnitRow | None:
    """The version of unit `code` in force on `day` (see `version_on`): a document about 2024
    names a commune as it was named then, whatever it is called now."""
    return Units(conn).on(code, day)


class UnitThen:
    """A unit table in a query (UNIT or an alias of it) as `unit_on` reads it on `day`, a
    date of the query (NULL: as it is now): outer-joined to the earlier version in force then,
    if it has one (the one ending first after the day), whose columns then stand for the
    row's. A join rather than a subquery per row and column: PostgreSQL ran those for every
    line of a national report, which took as long as reading the lines."""

    def __init__(self, unit: sa.FromClause, day: sa.ColumnElement[Any]) -> None:
        self.unit = unit
        self.version = UNIT_VERSION.alias()
        sooner = UNIT_VERSION.alias()
        self.onclause = sa.and_(
            self.version.c.code == unit.c.code,
            self.version.c.valid_until > day,
            ~sa.exists().where(
                sooner.c.code == unit.c.code,
                sooner.c.valid_until > day,
                sooner.c.valid_until < self.version.c.valid_until,
            ),
        )

    def join(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """`query`, which selects from the unit table, with its version on the day joined."""
        return query.outerjoin(self.version, self.onclause)

    def column(self, name: str) -> sa.ColumnElement[Any]:
        """The unit's `name` column (its name, kind, parent_code or tags) on the day."""
        return sa.case(
            (self.version.c.code.is_(None), self.unit.c[name]), else_=self.version.c[name]
        )


def holder_on(conn: Connection, code: str, day: date) -> str | None:
    """The unit that holds `code`'s role on `day` (see `heir_on`), reading only its line of
    successors."""
    return holder_in(
        lambda step: unit_or_none(conn.execute(UNIT_BY_CODE, {"code": step}).first()), code, day
    )


def unit_or_none(values: Sequence[Any] | None) -> UnitRow | None:
    """`unit_row`, or None for no row."""
    return None if values is None else unit_row(values)


def holder_in(unit: Callable[[str], UnitRow | None], code: str, day: date) -> str | None:
    """`holder_on` with the register read by `unit` (a unit by its code, None if absent)."""
    chain: dict[str, UnitRow] = {}
    step: str | None = code
    while step is not None and step not in chain:
        row = unit(step)
        if row is None:
            break
        chain[step] = row
        step = row.successor_code
    heir = heir_on(chain, chain[code], day) if code in chain else None
    return heir.code if heir is not None else None


def import_units(engine: Engine, units: Sequence[UnitRow]) -> list[tuple[UnitRow, UnitRow]]:
    """Upsert validated units, each row read into the versions its code has (`add_version`):
    a unit's row holds its latest version over its whole life, `unit_version` the earlier
    ones. Parents and successors may come later in the same file, so rows go in first without
    those links and the links are set in a second statement. Returns the units this import
    continues under their code (the version that ends, the one that follows it), for the
    register's keeper to see."""
    with transaction(engine) as conn:
        # the whole register and its few versions, not an IN list a national file overflows
        earlier = load_versions(conn)
        stored = histories(load_units(conn), earlier)
        were = {code: {v.valid_from for v in held[1:]} for code, held in stored.items()}
        for unit in units:
            try:
                stored[unit.code] = add_version(stored.get(unit.code, []), unit)
            except ValueError as exc:
                raise InputError("units", unit.code, unit.valid_from, str(exc)) from None
        lives = [life(stored[code]) for code in dict.fromkeys(u.code for u in units)]
        upsert(
            conn,
            UNIT,
            "code",
            [{**u.as_record(), "parent_code": None, "successor_code": None} for u in lives],
        )
        links = [{"c": u.code, "p": u.parent_code, "s": u.successor_code} for u in lives]
        if links:
            conn.execute(
                UNIT.update()
                .where(UNIT.c.code == sa.bindparam("c"))
                .values(parent_code=sa.bindparam("p"), successor_code=sa.bindparam("s")),
                links,
            )
        continued = {v.code for v in earlier} | {c for c, held in stored.items() if held[1:]}
        conn.execute(UNIT_VERSION.delete().where(UNIT_VERSION.c.code.in_(sorted(continued))))
        rows = [
            {k: v for k, v in version.as_record().items() if k != "successor_code"}
            for code in sorted(continued)
            for version in stored[code][:-1]
        ]
        if rows:
            conn.execute(UNIT_VERSION.insert(), rows)
    return [
        (before, after)
        for code in sorted(continued)
        for before, after in pairwise(stored[code])
        if after.valid_from not in were.get(code, set())
    ]


def import_actors(engine: Engine, actors: Sequence[ActorRow]) -> list[tuple[str, str, str]]:
    """Upsert validated actors; returns those it moved to another unit (username, the unit
    they acted for, the new one), for the register's keeper to see."""
    with transaction(engine) as conn:
        # the whole register (one short row a person), not an IN list a national file overflows
        was = {
            r.username: r.unit_code
            for r in conn.execute(sa.select(ACTOR.c.username, ACTOR.c.unit_code))
        }
        upsert(conn, ACTOR, "username", [a.as_record() for a in actors])
    return [
        (a.username, was[a.username], a.unit_code)
        for a in actors
        if was.get(a.username, a.unit_code) != a.unit_code
    ]


def add_actor(engine: Engine, actor: ActorRow, *, move: bool) -> str | None:
    """Create or update one actor; the unit they acted for until now if this moves them to
    another one, which only `move` allows (a typo in a username must not quietly take
    someone else's place)."""
    with transaction(engine) as conn:
        was = conn.execute(
            sa.select(ACTOR.c.unit_code).where(ACTOR.c.username == actor.username)
        ).scalar()
        moved = was if was is not None and was != actor.unit_code else None
        if moved is not None and not move:
            raise Refused(
                f"actors add: {actor.username} already acts for unit {moved}; to move them to "
                f"{actor.unit_code}, add --move"
            )
        upsert(conn, ACTOR, "username", [actor.as_record()])
    return moved

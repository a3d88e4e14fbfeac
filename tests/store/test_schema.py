"""The migrations build exactly the tables the code declares, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

import models.storage.tables  # noqa: F401  (declares the tables on SQLModel's metadata)
from models.storage.db import HEAD, revisions


def test_the_migrated_schema_is_the_declared_one(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert differences == []


def test_every_command_expects_the_newest_migration() -> None:
    head, _ = revisions()
    assert head == HEAD, f"a migration was added: set models.storage.db.HEAD to {head!r}"

"""The database: its schema brought up to date, and the log verified, its projection rebuilt
and its state anchored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from models.storage import ledger
from models.storage.db import upgrade
from services.settings import Settings


def verify(settings: Settings) -> tuple[int, list[ledger.Problem]]:
    """Check every hash chain and that the projection matches the log: the events read and
    the problems found."""
    return ledger.verify(settings.engine())


def rebuild(settings: Settings) -> tuple[int, int]:
    """Recompute every obligation's current state from the log: the obligations replayed and
    the projection rows corrected."""
    return ledger.rebuild(settings.engine())


def anchor_log(settings: Settings, *, now: datetime) -> tuple[ledger.Anchor, Path]:
    """Take the log's anchor and keep it in a file of its own under the anchor folder,
    outside the database (one per run: anchor-<time>.json)."""
    taken = ledger.anchor(settings.engine(), now=now)
    settings.anchor_dir.mkdir(parents=True, exist_ok=True)
    path = settings.anchor_dir / f"anchor-{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.json"
    path.write_text(taken.to_json() + "\n", encoding="utf-8")
    return taken, path


def check_anchor(settings: Settings, file: Path) -> tuple[ledger.Anchor, list[str]]:
    """The anchor kept in `file`, and how the log differs from it now (empty: it holds)."""
    kept = ledger.Anchor.read(file)
    return kept, ledger.check_anchor(settings.engine(), kept)


def upgrade_database(settings: Settings) -> None:
    """Create or migrate dondoc's database to the newest schema."""
    upgrade(settings.engine_to_upgrade())

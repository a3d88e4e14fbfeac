"""The log's anchor, kept outside the database: it holds while the log only grows, and finds a
log that someone with database rights rewrote consistently (every hash recomputed, the
projection rebuilt, so that `log verify` alone passes) or cut short. On every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import InputError
from models.rules.obligation import GENESIS, event_hash
from models.storage import ledger
from models.storage.db import transaction
from tests.conftest import obligation_id
from tests.store.test_ledger import _drop_append_only_guard, submit

NOW = datetime(2024, 3, 20, 1, 0, tzinfo=UTC)


def _rehash(conn: sa.Connection, oid: int) -> None:
    """Recompute one obligation's chain after its events were edited, and point its
    projection at the new head (`rebuild` refuses one naming a hash its chain lacks), as a
    forger would."""
    rows = conn.execute(
        sa.text(
            "SELECT id, version, kind, idempotency_key, actor, at, channel, payload FROM event "
            "WHERE obligation_id = :o ORDER BY version"
        ),
        {"o": oid},
    ).all()
    prev = GENESIS
    for row in rows:
        at = row.at if isinstance(row.at, datetime) else datetime.fromisoformat(row.at)
        digest = event_hash(
            prev,
            row.version,
            row.kind,
            row.idempotency_key,
            row.actor,
            at if at.tzinfo else at.replace(tzinfo=UTC),
            row.channel,
            row.payload,
        )
        conn.execute(
            sa.text("UPDATE event SET prev_hash = :p, hash = :h WHERE id = :i"),
            {"p": prev, "h": digest, "i": row.id},
        )
        prev = digest
    conn.execute(
        sa.text("UPDATE obligation SET last_hash = :h WHERE id = :o"), {"h": prev, "o": oid}
    )


@pytest.fixture
def q1(seeded: Engine) -> int:
    oid = obligation_id(seeded, "1c", "18712", "2024-Q1")
    submit(seeded, oid)
    return oid


def test_an_anchor_holds_while_the_log_only_grows(seeded: Engine, q1: int) -> None:
    kept = ledger.anchor(seeded, now=NOW)
    assert kept.events == 292 and len(kept.heads_sha256) == 64
    ledger.accept(seeded, q1, ledger.Issued("vhtt.lan", "a", "test", NOW))
    assert ledger.check_anchor(seeded, kept) == []
    assert ledger.Anchor.from_json(kept.to_json(), "anchor.json") == kept


def test_a_consistently_rewritten_log_passes_verify_but_not_its_anchor(
    seeded: Engine, q1: int
) -> None:
    kept = ledger.anchor(seeded, now=NOW)
    with transaction(seeded) as conn:
        _drop_append_only_guard(conn)
        conn.execute(
            sa.text(
                "UPDATE event SET payload = replace(payload, :was, :forged) "
                "WHERE obligation_id = :o AND kind = 'submitted'"
            ),
            {"o": q1, "was": '"leaflets":300', "forged": '"leaflets":3000'},
        )
        _rehash(conn, q1)
    assert ledger.rebuild(seeded)[1] == 1  # the forger brings the projection in line
    assert ledger.verify(seeded)[1] == []
    problems = ledger.check_anchor(seeded, kept)
    assert problems == [
        f"the chains differ from the anchor of {kept.taken_at}: the log was rewritten or "
        "truncated since"
    ]


def test_a_log_cut_short_is_found_by_its_anchor(seeded: Engine, q1: int) -> None:
    kept = ledger.anchor(seeded, now=NOW)
    with transaction(seeded) as conn:
        _drop_append_only_guard(conn)
        conn.execute(
            sa.text("DELETE FROM event WHERE obligation_id = :o AND version = 2"), {"o": q1}
        )
        conn.execute(
            sa.text(
                "UPDATE obligation SET status = 'open', version = 1, figures = NULL, "
                "narrative = NULL, submitted_at = NULL, handed_in_on = NULL, last_hash = "
                "(SELECT hash FROM event WHERE obligation_id = :o AND version = 1) WHERE id = :o"
            ),
            {"o": q1},
        )
    assert ledger.verify(seeded)[1] == []
    problems = ledger.check_anchor(seeded, kept)
    assert len(problems) == 2 and "held 292 events" in problems[0] and "holds 291" in problems[0]


def test_a_file_that_is_no_anchor_is_refused_naming_it() -> None:
    with pytest.raises(InputError, match=r"notes\.txt: \(file\): is not a dondoc log anchor"):
        ledger.Anchor.from_json('{"events": 3}', "notes.txt")


def test_an_anchor_file_is_read_no_further_than_an_anchor_can_be(tmp_path: Path) -> None:
    """`log verify --anchor /dev/zero` read without end: a file or device holding more than an
    anchor can is refused, naming it."""
    with pytest.raises(InputError) as endless:
        ledger.Anchor.read(Path("/dev/zero"))
    assert str(endless.value) == (
        "/dev/zero: (file): may have at most 4,096 bytes (got 'more than 4,096 bytes')"
    )
    big = tmp_path / "anchor.json"
    big.write_text(" " * 5_000)
    with pytest.raises(InputError, match=r"anchor\.json: \(file\): may have at most 4,096 bytes"):
        ledger.Anchor.read(big)

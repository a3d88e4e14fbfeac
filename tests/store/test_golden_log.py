"""Stored golden logs keep replaying after code changes.

`tests/golden/seed-log.json` holds whole event logs of a few seed obligations (every stored
field, hashes included) and the projection they produced when recorded. Loading them raw into
a fresh database, `verify` must find nothing and `rebuild` must give that projection again.
Regenerate it only for a deliberate format change: DONDOC_REGENERATE_GOLDEN=1 pytest this file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.rules.obligation import GENESIS
from models.storage import ledger
from models.storage.db import transaction
from models.storage.tables import EVENT, OBLIGATION, REQUIREMENT
from tests.conftest import obligation_id, publish_seed

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "seed-log.json"
IDENTITY = ("unit_code", "period_key", "period_start", "period_end", "due_date")
PROJECTION = (
    "status",
    "version",
    "effective_due",
    "figures",
    "narrative",
    "evidence",
    "submitted_at",
    "decided_at",
    "last_hash",
)
EVENT_FIELDS = (
    "version",
    "kind",
    "idempotency_key",
    "actor",
    "at",
    "channel",
    "payload",
    "prev_hash",
    "hash",
)


def _at(day: int, hour: int) -> datetime:
    return datetime(2024, 3, day, hour, 15, 30, 123456, tzinfo=UTC)


def _record_scenario(engine: Engine) -> list[int]:
    """A few obligations through every kind of command."""
    figures = {
        "training_classes": 2,
        "seminars": 1,
        "news_items": 14,
        "leaflets": 300,
        "documents": 5,
        "other_forms": 0,
    }
    q1 = obligation_id(engine, "1c", "18712", "2024-Q1")
    q2 = obligation_id(engine, "1c", "18712", "2024-Q2")
    reporter = obligation_id(engine, "4b", "446-TTVHTT", "once")
    content = obligation_id(engine, "2b", "446-NV", "2024-02")

    def cmd(name: str, oid: int, actor: str, at: datetime, **kw: Any) -> None:
        by = ledger.Issued(actor, f"{name}-{oid}-{at.day}", "golden", at)
        getattr(ledger, name)(engine, oid, by, **kw)

    cmd(
        "submit",
        q1,
        "cb.18712",
        _at(12, 2),
        figures=figures,
        narrative="Quý I: 2 lớp",
        evidence="https://example.org/bao-cao-q1.pdf",
    )
    cmd("return_", q1, "vhtt.lan", _at(13, 3), reason="Thiếu số liệu tờ rơi")
    cmd(
        "submit",
        q1,
        "cb.18712",
        _at(14, 4),
        figures={**figures, "leaflets": 320},
        narrative="Quý I: 2 lớp, bổ sung tờ rơi",
        evidence=None,
    )
    cmd("accept", q1, "vhtt.hung", _at(15, 5))
    cmd("extend", q2, "vhtt.lan", _at(16, 6), due=date(2024, 6, 28), reason="Bão số 2")
    cmd(
        "submit",
        reporter,
        "ttvhtt.minh",
        _at(18, 7),
        figures={"reporter": "Lê Thị Hoà"},
        narrative=None,
        evidence=None,
    )
    cmd("accept", reporter, "vhtt.lan", _at(19, 8))
    cmd("waive", content, "vhtt.lan", _at(20, 9), reason="Không có nội dung mới trong tháng")
    return [q1, q2, reporter, content]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _export(engine: Engine, ids: list[int]) -> list[dict[str, Any]]:
    out = []
    with transaction(engine, writes=False) as conn:
        for oid in ids:
            row = conn.execute(
                sa.select(OBLIGATION, REQUIREMENT.c.code.label("requirement"))
                .join(REQUIREMENT)
                .where(OBLIGATION.c.id == oid)
            ).one()
            events = conn.execute(
                sa.select(EVENT).where(EVENT.c.obligation_id == oid).order_by(EVENT.c.version)
            ).all()
            out.append(
                {
                    "requirement": row.requirement,
                    "identity": {k: _plain(getattr(row, k)) for k in IDENTITY},
                    "projection": {k: _plain(getattr(row, k)) for k in PROJECTION},
                    "events": [{k: _plain(getattr(e, k)) for k in EVENT_FIELDS} for e in events],
                }
            )
    return out


def _typed(column: sa.Column[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = getattr(column.type, "impl", column.type).python_type
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


@pytest.mark.skipif(
    os.environ.get("DONDOC_REGENERATE_GOLDEN") != "1",
    reason="only when regenerating the golden log on purpose",
)
def test_regenerate_golden_log(seeded: Engine) -> None:
    GOLDEN.parent.mkdir(exist_ok=True)
    logs = _export(seeded, _record_scenario(seeded))
    GOLDEN.write_text(json.dumps(logs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def test_golden_logs_verify_and_rebuild_to_their_recorded_projection(
    registered: Engine,
) -> None:
    logs = json.loads(GOLDEN.read_text(encoding="utf-8"))
    publish_seed(registered, as_of=date(2023, 12, 1))  # the directive, before any period
    with transaction(registered) as conn:
        requirements = dict(conn.execute(sa.select(REQUIREMENT.c.code, REQUIREMENT.c.id)).all())
        for log in logs:
            oid = conn.execute(
                OBLIGATION.insert()
                .returning(OBLIGATION.c.id)
                .values(
                    requirement_id=requirements[log["requirement"]],
                    **{k: _typed(OBLIGATION.c[k], v) for k, v in log["identity"].items()},
                    status="open",
                    version=0,
                    last_hash=GENESIS,  # folded nothing yet
                )
            ).scalar_one()
            log["id"] = oid
            conn.execute(
                EVENT.insert(),
                [
                    {"obligation_id": oid, **{k: _typed(EVENT.c[k], v) for k, v in e.items()}}
                    for e in log["events"]
                ],
            )
    assert ledger.verify(registered)[1] != []  # the projection is not there yet
    assert ledger.rebuild(registered) == (len(logs), len(logs))
    assert ledger.verify(registered) == (sum(len(log["events"]) for log in logs), [])
    with transaction(registered, writes=False) as conn:
        for log in logs:
            row = conn.execute(sa.select(OBLIGATION).where(OBLIGATION.c.id == log["id"])).one()
            expected = {k: _typed(OBLIGATION.c[k], v) for k, v in log["projection"].items()}
            assert {k: getattr(row, k) for k in PROJECTION} == expected
    assert [log["projection"]["status"] for log in logs] == [
        "accepted",
        "open",
        "accepted_late",
        "waived",
    ]

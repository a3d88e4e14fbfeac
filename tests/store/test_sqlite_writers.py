"""Many writer processes on one SQLite file: no "database is locked", nothing lost, no gaps."""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.errors import Refused
from models.storage import ledger
from models.storage.db import make_engine, transaction, upgrade
from tests.conftest import load_registers, publish_seed

WRITERS = 8
NOW = datetime(2024, 3, 10, 3, 0, tzinfo=UTC)
FIGURES = {
    "training_classes": 1,
    "seminars": 1,
    "news_items": 9,
    "leaflets": 50,
    "documents": 2,
    "other_forms": 0,
}


@dataclass
class Tally:
    """What one writer process did."""

    submitted: int = 0
    won: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)


def _writer(args: tuple[str, int, list[tuple[int, str]], list[int]]) -> Tally:
    """One process: submit its own units' reports, then race the others to accept."""
    url, index, own, contested = args
    engine = make_engine(url)
    done = Tally()
    try:
        for oid, unit in own:
            ledger.submit(
                engine,
                oid,
                ledger.Issued(f"cb.{unit}", f"w{index}-{oid}", "test", NOW),
                figures=FIGURES,
                narrative="Đã báo cáo",
                evidence=None,
            )
            done.submitted += 1
        reviewer = "vhtt.lan" if index % 2 else "vhtt.hung"
        for oid in contested:
            try:
                ledger.accept(engine, oid, ledger.Issued(reviewer, f"a{index}-{oid}", "test", NOW))
                done.won += 1
            except Refused:
                done.refused += 1
    except Exception as exc:  # reported to the test, which fails on any
        done.errors.append(repr(exc))
    finally:
        engine.dispose()
    return done


@pytest.mark.slow
def test_eight_writer_processes_on_one_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dondoc.db'}"
    engine = make_engine(url)
    upgrade(engine)
    load_registers(engine)
    publish_seed(engine)
    with transaction(engine, writes=False) as conn:
        reports = conn.execute(
            sa.text(
                "SELECT o.id, o.unit_code FROM obligation o JOIN requirement r "
                "ON r.id = o.requirement_id WHERE r.code = '1c' ORDER BY o.id"
            )
        ).all()
        contested = (
            conn.execute(
                sa.text(
                    "SELECT o.id FROM obligation o JOIN requirement r ON r.id = o.requirement_id "
                    "WHERE r.code = '4a' ORDER BY o.id"
                )
            )
            .scalars()
            .all()
        )
    for oid in contested:
        ledger.submit(
            engine,
            oid,
            ledger.Issued("ttvhtt.minh", f"p{oid}", "test", NOW),
            figures={"programmes": 1},
            narrative=None,
            evidence=None,
        )
    engine.dispose()
    shares = [[(r.id, r.unit_code) for r in reports[i::WRITERS]] for i in range(WRITERS)]
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        results = pool.map(_writer, [(url, i, shares[i], contested) for i in range(WRITERS)])

    assert [r.errors for r in results] == [[]] * WRITERS
    assert sum(r.submitted for r in results) == len(reports) == 147
    assert sum(r.won for r in results) == len(contested) == 12
    assert sum(r.refused for r in results) == len(contested) * (WRITERS - 1)
    engine = make_engine(url)
    with transaction(engine, writes=False) as conn:
        gaps = conn.execute(
            sa.text(
                "SELECT obligation_id FROM event GROUP BY obligation_id "
                "HAVING count(*) != max(version) OR min(version) != 1"
            )
        ).all()
    checked, problems = ledger.verify(engine)
    assert gaps == [] and problems == []
    assert checked == 291 + 12 + 147 + 12

"""Units that close while a directive runs: the register change comes after the periods have
opened, and the work a closed commune still owes for later periods passes to its successor by
events (or is closed when there is none), while its past periods stay its own. On every
backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from models.files.registry import UnitRow
from models.rules.workdays import WorkCalendar
from models.storage import ledger, publishing, reference
from models.storage.db import transaction

NOW = datetime(2024, 7, 15, 2, 0, tzinfo=UTC)
CLOSES = date(2024, 7, 1)
HEIR = UnitRow(
    "99001", "Xã Cẩm Mới", "xa", "446", (), "cammoi@camxuyen.example", CLOSES, None, None
)


def close_nam_phuc_thang(engine: Engine, successor: str | None) -> publishing.Handover:
    """The register change: Nam Phúc Thăng closes on 01/07/2024, then its work is handed on."""
    with transaction(engine, writes=False) as conn:
        commune = next(u for u in reference.load_units(conn) if u.code == "18712")
    reference.import_units(
        engine,
        ([HEIR] if successor else [])
        + [
            UnitRow(
                commune.code,
                commune.name,
                commune.kind,
                commune.parent_code,
                commune.tags,
                commune.email,
                commune.valid_from,
                CLOSES,
                successor,
            )
        ],
    )
    return publishing.hand_over(
        engine, today=NOW.date(), now=NOW, actor="dondoc", channel="register"
    )


def owed(engine: Engine, period: str) -> dict[str, str]:
    """unit -> stored status of the communes' communication report (1c) for a period."""
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT o.unit_code, o.status FROM obligation o JOIN requirement r "
                "ON r.id = o.requirement_id WHERE r.code = '1c' AND o.period_key = :p"
            ),
            {"p": period},
        )
        return {unit: status for unit, status in rows}


def expected(engine: Engine, period: str) -> set[str]:
    """The units expected to report for the period: whoever owes it, not who handed it on."""
    return {u for u, s in owed(engine, period).items() if s not in ("transferred", "closed")}


def test_a_late_closure_passes_the_later_periods_to_the_successor(seeded: Engine) -> None:
    before = {p: expected(seeded, p) for p in ("2024-Q2", "2024-Q3")}
    handed = close_nam_phuc_thang(seeded, "99001")
    # Q3, Q4, the second half-year and the year end after the closure (decree 09's cut-off:
    # 14/09, 14/12), and its two standing duties go on; Q1, Q2 and H1 ended before it
    assert handed == publishing.Handover(transferred=6, created=6, cancelled=0)
    assert expected(seeded, "2024-Q2") == before["2024-Q2"]
    assert expected(seeded, "2024-Q3") == before["2024-Q3"] - {"18712"} | {"99001"}
    assert len(expected(seeded, "2024-Q3")) == 21
    assert owed(seeded, "2024-Q3")["18712"] == "transferred"
    assert owed(seeded, "2024-Q2")["18712"] == "open"
    with transaction(seeded, writes=False) as conn:
        moved = conn.execute(
            sa.text(
                "SELECT e.payload FROM event e JOIN obligation o ON o.id = e.obligation_id "
                "WHERE o.unit_code = '18712' AND o.period_key = '2024-Q3' AND e.kind = "
                "'transferred'"
            )
        ).scalar_one()
        created = conn.execute(
            sa.text(
                "SELECT e.payload FROM event e JOIN obligation o ON o.id = e.obligation_id "
                "JOIN requirement r ON r.id = o.requirement_id WHERE r.code = '1c' AND "
                "o.unit_code = '99001' AND o.period_key = '2024-Q3'"
            )
        ).scalar_one()
    assert '"to_unit":"99001"' in moved and '"closed_on":"2024-07-01"' in moved
    assert '"from":' in created and '"unit":"99001"' in created
    assert ledger.verify(seeded)[1] == []


def test_handing_over_again_or_opening_again_duplicates_nothing(seeded: Engine) -> None:
    close_nam_phuc_thang(seeded, "99001")
    assert (
        publishing.hand_over(seeded, today=NOW.date(), now=NOW, actor="dondoc", channel="register")
        == publishing.Handover()
    )
    report = publishing.open_periods(
        seeded, as_of=date(2024, 12, 31), now=NOW, calendar=WorkCalendar()
    )
    assert report.total == 0
    assert len(expected(seeded, "2024-Q4")) == 21


def test_a_closure_with_no_successor_closes_the_later_work(seeded: Engine) -> None:
    handed = close_nam_phuc_thang(seeded, None)
    assert handed == publishing.Handover(transferred=0, created=0, cancelled=6)
    assert owed(seeded, "2024-Q3")["18712"] == "closed"
    assert len(expected(seeded, "2024-Q3")) == 20 and len(expected(seeded, "2024-Q2")) == 21
    assert ledger.verify(seeded)[1] == []


def test_two_communes_merged_into_one_hand_it_one_obligation_per_period(seeded: Engine) -> None:
    """Vietnam's 2025 reform merged communes: both closed ones' later work goes to the one
    obligation their successor owes for each period."""
    with transaction(seeded, writes=False) as conn:
        merged = [u for u in reference.load_units(conn) if u.code in ("18712", "18715")]
    closed = [replace(u, valid_until=CLOSES, successor_code=HEIR.code) for u in merged]
    reference.import_units(seeded, [HEIR, *closed])
    handed = publishing.hand_over(
        seeded, today=NOW.date(), now=NOW, actor="dondoc", channel="register"
    )
    # each commune's Q3, Q4, H2, year and two standing duties; one successor obligation each
    assert handed == publishing.Handover(transferred=12, created=6, cancelled=0)
    q3 = owed(seeded, "2024-Q3")
    assert (q3["18712"], q3["18715"], q3["99001"]) == ("transferred", "transferred", "open")
    assert len(expected(seeded, "2024-Q3")) == 20
    assert ledger.verify(seeded)[1] == []

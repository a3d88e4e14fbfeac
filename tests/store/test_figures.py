"""Accepted figures as rows: a total per requirement and period is one SQL aggregate on either
database, only accepted submissions count, and the rows are checked and rebuilt from the log
like the rest of the projection. On every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from models.storage import ledger
from models.storage.db import MIGRATIONS, transaction, upgrade
from tests.conftest import obligation_id

AT = datetime(2024, 3, 12, 2, 0, tzinfo=UTC)
FIGURES = {
    "training_classes": 1,
    "seminars": 0,
    "news_items": 2,
    "documents": 1,
    "other_forms": 0,
}
# the leaflets each commune reports for Q1, and what the lead office decides
REPORTS = {"18673": (300, "accept"), "18676": (150, "accept"), "18679": (50, "return")}
TOTAL = sa.text(
    "SELECT sum(f.number), count(*) FROM figure_value f "
    "JOIN obligation o ON o.id = f.obligation_id "
    "JOIN requirement r ON r.id = o.requirement_id "
    "WHERE r.code = '1c' AND o.period_key = '2024-Q1' AND f.key = 'leaflets'"
)


def report_q1(engine: Engine) -> None:
    for unit, (leaflets, decision) in REPORTS.items():
        oid = obligation_id(engine, "1c", unit, "2024-Q1")
        ledger.submit(
            engine,
            oid,
            ledger.Issued(f"cb.{unit}", f"s{unit}", "test", AT),
            figures={**FIGURES, "leaflets": leaflets},
            narrative="Quý I",
            evidence=None,
        )
        by = ledger.Issued("vhtt.lan", f"d{unit}", "test", AT)
        if decision == "accept":
            ledger.accept(engine, oid, by)
        else:
            ledger.return_(engine, oid, by, reason="Thiếu ảnh minh chứng")


def total(engine: Engine) -> tuple[float, int]:
    with transaction(engine, writes=False) as conn:
        found = conn.execute(TOTAL).one()
    return float(found[0]), found[1]


def test_a_total_of_the_accepted_figures_is_one_sql_aggregate(seeded: Engine) -> None:
    report_q1(seeded)
    # 300 + 150 accepted; the returned 50 does not count until it is accepted
    assert total(seeded) == (450.0, 2)
    assert ledger.verify(seeded)[1] == []


def test_figure_rows_are_checked_and_rebuilt_from_the_log(seeded: Engine) -> None:
    report_q1(seeded)
    thi_tran = obligation_id(seeded, "1c", "18673", "2024-Q1")
    with transaction(seeded) as conn:
        conn.execute(
            sa.text("UPDATE figure_value SET number = 3000 WHERE obligation_id = :o AND key = :k"),
            {"o": thi_tran, "k": "leaflets"},
        )
    _, problems = ledger.verify(seeded)
    assert [p.obligation_id for p in problems] == [thi_tran]
    assert "figure_value rows are" in str(problems[0]) and "('leaflets', 300.0" in str(problems[0])
    assert ledger.rebuild(seeded)[1] == 1
    assert total(seeded) == (450.0, 2) and ledger.verify(seeded)[1] == []


def test_upgrading_an_older_database_fills_the_rows_of_what_was_accepted(
    seeded: Engine,
) -> None:
    report_q1(seeded)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with seeded.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
        conn.commit()
    upgrade(seeded)
    assert total(seeded) == (450.0, 2) and ledger.verify(seeded)[1] == []

"""The obligation listing streams: a server-side cursor on PostgreSQL, and a read transaction
that ends when the listing is read to its end or closed."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event

from models.rules.status import Day
from models.storage import queries
from models.storage.queries import (
    ObligationFilter,
    list_obligations,
    obligation_page,
    stream_obligations,
)

ON = Day(date(2024, 3, 12), date(2024, 3, 15))
EVERY = ObligationFilter()


def test_a_listing_holds_its_connection_until_read_or_closed(seeded: Engine) -> None:
    pool: Any = seeded.pool
    rows = stream_obligations(seeded, on=ON, where=EVERY)
    next(rows)
    assert pool.checkedout() == 1
    rows.close()
    assert pool.checkedout() == 0
    assert len(list(stream_obligations(seeded, on=ON, where=EVERY))) == 291
    assert pool.checkedout() == 0


def test_the_rows_come_through_a_cursor_that_fetches_as_read(
    seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, type]] = []

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append((statement, type(cursor)))

    event.listen(seeded, "before_cursor_execute", seen)
    monkeypatch.setattr(queries, "FETCH_ROWS", 10)
    rows = list(stream_obligations(seeded, on=ON, where=EVERY))
    event.remove(seeded, "before_cursor_execute", seen)
    assert rows == list_obligations(seeded, on=ON)
    # PostgreSQL sends the rows as they are fetched from a named (server-side) cursor, planned
    # for reading all of its rows; SQLite has none, and its own cursor steps through the result
    # as it is fetched (one query per requirement)
    listing = {kind for statement, kind in sent if "FROM obligation" in statement}
    if seeded.dialect.name == "postgresql":
        assert listing == {psycopg.ServerCursor}
        assert "SET LOCAL cursor_tuple_fraction = 1.0" in [statement for statement, _ in sent]
    else:
        assert listing == {sqlite3.Cursor}


FILTERS = (
    EVERY,
    ObligationFilter(status="overdue"),
    ObligationFilter(requirement="1c", period="2024-Q1"),
    ObligationFilter(directive="cam-xuyen-cchc-2024"),
    ObligationFilter(directive="cam-xuyen-cchc-2024", requirement="1c"),
    ObligationFilter(directive="cam-xuyen-cchc-2024", unit="18712", status="open"),
    ObligationFilter(directive="no-such-directive"),
    ObligationFilter(requirement="no-such-requirement"),
    ObligationFilter(unit="no-such-unit"),
)


@pytest.mark.parametrize("where", FILTERS)
def test_a_page_counts_every_row_its_filter_lists(seeded: Engine, where: ObligationFilter) -> None:
    whole = list(stream_obligations(seeded, on=ON, where=where))
    # a full page from the first row, one from within, one past the end and one not full
    for offset, limit in ((0, 1), (0, 7), (3, 5), (len(whole) + 2, 4), (0, len(whole) + 1)):
        page = obligation_page(seeded, on=ON, where=where, limit=limit, offset=offset)
        assert page.rows == whole[offset : offset + limit], (offset, limit)
        assert page.matched == len(whole), (offset, limit)


def test_the_count_under_a_page_reads_the_obligation_table_alone(seeded: Engine) -> None:
    sent: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(seeded, "before_cursor_execute", seen)
    page = obligation_page(seeded, on=ON, where=ObligationFilter(status="overdue"), limit=3)
    named = obligation_page(seeded, on=ON, where=ObligationFilter(requirement="1c"), limit=3)
    event.remove(seeded, "before_cursor_execute", seen)
    assert (len(page.rows), len(named.rows)) == (3, 3)
    counts = [s for s in sent if "count(" in s]
    assert len(counts) == 2
    # 291 rows joined to their requirement and directive only to be counted, no more: a
    # requirement named is looked up among the requirements
    assert counts[0].startswith("SELECT count(*) AS count_1 FROM obligation WHERE ")
    assert "JOIN" not in counts[0]
    assert counts[1].startswith("SELECT count(*) AS count_1 FROM obligation WHERE ")
    assert "obligation.requirement_id IN (SELECT requirement.id FROM requirement" in counts[1]


def test_a_page_and_its_count_are_one_read_transaction(seeded: Engine) -> None:
    begun: list[Any] = []

    def began(conn: Any) -> None:
        begun.append(conn)

    event.listen(seeded, "begin", began)
    page = obligation_page(seeded, on=ON, where=EVERY, limit=10)
    deep = obligation_page(seeded, on=ON, where=EVERY, limit=10, offset=100)
    event.remove(seeded, "begin", began)
    assert (len(page.rows), page.matched, len(deep.rows), deep.matched) == (10, 291, 10, 291)
    assert len(begun) == 2


@pytest.mark.parametrize(
    "where",
    [EVERY, ObligationFilter(status="overdue"), ObligationFilter(unit="18712")],
    ids=["every", "overdue", "one-unit"],
)
def test_any_page_is_that_slice_of_the_whole_listing(seeded: Engine, where: Any) -> None:
    whole = list(stream_obligations(seeded, on=ON, where=where))
    assert len({r.requirement for r in whole}) > 1
    # pages that start and end inside a requirement, on its edges and past the end
    for offset in (0, 1, 12, 50, 137, len(whole) - 1, len(whole), len(whole) + 5):
        for limit in (1, 7, 100, None):
            page = list(stream_obligations(seeded, on=ON, where=where, limit=limit, offset=offset))
            end = None if limit is None else offset + limit
            assert page == whole[offset:end], (offset, limit)


def _plan(conn: Any, statement: str, parameters: Any) -> list[str]:
    """The steps of the plan the database chooses for a statement."""
    if conn.dialect.name == "postgresql":
        # a sort the plan cannot do without stays in it, however dear it is made
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
        return [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
    return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]


def test_a_page_reads_along_an_index_and_sorts_nothing(seeded: Engine) -> None:
    sent: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(seeded, "before_cursor_execute", seen)
    page = list(stream_obligations(seeded, on=ON, where=EVERY, limit=10, offset=3))
    event.remove(seeded, "before_cursor_execute", seen)
    assert len(page) == 10
    # the rows, not the counts an offset skips by
    listing = [(s, p) for s, p in sent if "FROM obligation" in s and "count(" not in s]
    assert listing
    with seeded.connect() as conn:
        for statement, parameters in listing:
            steps = _plan(conn, statement, parameters)
            assert not [s for s in steps if "Sort" in s or "B-TREE FOR ORDER BY" in s], steps
            assert [s for s in steps if "ix_obligation_listing" in s], steps

"""A unit that continues under its code with a new name, kind and parent (18673, Thị trấn
Cẩm Xuyên under the district until 01/07/2025, then Xã Cẩm Xuyên under the province) is
picked, grouped and named by its version on the period's date: publishing selects it by the
kind and parent it had then, and the rates and the matrix of 2024 group and name it as it was
in 2024. On every backend."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine

from models.files.directive import load_directive
from models.rules.status import Day
from models.storage import publishing, reporting
from models.storage.db import transaction
from tests.conftest import CALENDAR
from tests.store.test_nothing_silent import NOW, directive, publish
from tests.store.test_succession import HOLDERS, SUCCESSION, load

TODAY = Day(date(2026, 12, 7), date(2026, 12, 7))
DISTRICT = "Ủy ban nhân dân huyện Cẩm Xuyên"


def months(engine: Engine, code: str) -> dict[str, set[str]]:
    """period -> the units owing the one requirement of directive `code`."""
    found: dict[str, set[str]] = {f"2025-{m:02d}": set() for m in range(1, 13)}
    with transaction(engine, writes=False) as conn:
        for unit, period in conn.execute(
            sa.text(
                "SELECT o.unit_code, o.period_key FROM obligation o JOIN requirement r "
                "ON r.id = o.requirement_id JOIN directive d ON d.id = r.directive_id "
                "WHERE d.code = :code"
            ),
            {"code": code},
        ):
            found[period].add(unit)
    return found


def test_a_kind_picks_the_units_of_that_kind_on_the_periods_date(
    registered: Engine, tmp_path: Path
) -> None:
    """The two towns of 2024 (thị trấn) owe a directive for towns until they became communes
    on 01/07/2025: the register's rows, their latest versions, are communes (xã) now."""
    load(registered, SUCCESSION)
    code = "thi-tran-2025"
    path = directive(
        tmp_path, who="{kinds: [thi_tran]}", code=code, start="2025-01-01", until="2025-12-31"
    )
    publish(registered, path)
    owing = months(registered, code)
    assert all(owing[f"2025-{m:02d}"] == {"18673", "18676"} for m in range(1, 7))
    assert all(owing[f"2025-{m:02d}"] == set() for m in range(7, 13))


def test_the_preview_counts_them_under_their_kind_of_the_period(
    registered: Engine, tmp_path: Path
) -> None:
    load(registered, SUCCESSION)
    path = directive(
        tmp_path,
        who="{kinds: [thi_tran]}",
        code="thi-tran-2025",
        start="2025-01-01",
        until="2025-12-31",
    )
    found = publishing.preview(
        registered,
        load_directive(path),
        source=path.name,
        actor="admin.cx",
        as_of=TODAY.day,
        now=NOW,
        calendar=CALENDAR,
    )
    # the two towns, January to June 2025, due on the 20th (20/01 is a Monday, 20/06 a Friday)
    assert [(row.kind, row.obligations, row.first_due, row.last_due) for row in found.rows] == [
        ("thi_tran", 12, date(2025, 1, 20), date(2025, 6, 20))
    ]


def test_under_picks_the_units_under_the_body_on_the_periods_date(
    registered: Engine, tmp_path: Path
) -> None:
    """A directive to the district's communes for 2025: all 21 owe until 01/07/2025, seven of
    them under the codes they keep (under the province now); then the eight communes they
    became part of owe, as successors of the district's communes."""
    load(registered, SUCCESSION)
    code = "cam-xuyen-2025"
    who = '{kinds: [xa, thi_tran], under: ["446"]}'
    path = directive(tmp_path, who=who, code=code, start="2025-01-01", until="2025-12-31")
    publish(registered, path)
    owing = months(registered, code)
    assert owing["2025-03"] == set(HOLDERS)
    assert owing["2025-09"] == set(HOLDERS.values())


def test_rates_of_2024_group_units_by_their_kind_and_parent_of_2024(seeded: Engine) -> None:
    load(seeded, SUCCESSION)
    by = {}
    for grouping in ("kind", "parent"):
        found, _ = reporting.rates(
            seeded,
            directive="cam-xuyen-cchc-2024",
            on=TODAY,
            requirement="1c",
            period="2024-Q1",
            by=grouping,  # type: ignore[arg-type]
        )
        by[grouping] = {rate.group: rate.expected for rate in found}
    assert by["kind"] == {"thi_tran": 2, "xa": 19}
    assert by["parent"] == {"446": 21}


def test_the_matrix_of_2024_names_units_as_they_were_in_2024(seeded: Engine) -> None:
    load(seeded, SUCCESSION)
    grid = reporting.matrix(seeded, directive="cam-xuyen-cchc-2024", requirement="1c", on=TODAY)
    rows = {row.code: (row.name, row.parent) for row in grid.rows}
    assert rows["18673"] == ("Thị trấn Cẩm Xuyên", DISTRICT)
    assert rows["18682"] == ("Xã Cẩm Dương", DISTRICT)
    assert len(rows) == 21


def test_a_unit_renamed_twice_is_named_by_the_version_of_each_period(
    seeded: Engine, tmp_path: Path
) -> None:
    """18673 renamed from 01/04/2024, then a commune from 01/07/2025: the report of 2024-Q1
    names it as it was until April, that of 2024-Q2 by its second name; the matrix of 2024 by
    the name of its last period, Q4."""
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(
        "code,name,kind,parent,tags,email,valid_from,valid_until,successor\n"
        "18673,Thị trấn Cẩm Xuyên Mới,thi_tran,446,commune,,2024-04-01,2025-07-01,\n",
        encoding="utf-8",
    )
    load(seeded, renamed, SUCCESSION)
    names = {}
    for period in ("2024-Q1", "2024-Q2"):
        report = reporting.consolidation(
            seeded, directive="cam-xuyen-cchc-2024", requirement="1c", period=period, on=TODAY
        )
        names[period] = {u.code: (u.name, u.parent) for u in report.units}["18673"]
    assert names == {
        "2024-Q1": ("Thị trấn Cẩm Xuyên", DISTRICT),
        "2024-Q2": ("Thị trấn Cẩm Xuyên Mới", DISTRICT),
    }
    grid = reporting.matrix(seeded, directive="cam-xuyen-cchc-2024", requirement="1c", on=TODAY)
    assert {row.code: row.name for row in grid.rows}["18673"] == "Thị trấn Cẩm Xuyên Mới"

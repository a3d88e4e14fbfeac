"""The seed district on the map of 2025: each of its 21 communes and towns is held from
01/07/2025 by the commune it became part of, several of them continuing under their own code
with a new name, kind and parent, while what is about 2024 keeps the names of 2024. On every
backend."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import InputError
from models.files.directive import load_directive
from models.files.registry import read_units
from models.rules.status import Day
from models.storage import ledger, publishing, reference, reporting
from models.storage.db import make_engine, transaction
from tests.conftest import CALENDAR, ROOT, SEED, _postgres_engine

SUCCESSION = ROOT / "directives" / "units" / "cam-xuyen-2025.csv"
NATIONAL = ROOT / "directives" / "units" / "vietnam-2025.csv"
REFORM = date(2025, 7, 1)
# Who each 2024 commune or town became part of, as `vietnamadminunits` 1.0.4 converts it
# (convert_address("<name>, Huyện Cẩm Xuyên, Tỉnh Hà Tĩnh").ward_code); none was divided.
HOLDERS = {
    "18673": "18673",  # Thị trấn Cẩm Xuyên → Xã Cẩm Xuyên
    "18676": "18676",  # Thị trấn Thiên Cầm → Xã Thiên Cầm
    "18679": "18682",  # Xã Yên Hòa → Xã Yên Hòa, the code of Cẩm Dương
    "18682": "18682",  # Xã Cẩm Dương → Xã Yên Hòa
    "18694": "18685",  # Xã Cẩm Thành → Xã Cẩm Bình
    "18697": "18673",  # Xã Cẩm Quang → Xã Cẩm Xuyên
    "18706": "18739",  # Xã Cẩm Thạch → Xã Cẩm Duệ
    "18709": "18676",  # Xã Cẩm Nhượng → Xã Thiên Cầm
    "18712": "18676",  # Xã Nam Phúc Thăng → Xã Thiên Cầm
    "18715": "18739",  # Xã Cẩm Duệ → Xã Cẩm Duệ, the code of Cẩm Mỹ
    "18721": "18742",  # Xã Cẩm Lĩnh → Xã Cẩm Trung
    "18724": "18673",  # Xã Cẩm Quan → Xã Cẩm Xuyên
    "18727": "18736",  # Xã Cẩm Hà → Xã Cẩm Hưng
    "18730": "18742",  # Xã Cẩm Lộc → Xã Cẩm Trung
    "18733": "18736",  # Xã Cẩm Hưng → Xã Cẩm Hưng, the code of Cẩm Thịnh
    "18736": "18736",  # Xã Cẩm Thịnh → Xã Cẩm Hưng
    "18739": "18739",  # Xã Cẩm Mỹ → Xã Cẩm Duệ
    "18742": "18742",  # Xã Cẩm Trung → Xã Cẩm Trung
    "18745": "18748",  # Xã Cẩm Sơn → Xã Cẩm Lạc
    "18748": "18748",  # Xã Cẩm Lạc → Xã Cẩm Lạc
    "18751": "18748",  # Xã Cẩm Minh → Xã Cẩm Lạc
}


def load(engine: Engine, *files: Path) -> None:
    """Import register files one after the other, as `dondoc units import` does."""
    for file in files:
        with transaction(engine, writes=False) as conn:
            stored = reference.load_units(conn), reference.load_versions(conn)
        reference.import_units(engine, read_units(file, *stored))


@pytest.fixture
def twin(request: pytest.FixtureRequest, registered: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A second database beside `registered`, on its backend and holding what it holds."""
    if request.node.callspec.params["engine"] == "postgresql":
        yield from _postgres_engine(request, "registered")
        return
    path = tmp_path / "twin.db"
    shutil.copyfile(request.getfixturevalue("sqlite_templates")("registered"), path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def holders(engine: Engine, day: date) -> dict[str, str | None]:
    with transaction(engine, writes=False) as conn:
        return {code: reference.holder_on(conn, code, day) for code in HOLDERS}


def named(engine: Engine, code: str, day: date) -> tuple[str, str, str | None]:
    with transaction(engine, writes=False) as conn:
        unit = reference.unit_on(conn, code, day)
    assert unit is not None
    return unit.name, unit.kind, unit.parent_code


def tables(engine: Engine) -> list[list[tuple[object, ...]]]:
    with transaction(engine, writes=False) as conn:
        return [
            [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY 1, 2"))]
            for t in ("unit", "unit_version")
        ]


def test_every_seed_commune_is_held_by_the_commune_it_became_part_of(
    registered: Engine,
) -> None:
    load(registered, SUCCESSION)
    assert holders(registered, REFORM) == HOLDERS
    assert holders(registered, date(2026, 12, 7)) == HOLDERS
    assert holders(registered, date(2025, 6, 30)) == {code: code for code in HOLDERS}


def test_a_unit_continues_under_its_code_and_2024_keeps_its_2024_names(
    registered: Engine,
) -> None:
    load(registered, SUCCESSION)
    spring_2024 = date(2024, 3, 14)
    assert named(registered, "18673", spring_2024) == ("Thị trấn Cẩm Xuyên", "thi_tran", "446")
    assert named(registered, "18673", REFORM) == ("Xã Cẩm Xuyên", "xa", "42")
    assert named(registered, "18682", spring_2024)[0] == "Xã Cẩm Dương"
    assert named(registered, "18682", REFORM)[0] == "Xã Yên Hòa"
    assert named(registered, "18679", spring_2024)[0] == "Xã Yên Hòa"
    with transaction(registered, writes=False) as conn:
        now = {u.code: u for u in reference.load_units(conn)}
    # the unit's row: its latest version over its whole life, which owes and holds roles
    assert (now["18673"].name, now["18673"].valid_from, now["18673"].valid_until) == (
        "Xã Cẩm Xuyên",
        None,
        None,
    )
    assert (now["18679"].valid_until, now["18679"].successor_code) == (REFORM, "18682")


def test_the_national_register_continues_the_seed_and_imports_once(registered: Engine) -> None:
    load(registered, NATIONAL, SUCCESSION)
    assert holders(registered, REFORM) == HOLDERS
    assert named(registered, "42", date(2024, 3, 14))[:2] == (
        "Ủy ban nhân dân tỉnh Hà Tĩnh",
        "ubnd_tinh",
    )
    assert named(registered, "42", REFORM)[:2] == ("Tỉnh Hà Tĩnh", "tinh")
    assert named(registered, "18673", date(2024, 3, 14))[0] == "Thị trấn Cẩm Xuyên"
    with transaction(registered, writes=False) as conn:
        assert reference.holder_on(conn, "446", REFORM) == "42"
    before = tables(registered)
    load(registered, NATIONAL, SUCCESSION)
    assert tables(registered) == before
    # the 2024 register imported again leaves what it states as it was, and the later
    # versions and the successors it names none of
    load(registered, ROOT / "directives" / "units" / "cam-xuyen-2024.csv")
    assert tables(registered) == before


def test_the_national_register_and_the_districts_own_give_one_register_in_either_order(
    registered: Engine, twin: Engine
) -> None:
    """The national file has no addresses and knows nothing of the closures: imported after
    the district's own 2025 file it clears nothing, and the two orders agree."""
    load(registered, NATIONAL, SUCCESSION)
    load(twin, SUCCESSION, NATIONAL)
    assert tables(twin) == tables(registered)
    with transaction(twin, writes=False) as conn:
        now = {u.code: u for u in reference.load_units(conn)}
    assert now["18673"].email == "ubnd.18673@camxuyen.example"
    # 42 continues as Tỉnh Hà Tĩnh, the body at the same address
    assert (now["42"].name, now["42"].email) == ("Tỉnh Hà Tĩnh", "ubnd@hatinh.example")
    assert holders(twin, REFORM) == HOLDERS


def test_a_row_that_fits_no_version_is_refused(registered: Engine, tmp_path: Path) -> None:
    load(registered, SUCCESSION)
    bad = tmp_path / "units.csv"
    bad.write_text(
        "code,name,kind,parent,tags,email,valid_from,valid_until,successor\n"
        "18673,Xã Cẩm Xuyên,xa,42,commune,,2024-06-01,2025-01-01,\n",
        encoding="utf-8",
    )
    with transaction(registered, writes=False) as conn:
        stored = reference.load_units(conn), reference.load_versions(conn)
    with pytest.raises(InputError) as refused:
        read_units(bad, *stored)
    assert refused.value.field == "line 2, valid_from"
    assert "18673 has the versions its start–01/07/2025, 01/07/2025–today" in str(refused.value)


def test_a_2024_report_names_the_communes_as_they_were_named_in_2024(seeded: Engine) -> None:
    load(seeded, SUCCESSION)
    report = reporting.consolidation(
        seeded,
        directive="cam-xuyen-cchc-2024",
        requirement="1c",
        period="2024-Q1",
        on=Day(date(2026, 12, 7), date(2026, 12, 7)),
    )
    lines = {u.code: (u.name, u.parent) for u in report.units}
    district = "Ủy ban nhân dân huyện Cẩm Xuyên"
    assert lines["18673"] == ("Thị trấn Cẩm Xuyên", district)
    assert lines["18682"] == ("Xã Cẩm Dương", district)
    assert lines["18679"] == ("Xã Yên Hòa", district)
    assert len(lines) == 21


def directive_of_2025(tmp_path: Path) -> Path:
    """The seed directive, run again for 2025 (the year the districts were abolished)."""
    path = tmp_path / "cam-xuyen-cchc-2025.yaml"
    text = (
        SEED.read_text(encoding="utf-8")
        .replace("code: cam-xuyen-cchc-2024", "code: cam-xuyen-cchc-2025")
        .replace("from: 2024-01-01", "from: 2025-01-01")
        .replace("until: 2024-12-31", "until: 2025-12-31")
        .replace("date: 2024-03-15", "date: 2025-03-14")
    )
    path.write_text(text, encoding="utf-8")
    return path


def owers(engine: Engine, requirement: str, period: str) -> dict[str, str]:
    """unit -> stored status of one requirement's obligations for a period."""
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT o.unit_code, o.status FROM obligation o JOIN requirement r "
                "ON r.id = o.requirement_id JOIN directive d ON d.id = r.directive_id "
                "WHERE d.code = 'cam-xuyen-cchc-2025' AND r.code = :r AND o.period_key = :p"
            ),
            {"r": requirement, "p": period},
        )
        return dict(rows.all())


def test_after_the_reorganisation_the_communes_of_2025_owe_what_is_left(
    registered: Engine, tmp_path: Path
) -> None:
    """A directive of 2025 opened before the new communes were registered: a merged commune's
    standing duty passes by events to the commune it became part of, a continuing one keeps
    its own, and the third quarter is owed by the eight communes of 2025."""
    spec = load_directive(directive_of_2025(tmp_path))
    opened = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    publishing.publish(
        registered,
        spec,
        source="2025.yaml",
        actor="admin.cx",
        as_of=date(2025, 3, 31),
        now=opened,
        calendar=CALENDAR,
    )
    assert len(owers(registered, "1a", "standing")) == 21
    load(registered, SUCCESSION)
    later = datetime(2025, 7, 15, 2, 0, tzinfo=UTC)
    handed = publishing.hand_over(
        registered, today=later.date(), now=later, actor="dondoc", channel="register"
    )
    standing = owers(registered, "1a", "standing")
    assert standing["18679"] == "transferred" and standing["18682"] == "open"
    assert standing["18673"] == "open" and standing["18685"] == "open"
    assert {u for u, s in standing.items() if s == "open"} == set(HOLDERS.values())
    with transaction(registered, writes=False) as conn:
        moved = conn.execute(
            sa.text("SELECT DISTINCT o.unit_code FROM obligation o WHERE o.status = 'transferred'")
        ).scalars()
        # the merged communes' work, and the district office's, as before; none of a code
        # that continues
        assert set(moved) == {c for c, h in HOLDERS.items() if c != h} | {"446-VHTT"}
    assert handed.transferred == 2 * 14 + 1  # each merged commune's two standing duties
    publishing.open_periods(registered, as_of=date(2025, 12, 31), now=later, calendar=CALENDAR)
    assert set(owers(registered, "1c", "2025-Q3")) == set(HOLDERS.values())
    assert set(owers(registered, "1c", "2025-Q1")) == set(HOLDERS)
    assert ledger.verify(registered)[1] == []

"""Unit and actor registers: the shipped files read; a bad row is refused naming the file, the
line and column, and the value."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from models.errors import InputError
from models.files.registry import (
    ACTOR_COLUMNS,
    UNIT_COLUMNS,
    ActorRow,
    UnitRow,
    add_version,
    email_problem,
    histories,
    life,
    read_actors,
    read_units,
    validate_actor,
    version_on,
)

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "directives" / "units" / "cam-xuyen-2024.csv"
ACTORS = ROOT / "directives" / "actors" / "cam-xuyen-2024.csv"
UNIT_HEADER = ",".join(UNIT_COLUMNS)
ACTOR_HEADER = ",".join(ACTOR_COLUMNS)

# The district's 2 towns and 19 communes of 2024 with their official (GSO) codes, as in
# /work/shared/data/cam-xuyen-2024-communes.csv (vietnam-provinces 0.6.0).
COMMUNES = {
    "18673": ("Thị trấn Cẩm Xuyên", "thi_tran"),
    "18676": ("Thị trấn Thiên Cầm", "thi_tran"),
    "18679": ("Xã Yên Hòa", "xa"),
    "18682": ("Xã Cẩm Dương", "xa"),
    "18694": ("Xã Cẩm Thành", "xa"),
    "18697": ("Xã Cẩm Quang", "xa"),
    "18706": ("Xã Cẩm Thạch", "xa"),
    "18709": ("Xã Cẩm Nhượng", "xa"),
    "18712": ("Xã Nam Phúc Thăng", "xa"),
    "18715": ("Xã Cẩm Duệ", "xa"),
    "18721": ("Xã Cẩm Lĩnh", "xa"),
    "18724": ("Xã Cẩm Quan", "xa"),
    "18727": ("Xã Cẩm Hà", "xa"),
    "18730": ("Xã Cẩm Lộc", "xa"),
    "18733": ("Xã Cẩm Hưng", "xa"),
    "18736": ("Xã Cẩm Thịnh", "xa"),
    "18739": ("Xã Cẩm Mỹ", "xa"),
    "18742": ("Xã Cẩm Trung", "xa"),
    "18745": ("Xã Cẩm Sơn", "xa"),
    "18748": ("Xã Cẩm Lạc", "xa"),
    "18751": ("Xã Cẩm Minh", "xa"),
}
CCHC_CONTENT = {"446-VHTT", "446-NV", "446-TP", "446-VP", "446-TCKH"}
# the province bodies that take over the district's and the lead office's role on 01/07/2025
PROVINCE = {"42", "42-SVHTTDL"}


def write(tmp_path: Path, header: str, *rows: str) -> Path:
    path = tmp_path / "register.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def read_test_actors(path: Path) -> list[ActorRow]:
    return read_actors(path, {"446", "446-VHTT", "18712"})


def refusal(
    read: Callable[[Path], object], path: Path, field: str, value: object, problem: str
) -> None:
    """`read(path)` fails with exactly this error."""
    with pytest.raises(InputError) as caught:
        read(path)
    err = caught.value
    assert (err.source, err.field, err.value, err.problem) == (str(path), field, value, problem)
    got = "" if value is None else f" (got {value!r})"  # a missing value is not shown
    assert str(err) == f"{path}: {field}: {problem}{got}"


def unit(
    code: str = "18712",
    *,
    name: str = "Xã Nam Phúc Thăng",
    kind: str = "xa",
    parent: str = "446",
    tags: str = "commune",
    email: str = "ubnd.18712@camxuyen.example",
    valid_from: str = "",
    valid_until: str = "",
    successor: str = "",
) -> str:
    """One row of a unit register."""
    return ",".join([code, name, kind, parent, tags, email, valid_from, valid_until, successor])


DISTRICT = unit("446", name="Ủy ban nhân dân huyện Cẩm Xuyên", kind="ubnd_huyen", parent="")
STORED_DISTRICT = UnitRow("446", "Huyện Cẩm Xuyên", "ubnd_huyen", None, (), None, None, None, None)


# --- the shipped unit register ------------------------------------------------------------


@pytest.fixture(scope="module")
def units() -> list[UnitRow]:
    return read_units(UNITS)


def test_shipped_units_read(units: list[UnitRow]) -> None:
    assert len(units) == 38
    assert len({u.code for u in units}) == 38
    assert units[2] == UnitRow(
        code="446",
        name="Ủy ban nhân dân huyện Cẩm Xuyên",
        kind="ubnd_huyen",
        parent_code=None,
        tags=("district-body",),
        email="ubnd@camxuyen.example",
        valid_from=None,
        valid_until=date(2025, 7, 1),
        successor_code="42",
    )


def test_shipped_communes_have_their_official_codes(units: list[UnitRow]) -> None:
    communes = {u.code: (u.name, u.kind) for u in units if "commune" in u.tags}
    assert communes == COMMUNES
    assert all(u.parent_code == "446" for u in units if u.code in COMMUNES)


def test_shipped_district_bodies(units: list[UnitRow]) -> None:
    bodies = [u for u in units if "district-body" in u.tags]
    assert len(bodies) == 15
    assert {u.code for u in bodies} | set(COMMUNES) | PROVINCE == {u.code for u in units}
    assert {u.code for u in units if "cchc-content" in u.tags} == CCHC_CONTENT
    assert {u.kind for u in units if u.code in CCHC_CONTENT} == {"phong"}
    assert {u.code for u in units if u.kind == "trung_tam"} == {"446-TTVHTT", "446-TTHCC"}


def test_shipped_units_close_with_the_district_level(units: list[UnitRow]) -> None:
    """Every district unit of the 2024 register exists until the district level ends on
    1 July 2025; the district's People's Committee and the lead office pass their role to the
    province's, which go on."""
    district = [u for u in units if u.code not in PROVINCE]
    assert {(u.valid_from, u.valid_until) for u in district} == {(None, date(2025, 7, 1))}
    assert all(u.valid_on(date(2025, 6, 30)) and not u.valid_on(date(2025, 7, 1)) for u in district)
    assert {u.code: u.successor_code for u in district if u.successor_code} == {
        "446": "42",
        "446-VHTT": "42-SVHTTDL",
    }
    assert all(
        u.valid_on(date(2024, 1, 1)) and u.valid_until is None for u in units if u.code in PROVINCE
    )


# --- bad unit registers -------------------------------------------------------------------

CLOSED = {"valid_from": "2024-01-01", "valid_until": "2025-07-01"}

BAD_UNIT_ROWS = [
    pytest.param(unit("18 712"), "line 3, code", "18 712", "is not a unit code", id="bad-code"),
    pytest.param(unit(name=" "), "line 3, name", "", "is required", id="empty-name"),
    pytest.param(unit(kind="xã"), "line 3, kind", "xã", "is not a kind", id="bad-kind"),
    pytest.param(
        unit(tags="commune;Xã"),
        "line 3, tags",
        "Xã",
        "is not a tag (a-z, 0-9, -)",
        id="bad-tag",
    ),
    pytest.param(
        unit(email="ubnd.18712@camxuyen"),
        "line 3, email",
        "ubnd.18712@camxuyen",
        "is not an e-mail address",
        id="bad-email",
    ),
    pytest.param(
        unit(valid_from="2024-02-30"),
        "line 3, valid_from",
        "2024-02-30",
        "is not a date YYYY-MM-DD",
        id="bad-date",
    ),
    pytest.param(
        unit(valid_until="30/06/2025"),
        "line 3, valid_until",
        "30/06/2025",
        "is not a date YYYY-MM-DD",
        id="day-first-date",
    ),
    pytest.param(
        unit(valid_from="2025-07-01", valid_until="2024-01-01"),
        "line 3, valid_until",
        "2024-01-01",
        "must be after valid_from",
        id="until-before-from",
    ),
    pytest.param(
        unit(valid_from="2025-07-01", valid_until="2025-07-01"),
        "line 3, valid_until",
        "2025-07-01",
        "must be after valid_from",
        id="until-equals-from",
    ),
    pytest.param(
        unit(successor="446"),
        "line 3, successor",
        "446",
        "only a unit that closes (valid_until) has a successor",
        id="successor-without-until",
    ),
    pytest.param(
        unit(**CLOSED, successor="18712"),
        "line 3, successor",
        "18712",
        "a unit cannot succeed itself",
        id="successor-is-itself",
    ),
    pytest.param(
        unit(parent="447"),
        "line 3, parent",
        "447",
        "names no unit in this file or the register",
        id="unknown-parent",
    ),
    pytest.param(
        unit(**CLOSED, successor="30100"),
        "line 3, successor",
        "30100",
        "names no unit in this file or the register",
        id="unknown-successor",
    ),
    pytest.param(
        unit(parent="18712"),
        "line 3, parent",
        "18712",
        "a unit cannot be its own parent",
        id="parent-is-itself",
    ),
    pytest.param(
        "18712,Xã Nam Phúc Thăng,xa",
        "line 3, parent",
        None,
        "is missing: the row is too short",
        id="short-row",
    ),
    pytest.param(unit(name="\u200b"), "line 3, name", "", "is required", id="zero-width-name"),
    pytest.param(unit(name="\u00a0 "), "line 3, name", "", "is required", id="no-break-space-name"),
    pytest.param(
        unit(name="Xã\x00Hà"),
        "line 3, name",
        "Xã\x00Hà",
        "holds the control character U+0000",
        id="nul-in-name",
    ),
    pytest.param(
        unit(name='"Xã Nam\r\nPhúc Thăng"'),
        "line 3, name",
        "Xã Nam\nPhúc Thăng",  # the file is read with universal newlines
        "holds a line break or tab (U+000A) where one line is expected",
        id="line-break-in-name",
    ),
    pytest.param(
        unit(name="Xã\tNam Phúc Thăng"),
        "line 3, name",
        "Xã\tNam Phúc Thăng",
        "holds a line break or tab (U+0009) where one line is expected",
        id="tab-in-name",
    ),
    pytest.param(
        unit(name="Xã \u202eNam Phúc Thăng"),
        "line 3, name",
        "Xã \u202eNam Phúc Thăng",
        "holds the bidirectional control U+202E",
        id="bidi-override-in-name",
    ),
    pytest.param(
        unit(email='"ubnd.18712@camxuyen.example\n"'),
        "line 3, email",
        "ubnd.18712@camxuyen.example\n",
        "holds a line break or tab (U+000A) where one line is expected",
        id="line-break-after-email",
    ),
    pytest.param(
        unit(email="nguyễn@ví-dụ.vn"),
        "line 3, email",
        "nguyễn@ví-dụ.vn",
        "is not an ASCII e-mail address (write an international domain in its xn-- form)",
        id="non-ascii-email",
    ),
    pytest.param(
        unit(email="u@p.example>"),
        "line 3, email",
        "u@p.example>",
        "is not an e-mail address",
        id="email-with-a-stray-bracket",
    ),
    pytest.param(
        unit(email="Xã <u@p.example>"),
        "line 3, email",
        "Xã <u@p.example>",
        "is not an ASCII e-mail address (write an international domain in its xn-- form)",
        id="email-with-a-name",
    ),
    pytest.param(
        unit(email='"u@p.example; a@evil.example"'),
        "line 3, email",
        "u@p.example; a@evil.example",
        "is not an e-mail address",
        id="two-emails",
    ),
    pytest.param(
        unit("1" * 33),
        "line 3, code",
        "1" * 33,
        "is longer than the 32 characters it may have",
        id="code-longer-than-its-column",
    ),
    pytest.param(
        unit(name="Xã " + "A" * 198),
        "line 3, name",
        "Xã " + "A" * 198,
        "is longer than the 200 characters it may have",
        id="name-longer-than-its-column",
    ),
    pytest.param(
        unit(kind="k" * 33),
        "line 3, kind",
        "k" * 33,
        "is longer than the 32 characters it may have",
        id="kind-longer-than-its-column",
    ),
    pytest.param(
        unit(email="a" * 190 + "@camxuyen.example"),
        "line 3, email",
        "a" * 190 + "@camxuyen.example",
        "is longer than the 200 characters it may have",
        id="email-longer-than-its-column",
    ),
    pytest.param(
        unit() + ",extra",
        "line 3",
        ["extra"],
        "has more cells than the header",
        id="extra-cells",
    ),
]


@pytest.mark.parametrize(("row", "field", "value", "problem"), BAD_UNIT_ROWS)
def test_bad_unit_row_is_refused(
    tmp_path: Path, row: str, field: str, value: object, problem: str
) -> None:
    refusal(read_units, write(tmp_path, UNIT_HEADER, DISTRICT, row), field, value, problem)


def test_duplicate_unit_code_names_the_earlier_line(tmp_path: Path) -> None:
    path = write(tmp_path, UNIT_HEADER, DISTRICT, unit(), unit("18751"), unit(name="Xã Cẩm Minh"))
    refusal(read_units, path, "line 5, code", "18712", "repeats line 3")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(UNIT_HEADER.removesuffix(",successor"), id="missing-column"),
        pytest.param("name,code" + UNIT_HEADER.removeprefix("code,name"), id="reordered"),
        pytest.param(UNIT_HEADER.replace("email", "e-mail"), id="renamed"),
        pytest.param(UNIT_HEADER + ",note", id="extra-column"),
    ],
)
def test_wrong_unit_header_is_refused(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, header, DISTRICT)
    refusal(read_units, path, "header", header, f"must be {UNIT_HEADER}")


def test_empty_unit_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("", encoding="utf-8")
    refusal(read_units, path, "header", "", f"must be {UNIT_HEADER}")


def test_missing_register_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(InputError) as caught:
        read_units(path)
    assert (caught.value.field, caught.value.value, caught.value.problem) == (
        "(file)",
        str(path),
        "no such file",
    )


def test_non_utf8_register_is_refused(tmp_path: Path) -> None:
    """A register saved in a legacy code page (here Latin-1) is refused, not misread."""
    path = tmp_path / "register.csv"
    raw = (UNIT_HEADER + "\n" + unit(name="Xã Hà")).encode("latin-1")
    path.write_bytes(raw)
    with pytest.raises(InputError) as caught:
        read_units(path)
    err = caught.value
    assert (err.source, err.field, err.value, err.problem) == (
        str(path),
        "(file)",
        raw[:20],
        "is not UTF-8 text",
    )


@pytest.mark.parametrize("value", ["2024-W05-1", "20240129"])
def test_only_yyyy_mm_dd_dates_are_read(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, UNIT_HEADER, DISTRICT, unit(valid_from=value))
    refusal(read_units, path, "line 3, valid_from", value, "is not a date YYYY-MM-DD")


# --- references within and beyond the file ------------------------------------------------


def test_parent_later_in_the_file_is_fine(tmp_path: Path) -> None:
    units = read_units(write(tmp_path, UNIT_HEADER, unit(), DISTRICT))
    assert [(u.code, u.parent_code) for u in units] == [("18712", "446"), ("446", None)]


def test_parent_already_in_the_register_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, UNIT_HEADER, unit())
    refusal(read_units, path, "line 2, parent", "446", "names no unit in this file or the register")
    (commune,) = read_units(path, [STORED_DISTRICT])
    assert commune.parent_code == "446"


def test_closing_unit_names_its_successor(tmp_path: Path) -> None:
    """After 1 July 2025 communes close and merged communes succeed them."""
    path = write(
        tmp_path,
        UNIT_HEADER,
        unit(valid_until="2025-07-01", successor="30100"),
        unit("30100", name="Xã Cẩm Xuyên mới", parent="", valid_from="2025-07-01"),
    )
    old, new = read_units(path, [STORED_DISTRICT])
    assert (old.valid_until, old.successor_code) == (date(2025, 7, 1), "30100")
    assert old.valid_on(date(2025, 6, 30)) and not old.valid_on(date(2025, 7, 1))
    assert new.valid_on(date(2025, 7, 1)) and not new.valid_on(date(2025, 6, 30))


def test_a_parent_cycle_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        UNIT_HEADER,
        DISTRICT,
        unit("18712", parent="18751"),
        unit("18751", parent="18712"),
    )
    refusal(read_units, path, "line 3, parent", "18751", "makes a cycle: 18712 → 18751 → 18712")


def test_a_parent_cycle_through_the_stored_register_is_refused(tmp_path: Path) -> None:
    """The district, re-imported under a commune the register keeps under the district."""
    stored = read_units(write(tmp_path, UNIT_HEADER, DISTRICT, unit()))
    path = write(tmp_path, UNIT_HEADER, unit("446", parent="18712"))
    refusal(
        read_units_over(stored), path, "line 2, parent", "18712", "makes a cycle: 446 → 18712 → 446"
    )


def test_a_successor_cycle_is_refused(tmp_path: Path) -> None:
    """Two communes succeeding each other: after they close nobody would owe anything."""
    path = write(
        tmp_path,
        UNIT_HEADER,
        DISTRICT,
        unit(**CLOSED, successor="18751"),
        unit("18751", **CLOSED, successor="18712"),
    )
    refusal(read_units, path, "line 3, successor", "18751", "makes a cycle: 18712 → 18751 → 18712")


@pytest.mark.parametrize(
    ("starts", "problem"),
    [
        (
            "2025-07-02",
            "18751 starts on 02/07/2025 but 18712 closes on 01/07/2025 (its valid_until is the "
            "first day it no longer exists): the handover leaves a gap",
        ),
        (
            "2025-06-30",
            "18751 starts on 30/06/2025 but 18712 closes on 01/07/2025 (its valid_until is the "
            "first day it no longer exists): the two overlap",
        ),
    ],
)
def test_a_successor_starts_the_day_its_predecessor_closes(
    tmp_path: Path, starts: str, problem: str
) -> None:
    """A commune 'closed on 30/06' (valid_until 2025-06-30) whose successor starts on 01/07
    would leave 30/06, and so June, owed by nobody; the import names the handover."""
    path = write(
        tmp_path,
        UNIT_HEADER,
        DISTRICT,
        unit(**CLOSED, successor="18751"),
        unit("18751", name="Xã Cẩm Lạc mới", valid_from=starts),
    )
    refusal(read_units, path, "line 3, successor", "18751", problem)


def test_a_handover_on_the_closing_day_or_into_a_unit_that_goes_on_is_read(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        UNIT_HEADER,
        DISTRICT,
        unit(**CLOSED, successor="18751"),
        unit("18751", name="Xã Cẩm Lạc mới", valid_from="2025-07-01"),
        unit("18676", name="Thị trấn Thiên Cầm", **CLOSED, successor="18679"),
        unit("18679", name="Xã Yên Hòa"),
    )
    assert [u.successor_code for u in read_units(path)] == [None, "18751", None, "18679", None]


def test_a_code_on_two_rows_continues_under_a_new_name_kind_and_parent(tmp_path: Path) -> None:
    """18673, Thị trấn Cẩm Xuyên, is Xã Cẩm Xuyên from 01/07/2025, under the province."""
    path = write(
        tmp_path,
        UNIT_HEADER,
        DISTRICT,
        unit("42", name="Ủy ban nhân dân tỉnh Hà Tĩnh", kind="ubnd_tinh", parent=""),
        unit("18673", name="Thị trấn Cẩm Xuyên", kind="thi_tran", valid_until="2025-07-01"),
        unit("18673", name="Xã Cẩm Xuyên", parent="42", valid_from="2025-07-01"),
    )
    rows = read_units(path)
    versions = histories([], [])
    for row in rows:
        versions[row.code] = add_version(versions.get(row.code, []), row)
    town, commune = versions["18673"]
    assert (town.name, town.parent_code, town.valid_until) == (
        "Thị trấn Cẩm Xuyên",
        "446",
        date(2025, 7, 1),
    )
    assert version_on(versions["18673"], date(2025, 6, 30)) == town
    assert version_on(versions["18673"], date(2025, 7, 1)) == commune
    assert life(versions["18673"]).valid_from is None
    assert life(versions["18673"]).valid_until is None


def test_an_empty_cell_clears_nothing_a_version_has() -> None:
    """A row that leaves a cell empty (the national register has no addresses, the register
    of 2024 names no successors) keeps what the version it changes holds there; a version that
    continues the code keeps the parent, tags and address of the one before, not its end."""
    closing = date(2025, 7, 1)
    town = UnitRow(
        "18673", "Thị trấn", "thi_tran", "446", ("commune",), "a@cx.example", None, closing, "42"
    )
    again = UnitRow("18673", "Thị trấn Cẩm Xuyên", "thi_tran", None, (), None, None, None, None)
    (changed,) = add_version([town], again)
    assert changed == replace(town, name="Thị trấn Cẩm Xuyên")
    open_town = replace(town, valid_until=None, successor_code=None)
    commune = UnitRow("18673", "Xã Cẩm Xuyên", "xa", None, (), None, closing, None, None)
    before, after = add_version([open_town], commune)
    assert before == replace(open_town, valid_until=closing)
    assert after == replace(commune, parent_code="446", tags=("commune",), email="a@cx.example")


@pytest.mark.parametrize(
    ("first", "then", "problem"),
    [
        pytest.param(
            {"valid_until": "2025-07-01", "successor": "18751"},
            {"valid_from": "2025-07-01"},
            "18712 passes its work to 18751 on 01/07/2025; it cannot also continue under its code",
            id="closed-with-a-successor",
        ),
        pytest.param(
            {"valid_from": "2025-07-01"},
            {"valid_from": "2024-01-01", "valid_until": "2025-01-01"},
            "18712 has the versions 01/07/2025–today: a row changes the one that starts when it "
            "does, continues the latest from a day it exists, or ends the day the first starts",
            id="a-gap-before",
        ),
    ],
)
def test_a_second_version_that_does_not_follow_on_is_refused(
    tmp_path: Path, first: dict[str, str], then: dict[str, str], problem: str
) -> None:
    path = write(tmp_path, UNIT_HEADER, DISTRICT, unit("18751"), unit(**first), unit(**then))
    refusal(read_units, path, "line 5, valid_from", then["valid_from"], problem)


def read_units_over(register: list[UnitRow]) -> Callable[[Path], object]:
    return lambda path: read_units(path, register)


def test_unit_cells_are_trimmed_and_normalised(tmp_path: Path) -> None:
    """Spaces, a byte-order mark (Excel) and decomposed Vietnamese do not change a unit."""
    path = tmp_path / "register.csv"
    row = unit(name=" " + unicodedata.normalize("NFD", "Xã Nam Phúc Thăng"), tags=" commune ; a ")
    path.write_text(f"\ufeff{UNIT_HEADER}\n{DISTRICT}\n{row}\n", encoding="utf-8")
    commune = read_units(path)[1]
    assert (commune.name, commune.tags) == ("Xã Nam Phúc Thăng", ("commune", "a"))
    assert commune.as_record()["tags"] == '["commune", "a"]'


# --- actors -------------------------------------------------------------------------------


def test_shipped_actors_read_against_shipped_units(units: list[UnitRow]) -> None:
    actors = read_actors(ACTORS, [u.code for u in units])
    assert len(actors) == 31
    assert actors[0] == ActorRow(
        "admin.cx", "Quản trị hệ thống Cẩm Xuyên", "446", "admin", "admin@camxuyen.example"
    )
    assert [a.username for a in actors if a.role == "admin"] == ["admin.cx"]
    assert {a.unit_code for a in actors} == set(COMMUNES) | CCHC_CONTENT | {
        "446",
        "446-TTVHTT",
        "446-TTHCC",
        "42-SVHTTDL",
    }


def test_shipped_actors_need_the_units(units: list[UnitRow]) -> None:
    communes_only = [u.code for u in units if u.code in COMMUNES]
    with pytest.raises(InputError) as caught:
        read_actors(ACTORS, communes_only)
    assert (caught.value.field, caught.value.value) == ("line 2, unit", "446")


LAN = "Nguyễn Thị Lan"

BAD_ACTOR_ROWS = [
    pytest.param(
        f"vhtt.lan,{LAN},446-VHTD,staff,",
        "line 2, unit",
        "446-VHTD",
        "names no unit in the register",
        id="unknown-unit",
    ),
    pytest.param(
        f"vhtt.lan,{LAN},446-VHTT,boss,",
        "line 2, role",
        "boss",
        "must be one of staff, admin",
        id="bad-role",
    ),
    pytest.param(
        "Nguyễn Văn A,Nguyễn Văn A,446-VHTT,staff,",
        "line 2, username",
        "Nguyễn Văn A",
        "use a-z, 0-9, '.', '_' or '-'",
        id="username-with-spaces-and-accents",
    ),
    pytest.param(
        f"VHTT.Lan,{LAN},446-VHTT,staff,",
        "line 2, username",
        "VHTT.Lan",
        "use a-z, 0-9, '.', '_' or '-'",
        id="username-in-capitals",
    ),
    pytest.param(
        f"dondoc,{LAN},446,admin,",
        "line 2, username",
        "dondoc",
        "is reserved for dondoc's own runs",
        id="the-system-actor",
    ),
    pytest.param(
        "vhtt.lan, ,446-VHTT,staff,",
        "line 2, full_name",
        "",
        "is required",
        id="empty-full-name",
    ),
    pytest.param(
        f"vhtt.lan,{LAN},446-VHTT,staff,lan at camxuyen",
        "line 2, email",
        "lan at camxuyen",
        "is not an e-mail address",
        id="bad-email",
    ),
    pytest.param(
        "vhtt.lan,\u200b,446-VHTT,staff,",
        "line 2, full_name",
        "",
        "is required",
        id="zero-width-full-name",
    ),
    pytest.param(
        f"vhtt.lan,{LAN} {'A' * 190},446-VHTT,staff,",
        "line 2, full_name",
        f"{LAN} {'A' * 190}",
        "is longer than the 200 characters it may have",
        id="full-name-longer-than-its-column",
    ),
    pytest.param(
        'vhtt.lan,"Nguyễn Thị\nLan",446-VHTT,staff,',
        "line 2, full_name",
        "Nguyễn Thị\nLan",
        "holds a line break or tab (U+000A) where one line is expected",
        id="line-break-in-full-name",
    ),
    pytest.param(
        f"vhtt.lan,{LAN}\u202e,446-VHTT,staff,",
        "line 2, full_name",
        f"{LAN}\u202e",
        "holds the bidirectional control U+202E",
        id="bidi-override-in-full-name",
    ),
    pytest.param(
        f"vhtt.lan,{LAN},446-VHTT,staff,nguyễn@ví-dụ.vn",
        "line 2, email",
        "nguyễn@ví-dụ.vn",
        "is not an ASCII e-mail address (write an international domain in its xn-- form)",
        id="non-ascii-email",
    ),
    pytest.param(
        f"vhtt.lan,{LAN},446-VHTT,staff,u@p.example>",
        "line 2, email",
        "u@p.example>",
        "is not an e-mail address",
        id="email-with-a-stray-bracket",
    ),
    pytest.param(
        f"vhtt.lan,{LAN},446-VHTT",
        "line 2, role",
        None,
        "is missing: the row is too short",
        id="short-row",
    ),
    pytest.param(
        f"vhtt.lan,{LAN},446-VHTT,staff,,x",
        "line 2",
        ["x"],
        "has more cells than the header",
        id="extra-cells",
    ),
]


@pytest.mark.parametrize(("row", "field", "value", "problem"), BAD_ACTOR_ROWS)
def test_bad_actor_row_is_refused(
    tmp_path: Path, row: str, field: str, value: object, problem: str
) -> None:
    refusal(read_test_actors, write(tmp_path, ACTOR_HEADER, row), field, value, problem)


def test_duplicate_username_names_the_earlier_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ACTOR_HEADER,
        f"vhtt.lan,{LAN},446-VHTT,staff,",
        "cb.18712,Đỗ Văn Khánh,18712,staff,",
        "vhtt.lan,Lê Thị Lan,446-VHTT,staff,",
    )
    refusal(read_test_actors, path, "line 4, username", "vhtt.lan", "repeats line 2")


def test_wrong_actor_header_is_refused(tmp_path: Path) -> None:
    header = "username,name,unit,role,email"
    refusal(read_test_actors, write(tmp_path, header), "header", header, f"must be {ACTOR_HEADER}")


def test_decomposed_full_name_is_stored_composed(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", LAN)
    assert decomposed != LAN
    path = write(tmp_path, ACTOR_HEADER, f"vhtt.lan,{decomposed},446-VHTT,staff,")
    (actor,) = read_actors(path, {"446-VHTT"})
    assert actor == ActorRow("vhtt.lan", LAN, "446-VHTT", "staff", None)
    assert actor.as_record()["full_name"] == LAN


def test_actor_from_a_command() -> None:
    """A command names no line: the field is the bare name."""
    actor = validate_actor(
        "dondoc actor add",
        "",
        " vhtt.lan ",
        unicodedata.normalize("NFD", LAN),
        "446-VHTT",
        "staff",
        "lan.vhtt@camxuyen.example",
        {"446-VHTT"},
    )
    assert actor == ActorRow("vhtt.lan", LAN, "446-VHTT", "staff", "lan.vhtt@camxuyen.example")
    with pytest.raises(InputError) as caught:
        validate_actor(
            "dondoc actor add", "", "vhtt.lan", LAN, "446-VHTT", "boss", None, {"446-VHTT"}
        )
    assert str(caught.value) == "dondoc actor add: role: must be one of staff, admin (got 'boss')"


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("username", ("vhtt.lan\n", LAN, "446-VHTT", "staff", None)),
        ("full_name", ("vhtt.lan", f"{LAN}\r\nBcc: a@evil.example", "446-VHTT", "staff", None)),
        ("full_name", ("vhtt.lan", f"{LAN}\r", "446-VHTT", "staff", None)),
        ("unit", ("vhtt.lan", LAN, "446-VHTT\n", "staff", None)),
        ("email", ("vhtt.lan", LAN, "446-VHTT", "staff", "lan@camxuyen.example\r\n")),
    ],
)
def test_a_command_refuses_line_breaks_in_every_text(field: str, args: tuple[str, ...]) -> None:
    """Even at a text's edge, where trimming would have hidden it."""
    with pytest.raises(InputError) as caught:
        validate_actor("actors add", "", *args, {"446-VHTT"})  # type: ignore[arg-type]
    assert caught.value.field == field
    assert "line break" in caught.value.problem


@pytest.mark.parametrize(
    "address",
    [
        "lan.vhtt@camxuyen.example",
        "ubnd.18712@camxuyen.example",
        "van-thu+cchc@xn--v-d-yla8a.vn",
        "a_b@sub.ha-tinh.gov.vn",
    ],
)
def test_plain_addresses_are_read(address: str) -> None:
    assert email_problem(address) is None


@pytest.mark.parametrize(
    "address",
    [
        "",
        "@camxuyen.example",
        "lan@",
        "lan@camxuyen",
        "lan@-camxuyen.example",
        "lan@camxuyen.example.",
        "lan@[127.0.0.1]",
        "lan@1.2.3.4",
        '"lan vhtt"@camxuyen.example',
        "lan(cmt)@camxuyen.example",
        "<lan@camxuyen.example>",
        "lan@camxuyen.example, a@evil.example",
        "lan..vhtt@camxuyen.example",
    ],
)
def test_other_addresses_are_refused(address: str) -> None:
    assert email_problem(address) is not None

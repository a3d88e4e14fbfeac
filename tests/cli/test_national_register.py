"""The national register of today (directives/units/vietnam-2025.csv), imported as a user
would: 34 provinces and 3,321 communes, wards and special zones, once however often."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, UNITS

NATIONAL = ROOT / "directives" / "units" / "vietnam-2025.csv"
SUCCESSION = ROOT / "directives" / "units" / "cam-xuyen-2025.csv"
PROVINCES = ("tinh", "thanh_pho_trung_uong")
COMMUNES = ("xa", "phuong", "dac_khu")


def _units(tmp_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "cli.db") as db:
        return db.execute("SELECT * FROM unit ORDER BY code").fetchall()


def test_the_national_register_imports_in_one_command_and_once(dondoc: Any, tmp_path: Path) -> None:
    assert "3355 units imported" in dondoc("units", "import", str(NATIONAL)).stdout
    first = _units(tmp_path)
    with sqlite3.connect(tmp_path / "cli.db") as db:
        kinds = dict(db.execute("SELECT kind, count(*) FROM unit GROUP BY kind").fetchall())
        provinces = {
            code
            for (code,) in db.execute(
                "SELECT code FROM unit WHERE kind IN (?, ?) AND parent_code IS NULL", PROVINCES
            )
        }
        parents = {
            parent
            for (parent,) in db.execute(
                "SELECT DISTINCT parent_code FROM unit WHERE kind IN (?, ?, ?)", COMMUNES
            )
        }
        starts = db.execute("SELECT DISTINCT valid_from, valid_until FROM unit").fetchall()
    assert sum(kinds[k] for k in PROVINCES) == 34
    assert sum(kinds[k] for k in COMMUNES) == 3321
    assert (kinds["xa"], kinds["phuong"], kinds["dac_khu"]) == (2621, 687, 13)
    assert parents == provinces and len(provinces) == 34
    assert starts == [("2025-07-01", None)]
    assert [row[1] for row in first if "  " in row[1]] == []  # the package has ten such
    by_code = {row[0]: row for row in first}
    assert by_code["42"][1:3] == ("Tỉnh Hà Tĩnh", "tinh")
    assert by_code["01"][1:3] == ("Thành phố Hà Nội", "thanh_pho_trung_uong")
    assert by_code["18673"][1:4] == ("Xã Cẩm Xuyên", "xa", "42")
    assert by_code["18682"][1:4] == ("Xã Yên Hòa", "xa", "42")
    assert "3355 units imported" in dondoc("units", "import", str(NATIONAL)).stdout
    assert _units(tmp_path) == first


def test_over_the_seed_registers_the_codes_they_share_continue_and_say_so(
    dondoc: Any, tmp_path: Path
) -> None:
    dondoc("units", "import", str(UNITS))
    national = dondoc("units", "import", str(NATIONAL)).stdout
    assert "3355 units imported" in national
    assert (
        "18673 continues under its code from 01/07/2025: Thị trấn Cẩm Xuyên → Xã Cẩm Xuyên\n"
        in (national)
    )
    assert "18682 continues under its code from 01/07/2025: Xã Cẩm Dương → Xã Yên Hòa\n" in national
    assert "42 continues under its code from 01/07/2025: Ủy ban nhân dân tỉnh Hà Tĩnh → Tỉnh" in (
        national
    )
    assert national.count("continues under its code") == 8
    # the district's own register, after the national one, keeps its addresses
    moved = dondoc("units", "import", str(SUCCESSION)).stdout
    assert "22 units imported" in moved and "continues" not in moved
    first = _units(tmp_path)
    assert len(first) == 38 + 3355 - 8  # the eight codes both hold
    assert {row[0]: row[5] for row in first}["18673"] == "ubnd.18673@camxuyen.example"
    for again in (NATIONAL, SUCCESSION):
        assert "continues" not in dondoc("units", "import", str(again)).stdout
    assert _units(tmp_path) == first

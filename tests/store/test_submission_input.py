"""What a unit hands in is refused at submit, naming the field and the value, when a document
or either database could not hold it: control characters, numbers beyond every path's range,
digits other than 0-9, texts that are not text, and texts longer than their columns. Nothing
is written, the same on SQLite and PostgreSQL. On every backend."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import InputError, Unauthorized
from models.rules.obligation import Decision
from models.rules.status import Day
from models.storage import desk, ledger, reporting
from models.storage.db import driver_transaction, transaction
from notifications.report import write_consolidation_docx, write_consolidation_xlsx
from tests.conftest import count, obligation_id

AT = datetime(2024, 3, 10, 3, 0, tzinfo=UTC)
FIGURES = {
    "training_classes": 2,
    "seminars": 1,
    "news_items": 14,
    "leaflets": 300,
    "documents": 5,
    "other_forms": 0,
}
NARRATIVE = "Tổ chức 2 lớp tập huấn về dịch vụ công trực tuyến."
TOWN = "18712"


def hand_in(
    engine: Engine,
    *,
    figures: dict[str, Any] | None = None,
    narrative: Any = NARRATIVE,
    evidence: Any = None,
    actor: str = f"cb.{TOWN}",
    key: str = "k",
) -> ledger.Outcome:
    """Commune 18712's Q1 report of requirement 1c."""
    return ledger.submit(
        engine,
        obligation_id(engine, "1c", TOWN, "2024-Q1"),
        ledger.Issued(actor, key, "test", AT),
        figures=FIGURES if figures is None else figures,
        narrative=narrative,
        evidence=evidence,
    )


def refused(engine: Engine, field: str, match: str, **given: Any) -> InputError:
    """The submission `given` is refused on `field`, and nothing is written."""
    before = count(engine, "event"), count(engine, "denial")
    with pytest.raises(InputError, match=match) as error:
        hand_in(engine, **given)
    assert error.value.field == field
    assert (count(engine, "event"), count(engine, "denial")) == before
    return error.value


@pytest.mark.parametrize(
    ("given", "field", "char"),
    [
        ({"narrative": "Quý I\x01"}, "narrative", "U+0001"),
        ({"narrative": "Quý I\x0b tập huấn"}, "narrative", "U+000B"),
        ({"narrative": "Quý I\x00"}, "narrative", "U+0000"),
        ({"narrative": "Quý I \ud800"}, "narrative", "U+D800"),
        ({"evidence": "https://cx.example/bc\x01"}, "evidence", "U+0001"),
        ({"figures": {**FIGURES, "leaflets": "30\x000"}}, "figures.leaflets", "U+0000"),
    ],
)
def test_control_characters_are_refused_at_submit(
    seeded: Engine, given: dict[str, Any], field: str, char: str
) -> None:
    error = refused(seeded, field, re.escape(char), **given)
    assert error.vi is not None and "\x00" not in error.vi and "\x01" not in error.vi


def test_a_text_figure_with_a_control_character_is_refused(seeded: Engine) -> None:
    oid = obligation_id(seeded, "4b", "446-TTVHTT", "once")
    for text, char in (("Nguyễn\x01 Văn A", "U+0001"), ("Nguyễn\nVăn A", "U+000A")):
        with pytest.raises(InputError, match=re.escape(char)) as error:
            ledger.submit(
                seeded,
                oid,
                ledger.Issued("ttvhtt.minh", f"r{char}", "test", AT),
                figures={"reporter": text},
                narrative=None,
                evidence=None,
            )
        assert error.value.field == "figures.reporter" and error.value.value == text
        assert "không được phép" in (error.value.vi or "")
    assert count(seeded, "event") == count(seeded, "obligation")


@pytest.mark.parametrize(
    "value",
    ["9" * 400, 10**400, 10**15 + 1, -(10**15) - 1, "1000000000000001", 1e300, "-" + "9" * 17],
)
def test_a_number_beyond_the_bound_is_refused_at_submit(seeded: Engine, value: Any) -> None:
    refused(seeded, "figures.leaflets", "must be between", figures={**FIGURES, "leaflets": value})


def test_a_number_at_the_bound_is_handed_in_accepted_and_totalled(seeded: Engine) -> None:
    hand_in(seeded, figures={**FIGURES, "leaflets": str(10**15)})
    oid = obligation_id(seeded, "1c", TOWN, "2024-Q1")
    assert ledger.accept(seeded, oid, ledger.Issued("vhtt.lan", "a", "test", AT)).status
    with transaction(seeded, writes=False) as conn:
        stored = conn.execute(
            sa.text(
                "SELECT number FROM figure_value WHERE obligation_id = :o AND key = 'leaflets'"
            ),
            {"o": oid},
        ).scalar_one()
    assert stored == 1e15


@pytest.mark.parametrize("value", ["٣", "３", "1٢", "²"])
def test_digits_other_than_0_to_9_are_refused(seeded: Engine, value: str) -> None:
    refused(seeded, "figures.leaflets", "digits 0-9", figures={**FIGURES, "leaflets": value})


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"narrative": 5}, "narrative"),
        ({"narrative": ["Quý I"]}, "narrative"),
        ({"evidence": {"url": "https://cx.example"}}, "evidence"),
        ({"figures": ["leaflets"]}, "figures"),
    ],
)
def test_what_is_not_text_is_refused_as_such(
    seeded: Engine, given: dict[str, Any], field: str
) -> None:
    refused(seeded, field, "must", **given)


def test_an_evidence_link_longer_than_its_column_is_refused(seeded: Engine) -> None:
    link = "https://cx.example/" + "a" * 3000
    refused(seeded, "evidence", "at most 2,000", evidence=link)


def test_a_key_longer_than_its_column_is_refused(seeded: Engine) -> None:
    refused(seeded, "idempotency key", "at most 200", key="k" * 201)
    assert hand_in(seeded, key="k" * 200).replayed is False


@pytest.mark.parametrize("key", ["k\x00", "k\x01", "k\nk", "k\u202e"])
def test_a_key_with_a_control_character_is_refused(seeded: Engine, key: str) -> None:
    refused(seeded, "idempotency key", re.escape("U+"), key=key)


@pytest.mark.parametrize("actor", [f"cb.{TOWN}\x00", f"cb.{TOWN}\n", "\ud800"])
def test_an_actor_name_no_database_can_look_up_is_refused_as_bad_input(
    seeded: Engine, actor: str
) -> None:
    refused(seeded, "actor", re.escape("U+"), actor=actor)


def test_an_unknown_actor_too_long_for_the_register_is_refused_and_recorded(
    seeded: Engine,
) -> None:
    actor = "x" * 100
    with pytest.raises(Unauthorized, match="names no actor in the register"):
        hand_in(seeded, actor=actor)
    with transaction(seeded, writes=False) as conn:
        denial = conn.execute(sa.text("SELECT actor, command, reason FROM denial")).one()
    assert denial.actor == actor[:64] and denial.command == "submit"
    assert actor in denial.reason
    assert count(seeded, "event") == count(seeded, "obligation")


def test_an_unknown_actor_replaying_a_key_learns_nothing_of_its_owner(seeded: Engine) -> None:
    hand_in(seeded, key="bc-quy-1")
    with pytest.raises(Unauthorized, match="'nobody' names no actor") as error:
        hand_in(seeded, actor="nobody", key="bc-quy-1")
    assert f"cb.{TOWN}" not in str(error.value)
    with pytest.raises(Unauthorized) as error:
        hand_in(seeded, actor="cb.18673", key="bc-quy-1")
    assert f"cb.{TOWN}" not in str(error.value)
    assert count(seeded, "denial") == 2


def test_the_reports_are_written_whatever_an_older_submission_holds(
    seeded: Engine, tmp_path: Path
) -> None:
    """A submission recorded before these characters were refused (appended here as the
    ledger did then, past the check) still gives a workbook and a Word report."""
    oid = obligation_id(seeded, "1c", TOWN, "2024-Q1")
    by = ledger.Issued(f"cb.{TOWN}", "before-the-check", "test", AT)
    payload = {"figures": FIGURES, "narrative": "Quý I\x01 tập huấn\x0b 2 lớp", "evidence": None}
    with driver_transaction(seeded) as driver:
        target = ledger.load(driver, oid, by).target
        ledger.append(driver, target, Decision("submitted", payload), by)
    ledger.accept(seeded, oid, ledger.Issued("vhtt.lan", "a", "test", AT))
    found = reporting.consolidation(
        seeded,
        directive="cam-xuyen-cchc-2024",
        requirement="1c",
        period="2024-Q1",
        on=Day(date(2024, 3, 20), date(2024, 3, 25)),
    )
    book = openpyxl.load_workbook(write_consolidation_xlsx(found, tmp_path / "r.xlsx"))
    shown = {c.value for row in book["Đơn vị"].iter_rows() for c in row}
    assert "Quý I\ufffd tập huấn\ufffd 2 lớp" in shown
    document = docx.Document(str(write_consolidation_docx(found, tmp_path / "r.docx")))
    assert any("Quý I\ufffd tập huấn" in p.text for p in document.paragraphs)


def test_the_units_list_refuses_a_name_no_database_holds_and_records_an_overlong_one(
    seeded: Engine,
) -> None:
    with pytest.raises(Unauthorized, match="names no actor in the register"):
        desk.actor_unit(seeded, "x" * 100, command="list", now=AT)
    with transaction(seeded, writes=False) as conn:
        assert conn.execute(sa.text("SELECT actor FROM denial")).scalar_one() == "x" * 64
    with pytest.raises(InputError, match=re.escape("U+0000")) as error:
        desk.actor_unit(seeded, "cb.18712\x00", command="list", now=AT)
    assert error.value.field == "actor"
    with pytest.raises(InputError, match="names no unit") as error:
        desk.actor_unit(seeded, "cb.18712", command="list", now=AT, unit="18712\x00")
    assert error.value.field == "unit" and count(seeded, "denial") == 1

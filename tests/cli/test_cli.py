"""The `dondoc` command line, end to end on a SQLite file: what scripts and people see."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import services.database
from services.settings import load_settings
from tests.conftest import ACTORS, SEED, UNITS


def _figure_args(**changes: int) -> list[str]:
    """`-f KEY=VALUE` options of a complete quarterly report, with `changes` applied."""
    values = {
        "training_classes": 2,
        "seminars": 1,
        "news_items": 14,
        "leaflets": 300,
        "documents": 5,
        "other_forms": 0,
        **changes,
    }
    return [arg for key, value in values.items() for arg in ("-f", f"{key}={value}")]


def _obligations(run: Any, *args: str) -> list[dict[str, Any]]:
    return json.loads(run("obligations", "--json", *args).stdout)


def test_publish_lists_the_directive_and_its_obligations(published: Any) -> None:
    directives = json.loads(published("directive", "list", "--json").stdout)
    assert [(d["code"], d["requirements"], d["obligations"]) for d in directives] == [
        ("cam-xuyen-cchc-2024", 10, 291)
    ]
    rows = _obligations(
        published, "--unit", "18712", "--period", "2024-Q1", "--as-of", "2024-03-20"
    )
    assert len(rows) == 1
    assert set(rows[0]) >= {
        "id",
        "directive",
        "requirement",
        "unit",
        "period",
        "due",
        "status",
        "version",
    }
    assert (rows[0]["requirement"], rows[0]["due"], rows[0]["status"], rows[0]["version"]) == (
        "1c",
        "2024-03-15",
        "overdue",
        1,
    )
    soon = _obligations(
        published, "--unit", "18712", "--status", "due_soon", "--as-of", "2024-03-12"
    )
    assert [r["period"] for r in soon] == ["2024-Q1"]


def test_submit_accept_and_verify_through_the_cli(published: Any) -> None:
    oid = str(_obligations(published, "--unit", "18712", "--period", "2024-Q1")[0]["id"])
    done = published(
        "submit",
        oid,
        "--actor",
        "cb.18712",
        *_figure_args(),
        "--narrative",
        "Quý I: tổ chức 2 lớp tập huấn",
        "--key",
        "q1",
    )
    assert "submitted (version 2), now submitted" in done.stdout
    again = published(
        "submit",
        oid,
        "--actor",
        "cb.18712",
        *_figure_args(),
        "--narrative",
        "Quý I: tổ chức 2 lớp tập huấn",
        "--key",
        "q1",
    )
    assert "already recorded" in again.stdout
    published("accept", oid, "--actor", "svhttdl.an")
    rows = _obligations(published, "--unit", "18712", "--period", "2024-Q1")
    # the command line records the real time, long after the 2024 due date
    assert (rows[0]["status"], rows[0]["version"]) == ("accepted_late", 3)
    assert "293 events, every chain intact" in published("log", "verify").stdout
    assert "0 projection rows corrected" in published("log", "rebuild").stdout


def test_a_closed_units_staff_submit_its_past_work_but_decide_nothing(published: Any) -> None:
    """The command line records the real time, after the district level closed on 01/07/2025:
    the district lead office's role has passed to its successor in the register."""
    commune = _id(published, "18712")
    published("submit", commune, "--actor", "cb.18712", *_figure_args(), "--narrative", "Quý I")
    refused = published("accept", commune, "--actor", "vhtt.lan", ok=False)
    assert refused.exit_code == 4
    assert "vhtt.lan acts for unit 446-VHTT, closed on 01/07/2025" in refused.stderr
    published("accept", commune, "--actor", "svhttdl.an")

    rows = _obligations(published, "--unit", "446-VHTT", "--period", "2024-Q1")
    own = str(next(r["id"] for r in rows if r["requirement"] == "5"))
    published("submit", own, "--actor", "vhtt.lan", "--narrative", "Tổng hợp quý I")
    # the lead office's own report goes to the district committee, whose role the province's
    # committee holds now: the lead office's successor does not decide on it either
    refused = published("accept", own, "--actor", "svhttdl.an", ok=False)
    assert "only its recipient 42 (successor of 446) or an admin may accept it" in refused.stderr
    published("accept", own, "--actor", "admin.cx")
    statuses = {r["id"]: r["status"] for r in _obligations(published, "--period", "2024-Q1")}
    assert (statuses[int(commune)], statuses[int(own)]) == ("accepted_late", "accepted_late")


def test_the_command_line_records_the_operating_system_user_it_ran_as(
    dondoc: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line is the operators' tool on the server: every event it writes names,
    beside the dondoc actor given, the operating-system user it ran as."""
    monkeypatch.setenv("LOGNAME", "vanthu")
    dondoc("units", "import", str(UNITS))
    dondoc("actors", "import", str(ACTORS))
    dondoc("directive", "publish", str(SEED), "--actor", "admin.cx", "--as-of", "2024-03-31")
    dondoc("open", "--as-of", "2024-12-31")
    commune = _id(dondoc, "18712")
    dondoc("submit", commune, "--actor", "cb.18712", *_figure_args(), "--narrative", "Quý I")
    dondoc("accept", commune, "--actor", "svhttdl.an")
    with sqlite3.connect(tmp_path / "cli.db") as db:
        channels = db.execute("SELECT kind, channel FROM event GROUP BY kind, channel").fetchall()
        q4 = db.execute("SELECT count(*) FROM obligation WHERE period_key = '2024-Q4'").fetchone()
    assert q4[0] > 0  # opened by `dondoc open`
    assert {kind for kind, _ in channels} >= {"created", "submitted", "accepted"}
    assert {channel for _, channel in channels} == {"cli:vanthu"}


def test_a_bad_figure_names_the_field_and_value_and_writes_nothing(published: Any) -> None:
    oid = str(_obligations(published, "--unit", "18712", "--period", "2024-Q1")[0]["id"])
    figures = _figure_args(leaflets=-5)
    bad = published("submit", oid, "--actor", "cb.18712", *figures, "--narrative", "x", ok=False)
    assert bad.exit_code == 2
    assert "figures.leaflets" in bad.stderr and "'-5'" in bad.stderr
    assert _obligations(published, "--unit", "18712", "--period", "2024-Q1")[0]["version"] == 1


def test_another_units_staff_are_refused(published: Any) -> None:
    oid = str(_obligations(published, "--unit", "18712", "--period", "2024-Q1")[0]["id"])
    refused = published("submit", oid, "--actor", "cb.18673", "-f", "leaflets=1", ok=False)
    assert refused.exit_code == 4
    assert "cb.18673 acts for unit 18673 and cannot submit for 18712" in refused.stderr


def test_only_an_admin_publishes(dondoc: Any) -> None:
    dondoc("units", "import", str(UNITS))
    dondoc("actors", "import", str(ACTORS))
    refused = dondoc("directive", "publish", str(SEED), "--actor", "vhtt.lan", ok=False)
    assert refused.exit_code == 4 and "only an admin may publish" in refused.stderr
    assert json.loads(dondoc("directive", "list", "--json").stdout) == []


def test_a_bad_directive_file_is_refused_and_nothing_is_written(
    dondoc: Any, tmp_path: Path
) -> None:
    dondoc("units", "import", str(UNITS))
    dondoc("actors", "import", str(ACTORS))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SEED.read_text(encoding="utf-8").replace("day: 15}", "day: 32}", 1), encoding="utf-8"
    )
    refused = dondoc("directive", "publish", str(bad), "--actor", "admin.cx", ok=False)
    assert refused.exit_code == 2
    assert f"{bad}: requirements[2].schedule[0].due.day" in refused.stderr
    assert "(got 32)" in refused.stderr
    assert json.loads(dondoc("directive", "list", "--json").stdout) == []


def test_a_directive_naming_an_unknown_unit_is_refused(dondoc: Any, tmp_path: Path) -> None:
    dondoc("units", "import", str(UNITS))
    dondoc("actors", "import", str(ACTORS))
    bad = tmp_path / "unknown-unit.yaml"
    bad.write_text(
        SEED.read_text(encoding="utf-8").replace("units: [446-TTHCC]", "units: [446-XYZ]"),
        encoding="utf-8",
    )
    refused = dondoc("directive", "publish", str(bad), "--actor", "admin.cx", ok=False)
    assert refused.exit_code == 2
    assert "requirements[5].who.units[0]: names no unit in the register (got '446-XYZ')" in (
        refused.stderr
    )
    assert json.loads(dondoc("directive", "list", "--json").stdout) == []


def test_a_bad_unit_file_names_line_and_column_and_writes_nothing(
    dondoc: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "units.csv"
    lines = UNITS.read_text(encoding="utf-8").splitlines()
    lines[7] = lines[7].replace(",,2025-07-01,", ",2025-07-01,2024-01-01,")
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused = dondoc("units", "import", str(bad), ok=False)
    assert refused.exit_code == 2
    assert f"{bad}: line 8, valid_until: must be after valid_from (got '2024-01-01')" in (
        refused.stderr
    )
    imported = dondoc("units", "import", str(UNITS))
    assert "38 units imported" in imported.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("obligations", "--as-of", "2024-02-30"), "--as-of: is not a date YYYY-MM-DD"),
        (("obligations", "--status", "late"), "--status: must be one of open, due_soon"),
        (("extend", "1", "--actor", "vhtt.lan", "--due", "soon"), "--due: is not a date"),
    ],
)
def test_bad_options_are_named(dondoc: Any, args: tuple[str, ...], message: str) -> None:
    refused = dondoc(*args, ok=False)
    assert refused.exit_code == 2
    assert message in refused.stderr


def test_a_bad_database_url_names_the_setting(dondoc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DONDOC_DATABASE_URL", "mysql://somewhere/db")
    refused = dondoc("directive", "list", ok=False)
    assert refused.exit_code == 2
    assert "DONDOC_DATABASE_URL" in refused.stderr and "mysql://somewhere/db" in refused.stderr


def _id(run: Any, unit: str, period: str = "2024-Q1") -> str:
    rows = _obligations(run, "--unit", unit, "--period", period)
    return str(next(r["id"] for r in rows if r["requirement"] == "1c"))


def test_chase_dry_run_names_exactly_the_late_communes(published: Any) -> None:
    # 20/03/2024: the Q1 reports were due on Friday 15/03; three communes are not late
    report = [*_figure_args(), "--narrative", "Quý I"]
    published("submit", _id(published, "18712"), "--actor", "cb.18712", *report)
    accepted = _id(published, "18673")
    published("submit", accepted, "--actor", "cb.18673", *report)
    published("accept", accepted, "--actor", "svhttdl.an")
    published("waive", _id(published, "18679"), "--actor", "svhttdl.an", "--reason", "Sáp nhập")
    before = published("log", "verify").stdout
    run = json.loads(published("chase", "--as-of", "2024-03-20", "--dry-run", "--json").stdout)
    quarterly = {
        i["unit"] for i in run["items"] if (i["requirement"], i["period"]) == ("1c", "2024-Q1")
    }
    communes = {
        r["unit"]
        for r in _obligations(published, "--period", "2024-Q1")
        if r["requirement"] == "1c"
    }
    assert quarterly == communes - {"18712", "18673", "18679"} and len(quarterly) == 18
    assert {i["step"] for i in run["items"] if i["requirement"] == "1c"} == {"qua-han"}
    assert run["dry_run"] and run["delivery"] is None and run["letters"]
    # a dry run writes nothing
    assert published("log", "verify").stdout == before
    assert json.loads(published("outbox", "list", "--json").stdout) == []


def test_chase_writes_the_outbox_and_says_when_delivery_fails(
    published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DONDOC_SMTP_PORT", "9")  # nothing listens on the discard port
    failed = published("chase", "--as-of", "2024-03-18", ok=False)
    assert failed.exit_code == 7
    assert "kept in the outbox for a later run" in failed.stderr
    messages = json.loads(published("outbox", "list", "--json").stdout)
    assert messages and {m["status"] for m in messages} == {"failed"}
    monkeypatch.delenv("DONDOC_SMTP_HOST")
    monkeypatch.setenv("DONDOC_OUTBOX_DIR", str(tmp_path / "outbox"))
    published("outbox", "retry")
    assert {m["status"] for m in json.loads(published("outbox", "list", "--json").stdout)} == {
        "sent"
    }
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(messages)


def test_a_return_tells_the_unit_at_once_with_the_reason(
    published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_OUTBOX_DIR", str(tmp_path / "outbox"))
    oid = _id(published, "18712")
    published("submit", oid, "--actor", "cb.18712", *_figure_args(), "--narrative", "Quý I")
    returned = published("return", oid, "--actor", "svhttdl.an", "--reason", "Thiếu số tờ rơi")
    # returned today, after the commune closed with no successor (the 2024 register): its
    # staff, who alone may still hand its work in again, are told, not its old address
    assert "told: vanhoa.18712@camxuyen.example" in returned.stdout
    messages = json.loads(published("outbox", "list", "--json").stdout)
    assert [m["recipient"] for m in messages] == ["vanhoa.18712@camxuyen.example"]
    assert {m["status"] for m in messages} == {"sent"}
    for eml in (tmp_path / "outbox").glob("*.eml"):
        mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "TRẢ LẠI ĐỂ BỔ SUNG" in text and "Thiếu số tờ rơi" in text


def test_verify_with_an_anchor_finds_a_log_cut_short_since(
    published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_ANCHOR_DIR", str(tmp_path / "anchors"))
    oid = str(_obligations(published, "--unit", "18712", "--period", "2024-Q1")[0]["id"])
    published("submit", oid, "--actor", "cb.18712", *_figure_args(), "--narrative", "Quý I")
    _, anchor = services.database.anchor_log(load_settings(), now=datetime(2024, 3, 20, tzinfo=UTC))
    held = published("log", "verify", "--anchor", str(anchor))
    assert "and it holds the 292 events anchored at 2024-03-20" in held.stdout
    with sqlite3.connect(tmp_path / "cli.db") as db:  # what a writer of the database could do
        db.execute("DROP TRIGGER event_no_delete")
        db.execute(f"DELETE FROM event WHERE obligation_id = {oid} AND version = 2")
        db.execute(
            "UPDATE obligation SET status = 'open', version = 1, figures = NULL, narrative = "
            "NULL, submitted_at = NULL, handed_in_on = NULL, last_hash = (SELECT hash FROM event "
            f"WHERE obligation_id = {oid}) WHERE id = {oid}"
        )
    assert "every chain intact" in published("log", "verify").stdout
    cut = published("log", "verify", "--anchor", str(anchor), ok=False)
    assert cut.exit_code == 6
    assert f"{anchor}: the log held 292 events at the anchor" in cut.stderr


def test_a_key_of_dondocs_own_events_is_refused(published: Any) -> None:
    oid = str(_obligations(published, "--unit", "18673", "--period", "2024-Q1")[0]["id"])
    key = "created:cam-xuyen-cchc-2024:1c:18673:2024-Q4"
    refused = published(
        "submit", oid, "--actor", "cb.18673", *_figure_args(), "--key", key, ok=False
    )
    assert refused.exit_code == 2 and "kept for dondoc's own events" in refused.stderr


def test_report_rates_counts_what_was_handed_in(published: Any) -> None:
    published(
        "submit",
        _id(published, "18712"),
        "--actor",
        "cb.18712",
        *_figure_args(),
        "--narrative",
        "Q1",
    )
    published("waive", _id(published, "18679"), "--actor", "svhttdl.an", "--reason", "Sáp nhập")
    args = ("report", "rates", "--directive", "cam-xuyen-cchc-2024", "--requirement", "1c")
    found = json.loads(published(*args, "--period", "2024-Q1", "--json").stdout)
    # handed in now, long after the due date: reported, not on time
    assert [
        (r["expected"], r["reported"], r["on_time"], r["waived"], r["overdue"])
        for r in found["rates"]
    ] == [(20, 1, 0, 1, 19)]
    assert found["rates"][0]["reporting_rate"] == 0.05
    by_kind = json.loads(published(*args, "--period", "2024-Q1", "--by", "kind", "--json").stdout)
    assert [(r["group"], r["expected"]) for r in by_kind["rates"]] == [("thi_tran", 2), ("xa", 18)]
    table = published(*args, "--period", "2024-Q1").stdout
    assert "5.0%" in table
    refused = published(*args, "--by", "province", ok=False)
    assert "--by: must be one of kind, tag, parent (got 'province')" in refused.stderr


def test_report_consolidate_and_matrix_write_their_files(published: Any, tmp_path: Path) -> None:
    commune = _id(published, "18712")
    published("submit", commune, "--actor", "cb.18712", *_figure_args(), "--narrative", "Q1")
    published("accept", commune, "--actor", "svhttdl.an")
    args = ("--directive", "cam-xuyen-cchc-2024", "--requirement", "1c")
    done = published("report", "consolidate", *args, "--period", "2024-Q1", "--out", str(tmp_path))
    assert "1c 2024-Q1: 1/21 reported (4.8%), 0 on time, 20 missing" in done.stdout
    (workbook,) = tmp_path.glob("*.xlsx")
    rows = [
        row[1:5] for row in openpyxl.load_workbook(workbook)["Tổng hợp"].iter_rows(values_only=True)
    ]
    assert ("Số tờ rơi", "tờ", 300, 1) in rows
    assert len(list(tmp_path.glob("*.docx"))) == 1
    page = tmp_path / "ma-tran.html"
    shown = published("report", "matrix", *args, "--out", str(page))
    assert "21 units × 7 periods" in shown.stdout
    assert "Xã Nam Phúc Thăng" in page.read_text(encoding="utf-8")


def test_a_dry_run_of_publish_shows_what_it_would_create_and_writes_nothing(
    dondoc: Any,
) -> None:
    dondoc("units", "import", str(UNITS))
    dondoc("actors", "import", str(ACTORS))
    args = ("directive", "publish", str(SEED), "--actor", "admin.cx", "--as-of", "2024-03-31")
    shown = dondoc(*args, "--dry-run").stdout
    assert "cam-xuyen-cchc-2024: dry run as of 2024-03-31, nothing written (new)" in shown
    lines = [line.replace("│", " ").split() for line in shown.splitlines()]
    # the communes' report: four periods started by 31/03 (Q1, Q2, H1, the year), 19 communes
    assert ["1c", "xa", "76", "2024-03-15", "2024-12-16"] in lines
    assert ["1a", "thi_tran", "2", "-", "-"] in lines  # a standing duty has no due date
    assert dondoc("directive", "list", "--json").stdout.strip() == "[]"
    published = dondoc(*args).stdout
    total = next(line for line in lines if line[:1] == ["total"])[1]
    assert (
        next(line.replace("│", " ").split() for line in published.splitlines() if "total" in line)[
            -1
        ]
        == total
    )

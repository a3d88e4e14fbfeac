"""Errors a careless or hostile user can cause on the command line: one line on stderr naming
the option or field and the value, a distinct exit code, no traceback, nothing written."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import Result

import notifications.report
from cli.main import app
from models.storage.db import HEAD
from tests.cli.conftest import runner
from tests.conftest import ACTORS, SEED, UNITS


def _refused(result: Result, exit_code: int, *named: str) -> None:
    """The command ended on purpose with `exit_code` and one line on stderr naming `named`."""
    assert result.exc_info is not None and result.exc_info[0] is SystemExit, result.exc_info
    assert result.exit_code == exit_code, result.output + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in named:
        assert text in lines[0]


def _written(run: Any) -> tuple[str, list[Any], list[Any]]:
    """What the database holds: the log's event count, the directives and the outbox."""
    return (
        run("log", "verify").stdout,
        json.loads(run("directive", "list", "--json").stdout),
        json.loads(run("outbox", "list", "--json").stdout),
    )


@pytest.mark.parametrize(
    "args",
    [
        ("obligations", "--as-of", "9999-12-31"),
        ("obligations", "--as-of", "0001-01-01"),
        # its due-soon window would reach into a year the calendar does not know
        ("obligations", "--as-of", "2100-12-31"),
        ("chase", "--as-of", "2100-12-31"),
        ("open", "--as-of", "0001-01-01"),
        ("chase", "--as-of", "9999-12-31"),
        ("chase", "--as-of", "0001-01-01"),
        ("summary", "--as-of", "9999-12-31"),
        ("directive", "publish", str(SEED), "--actor", "admin.cx", "--as-of", "2101-01-01"),
        # a due date no working day can be reckoned from would stop every later chase
        ("extend", "1", "--actor", "vhtt.lan", "--due", "2101-01-05"),
    ],
)
def test_a_day_outside_the_calendars_years_is_named(published: Any, args: tuple[str, ...]) -> None:
    before = _written(published)
    refused = published(*args, ok=False)
    option, value = args[-2:]
    _refused(refused, 2, f"{option}: is outside the years", "1901–2099", f"(got '{value}')")
    assert _written(published) == before


def test_open_past_the_calendars_years_is_named(dondoc: Any, tmp_path: Path) -> None:
    # a directive in force with no end: its periods run past the years the calendar knows
    open_ended = tmp_path / "open-ended.yaml"
    text = SEED.read_text(encoding="utf-8")
    open_ended.write_text(text.replace("  until: 2024-12-31\n", ""), encoding="utf-8")
    dondoc("units", "import", str(UNITS))
    dondoc("actors", "import", str(ACTORS))
    dondoc("directive", "publish", str(open_ended), "--actor", "admin.cx", "--as-of", "2024-12-31")
    before = _written(dondoc)
    refused = dondoc("open", "--as-of", "2101-01-10", ok=False)
    _refused(refused, 2, "--as-of", "1901–2099", "(got '2101-01-10')")
    assert _written(dondoc) == before


@pytest.mark.parametrize(
    ("command", "value"),
    [
        (("submit", "--actor", "cb.18712", "-f", "leaflets=1"), "99999999999999999999"),
        (("submit", "--actor", "cb.18712", "-f", "leaflets=1"), "9223372036854775808"),
        # PostgreSQL's integer key stops at 2^31 - 1; SQLite must refuse the same ids
        (("accept", "--actor", "vhtt.lan"), "2147483648"),
        (("return", "--actor", "vhtt.lan", "--reason", "x"), "99999999999999999999"),
        (("extend", "--actor", "vhtt.lan", "--due", "2025-01-01"), "99999999999999999999"),
        (("waive", "--actor", "vhtt.lan", "--reason", "x"), "99999999999999999999"),
    ],
)
def test_an_obligation_id_out_of_range_is_named(
    published: Any, command: tuple[str, ...], value: str
) -> None:
    before = _written(published)
    refused = published(command[0], value, *command[1:], ok=False)
    _refused(refused, 2, "obligation: is not an obligation id", "2147483647", f"(got {value})")
    assert _written(published) == before


@pytest.mark.parametrize(
    "args",
    [
        ("obligations",),
        ("directive", "list"),
        ("units", "import", str(UNITS)),
        ("submit", "1", "--actor", "cb.18712", "-f", "leaflets=1"),
        ("open", "--as-of", "2024-03-01"),
        ("chase", "--as-of", "2024-03-18"),
        ("log", "verify"),
    ],
)
def test_a_database_never_set_up_is_named_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    folder = tmp_path / "new"
    monkeypatch.setenv("DONDOC_DATABASE_URL", f"sqlite:///{folder / 'new.db'}")
    refused = runner.invoke(app, list(args))
    _refused(refused, 8, f"the database at sqlite:///{folder / 'new.db'} is not set up")
    assert "run `dondoc db upgrade`" in refused.stderr
    assert not folder.exists()


def _tables(file: Path) -> list[str]:
    with closing(sqlite3.connect(file)) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def test_an_empty_database_file_is_not_set_up_behind_the_users_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "empty.db"
    file.touch()
    monkeypatch.setenv("DONDOC_DATABASE_URL", f"sqlite:///{file}")
    _refused(runner.invoke(app, ["obligations"]), 8, "is not set up", "dondoc db upgrade")
    assert _tables(file) == []


@pytest.mark.parametrize(
    ("revision", "named"),
    [
        ("0001", f"is at schema revision 0001, this dondoc needs {HEAD}: run `dondoc db upgrade`"),
        ("0099", "is at schema revision 0099, which this dondoc does not know"),
    ],
)
def test_a_database_at_another_schema_revision_is_named(
    published: Any, tmp_path: Path, revision: str, named: str
) -> None:
    with closing(sqlite3.connect(tmp_path / "cli.db")) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    _refused(published("obligations", ok=False), 8, named)


@pytest.mark.postgres
def test_a_postgresql_database_never_set_up_is_named(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"dondoc_empty_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(postgres_url).set(database=name)
    try:
        monkeypatch.setenv("DONDOC_DATABASE_URL", url.render_as_string(hide_password=False))
        refused = runner.invoke(app, ["obligations"])
        _refused(refused, 8, f"the database at {url} is not set up", "dondoc db upgrade")
        empty = sa.create_engine(url)
        with empty.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        empty.dispose()
        missing = url.set(database=f"{name}_missing")
        monkeypatch.setenv("DONDOC_DATABASE_URL", missing.render_as_string(hide_password=False))
        _refused(runner.invoke(app, ["obligations"]), 8, f"cannot connect to {missing}")
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.mark.parametrize("args", [("obligations",), ("db", "upgrade")])
def test_a_text_file_as_the_database_is_named_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100, encoding="utf-8")
    monkeypatch.setenv("DONDOC_DATABASE_URL", f"sqlite:///{notes}")
    refused = runner.invoke(app, list(args))
    _refused(refused, 8, f"sqlite:///{notes}", "file is not a database")
    assert notes.read_text(encoding="utf-8") == "not a database\n" * 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("args", [("obligations",), ("db", "upgrade")])
def test_a_folder_as_the_database_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    folder = tmp_path / "dondoc.db"
    folder.mkdir()
    monkeypatch.setenv("DONDOC_DATABASE_URL", f"sqlite:///{folder}")
    refused = runner.invoke(app, list(args))
    _refused(refused, 8, f"the database at sqlite:///{folder} is a folder, not a database file")
    assert list(folder.iterdir()) == []


def test_a_database_under_a_file_cannot_be_created_and_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("kept", encoding="utf-8")
    monkeypatch.setenv("DONDOC_DATABASE_URL", f"sqlite:///{notes / 'dondoc.db'}")
    refused = runner.invoke(app, ["db", "upgrade"])
    _refused(refused, 8, f"cannot create the database at sqlite:///{notes / 'dondoc.db'}")
    assert notes.read_text(encoding="utf-8") == "kept"


def _id(run: Any, unit: str = "18712", period: str = "2024-Q1") -> str:
    rows = json.loads(run("obligations", "--json", "--unit", unit, "--period", period).stdout)
    return str(next(r["id"] for r in rows if r["requirement"] == "1c"))


def test_a_value_in_an_error_is_printed_literally(published: Any) -> None:
    oid = _id(published)
    before = _written(published)
    refused = published("submit", oid, "--actor", "cb.18712", "-f", "x=:x: [bold]b[/]", ok=False)
    _refused(refused, 2, "figures.x", "(got ':x: [bold]b[/]')")
    assert _written(published) == before


def test_text_from_a_directive_file_is_printed_literally(dondoc: Any, tmp_path: Path) -> None:
    marked = tmp_path / "marked.yaml"
    subject = "V/v [bold]CCHC[/bold] :x: năm 2024"
    text = SEED.read_text(encoding="utf-8")
    marked.write_text(
        text.replace(
            "subject: V/v tập trung triển khai Kế hoạch tuyên truyền CCHC năm 2024",
            f'subject: "{subject}"',
        ),
        encoding="utf-8",
    )
    dondoc("units", "import", str(UNITS))
    dondoc("actors", "import", str(ACTORS))
    dondoc("directive", "publish", str(marked), "--actor", "admin.cx", "--as-of", "2024-12-31")
    assert subject in dondoc("directive", "list").stdout


def test_a_directive_nobody_would_owe_is_refused_and_its_code_left_free(
    published: Any, tmp_path: Path
) -> None:
    """The seed run again for 2026: its communes all closed on 01/07/2025."""
    again = tmp_path / "cam-xuyen-cchc-2026.yaml"
    text = SEED.read_text(encoding="utf-8")
    for old, new in (
        ("2024-01-01", "2026-01-01"),
        ("2024-12-31", "2026-12-31"),
        ("2024-03-15", "2026-03-16"),  # the reporter named once, within the window
    ):
        text = text.replace(old, new)
    again.write_text(text.replace("cam-xuyen-cchc-2024", "cam-xuyen-cchc-2026"), encoding="utf-8")
    before = _written(published)
    args = ("directive", "publish", str(again), "--actor", "admin.cx", "--as-of", "2026-12-07")
    refused = published(*args, ok=False)
    _refused(refused, 2, "requirements[0].who", "01/01/2026–31/12/2026", "the code stays free")
    assert _written(published) == before


def test_a_usage_error_is_one_plain_line(published: Any) -> None:
    refused = published("obligations", "--bogus", ok=False)
    assert refused.exit_code == 2
    errors = [line for line in refused.stderr.splitlines() if "bogus" in line]
    assert errors == ["Error: No such option: --bogus"], refused.stderr
    assert "╭" not in refused.stderr


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("prefect:6f1c2d3e", "is kept for the commands of the forms' flow runs"),
        ("created:x", "is kept for dondoc's own events"),
        ("k\x01", "holds the control character U+0001"),
        ("k" * 201, "at most 200 are kept"),
    ],
)
def test_a_typed_key_the_forms_or_dondoc_keep_or_no_log_holds_is_refused(
    published: Any, key: str, problem: str
) -> None:
    oid = _id(published)
    before = _written(published)
    refused = published(
        "submit", oid, "--actor", "cb.18712", "-f", "leaflets=1", "--key", key, ok=False
    )
    _refused(refused, 2, "--key: idempotency key", problem)
    assert _written(published) == before


def test_an_unknown_outbox_status_is_refused(published: Any) -> None:
    refused = published("outbox", "list", "--status", "bogus", ok=False)
    _refused(
        refused,
        2,
        "outbox list: --status: must be one of pending, sending, sent, failed, rejected, dropped",
        "(got 'bogus')",
    )


def test_adding_an_existing_username_never_moves_the_actor_silently(published: Any) -> None:
    """The username is trimmed as the register file's cells are, so ' cb.18739' is cb.18739."""
    args = ("actors", "add", " cb.18739", "--name", "Lê Văn Mới", "--unit", "18742")
    refused = published(*args, ok=False)
    _refused(refused, 3, "cb.18739 already acts for unit 18739", "--move")
    moved = published(*args, "--move")
    assert "moved from unit 18739 to 18742" in moved.stdout
    # the same unit is an update, and says nothing of a move
    again = published("actors", "add", "cb.18739", "--name", "Lê Văn Mới", "--unit", "18742")
    assert "moved" not in again.stdout


def test_an_actor_register_says_whom_it_moves(published: Any, tmp_path: Path) -> None:
    moved = tmp_path / "actors.csv"
    lines = ACTORS.read_text(encoding="utf-8").splitlines()
    lines = [
        line.replace(",18739,staff,", ",18742,staff,") if line.startswith("cb.18739,") else line
        for line in lines
    ]
    moved.write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = published("actors", "import", str(moved))
    assert "moved: cb.18739 from unit 18739 to 18742" in imported.stdout
    assert "moved" not in published("actors", "import", str(moved)).stdout


def test_an_operator_drops_or_retries_one_message(
    published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DONDOC_SMTP_PORT", "9")  # nothing listens on the discard port
    assert published("chase", "--as-of", "2024-03-18", ok=False).exit_code == 7
    first, second, *rest = json.loads(published("outbox", "list", "--json").stdout)
    anonymous = published("outbox", "drop", first["key"], ok=False)
    assert anonymous.exit_code == 2 and "Missing option '--actor'" in anonymous.stderr
    _refused(
        published("outbox", "drop", first["key"], "--actor", "cb.18739", ok=False),
        4,
        "only an admin may drop",
    )
    published("outbox", "drop", first["key"], "--actor", "admin.cx")
    _refused(
        published("outbox", "drop", first["key"], "--actor", "admin.cx", ok=False),
        3,
        f"message {first['key']} is dropped already",
    )
    _refused(
        published("outbox", "drop", "nope", "--actor", "admin.cx", ok=False),
        2,
        "the outbox holds no message 'nope'",
    )
    monkeypatch.delenv("DONDOC_SMTP_HOST")
    monkeypatch.setenv("DONDOC_OUTBOX_DIR", str(tmp_path / "outbox"))
    assert "delivered 1," in published("outbox", "retry", second["key"]).stdout
    assert [p.name for p in (tmp_path / "outbox").glob("*.eml")] == [f"{second['key']}.eml"]
    published("outbox", "retry")
    statuses = {
        m["key"]: m["status"] for m in json.loads(published("outbox", "list", "--json").stdout)
    }
    assert statuses == {first["key"]: "dropped"} | {m["key"]: "sent" for m in [second, *rest]}
    dropped = json.loads(published("outbox", "list", "--status", "dropped", "--json").stdout)
    assert [m["key"] for m in dropped] == [first["key"]]
    assert dropped[0]["channel"].startswith("dropped by admin.cx at ")


# What Python makes of bytes that are not UTF-8 in an argument or the environment (a file
# name or a user name in another encoding): lone surrogates, which no database, file or
# terminal takes.
NOT_UTF8 = os.fsdecode(b"cb.\xff18712")
CONSOLIDATE = (
    "report",
    "consolidate",
    "--directive",
    "cam-xuyen-cchc-2024",
    "--requirement",
    "1c",
    "--period",
    "2024-Q1",
    "--as-of",
    "2024-12-31",
)
MATRIX = (
    "report",
    "matrix",
    "--directive",
    "cam-xuyen-cchc-2024",
    "--requirement",
    "1c",
    "--as-of",
    "2024-12-31",
)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("submit", "1", "--actor", NOT_UTF8, "-f", "leaflets=1"), "--actor"),
        (("submit", "1", "--actor", "cb.18712", "-f", f"leaflets={NOT_UTF8}"), "--figure"),
        (("accept", "1", "--actor", "vhtt.lan", "--key", NOT_UTF8), "--key"),
        (("obligations", "--unit", NOT_UTF8), "--unit"),
        (("report", "rates", "--directive", NOT_UTF8), "--directive"),
        (("actors", "add", NOT_UTF8, "--name", "Lan", "--unit", "18712"), "username"),
        ((*MATRIX, "--out", f"/proc/{NOT_UTF8}.html"), "--out"),
    ],
)
def test_an_argument_that_is_not_utf8_is_named(
    published: Any, args: tuple[str, ...], named: str
) -> None:
    before = _written(published)
    refused = published(*args, ok=False)
    _refused(refused, 2, f"error: command line: {named}: is not UTF-8 text", "cb.\\xff18712")
    assert _written(published) == before


def test_a_file_name_that_is_not_utf8_is_named(published: Any, tmp_path: Path) -> None:
    file = tmp_path / os.fsdecode(b"ch\xe1\xbb\x89-th\xe9.yaml")  # latin-1 in a UTF-8 name
    file.write_bytes(SEED.read_bytes())
    before = _written(published)
    # an unknown actor's denial is recorded naming the file: what used to fail
    refused = published("directive", "publish", str(file), "--actor", "nobody", ok=False)
    _refused(refused, 2, "error: command line: file: is not UTF-8 text", "th\\xe9.yaml")
    assert _written(published) == before


def test_an_actor_from_the_environment_that_is_not_utf8_is_named(
    published: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _written(published)
    monkeypatch.setenv("DONDOC_ACTOR", NOT_UTF8)
    refused = published("accept", "1", ok=False)
    _refused(refused, 2, "error: environment: DONDOC_ACTOR: is not UTF-8 text", "cb.\\xff18712")
    monkeypatch.delenv("DONDOC_ACTOR")
    assert _written(published) == before


def test_a_database_url_that_is_not_utf8_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_DATABASE_URL", f"sqlite:///{tmp_path / NOT_UTF8}.db")
    refused = runner.invoke(app, ["db", "upgrade"])
    _refused(refused, 2, "error: environment: DONDOC_DATABASE_URL: ", "is not UTF-8 text")
    assert list(tmp_path.iterdir()) == []


def test_out_naming_a_file_where_a_folder_goes_is_named(published: Any, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("kept", encoding="utf-8")
    refused = published(*CONSOLIDATE, "--out", str(notes), ok=False)
    _refused(refused, 2, f"error: {notes}: (folder): is a file, not a folder")
    refused = published(*CONSOLIDATE, "--out", str(notes / "reports"), ok=False)
    _refused(refused, 2, f"error: {notes / 'reports'}: (folder): cannot be created: ")
    refused = published(*MATRIX, "--out", str(notes / "matrix.html"), ok=False)
    _refused(refused, 2, f"error: {notes}: (folder): is a file, not a folder")
    assert notes.read_text(encoding="utf-8") == "kept"


def test_out_naming_a_folder_where_a_file_goes_is_named(published: Any, tmp_path: Path) -> None:
    folder = tmp_path / "matrix.html"
    folder.mkdir()
    refused = published(*MATRIX, "--out", str(folder), ok=False)
    _refused(refused, 2, f"error: {folder}: (file): is a folder, not a file")
    assert list(folder.iterdir()) == []


def test_out_on_a_device_is_refused(published: Any) -> None:
    refused = published(*MATRIX, "--out", "/dev/full", ok=False)
    _refused(refused, 2, "error: /dev/full: (file): is not a regular file")


def test_out_where_nothing_can_be_created_is_named(published: Any) -> None:
    # no one, root included, creates a folder in /proc
    refused = published(*MATRIX, "--out", "/proc/dondoc/matrix.html", ok=False)
    _refused(refused, 2, "error: /proc/dondoc: (folder): cannot be created: ")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_report_is_written_whole_or_not_at_all(published: Any, tmp_path: Path) -> None:
    published(*CONSOLIDATE, "--out", str(tmp_path / "first"))
    (workbook,) = (tmp_path / "first").glob("*.xlsx")
    (draft,) = (tmp_path / "first").glob("*.docx")
    # where the Word draft goes, a folder: the workbook must not be written without it
    folder = tmp_path / "second"
    (folder / draft.name).mkdir(parents=True)
    refused = published(*CONSOLIDATE, "--out", str(folder), ok=False)
    _refused(refused, 2, f"error: {folder / draft.name}: (file): is a folder, not a file")
    assert [p.name for p in folder.iterdir()] == [draft.name]
    assert workbook.name not in os.listdir(folder)


def test_a_report_failing_half_way_leaves_the_last_one_as_it_was(
    published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "reports"
    published(*CONSOLIDATE, "--out", str(folder))
    before = _files(folder)

    def disk_full(_found: Any, path: Path) -> Path:
        path.write_bytes(b"PK\x03\x04")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(notifications.report, "write_consolidation_docx", disk_full)
    refused = published(*CONSOLIDATE, "--out", str(folder), ok=False)
    (draft,) = (name for name in before if name.endswith(".docx"))
    _refused(refused, 2, f"error: {folder / draft}: (file): cannot be written: No space left")
    assert _files(folder) == before
    assert sorted(os.listdir(folder)) == sorted(before)

"""Errors a careless or hostile user can cause on the command line: one line on stderr naming
the option or field and the value, a distinct exit code, no traceback, nothing written."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import Result

from cli.main import app
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
        ("0001", "is at schema revision 0001, this dondoc needs 0007: run `dondoc db upgrade`"),
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


def test_a_usage_error_is_one_plain_line(published: Any) -> None:
    refused = published("obligations", "--bogus", ok=False)
    assert refused.exit_code == 2
    errors = [line for line in refused.stderr.splitlines() if "bogus" in line]
    assert errors == ["Error: No such option: --bogus"], refused.stderr
    assert "╭" not in refused.stderr

"""Errors a careless or hostile user can cause on the command line: one line on stderr naming
the option or field and the value, a distinct exit code, no traceback, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

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
    _refused(refused, 2, f"{option}: is outside the years", "1901–2100", f"(got '{value}')")
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
    _refused(refused, 2, "--as-of", "1901–2100", "(got '2101-01-10')")
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

"""`dondoc obligations` over a listing that streams: --json prints what the listing printed
before it streamed, byte for byte, on SQLite and PostgreSQL, and the filters select the same
rows in the same order.

`tests/golden/seed-obligations.json` is what `dondoc obligations --json --as-of 2024-03-12`
printed for the seed directive (published as `tests.conftest.publish_seed` does) before
listings streamed, when it built every row as a pydantic model and dumped the whole list at
once (commit 9fa5262). It holds open, due-soon and overdue obligations and standing duties.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import Result

import cli.main
import models.queries
from cli.main import app
from tests.cli.conftest import runner

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "seed-obligations.json"
AS_OF = "2024-03-12"
Run = Callable[..., Result]


@pytest.fixture
def listing(seeded: Engine, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`dondoc obligations ARGS… --as-of AS_OF` on the seeded database (SQLite or
    PostgreSQL)."""
    monkeypatch.setenv("DONDOC_DATABASE_URL", seeded.url.render_as_string(hide_password=False))

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, ["obligations", "--as-of", AS_OF, *args])
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return run


def _golden() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return rows


def _table_ids(result: Result) -> list[int]:
    """The ids in the first column of the table a command printed, top to bottom."""
    cells = [line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line]
    return [int(cell) for cell in cells if cell.isdigit()]


@pytest.mark.parametrize(("fetch", "chunk"), [(2_000, 1_000), (5, 7), (3, 97), (1, 1), (50, 291)])
def test_the_streamed_json_is_what_the_whole_listing_printed(
    listing: Run, monkeypatch: pytest.MonkeyPatch, fetch: int, chunk: int
) -> None:
    # fetched and written in pieces of every size, down to a row at a time and one piece
    # ending exactly at the last row (97 × 3 = 291), the bytes do not change
    monkeypatch.setattr(models.queries, "FETCH_ROWS", fetch)
    monkeypatch.setattr(cli.main, "JSON_CHUNK", chunk)
    assert listing("--json").stdout == GOLDEN.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "keep"),
    [
        (("--unit", "18712", "--period", "2024-Q1"), {"unit": "18712", "period": "2024-Q1"}),
        (("--status", "overdue"), {"status": "overdue"}),
        (
            ("--status", "due_soon", "--period", "2024-Q1"),
            {"status": "due_soon", "period": "2024-Q1"},
        ),
        (("--directive", "cam-xuyen-cchc-2024", "--period", "standing"), {"period": "standing"}),
        (("--directive", "no-such-directive"), {"directive": "no-such-directive"}),
    ],
)
def test_filters_select_the_same_rows_in_the_same_order(
    listing: Run, args: tuple[str, ...], keep: dict[str, str]
) -> None:
    expected = [r for r in _golden() if all(r[field] == value for field, value in keep.items())]
    assert json.loads(listing("--json", *args).stdout) == expected
    assert _table_ids(listing(*args)) == [r["id"] for r in expected]


def test_the_table_shows_every_row(listing: Run) -> None:
    shown = listing()
    assert _table_ids(shown) == [r["id"] for r in _golden()]
    assert shown.stderr == ""

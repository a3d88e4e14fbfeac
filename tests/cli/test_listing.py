"""`dondoc obligations` over a listing that streams: --json prints what the listing printed
before it streamed, byte for byte, on SQLite and PostgreSQL; the table shows one page and says
how many matched; bad paging options are named and print nothing.

`tests/golden/seed-obligations.json` is what `dondoc obligations --json --as-of 2024-03-12`
printed for the seed directive (published as `tests.conftest.publish_seed` does) before
listings streamed, when it built every row as a pydantic model and dumped the whole list at
once (commit 9fa5262). It holds open, due-soon and overdue obligations and standing duties.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import Result

import cli.main
import models.storage.queries
import services.listing
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


HEADS = ["id", "directive", "requirement", "unit", "period", "due", "status", "version"]


def _table_ids(result: Result) -> list[int]:
    """The ids in the first column of the table a command printed, top to bottom."""
    title, heads, *rows = result.stdout.splitlines()
    assert title == f"obligations as of {AS_OF}"
    assert heads.split() == HEADS
    return [int(row.split()[0]) for row in rows]


@pytest.mark.parametrize(("fetch", "chunk"), [(2_000, 1_000), (5, 7), (3, 97), (1, 1), (50, 291)])
def test_the_streamed_json_is_what_the_whole_listing_printed(
    listing: Run, monkeypatch: pytest.MonkeyPatch, fetch: int, chunk: int
) -> None:
    # fetched and written in pieces of every size, down to a row at a time and one piece
    # ending exactly at the last row (97 × 3 = 291), the bytes do not change
    monkeypatch.setattr(models.storage.queries, "FETCH_ROWS", fetch)
    monkeypatch.setattr(cli.main, "JSON_CHUNK", chunk)
    assert listing("--json").stdout == GOLDEN.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "keep"),
    [
        (("--requirement", "1c", "--unit", "18712"), {"requirement": "1c", "unit": "18712"}),
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


def test_limit_and_offset_page_through_the_same_order(listing: Run) -> None:
    golden = _golden()
    assert json.loads(listing("--json", "--limit", "10", "--offset", "5").stdout) == golden[5:15]
    assert json.loads(listing("--json", "--offset", "290").stdout) == golden[290:]
    assert listing("--json", "--offset", "291").stdout == "[]\n"
    overdue = [r for r in golden if r["status"] == "overdue"]
    paged = listing("--json", "--status", "overdue", "--limit", "5", "--offset", "5").stdout
    assert json.loads(paged) == overdue[5:10]


def test_the_table_under_its_page_shows_every_row_and_says_nothing_more(listing: Run) -> None:
    shown = listing()
    assert _table_ids(shown) == [r["id"] for r in _golden()]
    assert shown.stderr == ""


def test_the_tables_columns_line_up_under_their_headings(listing: Run) -> None:
    _, heads, *rows = listing().stdout.splitlines()
    starts = [heads.index(head) for head in HEADS]
    golden = _golden()
    assert len(rows) == len(golden)
    ends = [*starts[1:], None]
    for row, r in zip(rows, golden, strict=True):
        cells = [row[start:end].strip() for start, end in zip(starts, ends, strict=True)]
        assert cells == [
            str(r["id"]),
            r["directive"],
            r["requirement"],
            r["unit"],
            r["period"],
            r["due"] or "—",
            r["status"],
            str(r["version"]),
        ]


def test_above_its_page_the_table_shows_the_page_and_says_how_many_matched(
    listing: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.main, "TABLE_ROWS", 100)
    ids = [r["id"] for r in _golden()]
    first = listing()
    assert _table_ids(first) == ids[:100]
    assert first.stderr.splitlines() == [
        "showing 1–100 of 291 obligations: narrow with --directive, --requirement, --unit, "
        "--period or --status; next page: --offset 100; all of them: --json"
    ]
    last = listing("--offset", "200")
    assert _table_ids(last) == ids[200:]
    assert last.stderr.splitlines() == [
        "showing 201–291 of 291 obligations: narrow with --directive, --requirement, --unit, "
        "--period or --status; all of them: --json"
    ]
    past = listing("--offset", "400")
    assert _table_ids(past) == []
    assert past.stderr.splitlines() == [
        "--offset 400 is past the last of the 291 obligations that match"
    ]


def test_an_explicit_limit_pages_the_table(listing: Run) -> None:
    overdue = [r["id"] for r in _golden() if r["status"] == "overdue"]
    shown = listing("--status", "overdue", "--limit", "5", "--offset", "5")
    assert _table_ids(shown) == overdue[5:10]
    assert shown.stderr.splitlines() == [
        "showing 6–10 of 12 obligations: narrow with --directive, --requirement, --unit, "
        "--period or --status; next page: --offset 10; all of them: --json"
    ]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--limit", "0"), "--limit: must be at least 1 (got '0')"),
        (("--json", "--limit", "-3"), "--limit: must be at least 1 (got '-3')"),
        (("--limit", "ten"), "--limit: is not a whole number (got 'ten')"),
        (("--json", "--limit", "1e3"), "--limit: is not a whole number (got '1e3')"),
        (("--offset", "-1"), "--offset: must be at least 0 (got '-1')"),
        (("--json", "--offset", "x"), "--offset: is not a whole number (got 'x')"),
        (
            ("--offset", "99999999999999999999"),
            "--offset: must be at most 9223372036854775807 (got '99999999999999999999')",
        ),
        (
            ("--json", "--offset", "9223372036854775808"),
            "--offset: must be at most 9223372036854775807 (got '9223372036854775808')",
        ),
        (
            ("--json", "--limit", "9223372036854775808"),
            "--limit: must be at most 9223372036854775807 (got '9223372036854775808')",
        ),
        (
            ("--limit", "10001"),
            "--limit: the table shows at most 10,000 rows: page with --offset, or use --json "
            "(got '10001')",
        ),
        (("--json", "--status", "late"), "--status: must be one of open, due_soon"),
    ],
)
def test_a_bad_paging_option_is_named_and_nothing_is_printed(
    listing: Run, args: tuple[str, ...], named: str
) -> None:
    refused = listing(*args, ok=False)
    assert refused.exit_code == 2
    assert refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: command line: "), refused.stderr
    assert named in lines[0]


def test_the_largest_paging_options_either_database_takes_page(listing: Run) -> None:
    most = str(2**63 - 1)
    assert json.loads(listing("--json", "--limit", most).stdout) == _golden()
    assert listing("--json", "--offset", most).stdout == "[]\n"
    assert listing("--offset", most).stderr.splitlines() == [
        f"--offset {most} is past the last of the 291 obligations that match"
    ]


def test_json_has_no_table_cap(listing: Run) -> None:
    assert json.loads(listing("--json", "--limit", "10001").stdout) == _golden()


def test_the_listing_runs_with_the_cycle_collector_paused_and_leaves_it_on(
    listing: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    collecting: list[bool] = []
    for name in ("obligation_page", "stream_obligations"):
        read = getattr(services.listing, name)

        def spy(*args: Any, read: Any = read, **kwargs: Any) -> Any:
            collecting.append(gc.isenabled())
            return read(*args, **kwargs)

        monkeypatch.setattr(services.listing, name, spy)
    assert gc.isenabled()
    listing()
    listing("--json")
    refused = listing("--limit", "0", ok=False)
    assert refused.exit_code == 2
    assert collecting == [False, False]
    assert gc.isenabled()

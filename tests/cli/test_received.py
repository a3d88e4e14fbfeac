"""`dondoc receive`: the lead office enters a report that arrived on paper, by official e-mail
or through the document system, with the day it arrived, which the command line otherwise
cannot give (it records the real time). The command line runs today, long after 2024: the
district level closed on 01/07/2025, so the province's department (svhttdl.an) holds the lead
office's role, and every 2024 report is entered late and needs a reason."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.cli.test_cli import _figure_args, _obligations

WHY = "Văn bản giấy lưu ở bộ phận một cửa, nay mới vào sổ"


def _q1(run: Any) -> str:
    return str(_obligations(run, "--unit", "18712", "--period", "2024-Q1")[0]["id"])


def _receive(run: Any, oid: str, *options: str, actor: str = "svhttdl.an", ok: bool = True) -> Any:
    return run(
        "receive",
        oid,
        "--actor",
        actor,
        "--channel",
        "giay",
        "--number",
        "12/BC-UBND",
        *_figure_args(),
        "--narrative",
        "Quý I: tổ chức 2 lớp tập huấn",
        *options,
        ok=ok,
    )


def _submitted(tmp_path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    with sqlite3.connect(tmp_path / "cli.db") as db:
        rows = db.execute(
            "SELECT actor, channel, payload FROM event WHERE kind = 'submitted'"
        ).fetchall()
    return [(actor, channel, json.loads(payload)) for actor, channel, payload in rows]


def test_a_report_that_arrived_before_its_deadline_is_accepted_on_time(
    published: Any, tmp_path: Path
) -> None:
    oid = _q1(published)
    done = _receive(published, oid, "--arrived", "2024-03-14", "--reason", WHY)
    assert "submitted (version 2), now submitted" in done.stdout
    ((actor, channel, payload),) = _submitted(tmp_path)
    assert (actor, channel.startswith("cli:")) == ("svhttdl.an", True)
    assert payload["received"] == {
        "channel": "giay",
        "arrived": "2024-03-14",
        "number": "12/BC-UBND",
        "scan": None,
        "reason": WHY,
    }
    # four-eyes: whoever entered it does not accept it; another of the office does
    refused = published("accept", oid, "--actor", "svhttdl.an", ok=False)
    assert refused.exit_code == 4
    assert "svhttdl.an handed in this submission and cannot accept it" in refused.stderr
    published("actors", "add", "svhttdl.binh", "--name", "Trần Bình", "--unit", "42-SVHTTDL")
    published("accept", oid, "--actor", "svhttdl.binh")
    row = _obligations(published, "--unit", "18712", "--period", "2024-Q1")[0]
    assert row["status"] == "accepted"  # on time by its arrival, years after it was entered
    assert published("log", "verify").exit_code == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ("--arrived", "TOMORROW"),
            "error: receive: arrived: is after the day it is entered, TODAY (got 'TOMORROW')",
        ),
        (
            ("--arrived", "2023-12-01"),
            "error: receive: arrived: is before the period starts, 2023-12-15 (got '2023-12-01')",
        ),
        (
            ("--arrived", "2024-03-14"),
            "error: receive: reason: the report arrived on 2024-03-14, more than 5 working days "
            "before it is entered: say why it is entered only now",
        ),
        (
            ("--arrived", "14/03/2024", "--reason", WHY),
            "error: command line: --arrived: is not a date YYYY-MM-DD (got '14/03/2024')",
        ),
    ],
)
def test_a_bad_arrival_is_refused_in_one_line_and_nothing_is_written(
    published: Any, tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    today = pendulum.now("Asia/Ho_Chi_Minh").date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    given = [tomorrow if o == "TOMORROW" else o for o in options]
    refused = _receive(published, _q1(published), *given, ok=False)
    assert refused.exit_code == 2
    expected = message.replace("TOMORROW", tomorrow).replace("TODAY", today.isoformat())
    assert refused.stderr.strip() == expected
    assert _submitted(tmp_path) == []


def test_a_clerk_of_the_unit_cannot_enter_a_report_received(published: Any, tmp_path: Path) -> None:
    refused = _receive(
        published,
        _q1(published),
        "--arrived",
        "2024-03-14",
        "--reason",
        WHY,
        actor="cb.18712",
        ok=False,
    )
    # the commune's staff may still hand in its past work themselves, and nothing else
    assert refused.exit_code == 4
    assert refused.stderr.startswith("error: cb.18712 acts for unit 18712")
    assert refused.stderr.rstrip().endswith("but no longer receive")
    assert _submitted(tmp_path) == []

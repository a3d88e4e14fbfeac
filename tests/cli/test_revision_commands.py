"""`dondoc directive amend`, `withdraw` and `show`: a directive revised by later dispatches
from the command line, its dry run, its refusals, and its history read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.files.textfiles import read_yaml
from tests.conftest import SEED

CODE = "cam-xuyen-cchc-2024"
DISPATCH = ("--dispatch", "125/UBND-VHTT", "--dated", "2024-05-27", "--from", "2024-06-01")


def amended_file(tmp_path: Path, day: int = 21) -> Path:
    """The seed's text with 1c's reports due on the `day`th of the period's last month."""
    data = read_yaml(SEED)
    req = next(r for r in data["requirements"] if r["code"] == "1c")
    req["schedule"] = [{**s, "due": {**s["due"], "day": day}} for s in req["schedule"]]
    path = tmp_path / "amended.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def outbox(dondoc: Any) -> list[dict[str, Any]]:
    return json.loads(dondoc("outbox", "list", "--json").stdout)


def test_amend_dry_run_then_amend_then_withdraw_and_show_the_history(
    published: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_OUTBOX_DIR", str(tmp_path / "outbox"))
    file = str(amended_file(tmp_path))
    actor = ("--actor", "admin.cx", "--as-of", "2024-05-27")
    dry = published("directive", "amend", file, *actor, *DISPATCH, "--dry-run")
    assert "dry run of revision 1, nothing written" in dry.stdout
    # one line per period for the 21 communes: 15/09/2024 a Sunday, 21/09 a Saturday
    q3 = next(line for line in dry.stdout.splitlines() if "2024-Q3" in line)
    assert [cell.strip() for cell in q3.strip("│ ").split("│")] == [
        "1c",
        "2024-Q3",
        "due",
        "2024-09-16",
        "2024-09-23",
        "21",
    ]
    assert "126 obligation(s) of 21 unit(s); 21 letters it would write" in dry.stdout
    assert outbox(published) == []
    assert json.loads(published("directive", "show", CODE, "--json").stdout)["revisions"] == []

    done = published("directive", "amend", file, *actor, *DISPATCH)
    assert f"{CODE}: revision 1, amended by 125/UBND-VHTT of 2024-05-27" in done.stdout
    assert "changes: 1c: schedule" in done.stdout
    # each commune's letter delivered at once
    assert "delivered 21, failed 0" in done.stdout
    assert {m["status"] for m in outbox(published)} == {"sent"} and len(outbox(published)) == 21
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 21
    published("log", "verify")

    withdrawn = published(
        "directive",
        "withdraw",
        CODE,
        "--actor",
        "admin.cx",
        "--dispatch",
        "210/UBND-VHTT",
        "--dated",
        "2024-06-25",
        "--from",
        "2024-07-01",
        "--as-of",
        "2024-06-25",
    )
    assert f"{CODE}: revision 2, withdrawn by 210/UBND-VHTT" in withdrawn.stdout
    published("log", "verify")
    shown = json.loads(published("directive", "show", CODE, "--json").stdout)
    assert shown["status"] == "withdrawn"
    assert [
        (r["number"], r["kind"], r["dispatch"], r["effective_from"]) for r in shown["revisions"]
    ] == [
        (1, "amend", "125/UBND-VHTT", "2024-06-01"),
        (2, "withdraw", "210/UBND-VHTT", "2024-07-01"),
    ]
    table = published("directive", "show", CODE).stdout
    assert table.index("125/UBND-VHTT") < table.index("210/UBND-VHTT")

    again = published("directive", "withdraw", CODE, "--actor", "admin.cx", *DISPATCH, ok=False)
    assert again.exit_code == 3
    assert again.stderr.startswith(f"error: command line: directive {CODE} is already withdrawn")


def test_a_bad_amendment_is_refused_as_publish_refuses_it(published: Any, tmp_path: Path) -> None:
    bad = amended_file(tmp_path, day=32)
    refused = published("directive", "amend", str(bad), "--actor", "admin.cx", *DISPATCH, ok=False)
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        f"error: {bad}: requirements[2].schedule[0].due.day: Input should be less than or "
        "equal to 31"
    )
    early = published(
        "directive",
        "amend",
        str(amended_file(tmp_path)),
        "--actor",
        "admin.cx",
        *DISPATCH[:4],
        "--from",
        "2023-06-01",
        ok=False,
    )
    assert early.exit_code == 2
    assert early.stderr.startswith("error: command line: --from: is before directive")
    same = published("directive", "amend", str(SEED), "--actor", "admin.cx", *DISPATCH, ok=False)
    assert same.exit_code == 2 and "nothing to amend" in same.stderr
    staff = published(
        "directive",
        "amend",
        str(amended_file(tmp_path)),
        "--actor",
        "vhtt.lan",
        *DISPATCH,
        ok=False,
    )
    assert staff.exit_code == 4
    assert json.loads(published("directive", "show", CODE, "--json").stdout)["revisions"] == []
    assert outbox(published) == []


def test_a_withdrawal_refused_names_the_option_and_writes_nothing(published: Any) -> None:
    early = published(
        "directive",
        "withdraw",
        CODE,
        "--actor",
        "admin.cx",
        "--dispatch",
        "9/UBND",
        "--dated",
        "2024-06-01",
        "--from",
        "2023-12-31",
        ok=False,
    )
    assert early.exit_code == 2
    assert early.stderr.startswith(
        f"error: command line: --from: is before directive {CODE}'s window, which starts on "
        "2024-01-01 (got '2023-12-31')"
    )
    unknown = published(
        "directive", "withdraw", "no-such", "--actor", "admin.cx", *DISPATCH, ok=False
    )
    assert unknown.exit_code == 2 and "names no published directive" in unknown.stderr
    two_lines = published(
        "directive",
        "withdraw",
        CODE,
        "--actor",
        "admin.cx",
        "--dispatch",
        "9/UBND\n10/UBND",
        "--dated",
        "2024-06-01",
        "--from",
        "2024-07-01",
        ok=False,
    )
    assert two_lines.exit_code == 2 and "--dispatch" in two_lines.stderr
    assert (
        json.loads(published("directive", "show", CODE, "--json").stdout)["status"] == "published"
    )

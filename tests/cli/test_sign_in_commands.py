"""The operator's side of signing in: a one-time code printed on the server for a person to
sign in with (the first administrator's way in), and disabling and enabling a person, each
logged with the operating-system user who did it."""

from __future__ import annotations

import getpass
import re
from datetime import UTC, datetime
from typing import Any

import services.access
from services.settings import load_settings


def test_the_operator_prints_a_code_that_signs_the_person_in(published: Any) -> None:
    shown = published("actors", "code", "admin.cx").stdout
    found = re.search(r"one-time sign-in code for admin\.cx: (\d{6})\n", shown)
    assert found is not None, shown
    assert "good once, for 10 minutes, at http://127.0.0.1:4200/dang-nhap" in shown
    settings, now = load_settings(), datetime.now(UTC)
    token = services.access.sign_in(settings, "admin.cx", found.group(1), now=now, address="::1")
    assert services.access.session_person(settings, token, now=now) is not None


def test_a_disabled_person_gets_no_code_until_enabled(published: Any) -> None:
    assert published("actors", "disable", "cb.18673").stdout == "cb.18673 disabled\n"
    refused = published("actors", "code", "cb.18673", ok=False)
    assert refused.exit_code != 0
    assert refused.stderr.startswith("error: cb.18673 cannot sign in")
    published("actors", "enable", "cb.18673")
    assert "sign-in code for cb.18673" in published("actors", "code", "cb.18673").stdout
    log = services.access.sign_in_log(load_settings(), "cb.18673")
    assert [(entry.kind, entry.address) for entry in log][:3] == [
        ("disabled", f"cli:{getpass.getuser()}"),
        ("failed", f"cli:{getpass.getuser()}"),
        ("enabled", f"cli:{getpass.getuser()}"),
    ]


def test_no_one_to_disable_is_said_so(published: Any) -> None:
    refused = published("actors", "disable", "nguoi.la", ok=False)
    assert refused.stderr == "error: 'nguoi.la' names no one in the actor register\n"


def test_the_sign_in_log_reads_as_lines(published: Any) -> None:
    published("actors", "code", "admin.cx")
    published("actors", "disable", "cb.18673")
    lines = published("actors", "log").stdout.splitlines()
    user = getpass.getuser()
    assert [line.split("  ")[1:] for line in lines] == [
        ["admin.cx", "code-sent", f"cli:{user}"],
        ["cb.18673", "disabled", f"cli:{user}", f"by {user}"],
    ]
    assert published("actors", "log", "admin.cx", "--limit", "5").stdout == lines[0] + "\n"

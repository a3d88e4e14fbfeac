"""`dondoc mail receive` and `dondoc mail listen` say what setting they lack, in one line."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize(
    ("command", "variable"),
    [("receive", "DONDOC_IMAP_HOST"), ("listen", "DONDOC_REPLY_ADDRESS")],
)
def test_a_mail_command_without_its_setting_names_it(
    dondoc: Any, monkeypatch: pytest.MonkeyPatch, command: str, variable: str
) -> None:
    monkeypatch.delenv(variable, raising=False)
    result = dondoc("mail", command, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: environment: {variable}")
    assert "Traceback" not in result.output + result.stderr

"""`dondoc chase`, `dondoc summary` and `dondoc open` with one broken directive among two
healthy ones, on every backend: they print the healthy ones' results, name the broken one
with its error, and exit 9. (How a directive is broken: tests/store/test_isolation.py.)"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli.main import app
from tests.smtp import Server
from tests.store.test_isolation import (
    BROKEN,
    HEALTHY,
    break_ladder,
    break_stored_text,
    obligations,
    publish_three,
)

runner = CliRunner()


@pytest.fixture
def dondoc(registered: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`dondoc ARGS…` on the test's database, delivering to the SMTP server."""
    monkeypatch.setenv("DONDOC_DATABASE_URL", registered.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DONDOC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DONDOC_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("DONDOC_SMTP_STARTTLS", "false")
    monkeypatch.delenv("DONDOC_OUTBOX_DIR", raising=False)
    return lambda *args: runner.invoke(app, list(args))


def named(result: Any, what: str) -> None:
    """The command failed with exit 9, naming the broken directive and its error."""
    assert result.exit_code == 9, result.output + result.stderr
    assert f"failed {BROKEN}: {what}" in result.stderr
    assert f"error: 1 directive(s) not done: {BROKEN} (the others are done" in result.stderr


def test_the_chase_sends_the_healthy_letters_and_exits_naming_the_broken_directive(
    dondoc: Any, registered: Engine, smtp: Server
) -> None:
    publish_three(registered)
    break_ladder(registered)
    dry = dondoc("chase", "--as-of", "2024-03-18", "--dry-run")
    named(dry, "InputError: chase: ban-hong: step nhac-nho.template: names no message template")
    assert smtp.inbox.received == []
    result = dondoc("chase", "--as-of", "2024-03-18")
    named(result, "InputError: chase: ban-hong: step nhac-nho.template: names no message template")
    letters = len(smtp.inbox.received)
    assert letters > 0 and f"{letters} letter(s), {letters} new message(s) written" in result.output
    assert f"delivered {letters}, failed 0" in result.output
    texts = [mail.get_body(("plain",)).get_content() for _, mail in smtp.inbox.received]
    assert all(f"[{BROKEN}]" not in text for text in texts)


def test_the_monthly_summary_sends_the_healthy_ones_and_exits_naming_the_broken_directive(
    dondoc: Any, registered: Engine, smtp: Server
) -> None:
    publish_three(registered)
    break_stored_text(registered)
    result = dondoc("summary", "--as-of", "2024-04-01")
    named(result, "ValidationError: ")
    assert all(f"{code} → " in result.stdout for code in HEALTHY)
    assert f"{BROKEN} → " not in result.stdout
    assert len(smtp.inbox.received) > 0


def test_the_opening_opens_the_healthy_ones_and_exits_naming_the_broken_directive(
    dondoc: Any, registered: Engine
) -> None:
    publish_three(registered, as_of=date(2024, 3, 31))
    break_stored_text(registered)
    before = obligations(registered)
    result = dondoc("open", "--as-of", "2024-12-31")
    named(result, "ValidationError: 1 validation error for RequirementSpec old_field Extra inputs")
    after = obligations(registered)
    assert after[BROKEN] == before[BROKEN]
    for code in HEALTHY:
        assert code in result.stdout and after[code] > before[code]
    assert BROKEN not in result.stdout

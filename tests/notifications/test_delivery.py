"""Delivery against a real SMTP server (aiosmtpd on 127.0.0.1), counted at the server: one
message per recipient per run, nothing twice on a rerun, nothing lost while SMTP is down, and a
run stopped before its commit or between sending and marking loses nothing on the rerun."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from models import services
from models.db import transaction
from models.settings import Settings
from notifications import delivery

MONDAY = date(2024, 3, 18)
NOW = datetime(2024, 3, 18, 1, 0, tzinfo=UTC)


class Inbox:
    """An SMTP handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), mail))  # type: ignore[arg-type]
        return "250 OK"

    def ids(self) -> Counter[str]:
        return Counter(mail["Message-ID"] for _, mail in self.received)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self) -> None:
        self.port = _free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server()
    server.start()
    yield server
    server.stop()


def settings_for(engine: Engine, server: Server, outbox: Path | None = None) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_starttls=False,
        mail_from="dondoc@camxuyen.example",
        outbox_dir=outbox,
    )


def statuses(engine: Engine) -> Counter[str]:
    with transaction(engine, writes=False) as conn:
        return Counter(r[0] for r in conn.execute(sa.text("SELECT status FROM message")))


def test_the_daily_run_sends_one_message_per_recipient(
    seeded: Engine, smtp: Server, tmp_path: Path
) -> None:
    run = services.chase(settings_for(seeded, smtp, tmp_path / "outbox"), day=MONDAY, now=NOW)
    letters = run.plan.letters
    assert run.delivery is not None and run.delivery.failed == []
    assert len(smtp.inbox.received) == len(letters) == run.messages_written
    to = [rcpt for rcpts, _ in smtp.inbox.received for rcpt in rcpts]
    assert sorted(to) == sorted(letter.recipient.email for letter in letters)
    assert len(set(to)) == len(to)
    commune = next(
        m for rcpts, m in smtp.inbox.received if rcpts == ["ubnd.18712@camxuyen.example"]
    )
    text = commune.get_body(("plain",)).get_content()
    html = commune.get_body(("html",)).get_content()
    assert commune["Subject"].startswith("[dondoc] Đôn đốc thực hiện nhiệm vụ: ")
    for part in (text, html):
        assert "Xã Nam Phúc Thăng" in part and "Quý I/2024" in part and "15/03/2024" in part
    assert "QUÁ HẠN" in text
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(letters)
    assert statuses(seeded) == {"sent": len(letters)}


def test_a_rerun_the_same_day_sends_nothing(seeded: Engine, smtp: Server) -> None:
    settings = settings_for(seeded, smtp)
    services.chase(settings, day=MONDAY, now=NOW)
    sent = len(smtp.inbox.received)
    again = services.chase(settings, day=MONDAY, now=NOW + timedelta(hours=1))
    assert again.messages_written == 0 and len(smtp.inbox.received) == sent


def test_smtp_down_loses_nothing_and_the_next_run_sends_it(seeded: Engine, smtp: Server) -> None:
    settings = settings_for(seeded, smtp)
    smtp.stop()
    down = services.chase(settings, day=MONDAY, now=NOW)
    letters = len(down.plan.letters)
    assert down.delivery is not None and len(down.delivery.failed) == letters
    assert "ConnectionRefusedError" in down.delivery.failed[0][1]
    assert statuses(seeded) == {"failed": letters}
    smtp.start()
    # within the backoff nothing is tried; after it, everything goes, once
    early = services.deliver_outbox(settings, now=NOW + timedelta(minutes=1))
    assert early.sent == [] and early.waiting == letters
    later = services.deliver_outbox(settings, now=NOW + timedelta(minutes=6))
    assert len(later.sent) == letters == len(smtp.inbox.received)
    assert set(smtp.inbox.ids().values()) == {1}


def test_a_run_stopped_before_its_commit_writes_nothing_and_the_rerun_everything(
    seeded: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(seeded, smtp)
    calls = 0

    def crash_on_third(letter: Any, day: date) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt  # the process is stopped mid-run
        return real(letter, day)

    from notifications import render  # where the chase takes its renderer from, when it runs

    real = render.renderer(services.Settings().calendar())
    monkeypatch.setattr(render, "renderer", lambda calendar: crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        services.chase(settings, day=MONDAY, now=NOW)
    with transaction(seeded, writes=False) as conn:
        chased = conn.execute(
            sa.text("SELECT count(*) FROM event WHERE kind IN ('reminded', 'escalated')")
        ).scalar_one()
    assert chased == 0 and statuses(seeded) == {} and smtp.inbox.received == []
    monkeypatch.undo()
    rerun = services.chase(settings, day=MONDAY, now=NOW)
    assert len(smtp.inbox.received) == len(rerun.plan.letters) > 0
    assert set(smtp.inbox.ids().values()) == {1}


def test_a_run_stopped_after_the_commit_or_mid_sending_sends_the_rest_once(
    seeded: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(seeded, smtp)
    real = delivery._send
    sent = 0

    def stop_after_second_send(mail: EmailMessage, config: delivery.Smtp) -> None:
        nonlocal sent
        real(mail, config)
        sent += 1
        if sent == 2:
            raise KeyboardInterrupt  # sent, but stopped before it is marked sent

    monkeypatch.setattr(delivery, "_send", stop_after_second_send)
    with pytest.raises(KeyboardInterrupt):
        services.chase(settings, day=MONDAY, now=NOW)
    letters = statuses(seeded)
    assert letters["sent"] == 1 and len(smtp.inbox.received) == 2
    monkeypatch.setattr(delivery, "_send", real)
    rerun = services.chase(settings, day=MONDAY, now=NOW + timedelta(minutes=1))
    assert rerun.messages_written == 0  # the events and letters were committed before
    total = sum(letters.values())
    assert statuses(seeded) == {"sent": total}
    ids = smtp.inbox.ids()
    # every letter arrived; only the one sent but not marked came twice, with one Message-ID
    assert len(ids) == total and sorted(ids.values()) == [1] * (total - 1) + [2]


def test_a_run_stopped_between_its_commit_and_sending_sends_everything_on_the_rerun(
    seeded: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(seeded, smtp)

    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # committed, then stopped before delivering anything

    monkeypatch.setattr(services, "deliver_outbox", stopped)
    with pytest.raises(KeyboardInterrupt):
        services.chase(settings, day=MONDAY, now=NOW)
    pending = statuses(seeded)
    assert set(pending) == {"pending"} and smtp.inbox.received == []
    monkeypatch.undo()
    rerun = services.chase(settings, day=MONDAY, now=NOW + timedelta(minutes=1))
    assert rerun.messages_written == 0 and rerun.plan.items == []
    assert len(smtp.inbox.received) == pending["pending"]
    assert set(smtp.inbox.ids().values()) == {1}

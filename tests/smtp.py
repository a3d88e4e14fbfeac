"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1) that keeps what it accepts, and
settings that deliver to it."""

from __future__ import annotations

import socket
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from services.settings import Settings


class Inbox:
    """An SMTP handler that keeps every message it accepts, and every recipient it is given
    (RCPT), answering 550 to those whose mailbox is in `unknown` and 452 to those in `full`."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.rcpt: list[str] = []
        self.unknown: set[str] = set()
        self.full: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.rcpt.append(address)
        if address in self.unknown:
            return "550 5.1.1 No such user"
        if address in self.full:
            return "452 4.2.2 Mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

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


def settings_for(
    engine: Engine, server: Server | None, outbox: Path | None = None, **more: Any
) -> Settings:
    """Settings that deliver to `server` (nowhere when None: messages wait), and `more`."""
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "smtp_host": "127.0.0.1" if server is not None else None,
        "smtp_starttls": False,
        "mail_from": "dondoc@camxuyen.example",
        "outbox_dir": outbox,
    }
    if server is not None:
        values["smtp_port"] = server.port
    return Settings(**(values | more))

"""Where replies to the reminders reach dondoc: its own SMTP receiver (the quickstart's, on
127.0.0.1) and, in production, the reply mailbox it reads over IMAP. Both hand each mail to
`replies.take_reply` with the moment it arrived."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import Controller
from imapclient import IMAPClient

from models.errors import InputError
from services.replies import MAX_MAIL, Taken, take_reply
from services.settings import Settings


class _Receiver:
    """An aiosmtpd handler: mail for the reply address alone, each taken as it arrives."""

    def __init__(self, settings: Settings, now: Callable[[], datetime]) -> None:
        self.settings = settings
        self.now = now
        self.address = (settings.reply_address or "").lower()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() != self.address:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def take(self, raw: bytes, arrived: datetime) -> Taken:
        return take_reply(self.settings, raw, arrived_at=arrived, now=arrived)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        arrived = self.now()
        loop = asyncio.get_running_loop()
        try:
            # the database and the answer's delivery block: off the receiver's event loop
            await loop.run_in_executor(None, self.take, envelope.content, arrived)
        except Exception:  # the sender's server keeps the mail and tries again later
            return "451 4.3.0 dondoc cannot take the mail now; try again later"
        return "250 OK"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def receiver(settings: Settings, now: Callable[[], datetime] = _utc_now) -> Iterator[int]:
    """dondoc's SMTP receiver on 127.0.0.1 at the receiver port, while the block runs: it
    takes mail for the reply address (refusing any other), and a mail it cannot take now is
    refused for a while (4xx), so the sender's server keeps it and tries again. Yields the
    port."""
    if settings.reply_address is None:
        raise InputError(
            "environment", "DONDOC_REPLY_ADDRESS", None, "is not set: no address to receive at"
        )
    controller = Controller(
        _Receiver(settings, now),
        hostname="127.0.0.1",
        port=settings.receiver_port,
        data_size_limit=MAX_MAIL,  # a longer mail is refused (552) before it is kept
    )
    controller.start()
    try:
        yield settings.receiver_port
    finally:
        controller.stop()


def read_mailbox(settings: Settings, *, now: datetime) -> list[Taken]:
    """Take every unread mail of the reply mailbox (IMAP over TLS), each with the moment the
    mailbox received it, and mark it read once taken; a mail that fails stays unread for the
    next pass (taking it again records nothing twice)."""
    if settings.imap_host is None:
        raise InputError("environment", "DONDOC_IMAP_HOST", None, "is not set: no mailbox to read")
    password = settings.imap_password.get_secret_value() if settings.imap_password else ""
    taken: list[Taken] = []
    with IMAPClient(settings.imap_host, port=settings.imap_port, ssl=True) as client:
        client.normalise_times = False  # the arrival instants with their offset
        client.login(settings.imap_user or "", password)
        client.select_folder(settings.imap_folder)
        for uid in client.search(["UNSEEN"]):
            fetched = client.fetch([uid], [b"BODY.PEEK[]", b"INTERNALDATE"]).get(uid)
            if fetched is None:
                continue
            arrived: datetime = fetched[b"INTERNALDATE"]
            taken.append(take_reply(settings, fetched[b"BODY[]"], arrived_at=arrived, now=now))
            client.add_flags([uid], [b"\\Seen"])
    return taken

"""Delivery against a real SMTP server (aiosmtpd on 127.0.0.1), counted at the server: one
message per recipient per run, nothing twice on a rerun, nothing lost while SMTP is down, and a
run stopped before its commit or between sending and marking loses nothing on the rerun."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import services.mail
from models.errors import Refused, Unauthorized
from models.storage import reference
from models.storage.chase import Recipient, Rendered, store_messages
from models.storage.db import transaction
from notifications import delivery
from services.settings import Settings
from tests.smtp import Inbox, Server, settings_for

MONDAY = date(2024, 3, 18)
NOW = datetime(2024, 3, 18, 1, 0, tzinfo=UTC)


def statuses(engine: Engine) -> Counter[str]:
    with transaction(engine, writes=False) as conn:
        return Counter(r[0] for r in conn.execute(sa.text("SELECT status FROM message")))


def test_the_daily_run_sends_one_message_per_recipient(
    seeded: Engine, smtp: Server, tmp_path: Path
) -> None:
    run = services.mail.chase(settings_for(seeded, smtp, tmp_path / "outbox"), day=MONDAY, now=NOW)
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
    services.mail.chase(settings, day=MONDAY, now=NOW)
    sent = len(smtp.inbox.received)
    again = services.mail.chase(settings, day=MONDAY, now=NOW + timedelta(hours=1))
    assert again.messages_written == 0 and len(smtp.inbox.received) == sent


def test_smtp_down_loses_nothing_and_the_next_run_sends_it(seeded: Engine, smtp: Server) -> None:
    settings = settings_for(seeded, smtp)
    smtp.stop()
    down = services.mail.chase(settings, day=MONDAY, now=NOW)
    letters = len(down.plan.letters)
    assert down.delivery is not None and len(down.delivery.failed) == letters
    assert "ConnectionRefusedError" in down.delivery.failed[0][1]
    assert statuses(seeded) == {"failed": letters}
    smtp.start()
    # within the backoff nothing is tried; after it, everything goes, once
    early = services.mail.deliver_outbox(settings, now=NOW + timedelta(minutes=1))
    assert early.sent == [] and early.waiting == letters
    later = services.mail.deliver_outbox(settings, now=NOW + timedelta(minutes=6))
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

    real = render.renderer(Settings().calendar())
    monkeypatch.setattr(render, "renderer", lambda calendar, reply_to=None: crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        services.mail.chase(settings, day=MONDAY, now=NOW)
    with transaction(seeded, writes=False) as conn:
        chased = conn.execute(
            sa.text("SELECT count(*) FROM event WHERE kind IN ('reminded', 'escalated')")
        ).scalar_one()
    assert chased == 0 and statuses(seeded) == {} and smtp.inbox.received == []
    monkeypatch.undo()
    rerun = services.mail.chase(settings, day=MONDAY, now=NOW)
    assert len(smtp.inbox.received) == len(rerun.plan.letters) > 0
    assert set(smtp.inbox.ids().values()) == {1}


def test_a_run_stopped_after_the_commit_or_mid_sending_sends_the_rest_once(
    seeded: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(seeded, smtp)
    real = delivery._send
    sent = 0

    def stop_after_second_send(mail: EmailMessage, config: delivery.Smtp, to: str) -> None:
        nonlocal sent
        real(mail, config, to)
        sent += 1
        if sent == 2:
            raise KeyboardInterrupt  # sent, but stopped before it is marked sent

    monkeypatch.setattr(delivery, "_send", stop_after_second_send)
    with pytest.raises(KeyboardInterrupt):
        services.mail.chase(settings, day=MONDAY, now=NOW)
    letters = statuses(seeded)
    assert letters["sent"] == 1 and letters["sending"] == 1 and len(smtp.inbox.received) == 2
    monkeypatch.setattr(delivery, "_send", real)
    rerun = services.mail.chase(settings, day=MONDAY, now=NOW + timedelta(minutes=1))
    assert rerun.messages_written == 0  # the events and letters were committed before
    total = sum(letters.values())
    # the stopped run's claim holds off other runs for its lease, then lapses
    assert statuses(seeded) == {"sent": total - 1, "sending": 1}
    services.mail.deliver_outbox(settings, now=NOW + delivery.CLAIM_LEASE + timedelta(minutes=1))
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

    monkeypatch.setattr(services.mail, "deliver_outbox", stopped)
    with pytest.raises(KeyboardInterrupt):
        services.mail.chase(settings, day=MONDAY, now=NOW)
    pending = statuses(seeded)
    assert set(pending) == {"pending"} and smtp.inbox.received == []
    monkeypatch.undo()
    rerun = services.mail.chase(settings, day=MONDAY, now=NOW + timedelta(minutes=1))
    assert rerun.messages_written == 0 and rerun.plan.items == []
    assert len(smtp.inbox.received) == pending["pending"]
    assert set(smtp.inbox.ids().values()) == {1}


# --- trust: what a register name, a bad row, a second run or a stalling server can do -------


def outbox(engine: Engine, *recipients: tuple[str, str]) -> list[str]:
    """One message in the outbox to each (address, name), due now; their keys, in order."""
    keys = [f"thu-{n:02d}" for n in range(len(recipients))]
    with transaction(engine) as conn:
        store_messages(
            conn,
            "test",
            [
                (key, Recipient(email, name), Rendered("[dondoc] Thư", "Nội dung", "<p>Nội</p>"))
                for key, (email, name) in zip(keys, recipients, strict=True)
            ],
            NOW,
        )
    return keys


HOSTILE_NAMES = [
    "Thị trấn Cẩm Xuyên, attacker@evil.example,",
    "Thị trấn ‹Thiên Cầm>",
    "@Thị trấn Cẩm Xuyên",
    "Xã Cẩm Bình; Xã Cẩm Vịnh <b@evil.example>",
    "Xã Cẩm Lạc [cũ] (c@evil.example)",
    'Xã "Cẩm Minh" \\',
]


def test_a_name_is_never_read_as_an_address(engine: Engine, smtp: Server) -> None:
    recipients = [(f"ubnd.{n}@camxuyen.example", name) for n, name in enumerate(HOSTILE_NAMES)]
    outbox(engine, *recipients)
    run = services.mail.deliver_outbox(settings_for(engine, smtp), now=NOW)
    assert run.failed == [] and len(run.sent) == len(recipients)
    # each letter went to its stored address alone, and its name arrived whole
    assert sorted(smtp.inbox.rcpt) == sorted(email for email, _ in recipients)
    arrived = {}
    for rcpts, mail in smtp.inbox.received:
        (to,) = mail["To"].addresses
        assert rcpts == [to.addr_spec]
        arrived[to.addr_spec] = to.display_name
    assert arrived == dict(recipients)


def test_the_shipped_long_name_arrives_whole(registered: Engine, smtp: Server) -> None:
    with transaction(registered, writes=False) as conn:
        name, email = conn.execute(
            sa.text("SELECT name, email FROM unit WHERE code = '42-SVHTTDL'")
        ).one()
    assert name == "Sở Văn hóa, Thể thao và Du lịch tỉnh Hà Tĩnh"
    outbox(registered, (email, name))
    services.mail.deliver_outbox(settings_for(registered, smtp), now=NOW)
    assert smtp.inbox.rcpt == [email]
    ((rcpts, mail),) = smtp.inbox.received
    (to,) = mail["To"].addresses
    assert (rcpts, to.addr_spec, to.display_name) == ([email], email, name)
    assert mail["From"].addresses[0].addr_spec == "dondoc@camxuyen.example"


def _units_with_mail(engine: Engine, n: int) -> list[tuple[str, str, str]]:
    """(code, address, name) of the first `n` units with an address."""
    with transaction(engine, writes=False) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT code, email, name FROM unit WHERE email IS NOT NULL ORDER BY code")
            ).all()[:n]
        ]


BROKEN_NAME = "Xã Cẩm Mỹ\r\nBcc: spy@evil.example"


def _plant(engine: Engine, key: str) -> None:
    """What an older database may hold and the register now refuses: a name that would end
    a header early, in a message already in the outbox."""
    with transaction(engine) as conn:
        conn.execute(
            sa.text("UPDATE message SET recipient_name = :name WHERE key = :key"),
            {"name": BROKEN_NAME, "key": key},
        )


def test_one_unbuildable_message_stops_nothing_and_can_be_fixed(
    registered: Engine, smtp: Server
) -> None:
    units = _units_with_mail(registered, 20)
    assert len(units) == 20
    keys = outbox(registered, *((email, name) for _, email, name in units))
    bad = keys[4]
    _plant(registered, bad)
    with transaction(registered) as conn:  # and the register it came from
        conn.execute(
            sa.text("UPDATE unit SET name = :name WHERE code = :code"),
            {"name": BROKEN_NAME, "code": units[4][0]},
        )
    settings = settings_for(registered, smtp)
    run = services.mail.deliver_outbox(settings, now=NOW)
    assert len(run.sent) == 19 and len(smtp.inbox.received) == 19
    assert [key for key, _ in run.failed] == [bad] and "CR or LF" in run.failed[0][1]
    assert statuses(registered) == {"sent": 19, "failed": 1}
    assert "spy@evil.example" not in smtp.inbox.rcpt
    # `outbox retry` goes on past it, and sends nothing twice
    again = services.mail.deliver_outbox(settings, now=NOW, everything=True)
    assert again.sent == [] and [key for key, _ in again.failed] == [bad]
    assert len(smtp.inbox.received) == 19
    # the register is corrected: a retry of that message carries the corrected name
    with transaction(registered, writes=False) as conn:
        (row,) = [u for u in reference.load_units(conn) if u.code == units[4][0]]
    reference.import_units(registered, [replace(row, name=units[4][2])])
    fixed = services.mail.retry_messages(settings, [bad], now=NOW)
    assert fixed.sent == [bad] and len(smtp.inbox.received) == 20
    ((rcpts, mail),) = smtp.inbox.received[-1:]
    (to,) = mail["To"].addresses
    assert (rcpts, to.addr_spec, to.display_name) == ([units[4][1]], units[4][1], units[4][2])
    assert statuses(registered) == {"sent": 20}


def test_an_admin_drops_a_message_for_good(registered: Engine, smtp: Server) -> None:
    units = _units_with_mail(registered, 2)
    keys = outbox(registered, *((email, name) for _, email, name in units))
    _plant(registered, keys[0])
    settings = settings_for(registered, smtp)
    assert [key for key, _ in services.mail.deliver_outbox(settings, now=NOW).failed] == keys[:1]
    with pytest.raises(Unauthorized):  # staff may not; the refusal is recorded
        services.mail.drop_message(settings, keys[0], actor="vhtt.lan", now=NOW)
    services.mail.drop_message(settings, keys[0], actor="admin.cx", now=NOW)
    with pytest.raises(Refused):
        services.mail.retry_messages(settings, keys[:1], now=NOW)
    later = services.mail.deliver_outbox(settings, now=NOW + timedelta(days=1), everything=True)
    assert (later.sent, later.failed, later.waiting) == ([], [], 0)
    assert statuses(registered) == {"sent": 1, "dropped": 1}
    assert smtp.inbox.rcpt == [units[1][1]]
    with transaction(registered, writes=False) as conn:
        channel = conn.execute(
            sa.text("SELECT channel FROM message WHERE key = :k"), {"k": keys[0]}
        ).scalar_one()
        denials = conn.execute(
            sa.text("SELECT actor, command FROM denial WHERE target = :t"),
            {"t": f"message {keys[0]}"},
        ).all()
    assert channel.startswith("dropped by admin.cx at ")
    assert [tuple(d) for d in denials] == [("vhtt.lan", "drop")]


class SlowInbox(Inbox):
    """An inbox that takes a moment over each message, as a real server does."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def test_two_deliveries_at_once_send_each_message_once(seeded: Engine, smtp: Server) -> None:
    smtp.stop()
    smtp.inbox = SlowInbox()
    smtp.start()
    written = services.mail.chase(settings_for(seeded, None), day=MONDAY, now=NOW).messages_written
    assert written > 10 and statuses(seeded) == {"pending": written}
    settings = settings_for(seeded, smtp)
    start = threading.Barrier(2)
    runs: list[delivery.Delivery] = []

    def deliver() -> None:
        start.wait()
        runs.append(services.mail.deliver_outbox(settings, now=NOW))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 2
    assert not set(runs[0].sent) & set(runs[1].sent)
    assert sum(len(run.sent) for run in runs) == written
    ids = smtp.inbox.ids()
    assert len(ids) == written and set(ids.values()) == {1}
    assert statuses(seeded) == {"sent": written}


class Staller:
    """A server that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                self.held.append(self.listener.accept()[0])
            except TimeoutError:
                continue

    def connections(self) -> int:
        """Every connection made so far, those still waiting to be accepted too."""
        self._stop()
        self.listener.setblocking(False)
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except BlockingIOError:
                return len(self.held)

    def _stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def close(self) -> None:
        self._stop()
        for sock in [*self.held, self.listener]:
            sock.close()


def test_a_stalling_server_stops_the_run_at_its_first_timeout(engine: Engine) -> None:
    keys = outbox(engine, *((f"ubnd.{n}@camxuyen.example", f"Xã số {n}") for n in range(3)))
    staller = Staller()
    try:
        settings = settings_for(
            engine, None, smtp_host="127.0.0.1", smtp_port=staller.port, smtp_timeout=0.2
        )
        run = services.mail.deliver_outbox(settings, now=NOW)
        assert staller.connections() == 1  # nothing was tried after the first timeout
    finally:
        staller.close()
    assert [key for key, _ in run.failed] == keys[:1] and "timed out" in run.failed[0][1]
    assert run.sent == [] and run.deferred == 2 and run.stopped is not None
    # the two never tried wait for the next run as they were, with no backoff
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(sa.text("SELECT key, status, attempts FROM message ORDER BY key")).all()
    assert [tuple(r) for r in rows] == [
        (keys[0], "failed", 1),
        (keys[1], "pending", 0),
        (keys[2], "pending", 0),
    ]


def test_a_permanent_refusal_is_not_retried_and_a_temporary_one_is(
    engine: Engine, smtp: Server
) -> None:
    keys = outbox(
        engine,
        ("ubnd.1@camxuyen.example", "Xã Một"),
        ("khong-co@camxuyen.example", "Xã Hai"),
        ("day-hop-thu@camxuyen.example", "Xã Ba"),
    )
    smtp.inbox.unknown = {"khong-co@camxuyen.example"}
    smtp.inbox.full = {"day-hop-thu@camxuyen.example"}
    settings = settings_for(engine, smtp)
    run = services.mail.deliver_outbox(settings, now=NOW)
    assert run.sent == [keys[0]]
    assert [key for key, _ in run.rejected] == [keys[1]] and "550" in run.rejected[0][1]
    assert [key for key, _ in run.failed] == [keys[2]] and "452" in run.failed[0][1]
    assert statuses(engine) == {"sent": 1, "rejected": 1, "failed": 1}
    later = services.mail.deliver_outbox(settings, now=NOW + timedelta(hours=7), everything=True)
    assert later.rejected == [] and [key for key, _ in later.failed] == [keys[2]]
    assert Counter(smtp.inbox.rcpt) == {
        "ubnd.1@camxuyen.example": 1,
        "khong-co@camxuyen.example": 1,  # reported once, never tried again
        "day-hop-thu@camxuyen.example": 2,
    }


def test_an_empty_smtp_host_means_no_smtp(engine: Engine) -> None:
    outbox(engine, ("ubnd.1@camxuyen.example", "Xã Một"))
    settings = settings_for(engine, None, smtp_host="")
    assert settings.smtp_host is None and services.mail.smtp(settings) is None
    run = services.mail.deliver_outbox(settings, now=NOW)
    assert (run.sent, run.failed, run.waiting) == ([], [], 1)
    assert statuses(engine) == {"pending": 1}

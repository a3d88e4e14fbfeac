"""Delivering the outbox: each message that is due goes out by e-mail (SMTP) and/or as an
.eml file in the outbox folder, and is marked sent in a transaction of its own right after.

Each message is claimed before it is sent: an UPDATE that only one run can win moves it to
`sending` for a lease (`CLAIM_LEASE`), so two runs at once (two chases, a chase and the
monthly summary) never send the same message twice. The guarantee stays at-least-once: a run
stopped between claiming (or sending) and marking leaves the claim to lapse, and a run after
the lease sends that message again, with the same Message-ID (`<key@dondoc>`), which lets mail
systems drop the duplicate. A failed delivery stays in the outbox and is retried by later runs
with backoff (5 minutes, doubling, at most 6 hours); a message the server refuses for good
(5xx) is `rejected` and not retried; nothing is lost and nothing sent is sent again once
marked.

A run's delivery stops at the first timeout, and when its time budget is spent: the messages
it did not try wait, as they were, for the next run.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from models.errors import NotFound, Refused
from models.files.registry import email_problem
from models.rules.reply import TOKEN_SLOT
from models.storage.db import transaction
from models.storage.replies import issue_token
from models.storage.tables import ACTOR, ATTACHMENT, MESSAGE, UNIT

# Python's header folding drops the space between two encoded words ("nhiệm vụ" arrives as
# "nhiệmvụ"); headers are written unfolded instead, within RFC 5322's 998-character lines.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
FIRST_RETRY = timedelta(minutes=5)
LONGEST_RETRY = timedelta(hours=6)
# How long a claim keeps other runs off a message: far longer than one message's few SMTP
# round trips (each at most DONDOC_SMTP_TIMEOUT, at most a minute); after it, a claim left by
# a stopped run lapses and the message is delivered again.
CLAIM_LEASE = timedelta(minutes=10)
# Statuses a run may claim a message in (besides a `sending` whose lease has lapsed).
OPEN = ("pending", "failed")


@dataclass(frozen=True, slots=True)
class Smtp:
    """Where e-mail goes; the password comes from the environment, never a file or flow."""

    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    sender: str
    timeout: float = 30.0  # seconds each connection waits for the server at any one step


@dataclass
class Delivery:
    """What one delivery pass did."""

    sent: list[str] = field(default_factory=list)  # message keys
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, error), retried later
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (key, error), for good
    waiting: int = 0  # due later (backoff, another run's claim) or with no channel configured
    deferred: int = 0  # due, but not tried: the run stopped delivering (see `stopped`)
    stopped: str | None = None  # why the run stopped before the messages it left


def email_of(
    row: Any, sender: str, attachments: list[Any], reply: tuple[str, str] | None = None
) -> EmailMessage:
    """The message as e-mail: plain text with an HTML alternative, its files attached, and a
    stable Message-ID. Addresses are structured, so a name is quoted or encoded and never read
    as an address; a value no header can hold raises ValueError. A letter a unit may answer
    (`reply`: the token of this delivery and where to answer) carries the token in its slot
    and that address as its Reply-To."""
    problem = email_problem(row.recipient)
    if problem is not None:  # the register refuses it now; an older database may hold it
        raise ValueError(f"the recipient {row.recipient!r} {problem}")
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["Subject"] = row.subject
    mail["From"] = Address(addr_spec=sender)
    mail["To"] = Address(display_name=row.recipient_name, addr_spec=row.recipient)
    mail["Date"] = format_datetime(row.created_at)
    mail["Message-ID"] = f"<{row.key}@dondoc>"
    # every message is dondoc's own (RFC 3834): no vacation notice or robot answers it
    mail["Auto-Submitted"] = "auto-generated"
    token = ""  # a letter whose token a reply has spent goes out again with none
    if reply is not None:
        token, reply_to = reply
        mail["Reply-To"] = Address(addr_spec=reply_to)
    mail.set_content(row.text.replace(TOKEN_SLOT, token))
    mail.add_alternative(row.html.replace(TOKEN_SLOT, token), subtype="html")
    for attachment in attachments:
        kind, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.content, maintype=kind, subtype=subtype, filename=attachment.filename
        )
    return mail


def _send(mail: EmailMessage, smtp: Smtp, to: str) -> None:
    """Send `mail` to the stored address `to` alone, whatever its headers say."""
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        client.send_message(mail, from_addr=smtp.sender, to_addrs=[to])


def send_now(
    mail: EmailMessage, key: str, to: str, *, smtp: Smtp | None, folder: Path | None
) -> list[str]:
    """Deliver `mail` to `to` through every channel configured: an .eml file `key` in the
    outbox folder, then SMTP. The channels it went through; what fails raises (OSError,
    smtplib.SMTPException)."""
    channels = []
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{key}.eml").write_bytes(bytes(mail))
        channels.append(f"file:{folder / (key + '.eml')}")
    if smtp is not None:
        _send(mail, smtp, to)
        channels.append(f"smtp:{smtp.host}:{smtp.port}")
    return channels


def _rejected(exc: Exception) -> bool:
    """Whether the server refused the message for good (a 5xx reply to its recipient or its
    content); a refused sender or login is the configuration's fault, and is retried."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600


def _timed_out(exc: BaseException) -> bool:
    """Whether `exc` is a timeout: smtplib reports a reply that never came as a disconnection
    caused by the socket's timeout."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _due(now: datetime, everything: bool) -> sa.ColumnElement[bool]:
    """Messages a run may claim at `now`: open ones whose retry is due (all open ones with
    `everything`), and those whose claim has lapsed."""
    open_ = MESSAGE.c.status.in_(OPEN)
    lapsed = sa.and_(MESSAGE.c.status == "sending", MESSAGE.c.next_attempt_at <= now)
    return sa.or_(open_ if everything else sa.and_(open_, MESSAGE.c.next_attempt_at <= now), lapsed)


def _claim(
    engine: Engine, id_: int, due: sa.ColumnElement[bool], now: datetime, until: datetime
) -> Any:
    """Claim one message until `until`, in a short transaction of its own: its row, files and
    (for a letter a unit may answer) the token of this delivery if this run won it, None if
    another run did (or it is no longer due). The token's hash is committed before the
    letter goes out, so a reply never arrives before dondoc knows its token."""
    with transaction(engine) as conn:
        won = conn.execute(
            MESSAGE.update()
            .where(MESSAGE.c.id == id_, due)
            .values(status="sending", next_attempt_at=until, attempts=MESSAGE.c.attempts + 1)
        ).rowcount
        if won != 1:
            return None
        row = conn.execute(sa.select(MESSAGE).where(MESSAGE.c.id == id_)).one()
        files = conn.execute(sa.select(ATTACHMENT).where(ATTACHMENT.c.message_key == row.key))
        return row, files.all(), issue_token(conn, row.key, now=now)


def _mark(engine: Engine, row: Any, **values: Any) -> None:
    """Record how this run's attempt at a message ended, in a transaction of its own, if the
    message is still this run's claim (the claim's attempt number says so)."""
    with transaction(engine) as conn:
        conn.execute(
            MESSAGE.update()
            .where(
                MESSAGE.c.id == row.id,
                MESSAGE.c.status == "sending",
                MESSAGE.c.attempts == row.attempts,
            )
            .values(**values)
        )


def deliver(
    engine: Engine,
    *,
    now: datetime,
    smtp: Smtp | None,
    folder: Path | None,
    everything: bool = False,
    only: Collection[str] | None = None,
    budget: timedelta = timedelta(minutes=10),
) -> Delivery:
    """Deliver every message that is due (`everything`: also those waiting for a retry;
    `only`: just the messages of these keys), for at most `budget`."""
    result = Delivery()
    unsent = sa.or_(MESSAGE.c.status.in_(OPEN), MESSAGE.c.status == "sending")
    due = _due(now, everything)
    if only is not None:
        unsent = sa.and_(unsent, MESSAGE.c.key.in_(list(only)))
        due = sa.and_(due, MESSAGE.c.key.in_(list(only)))
    with transaction(engine, writes=False) as conn:
        unsent_count = conn.execute(sa.select(sa.func.count()).where(unsent)).scalar_one()
        if smtp is None and folder is None:  # no channel: everything waits
            result.waiting = unsent_count
            return result
        ids = list(
            conn.execute(sa.select(MESSAGE.c.id).where(due).order_by(MESSAGE.c.id)).scalars()
        )
    result.waiting = unsent_count - len(ids)
    sender = smtp.sender if smtp else "dondoc@localhost"
    started = time.monotonic()
    for at, id_ in enumerate(ids):
        elapsed = timedelta(seconds=time.monotonic() - started)
        if result.stopped is None and elapsed > budget:
            result.stopped = f"the run's delivery time ({budget.total_seconds():g} s) ran out"
        if result.stopped is not None:
            result.deferred = len(ids) - at
            break
        # the lease runs from the moment of the claim, not the run's start
        claimed = _claim(engine, id_, due, now, now + elapsed + CLAIM_LEASE)
        if claimed is None:  # another run has it
            result.waiting += 1
            continue
        row, files, reply = claimed
        try:
            mail = email_of(row, sender, files, reply)
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                for attachment in files:
                    (folder / attachment.filename).write_bytes(attachment.content)
            channels = send_now(mail, row.key, row.recipient, smtp=smtp, folder=folder)
        # what building (a value no header holds) and sending (the network, the server) raise
        except (ValueError, MessageError, OSError, smtplib.SMTPException) as exc:
            error = _error(exc)
            if isinstance(exc, smtplib.SMTPException) and _rejected(exc):
                _mark(engine, row, status="rejected", last_error=error)
                result.rejected.append((row.key, error))
                continue
            wait = min(FIRST_RETRY * 2 ** (row.attempts - 1), LONGEST_RETRY)
            _mark(engine, row, status="failed", next_attempt_at=now + wait, last_error=error)
            result.failed.append((row.key, error))
            if _timed_out(exc):
                result.stopped = f"the SMTP server did not answer in time ({error})"
            continue
        _mark(engine, row, status="sent", sent_at=now, last_error=None, channel=", ".join(channels))
        result.sent.append(row.key)
    return result


def _settled(conn: Connection, key: str, now: datetime, command: str) -> Any:
    """The message of `key`, if an operator may still settle it: neither sent nor dropped,
    nor in a run's hands right now."""
    row = conn.execute(sa.select(MESSAGE).where(MESSAGE.c.key == key)).first()
    if row is None:
        raise NotFound(f"{command}: the outbox holds no message {key!r}")
    if row.status in ("sent", "dropped"):
        raise Refused(f"{command}: message {key} is {row.status} already")
    if row.status == "sending" and row.next_attempt_at > now:
        raise Refused(
            f"{command}: message {key} is being delivered by a run; its claim lapses at "
            f"{row.next_attempt_at:%Y-%m-%d %H:%M} UTC"
        )
    return row


def drop(engine: Engine, key: str, *, actor: str, now: datetime) -> None:
    """Take a message out of delivery for good; it stays in the outbox, for the record, with
    who dropped it and when (in its channel: it went nowhere)."""
    with transaction(engine) as conn:
        _settled(conn, key, now, "outbox drop")
        conn.execute(
            MESSAGE.update()
            .where(MESSAGE.c.key == key)
            .values(status="dropped", channel=f"dropped by {actor} at {now:%Y-%m-%d %H:%M} UTC")
        )


def _registered_name(conn: Connection, address: str) -> str | None:
    """The name the registers now give an address: its unit's, else its actor's (the chase
    addresses a unit's own mailbox under the unit's name)."""
    for name, email, order in (
        (UNIT.c.name, UNIT.c.email, UNIT.c.code),
        (ACTOR.c.full_name, ACTOR.c.email, ACTOR.c.username),
    ):
        found = conn.execute(
            sa.select(name).where(sa.func.lower(email) == address.lower()).order_by(order).limit(1)
        ).scalar()
        if found is not None:
            return str(found)
    return None


def readdress(engine: Engine, keys: Collection[str], *, now: datetime) -> None:
    """Make messages deliverable again now (a failed or rejected one too), under the name the
    registers give their address today: after a register is corrected, the message carries
    the corrected name. A message whose address no register holds any more is refused."""
    with transaction(engine) as conn:
        for key in keys:
            row = _settled(conn, key, now, "outbox retry")
            name = _registered_name(conn, row.recipient)
            if name is None:
                raise Refused(
                    f"outbox retry: no unit or actor has the address {row.recipient} any more: "
                    f"correct the register, or drop message {key}"
                )
            conn.execute(
                MESSAGE.update()
                .where(MESSAGE.c.key == key)
                .values(recipient_name=name, status="pending", next_attempt_at=now)
            )

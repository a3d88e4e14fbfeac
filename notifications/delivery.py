"""Delivering the outbox: each message that is due goes out by e-mail (SMTP) and/or as an
.eml file in the outbox folder, and is marked sent in a transaction of its own right after.

The guarantee is at-least-once: a run stopped between sending and marking sends that message
again on the next run, with the same Message-ID (`<key@dondoc>`), which lets mail systems drop
the duplicate. A failed delivery stays in the outbox and is retried by later runs with
backoff (5 minutes, doubling, at most 6 hours); nothing is lost and nothing sent is sent
again once marked.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from models.db import transaction
from models.tables import ATTACHMENT, MESSAGE

# Python's header folding drops the space between two encoded words ("nhiệm vụ" arrives as
# "nhiệmvụ"); headers are written unfolded instead, within RFC 5322's 998-character lines.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
FIRST_RETRY = timedelta(minutes=5)
LONGEST_RETRY = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Smtp:
    """Where e-mail goes; the password comes from the environment, never a file or flow."""

    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    sender: str


@dataclass
class Delivery:
    """What one delivery pass did."""

    sent: list[str] = field(default_factory=list)  # message keys
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, error)
    waiting: int = 0  # due later (backoff) or with no channel configured


def email_of(row: Any, sender: str, attachments: list[Any]) -> EmailMessage:
    """The message as e-mail: plain text with an HTML alternative, its files attached, and a
    stable Message-ID."""
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["Subject"] = row.subject
    mail["From"] = sender
    mail["To"] = f"{row.recipient_name} <{row.recipient}>"
    mail["Date"] = format_datetime(row.created_at)
    mail["Message-ID"] = f"<{row.key}@dondoc>"
    mail.set_content(row.text)
    mail.add_alternative(row.html, subtype="html")
    for attachment in attachments:
        kind, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(
            attachment.content, maintype=kind, subtype=subtype, filename=attachment.filename
        )
    return mail


def _send(mail: EmailMessage, smtp: Smtp) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        client.send_message(mail)


def _mark(engine: Engine, row: Any, **values: Any) -> None:
    """Record one attempt at a message, in a transaction of its own."""
    with transaction(engine) as conn:
        conn.execute(
            MESSAGE.update()
            .where(MESSAGE.c.id == row.id)
            .values(attempts=row.attempts + 1, **values)
        )


def deliver(
    engine: Engine,
    *,
    now: datetime,
    smtp: Smtp | None,
    folder: Path | None,
    everything: bool = False,
) -> Delivery:
    """Deliver every message that is due (`everything`: also those waiting for a retry)."""
    result = Delivery()
    unsent = MESSAGE.c.status != "sent"
    due = unsent if everything else sa.and_(unsent, MESSAGE.c.next_attempt_at <= now)
    with transaction(engine, writes=False) as conn:
        unsent_count = conn.execute(sa.select(sa.func.count()).where(unsent)).scalar_one()
        if smtp is None and folder is None:  # no channel: everything waits
            result.waiting = unsent_count
            return result
        rows = conn.execute(sa.select(MESSAGE).where(due).order_by(MESSAGE.c.id)).all()
        files: dict[str, list[Any]] = {}
        for attachment in conn.execute(
            sa.select(ATTACHMENT).where(
                ATTACHMENT.c.message_key.in_(sa.select(MESSAGE.c.key).where(due))
            )
        ):
            files.setdefault(attachment.message_key, []).append(attachment)
    result.waiting = unsent_count - len(rows)
    sender = smtp.sender if smtp else "dondoc@localhost"
    for row in rows:
        mail = email_of(row, sender, files.get(row.key, []))
        channels = []
        try:
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{row.key}.eml").write_bytes(bytes(mail))
                for attachment in files.get(row.key, []):
                    (folder / attachment.filename).write_bytes(attachment.content)
                channels.append(f"file:{folder / (row.key + '.eml')}")
            if smtp is not None:
                _send(mail, smtp)
                channels.append(f"smtp:{smtp.host}:{smtp.port}")
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            wait = min(FIRST_RETRY * 2**row.attempts, LONGEST_RETRY)
            _mark(engine, row, status="failed", next_attempt_at=now + wait, last_error=error)
            result.failed.append((row.key, error))
            continue
        _mark(engine, row, status="sent", sent_at=now, last_error=None, channel=", ".join(channels))
        result.sent.append(row.key)
    return result

"""A unit hands in by answering its reminder. Every mail that reaches dondoc (its own SMTP
receiver, or the reply mailbox it reads over IMAP) goes to `take_reply`, which records what a
registered address hands in under a letter's one-time token, and answers in Vietnamese."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

from models.errors import ConcurrencyConflict, InputError, Refused
from models.files.registry import email_problem
from models.rules.obligation import decide_reply
from models.rules.reply import Reply, label, read_reply
from models.rules.workdays import local_date
from models.storage.access import digest
from models.storage.chase import Recipient, store_messages
from models.storage.db import transaction
from models.storage.ledger import ATTEMPTS, Planned, append_many, record_denial
from models.storage.replies import (
    Asked,
    Letter,
    answered,
    asked,
    letter_of,
    senders_units,
    use_token,
)
from services.mail import deliver_outbox
from services.settings import Settings

if TYPE_CHECKING:
    from notifications.reply import Recorded

# What the event log names a reply's submission by: the channel, and the actor, a system
# name a register cannot hold (a username has no colon) naming the unit whose address sent it.
CHANNEL = "mail"
ACTOR = "mail:"
# The longest mail read: a reply is a few lines and the quoted letter, its files aside.
MAX_MAIL = 10 * 2**20


@dataclass(frozen=True, slots=True)
class Taken:
    """What became of one mail: `outcome` is recorded, mend, refused, duplicate (a second
    delivery of a reply already taken: nothing recorded, nothing answered) or ignored (an
    automatic mail, or one with no address to answer: nothing answered); `answer` is the
    outbox key of the answer, if any."""

    outcome: str
    recorded: tuple[int, ...] = ()
    answer: str | None = None


def _automatic(mail: EmailMessage) -> bool:
    """Whether `mail` was sent by a machine (an auto-reply, a bounce): answering it could
    start a loop of mail between two robots."""
    submitted = str(mail.get("Auto-Submitted", "no")).strip().lower()
    return submitted != "no" or str(mail.get("Return-Path", "")).strip() == "<>"


def _sender(mail: EmailMessage) -> Address | None:
    """The one address the mail is from, if it is one dondoc can answer."""
    try:
        addresses: tuple[Address, ...] = mail["From"].addresses if mail["From"] else ()
    except (AttributeError, ValueError, IndexError):  # a From the parser could not read
        return None
    if len(addresses) != 1 or email_problem(addresses[0].addr_spec) is not None:
        return None
    return addresses[0]


def _text(mail: EmailMessage) -> list[str]:
    """The lines of the reply's plain text (the letter's block is plain text), or none."""
    body = mail.get_body(preferencelist=("plain",))
    if body is None:
        return []
    try:
        return str(body.get_content()).splitlines()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        return []


def _recorded(target: Asked, payload: dict[str, Any], arrived_at: datetime) -> Recorded:
    """What the receipt says of one report recorded: its figures under their labels, and
    whether it arrived by the due date."""
    # the answers' templates and the documents' number format, loaded to answer a mail only
    from notifications.reply import Recorded
    from notifications.report import figure_text

    figures = payload["figures"]
    due = target.due
    return Recorded(
        title=target.requirement.title,
        period=target.period_key,
        figures=[
            (label(f.label, f.unit), figure_text(figures[f.key]))
            for f in target.requirement.what.figures
            if f.key in figures
        ],
        narrative=payload["narrative"],
        evidence=payload["evidence"],
        due=due,
        days_late=max(0, (local_date(arrived_at) - due).days) if due else 0,
    )


def _check(
    reply: Reply,
    units: set[str],
    targets: dict[int, Asked],
    *,
    arrived_at: datetime,
    sender: str,
    reply_id: str,
) -> tuple[dict[str, list[Planned]], list[Recorded], list[str]]:
    """What the reply hands in for each obligation it fills, by unit, under keys made of the
    reply's id; or what to mend: an obligation the letter does not ask of the sender's units,
    one no longer open, a bad figure."""
    planned: dict[str, list[Planned]] = {}
    recorded: list[Recorded] = []
    problems: list[str] = []
    if not reply.filled:
        problems.append("Chưa điền số liệu nào vào phiếu báo cáo của thư đôn đốc.")
    for oid in reply.filled:
        target = targets.get(oid)
        if target is None or target.unit_code not in units:
            problems.append(f"Dòng [#{oid}…] không thuộc phiếu báo cáo của thư này.")
            continue
        title = f"«{target.requirement.title}»"
        try:
            decision = decide_reply(
                target.state,
                target.requirement.what,
                reply.handed_in(oid),
                arrived_at=arrived_at,
                sender=sender,
            )
        except (InputError, Refused) as problem:
            problems.append(f"{title}: {problem.vi or problem}")
            continue
        key = f"{ACTOR}{reply_id}:{oid}"
        planned.setdefault(target.unit_code, []).append(Planned(oid, target.state, decision, key))
        recorded.append(_recorded(target, decision.payload, arrived_at))
    return planned, recorded, problems


def _refusal(
    address: str, units: set[str], letter: Letter | None, targets: dict[int, Asked]
) -> tuple[str, str] | None:
    """Why a reply is not taken at all (in English for the denial register, in Vietnamese for
    the sender), saying nothing of any unit: its address is no unit's, its token is missing,
    unknown or another unit's, or spent; None if it may be checked."""
    if not units:
        return (
            f"{address} is no unit's address",
            f"Địa chỉ {address} chưa được đăng ký cho đơn vị nào trong dondoc.",
        )
    if letter is None or not units & {target.unit_code for target in targets.values()}:
        return (
            "the reply carries no token of a letter to the sender's unit",
            "Thư thiếu mã trả lời hoặc mã không đúng: hãy trả lời chính thư đôn đốc gửi đơn vị, "
            "giữ nguyên dòng «Mã trả lời».",
        )
    if letter.used_at is not None:
        return (
            "the letter's token was spent by an earlier reply",
            "Mã trả lời của thư đôn đốc này đã được dùng cho một thư trả lời trước.",
        )
    return None


def _answer_key(reply_id: str) -> str:
    """The outbox key (and Message-ID) of the answer to a reply: one per reply, so a second
    delivery of the same reply finds it and is answered no more."""
    return hashlib.sha256(f"reply\x1f{reply_id}".encode()).hexdigest()[:32]


def take_reply(settings: Settings, raw: bytes, *, arrived_at: datetime, now: datetime) -> Taken:
    """Take one mail (`raw`: the RFC 5322 message as received) that arrived at `arrived_at`:
    record what it hands in and answer it, in one transaction, then deliver the answer.

    It is taken only from an address the registers give a unit (or one of its staff), with
    the unused token of a reminder that asked that unit for what it owes; each filled
    obligation is checked as the form checks it, and all are recorded as submissions by
    e-mail (on time by the day the mail arrived), or none. A refusal says nothing of other
    units, and is kept in the denial register. A mail sent by a machine, or from dondoc's own
    addresses, is never answered, and a reply delivered twice (the same Message-ID) is
    recorded and answered once."""
    from notifications.reply import Answer, render_answer

    if len(raw) > MAX_MAIL:  # no reply to a reminder is this long: not read at all
        return Taken("ignored")
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    sender = _sender(mail)
    own = {a.lower() for a in (settings.mail_from, settings.reply_address) if a}
    if _automatic(mail) or sender is None or sender.addr_spec.lower() in own:
        return Taken("ignored")
    message_id = str(mail.get("Message-ID") or "").strip()
    reply_id = digest(message_id) if message_id else hashlib.sha256(raw).hexdigest()
    key = _answer_key(reply_id)
    reply = read_reply(_text(mail))
    address = sender.addr_spec
    for _ in range(ATTEMPTS):
        try:
            with transaction(settings.engine()) as conn:
                if answered(conn, key):
                    return Taken("duplicate")
                units, name = senders_units(conn, sender)
                letter = letter_of(conn, reply.token) if reply.token else None
                targets = asked(conn, letter.obligations) if letter else {}
                refusal = _refusal(address, units, letter, targets)
                recorded: list[Recorded] = []
                if refusal is not None:
                    outcome, problems = "refused", [refusal[1]]
                else:
                    assert letter is not None  # `_refusal` refuses a reply without one
                    planned, recorded, problems = _check(
                        reply,
                        units,
                        targets,
                        arrived_at=arrived_at,
                        sender=address,
                        reply_id=reply_id,
                    )
                    outcome = "mend" if problems else "recorded"
                    if not problems:
                        for unit, events in planned.items():
                            append_many(
                                conn, events, actor=f"{ACTOR}{unit}", channel=CHANNEL, now=now
                            )
                        use_token(conn, letter, reply=reply_id, now=now)
                kind = "receipt" if outcome == "recorded" else outcome
                to = Recipient(address, name or address)
                answer = render_answer(Answer(kind, arrived_at, recorded, problems), name=to.name)
                run = f"reply {local_date(now).isoformat()}"
                store_messages(conn, run, [(key, to, answer)], now)
            break
        except ConcurrencyConflict:
            continue
    else:
        raise ConcurrencyConflict("reply: too many concurrent writers")
    if refusal is not None:  # an attempt to hand in for a unit, kept on record
        record_denial(
            settings.engine(),
            actor=f"{ACTOR}{address}",
            command="submit",
            target=f"reply {message_id or reply_id}",
            reason=refusal[0],
            now=now,
        )
    deliver_outbox(settings, now=now, only=[key])
    ids = tuple(r.id for r in targets.values() if outcome == "recorded" and r.id in reply.filled)
    return Taken(outcome, ids, key)

"""Reminders a unit answers by e-mail, in the database: the letters that ask for replies (with
the obligations they ask for), the one-time token of each delivery, kept as its SHA-256, and
what a reply needs read in the transaction that records it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Iterable
from datetime import date, datetime
from email.headerregistry import Address
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection

from models.errors import ConcurrencyConflict
from models.files.directive import RequirementSpec
from models.rules.obligation import State
from models.storage.access import digest
from models.storage.ledger import STATE_SELECT, requirement_spec, state_from
from models.storage.tables import ACTOR, MESSAGE, OBLIGATION, REPLY_TOKEN, REQUIREMENT, UNIT


def ask_replies(
    conn: Connection, letters: Iterable[tuple[str, Collection[int]]], *, reply_to: str
) -> None:
    """Record, in the caller's transaction, the letters (outbox key, obligations asked) a unit
    may answer at `reply_to`; their tokens are given when they go out."""
    rows = [
        {"message_key": key, "obligations": json.dumps(sorted(ids)), "reply_to": reply_to}
        for key, ids in letters
        if ids
    ]
    if rows:
        conn.execute(REPLY_TOKEN.insert(), rows)


def issue_token(conn: Connection, key: str, *, now: datetime) -> tuple[str, str] | None:
    """A new one-time token for the delivery of the letter `key`, and where it is answered;
    None for a letter that asks for no reply. Only its SHA-256 is kept, in place of the token
    of an earlier delivery of the same letter, until a reply uses it."""
    reply_to = conn.execute(
        sa.select(REPLY_TOKEN.c.reply_to).where(
            REPLY_TOKEN.c.message_key == key, REPLY_TOKEN.c.used_at.is_(None)
        )
    ).scalar()
    if reply_to is None:
        return None
    token = secrets.token_urlsafe(24)
    conn.execute(
        REPLY_TOKEN.update()
        .where(REPLY_TOKEN.c.message_key == key)
        .values(token_hash=digest(token), issued_at=now)
    )
    return token, reply_to


class Letter(NamedTuple):
    """The letter a token was given for: its outbox key, the obligations it asks for, and
    the reply that used it, if one has."""

    key: str
    obligations: list[int]
    used_at: datetime | None
    reply: str | None


def letter_of(conn: Connection, token: str) -> Letter | None:
    """The letter whose latest delivery carried `token`, if any."""
    row = conn.execute(
        sa.select(
            REPLY_TOKEN.c.message_key,
            REPLY_TOKEN.c.obligations,
            REPLY_TOKEN.c.used_at,
            REPLY_TOKEN.c.reply,
        ).where(REPLY_TOKEN.c.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    return Letter(row.message_key, json.loads(row.obligations), row.used_at, row.reply)


def use_token(conn: Connection, letter: Letter, *, reply: str, now: datetime) -> None:
    """Spend the letter's token on the reply `reply` (the SHA-256 of its Message-ID), in the
    caller's transaction; ConcurrencyConflict if another reply spent it meanwhile."""
    spent = conn.execute(
        REPLY_TOKEN.update()
        .where(REPLY_TOKEN.c.message_key == letter.key, REPLY_TOKEN.c.used_at.is_(None))
        .values(used_at=now, reply=reply)
    ).rowcount
    if spent != 1:
        raise ConcurrencyConflict(f"the token of letter {letter.key} was used meanwhile")


def same_address(registered: str, sender: Address) -> bool:
    """Whether a registered address is the sender's: the same local part, and the same
    domain in any case."""
    local, _, domain = registered.rpartition("@")
    return local == sender.username and domain.lower() == sender.domain.lower()


def senders_units(conn: Connection, sender: Address) -> tuple[set[str], str | None]:
    """The units `sender` is registered for (as the unit's own address or one of its staff's),
    and the name the registers give it."""
    units: set[str] = set()
    name: str | None = None
    lowered = sender.addr_spec.lower()
    for code, label, email in [
        *conn.execute(
            sa.select(UNIT.c.code, UNIT.c.name, UNIT.c.email).where(
                sa.func.lower(UNIT.c.email) == lowered
            )
        ),
        *conn.execute(
            sa.select(ACTOR.c.unit_code, ACTOR.c.full_name, ACTOR.c.email).where(
                sa.func.lower(ACTOR.c.email) == lowered, ACTOR.c.disabled_at.is_(None)
            )
        ),
    ]:
        if same_address(email, sender):
            units.add(code)
            name = name or label
    return units, name


class Asked(NamedTuple):
    """An obligation a letter asks for, as a reply to it is checked and answered."""

    id: int
    unit_code: str
    period_key: str
    requirement: RequirementSpec
    state: State

    @property
    def due(self) -> date | None:
        return self.state.effective_due


def asked(conn: Connection, ids: Collection[int]) -> dict[int, Asked]:
    """The obligations of `ids` with their requirement and state, read in the caller's
    transaction (a reply recorded on them compares and sets their versions)."""
    rows = conn.execute(
        sa.select(
            OBLIGATION.c.id,
            OBLIGATION.c.unit_code,
            OBLIGATION.c.period_key,
            REQUIREMENT.c.spec,
            *STATE_SELECT,
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .where(OBLIGATION.c.id.in_(list(ids)))
    )
    return {
        row[0]: Asked(row[0], row[1], row[2], requirement_spec(row[3]), state_from(row[4:]))
        for row in rows
    }


def answered(conn: Connection, key: str) -> bool:
    """Whether the outbox holds the answer `key` already."""
    return conn.execute(sa.select(MESSAGE.c.id).where(MESSAGE.c.key == key)).first() is not None

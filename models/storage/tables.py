"""SQLModel tables of dondoc's own database.

The event log (`event`) is the source of truth for obligations; the state columns of
`obligation` are a projection of it, written in the same transaction. Units, actors and
directives are reference data.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.rules import lengths

# An outbox message is pending until a run claims it (sending, until its lease lapses), then
# sent, failed (retried later), rejected (refused for good by the server) or dropped by an
# operator.
MESSAGE_STATUSES = ("pending", "sending", "sent", "failed", "rejected", "dropped")
# What a revision of a published directive does.
REVISION_KINDS = ("amend", "withdraw")
# What the sign-in log records.
ACCESS_KINDS = ("code-sent", "signed-in", "failed", "slowed", "signed-out", "disabled", "enabled")
ADDRESS = 64  # an IPv6 address with its zone, or "cli:<os user>"


class Unit(SQLModel, table=True):
    """An organisation that owes or receives things (commune, department, centre...)."""

    code: str = Field(primary_key=True, max_length=lengths.CODE)
    name: str = Field(max_length=lengths.NAME)
    kind: str = Field(index=True, max_length=lengths.KIND)
    parent_code: str | None = Field(default=None, foreign_key="unit.code", max_length=lengths.CODE)
    tags: str = Field(default="[]", sa_type=sa.Text)  # JSON list of tag strings
    email: str | None = Field(default=None, max_length=lengths.EMAIL)
    valid_from: date | None = None
    valid_until: date | None = None  # closing date: the unit no longer exists on this day
    successor_code: str | None = Field(
        default=None, foreign_key="unit.code", max_length=lengths.CODE
    )


class UnitVersion(SQLModel, table=True):
    """An earlier version of a unit that continues under its code with another name, kind or
    parent (Vietnam's 2025 communes kept the code of one of the units merged into them): what
    it was until `valid_until`, the day its next version starts. The unit's own row holds its
    latest version and its whole life (`unit.valid_from` is its first version's)."""

    __tablename__ = "unit_version"

    code: str = Field(primary_key=True, foreign_key="unit.code", max_length=lengths.CODE)
    valid_until: date = Field(primary_key=True)
    valid_from: date | None = None
    name: str = Field(max_length=lengths.NAME)
    kind: str = Field(max_length=lengths.KIND)
    parent_code: str | None = Field(default=None, foreign_key="unit.code", max_length=lengths.CODE)
    tags: str = Field(default="[]", sa_type=sa.Text)  # JSON list of tag strings
    email: str | None = Field(default=None, max_length=lengths.EMAIL)


class Actor(SQLModel, table=True):
    """A person who acts in dondoc, with the unit they act for and their role."""

    username: str = Field(primary_key=True, max_length=lengths.USERNAME)
    full_name: str = Field(max_length=lengths.NAME)
    unit_code: str = Field(foreign_key="unit.code", max_length=lengths.CODE)
    role: str = Field(max_length=16)  # one of models.rules.authz.ROLES
    email: str | None = Field(default=None, max_length=lengths.EMAIL)
    # from this moment they can no longer sign in, and their sessions end (an administrator's
    # act, kept across register imports); None while they may
    disabled_at: datetime | None = None


class Directive(SQLModel, table=True):
    """A published directive: the signed (or draft) document and its effective window."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=lengths.DIRECTIVE_CODE)
    issuer_code: str = Field(foreign_key="unit.code", max_length=lengths.CODE)
    number: str | None = Field(default=None, max_length=lengths.CODE)
    symbol: str = Field(max_length=lengths.SYMBOL)
    document_date: str = Field(max_length=10)  # ISO date, or YYYY-MM while the day is blank
    subject: str = Field(sa_type=sa.Text)
    lead_unit_code: str = Field(foreign_key="unit.code", max_length=lengths.CODE)
    effective_from: date
    effective_until: date | None = None
    status: str = Field(default="published", max_length=16)
    source_sha256: str = Field(max_length=64)  # digest of the validated content
    content: str = Field(sa_type=sa.Text)  # the validated directive as canonical JSON
    published_at: datetime
    published_by: str = Field(foreign_key="actor.username", max_length=lengths.USERNAME)


class Requirement(SQLModel, table=True):
    """One thing a directive asks of a group of units."""

    __table_args__ = (sa.UniqueConstraint("directive_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    directive_id: int = Field(foreign_key="directive.id", index=True)
    code: str = Field(max_length=lengths.CODE)
    title: str = Field(sa_type=sa.Text)
    recipient_code: str | None = Field(
        default=None, foreign_key="unit.code", max_length=lengths.CODE
    )
    spec: str = Field(sa_type=sa.Text)  # the requirement as canonical JSON


class Revision(SQLModel, table=True):
    """A later dispatch that amends or withdraws a published directive, from a day: who made
    it, when, and the directive's content from then on (for a withdrawal, the content it had).
    Append-only, like the event log: what it did to each obligation is in the log."""

    __table_args__ = (sa.UniqueConstraint("directive_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    directive_id: int = Field(foreign_key="directive.id", index=True)
    number: int  # 1 for the directive's first revision, then 2, ...
    kind: str = Field(max_length=16)  # one of REVISION_KINDS
    dispatch: str = Field(max_length=lengths.DISPATCH)  # its number and symbol
    dispatch_date: date
    effective_from: date  # the revision applies to what is due on or after this day
    content_sha256: str = Field(max_length=64)  # the directive's content from then on
    content: str = Field(sa_type=sa.Text)
    replaced: str = Field(sa_type=sa.Text)  # its content until then, kept whole
    changes: str = Field(sa_type=sa.Text)  # JSON: what changed, requirement by requirement
    made_by: str = Field(foreign_key="actor.username", max_length=lengths.USERNAME)
    made_at: datetime
    channel: str = Field(max_length=200)


class Obligation(SQLModel, table=True):
    """One requirement x one unit x one period; state columns are the event log's projection."""

    __table_args__ = (
        sa.UniqueConstraint("requirement_id", "unit_code", "period_key"),
        sa.Index("ix_obligation_unit", "unit_code"),
        sa.Index("ix_obligation_status_requirement", "status", "requirement_id"),
        # a requirement's obligations in the listing's order, so a page reads only its rows
        sa.Index(
            "ix_obligation_listing", "requirement_id", "period_end", "period_key", "unit_code"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    requirement_id: int = Field(foreign_key="requirement.id")
    unit_code: str = Field(foreign_key="unit.code", max_length=lengths.CODE)
    period_key: str = Field(max_length=16)
    period_start: date
    period_end: date | None = None
    due_date: date | None = None  # as the directive set it; None for standing duties
    # projection of the event log
    status: str = Field(default="open", max_length=16)
    version: int = 0
    effective_due: date | None = None
    figures: str | None = Field(default=None, sa_type=sa.Text)  # JSON object
    narrative: str | None = Field(default=None, sa_type=sa.Text)
    evidence: str | None = Field(default=None, max_length=lengths.EVIDENCE)
    submitted_at: datetime | None = None
    handed_in_on: date | None = None  # the local day the report arrived (ngày đến)
    decided_at: datetime | None = None
    last_hash: str = Field(max_length=64)


class Event(SQLModel, table=True):
    """An immutable fact about an obligation; append-only and hash-chained per obligation."""

    __table_args__ = (sa.UniqueConstraint("obligation_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id")
    version: int
    kind: str = Field(max_length=16)
    idempotency_key: str = Field(unique=True, max_length=200)
    actor: str = Field(max_length=64)
    at: datetime  # UTC
    channel: str = Field(max_length=200)
    payload: str = Field(sa_type=sa.Text)  # canonical JSON, hashed as stored
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class FigureValue(SQLModel, table=True):
    """One figure of an accepted submission, so that totals are one SQL aggregate on either
    database: numbers (booleans as 0 or 1) in `number`, text in `text`. Written in the same
    transaction as the `accepted` event, from its obligation's state; the event log stays the
    source of truth (`log rebuild` rewrites these rows, `log verify` checks them)."""

    __tablename__ = "figure_value"

    obligation_id: int = Field(foreign_key="obligation.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=64)
    number: float | None = None
    text: str | None = Field(default=None, sa_type=sa.Text)


class Denial(SQLModel, table=True):
    """A refused command: who tried what, on which obligation or directive, and why."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=64)
    command: str = Field(max_length=32)
    target: str = Field(max_length=200)
    reason: str = Field(sa_type=sa.Text)


class Message(SQLModel, table=True):
    """The outbox: a message an automated run decided to send, committed in the same
    transaction as the events that caused it, then delivered (and retried) apart."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)  # stable: also the Message-ID
    run: str = Field(max_length=64)  # which run wrote it, e.g. "chase 2024-03-18"
    created_at: datetime
    recipient: str = Field(max_length=200)  # e-mail address
    recipient_name: str = Field(max_length=200)
    subject: str = Field(sa_type=sa.Text)
    text: str = Field(sa_type=sa.Text)
    html: str = Field(sa_type=sa.Text)
    status: str = Field(default="pending", max_length=16, index=True)  # MESSAGE_STATUSES
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    sent_at: datetime | None = None
    channel: str | None = Field(default=None, max_length=200)  # where it went: smtp, a file


class Attachment(SQLModel, table=True):
    """A file sent with an outbox message (the urging dispatch as a Word document)."""

    id: int | None = Field(default=None, primary_key=True)
    message_key: str = Field(foreign_key="message.key", index=True, max_length=64)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=200)
    content: bytes = Field(sa_type=sa.LargeBinary)


class Draft(SQLModel, table=True):
    """The consolidation run's draft of a lead-office obligation (the consolidated report):
    what its submission form offers, for a person to check and hand in. A working document,
    not a fact about the obligation: rewritten on each run until the obligation is handed
    in, and never part of the event log."""

    obligation_id: int = Field(foreign_key="obligation.id", primary_key=True)
    narrative: str = Field(sa_type=sa.Text)
    evidence: str | None = Field(default=None, max_length=2000)
    files: str = Field(default="[]", sa_type=sa.Text)  # JSON list, relative to the outputs
    as_of: date  # the day whose statuses it consolidates
    written_at: datetime


class SignInCode(SQLModel, table=True):
    """A one-time sign-in code sent to a person's registered address. Only its argon2 hash is
    kept, with the moment it lapses and the moment it was used."""

    __tablename__ = "sign_in_code"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(foreign_key="actor.username", index=True, max_length=lengths.USERNAME)
    code_hash: str = Field(max_length=200)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class AccessSession(SQLModel, table=True):
    """A signed-in person's session. The browser holds a random token; only its SHA-256 is
    kept, so the table opens no session to whoever reads it."""

    __tablename__ = "access_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(foreign_key="actor.username", index=True, max_length=lengths.USERNAME)
    address: str = Field(max_length=ADDRESS)  # where the person signed in from
    created_at: datetime
    expires_at: datetime  # the latest moment it holds, however active
    last_seen_at: datetime  # it lapses once idle for longer than the idle limit
    ended_at: datetime | None = None  # signed out, or ended by an administrator


class AccessEvent(SQLModel, table=True):
    """The sign-in log: each code sent, sign-in, failure, slowed attempt and sign-out, and each
    person disabled or enabled, with the moment and the address it came from. A name that is
    no one's is recorded as typed (cut to the column)."""

    __tablename__ = "access_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    username: str = Field(index=True, max_length=lengths.USERNAME)
    kind: str = Field(max_length=16)  # one of ACCESS_KINDS
    address: str = Field(max_length=ADDRESS)
    detail: str = Field(default="", sa_type=sa.Text)


class RunGrant(SQLModel, table=True):
    """What the gate let a signed-in person do in Prefect, for the run to redeem once: start
    a run of a deployment (the run carries the grant's key in a label, and only the key's
    SHA-256 is kept; the run's id once Prefect created it), or resume a run with one answer
    (its SHA-256). A run whose grant is missing, spent, lapsed or another's does nothing and
    records a denial. A person who is not an administrator reads only the runs their starts
    name."""

    __tablename__ = "run_grant"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # "start" or "resume"
    key_hash: str | None = Field(default=None, unique=True, max_length=64)  # a start's key
    # the gate reads a person's runs by it on every request
    username: str = Field(foreign_key="actor.username", index=True, max_length=lengths.USERNAME)
    deployment_id: str | None = Field(default=None, max_length=36)  # a start's deployment
    flow_run_id: str | None = Field(default=None, index=True, max_length=36)
    input_sha256: str | None = Field(default=None, max_length=64)  # a resume's answer
    created_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None = None


class ReplyToken(SQLModel, table=True):
    """A reminder a unit may answer by e-mail: the outbox letter, the obligations it asks for,
    and the one-time token of its latest delivery. Only the token's SHA-256 is kept (it is set
    when the letter goes out), so the table lets no one hand in for a unit; `reply` is the
    SHA-256 of the Message-ID of the reply that used it."""

    __tablename__ = "reply_token"

    message_key: str = Field(primary_key=True, foreign_key="message.key", max_length=64)
    obligations: str = Field(sa_type=sa.Text)  # JSON list of obligation ids
    reply_to: str = Field(max_length=lengths.EMAIL)  # where the unit answers
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    issued_at: datetime | None = None
    used_at: datetime | None = None
    reply: str | None = Field(default=None, max_length=64)


# Core table handles for set-based statements (SQLModel sets __table__ at class creation).
UNIT: sa.Table = Unit.__table__  # type: ignore[attr-defined]
UNIT_VERSION: sa.Table = UnitVersion.__table__  # type: ignore[attr-defined]
ACTOR: sa.Table = Actor.__table__  # type: ignore[attr-defined]
DIRECTIVE: sa.Table = Directive.__table__  # type: ignore[attr-defined]
REQUIREMENT: sa.Table = Requirement.__table__  # type: ignore[attr-defined]
REVISION: sa.Table = Revision.__table__  # type: ignore[attr-defined]
OBLIGATION: sa.Table = Obligation.__table__  # type: ignore[attr-defined]
EVENT: sa.Table = Event.__table__  # type: ignore[attr-defined]
DENIAL: sa.Table = Denial.__table__  # type: ignore[attr-defined]
FIGURE_VALUE: sa.Table = FigureValue.__table__  # type: ignore[attr-defined]
MESSAGE: sa.Table = Message.__table__  # type: ignore[attr-defined]
ATTACHMENT: sa.Table = Attachment.__table__  # type: ignore[attr-defined]
DRAFT: sa.Table = Draft.__table__  # type: ignore[attr-defined]
SIGN_IN_CODE: sa.Table = SignInCode.__table__  # type: ignore[attr-defined]
ACCESS_SESSION: sa.Table = AccessSession.__table__  # type: ignore[attr-defined]
ACCESS_EVENT: sa.Table = AccessEvent.__table__  # type: ignore[attr-defined]
RUN_GRANT: sa.Table = RunGrant.__table__  # type: ignore[attr-defined]
REPLY_TOKEN: sa.Table = ReplyToken.__table__  # type: ignore[attr-defined]


def length(column: sa.Column[str]) -> int:
    """The characters a text column holds. PostgreSQL refuses a longer value and SQLite stores
    it, so the registers and directive files check their text against this, and both agree."""
    size = getattr(column.type, "length", None)
    if not isinstance(size, int):
        raise TypeError(f"{column} has no length")
    return size

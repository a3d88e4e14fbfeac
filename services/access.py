"""Signing in through the gate, and what the gate lets a run prove: a code sent to a person's
registered address, sessions, disabling a person, and the grants a run redeems."""

from __future__ import annotations

import smtplib
from datetime import datetime

from models.errors import DeliveryFailed
from models.rules.access import CODE_LIFETIME
from models.storage import access
from models.storage.access import Entry as Entry
from models.storage.access import Person as Person
from notifications.delivery import send_now
from services.mail import smtp
from services.settings import Settings

# The labels of a run started through the gate: who started it, and the key of the grant the
# run redeems (only the gate sets labels under `dondoc.`; the flows trust the grant alone).
ACTOR_LABEL = "dondoc.actor"
GRANT_LABEL = "dondoc.grant"


def ask_code(settings: Settings, username: str, *, now: datetime, address: str) -> None:
    """Send `username` a fresh one-time code at their registered address, at once, through
    the outbox folder and SMTP as configured (never into the outbox's table, which is kept).
    Nothing is sent to a name no one has, a person disabled or without an address, and the
    caller learns nothing of it: the sign-in log records why. DeliveryFailed if the letter
    could not be sent (the code then lapses unused)."""
    from notifications.signin import code_letter

    issued = access.new_code(settings.engine(), username, now=now, address=address)
    if issued is None:
        return
    person, code = issued
    assert person.email is not None  # new_code sends none to a person without an address
    channel = smtp(settings)
    letter = code_letter(
        name=person.full_name,
        to=person.email,
        code=code,
        until=now + CODE_LIFETIME,
        url=settings.sign_in_url,
        sender=channel.sender if channel else settings.mail_from,
        now=now,
    )
    try:
        sent = send_now(
            letter,
            f"signin-{person.username}",
            person.email,
            smtp=channel,
            folder=settings.outbox_dir,
        )
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(
            f"the sign-in code of {username} could not be sent: {type(exc).__name__}",
            vi="Chưa gửi được thư chứa mã đăng nhập; hãy thử lại sau ít phút.",
        ) from None
    if not sent:
        raise DeliveryFailed(
            "no mail channel is configured (DONDOC_SMTP_HOST or DONDOC_OUTBOX_DIR)",
            vi="Hệ thống chưa cấu hình gửi thư; hãy liên hệ quản trị để nhận mã đăng nhập.",
        )


def operator_code(settings: Settings, username: str, *, now: datetime, os_user: str) -> str | None:
    """A one-time code for `username`, handed to the operator on the server (the first
    administrator's way in, or anyone's while mail is down); None for a name that cannot
    sign in. Logged as sent from `cli:<os user>`."""
    issued = access.new_code(settings.engine(), username, now=now, address=f"cli:{os_user}")
    return None if issued is None else issued[1]


def sign_in(settings: Settings, username: str, code: str, *, now: datetime, address: str) -> str:
    """A session token for the person, if `code` is their live code (SignInRefused otherwise)."""
    return access.sign_in(settings.engine(), username, code, now=now, address=address)


def session_person(settings: Settings, token: str, *, now: datetime) -> Person | None:
    """Who holds the live session `token`, if anyone."""
    return access.session_person(settings.engine(), token, now=now)


def sign_out(settings: Settings, token: str, *, now: datetime, address: str) -> None:
    access.sign_out(settings.engine(), token, now=now, address=address)


def set_disabled(
    settings: Settings, username: str, disabled: bool, *, by: str, now: datetime
) -> None:
    """An operator disables a person at once, or lets them in again (`by`: the OS user)."""
    access.set_disabled(settings.engine(), username, disabled, by=by, now=now, address=f"cli:{by}")


def grant_start(settings: Settings, username: str, deployment_id: str, *, now: datetime) -> str:
    return access.grant_start(settings.engine(), username, deployment_id, now=now)


def grant_resume(
    settings: Settings, username: str, flow_run_id: str, answer_sha256: str, *, now: datetime
) -> None:
    access.grant_resume(settings.engine(), username, flow_run_id, answer_sha256, now=now)


def record_started_run(settings: Settings, key: str, flow_run_id: str) -> None:
    access.record_started_run(settings.engine(), key, flow_run_id)


def started_runs(settings: Settings, username: str) -> frozenset[str]:
    return access.started_runs(settings.engine(), username)


def run_starter(settings: Settings, flow_run_id: str) -> str | None:
    return access.run_starter(settings.engine(), flow_run_id)


def redeem_start(
    settings: Settings, key: str | None, *, flow_run_id: str, deployment_id: str, now: datetime
) -> str:
    return access.redeem_start(
        settings.engine(), key, flow_run_id=flow_run_id, deployment_id=deployment_id, now=now
    )


def redeem_resume(
    settings: Settings, flow_run_id: str, answer_sha256: str, *, starter: str, now: datetime
) -> str:
    return access.redeem_resume(
        settings.engine(), flow_run_id, answer_sha256, starter=starter, now=now
    )


def sign_in_log(
    settings: Settings, username: str | None = None, *, limit: int = 200
) -> list[Entry]:
    """The last lines of the sign-in log, oldest first: one person's, or everyone's."""
    return access.sign_in_log(settings.engine(), username, limit=limit)

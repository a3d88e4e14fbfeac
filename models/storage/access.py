"""Who is signed in, and what the gate let them do: one-time codes, sessions, the sign-in log
and the grants a run redeems.

Nothing secret is kept: a code is kept as its argon2 hash, a session token and a grant key as
their SHA-256 (each is 128 bits or more of randomness, which a fast hash keeps safe). Every
function takes the moment it acts at, so that tests can move the clock.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine

from models.errors import NotFound, SignInRefused, Unauthorized
from models.rules import lengths
from models.rules.access import (
    CODE_DIGITS,
    CODE_LIFETIME,
    FAILURE_WINDOW,
    GRANT_LIFETIME,
    SESSION_IDLE,
    SESSION_LIFETIME,
    wait_after,
)
from models.rules.workdays import local_date
from models.storage.db import transaction
from models.storage.ledger import record_denial
from models.storage.reference import holder_on
from models.storage.tables import (
    ACCESS_EVENT,
    ACCESS_SESSION,
    ACTOR,
    ADDRESS,
    DIRECTIVE,
    REQUIREMENT,
    RUN_GRANT,
    SIGN_IN_CODE,
    UNIT,
)

# argon2id with OWASP's recommended parameters (19 MiB, two passes, one lane): a code lives ten
# minutes and tries are slowed, so the hash need only make a stolen table useless in that time
# (the library's default takes four times as long and both cores).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# A session's last request is written at most this often: a page makes dozens of calls.
_SEEN_EVERY = SESSION_IDLE / 60
_WRONG = "Mã đăng nhập không đúng, đã dùng hoặc đã hết hạn. Hãy xin mã mới nếu cần."


@dataclass(frozen=True, slots=True)
class Person:
    """A signed-in person as the actor register knows them. `reviews`: their unit leads a
    published directive or receives a lead office's report, so the review desk is theirs."""

    username: str
    full_name: str
    unit_code: str
    role: str
    email: str | None
    reviews: bool


def digest(secret: str) -> str:
    """The SHA-256 kept in place of a session token or a grant key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _log(
    conn: Connection, *, at: datetime, username: str, kind: str, address: str, detail: str = ""
) -> None:
    conn.execute(
        ACCESS_EVENT.insert().values(
            at=at,
            username=username[: lengths.USERNAME],
            kind=kind,
            address=address[:ADDRESS],
            detail=detail,
        )
    )


def _person(
    conn: Connection, username: str, now: datetime
) -> tuple[Person, datetime | None] | None:
    """The person of `username` and the moment they were disabled, if the register has them."""
    row = conn.execute(sa.select(ACTOR).where(ACTOR.c.username == username)).first()
    if row is None:
        return None
    person = Person(
        row.username,
        row.full_name,
        row.unit_code,
        row.role,
        row.email,
        _reviews(conn, row.unit_code, local_date(now)),
    )
    return person, row.disabled_at


def _reviews(conn: Connection, unit_code: str, today: date) -> bool:
    """Whether the staff of `unit_code` may open a review desk: the unit leads a published
    directive or receives a lead office's report, or holds such an office's role `today` as
    its successor (the flow's own check then says what the person may decide)."""
    offices = sa.union(
        sa.select(DIRECTIVE.c.lead_unit_code.label("code")).where(
            DIRECTIVE.c.status == "published"
        ),
        sa.select(REQUIREMENT.c.recipient_code.label("code")),
    ).subquery()
    if conn.execute(sa.select(sa.exists().where(offices.c.code == unit_code))).scalar_one():
        return True
    # most units succeed no one: one query settles them
    if not conn.execute(
        sa.select(sa.exists().where(UNIT.c.successor_code == unit_code))
    ).scalar_one():
        return False
    codes = conn.execute(sa.select(offices.c.code).where(offices.c.code.is_not(None)))
    return any(holder_on(conn, code, today) == unit_code for code in codes.scalars())


def new_code(
    engine: Engine, username: str, *, now: datetime, address: str
) -> tuple[Person, str] | None:
    """A fresh one-time code for `username`, to send to their registered address, with the
    person; earlier codes of theirs lapse. None, with the reason in the sign-in log, for a
    name no one has, a person disabled or without an address: the page says the same in
    every case, so that it tells no one which names exist."""
    with transaction(engine) as conn:
        found = _person(conn, username, now)
        problem = (
            "no such person"
            if found is None
            else "disabled"
            if found[1] is not None
            else "no e-mail address in the register"
            if found[0].email is None
            else None
        )
        if found is None or problem is not None:
            _log(
                conn,
                at=now,
                username=username,
                kind="failed",
                address=address,
                detail=f"code asked: {problem}",
            )
            return None
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        conn.execute(
            SIGN_IN_CODE.update()
            .where(SIGN_IN_CODE.c.username == username, SIGN_IN_CODE.c.used_at.is_(None))
            .where(SIGN_IN_CODE.c.expires_at > now)
            .values(expires_at=now)
        )
        conn.execute(
            SIGN_IN_CODE.insert().values(
                username=username,
                code_hash=_HASHER.hash(code),
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )
        _log(conn, at=now, username=username, kind="code-sent", address=address)
        return found[0], code


def _failures(
    conn: Connection, username: str, address: str, now: datetime
) -> tuple[int, datetime | None]:
    """How many failures from `address` count for `username` now, and the latest of them (the
    name and address as the log keeps them, cut to their columns)."""
    username, address = username[: lengths.USERNAME], address[:ADDRESS]
    since = conn.execute(
        sa.select(sa.func.max(ACCESS_EVENT.c.at)).where(
            ACCESS_EVENT.c.username == username,
            ACCESS_EVENT.c.address == address,
            ACCESS_EVENT.c.kind == "signed-in",
        )
    ).scalar_one()
    start = now - FAILURE_WINDOW if since is None else max(since, now - FAILURE_WINDOW)
    count, latest = conn.execute(
        sa.select(sa.func.count(), sa.func.max(ACCESS_EVENT.c.at)).where(
            ACCESS_EVENT.c.username == username,
            ACCESS_EVENT.c.address == address,
            ACCESS_EVENT.c.kind == "failed",
            ACCESS_EVENT.c.at > start,
        )
    ).one()
    return count, latest


def _code_matches(conn: Connection, username: str, code: str, now: datetime) -> int | None:
    """The id of `username`'s live code that `code` is, if it is one."""
    rows = conn.execute(
        sa.select(SIGN_IN_CODE.c.id, SIGN_IN_CODE.c.code_hash).where(
            SIGN_IN_CODE.c.username == username,
            SIGN_IN_CODE.c.used_at.is_(None),
            SIGN_IN_CODE.c.expires_at > now,
        )
    ).all()
    for row in rows:
        try:
            if _HASHER.verify(row.code_hash, code):
                return int(row.id)
        except (VerificationError, InvalidHashError):
            continue
    return None


def sign_in(engine: Engine, username: str, code: str, *, now: datetime, address: str) -> str:
    """A session token for `username` if `code` is their live one-time code; the code is
    spent. SignInRefused otherwise, or while the wait after repeated failures from `address`
    is not over (then the code is not even tried); each outcome goes to the sign-in log."""
    with transaction(engine) as conn:
        failures, latest = _failures(conn, username, address, now)
        wait = wait_after(failures)
        if latest is not None and now < latest + wait:
            left = int((latest + wait - now).total_seconds()) + 1
            _log(
                conn,
                at=now,
                username=username,
                kind="slowed",
                address=address,
                detail=f"{failures} failures",
            )
            refusal = SignInRefused(
                f"sign-in of {username!r} from {address}: {failures} failures, wait {left} s",
                vi=f"Đã nhập sai nhiều lần. Hãy thử lại sau {left} giây.",
                wait=left,
            )
        else:
            found = _person(conn, username, now)
            spent = (
                None
                if found is None or found[1] is not None
                else _code_matches(conn, username, code, now)
            )
            if spent is None:
                _log(
                    conn,
                    at=now,
                    username=username,
                    kind="failed",
                    address=address,
                    detail="wrong code",
                )
                refusal = SignInRefused(
                    f"sign-in of {username!r} from {address}: wrong code", vi=_WRONG
                )
            else:
                conn.execute(
                    SIGN_IN_CODE.update().where(SIGN_IN_CODE.c.id == spent).values(used_at=now)
                )
                token = secrets.token_urlsafe(32)
                conn.execute(
                    ACCESS_SESSION.insert().values(
                        token_hash=digest(token),
                        username=username,
                        address=address[:ADDRESS],
                        created_at=now,
                        expires_at=now + SESSION_LIFETIME,
                        last_seen_at=now,
                    )
                )
                _log(conn, at=now, username=username, kind="signed-in", address=address)
                return token
    raise refusal


def session_person(engine: Engine, token: str, *, now: datetime) -> Person | None:
    """The person whose live session `token` is: not ended, not lapsed for idleness or age,
    and the person not disabled. None otherwise."""
    with transaction(engine, writes=False) as conn:
        row = conn.execute(
            sa.select(ACCESS_SESSION).where(ACCESS_SESSION.c.token_hash == digest(token))
        ).first()
        if (
            row is None
            or row.ended_at is not None
            or now >= row.expires_at
            or now >= row.last_seen_at + SESSION_IDLE
        ):
            return None
        found = _person(conn, row.username, now)
    if found is None or found[1] is not None:
        return None
    if now - row.last_seen_at >= _SEEN_EVERY:
        with transaction(engine) as conn:
            conn.execute(
                ACCESS_SESSION.update()
                .where(ACCESS_SESSION.c.token_hash == row.token_hash)
                .values(last_seen_at=now)
            )
    return found[0]


def sign_out(engine: Engine, token: str, *, now: datetime, address: str) -> None:
    """End the session of `token`, if it is live, and log it."""
    with transaction(engine) as conn:
        ended = conn.execute(
            ACCESS_SESSION.update()
            .where(
                ACCESS_SESSION.c.token_hash == digest(token), ACCESS_SESSION.c.ended_at.is_(None)
            )
            .values(ended_at=now)
            .returning(ACCESS_SESSION.c.username)
        ).first()
        if ended is not None:
            _log(conn, at=now, username=ended.username, kind="signed-out", address=address)


def set_disabled(
    engine: Engine, username: str, disabled: bool, *, by: str, now: datetime, address: str
) -> None:
    """Disable a person at once (their sessions end, no code is sent to them, none works) or
    let them in again; an administrator's act, logged with who did it."""
    with transaction(engine) as conn:
        changed = conn.execute(
            ACTOR.update()
            .where(ACTOR.c.username == username)
            .values(disabled_at=now if disabled else None)
        ).rowcount
        if not changed:
            raise NotFound(f"{username!r} names no one in the actor register")
        if disabled:
            conn.execute(
                ACCESS_SESSION.update()
                .where(ACCESS_SESSION.c.username == username, ACCESS_SESSION.c.ended_at.is_(None))
                .values(ended_at=now)
            )
        kind = "disabled" if disabled else "enabled"
        _log(conn, at=now, username=username, kind=kind, address=address, detail=f"by {by}")


def grant_start(engine: Engine, username: str, deployment_id: str, *, now: datetime) -> str:
    """The key of a run `username` may start of the deployment, for the run to redeem once."""
    key = secrets.token_urlsafe(24)
    with transaction(engine) as conn:
        conn.execute(
            RUN_GRANT.insert().values(
                kind="start",
                key_hash=digest(key),
                username=username,
                deployment_id=deployment_id,
                created_at=now,
                expires_at=now + GRANT_LIFETIME,
            )
        )
    return key


def grant_resume(
    engine: Engine, username: str, flow_run_id: str, answer_sha256: str, *, now: datetime
) -> None:
    """`username` may resume the run with this one answer (its SHA-256), once."""
    with transaction(engine) as conn:
        conn.execute(
            RUN_GRANT.insert().values(
                kind="resume",
                username=username,
                flow_run_id=flow_run_id,
                input_sha256=answer_sha256,
                created_at=now,
                expires_at=now + GRANT_LIFETIME,
            )
        )


def record_started_run(engine: Engine, key: str, flow_run_id: str) -> None:
    """The run Prefect created for the start whose grant has this key: from now on it is
    among the runs its starter reads, and only it may redeem the grant."""
    with transaction(engine) as conn:
        conn.execute(
            RUN_GRANT.update()
            .where(
                RUN_GRANT.c.key_hash == digest(key),
                RUN_GRANT.c.kind == "start",
                RUN_GRANT.c.flow_run_id.is_(None),
            )
            .values(flow_run_id=flow_run_id)
        )


def started_runs(engine: Engine, username: str) -> frozenset[str]:
    """The ids of the runs `username` started through the gate (one indexed query: the gate
    asks it on every read of a person who is not an administrator)."""
    with transaction(engine, writes=False) as conn:
        return frozenset(
            conn.execute(
                sa.select(RUN_GRANT.c.flow_run_id).where(
                    RUN_GRANT.c.username == username,
                    RUN_GRANT.c.kind == "start",
                    RUN_GRANT.c.flow_run_id.is_not(None),
                )
            ).scalars()
        )


def run_starter(engine: Engine, flow_run_id: str) -> str | None:
    """Who started the run, as the grant it redeemed says; None for a run no grant started."""
    with transaction(engine, writes=False) as conn:
        return conn.execute(
            sa.select(RUN_GRANT.c.username).where(
                RUN_GRANT.c.kind == "start",
                RUN_GRANT.c.flow_run_id == flow_run_id,
                RUN_GRANT.c.redeemed_at.is_not(None),
            )
        ).scalar_one_or_none()


def _refuse(
    engine: Engine,
    *,
    command: str,
    flow_run_id: str,
    reason: str,
    now: datetime,
    actor: str = "?",
) -> Unauthorized:
    record_denial(
        engine,
        actor=actor,
        command=command,
        target=f"flow run {flow_run_id}",
        reason=reason,
        now=now,
    )
    return Unauthorized(
        f"flow run {flow_run_id}: {reason}",
        vi="Lượt chạy này không được tạo qua cổng đăng nhập của dondoc nên không được ghi nhận.",
    )


def redeem_start(
    engine: Engine, key: str | None, *, flow_run_id: str, deployment_id: str, now: datetime
) -> str:
    """Who started this run, from the grant whose key it carries, spent now. Unauthorized,
    with the denial recorded, for a run with no key, or a key that is unknown, spent by
    another run, lapsed, given to another run or for another deployment."""
    with transaction(engine) as conn:
        row = (
            None
            if not key
            else conn.execute(
                sa.select(RUN_GRANT).where(
                    RUN_GRANT.c.key_hash == digest(key), RUN_GRANT.c.kind == "start"
                )
            ).first()
        )
        if row is not None and row.redeemed_at is not None and row.flow_run_id == flow_run_id:
            return str(row.username)  # the same run, started again after a crash
        problem = (
            "carries no grant of the gate"
            if row is None
            else "carries a grant another run spent"
            if row.redeemed_at is not None
            else "carries a lapsed grant"
            if now >= row.expires_at
            else "carries a grant given to another run"
            if row.flow_run_id not in (None, flow_run_id)
            else "carries a grant for another deployment"
            if row.deployment_id != deployment_id
            else None
        )
        if row is not None and problem is None:
            conn.execute(
                RUN_GRANT.update()
                .where(RUN_GRANT.c.id == row.id)
                .values(redeemed_at=now, flow_run_id=flow_run_id)
            )
            return str(row.username)
    raise _refuse(engine, command="start", flow_run_id=flow_run_id, reason=str(problem), now=now)


def redeem_resume(
    engine: Engine, flow_run_id: str, answer_sha256: str, *, starter: str, now: datetime
) -> str:
    """Who resumed this run with this answer, from the grant the gate wrote for it, spent
    now. Unauthorized, with the denial recorded, if the gate wrote none for this answer, or
    wrote it for someone who is neither the run's `starter` nor an administrator."""
    with transaction(engine) as conn:
        row = conn.execute(
            sa.select(RUN_GRANT, ACTOR.c.role)
            .join(ACTOR, ACTOR.c.username == RUN_GRANT.c.username, isouter=True)
            .where(
                RUN_GRANT.c.kind == "resume",
                RUN_GRANT.c.flow_run_id == flow_run_id,
                RUN_GRANT.c.input_sha256 == answer_sha256,
                RUN_GRANT.c.redeemed_at.is_(None),
                RUN_GRANT.c.expires_at > now,
            )
            .order_by(RUN_GRANT.c.id.desc())
            .limit(1)
        ).first()
        if row is not None and (row.username == starter or row.role == "admin"):
            conn.execute(RUN_GRANT.update().where(RUN_GRANT.c.id == row.id).values(redeemed_at=now))
            return str(row.username)
    reason = (
        "was resumed without the gate"
        if row is None
        else f"was resumed by {row.username}, who neither started it nor administers"
    )
    raise _refuse(
        engine,
        command="resume",
        flow_run_id=flow_run_id,
        reason=reason,
        now=now,
        actor="?" if row is None else str(row.username),
    )


class Entry(NamedTuple):
    """One line of the sign-in log."""

    at: datetime
    username: str
    kind: str
    address: str
    detail: str


def sign_in_log(engine: Engine, username: str | None, *, limit: int) -> list[Entry]:
    """The last `limit` lines of the sign-in log, oldest first: one person's, or everyone's."""
    columns = [ACCESS_EVENT.c[name] for name in Entry._fields]
    query = sa.select(*columns).order_by(ACCESS_EVENT.c.id.desc()).limit(limit)
    if username is not None:
        query = query.where(ACCESS_EVENT.c.username == username)
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(query).all()
    return [Entry(*row) for row in reversed(rows)]

"""Who is signed in: a signed, expiring session cookie.

The sign-in itself (which proves the person) is not here; whatever does it gives the browser
`session_cookie(...)`, and every request reads it back with `signed_in`. The cookie holds the
person's user name and role, signed with the gate's secret (itsdangerous: HMAC-SHA1 over the
value and its time), so a browser can neither forge nor alter it, and it stops counting
`max_age` seconds after it was issued."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

from gate.routes import ROUTES

COOKIE = "dondoc_phien"
_SALT = "dondoc.gate.session"


@dataclass(frozen=True, slots=True)
class Person:
    """A signed-in person: their dondoc user name and their role in `gate.routes`."""

    username: str
    role: str


def signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def session_cookie(secret: str, person: Person) -> str:
    """The value of the session cookie for `person`."""
    return signer(secret).dumps({"u": person.username, "r": person.role})


def signed_in(request: Request, secret: str, max_age: int) -> Person | None:
    """The person whose session cookie came with `request`, if it is genuine and not expired."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        data = signer(secret).loads(value, max_age=max_age)
    except BadSignature:  # SignatureExpired included
        return None
    if not isinstance(data, dict):
        return None
    username, role = data.get("u"), data.get("r")
    if not isinstance(username, str) or not username or role not in ROUTES:
        return None
    return Person(username, role)

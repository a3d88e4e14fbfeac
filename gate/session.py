"""Who is signed in: dondoc's own sessions, asked on every request.

The sign-in (`gate.signin`) gives the browser a cookie holding the session token dondoc
issued; every request reads it back and asks `services.access.session_person` who holds it.
Nothing is cached: a session an administrator ended by disabling its person, or that lapsed,
stops counting at the next request. The cookie is HttpOnly (no script reads it), SameSite=
Strict (no other site's page sends it) and Secure when the gate is reached over TLS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

import services.access
from gate.routes import role_of
from models.rules.access import SESSION_LIFETIME
from services.access import Person
from services.settings import Settings

COOKIE = "dondoc_phien"
# A token dondoc issues is 43 characters; anything much longer is not one.
_LONGEST_TOKEN = 256


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in person, their role in `gate.routes`, and the session's token."""

    person: Person
    role: str
    token: str

    @property
    def username(self) -> str:
        return self.person.username


def token_of(request: Request) -> str | None:
    """The session token the request's cookie holds, if it holds one."""
    token = request.cookies.get(COOKIE)
    return token if token and len(token) <= _LONGEST_TOKEN else None


async def signed_in(
    request: Request, settings: Settings, now: Callable[[], datetime]
) -> Visitor | None:
    """Who sent `request`, if its cookie holds a live session of a person not disabled."""
    token = token_of(request)
    if token is None:
        return None
    person = await run_in_threadpool(services.access.session_person, settings, token, now=now())
    if person is None:
        return None
    return Visitor(person, role_of(person.role, reviews=person.reviews), token)


def set_session(response: Response, token: str, *, secure: bool) -> None:
    """Give the browser the session's cookie, which it keeps no longer than dondoc does."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def end_session(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")


def cross_site(request: Request, public_origin: str) -> bool:
    """Whether a request that changes something came from another site's page: the browser
    says so (Sec-Fetch-Site), or names an origin that is neither the gate's public one (where
    people reach it, behind the office's proxy) nor the one the request was addressed to. A
    request with neither header comes from no browser page."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin not in (public_origin, f"{request.url.scheme}://{request.url.netloc}")

"""The sign-in pages, in Vietnamese, served by the gate itself (no script, plain forms).

`/dang-nhap` asks for a user name and has dondoc send that person a one-time code
(`services.access.ask_code`); the page that follows says the same whether or not the name
exists. `/dang-nhap/ma` takes the code (`services.access.sign_in`; also one the operator printed
on the server, typed there with the name: asking again would retire it), sets the session
cookie and opens the UI (at the page the person was sent from, `?tiep=`, if it is one of the
UI's on this site); a wrong code or one tried while slowed down is said in dondoc's words,
with the wait as Retry-After. `/dang-xuat` ends the session. Each step is logged by dondoc with the
client's address; the gate logs neither the code nor the token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import Environment, PackageLoader
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

import services.access
from gate.routes import ADMIN, role_of
from gate.session import cross_site, end_session, set_session, token_of
from models.errors import DeliveryFailed, SignInRefused
from models.rules.access import CODE_LIFETIME
from models.rules.lengths import USERNAME
from models.rules.text import control_character, trim
from services.settings import Settings

PAGE = "/dang-nhap"
CODE_PAGE = "/dang-nhap/ma"
SIGN_OUT = "/dang-xuat"
CROSS_SITE = "Yêu cầu đến từ một trang web khác, không thực hiện."
SENT = "Nếu tên đăng nhập có trong danh sách, mã đã được gửi tới địa chỉ thư đã đăng ký."
# The gate's page of a person's own work, which signing in opens for everyone but
# administrators, and its guide.
WORK_PAGE = "/viec-cua-toi"
GUIDE = "/huong-dan"
# The field (and query parameter) of the page of the UI to open after signing in.
NEXT = "tiep"
UI_START = "/"
_LONGEST_NEXT = 2048
# A sign-in form is two short fields; anything larger is not one.
_LARGEST_FORM = 4096
_PAGES = Environment(loader=PackageLoader("gate", "templates"), autoescape=True)


def client_address(request: Request) -> str:
    """The address the request came from (the office's reverse proxy passes the browser's on
    in X-Forwarded-For, which uvicorn reads from the proxies it is told to trust)."""
    return request.client.host if request.client else "?"


def back_to(value: str | None) -> str:
    """The page to open after signing in: `value` if it is a page of the UI on this site (a
    path under /v2, with its query, as the gate sent the person from it) or the work page,
    else the UI's start; never another site, nor a path a browser would resolve elsewhere."""
    if value == WORK_PAGE:
        return value
    if (
        not value
        or len(value) > _LONGEST_NEXT
        or not (value == "/v2" or value.startswith(("/v2/", "/v2?")))
        or "\\" in value
        or control_character(value, one_line=True)
    ):
        return UI_START
    segments = unquote(urlsplit(value).path).split("/")
    return UI_START if "." in segments or ".." in segments else value


def page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    html = _PAGES.get_template(template).render(minutes=minutes, **values)
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


def _name_page(
    line: str = "", *, status: int = 200, username: str = "", then: str = UI_START
) -> HTMLResponse:
    return page(
        "dang-nhap.html",
        status,
        title="Đăng nhập dondoc",
        line=line,
        refused=status >= 400,
        username=username,
        then=then,
    )


def _code_page(
    username: str, line: str, *, status: int = 200, then: str = UI_START
) -> HTMLResponse:
    return page(
        "nhap-ma.html",
        status,
        title="Nhập mã đăng nhập",
        line=line,
        refused=status >= 400,
        username=username,
        then=then,
    )


async def posted_form(
    request: Request, *, largest: int = _LARGEST_FORM, fields: int = 8
) -> dict[str, str]:
    """The fields of a posted form (the first value of each); empty if it is not one, or is
    larger than `largest` bytes or `fields` fields."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > largest:
            return {}
    try:
        found = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=fields)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {name: values[0] for name, values in found.items()}


def _username(form: dict[str, str]) -> str | None:
    """The user name typed, trimmed; None if it cannot be anyone's."""
    name = trim(form.get("ten", ""))
    if not name or len(name) > USERNAME or control_character(name, one_line=True):
        return None
    return name


class SignIn:
    """The sign-in pages of one gate: dondoc's settings, its clock, the origin people reach
    it at, and whether the cookie is for TLS only."""

    def __init__(
        self, settings: Settings, now: Callable[[], datetime], *, origin: str, secure: bool
    ) -> None:
        self.settings = settings
        self.now = now
        self.origin = origin
        self.secure = secure

    async def name_page(self, request: Request) -> Response:
        return _name_page(then=back_to(request.query_params.get(NEXT)))

    async def code_page(self, request: Request) -> Response:
        """The code's page on its own, for a code the operator handed over."""
        return _code_page("", "", then=back_to(request.query_params.get(NEXT)))

    async def ask(self, request: Request) -> Response:
        if cross_site(request, self.origin):
            return _name_page(CROSS_SITE, status=403)
        form = await posted_form(request)
        username, then = _username(form), back_to(form.get(NEXT))
        if username is None:
            return _name_page("Hãy nhập tên đăng nhập dondoc của mình.", status=400, then=then)
        try:
            await run_in_threadpool(
                services.access.ask_code,
                self.settings,
                username,
                now=self.now(),
                address=client_address(request),
            )
        except DeliveryFailed as failed:
            return _name_page(str(failed.vi), status=503, username=username, then=then)
        return _code_page(username, SENT, then=then)

    async def enter(self, request: Request) -> Response:
        if cross_site(request, self.origin):
            return _name_page(CROSS_SITE, status=403)
        form = await posted_form(request)
        username, then = _username(form), back_to(form.get(NEXT))
        if username is None:
            return _name_page("Hãy nhập tên đăng nhập dondoc của mình.", status=400, then=then)
        try:
            token = await run_in_threadpool(
                services.access.sign_in,
                self.settings,
                username,
                form.get("ma", "").strip(),
                now=self.now(),
                address=client_address(request),
            )
        except SignInRefused as refused:
            response = _code_page(
                username, str(refused.vi), status=429 if refused.wait else 403, then=then
            )
            if refused.wait:
                response.headers["retry-after"] = str(refused.wait)
            return response
        if then == UI_START:
            then = await self._first_page(token)
        opened = RedirectResponse(then, status_code=303)
        set_session(opened, token, secure=self.secure)
        return opened

    async def _first_page(self, token: str) -> str:
        """Where a person lands after signing in: the page of their own work, or the UI for
        administrators."""
        person = await run_in_threadpool(
            services.access.session_person, self.settings, token, now=self.now()
        )
        if person is None or role_of(person.role, reviews=person.reviews) == ADMIN:
            return UI_START
        return WORK_PAGE

    async def sign_out(self, request: Request) -> Response:
        token = token_of(request)
        if token is not None:
            await run_in_threadpool(
                services.access.sign_out,
                self.settings,
                token,
                now=self.now(),
                address=client_address(request),
            )
        response = _name_page("Anh/chị đã đăng xuất.")
        end_session(response, secure=self.secure)
        return response

"""The gate's web service: a reverse proxy to the Prefect server for signed-in people.

Each request is read for its session (`gate.session`), checked against the person's role in
`gate.routes.ROUTES`, and sent on to the Prefect server with the server's auth string; the
answer streams back as it comes. The browser's own cookies and Authorization header never go
upstream, and the auth string never comes back: the UI's settings are answered here, saying
the API needs no credential of its own (Prefect's would make the UI ask for the server's
password and keep it in the browser)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.websockets import WebSocket

from gate.routes import ADMIN, RESUME, ROLE_WORDS, START, STARTS, allowed, matches
from gate.session import Person, signed_in

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Headers that concern one connection, not the request (RFC 9110 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# The browser's host, session and credentials stay at the gate; httpx sets the length.
NOT_UPSTREAM = HOP_BY_HOP | {"host", "cookie", "authorization", "content-length"}
# A request body larger than this is refused: the largest the UI sends is a pasted directive
# (at most 200,000 bytes) in a run's parameters.
MAX_BODY = 4 * 1024 * 1024
# The label that says who started a run; only the gate sets labels under `dondoc.`.
ACTOR_LABEL = "dondoc.actor"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Refusal(Exception):
    """A request the gate does not send on: the status and the Vietnamese line to show."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(line)
        self.status = status
        self.line = line


def _page(title: str, line: str) -> str:
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · dondoc</title></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(line)}</p></body></html>"
    )


def refused(request: Request, status: int, line: str) -> Response:
    """The refusal: `{"detail": line}` for the API (the UI shows a failed call's detail), a
    page in Vietnamese for the UI."""
    if request.url.path == "/api" or request.url.path.startswith("/api/"):
        return JSONResponse({"detail": line}, status_code=status)
    title = "Chưa đăng nhập" if status == 401 else "Không thực hiện được"
    return HTMLResponse(_page(title, line), status_code=status)


class Gate:
    """The proxy's state: the Prefect server, its auth string, the session secret."""

    def __init__(self, *, upstream: str, auth_string: str, secret: str, max_age: int) -> None:
        self.upstream = httpx.URL(upstream)
        self.credential = "Basic " + base64.b64encode(auth_string.encode()).decode()
        self.secret = secret
        self.max_age = max_age
        self.client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(60.0, connect=5.0)
        async with httpx.AsyncClient(timeout=timeout) as client:
            self.client = client
            yield
            self.client = None

    def _client(self) -> httpx.AsyncClient:
        assert self.client is not None, "the gate's lifespan has not started"
        return self.client

    async def _read_upstream(self, path: str) -> httpx.Response:
        return await self._client().get(
            self.upstream.copy_with(path=path), headers={"authorization": self.credential}
        )

    async def http(self, request: Request) -> Response:
        person = signed_in(request, self.secret, self.max_age)
        if person is None:
            return refused(request, 401, "Bạn chưa đăng nhập: hãy đăng nhập dondoc trước.")
        # the path as the Prefect server will see it, decoded, and as it was sent
        path, method = request.scope["path"], request.method
        segments = path.split("/")
        if (
            not allowed(person.role, "GET" if method == "HEAD" else method, path)
            or "." in segments
            or ".." in segments
        ):
            return refused(request, 403, _not_allowed(person, method, path))
        # a page of another site must not act with the person's session
        if method in UNSAFE and request.headers.get("sec-fetch-site") == "cross-site":
            return refused(request, 403, "Yêu cầu đến từ một trang web khác, không thực hiện.")
        try:
            if path == "/ui-settings":
                return await self._ui_settings()
            body = await _body(request)
            if matches(START, method, path):
                body = await self._start(person, path, body)
            elif matches(RESUME, method, path) and person.role != ADMIN:
                await self._own_run(person, path)
            return await self._forward(request, body)
        except Refusal as refusal:
            return refused(request, refusal.status, refusal.line)
        except httpx.TransportError:
            return refused(request, 502, "Máy chủ Prefect không trả lời; thử lại sau ít phút.")

    async def _ui_settings(self) -> Response:
        """Prefect's UI settings, with the API at this gate's `/api` (a path: the UI reaches
        it on whatever address the person opened) and no credential to ask for."""
        upstream = await self._read_upstream("/ui-settings")
        settings = upstream.json()
        settings.update(api_url="/api", auth=None)
        return JSONResponse(settings)

    async def _start(self, person: Person, path: str, body: bytes) -> bytes:
        """A run started through the gate: of a deployment the person's role may start,
        without job variables (the worker would run what they say), labelled with who
        started it whatever labels the request brought."""
        try:
            run: Any = json.loads(body or b"{}")
        except ValueError:
            run = None
        if not isinstance(run, dict):
            raise Refusal(400, "Yêu cầu tạo lượt chạy không đúng định dạng.")
        if person.role != ADMIN:
            if run.get("job_variables"):
                raise Refusal(403, "Không được đặt biến chạy (job variables) khi chạy biểu mẫu.")
            flow = await self._flow_of(path.split("/")[3])
            if flow not in STARTS.get(person.role, ()):
                raise Refusal(
                    403,
                    f"Tài khoản {person.username} ({ROLE_WORDS[person.role]}) không được chạy "
                    f"biểu mẫu {flow}. Nếu cần quyền khác, liên hệ quản trị viên.",
                )
        given = run.get("labels")
        labels = given if isinstance(given, dict) else {}
        run["labels"] = {k: v for k, v in labels.items() if not str(k).startswith("dondoc.")}
        run["labels"][ACTOR_LABEL] = person.username
        return json.dumps(run).encode()

    async def _flow_of(self, deployment_id: str) -> str:
        """The name of the flow a deployment runs."""
        deployment = await self._read_upstream(f"/api/deployments/{deployment_id}")
        if deployment.status_code != 200:
            raise Refusal(404, "Không tìm thấy biểu mẫu này.")
        flow = await self._read_upstream(f"/api/flows/{deployment.json()['flow_id']}")
        return str(flow.json()["name"])

    async def _own_run(self, person: Person, path: str) -> None:
        """People other than administrators resume only the runs they started."""
        run = await self._read_upstream(f"/api/flow_runs/{path.split('/')[3]}")
        if run.status_code != 200:
            raise Refusal(404, "Không tìm thấy lượt chạy này.")
        if (run.json().get("labels") or {}).get(ACTOR_LABEL) != person.username:
            raise Refusal(
                403,
                f"Lượt chạy này không do tài khoản {person.username} bắt đầu, không tiếp tục được.",
            )

    async def _forward(self, request: Request, body: bytes) -> Response:
        headers = [
            (name, value) for name, value in request.headers.items() if name not in NOT_UPSTREAM
        ]
        headers.append(("authorization", self.credential))
        # the bytes the browser sent, which the Prefect server decodes to `path` as uvicorn did
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        query = request.scope["query_string"]
        url = self.upstream.copy_with(raw_path=raw + b"?" + query if query else raw)
        client = self._client()
        upstream = await client.send(
            client.build_request(request.method, url, headers=headers, content=body),
            stream=True,
        )
        response = StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            background=BackgroundTask(upstream.aclose),
        )
        response.raw_headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in upstream.headers.multi_items()
            if name not in HOP_BY_HOP
        ]
        return response


def _not_allowed(person: Person, method: str, path: str) -> str:
    return (
        f"Tài khoản {person.username} ({ROLE_WORDS[person.role]}) không được phép thực hiện "
        f"việc này ({method} {path}). Nếu cần quyền khác, liên hệ quản trị viên."
    )


async def _body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refusal(413, "Nội dung gửi lên quá lớn.")
    return bytes(body)


async def refuse_websocket(websocket: WebSocket) -> None:
    """The UI opens no websocket; the workers' reach the Prefect server directly."""
    await websocket.close(WS_1008_POLICY_VIOLATION)


def create_app(
    *, upstream: str, auth_string: str, secret: str, max_age: int = 8 * 3600
) -> Starlette:
    """The gate in front of the Prefect server at `upstream` (`http://127.0.0.1:4200`), which
    requires `auth_string`; sessions are signed with `secret` and last `max_age` seconds."""
    gate = Gate(upstream=upstream, auth_string=auth_string, secret=secret, max_age=max_age)
    return Starlette(
        routes=[
            Route("/{path:path}", gate.http, methods=METHODS),
            WebSocketRoute("/{path:path}", refuse_websocket),
        ],
        lifespan=gate.lifespan,
    )

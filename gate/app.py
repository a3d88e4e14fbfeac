"""The gate's web service: the sign-in pages, and a reverse proxy to the Prefect server for
signed-in people.

Each request is read for its session (`gate.session`), checked against the person's role in
`gate.routes.ROUTES`, narrowed to the person's own runs where its row says so (`gate.scope`),
and sent on to the Prefect server with the server's auth string; the answer streams back as it
comes. A run a person starts carries a grant dondoc gave for it, and dondoc keeps the run's id
with the grant once Prefect created it; a resume is the starter's (or an administrator's), and
dondoc keeps a grant for the very answer sent, which the flow redeems; an answer that does not
fit the run's form is answered by the gate in Vietnamese and not sent (`gate.answers`). The
browser's own cookies and Authorization header never go upstream, and the auth string never
comes back: the UI's settings are answered here, saying the API needs no credential of its own
(Prefect's would make the UI ask for the server's password and keep it in the browser)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route, WebSocketRoute
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.websockets import WebSocket

import services.access
from gate.answers import mend_line
from gate.refusal import UNREACHABLE, Refusal, is_api, refused
from gate.routes import (
    ADMIN,
    DESK_FLOW,
    OWN_UNIT,
    RECEIVE_FLOW,
    RESUME,
    REVIEW_FLOW,
    ROLE_WORDS,
    START,
    STARTS,
    SUBMIT_FLOW,
    Scope,
    matches,
    row_for,
    unit_code,
)
from gate.scope import MALFORMED, Unscoped, anded, narrowed, own
from gate.session import Visitor, cross_site, signed_in, token_of
from gate.signin import (
    CODE_PAGE,
    CROSS_SITE,
    GUIDE,
    NEXT,
    PAGE,
    SIGN_OUT,
    UI_START,
    WORK_PAGE,
    SignIn,
    back_to,
)
from gate.work import (
    FORM_PAGE,
    REVIEW_PAGE,
    SCREENSHOTS,
    START_PAGE,
    WorkPages,
    submission_form,
    unit_work,
)
from models.errors import InputError
from models.rules.deliverable import canonical_json
from models.rules.workdays import local_date
from services.access import ACTOR_LABEL, GRANT_LABEL
from services.desks import TO_DO
from services.settings import Settings, load_settings

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
# A value Prefect's server replaces before storing it (a workspace variable, a template):
# whoever sends one reads what it holds, and the answer stored is not the one sent.
HYDRATED = "__prefect_kind"
# The states a run may be created in through the gate: not yet begun (the UI sends Scheduled).
NOT_BEGUN = frozenset({"SCHEDULED", "PENDING"})
# What the UI's Run → Custom run sends: a start that is not an administrator's carries nothing
# else that changes how or whether its run goes (another queue, a state the worker skips, tags
# the system's runs carry, a context, a parent run); `_start` checks these fields further.
RUN_BUTTON = frozenset(
    {
        "name",
        "parameters",
        "state",
        "tags",
        "work_queue_name",
        "job_variables",
        "idempotency_key",
        "enforce_parameter_schema",
        "empirical_policy",
        "labels",
    }
)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = "application/json"
NOT_SIGNED_IN = "Bạn chưa đăng nhập: hãy đăng nhập dondoc trước."
# a cookie that no longer opens a session: it lapsed, or its person signed out or was disabled
LAPSED = "Phiên đăng nhập đã hết hạn: hãy tải lại trang và đăng nhập lại."
NO_RUN = "Không tìm thấy lượt chạy này."
NO_ARTIFACT = "Không tìm thấy artifact này."
# An answer the gate reads before passing it on is decoded: these no longer describe it.
REREAD = frozenset({"content-encoding", "content-length"})


class Gate:
    """The proxy's state: the Prefect server and its auth string, dondoc's settings, the
    clock, and the origin people reach the gate at."""

    def __init__(
        self,
        *,
        settings: Settings,
        upstream: str,
        auth_string: str,
        now: Callable[[], datetime],
        origin: str,
    ) -> None:
        self.settings = settings
        self.upstream = httpx.URL(upstream)
        self.credential = "Basic " + base64.b64encode(auth_string.encode()).decode()
        self.now = now
        self.origin = origin
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

    async def read_upstream(self, path: str) -> httpx.Response:
        """A GET of the Prefect server's, with its auth string (the person's rights are the
        caller's to check)."""
        return await self._client().get(
            self.upstream.copy_with(path=path), headers={"authorization": self.credential}
        )

    async def http(self, request: Request) -> Response:
        visitor = await signed_in(request, self.settings, self.now)
        if visitor is None:
            return _sign_in_first(request)
        # the path as the Prefect server will see it, decoded, and as it was sent
        path, method = request.scope["path"], request.method
        segments = path.split("/")
        row = row_for(visitor.role, "GET" if method == "HEAD" else method, path)
        if row is None or "." in segments or ".." in segments:
            return refused(request, 403, _not_allowed(visitor, method, path))
        # a page of another site must not act with the person's session
        if method in UNSAFE and cross_site(request, self.origin):
            return refused(request, 403, CROSS_SITE)
        try:
            if path == "/ui-settings":
                return await self._ui_settings()
            body = await _body(request)
            if row.scope is not None:
                return await self._scoped(request, visitor, row.scope, body)
            if matches(START, method, path):
                body, key = await self._start(visitor, path, body)
                return await self._started(request, body, key)
            if matches(RESUME, method, path):
                rejected = await self._resume(visitor, path, body)
                if rejected is not None:
                    return JSONResponse(rejected)
            return _streamed(await self._send(request, body))
        except Refusal as refusal:
            return refused(request, refusal.status, refusal.line)
        except httpx.TransportError:
            return refused(request, 502, UNREACHABLE)

    async def _scoped(
        self, request: Request, visitor: Visitor, scope: Scope, body: bytes
    ) -> Response:
        """A read of runs, narrowed to those the person started through the gate (a row of
        `gate.routes.READS` says how): a run or artifact of someone else's answers 404, as
        one that does not exist; a list or count holds none of theirs. A list of forms holds
        those the person may start, their own first."""
        if scope.kind == "forms":
            return await self._forms(request, visitor, body)
        runs = await run_in_threadpool(
            services.access.started_runs, self.settings, visitor.username
        )
        if scope.kind == "run":
            if not own(request.scope["path"].split("/")[3], runs):
                raise Refusal(404, NO_RUN)
        elif scope.kind == "artifact":
            return await self._artifact(request.scope["path"].split("/")[3], runs)
        else:
            try:
                body = narrowed(scope, body, runs)
            except Unscoped as unscoped:
                raise Refusal(422, str(unscoped)) from None
            return _streamed(await self._send(request, body, content_type="application/json"))
        return _streamed(await self._send(request, body))

    async def _forms(self, request: Request, visitor: Visitor, body: bytes) -> Response:
        """The deployments list (or count) the UI asks for, of only the forms the person may
        start (`forms_first`), in that order whatever the sort asked; their search still
        applies."""
        asked = _json_object(body, MALFORMED)
        ordered = await self.forms_first(visitor)
        try:
            found = {**asked, "deployments": anded(asked.get("deployments"), "id", ordered)}
        except Unscoped as unscoped:
            raise Refusal(422, str(unscoped)) from None
        if request.scope["path"].endswith("/count"):
            return _streamed(
                await self._send(request, json.dumps(found).encode(), content_type=JSON)
            )
        offset, limit = asked.get("offset") or 0, asked.get("limit")
        if not isinstance(offset, int) or not isinstance(limit, int | None):
            raise Refusal(422, MALFORMED)
        rank = {deployment: n for n, deployment in enumerate(ordered)}
        listed = await self.query_upstream(
            "/api/deployments/filter", {**found, "offset": 0, "limit": max(len(ordered), 1)}
        )
        listed.sort(key=lambda deployment: rank.get(str(deployment["id"]), len(rank)))
        return JSONResponse(listed[offset : None if limit is None else offset + limit])

    async def forms_first(self, visitor: Visitor) -> list[str]:
        """The ids of the deployments the person may start (their role's flows of `STARTS`),
        a clerk's own first: the submission forms of what their unit still has to hand in,
        the most urgent first (a form of something it does not owe would only refuse them),
        then their unit's list, then the review desks, then the lead office's forms of
        reports received by another channel."""
        flows = STARTS.get(visitor.role, {})
        day = local_date(self.now())
        owed = await run_in_threadpool(unit_work, self.settings, visitor.person.unit_code, day)
        names = list(dict.fromkeys(submission_form(i) for i in owed if i.status in TO_DO))
        ordered: list[str] = []
        for flow, only in (
            (SUBMIT_FLOW, names),
            (DESK_FLOW, None),
            (REVIEW_FLOW, None),
            (RECEIVE_FLOW, None),
        ):
            if flow not in flows or only == []:
                continue
            query: dict[str, Any] = {"flows": {"name": {"any_": [flow]}}, "sort": "NAME_ASC"}
            if only is not None:
                query["deployments"] = {"name": {"any_": only}}
            found = await self.query_upstream("/api/deployments/filter", query)
            if only is not None:
                place = {name: n for n, name in enumerate(only)}
                found.sort(key=lambda deployment: place[deployment["name"]])
            ordered += [str(deployment["id"]) for deployment in found]
        return ordered

    async def _artifact(self, artifact_id: str, runs: frozenset[str]) -> Response:
        """An artifact, if it belongs to one of `runs`."""
        try:
            path = f"/api/artifacts/{uuid.UUID(artifact_id)}"
        except ValueError:
            raise Refusal(404, NO_ARTIFACT) from None
        found = await self.read_upstream(path)
        artifact = found.json() if found.status_code == 200 else {}
        if not own(str(artifact.get("flow_run_id")), runs):
            raise Refusal(404, NO_ARTIFACT)
        return Response(found.content, media_type="application/json")

    async def _started(self, request: Request, body: bytes, key: str) -> Response:
        """The run Prefect created for a start, kept with its grant in dondoc: from now on
        it is among the runs its starter reads (if it carries the grant's key: an existing
        run Prefect might answer with is not theirs)."""
        upstream = await self._send(request, body, content_type="application/json")
        try:
            content = await upstream.aread()
        finally:
            await upstream.aclose()
        await self._keep_started(upstream.status_code, content, key)
        return Response(
            content,
            status_code=upstream.status_code,
            headers={
                name: value
                for name, value in upstream.headers.items()
                if name not in HOP_BY_HOP | REREAD
            },
        )

    async def _keep_started(self, status: int, content: bytes, key: str) -> None:
        """Keep with its grant the run Prefect answered a start with (`status`, `content`),
        if it carries the grant's key."""
        if status in (200, 201):
            run = json.loads(content)
            if (run.get("labels") or {}).get(GRANT_LABEL) == key:
                await run_in_threadpool(
                    services.access.record_started_run,
                    self.settings,
                    key,
                    str(uuid.UUID(run["id"])),
                )

    async def start_for(
        self, visitor: Visitor, deployment_id: str, parameters: dict[str, str] | None = None
    ) -> str:
        """A run of the deployment started for the person from the gate's own pages, with
        the checks, grant and labels of a start from the UI's Run button (`_start`), and kept
        as theirs: its id."""
        path = f"/api/deployments/{deployment_id}/create_flow_run"
        run = {
            "parameters": parameters or {},
            "state": {"type": "SCHEDULED"},
            "enforce_parameter_schema": True,
        }
        body, key = await self._start(visitor, path, json.dumps(run).encode())
        created = await self._post_upstream(path, body)
        await self._keep_started(created.status_code, created.content, key)
        if created.status_code != 201:
            raise Refusal(502, "Chưa tạo được lượt chạy; hãy thử lại sau ít phút.")
        return str(uuid.UUID(created.json()["id"]))

    async def resume_for(self, visitor: Visitor, run_id: str, answer: dict[str, Any]) -> str:
        """The answer sent to the person's paused run from the gate's own pages, with the
        checks and grant of a resume from the UI (`_resume`): what the Prefect server said
        (ACCEPT, or REJECT or ABORT when it did not take the answer), or REJECT when the
        answer does not fit the run's form and was not sent."""
        path = f"/api/flow_runs/{run_id}/resume"
        body = json.dumps({"run_input": answer}).encode()
        rejected = await self._resume(visitor, path, body)
        if rejected is not None:
            return str(rejected["status"])
        sent = await self._post_upstream(path, body)
        if sent.status_code not in (200, 201):
            raise Refusal(502, "Chưa gửi được biểu mẫu; hãy thử lại sau ít phút.")
        return str(sent.json().get("status"))

    async def query_upstream(self, path: str, body: dict[str, Any]) -> Any:
        """A read-only POST query of the Prefect server (`/api/.../filter`): its JSON."""
        found = await self._post_upstream(path, json.dumps(body).encode())
        if found.status_code != 200:
            raise Refusal(502, UNREACHABLE)
        return found.json()

    async def _post_upstream(self, path: str, body: bytes) -> httpx.Response:
        return await self._client().post(
            self.upstream.copy_with(path=path),
            content=body,
            headers={"authorization": self.credential, "content-type": "application/json"},
        )

    async def _ui_settings(self) -> Response:
        """Prefect's UI settings, with the API at this gate's `/api` (a path: the UI reaches
        it on whatever address the person opened) and no credential to ask for."""
        upstream = await self.read_upstream("/ui-settings")
        settings = upstream.json()
        settings.update(api_url="/api", auth=None)
        return JSONResponse(settings)

    async def _start(self, visitor: Visitor, path: str, body: bytes) -> tuple[bytes, str]:
        """A run started through the gate: of a deployment the person's role may start, for
        no unit but those it may name, without job variables (the worker would run what they
        say) nor an idempotency key (Prefect would answer with the run that has it, whoever's
        it is); its labels say who started it and the key of the grant dondoc gave for it,
        whatever labels the request brought. The body to send, and the grant's key."""
        run = _json_object(body, "Yêu cầu tạo lượt chạy không đúng định dạng.")
        parameters = run.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise Refusal(400, "Yêu cầu tạo lượt chạy không đúng định dạng.")
        deployment_id = _id_in(path, "Không tìm thấy biểu mẫu này.")
        flow, deployment = await self._flow_of(deployment_id)
        if visitor.role != ADMIN:
            if run.get("job_variables"):
                raise Refusal(403, "Không được đặt biến chạy (job variables) khi chạy biểu mẫu.")
            if run.get("idempotency_key") is not None:
                raise Refusal(403, "Không được đặt khóa idempotency_key khi chạy biểu mẫu.")
            _refuse_unlike_the_run_button(run, deployment)
            _refuse_hydrated(parameters)
            # retries asked for are not given: a refused run is not run again and again
            run.pop("empirical_policy", None)
            units = STARTS.get(visitor.role, {}).get(flow)
            if units is None:
                raise Refusal(
                    403,
                    f"Tài khoản {visitor.username} ({ROLE_WORDS[visitor.role]}) không được "
                    f"chạy biểu mẫu {flow}. Nếu cần quyền khác, liên hệ quản trị viên.",
                )
            named = parameters.get("unit")
            if units == OWN_UNIT and named and unit_code(named) != visitor.person.unit_code:
                raise Refusal(
                    403,
                    f"Tài khoản {visitor.username} thuộc đơn vị {visitor.person.unit_code}, "
                    f"không chạy biểu mẫu thay đơn vị {unit_code(named)} được.",
                )
        key = await run_in_threadpool(
            services.access.grant_start,
            self.settings,
            visitor.username,
            deployment_id,
            now=self.now(),
        )
        given = run.get("labels")
        labels = given if isinstance(given, dict) else {}
        run["labels"] = {k: v for k, v in labels.items() if not str(k).startswith("dondoc.")}
        run["labels"] |= {ACTOR_LABEL: visitor.username, GRANT_LABEL: key}
        return json.dumps(run).encode(), key

    async def _flow_of(self, deployment_id: str) -> tuple[str, dict[str, Any]]:
        """The name of the flow of a deployment the Prefect server holds, and the deployment."""
        deployment = await self.read_upstream(f"/api/deployments/{deployment_id}")
        if deployment.status_code != 200:
            raise Refusal(404, "Không tìm thấy biểu mẫu này.")
        found = deployment.json()
        flow = await self.read_upstream(f"/api/flows/{found['flow_id']}")
        return str(flow.json()["name"]), found

    async def _resume(self, visitor: Visitor, path: str, body: bytes) -> dict[str, Any] | None:
        """A run resumed through the gate: by whoever started it (or an administrator), with
        an answer that fits the form the run waits on, and dondoc keeps a grant for this very
        answer (its SHA-256), which the run redeems. An answer that does not fit is not sent:
        the gate's rejection, in the shape of Prefect's (`_rejected`)."""
        sent = _json_object(body, "Yêu cầu tiếp tục lượt chạy không đúng định dạng.")
        answer = sent.get("run_input")
        if answer is None:
            answer = {}  # what the Prefect server takes a resume without an answer for
        if not isinstance(answer, dict):
            raise Refusal(400, "Yêu cầu tiếp tục lượt chạy không đúng định dạng.")
        run_id = _id_in(path, NO_RUN)
        if visitor.role != ADMIN:
            _refuse_hydrated(answer)
        await self.check_resumer(visitor, run_id)
        # an administrator's values Prefect fills in first are Prefect's to check
        if not _hydrated(answer) and (rejected := await self._rejected(run_id, answer)):
            return rejected
        await run_in_threadpool(
            services.access.grant_resume,
            self.settings,
            visitor.username,
            run_id,
            hashlib.sha256(canonical_json(answer).encode()).hexdigest(),
            now=self.now(),
        )
        return None

    async def _rejected(self, run_id: str, answer: dict[str, Any]) -> dict[str, Any] | None:
        """Prefect's answer to a resume whose answer does not fit the form the run waits on
        (the schema its paused state names, as Prefect's server reads it), with the gate's
        Vietnamese line as the reason, which the UI shows where it shows Prefect's; None when
        the answer fits, or when there is no form to check it against (Prefect answers)."""
        run = await self.read_upstream(f"/api/flow_runs/{run_id}")
        state = (run.json().get("state") or {}) if run.status_code == 200 else {}
        keyset = (state.get("state_details") or {}).get("run_input_keyset") or {}
        if state.get("type") != "PAUSED" or not keyset.get("schema"):
            return None
        form = await self.read_upstream(f"/api/flow_runs/{run_id}/input/{keyset['schema']}")
        try:
            schema = form.json() if form.status_code == 200 else None
        except ValueError:
            return None  # not JSON: Prefect's server says so
        line = mend_line(schema, answer) if isinstance(schema, dict) else None
        if line is None:
            return None
        # as Prefect's server words its own rejection of an answer (abort_details included)
        return {
            "state": state,
            "status": "REJECT",
            "details": {"type": "abort_details", "reason": line},
        }

    async def check_resumer(self, visitor: Visitor, run_id: str) -> None:
        """Refuse a resume by anyone but the run's starter or an administrator."""
        if visitor.role != ADMIN and await self._starter(run_id) != visitor.username:
            raise Refusal(
                403,
                f"Lượt chạy này không do tài khoản {visitor.username} bắt đầu, không tiếp "
                "tục được.",
            )

    async def _starter(self, run_id: str) -> str | None:
        """Who started the run: as dondoc knows it once the run redeemed its grant, until then
        as the label the gate stamped on it."""
        starter = await run_in_threadpool(services.access.run_starter, self.settings, run_id)
        if starter is not None:
            return starter
        run = await self.read_upstream(f"/api/flow_runs/{run_id}")
        if run.status_code != 200:
            raise Refusal(404, NO_RUN)
        label = (run.json().get("labels") or {}).get(ACTOR_LABEL)
        return label if isinstance(label, str) else None

    async def _send(
        self, request: Request, body: bytes, *, content_type: str | None = None
    ) -> httpx.Response:
        """The request sent on to the Prefect server with `body` (of `content_type`, when the
        gate wrote it), and its answer, still streaming."""
        dropped = NOT_UPSTREAM | ({"content-type"} if content_type else set())
        headers = [(name, value) for name, value in request.headers.items() if name not in dropped]
        headers.append(("authorization", self.credential))
        if content_type:
            headers.append(("content-type", content_type))
        # the bytes the browser sent, which the Prefect server decodes to `path` as uvicorn did
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        query = request.scope["query_string"]
        url = self.upstream.copy_with(raw_path=raw + b"?" + query if query else raw)
        client = self._client()
        return await client.send(
            client.build_request(request.method, url, headers=headers, content=body),
            stream=True,
        )


def _streamed(upstream: httpx.Response) -> Response:
    """The Prefect server's answer, passed on as it comes."""
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


def _sign_in_first(request: Request) -> Response:
    """The answer to a request without a live session: for the API, 401 and one line the UI
    shows (a session that lapsed says so); an HTML navigation goes to the sign-in page, which
    comes back to where the person was."""
    if is_api(request):
        return refused(request, 401, LAPSED if token_of(request) else NOT_SIGNED_IN)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method == "GET" and target != UI_START and back_to(target) == target:
        return RedirectResponse(f"{PAGE}?{urlencode({NEXT: target})}", status_code=303)
    return RedirectResponse(PAGE, status_code=303)


def _not_allowed(visitor: Visitor, method: str, path: str) -> str:
    return (
        f"Tài khoản {visitor.username} ({ROLE_WORDS[visitor.role]}) không được phép thực hiện "
        f"việc này ({method} {path}). Nếu cần quyền khác, liên hệ quản trị viên."
    )


def _json_object(body: bytes, problem: str) -> dict[str, Any]:
    try:
        found: Any = json.loads(body or b"{}")
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise Refusal(400, problem)
    return found


def _id_in(path: str, missing: str) -> str:
    """The id a path names (`/api/flow_runs/{id}/...`), as Prefect writes it."""
    try:
        return str(uuid.UUID(path.split("/")[3]))
    except ValueError:
        raise Refusal(404, missing) from None


def _refuse_unlike_the_run_button(run: dict[str, Any], deployment: dict[str, Any]) -> None:
    """Refuse a start that carries more than the UI's Run → Custom run sends: a field not in
    `RUN_BUTTON`, a queue other than the deployment's, a state of a run already begun, tags the
    deployment does not have (the form offers the deployment's own)."""
    state = run.get("state") or {}
    tags = run.get("tags") or []
    unlike = [f for f, value in run.items() if f not in RUN_BUTTON and value not in (None, {}, [])]
    if run.get("work_queue_name") not in (None, deployment.get("work_queue_name")):
        unlike.append("work_queue_name")
    if not isinstance(state, dict) or state.get("type", "SCHEDULED") not in NOT_BEGUN:
        unlike.append("state")
    if not isinstance(tags, list) or not set(map(str, tags)) <= set(deployment.get("tags") or []):
        unlike.append("tags")
    if unlike:
        raise Refusal(
            403,
            f"Không được đặt {unlike[0]} khi chạy biểu mẫu: biểu mẫu chạy theo thiết lập của nó.",
        )


def _hydrated(value: object) -> bool:
    """Whether a value holds one the Prefect server would fill in from its variables or a
    template."""
    if isinstance(value, dict):
        return HYDRATED in value or any(_hydrated(item) for item in value.values())
    if isinstance(value, list):
        return any(_hydrated(item) for item in value)
    return False


def _refuse_hydrated(value: object) -> None:
    """Refuse a value the Prefect server would fill in from its variables or a template."""
    if _hydrated(value):
        raise Refusal(403, "Giá trị gửi lên không được tham chiếu biến hay mẫu của Prefect.")


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
    *,
    settings: Settings,
    upstream: str,
    auth_string: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The gate in front of the Prefect server at `upstream` (`http://127.0.0.1:4201`), which
    requires `auth_string`, signing people in with dondoc's database and mail as `settings`
    say. People reach it at the origin of `settings.sign_in_url`; when that is https, the
    session cookie goes over TLS only. `now` is the clock sessions and codes are judged by."""
    public = urlsplit(settings.sign_in_url)
    origin = f"{public.scheme}://{public.netloc}"
    secure = public.scheme == "https"
    gate = Gate(
        settings=settings, upstream=upstream, auth_string=auth_string, now=now, origin=origin
    )
    signin = SignIn(settings, now, origin=origin, secure=secure)
    work = WorkPages(gate)
    return Starlette(
        routes=[
            Route(PAGE, signin.name_page, methods=["GET"]),
            Route(PAGE, signin.ask, methods=["POST"]),
            Route(CODE_PAGE, signin.code_page, methods=["GET"]),
            Route(CODE_PAGE, signin.enter, methods=["POST"]),
            Route(SIGN_OUT, signin.sign_out, methods=["GET"]),
            Route(WORK_PAGE, work.work, methods=["GET"]),
            Route(START_PAGE, work.start, methods=["POST"]),
            Route(REVIEW_PAGE, work.review, methods=["POST"]),
            Route(f"{FORM_PAGE}/{{run}}", work.form, methods=["GET"]),
            Route(f"{FORM_PAGE}/{{run}}", work.answer, methods=["POST"]),
            Route(GUIDE, work.guide, methods=["GET"]),
            Route(f"{SCREENSHOTS}/{{name}}", work.screenshot, methods=["GET"]),
            Route("/{path:path}", gate.http, methods=METHODS),
            WebSocketRoute("/{path:path}", refuse_websocket),
        ],
        lifespan=gate.lifespan,
    )


def from_environment() -> Starlette:
    """The gate as the environment configures it, for `uvicorn --factory`: dondoc's settings
    (DONDOC_*), the Prefect server at DONDOC_GATE_PREFECT_URL and its auth string in
    PREFECT_API_AUTH_STRING (as every worker has it)."""
    settings = load_settings()
    auth_string = os.environ.get("PREFECT_API_AUTH_STRING", "")
    if not auth_string:
        raise InputError(
            "environment",
            "PREFECT_API_AUTH_STRING",
            None,
            "is not set: the gate sends the Prefect server's auth string with every request",
        )
    return create_app(
        settings=settings, upstream=settings.gate_prefect_url, auth_string=auth_string
    )

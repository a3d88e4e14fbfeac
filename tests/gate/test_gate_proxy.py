"""The gate in front of a real Prefect server that requires its auth string: nobody gets in
without a session, each role reaches only its rows of `gate.routes.ROUTES`, a refused write
changes nothing, the auth string never reaches the browser, and a run started through the
gate carries the name of who started it."""

from __future__ import annotations

import asyncio
import base64
import time

import httpx
import pytest
import websockets
from itsdangerous import TimestampSigner

from gate.app import MAX_BODY, create_app
from gate.routes import STAFF, STARTS
from gate.session import COOKIE, Person, session_cookie
from tests.gate.conftest import (
    ADMINISTRATOR,
    AUTH_STRING,
    CLERK,
    OFFICER,
    OTHER_CLERK,
    POOL,
    SECRET,
    Stack,
    free_port,
)

HTML = {"accept": "text/html"}
JSON = {"content-type": "application/json"}
SECRETS = (AUTH_STRING, base64.b64encode(AUTH_STRING.encode()).decode())


def _start(stack: Stack, person: Person, deployment: str, **body: object) -> str:
    with stack.browser(person) as browser:
        created = browser.post(
            f"/api/deployments/{deployment}/create_flow_run", json={"parameters": {}, **body}
        )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _runs(stack: Stack) -> int:
    return int(stack.prefect.post("/api/flow_runs/count", json={}).json())


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v2/deployments", HTML),
        ("GET", "/", HTML),
        ("GET", "/ui-settings", {}),
        ("GET", "/api/health", {}),
        ("POST", "/api/deployments/filter", {}),
        ("POST", "/api/flow_runs/filter", {}),
    ],
)
def test_anonymous_requests_to_the_ui_and_the_api_are_refused(
    stack: Stack, method: str, path: str, headers: dict[str, str]
) -> None:
    with stack.browser(None) as browser:
        response = browser.request(method, path, headers=headers)
    assert response.status_code == 401
    if path.startswith("/api/"):
        assert response.json() == {"detail": "Bạn chưa đăng nhập: hãy đăng nhập dondoc trước."}
    else:
        assert "Chưa đăng nhập" in response.text
        assert "<html" in response.text


def test_a_forged_session_or_the_servers_own_credential_does_not_get_in(stack: Stack) -> None:
    forged = session_cookie("not-the-gates-secret", ADMINISTRATOR)
    credential = {"authorization": "Basic " + SECRETS[1]}
    with stack.browser(None) as browser:
        assert browser.get("/api/admin/version", headers=credential).status_code == 401
        browser.cookies.set(COOKIE, forged)
        assert browser.get("/api/admin/version").status_code == 401


def test_the_prefect_server_refuses_requests_without_the_auth_string(stack: Stack) -> None:
    upstream = str(stack.prefect.base_url)
    for method, path in (
        ("GET", f"/api/deployments/{stack.submission}"),
        ("POST", "/api/deployments/filter"),
        ("DELETE", f"/api/deployments/{stack.submission}"),
    ):
        response = stack.prefect.request(method, upstream + path, headers={"authorization": ""})
        assert response.status_code == 401, (method, path)
    assert stack.prefect.get(f"/api/deployments/{stack.submission}").status_code == 200


def test_a_clerk_reads_the_deployments_and_the_ui_through_the_gate(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        deployment = browser.get(f"/api/deployments/{stack.submission}")
        listed = browser.post("/api/deployments/filter", json={})
        page = browser.get("/v2/deployments", headers=HTML)
        settings = browser.get("/ui-settings")
    assert deployment.status_code == 200
    assert deployment.json()["name"] == "1c · cam-xuyen-cchc-2024"
    assert listed.status_code == 200
    assert {d["id"] for d in listed.json()} == {stack.submission, stack.publish}
    assert page.status_code == 200 and "<!DOCTYPE html>" in page.text
    # the UI calls the API at the gate and is not told to ask for the server's password
    assert settings.json()["api_url"] == "/api"
    assert settings.json()["auth"] is None
    for response in (deployment, listed, page, settings):
        seen = response.text + str(response.headers)
        assert not any(secret in seen for secret in SECRETS)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("DELETE", "/api/deployments/{deployment}", None),
        ("PATCH", f"/api/work_pools/{POOL}", {"concurrency_limit": 1, "description": "x"}),
        ("PATCH", "/api/deployments/{deployment}", {"job_variables": {"command": "id"}}),
        ("POST", "/api/variables/", {"name": "smtp", "value": "x"}),
        ("POST", "/api/block_types/", {"name": "x", "slug": "x"}),
        ("POST", "/api/deployments/{deployment}/schedules", [{"schedule": {"interval": 60}}]),
        ("POST", "/api/flow_runs/", {"flow_id": "{deployment}"}),
        ("POST", "/api/deployments/{deployment}/create_flow_run/bulk", [{}]),
        ("DELETE", f"/api/work_pools/{POOL}", None),
        ("PATCH", "/api/flow_runs/{deployment}/labels", {"dondoc.actor": "admin.cx"}),
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
    ],
)
def test_a_clerks_writes_outside_their_doors_are_refused_and_change_nothing(
    stack: Stack, method: str, path: str, body: object
) -> None:
    before = (
        stack.prefect.get(f"/api/deployments/{stack.submission}").json(),
        stack.prefect.get(f"/api/work_pools/{POOL}").json(),
        stack.prefect.post("/api/variables/filter", json={}).json(),
        _runs(stack),
    )
    path = path.format(deployment=stack.submission)
    with stack.browser(CLERK) as browser:
        # even with the server's own credential, which the gate does not look at
        response = browser.request(
            method, path, json=body, headers={"authorization": "Basic " + SECRETS[1]}
        )
    assert response.status_code == 403
    line = response.json()["detail"] if path.startswith("/api/") else response.text
    assert "Tài khoản cb.18712 (cán bộ đơn vị) không được phép" in line
    after = (
        stack.prefect.get(f"/api/deployments/{stack.submission}").json(),
        stack.prefect.get(f"/api/work_pools/{POOL}").json(),
        stack.prefect.post("/api/variables/filter", json={}).json(),
        _runs(stack),
    )
    assert after == before


def test_an_administrator_changes_a_work_pool_through_the_gate(stack: Stack) -> None:
    with stack.browser(ADMINISTRATOR) as browser:
        response = browser.patch(f"/api/work_pools/{POOL}", json={"description": "Máy chạy"})
    assert response.status_code == 204
    assert stack.prefect.get(f"/api/work_pools/{POOL}").json()["description"] == "Máy chạy"


def test_a_clerk_starts_neither_the_publishing_form_nor_a_run_with_job_variables(
    stack: Stack,
) -> None:
    runs = _runs(stack)
    with stack.browser(CLERK) as browser:
        publish = browser.post(
            f"/api/deployments/{stack.publish}/create_flow_run", json={"parameters": {}}
        )
        command = browser.post(
            f"/api/deployments/{stack.submission}/create_flow_run",
            json={"parameters": {}, "job_variables": {"command": "sh -c 'env > /tmp/x'"}},
        )
    assert publish.status_code == 403
    assert publish.json()["detail"] == (
        "Tài khoản cb.18712 (cán bộ đơn vị) không được chạy biểu mẫu cong-bo-chi-thi. "
        "Nếu cần quyền khác, liên hệ quản trị viên."
    )
    assert command.status_code == 403
    assert command.json()["detail"].startswith("Không được đặt biến chạy")
    assert _runs(stack) == runs


def test_a_run_started_through_the_gate_carries_who_started_it(stack: Stack) -> None:
    run = _start(
        stack, CLERK, stack.submission, labels={"dondoc.actor": "admin.cx", "ghi-chu": "x"}
    )
    labels = stack.prefect.get(f"/api/flow_runs/{run}").json()["labels"]
    assert labels["dondoc.actor"] == "cb.18712"
    assert labels["ghi-chu"] == "x"
    # the lead office starts the review forms' flows too; an administrator any
    assert _start(stack, OFFICER, stack.submission)
    published = _start(stack, ADMINISTRATOR, stack.publish)
    labels = stack.prefect.get(f"/api/flow_runs/{published}").json()["labels"]
    assert labels["dondoc.actor"] == "admin.cx"


def test_a_clerk_resumes_only_their_own_runs(stack: Stack) -> None:
    run = _start(stack, CLERK, stack.submission)
    before = stack.prefect.get(f"/api/flow_runs/{run}").json()["state"]
    with stack.browser(OTHER_CLERK) as browser:
        other = browser.post(f"/api/flow_runs/{run}/resume", json={"run_input": {}})
    assert other.status_code == 403
    assert "cb.18673" in other.json()["detail"]
    assert stack.prefect.get(f"/api/flow_runs/{run}").json()["state"] == before
    with stack.browser(CLERK) as browser:
        own = browser.post(f"/api/flow_runs/{run}/resume", json={"run_input": {}})
    # sent on: the server itself answers that a run that is not paused cannot resume
    assert own.status_code == 200
    assert own.json()["status"] == "ABORT"


def test_a_write_from_another_site_is_refused(stack: Stack) -> None:
    runs = _runs(stack)
    with stack.browser(CLERK) as browser:
        response = browser.post(
            f"/api/deployments/{stack.submission}/create_flow_run",
            json={"parameters": {}},
            headers={"sec-fetch-site": "cross-site"},
        )
    assert response.status_code == 403
    assert _runs(stack) == runs


def test_websockets_are_refused_even_to_a_signed_in_person(stack: Stack) -> None:
    async def connect() -> None:
        cookie = f"{COOKIE}={session_cookie(SECRET, ADMINISTRATOR)}"
        url = stack.gate_url.replace("http", "ws") + "/api/events/out"
        async with websockets.connect(
            url, subprotocols=["prefect"], additional_headers={"cookie": cookie}
        ):
            pass

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(connect())
    assert refused.value.response.status_code == 403


def test_the_flows_a_role_may_start_are_the_forms_flows() -> None:
    from flows.desk import DESK_FLOW
    from flows.forms import REVIEW_FLOW, SUBMIT_FLOW

    assert set(STARTS[STAFF]) == {SUBMIT_FLOW, DESK_FLOW}
    assert set(STARTS["reviewer"]) == {SUBMIT_FLOW, DESK_FLOW, REVIEW_FLOW}


def test_an_expired_session_does_not_get_in(stack: Stack) -> None:
    # a cookie the gate signed nine hours ago (sessions last eight)
    with pytest.MonkeyPatch.context() as past:
        past.setattr(TimestampSigner, "get_timestamp", lambda _: int(time.time()) - 9 * 3600)
        expired = session_cookie(SECRET, CLERK)
    with stack.browser(None) as browser:
        browser.cookies.set(COOKIE, expired)
        assert browser.get("/api/admin/version").status_code == 401
        browser.cookies.set(COOKIE, session_cookie(SECRET, CLERK))
        assert browser.get("/api/admin/version").status_code == 200


def test_a_path_with_dot_segments_is_refused(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        # decoded, `/api/work_pools/%2e%2e/...` would be a path the table never meant
        response = browser.post("/api/work_pools/%2e%2e/queues/filter", json={})
    assert response.status_code == 403


def test_a_body_larger_than_the_gate_takes_is_refused(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        response = browser.post(
            "/api/deployments/filter", content=b" " * (MAX_BODY + 1), headers=JSON
        )
    assert response.status_code == 413
    assert response.json() == {"detail": "Nội dung gửi lên quá lớn."}


def test_a_prefect_server_that_does_not_answer_is_said_in_one_line() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    app = create_app(upstream=nowhere, auth_string=AUTH_STRING, secret=SECRET)

    async def ask() -> tuple[httpx.Response, httpx.Response]:
        cookies = {COOKIE: session_cookie(SECRET, CLERK)}
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://gate", cookies=cookies
            ) as browser,
        ):
            return (
                await browser.post("/api/deployments/filter", json={}),
                await browser.get("/v2/deployments", headers=HTML),
            )

    api, page = asyncio.run(ask())
    assert api.status_code == page.status_code == 502
    assert api.json() == {"detail": "Máy chủ Prefect không trả lời; thử lại sau ít phút."}
    assert "Máy chủ Prefect không trả lời" in page.text

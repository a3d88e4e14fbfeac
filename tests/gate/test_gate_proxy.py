"""The gate in front of a real Prefect server that requires its auth string: nobody gets in
without a live dondoc session, each role reaches only its rows of `gate.routes.ROUTES`, a
refused write changes nothing, the auth string never reaches the browser, a run started
through the gate carries who started it and the key of dondoc's grant, and only its starter
resumes it, with a grant for the very answer sent."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets

import httpx
import pytest
import sqlalchemy as sa
import websockets

import services.access
from gate.app import MAX_BODY, create_app, from_environment
from gate.routes import ADMIN, REVIEWER, STAFF, STARTS, allowed, role_of
from gate.session import COOKIE
from models.errors import InputError
from models.rules.deliverable import canonical_json
from models.storage.db import transaction
from tests.gate.conftest import (
    ADMINISTRATOR,
    AUTH_STRING,
    CLERK,
    OFFICER,
    OTHER_CLERK,
    POOL,
    Stack,
    free_port,
)

HTML = {"accept": "text/html"}
JSON = {"content-type": "application/json"}
SECRETS = (AUTH_STRING, base64.b64encode(AUTH_STRING.encode()).decode())
# The tests of the proxy alone run on SQLite; those that write to dondoc on both databases.
SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _grants(stack: Stack) -> list[tuple[str, str, str | None, str | None, str | None]]:
    with transaction(stack.engine, writes=False) as conn:
        return [
            tuple(row)  # type: ignore[misc]
            for row in conn.execute(
                sa.text(
                    "SELECT kind, username, deployment_id, flow_run_id, input_sha256 "
                    "FROM run_grant ORDER BY id"
                )
            )
        ]


@SQLITE
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/deployments/filter"),
        ("POST", "/api/flow_runs/filter"),
        ("GET", "/api/health"),
    ],
)
def test_anonymous_api_requests_are_refused(stack: Stack, method: str, path: str) -> None:
    with stack.browser() as browser:
        response = browser.request(method, path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Bạn chưa đăng nhập: hãy đăng nhập dondoc trước."}


@SQLITE
@pytest.mark.parametrize(
    ("path", "then"),
    [
        ("/v2/deployments", "/dang-nhap?tiep=%2Fv2%2Fdeployments"),
        ("/", "/dang-nhap"),
        ("/ui-settings", "/dang-nhap"),
    ],
)
def test_anonymous_ui_requests_are_sent_to_the_sign_in_page(
    stack: Stack, path: str, then: str
) -> None:
    with stack.browser() as browser:
        response = browser.get(path, headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == then


@SQLITE
def test_a_made_up_token_or_the_servers_own_credential_does_not_get_in(stack: Stack) -> None:
    credential = {"authorization": "Basic " + SECRETS[1]}
    with stack.browser() as browser:
        assert browser.get("/api/admin/version", headers=credential).status_code == 401
        browser.cookies.set(COOKIE, secrets.token_urlsafe(32))
        assert browser.get("/api/admin/version").status_code == 401


@SQLITE
def test_the_prefect_server_refuses_requests_without_the_auth_string(stack: Stack) -> None:
    prefect = stack.prefect.client
    for method, path in (
        ("GET", f"/api/deployments/{stack.submission}"),
        ("POST", "/api/deployments/filter"),
        ("DELETE", f"/api/deployments/{stack.submission}"),
    ):
        response = prefect.request(method, path, headers={"authorization": ""})
        assert response.status_code == 401, (method, path)
    assert prefect.get(f"/api/deployments/{stack.submission}").status_code == 200


@SQLITE
def test_a_clerk_reads_the_deployments_and_the_ui_through_the_gate(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        deployment = browser.get(f"/api/deployments/{stack.submission}")
        listed = browser.post("/api/deployments/filter", json={})
        page = browser.get("/v2/deployments", headers=HTML)
        settings = browser.get("/ui-settings")
    assert deployment.status_code == 200
    assert deployment.json()["name"] == "1c · cam-xuyen-cchc-2024"
    assert listed.status_code == 200
    # the forms the clerk may start: their unit's submission form, then its list
    assert [d["id"] for d in listed.json()] == [stack.submission, stack.desk]
    assert page.status_code == 200 and "<!DOCTYPE html>" in page.text
    # the UI calls the API at the gate and is not told to ask for the server's password
    assert settings.json()["api_url"] == "/api"
    assert settings.json()["auth"] is None
    for response in (deployment, listed, page, settings):
        seen = response.text + str(response.headers)
        assert not any(secret in seen for secret in SECRETS)


def test_roles_come_from_the_register_and_the_directives(stack: Stack) -> None:
    def role(username: str) -> str:
        person = services.access.session_person(
            stack.settings, stack.session(username), now=stack.clock.now()
        )
        assert person is not None
        return role_of(person.role, reviews=person.reviews)

    assert role(CLERK) == STAFF
    assert role(OFFICER) == REVIEWER  # the seed directive's lead office
    assert role(ADMINISTRATOR) == ADMIN


@SQLITE
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
    prefect = stack.prefect

    def state() -> tuple[object, ...]:
        return (
            prefect.client.get(f"/api/deployments/{stack.submission}").json(),
            prefect.client.get(f"/api/work_pools/{POOL}").json(),
            prefect.client.post("/api/variables/filter", json={}).json(),
            prefect.runs(),
            _grants(stack),
        )

    before = state()
    path = path.format(deployment=stack.submission)
    with stack.browser(CLERK) as browser:
        # even with the server's own credential, which the gate does not look at
        response = browser.request(
            method, path, json=body, headers={"authorization": "Basic " + SECRETS[1]}
        )
    assert response.status_code == 403
    line = response.json()["detail"] if path.startswith("/api/") else response.text
    assert "Tài khoản cb.18712 (cán bộ đơn vị) không được phép" in line
    assert state() == before


@SQLITE
def test_an_administrator_changes_a_work_pool_through_the_gate(stack: Stack) -> None:
    with stack.browser(ADMINISTRATOR) as browser:
        response = browser.patch(f"/api/work_pools/{POOL}", json={"description": "Máy chạy"})
    assert response.status_code == 204
    assert stack.prefect.client.get(f"/api/work_pools/{POOL}").json()["description"] == "Máy chạy"


def test_a_clerk_starts_no_form_that_is_not_theirs(stack: Stack) -> None:
    runs = stack.prefect.runs()
    with stack.browser(CLERK) as browser:

        def start(deployment: str, **body: object) -> httpx.Response:
            return browser.post(
                f"/api/deployments/{deployment}/create_flow_run",
                json={"parameters": {}, **body},
            )

        publish = start(stack.publish)
        review = start(stack.review)
        command = start(stack.submission, job_variables={"command": "sh -c 'env > /tmp/x'"})
        # Prefect would answer with the run that has the key, whoever started it
        keyed = start(stack.submission, idempotency_key="scheduled-x")
        other_unit = start(stack.desk, parameters={"unit": "18673"})
        for_another = start(
            stack.submission,
            parameters={"unit": "18673 · Xã Cẩm Thạch", "period": "2024-Q1"},
        )
        variable = start(
            stack.submission,
            parameters={
                "narrative": {"__prefect_kind": "workspace_variable", "variable_name": "x"}
            },
        )
    assert publish.status_code == review.status_code == 403
    assert publish.json()["detail"] == (
        "Tài khoản cb.18712 (cán bộ đơn vị) không được chạy biểu mẫu cong-bo-chi-thi. "
        "Nếu cần quyền khác, liên hệ quản trị viên."
    )
    assert command.status_code == 403
    assert command.json()["detail"].startswith("Không được đặt biến chạy")
    assert keyed.status_code == 403
    assert keyed.json()["detail"] == "Không được đặt khóa idempotency_key khi chạy biểu mẫu."
    for refused in (other_unit, for_another):
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            "Tài khoản cb.18712 thuộc đơn vị 18712, không chạy biểu mẫu thay đơn vị 18673 được."
        )
    assert variable.status_code == 403
    assert stack.prefect.runs() == runs
    assert _grants(stack) == []


@SQLITE
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("work_queue_name", "hang-doi-khac"),  # a queue no worker polls: the run never starts
        ("state", {"type": "RUNNING"}),  # a state the worker would never pick up
        ("state", {"type": "COMPLETED"}),
        ("tags", ["scheduled"]),  # the system's own runs carry it; the deployment does not
        ("context", {"khoa": "x"}),
        ("parent_task_run_id", "0b1c9f4e-7d2a-4f7e-9d8c-3a6b5e4f2d1c"),
        ("infrastructure_document_id", "0b1c9f4e-7d2a-4f7e-9d8c-3a6b5e4f2d1c"),
    ],
)
def test_a_clerk_starts_a_run_only_as_the_forms_run_button_does(
    stack: Stack, field: str, value: object
) -> None:
    """A start that is not an administrator's carries what the UI's Run → Custom run sends
    and nothing else that changes how or whether the run goes: another queue, another state,
    tags, a context, a parent run or an infrastructure document are refused, and nothing is
    created."""
    runs = stack.prefect.runs()
    with stack.browser(CLERK) as browser:
        refused = browser.post(
            f"/api/deployments/{stack.submission}/create_flow_run",
            json={"parameters": {}, field: value},
        )
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"] == (
        f"Không được đặt {field} khi chạy biểu mẫu: biểu mẫu chạy theo thiết lập của nó."
    )
    assert stack.prefect.runs() == runs
    assert _grants(stack) == []


@SQLITE
def test_a_start_as_the_ui_sends_it_runs_on_the_deployments_own_settings(stack: Stack) -> None:
    """What the UI's Custom run sends is taken, and retries a start asks for are not: a
    refused run is not run again and again."""
    deployment = stack.prefect.client.get(f"/api/deployments/{stack.submission}").json()
    assert deployment["tags"]  # the form offers them, and sends them back
    with stack.browser(CLERK) as browser:
        created = browser.post(
            f"/api/deployments/{stack.submission}/create_flow_run",
            json={
                "name": "nop-bao-cao",
                "work_queue_name": deployment["work_queue_name"],
                "state": {"type": "SCHEDULED", "message": "Run from the Prefect UI"},
                "tags": deployment["tags"],
                "job_variables": {},
                "enforce_parameter_schema": True,
                "empirical_policy": {"retries": 50, "retry_delay": 1},
                "parameters": {},
            },
        )
    assert created.status_code == 201, created.text
    run = stack.prefect.client.get(f"/api/flow_runs/{created.json()['id']}").json()
    assert run["state"]["type"] == "SCHEDULED"
    assert not run["empirical_policy"]["retries"]


def test_a_run_started_through_the_gate_carries_who_started_it_and_its_grant(
    stack: Stack,
) -> None:
    with stack.browser(CLERK) as browser:
        created = browser.post(
            f"/api/deployments/{stack.submission}/create_flow_run",
            json={
                # labels brought along count for nothing
                "parameters": {},
                "labels": {"dondoc.actor": ADMINISTRATOR, "dondoc.grant": "x", "ghi-chu": "x"},
            },
        )
    assert created.status_code == 201, created.text
    run = stack.prefect.client.get(f"/api/flow_runs/{created.json()['id']}").json()
    labels = run["labels"]
    assert labels["dondoc.actor"] == CLERK
    assert labels["ghi-chu"] == "x"
    # dondoc keeps the run's id with its grant as soon as Prefect created it
    assert _grants(stack) == [("start", CLERK, stack.submission, run["id"], None)]
    with transaction(stack.engine, writes=False) as conn:
        kept = conn.execute(sa.text("SELECT key_hash FROM run_grant")).scalar_one()
    assert kept == hashlib.sha256(labels["dondoc.grant"].encode()).hexdigest()
    # the run proves who started it by redeeming the key, once
    redeemed = services.access.redeem_start(
        stack.settings,
        labels["dondoc.grant"],
        flow_run_id=run["id"],
        deployment_id=run["deployment_id"],
        now=stack.clock.now(),
    )
    assert redeemed == CLERK
    # the lead office starts the review desk and looks at another unit's list; an
    # administrator starts any form
    stack.start(OFFICER, stack.review)
    stack.start(OFFICER, stack.desk, parameters={"unit": "18673"})
    stack.start(CLERK, stack.desk, parameters={"unit": "18712"})
    published = stack.start(ADMINISTRATOR, stack.publish)
    labels = stack.prefect.client.get(f"/api/flow_runs/{published}").json()["labels"]
    assert labels["dondoc.actor"] == ADMINISTRATOR


def test_only_the_runs_starter_or_an_administrator_resumes_it(stack: Stack) -> None:
    run = stack.start(CLERK, stack.submission)
    answer = {"period": "2024-Q1 · Quý I/2024", "figures": {"leaflets": 3}}
    before = stack.prefect.client.get(f"/api/flow_runs/{run}").json()["state"]
    grants = _grants(stack)
    with stack.browser(OTHER_CLERK) as browser:
        other = browser.post(f"/api/flow_runs/{run}/resume", json={"run_input": answer})
    assert other.status_code == 403
    assert other.json()["detail"] == (
        "Lượt chạy này không do tài khoản cb.18673 bắt đầu, không tiếp tục được."
    )
    assert stack.prefect.client.get(f"/api/flow_runs/{run}").json()["state"] == before
    assert _grants(stack) == grants
    with stack.browser(CLERK) as browser:
        hydrated = browser.post(
            f"/api/flow_runs/{run}/resume",
            json={"run_input": {"period": {"__prefect_kind": "jinja", "template": "{{ 1 }}"}}},
        )
        own = browser.post(f"/api/flow_runs/{run}/resume", json={"run_input": answer})
    assert hydrated.status_code == 403
    # sent on: the server itself answers that a run that is not paused cannot resume
    assert own.status_code == 200
    assert own.json()["status"] == "ABORT"
    digest = hashlib.sha256(canonical_json(answer).encode()).hexdigest()
    assert _grants(stack)[-1] == ("resume", CLERK, None, run, digest)
    with stack.browser(ADMINISTRATOR) as browser:
        assert browser.post(f"/api/flow_runs/{run}/resume", json={}).status_code == 200
    assert _grants(stack)[-1][:2] == ("resume", ADMINISTRATOR)


@SQLITE
def test_once_the_run_redeemed_its_grant_dondoc_says_who_started_it(stack: Stack) -> None:
    run = stack.start(CLERK, stack.submission)
    labels = stack.prefect.client.get(f"/api/flow_runs/{run}").json()["labels"]
    services.access.redeem_start(
        stack.settings,
        labels["dondoc.grant"],
        flow_run_id=run,
        deployment_id=stack.submission,
        now=stack.clock.now(),
    )
    # a label changed on the server (by whoever reaches it) no longer decides
    changed = stack.prefect.client.patch(
        f"/api/flow_runs/{run}/labels", json={"dondoc.actor": OTHER_CLERK}
    )
    assert changed.status_code == 204
    with stack.browser(OTHER_CLERK) as browser:
        assert browser.post(f"/api/flow_runs/{run}/resume", json={}).status_code == 403
    with stack.browser(CLERK) as browser:
        assert browser.post(f"/api/flow_runs/{run}/resume", json={}).status_code == 200


@SQLITE
def test_a_write_from_another_site_is_refused(stack: Stack) -> None:
    runs = stack.prefect.runs()
    with stack.browser(CLERK) as browser:
        for headers in ({"sec-fetch-site": "cross-site"}, {"origin": "https://ke-gian.example"}):
            response = browser.post(
                f"/api/deployments/{stack.submission}/create_flow_run",
                json={"parameters": {}},
                headers=headers,
            )
            assert response.status_code == 403
        same = browser.post("/api/deployments/filter", json={}, headers={"origin": stack.url})
    assert same.status_code == 200
    assert stack.prefect.runs() == runs


@SQLITE
def test_websockets_are_refused_even_to_a_signed_in_person(stack: Stack) -> None:
    async def connect() -> None:
        cookie = f"{COOKIE}={stack.session(ADMINISTRATOR)}"
        url = stack.url.replace("http", "ws") + "/api/events/out"
        async with websockets.connect(
            url, subprotocols=["prefect"], additional_headers={"cookie": cookie}
        ):
            pass

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(connect())
    assert refused.value.response.status_code == 403


def test_the_flows_a_role_may_start_are_the_forms_flows() -> None:
    from flows.desk import DESK_FLOW
    from flows.forms import PUBLISH_DEPLOYMENT, REVIEW_FLOW, SUBMIT_FLOW, code_of
    from flows.received import RECEIVE_FLOW

    assert set(STARTS[STAFF]) == {SUBMIT_FLOW, DESK_FLOW}
    assert set(STARTS[REVIEWER]) == {SUBMIT_FLOW, DESK_FLOW, REVIEW_FLOW, RECEIVE_FLOW}
    assert PUBLISH_DEPLOYMENT.split("/")[0] not in STARTS[REVIEWER]
    assert code_of("18679 · Xã Yên Hòa") == "18679"


def test_a_clerk_opens_an_artifact_of_a_runs_page() -> None:
    """The run page's Artifacts tab opens one artifact by its id (the unit's own list, in
    Chromium): the same reading the tab's list already allows."""
    for role in (STAFF, REVIEWER):
        assert allowed(role, "GET", "/api/artifacts/694a6826-d415-42ba-a8a0-3ea224b1b0f9")
        assert not allowed(role, "DELETE", "/api/artifacts/694a6826-d415-42ba-a8a0-3ea224b1b0f9")


@SQLITE
def test_a_path_with_dot_segments_is_refused(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        # decoded, `/api/work_pools/%2e%2e/...` would be a path the table never meant
        response = browser.post("/api/work_pools/%2e%2e/queues/filter", json={})
    assert response.status_code == 403


@SQLITE
def test_a_body_larger_than_the_gate_takes_is_refused(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        response = browser.post(
            "/api/deployments/filter", content=b" " * (MAX_BODY + 1), headers=JSON
        )
    assert response.status_code == 413
    assert response.json() == {"detail": "Nội dung gửi lên quá lớn."}


@SQLITE
def test_a_prefect_server_that_does_not_answer_is_said_in_one_line(stack: Stack) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    app = create_app(settings=stack.settings, upstream=nowhere, auth_string=AUTH_STRING)
    cookies = {COOKIE: stack.session(CLERK)}

    async def ask() -> tuple[httpx.Response, httpx.Response]:
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


@SQLITE
def test_the_gate_is_configured_from_the_environment(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_DATABASE_URL", stack.settings.database_url)
    monkeypatch.setenv("DONDOC_GATE_PREFECT_URL", str(stack.prefect.client.base_url))
    monkeypatch.delenv("PREFECT_API_AUTH_STRING", raising=False)
    with pytest.raises(InputError) as missing:
        from_environment()
    assert missing.value.field == "PREFECT_API_AUTH_STRING"
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", AUTH_STRING)
    app = from_environment()
    cookies = {COOKIE: stack.session(CLERK)}

    async def ask() -> httpx.Response:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://gate", cookies=cookies
            ) as browser,
        ):
            return await browser.get(f"/api/deployments/{stack.submission}")

    assert asyncio.run(ask()).status_code == 200

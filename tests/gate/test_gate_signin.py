"""Signing in through the gate over HTTP, on both databases, with a real SMTP server: a code
asked on the Vietnamese page goes to the registered address and opens the UI and the API;
wrong codes are slowed and logged without shutting the owner out; a disabled person's live
cookie stops counting at once; signing out ends the session; another site cannot sign anyone
in; and after a sign-in, neither the code nor the session token is in clear in Prefect's
database, dondoc's database or the logs."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from html import escape
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa

import services.access
from gate.app import create_app
from gate.session import COOKIE
from gate.signin import SENT
from models.rules.access import FREE_FAILURES, LONGEST_WAIT, SESSION_IDLE
from models.storage.db import transaction
from tests.gate.conftest import ADMINISTRATOR, AUTH_STRING, CLERK, HERE, Stack
from tests.smtp import settings_for

HTML = {"accept": "text/html"}
SIGNED_IN = "/dang-nhap/ma"


def _browser(stack: Stack) -> httpx.Client:
    # what a browser sends with a form of the gate's own page
    return httpx.Client(base_url=stack.url, timeout=60, headers={"origin": stack.url})


def _letter_code(stack: Stack, to: str = "vanhoa.18712@camxuyen.example") -> str:
    ((rcpt, letter),) = stack.smtp.inbox.received[-1:]
    assert rcpt == [to]
    text = letter.get_body(("plain",)).get_content()
    found = re.search(r"Mã đăng nhập dondoc của anh/chị là: (\d{6})", text)
    assert found is not None, text
    return found.group(1)


def _ask(browser: httpx.Client, username: str) -> httpx.Response:
    return browser.post("/dang-nhap", data={"ten": username})


def _enter(browser: httpx.Client, username: str, code: str) -> httpx.Response:
    return browser.post(SIGNED_IN, data={"ten": username, "ma": code})


def _log(stack: Stack, username: str = CLERK) -> list[tuple[str, str]]:
    entries = services.access.sign_in_log(stack.settings, username)
    return [(entry.kind, entry.address) for entry in entries]


def _signed_in(stack: Stack, browser: httpx.Client) -> str:
    """Sign CLERK in on the pages, with the code from the letter: the session's token."""
    assert _ask(browser, CLERK).status_code == 200
    opened = _enter(browser, CLERK, _letter_code(stack))
    assert opened.status_code == 303, opened.text
    return str(browser.cookies[COOKIE])


def test_a_person_signs_in_with_the_code_from_their_mailbox_and_the_ui_opens(
    stack: Stack,
) -> None:
    with _browser(stack) as browser:
        anonymous = browser.get("/v2/deployments", headers=HTML)
        form = browser.get("/dang-nhap")
        asked = _ask(browser, CLERK)
        code = _letter_code(stack)
        opened = _enter(browser, CLERK, code)
        page = browser.get("/v2/deployments", headers=HTML)
        api = browser.post("/api/deployments/filter", json={})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/dang-nhap?tiep=%2Fv2%2Fdeployments"
    assert form.status_code == 200
    assert 'name="ten"' in form.text and "Tên đăng nhập dondoc" in form.text
    assert asked.status_code == 200
    assert SENT in asked.text and 'name="ma"' in asked.text
    assert opened.status_code == 303 and opened.headers["location"] == "/viec-cua-toi"
    cookie = opened.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=strict", "path=/"):
        assert attribute in cookie
    assert "secure" not in cookie  # this gate is reached over plain HTTP
    assert page.status_code == 200 and "<!DOCTYPE html>" in page.text
    assert api.status_code == 200
    assert _log(stack) == [("code-sent", HERE), ("signed-in", HERE)]


def test_the_first_administrator_gets_in_with_the_code_printed_on_the_server(
    stack: Stack,
) -> None:
    code = services.access.operator_code(
        stack.settings, ADMINISTRATOR, now=stack.clock.now(), os_user="root"
    )
    assert code is not None
    with _browser(stack) as browser:
        page = browser.get(SIGNED_IN)
        opened = _enter(browser, ADMINISTRATOR, code)
        variables = browser.post("/api/variables/filter", json={})
    assert page.status_code == 200
    assert 'name="ten"' in page.text and 'name="ma"' in page.text
    assert opened.status_code == 303
    assert variables.status_code == 200  # an administrator's door
    assert _log(stack, ADMINISTRATOR) == [("code-sent", "cli:root"), ("signed-in", HERE)]


def test_a_name_no_one_has_reads_the_same_page_and_gets_no_letter(stack: Stack) -> None:
    with _browser(stack) as browser:
        stranger = _ask(browser, "nguoi.la")
        empty = _ask(browser, "  ")
    assert stranger.status_code == 200 and SENT in stranger.text
    assert stack.smtp.inbox.received == []
    assert empty.status_code == 400
    assert "Hãy nhập tên đăng nhập" in empty.text


def test_mail_that_cannot_go_is_said_in_vietnamese(stack: Stack) -> None:
    stack.smtp.stop()
    with _browser(stack) as browser:
        asked = _ask(browser, CLERK)
    assert asked.status_code == 503
    assert "Chưa gửi được thư chứa mã đăng nhập; hãy thử lại sau ít phút." in asked.text


def test_fifty_wrong_codes_are_slowed_and_logged_and_the_right_one_still_works(
    stack: Stack,
) -> None:
    with _browser(stack) as browser:
        assert _ask(browser, CLERK).status_code == 200
        code = _letter_code(stack)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        answers = []
        for _ in range(50):
            stack.clock.ahead += timedelta(seconds=1)
            answers.append(_enter(browser, CLERK, wrong))
        right_too_soon = _enter(browser, CLERK, code)
        stack.clock.ahead += LONGEST_WAIT
        right = _enter(browser, CLERK, code)
        api = browser.get("/api/admin/version")
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) == {403, 429}  # every one refused
    assert statuses[:FREE_FAILURES] == [403] * FREE_FAILURES
    slowed = [answer for answer in answers if answer.status_code == 429]
    assert len(slowed) >= 30
    for answer in slowed:
        wait = int(answer.headers["retry-after"])
        assert 0 < wait <= LONGEST_WAIT.total_seconds()
        assert f"Hãy thử lại sau {wait} giây." in answer.text
    assert right_too_soon.status_code == 429
    assert right.status_code == 303 and api.status_code == 200
    kinds = [kind for kind, _ in _log(stack)]
    assert kinds.count("failed") == 50 - len(slowed)
    assert kinds.count("slowed") == len(slowed) + 1
    assert kinds[-1] == "signed-in"


def test_a_disabled_persons_live_cookie_is_refused_at_once(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        assert browser.get("/api/admin/version").status_code == 200
        services.access.set_disabled(stack.settings, CLERK, True, by="root", now=stack.clock.now())
        api = browser.get("/api/admin/version")
        page = browser.get("/v2/deployments", headers=HTML)
    assert api.status_code == 401
    assert page.status_code == 303
    assert page.headers["location"] == "/dang-nhap?tiep=%2Fv2%2Fdeployments"


def test_a_lapsed_session_says_so_and_signing_in_again_comes_back_to_the_page(
    stack: Stack,
) -> None:
    where = "/v2/runs/flow-run/694a6826-d415-42ba-a8a0-3ea224b1b0f9?tab=Logs"
    with _browser(stack) as browser:
        _signed_in(stack, browser)
        assert browser.get("/api/admin/version").status_code == 200
        stack.clock.ahead += SESSION_IDLE + timedelta(minutes=1)
        api = browser.post("/api/flow_runs/filter", json={})
        page = browser.get(where, headers=HTML)
        form = browser.get(page.headers["location"])
        asked = browser.post("/dang-nhap", data={"ten": CLERK, "tiep": where})
        opened = browser.post(
            SIGNED_IN, data={"ten": CLERK, "ma": _letter_code(stack), "tiep": where}
        )
        again = browser.post("/api/flow_runs/filter", json={})
    # the UI shows a failed call's detail: the person learns why, in one line
    assert api.status_code == 401
    assert api.json() == {
        "detail": "Phiên đăng nhập đã hết hạn: hãy tải lại trang và đăng nhập lại."
    }
    assert page.status_code == 303
    assert page.headers["location"] == "/dang-nhap?" + urlencode({"tiep": where})
    assert f'name="tiep" value="{escape(where)}"' in form.text
    assert f'name="tiep" value="{escape(where)}"' in asked.text
    assert opened.status_code == 303 and opened.headers["location"] == where
    assert again.status_code == 200


def test_signing_in_opens_no_page_but_the_uis_on_this_site(stack: Stack) -> None:
    elsewhere = [
        "https://ke-gian.example/v2/",
        "//ke-gian.example/v2/",
        "/\\ke-gian.example",
        "/v2/../dang-xuat",
        "/v2/%2e%2e/dang-xuat",
        "/api/admin/version",
        "/v2/\r\nSet-Cookie: x=1",
    ]
    opened = {}
    with _browser(stack) as browser:
        for target in [*elsewhere, "/v2/deployments"]:
            code = services.access.operator_code(
                stack.settings, CLERK, now=stack.clock.now(), os_user="root"
            )
            form = browser.get(SIGNED_IN, params={"tiep": target})
            assert ('name="tiep"' in form.text) == (target == "/v2/deployments"), target
            entered = browser.post(SIGNED_IN, data={"ten": CLERK, "ma": str(code), "tiep": target})
            assert entered.status_code == 303, target
            opened[target] = entered.headers["location"]
    # none of them: a clerk lands on their own work page
    assert opened == {
        **{target: "/viec-cua-toi" for target in elsewhere},
        "/v2/deployments": "/v2/deployments",
    }


def test_signing_out_ends_the_session(stack: Stack) -> None:
    with _browser(stack) as browser:
        token = _signed_in(stack, browser)
        assert browser.get("/api/admin/version").status_code == 200
        out = browser.get("/dang-xuat")
    assert out.status_code == 200 and "đã đăng xuất" in out.text
    assert f'{COOKIE}=""' in out.headers["set-cookie"] or "max-age=0" in (
        out.headers["set-cookie"].lower()
    )
    with stack.browser() as browser:
        browser.cookies.set(COOKIE, token)
        assert browser.get("/api/admin/version").status_code == 401
    assert [kind for kind, _ in _log(stack)][-1] == "signed-out"


def test_another_site_cannot_ask_a_code_or_sign_anyone_in(stack: Stack) -> None:
    code = services.access.operator_code(
        stack.settings, CLERK, now=stack.clock.now(), os_user="root"
    )
    assert code is not None
    evil = {"origin": "https://ke-gian.example"}
    with stack.browser() as browser:
        asked = browser.post("/dang-nhap", data={"ten": CLERK}, headers=evil)
        entered = browser.post(SIGNED_IN, data={"ten": CLERK, "ma": code}, headers=evil)
        fetched = browser.post(
            SIGNED_IN, data={"ten": CLERK, "ma": code}, headers={"sec-fetch-site": "cross-site"}
        )
    assert asked.status_code == entered.status_code == fetched.status_code == 403
    assert COOKIE not in entered.headers.get("set-cookie", "")
    assert stack.smtp.inbox.received == []
    assert [kind for kind, _ in _log(stack)] == ["code-sent"]  # the operator's alone


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_cookie_goes_over_tls_only_when_the_gate_is_reached_over_tls(stack: Stack) -> None:
    settings = settings_for(stack.engine, None, sign_in_url="https://dondoc.example/dang-nhap")
    app = create_app(settings=settings, upstream="http://127.0.0.1:9", auth_string=AUTH_STRING)
    code = services.access.operator_code(settings, CLERK, now=stack.clock.now(), os_user="root")

    async def enter() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:4200"
        ) as browser:
            # the office's proxy ends TLS: the browser's origin is the public one
            return await browser.post(
                SIGNED_IN,
                data={"ten": CLERK, "ma": str(code)},
                headers={"origin": "https://dondoc.example"},
            )

    opened = asyncio.run(enter())
    assert opened.status_code == 303
    assert "secure" in opened.headers["set-cookie"].lower()


def test_no_code_or_token_is_kept_or_logged_in_clear(
    stack: Stack, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with _browser(stack) as browser:
        assert _ask(browser, CLERK).status_code == 200
        code = _letter_code(stack)
        assert _enter(browser, CLERK, code).status_code == 303
        token = str(browser.cookies[COOKIE])
        run = browser.post(
            f"/api/deployments/{stack.submission}/create_flow_run",
            json={"parameters": {}},
        )
        assert run.status_code == 201
        resumed = browser.post(f"/api/flow_runs/{run.json()['id']}/resume", json={})
        assert resumed.status_code == 200
    # the code is six digits, which the digits of a database file or a log hold by chance
    # inside longer numbers (times, ids): it is searched as a number of its own
    secrets = (
        re.compile(rb"(?<![0-9])" + code.encode() + rb"(?![0-9])"),
        re.compile(re.escape(token.encode())),
    )
    # dondoc's database, every row of every table (and on SQLite, the files themselves)
    with transaction(stack.engine, writes=False) as conn:
        tables = sa.inspect(conn).get_table_names()
        rows = "\n".join(
            str(row) for table in tables for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
        )
    files: list[Path] = []
    if stack.engine.url.get_backend_name() == "sqlite":
        database = Path(str(stack.engine.url.database))
        files += [p for p in database.parent.glob(database.name + "*")]
    # Prefect's database (its rows on PostgreSQL, its file on SQLite) and its server's log
    rows += stack.prefect.rows()
    files += [p for p in stack.prefect.home.rglob("*") if p.is_file()]
    captured = capfd.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "POST /dang-nhap/ma" in logs  # the gate's own log is among them
    if stack.prefect.database is not None:
        assert stack.submission in rows  # Prefect's own rows are among them
    for secret in secrets:
        assert not secret.search(rows.encode())
        assert not secret.search(logs.encode())
        for file in files:
            assert not secret.search(file.read_bytes()), file

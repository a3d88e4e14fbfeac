"""A commune officer fills the submission form in the Prefect UI, in a real browser
(Debian's Chromium driven by Playwright), and the obligation becomes `submitted`."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from prefect.client.orchestration import get_client
from prefect.utilities.asyncutils import run_coro_as_sync

from models.queries import list_obligations
from models.status import Day
from tests.conftest import obligation_id
from tests.flows.conftest import PrefectStack

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
FORM = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
AS_OF = date(2024, 3, 10)
# Headless Chromium as root, kept off the network: the UI only talks to 127.0.0.1.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("DONDOC_REQUIRE_BROWSER") == "1":
            pytest.fail("/usr/bin/chromium is missing but the browser test is required")
        pytest.skip("no /usr/bin/chromium: run scripts/test, which installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _deployment_id(name: str) -> str:
    async def read() -> str:
        async with get_client() as client:
            return str((await client.read_deployment_by_name(name)).id)

    return run_coro_as_sync(read()) or ""


def _status(stack: PrefectStack, oid: int) -> str:
    rows = list_obligations(stack.engine, on=Day(AS_OF, AS_OF))
    return next(r.status for r in rows if r.id == oid)


def _choose(page: Any, option: str) -> None:
    """Open the next dropdown not yet chosen and pick `option` with the keyboard: type it into
    the dropdown's search, then Enter. (A click on an option can miss on a busy machine, where
    the list is still moving when the click comes.)"""
    page.get_by_text("Select", exact=True).first.click()
    page.get_by_role("option", name=option, exact=True).wait_for()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    page.get_by_role("option").first.wait_for(state="detached")
    expect(page.get_by_text(option, exact=True)).to_be_visible()


def test_a_commune_officer_submits_through_the_form(
    prefect_stack: PrefectStack, browser: object
) -> None:
    prefect_stack.sync()
    oid = obligation_id(prefect_stack.engine, "1c", "18694", "2024-Q1")
    assert _status(prefect_stack, oid) == "open"
    page = browser.new_page(viewport={"width": 1400, "height": 1800})  # type: ignore[attr-defined]
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    base = prefect_stack.api_url.removesuffix("/api")
    page.goto(f"{base}/v2/deployments/deployment/{_deployment_id(FORM)}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Custom run").click()
    page.get_by_text("Người thực hiện (tên đăng nhập dondoc)").wait_for()
    # textboxes in form order: the run's name, then the actor, then the narrative
    page.get_by_role("textbox").nth(1).fill("cb.18694")
    _choose(page, "18694 · Xã Cẩm Thành")
    _choose(page, "2024-Q1")
    for field, value in enumerate((3, 2, 20, 500, 6, 1)):
        page.get_by_role("spinbutton").nth(field).fill(str(value))
    page.get_by_role("textbox").nth(2).fill("Quý I: 3 lớp tập huấn, 2 buổi tọa đàm")
    with page.expect_response(lambda r: r.url.endswith("/create_flow_run")) as created:
        page.get_by_role("button", name="Submit").click()
    assert created.value.status == 201
    deadline = time.monotonic() + 120
    while _status(prefect_stack, oid) != "submitted" and time.monotonic() < deadline:
        time.sleep(1)
    assert _status(prefect_stack, oid) == "submitted"
    page.close()

"""Take the README's screenshots from the real Prefect UI of a running `scripts/run`.

A commune officer of Xã Yên Hòa names themselves in the generated submission form and submits
the quarterly report in the form of their unit on the paused run; their unit's next form no
longer offers that period; their unit's own list as of 12/06/2024; the lead office narrows its
review to the commune, reads what it handed in and accepts the report; then the daily
compliance table, and the monthly summary of 01/04/2024. Needs the test extra (Playwright)
and Debian's Chromium:

    scripts/run &                     # wait until it prints the address
    .venv/bin/python docs/screenshots.py  # with the same DONDOC_PREFECT_PORT, if set
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, sync_playwright

UI = f"http://127.0.0.1:{os.environ.get('DONDOC_PREFECT_PORT', '4200')}"
OUT = Path(__file__).resolve().parent / "screenshots"
FORM = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
CLERK = "Người thực hiện (tên đăng nhập dondoc)"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def api(path: str, body: dict[str, object] | None = None) -> object:
    request = urllib.request.Request(
        f"{UI}/api/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def deployment_id(name: str) -> str:
    flow, deployment = name.split("/")
    found = api(f"deployments/name/{flow}/{urllib.parse.quote(deployment)}")
    return str(found["id"])  # type: ignore[index]


def wait_for_run(run_id: str) -> None:
    for _ in range(120):
        state = api(f"flow_runs/{run_id}")["state"]["type"]  # type: ignore[index]
        if state in ("COMPLETED", "FAILED", "CRASHED"):
            return
        time.sleep(1)


def open_form(page: Page, deployment: str, first_field: str) -> None:
    page.goto(f"{UI}/v2/deployments/deployment/{deployment_id(deployment)}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Custom run").click()
    page.get_by_text(first_field).wait_for()


def pick(page: Page, option: str) -> None:
    page.get_by_text("Select", exact=True).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def start(page: Page) -> str:
    """Submit the form; the id of the run it created."""
    with page.expect_response(lambda r: r.url.endswith("/create_flow_run")) as created:
        page.get_by_role("button", name="Submit").click()
    return str(created.value.json()["id"])


def form_saved(run_id: str, state: dict[str, Any]) -> bool:
    """Whether a paused run's form is there yet: Prefect saves it after the run is paused."""
    key = state["state_details"]["run_input_keyset"]["schema"]
    try:
        api(f"flow_runs/{run_id}/input/{key}")
    except urllib.error.HTTPError:
        return False
    return True


def resume_dialog(
    page: Page, actor: str, form: str = FORM, unit: str | None = None, first: str = "Kỳ báo cáo"
) -> tuple[str, Locator]:
    """Step one of a two-step form for `actor` (a review narrowed to `unit`), then the paused
    run's Resume dialog."""
    open_form(page, form, CLERK)
    page.get_by_role("textbox").nth(1).fill(actor)
    if unit is not None:
        page.get_by_role("textbox").nth(2).fill(unit)
    run_id = start(page)
    for _ in range(120):
        state = api(f"flow_runs/{run_id}")["state"]  # type: ignore[index]
        if state["type"] == "PAUSED" and form_saved(run_id, state):
            break
        time.sleep(1)
    page.goto(f"{UI}/v2/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Open menu").click()
    page.get_by_role("menuitem", name="Resume").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(first, exact=True).first.wait_for()
    return run_id, dialog


def show_artifact(page: Page, run_id: str, key: str, shot: str) -> None:
    """Open the run's artifact `key` and photograph it."""
    page.goto(f"{UI}/v2/runs/flow-run/{run_id}")
    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text(key, exact=True).first.click()
    page.wait_for_timeout(2000)
    page.screenshot(path=OUT / shot, full_page=True)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())

        run_id, dialog = resume_dialog(page, "cb.18679")
        pick(page, "2024-Q1 · Quý I/2024 — hạn 15/03/2024")
        for field, value in enumerate((2, 1, 12, 400, 3, 1)):
            dialog.get_by_role("spinbutton").nth(field).fill(str(value))
        dialog.get_by_role("textbox").first.fill(
            "Quý I: 2 lớp tập huấn dịch vụ công trực tuyến, 1 buổi tọa đàm, 12 tin bài trên "
            "Trang TTĐT xã"
        )
        page.wait_for_timeout(600)  # let the dropdown close
        page.screenshot(path=OUT / "1-nop-bao-cao.png")
        dialog.get_by_role("button", name="Resume").click()
        wait_for_run(run_id)
        show_artifact(page, run_id, "bien-nhan", "2-bien-nhan.png")

        _, dialog = resume_dialog(page, "cb.18679")
        dialog.get_by_text("Select", exact=True).first.click()
        page.get_by_role("option").first.wait_for()
        page.wait_for_timeout(600)
        page.screenshot(path=OUT / "10-ky-con-phai-nop.png")
        page.keyboard.press("Escape")

        run = api(
            f"deployments/{deployment_id('viec-cua-don-vi/viec-cua-don-vi')}/create_flow_run",
            {"parameters": {"actor": "cb.18679", "as_of": "2024-06-12"}},
        )
        wait_for_run(run["id"])  # type: ignore[index]
        show_artifact(page, run["id"], "viec-can-lam", "11-viec-cua-don-vi.png")  # type: ignore[index]

        run_id, dialog = resume_dialog(
            page, "svhttdl.an", "xet-duyet/cam-xuyen-cchc-2024", "18679", "Nghĩa vụ"
        )
        pick(page, "Chấp nhận")
        page.wait_for_timeout(600)
        page.screenshot(path=OUT / "3-xet-duyet.png", full_page=True)
        dialog.get_by_role("button", name="Resume").click()
        wait_for_run(run_id)
        show_artifact(page, run_id, "quyet-dinh", "4-da-chap-nhan.png")

        run = api(
            f"deployments/{deployment_id('trang-thai-hang-ngay/trang-thai-hang-ngay')}"
            "/create_flow_run",
            {},
        )
        wait_for_run(run["id"])  # type: ignore[index]
        show_artifact(page, run["id"], "tuan-thu-cam-xuyen-cchc-2024", "5-tuan-thu.png")  # type: ignore[index]

        run = api(
            f"deployments/{deployment_id('tong-hop-thang/tong-hop-thang')}/create_flow_run",
            {"parameters": {"as_of": "2024-04-01"}},
        )
        wait_for_run(run["id"])  # type: ignore[index]
        show_artifact(page, run["id"], "tong-hop-thang-2024-04-01", "9-tong-hop-thang-prefect.png")  # type: ignore[index]
        browser.close()


if __name__ == "__main__":
    main()

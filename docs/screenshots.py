"""Take the README's screenshots from the real Prefect UI of a running `scripts/run`, through
its gate.

Each person signs in at the gate with a code the operator prints (`dondoc actors code`, run
here as the operator would). A commune officer of Xã Yên Hòa lands on their work page, then
submits the quarterly report in the form of their unit on the paused run and gets its
receipt; their unit's next form no longer offers that period; their unit's own list as of
12/06/2024; they hand in Quý II from their work page, on the gate's own form. The lead
office's successor lands on its work page, where both reports wait for its decision, opens
Quý I's with "Xét duyệt" and accepts it on the gate's page, then narrows the review desk of
the Prefect UI to Quý II and accepts that one. Then an administrator starts the daily
compliance table, the monthly summary of 01/04/2024 and the chase of 18/03/2024. Needs the
test extra (Playwright) and Debian's Chromium:

    scripts/run &                     # wait until it prints the address
    .venv/bin/python docs/screenshots.py  # with the same DONDOC_GATE_PORT, if set
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, sync_playwright

UI = f"http://127.0.0.1:{os.environ.get('DONDOC_GATE_PORT', '4200')}"
OUT = Path(__file__).resolve().parent / "screenshots"
DONDOC = Path(sys.executable).with_name("dondoc")
FORM = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sign_in(browser: Browser, person: str, shot: str | None = None) -> Page:
    """A page of a browser context of its own where `person` signed in at the gate with the
    code the operator printed for them; photographed as `shot` before signing in, if given."""
    printed = subprocess.run(
        [DONDOC, "actors", "code", person], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"code for \S+: (\S+)", printed)
    assert found is not None, printed
    code = found.group(1)
    context = browser.new_context(viewport={"width": 1280, "height": 1500}, locale="vi-VN")
    page = context.new_page()
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    page.goto(f"{UI}/dang-nhap/ma")
    page.locator("#ten").fill(person)
    page.locator("#ma").fill(code)
    if shot is not None:
        page.screenshot(path=OUT / shot)
    page.get_by_role("button", name="Đăng nhập").click()
    # the UI for an administrator; the page of their own work for everyone else
    page.wait_for_url(re.compile(r"/(v2/|viec-cua-toi$)"))
    return page


def api(page: Page, path: str, body: dict[str, object] | None = None) -> Any:
    """A call to the Prefect API through the gate, as the person signed in on `page`."""
    if body is None:
        response = page.request.get(f"{UI}/api/{path}")
    else:
        response = page.request.post(f"{UI}/api/{path}", data=body)
    assert response.ok, f"{path}: {response.status} {response.text()}"
    return response.json()


def deployment_id(page: Page, name: str) -> str:
    flow, deployment = name.split("/")
    found = api(
        page,
        "deployments/filter",
        {"deployments": {"name": {"any_": [deployment]}}, "flows": {"name": {"any_": [flow]}}},
    )
    return str(found[0]["id"])


def wait_for_run(page: Page, run_id: str) -> None:
    for _ in range(120):
        state = api(page, f"flow_runs/{run_id}")["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED"):
            return
        time.sleep(1)


def open_form(page: Page, deployment: str) -> None:
    page.goto(f"{UI}/v2/deployments/deployment/{deployment_id(page, deployment)}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Custom run").click()
    page.get_by_role("button", name="Submit").wait_for()


def pick(page: Page, option: str | re.Pattern[str]) -> None:
    page.get_by_text("Select", exact=True).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def start(page: Page) -> str:
    """Submit the form; the id of the run it created."""
    with page.expect_response(lambda r: r.url.endswith("/create_flow_run")) as created:
        page.get_by_role("button", name="Submit").click()
    return str(created.value.json()["id"])


def form_saved(page: Page, run_id: str, state: dict[str, Any]) -> bool:
    """Whether a paused run's form is there yet: Prefect saves it after the run is paused."""
    key = state["state_details"]["run_input_keyset"]["schema"]
    return page.request.get(f"{UI}/api/flow_runs/{run_id}/input/{key}").ok


def resume_dialog(
    page: Page,
    form: str = FORM,
    narrowed: re.Pattern[str] | None = None,
    first: str = "Kỳ báo cáo",
) -> tuple[str, Locator]:
    """Step one of a two-step form (a review narrowed to the requirement and period of the
    choice `narrowed`), then the paused run's Resume dialog."""
    open_form(page, form)
    if narrowed is not None:
        pick(page, narrowed)
    run_id = start(page)
    for _ in range(120):
        state = api(page, f"flow_runs/{run_id}")["state"]
        if state["type"] == "PAUSED" and form_saved(page, run_id, state):
            break
        time.sleep(1)
    page.goto(f"{UI}/v2/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Open menu").click()
    page.get_by_role("menuitem", name="Resume").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(first, exact=True).first.wait_for()
    return run_id, dialog


def show_artifact(
    page: Page, run_id: str, key: str, shot: str, *, first_table: bool = False
) -> None:
    """Open the run's artifact `key` and photograph it (down to its first table only, if
    `first_table`)."""
    page.goto(f"{UI}/v2/runs/flow-run/{run_id}")
    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text(key, exact=True).first.click()
    page.wait_for_timeout(2000)
    box = page.locator("table").first.bounding_box() if first_table else None
    if box is None:
        page.screenshot(path=OUT / shot, full_page=True)
    else:
        height = box["y"] + box["height"] + 24
        page.screenshot(
            path=OUT / shot, full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": height}
        )


def gate_form(page: Page, button: str, sent: str) -> None:
    """On the gate's work page, the line's `button` (its accessible name): the form page once
    the run waits on its form (the page looks again every few seconds until then), whose
    submit button is named `sent`."""
    page.get_by_role("button", name=button, exact=True).click()
    page.get_by_role("button", name=sent, exact=True).wait_for(timeout=120_000)


def run_now(page: Page, deployment: str, parameters: dict[str, object]) -> str:
    """Start `deployment` through the gate as the person of `page`; its run, once final."""
    run = api(
        page,
        f"deployments/{deployment_id(page, deployment)}/create_flow_run",
        {"parameters": parameters},
    )
    wait_for_run(page, run["id"])
    return str(run["id"])


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = sign_in(browser, "cb.18679", "0-dang-nhap.png")
        # signing in opens the clerk's own work page
        page.locator("body").screenshot(path=OUT / "14-viec-cua-toi.png")

        run_id, dialog = resume_dialog(page)
        pick(page, "2024-Q1 · Quý I/2024 — hạn 15/03/2024")
        for field, value in enumerate((2, 1, 12, 400, 3, 1)):
            dialog.get_by_role("spinbutton").nth(field).fill(str(value))
        dialog.get_by_role("textbox").first.fill(
            "Quý I: 2 lớp tập huấn dịch vụ công trực tuyến, 1 buổi tọa đàm, 12 tin bài trên "
            "Trang TTĐT xã"
        )
        dialog.get_by_role("textbox").nth(1).fill("https://yenhoa.camxuyen.gov.vn/cchc/2024-q1")
        page.wait_for_timeout(600)  # let the dropdown close
        page.screenshot(path=OUT / "1-nop-bao-cao.png")
        dialog.get_by_role("button", name="Resume").click()
        wait_for_run(page, run_id)
        show_artifact(page, run_id, "bien-nhan", "2-bien-nhan.png")

        _, dialog = resume_dialog(page)
        dialog.get_by_text("Select", exact=True).first.click()
        page.get_by_role("option").first.wait_for()
        page.wait_for_timeout(600)
        page.screenshot(path=OUT / "10-ky-con-phai-nop.png")
        page.keyboard.press("Escape")

        listed = run_now(page, "viec-cua-don-vi/viec-cua-don-vi", {"as_of": "2024-06-12"})
        show_artifact(page, listed, "viec-can-lam", "11-viec-cua-don-vi.png")

        # Quý II from the work page, on the gate's own form
        page.goto(f"{UI}/viec-cua-toi")
        gate_form(page, "Nộp báo cáo 1c Quý II/2024", "Gửi báo cáo (Resume)")
        for field, value in enumerate((1, 2, 15, 300, 2, 0)):
            page.locator("input[type=number]").nth(field).fill(str(value))
        page.locator("#o-narrative").fill(
            "Quý II: 1 lớp tập huấn, 2 buổi tọa đàm về dịch vụ công trực tuyến, 15 tin bài"
        )
        page.get_by_role("button", name="Gửi báo cáo (Resume)").click()
        page.get_by_role("heading", name="Đã nộp báo cáo").wait_for(timeout=120_000)

        # the reviewer lands on their work page: both reports wait for their decision
        page = sign_in(browser, "svhttdl.an")
        page.locator("body").screenshot(path=OUT / "15-cho-toi-quyet-dinh.png")
        gate_form(page, "Xét duyệt 18679 Xã Yên Hòa 1c Quý I/2024", "Gửi quyết định (Resume)")
        page.locator("#o-decision").select_option("Chấp nhận")
        page.locator("body").screenshot(path=OUT / "16-quyet-dinh-tren-cong.png")
        page.get_by_role("button", name="Gửi quyết định (Resume)").click()
        page.get_by_role("heading", name="Đã ghi quyết định").wait_for(timeout=120_000)
        page.locator("body").screenshot(path=OUT / "4-da-chap-nhan.png")

        # the same review in the Prefect UI, the desk narrowed to one requirement and period
        desk = "xet-duyet/Bàn xét duyệt · cam-xuyen-cchc-2024"
        quarter = re.compile(r"^1c\/2024-Q2 · ")  # a slash unescaped ends Playwright's regex
        run_id, dialog = resume_dialog(page, desk, quarter, "Nghĩa vụ")
        pick(page, "Chấp nhận")
        page.wait_for_timeout(600)
        page.screenshot(path=OUT / "3-xet-duyet.png", full_page=True)
        dialog.get_by_role("button", name="Resume").click()
        wait_for_run(page, run_id)

        page = sign_in(browser, "admin.cx")
        status = run_now(page, "trang-thai-hang-ngay/trang-thai-hang-ngay", {})
        show_artifact(page, status, "tuan-thu-cam-xuyen-cchc-2024", "5-tuan-thu.png")
        summary = run_now(page, "tong-hop-thang/tong-hop-thang", {"as_of": "2024-04-01"})
        show_artifact(page, summary, "tong-hop-thang-2024-04-01", "9-tong-hop-thang-prefect.png")
        chase = run_now(page, "don-doc-hang-ngay/don-doc-hang-ngay", {"as_of": "2024-03-18"})
        show_artifact(page, chase, "don-doc-2024-03-18", "17-don-doc-prefect.png", first_table=True)
        browser.close()


if __name__ == "__main__":
    main()

"""A commune officer works through the gate and the Prefect UI in a real browser (Debian's
Chromium driven by Playwright): signs in with the code the operator printed, submits the
submission form (it asks no name), fills the form of their unit on the paused run (a
narrative left empty is told in one Vietnamese line where the UI shows a rejected Resume), and
the obligation becomes `submitted`; their unit's next form no longer offers that period; their
unit's own list shows it waiting on review; the review desk and the administrator's pages are
not theirs. The lead office's officer signs in, narrows the review to one commune and sees the
figures it handed in before accepting, or decides from their own work page; an officer of a
closed office is refused, and the run's page says so in one Vietnamese line."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import expect
from prefect.client.orchestration import get_client
from prefect.utilities.asyncutils import run_coro_as_sync

import services.access
from models.rules.status import Day
from models.storage import ledger
from models.storage.queries import list_directives, list_obligations
from tests.conftest import obligation_id
from tests.flows.conftest import PrefectStack, paused_form

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
FORM = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
DESK = "viec-cua-don-vi/viec-cua-don-vi"
REVIEW = "xet-duyet/Bàn xét duyệt · cam-xuyen-cchc-2024"
PUBLISH = "cong-bo-chi-thi/cong-bo-chi-thi"
AS_OF = date(2024, 3, 10)
NARRATIVE = "Đánh giá kết quả và các hình thức tuyên truyền khác"  # 1c's, in the seed directive
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


def _signed_in(
    stack: PrefectStack, browser: Any, person: str, lands: str = r"/viec-cua-toi$"
) -> Any:
    """A page of a browser of its own, kept off the network, where `person` signed in at the
    gate with a code the operator printed (as the first administrator, or anyone while mail
    is down, does); on the page signing in opens for them (`lands`: a person who is not an
    administrator, the page of their own work; an administrator, the Prefect UI)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    code = services.access.operator_code(
        stack.settings, person, now=datetime.now(UTC), os_user="test"
    )
    assert code is not None
    page.goto(f"{stack.gate_url}/dang-nhap/ma")
    page.locator("#ten").fill(person)
    page.locator("#ma").fill(code)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(lands))
    return page


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


def _open_form(page: Any, stack: PrefectStack, deployment: str) -> None:
    """A deployment's "Run → Custom run" form, once it shows its Submit button."""
    page.goto(f"{stack.gate_url}/v2/deployments/deployment/{stack.deployment_id(deployment)}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Custom run").click()
    page.get_by_role("button", name="Submit").wait_for()


def _start(page: Any) -> str:
    """Submit the form; the id of the run it created."""
    with page.expect_response(lambda r: r.url.endswith("/create_flow_run")) as created:
        page.get_by_role("button", name="Submit").click()
    assert created.value.status == 201
    return str(created.value.json()["id"])


def _state(run_id: str) -> Any:
    async def read() -> Any:
        async with get_client() as client:
            return (await client.read_flow_run(UUID(run_id))).state

    return run_coro_as_sync(read())


def _until(run_id: str, done: Callable[[Any], bool]) -> None:
    deadline = time.monotonic() + 180
    while not done(_state(run_id)) and time.monotonic() < deadline:
        time.sleep(1)
    assert done(_state(run_id)), _state(run_id)


def _resume_dialog(page: Any, base: str, run_id: str, first_field: str = "Kỳ báo cáo") -> Any:
    """The paused run's "Resume" dialog: the form built for the clerk's unit (or the
    officer's list), once it shows its first field."""
    _until(run_id, lambda state: state.is_paused())
    paused_form(run_id)
    page.goto(f"{base}/v2/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Open menu").click()
    page.get_by_role("menuitem", name="Resume").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(first_field, exact=True).first.wait_for()
    return dialog


def _review(page: Any, stack: PrefectStack, unit: str) -> tuple[Any, str]:
    """Step one of a review, narrowed to one unit: the dialog of step two, and the run."""
    _open_form(page, stack, REVIEW)
    page.get_by_role("textbox").nth(1).fill(unit)  # after the run's name
    run_id = _start(page)
    return _resume_dialog(page, stack.gate_url, run_id, "Nghĩa vụ"), run_id


def _submit_q2(stack: PrefectStack, unit: str, **figures: int) -> int:
    oid = obligation_id(stack.engine, "1c", unit, "2024-Q2")
    clerk = ledger.Issued(f"cb.{unit}", f"browser-{unit}", "test", datetime.now(UTC))
    values = dict.fromkeys(
        ("training_classes", "seminars", "news_items", "leaflets", "documents", "other_forms"), 1
    )
    ledger.submit(
        stack.engine, oid, clerk, figures=values | figures, narrative="Quý II", evidence=None
    )
    return oid


def test_a_signed_in_commune_officer_is_offered_only_what_their_unit_owes(
    prefect_stack: PrefectStack, browser: object
) -> None:
    prefect_stack.sync()
    oid = obligation_id(prefect_stack.engine, "1c", "18694", "2024-Q1")
    assert _status(prefect_stack, oid) == "open"
    page = _signed_in(prefect_stack, browser, "cb.18694")
    base = prefect_stack.gate_url

    # step one asks nothing (the gate says who the clerk is); step two: the form of their
    # unit, on the paused run
    _open_form(page, prefect_stack, FORM)
    run_id = _start(page)
    dialog = _resume_dialog(page, base, run_id)
    expect(dialog.get_by_text("18694 Xã Cẩm Thành", exact=False)).to_be_visible()
    _choose(page, "2024-Q1 · Quý I/2024 — hạn 15/03/2024")
    for field, value in enumerate((3, 2, 20, 500, 6, 1)):
        dialog.get_by_role("spinbutton").nth(field).fill(str(value))
    # the narrative left empty: the gate's line where the UI shows a rejected Resume (its
    # toast), the form still open with what was typed, the run still waiting
    dialog.get_by_role("button", name="Resume").click()
    expect(page.get_by_text(f"Chưa nhập «{NARRATIVE}».", exact=True)).to_be_visible()
    assert _state(run_id).is_paused()
    expect(dialog.get_by_role("spinbutton").nth(3)).to_have_value("500")
    dialog.get_by_role("textbox").first.fill("Quý I: 3 lớp tập huấn, 2 buổi tọa đàm")
    dialog.get_by_role("button", name="Resume").click()
    deadline = time.monotonic() + 180
    while _status(prefect_stack, oid) != "submitted" and time.monotonic() < deadline:
        time.sleep(1)
    assert _status(prefect_stack, oid) == "submitted"

    # the unit handed in Q1: its next form offers the other periods, in words with due dates
    _open_form(page, prefect_stack, FORM)
    dialog = _resume_dialog(page, base, _start(page))
    dialog.get_by_text("Select", exact=True).first.click()
    page.get_by_role("option").first.wait_for()
    assert page.get_by_role("option").all_inner_texts() == [
        "2024-Q2 · Quý II/2024 — hạn 17/06/2024",
        "2024-H1 · 6 tháng đầu năm 2024 — hạn 17/06/2024",
        "2024-Q3 · Quý III/2024 — hạn 16/09/2024",
        "2024-Q4 · Quý IV/2024 — hạn 16/12/2024",
        "2024-H2 · 6 tháng cuối năm 2024 — hạn 16/12/2024",
        "2024 · Năm 2024 — hạn 16/12/2024",
    ]
    page.keyboard.press("Escape")

    # the unit's own list: what it handed in waits on review, the rest is still to do
    _open_form(page, prefect_stack, DESK)
    listed = _start(page)
    _until(listed, lambda state: state.is_final())
    page.goto(f"{base}/v2/runs/flow-run/{listed}")
    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text("viec-can-lam", exact=True).first.click()
    expect(page.get_by_role("heading", name="Việc của đơn vị 18694 Xã Cẩm Thành")).to_be_visible()
    submitted = page.get_by_role("row").filter(has_text="Quý I/2024")
    expect(submitted).to_contain_text("Đã nộp, chờ xét")
    expect(submitted).to_contain_text("Chờ cơ quan chủ trì xét duyệt.")
    expect(page.get_by_role("row").filter(has_text="Quý II/2024")).to_contain_text("17/06/2024")

    # the review desk's form is not theirs: the gate refuses it, and the UI says so
    _open_form(page, prefect_stack, REVIEW)
    with page.expect_response(lambda r: r.url.endswith("/create_flow_run")) as refused:
        page.get_by_role("button", name="Submit").click()
    assert refused.value.status == 403
    expect(page.get_by_text("không được chạy biểu mẫu xet-duyet").first).to_be_visible()
    # nor are the administrator's pages: what they ask the API for is refused
    for pages in ("variables", "blocks", "automations", "concurrency-limits"):
        with page.expect_response(lambda r: "/api/" in r.url and r.status == 403) as refused:
            page.goto(f"{base}/v2/{pages}")
        assert refused.value.request.method in ("GET", "POST"), pages
    page.close()


def test_a_clerk_hands_in_a_report_from_their_work_page_in_five_steps(
    prefect_stack: PrefectStack, browser: object
) -> None:
    """From the sign-in page to the recorded report, counting every click and typed field
    but the figures, narrative and evidence themselves: the name, the code, "Đăng nhập", the
    line's "Nộp báo cáo" (the form opens with its period chosen) and "Gửi"; the receipt
    follows on the same page."""
    prefect_stack.sync()
    oid = obligation_id(prefect_stack.engine, "1c", "18697", "2024-Q1")
    assert _status(prefect_stack, oid) == "open"
    steps: list[str] = []

    def click(locator: Any) -> None:
        steps.append("click")
        locator.click()

    def type_in(locator: Any, value: str) -> None:
        steps.append("field")
        locator.fill(value)

    page = browser.new_page(viewport={"width": 1400, "height": 1800})  # type: ignore[attr-defined]
    page.set_default_timeout(180_000)
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    code = services.access.operator_code(
        prefect_stack.settings, "cb.18697", now=datetime.now(UTC), os_user="test"
    )
    assert code is not None
    page.goto(f"{prefect_stack.gate_url}/dang-nhap/ma")
    type_in(page.locator("#ten"), "cb.18697")
    type_in(page.locator("#ma"), code)
    click(page.get_by_role("button", name="Đăng nhập"))
    page.wait_for_url(re.compile(r"/viec-cua-toi$"))
    overdue = page.get_by_role("row").filter(has_text="Quý I/2024")
    expect(overdue).to_contain_text("15/03/2024")
    expect(overdue).to_contain_text("Quá hạn")
    click(page.get_by_role("button", name="Nộp báo cáo 1c Quý I/2024"))
    # the page waits for the run's form, in Vietnamese, then shows it with the period chosen
    period = page.locator("#o-period")
    period.wait_for()
    expect(period).to_have_value("2024-Q1 · Quý I/2024 — hạn 15/03/2024")
    expect(page.get_by_text("18697", exact=False).first).to_be_visible()
    figures = ("training_classes", "seminars", "news_items", "leaflets", "documents", "other_forms")
    for key, value in zip(figures, (3, 2, 20, 500, 6, 1), strict=True):
        page.locator(f"#o-figures-{key}").fill(str(value))
    page.locator("#o-narrative").fill("Quý I: 3 lớp tập huấn, 2 buổi tọa đàm")
    click(page.get_by_role("button", name="Gửi báo cáo (Resume)"))
    # the page looks again every few seconds until the run has recorded the report
    expect(page.get_by_role("heading", name="Biên nhận")).to_be_visible(timeout=180_000)
    expect(page.get_by_role("row").filter(has_text="Số tờ rơi")).to_contain_text("500")
    assert _status(prefect_stack, oid) == "submitted"
    assert steps == ["field", "field", "click", "click", "click"]
    assert len(steps) <= 8
    page.close()


def test_an_officer_decides_from_their_work_page_in_six_steps(
    prefect_stack: PrefectStack, browser: object
) -> None:
    """From the sign-in page to the recorded decision, counting every click and typed field:
    the name, the code, "Đăng nhập", the line's "Xét duyệt" (the form opens on that one
    report, already chosen, under what the unit handed in), the decision and "Gửi"; the
    decision record follows on the same page."""
    prefect_stack.sync()
    oid = _submit_q2(prefect_stack, "18724", leaflets=432)
    steps: list[str] = []

    def click(locator: Any) -> None:
        steps.append("click")
        locator.click()

    def type_in(locator: Any, value: str) -> None:
        steps.append("field")
        locator.fill(value)

    page = browser.new_page(viewport={"width": 1400, "height": 1800})  # type: ignore[attr-defined]
    page.set_default_timeout(180_000)
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    code = services.access.operator_code(
        prefect_stack.settings, "svhttdl.an", now=datetime.now(UTC), os_user="test"
    )
    assert code is not None
    page.goto(f"{prefect_stack.gate_url}/dang-nhap/ma")
    type_in(page.locator("#ten"), "svhttdl.an")
    type_in(page.locator("#ma"), code)
    click(page.get_by_role("button", name="Đăng nhập"))
    page.wait_for_url(re.compile(r"/viec-cua-toi$"))
    click(page.get_by_role("button", name="Xét duyệt 18724 Xã Cẩm Quan 1c Quý II/2024"))
    # the page waits for the run's form, then shows it on that one report
    decision = page.locator("#o-decision")
    decision.wait_for()
    expect(page.locator("#o-obligation")).to_have_value(
        re.compile(rf"^{oid} · 18724 Xã Cẩm Quan · 1c · Quý II/2024 · ")
    )
    expect(page.get_by_role("row").filter(has_text="Số tờ rơi")).to_contain_text("432")
    steps.append("field")
    decision.select_option("Chấp nhận")
    click(page.get_by_role("button", name="Gửi quyết định (Resume)"))
    expect(page.get_by_role("heading", name="Quyết định: Chấp nhận")).to_be_visible()
    assert _status(prefect_stack, oid) in ("accepted", "accepted_late")
    assert steps == ["field", "field", "click", "click", "field", "click"]
    assert len(steps) <= 8
    page.close()


def test_a_refusal_reads_as_one_vietnamese_line_on_the_run(
    prefect_stack: PrefectStack, browser: object
) -> None:
    """The district's lead office closed on 01/07/2025: its officer opens the review desk
    today, and the run's page says why not, in Vietnamese, where the clerk is looking, before
    any report is shown."""
    _submit_q2(prefect_stack, "18721")
    page = _signed_in(prefect_stack, browser, "vhtt.lan")
    _open_form(page, prefect_stack, REVIEW)
    page.get_by_role("textbox").nth(1).fill("18721")  # after the run's name
    refused = _start(page)
    _until(refused, lambda state: state.is_final())
    assert _state(refused).is_failed()
    page.goto(f"{prefect_stack.gate_url}/v2/runs/flow-run/{refused}")
    line = (
        "Đơn vị 446-VHTT của tài khoản vhtt.lan đã ngừng hoạt động từ 01/07/2025: chỉ còn nộp "
        "được báo cáo còn nợ, không xét duyệt được."
    )
    expect(page.get_by_text(line).first).to_be_visible()
    page.close()


def test_the_officer_sees_the_figures_before_accepting(
    prefect_stack: PrefectStack, browser: object
) -> None:
    """The lead office's successor narrows the review to one commune: the figures it handed
    in are on the form, under their labels, before the decision."""
    oid = _submit_q2(prefect_stack, "18727", leaflets=4321, seminars=7)
    page = _signed_in(prefect_stack, browser, "svhttdl.an")
    dialog, decided = _review(page, prefect_stack, "18727")
    expect(dialog.get_by_role("row").filter(has_text="Số tờ rơi")).to_contain_text("4321")
    expect(dialog.get_by_role("row").filter(has_text="Số buổi tọa đàm")).to_contain_text("7")
    expect(dialog.get_by_text("bởi cb.18727", exact=False).first).to_be_visible()
    expect(
        dialog.get_by_text(re.compile(r"18727 .* · 1c · Quý II/2024 · Đã nộp, chờ xét")).first
    ).to_be_visible()
    _choose(page, "Chấp nhận")
    dialog.get_by_role("button", name="Resume").click()
    _until(decided, lambda state: state.is_final())
    assert _state(decided).is_completed()
    assert _status(prefect_stack, oid) in ("accepted", "accepted_late")
    page.close()


def test_an_administrator_writes_a_directive_in_the_form_and_publishes_it_after_its_preview(
    prefect_stack: PrefectStack, browser: object
) -> None:
    """The publishing form starts from an example of today's map, its fields in Vietnamese
    and its lists as dropdowns. The administrator makes it a monthly report of the province's
    department (the only office of the register still there in 2026), reads the preview of
    the obligations it would create, with their first and last due dates, and publishes it."""
    prefect_stack.sync()
    page = _signed_in(prefect_stack, browser, "admin.cx", lands=r"/v2/")
    _open_form(page, prefect_stack, PUBLISH)
    expect(page.get_by_role("tab", name="Soạn chỉ thị theo biểu mẫu")).to_be_visible()
    code = page.get_by_label("Mã chỉ thị", exact=True)
    expect(code).to_have_value("vi-du-bao-cao-thang-2026")
    code.fill("so-bao-cao-thang-2026")
    # who: the department (a "sở" under the province), not the communes of the example
    page.get_by_label("Select Loại đơn vị").click()
    for kind in ("xa · xã", "so · sở"):
        page.get_by_role("option", name=kind, exact=True).wait_for()
        page.keyboard.type(kind)
        page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    run_id = _start(page)
    dialog = _resume_dialog(page, prefect_stack.gate_url, run_id, "Quyết định")
    expect(dialog.get_by_text("Xem trước: công bố chỉ thị so-bao-cao-thang-2026")).to_be_visible()
    # January to December 2026 under the cut-off: due the 17th, Saturday 17/01 moved on
    row = dialog.get_by_role("row").filter(has_text="Báo cáo kết quả tuyên truyền")
    for cell in ("sở", "12", "19/01/2026", "17/12/2026"):
        expect(row.get_by_role("cell", name=cell, exact=True)).to_be_visible()
    assert "so-bao-cao-thang-2026" not in {d.code for d in list_directives(prefect_stack.engine)}
    _choose(page, "Công bố")
    dialog.get_by_role("button", name="Resume").click()
    _until(run_id, lambda state: state.is_final())
    assert _state(run_id).is_completed(), _state(run_id)
    published = {d.code: d for d in list_directives(prefect_stack.engine)}
    assert published["so-bao-cao-thang-2026"].obligations == 12
    page.close()

"""The gate's page of a person's own work (`/viec-cua-toi`): signing in opens it for staff;
it lists their unit's obligations still to do, the most urgent first, and apart what waits on
review, never another unit's; "Nộp báo cáo" starts the requirement's submission run as the
UI's Run button does, and the form page shows the paused run's form (the line's period
chosen, a form asked again with its line to mend and the values kept) and sends the answer as
the UI's Resume does, with the same refusals; then the receipt or the refusal. The guide is
open to anyone. A reviewer's page lists what waits for their decision, each line starting
the review of that report. No worker runs here: a paused run is made on the Prefect server as
`suspend_flow_run` leaves it (its state, and its form's schema and description)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

import services.directives
from flows.forms import UnitForm, unit_form_schema
from flows.runtime import REFUSED
from gate.routes import REVIEW_DESK
from gate.work import FORM_PAGE, RECEIPT, REVIEW_FLOW, SUBMIT_FLOW
from models.rules.deliverable import canonical_json
from models.storage import ledger
from models.storage.desk import unit_obligations
from tests.conftest import obligation_id
from tests.gate.conftest import ADMINISTRATOR, CLERK, OFFICER, OTHER_CLERK, Stack, post
from tests.gate.test_gate_proxy import SQLITE, _grants

DIRECTIVE = "cam-xuyen-cchc-2024"
SUCCESSOR = "svhttdl.an"  # the lead office's successor since 01/07/2025: today's review desk
Q1 = "2024-Q1 · Quý I/2024 — hạn 15/03/2024"
NOT_STARTER = "Lượt chạy này không do tài khoản cb.18673 bắt đầu, không tiếp tục được."
FIGURES = {
    "training_classes": "3",
    "seminars": "2",
    "news_items": "20",
    "leaflets": "500",
    "documents": "6",
    "other_forms": "1",
}


def _start(browser: httpx.Client, period: str = "2024-Q1") -> httpx.Response:
    return browser.post(
        "/viec-cua-toi/nop", data={"chi_thi": DIRECTIVE, "nhiem_vu": "1c", "ky": period}
    )


def _run_of(started: httpx.Response) -> str:
    assert started.status_code == 303, started.text
    found = re.fullmatch(rf"{FORM_PAGE}/([0-9a-f-]{{36}})\?ky=2024-Q1", started.headers["location"])
    assert found, started.headers["location"]
    return found.group(1)


def _schema(stack: Stack, unit: str, typed: UnitForm | None = None) -> dict[str, Any]:
    """The form a submission run of 1c waits on for `unit`, as flows/forms.py builds it."""
    spec = services.directives.requirement_spec(
        stack.settings, directive=DIRECTIVE, requirement="1c"
    )
    now = datetime.now(UTC)
    owed = unit_obligations(
        stack.engine,
        unit=unit,
        on=stack.settings.status_day(now.date()),
        directive=DIRECTIVE,
        requirement="1c",
        owing=True,
    )
    return unit_form_schema(spec, owed, typed=typed)


def _pause(stack: Stack, run: str, schema: dict[str, Any], description: str, key: str) -> None:
    """The run paused on a form, as `suspend_flow_run(key=...)` leaves it."""
    prefect = stack.prefect.client
    state = {
        "type": "PAUSED",
        "name": "Suspended",
        "state_details": {
            "pause_key": key,
            "pause_reschedule": True,
            "run_input_keyset": {
                name: f"suspended-{key}-{name}" for name in ("description", "response", "schema")
            },
        },
    }
    set_state = post(prefect, f"/api/flow_runs/{run}/set_state", {"state": state, "force": True})
    assert set_state.status_code in (200, 201), set_state.text
    for name, value in (("schema", schema), ("description", description)):
        body = {"key": f"suspended-{key}-{name}", "value": json.dumps(value)}
        written = post(prefect, f"/api/flow_runs/{run}/input", body)
        assert written.status_code in (200, 201), written.text


def _state(stack: Stack, run: str) -> dict[str, Any]:
    return dict(stack.prefect.client.get(f"/api/flow_runs/{run}").json()["state"])


def test_signing_in_opens_the_work_page_for_staff_and_the_ui_for_administrators(
    stack: Stack,
) -> None:
    from services.access import operator_code

    for person, page in (
        (CLERK, "/viec-cua-toi"),
        (OFFICER, "/viec-cua-toi"),
        (ADMINISTRATOR, "/"),
    ):
        code = operator_code(stack.settings, person, now=stack.clock.now(), os_user="test")
        with stack.browser() as browser:
            opened = browser.post("/dang-nhap/ma", data={"ten": person, "ma": code})
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] == page, person
    # anyone not signed in who opens the work page comes back to it once signed in
    with stack.browser() as browser:
        anonymous = browser.get("/viec-cua-toi")
    assert anonymous.headers["location"] == "/dang-nhap?tiep=%2Fviec-cua-toi"


def test_the_work_page_lists_the_units_own_work_most_urgent_first(stack: Stack) -> None:
    def by(person: str) -> ledger.Issued:
        return ledger.Issued(person, str(uuid.uuid4()), "test", datetime.now(UTC))

    figures = dict.fromkeys(FIGURES, 1)
    # the clerk's unit handed in Q1 (it waits on review); the other unit's Q2 came back
    mine = obligation_id(stack.engine, "1c", "18712", "2024-Q1")
    ledger.submit(stack.engine, mine, by(CLERK), figures=figures, narrative="I", evidence=None)
    theirs = obligation_id(stack.engine, "1c", "18673", "2024-Q2")
    ledger.submit(
        stack.engine, theirs, by(OTHER_CLERK), figures=figures, narrative="II", evidence=None
    )
    ledger.return_(stack.engine, theirs, by("svhttdl.an"), reason="Thiếu số liệu riêng của 18673")
    with stack.browser(CLERK) as browser:
        page = browser.get("/viec-cua-toi")
    with stack.browser(OTHER_CLERK) as browser:
        other = browser.get("/viec-cua-toi")
    assert page.status_code == 200
    assert "<h1>Việc của đơn vị 18712 " in page.text
    to_do, waiting = page.text.split("Đã nộp, chờ xét duyệt (")
    # the lines still to do: requirement, period in words, due date and status, each with
    # its button; overdue first (every 2024 period is overdue by now)
    assert "Báo cáo kết quả công tác tuyên truyền CCHC" in to_do
    assert "Quý II/2024</td>\n<td>17/06/2024</td>\n<td>Quá hạn</td>" in to_do
    assert to_do.count("Nộp báo cáo</button>") == to_do.count("<td>Quá hạn</td>") > 0
    assert "Quý I/2024" not in to_do
    assert "Quý I/2024</td><td>15/03/2024</td><td>Đã nộp, chờ xét</td>" in waiting
    # another unit's work is never shown: its return and its reason are on its own page
    assert "18673" not in page.text
    assert "Thiếu số liệu riêng của 18673" in other.text
    assert "<h1>Việc của đơn vị 18673 " in other.text
    # the clerk reviews nothing: no review desk on their page; the Prefect UI is a link away
    assert "xét duyệt báo cáo theo chỉ thị" not in page.text.lower()
    assert 'href="/v2/deployments">Mở giao diện Prefect</a>' in page.text
    assert 'href="/huong-dan"' in page.text


@SQLITE
def test_the_review_desk_is_named_in_words_on_a_reviewers_page(stack: Stack) -> None:
    with stack.browser(OFFICER) as browser:
        page = browser.get("/viec-cua-toi")
    assert page.status_code == 200
    assert (
        f'<a href="/v2/deployments/deployment/{stack.review}">Bàn xét duyệt · {DIRECTIVE}</a>'
    ) in page.text


@SQLITE
def test_a_reviewers_page_lists_what_waits_for_their_decision_each_line_opening_it(
    stack: Stack,
) -> None:
    """As a clerk's line opens their form: the line's "Xét duyệt" starts the directive's
    review desk for that one report, as the Run button would, and opens its form page."""
    oid = obligation_id(stack.engine, "1c", "18679", "2024-Q1")
    clerk = ledger.Issued("cb.18679", f"gate-review-{oid}", "test", datetime.now(UTC))
    figures = dict.fromkeys(FIGURES, 1)
    ledger.submit(stack.engine, oid, clerk, figures=figures, narrative="Quý I", evidence=None)
    with stack.browser(SUCCESSOR) as browser:
        page = browser.get("/viec-cua-toi")
        started = browser.post("/viec-cua-toi/xet", data={"chi_thi": DIRECTIVE, "nghia_vu": oid})
        foreign = browser.post("/viec-cua-toi/xet", data={"chi_thi": "khong-co", "nghia_vu": oid})
    with stack.browser(OFFICER) as closed:
        none_waiting = closed.get("/viec-cua-toi")
    assert "Chờ tôi quyết định (1)" in page.text
    line = re.search(r"<tr>(?:(?!</tr>).)*18679 Xã Yên Hòa(?:(?!</tr>).)*</tr>", page.text, re.S)
    assert line is not None and "Quý I/2024" in line.group(0)
    assert f'<input type="hidden" name="nghia_vu" value="{oid}">' in line.group(0)
    assert started.status_code == 303, started.text
    found = re.fullmatch(rf"{FORM_PAGE}/([0-9a-f-]{{36}})", started.headers["location"])
    assert found, started.headers["location"]
    run = stack.prefect.client.get(f"/api/flow_runs/{found.group(1)}").json()
    assert run["deployment_id"] == stack.review and run["parameters"]["obligation"] == str(oid)
    assert run["labels"]["dondoc.actor"] == SUCCESSOR
    assert foreign.status_code == 404
    # the lead office closed on 01/07/2025: its officer decides nothing today
    assert "Chờ tôi quyết định (0)" in none_waiting.text


def test_nop_bao_cao_starts_the_run_as_the_run_button_does_and_waits_for_its_form(
    stack: Stack,
) -> None:
    with stack.browser(CLERK) as browser:
        run = _run_of(_start(browser))
        waiting = browser.get(f"{FORM_PAGE}/{run}?ky=2024-Q1")
    labels = stack.prefect.client.get(f"/api/flow_runs/{run}").json()["labels"]
    assert labels["dondoc.actor"] == CLERK
    # the grant the run redeems, kept with the run's id, as for the UI's Run button
    assert _grants(stack) == [("start", CLERK, stack.submission, run, None)]
    assert hashlib.sha256(labels["dondoc.grant"].encode()).hexdigest()
    # no worker runs here: the run stays Scheduled, and the page says so and looks again
    assert waiting.status_code == 200
    assert "Đang chuẩn bị biểu mẫu…" in waiting.text
    assert '<meta http-equiv="refresh" content="2">' in waiting.text
    assert "Scheduled" not in waiting.text


@SQLITE
def test_a_start_from_another_site_or_without_a_session_creates_nothing(stack: Stack) -> None:
    runs = stack.prefect.runs()
    with stack.browser(CLERK) as browser:
        browser.headers["origin"] = "https://ke-gian.example"
        cross = _start(browser)
    with stack.browser() as browser:
        anonymous = _start(browser)
    assert cross.status_code == 403
    assert "Yêu cầu đến từ một trang web khác, không thực hiện." in cross.text
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/dang-nhap")
    with stack.browser(CLERK) as browser:
        gone = browser.post(
            "/viec-cua-toi/nop", data={"chi_thi": DIRECTIVE, "nhiem_vu": "9z", "ky": "2024-Q1"}
        )
    assert gone.status_code == 404
    assert stack.prefect.runs() == runs
    assert _grants(stack) == []


def test_the_paused_form_opens_with_the_period_chosen_and_goes_as_the_resume_does(
    stack: Stack,
) -> None:
    with stack.browser(CLERK) as browser:
        run = _run_of(_start(browser))
        _pause(stack, run, _schema(stack, "18712"), "**18712 Xã Cẩm Vịnh** · 1c: chọn kỳ", "don-vi")
        form = browser.get(f"{FORM_PAGE}/{run}?ky=2024-Q1")
        assert form.status_code == 200
        assert f"<option selected>{Q1}</option>" in form.text
        assert '<label for="o-figures-leaflets">Số tờ rơi *</label>' in form.text
        assert "<strong>18712 Xã Cẩm Vịnh</strong>" in form.text
        fields = {f"figures.{key}": value for key, value in FIGURES.items()}
        sent = browser.post(
            f"{FORM_PAGE}/{run}",
            data={"period": Q1, **fields, "narrative": "Quý I: 3 lớp", "evidence": ""},
        )
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"{FORM_PAGE}/{run}?gui=1"
        after = browser.get(sent.headers["location"])
    # the answer as the form's schema types it, with the grant for that very answer
    answer = {
        "period": Q1,
        "figures": {key: int(value) for key, value in FIGURES.items()},
        "narrative": "Quý I: 3 lớp",
    }
    digest = hashlib.sha256(canonical_json(answer).encode()).hexdigest()
    assert _grants(stack)[-1] == ("resume", CLERK, None, run, digest)
    stored = stack.prefect.client.get(f"/api/flow_runs/{run}/input/suspended-don-vi-response")
    assert json.loads(stored.text) == answer
    assert _state(stack, run)["type"] != "PAUSED"
    assert "Đang ghi nhận báo cáo…" in after.text


@SQLITE
def test_another_clerk_neither_reads_nor_answers_a_clerks_form(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        run = _run_of(_start(browser))
    _pause(stack, run, _schema(stack, "18712"), "**18712**", "don-vi")
    grants = _grants(stack)
    with stack.browser(OTHER_CLERK) as browser:
        read = browser.get(f"{FORM_PAGE}/{run}")
        sent = browser.post(f"{FORM_PAGE}/{run}", data={"period": Q1})
        api = browser.post(f"/api/flow_runs/{run}/resume", json={"run_input": {"period": Q1}})
    assert read.status_code == 404 and "Không tìm thấy lượt chạy này." in read.text
    assert "Số tờ rơi" not in read.text
    # the same refusal as a resume through the UI
    assert sent.status_code == api.status_code == 403
    assert NOT_STARTER in sent.text and api.json()["detail"] == NOT_STARTER
    assert _state(stack, run)["type"] == "PAUSED"
    assert _grants(stack) == grants


def test_a_form_asked_again_shows_what_to_mend_with_the_values_kept(stack: Stack) -> None:
    typed = UnitForm(
        period=Q1, figures={"leaflets": -5, "seminars": 2}, narrative="Quý I", evidence=None
    )
    mend = "**Cần sửa:** Chỉ tiêu «Số tờ rơi» không được nhỏ hơn 0 (đã nhập «-5»).\n\n**18712**"
    with stack.browser(CLERK) as browser:
        run = _run_of(_start(browser))
        _pause(stack, run, _schema(stack, "18712", typed), mend, "don-vi-2")
        # opened from another line's button, the period typed stays
        form = browser.get(f"{FORM_PAGE}/{run}?ky=2024-Q2")
    assert "<strong>Cần sửa:</strong> Chỉ tiêu «Số tờ rơi» không được nhỏ hơn 0" in form.text
    assert 'name="figures.leaflets" type="number" step="1" value="-5"' in form.text
    assert 'name="figures.seminars" type="number" step="1" value="2"' in form.text
    assert f"<option selected>{Q1}</option>" in form.text
    assert ">Quý I</textarea>" in form.text


@SQLITE
def test_a_figure_that_is_not_a_number_is_asked_again_and_nothing_is_sent(stack: Stack) -> None:
    with stack.browser(CLERK) as browser:
        run = _run_of(_start(browser))
        _pause(stack, run, _schema(stack, "18712"), "**18712**", "don-vi")
        grants = _grants(stack)
        fields = {f"figures.{key}": value for key, value in FIGURES.items()}
        sent = browser.post(
            f"{FORM_PAGE}/{run}",
            data={"period": Q1, **fields, "figures.leaflets": "năm trăm", "narrative": "Quý I"},
        )
    assert sent.status_code == 400
    assert "«Số tờ rơi» phải là số nguyên (đã nhập «năm trăm»)." in sent.text
    assert 'value="năm trăm"' in sent.text and ">Quý I</textarea>" in sent.text
    assert _grants(stack) == grants
    assert _state(stack, run)["type"] == "PAUSED"


@SQLITE
def test_the_page_shows_the_receipt_or_the_refusal_the_run_ends_with(stack: Stack) -> None:
    prefect = stack.prefect.client
    with stack.browser(CLERK) as browser:
        done, refused = _run_of(_start(browser)), _run_of(_start(browser))
        artifact = {
            "key": RECEIPT,
            "type": "markdown",
            "data": "# Biên nhận\n\n| chỉ tiêu | giá trị |\n|---|---|\n| Số tờ rơi | 500 |\n\n"
            "<b>x</b>",
            "flow_run_id": done,
        }
        assert post(prefect, "/api/artifacts/", artifact).status_code == 201
        completed = {"state": {"type": "COMPLETED"}, "force": True}
        assert post(prefect, f"/api/flow_runs/{done}/set_state", completed).status_code == 201
        line = "Tài khoản cb.18712 thuộc đơn vị 18712, không nộp báo cáo thay đơn vị 18673 được."
        failed = {"state": {"type": "FAILED", "name": REFUSED, "message": line}, "force": True}
        assert post(prefect, f"/api/flow_runs/{refused}/set_state", failed).status_code == 201
        receipt = browser.get(f"{FORM_PAGE}/{done}?gui=1")
        refusal = browser.get(f"{FORM_PAGE}/{refused}?gui=1")
    assert "<h1>Biên nhận</h1>" in receipt.text
    assert "<td>Số tờ rơi</td>\n<td>500</td>" in receipt.text
    assert "<b>x</b>" not in receipt.text  # a flow's markdown holds no HTML of its own
    assert "refresh" not in receipt.text
    assert line in refusal.text and "refresh" not in refusal.text


@SQLITE
def test_the_guide_is_open_to_anyone_with_its_screenshots(stack: Stack) -> None:
    with stack.browser() as browser:
        guide = browser.get("/huong-dan")
        sign_in = browser.get("/dang-nhap")
        shot = browser.get("/huong-dan/anh/1-nop-bao-cao.png")
        shown = re.findall(r'<img src="/huong-dan/anh/([^"]+)"', guide.text)
        served = {name: browser.get(f"/huong-dan/anh/{name}").status_code for name in shown}
        other = browser.get("/huong-dan/anh/pyproject.toml")
        climbing = browser.get("/huong-dan/anh/..%2F..%2Fpyproject.toml")
        missing = browser.get("/huong-dan/anh/9-tong-hop-thang-prefect.png")
    assert guide.status_code == 200
    assert "Cán bộ đơn vị: nộp báo cáo" in guide.text and "xét duyệt báo cáo" in guide.text
    assert '<img src="/huong-dan/anh/1-nop-bao-cao.png"' in guide.text
    # the reviewer's path from their work page is shown, and every picture of the guide is there
    assert {"15-cho-toi-quyet-dinh.png", "16-quyet-dinh-tren-cong.png"} <= set(shown)
    assert served == dict.fromkeys(shown, 200)
    assert 'href="/huong-dan"' in sign_in.text
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/png"
    assert other.status_code == missing.status_code == 404
    assert climbing.status_code != 200 and "dondoc" not in climbing.text


def test_the_flows_the_page_names_are_the_forms_flows() -> None:
    from flows.forms import REVIEW_DESK as FORMS_DESK
    from flows.forms import REVIEW_FLOW as FORMS_REVIEW
    from flows.forms import SUBMIT_FLOW as FORMS_SUBMIT

    assert (SUBMIT_FLOW, REVIEW_FLOW, REVIEW_DESK) == (FORMS_SUBMIT, FORMS_REVIEW, FORMS_DESK)


def test_the_list_of_forms_holds_what_the_person_may_start_their_own_first(
    stack: Stack,
) -> None:
    """The Prefect UI's deployments list: a clerk's submission forms of what their unit still
    owes, then their unit's list; a reviewer's review desk and forms of reports received by
    another channel after; an administrator's all."""
    prefect = stack.prefect.client
    flow = prefect.get(f"/api/deployments/{stack.submission}").json()["flow_id"]
    # a requirement the communes do not owe (the centre's report)
    body = {"name": "4c · cam-xuyen-cchc-2024", "flow_id": flow, "work_pool_name": "dondoc"}
    centre = post(prefect, "/api/deployments/", body)
    assert centre.status_code in (200, 201), centre.text
    everything = {"sort": "NAME_DESC", "limit": 10, "offset": 0}
    try:
        with stack.browser(CLERK) as browser:
            clerk = browser.post("/api/deployments/filter", json=everything)
            counted = browser.post("/api/deployments/count", json={})
            second = browser.post("/api/deployments/filter", json={"limit": 1, "offset": 1})
            searched = browser.post(
                "/api/deployments/filter",
                json={"deployments": {"flow_or_deployment_name": {"like_": "viec"}}},
            )
        with stack.browser(OFFICER) as browser:
            officer = browser.post("/api/deployments/filter", json=everything)
        with stack.browser(ADMINISTRATOR) as browser:
            administrator = browser.post("/api/deployments/filter", json=everything)
    finally:
        prefect.delete(f"/api/deployments/{centre.json()['id']}")
    assert [d["id"] for d in clerk.json()] == [stack.submission, stack.desk]
    assert counted.json() == 2
    assert [d["id"] for d in second.json()] == [stack.desk]
    assert [d["id"] for d in searched.json()] == [stack.desk]
    # the lead office owes no report of 1c: its list, the review desk, the received form
    assert [d["id"] for d in officer.json()] == [stack.desk, stack.review, stack.received]
    assert len(administrator.json()) == len(stack.prefect.deployments) + 1

"""The deployments of prefect.yaml: publishing from a form, the daily runs, their artifacts.

One run goes through the worker as a scheduled run would; the others run their flow in this
process against the same server and database (`PrefectStack.run_here`), and every deployment
is checked to run the flow those tests call."""

from __future__ import annotations

import base64
import inspect
import json
import re
import stat
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.states import State
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.chase import daily_chase, monthly_summary
from flows.consolidate import consolidate_reports
from flows.daily import daily_status
from flows.desk import unit_work
from flows.inbox import read_replies
from flows.publish import publish_directive
from flows.revise import amend_directive, withdraw_directive
from models.rules.vietnamese import sorted_vi
from models.storage import ledger
from models.storage.queries import list_directives
from tests.conftest import ROOT, count
from tests.flows.conftest import PrefectStack, paused_form

pytestmark = pytest.mark.slow
PUBLISH = "cong-bo-chi-thi/cong-bo-chi-thi"
PASTED = """
code: vhtt-thang-2024
document: {issuer: "446", number: "12", symbol: KH-VHTT, date: 2024-01-05,
           subject: Báo cáo nhanh tin bài CCHC}
lead: 446-VHTT
effective: {from: 2024-01-01, until: 2024-03-31}
requirements:
  - code: tin-bai
    title: Số tin bài CCHC trong tháng
    who: {units: ["18712", "18673"]}
    what:
      figures: [{key: items, label: Số tin bài, type: integer, min: 0}]
    schedule: [{cadence: monthly, due: {rule: working-days-after-end, days: 2}}]
    to: 446-VHTT
"""


def test_the_deployments_run_the_flows_these_tests_call(prefect_stack: PrefectStack) -> None:
    async def entrypoint(name: str) -> str:
        async with get_client() as client:
            return str((await client.read_deployment_by_name(f"{name}/{name}")).entrypoint)

    called = (
        publish_directive,
        amend_directive,
        withdraw_directive,
        unit_work,
        daily_status,
        daily_chase,
        monthly_summary,
        consolidate_reports,
        read_replies,
    )
    for flow in called:
        # the function itself, not the wrapper `for_clerks` puts round a form's flow
        fn = inspect.unwrap(flow.fn)
        source = Path(inspect.getfile(fn)).relative_to(ROOT).as_posix()
        assert run_coro_as_sync(entrypoint(flow.name)) == f"{source}:{fn.__name__}"


def _until(stack: PrefectStack, run_id: Any, done: Callable[[State[Any]], bool]) -> FlowRun:
    """The run once its state is `done` (or as it is after three minutes)."""
    deadline = time.monotonic() + 180
    while True:
        run = stack.read_run(run_id)
        if (run.state is not None and done(run.state)) or time.monotonic() > deadline:
            return run
        time.sleep(1)


def test_an_administrator_publishes_a_pasted_directive_after_its_preview(
    prefect_stack: PrefectStack,
) -> None:
    """Through the worker: the run shows what publishing would create and waits (suspended),
    having written nothing; the administrator's "Công bố" publishes it."""
    started = prefect_stack.start(
        PUBLISH, "admin.cx", directive={"directive_yaml": PASTED}, as_of="2024-03-31"
    )
    run = _until(prefect_stack, started.id, lambda state: state.is_paused() or state.is_final())
    assert run.state is not None and run.state.is_paused(), run.state
    assert run.name == "cong-bo-chi-thi · admin.cx · nội dung dán vào biểu mẫu"
    schema, preview = paused_form(run.id)
    assert schema["properties"]["decision"]["enum"] == ["Công bố", "Hủy"]
    # January to March, each due two working days after the month (Tết in February)
    assert "tạo **6** nghĩa vụ" in preview
    assert "| tin-bai · Số tin bài CCHC trong tháng | xã | 3 | 02/02/2024 | 02/04/2024 |" in preview
    assert "| tin-bai · Số tin bài CCHC trong tháng | thị trấn | 3 |" in preview
    assert "vhtt-thang-2024" not in {d.code for d in list_directives(prefect_stack.engine)}
    with prefect_stack.gate("admin.cx") as client:
        sent = client.post(
            f"/api/flow_runs/{run.id}/resume", json={"run_input": {"decision": "Công bố"}}
        )
    assert sent.status_code in (200, 201) and sent.json()["status"] == "ACCEPT", sent.text
    run = _until(prefect_stack, run.id, lambda state: state.is_final())
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    assert "vhtt-thang-2024" in {d.code for d in list_directives(prefect_stack.engine)}
    tables = [prefect_stack.artifacts(run.id)["nghia-vu-moi"]]
    assert tables and "tin-bai" in str(tables[0].data) and "6" in str(tables[0].data)
    assert "nop-bao-cao/tin-bai · vhtt-thang-2024" in prefect_stack.sync().names


def test_cancelling_on_the_preview_publishes_nothing(prefect_stack: PrefectStack) -> None:
    pasted = {"directive_yaml": PASTED.replace("vhtt-thang-2024", "vhtt-huy-2024")}
    started = prefect_stack.start(PUBLISH, "admin.cx", directive=pasted, as_of="2024-03-31")
    run = _until(prefect_stack, started.id, lambda state: state.is_paused() or state.is_final())
    assert run.state is not None and run.state.is_paused(), run.state
    paused_form(run.id)
    with prefect_stack.gate("admin.cx") as client:
        sent = client.post(
            f"/api/flow_runs/{run.id}/resume", json={"run_input": {"decision": "Hủy"}}
        )
    assert sent.status_code in (200, 201) and sent.json()["status"] == "ACCEPT", sent.text
    run = _until(prefect_stack, run.id, lambda state: state.is_final())
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    assert run.name == "cong-bo-chi-thi · admin.cx · nội dung dán vào biểu mẫu · đã hủy"
    assert "vhtt-huy-2024" not in {d.code for d in list_directives(prefect_stack.engine)}


def test_a_bad_pasted_directive_fails_the_run_naming_the_field(
    prefect_stack: PrefectStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(list_directives(prefect_stack.engine))
    bad = PASTED.replace("vhtt-thang-2024", "vhtt-sai").replace("days: 2", "days: -2")
    started = prefect_stack.start(PUBLISH, "admin.cx", here=True, directive={"directive_yaml": bad})
    run = prefect_stack.run_here(publish_directive, monkeypatch, started)
    assert run.state is not None and run.state.type == StateType.FAILED
    assert run.state.message == (
        "Nhiệm vụ 1 (tin-bai), lịch báo cáo 1, hạn nộp, số ngày làm việc: không được nhỏ hơn 0 "
        "(đã nhập «-2»)."
    )
    assert len(list_directives(prefect_stack.engine)) == before


def test_staff_are_refused_before_their_pasted_text_is_read(
    prefect_stack: PrefectStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate keeps the publishing form from staff; a run carrying a staff member's grant
    anyway checks the person first: their paste (here not even YAML) fails the run as a
    recorded denial, not as a parse error."""
    paste = "code: [unclosed"
    pasted = {"directive_yaml": paste}
    assert prefect_stack.ask(PUBLISH, "vhtt.lan", directive=pasted).status_code == 403
    denials = count(prefect_stack.engine, "denial")
    started = prefect_stack.granted(PUBLISH, "vhtt.lan", here=True, directive=pasted)
    run = prefect_stack.run_here(publish_directive, monkeypatch, started)
    assert run.state is not None and run.state.type == StateType.FAILED
    message = run.state.message
    assert message == "Chỉ quản trị viên được công bố chỉ thị; vhtt.lan là cán bộ."
    assert count(prefect_stack.engine, "denial") == denials + 1


def test_the_daily_status_run_leaves_a_compliance_table(prefect_stack: PrefectStack) -> None:
    """Through the worker, as the morning's scheduled run."""
    run = run_deployment(
        "trang-thai-hang-ngay/trang-thai-hang-ngay", timeout=180, parameters={"as_of": "2024-03-20"}
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state  # type: ignore[union-attr]
    tables = prefect_stack.artifacts(run.id)  # type: ignore[union-attr]
    assert run.name == "trang-thai-hang-ngay · 20/03/2024"  # type: ignore[union-attr]
    table = tables["tuan-thu-cam-xuyen-cchc-2024"]
    assert table.description == "cam-xuyen-cchc-2024: tình hình thực hiện ngày 20/03/2024"
    # the status columns are headed by codes, which the legend above the table explains
    legend, *_ = [line for line in table.data.splitlines() if line.startswith("Ký hiệu")]
    assert "QH Quá hạn" in legend and "CH Chưa đến hạn" in legend
    heads, _, *cells = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in table.data.splitlines()
        if line.startswith("|")
    ]
    listed = [cell[0] for cell in cells]
    # units in Vietnamese alphabetical order of their names, not in the order of their codes
    names = [unit.split(" ", 1)[1] for unit in listed]
    assert names == sorted_vi(names, key=str) and listed != sorted(listed)
    rows = {cell[0]: dict(zip(heads, cell, strict=True)) for cell in cells}
    # the 21 communes and towns, the lead office, the Centre and 4 content departments
    assert len(rows) == 27
    # Yên Hòa on 20/03/2024: its Q1 report (due 15/03) is overdue, its 6 other 2024 reports
    # are open and none is due within 3 working days
    yen_hoa = rows["18679 Xã Yên Hòa"]
    assert (yen_hoa["QH"], yen_hoa["CH"], yen_hoa["SH"]) == ("1", "6", "0")
    # only the statuses that occur that day are columns (C: passed on, Đ: closed)
    assert "C" not in yen_hoa and "Đ" not in yen_hoa
    # the rates: every commune and town owes the Q1 report
    rates = {
        (r["yêu cầu"], r["kỳ"]): r for r in json.loads(tables["ty-le-cam-xuyen-cchc-2024"].data)
    }
    assert rates[("1c", "Quý I/2024")]["phải nộp"] == 21
    assert rates[("4a", "Tháng 02/2024")]["phải nộp"] == 1
    # the log's anchor, kept outside the database and shown on the run
    newest = max((prefect_stack.var / "anchors").glob("anchor-*.json"))
    kept = ledger.Anchor.from_json(newest.read_text(encoding="utf-8"), str(newest))
    assert kept.heads_sha256 in tables["neo-nhat-ky"].data
    assert ledger.check_anchor(prefect_stack.engine, kept) == []


def test_a_day_outside_the_calendars_years_fails_the_run_naming_it(
    prefect_stack: PrefectStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = prefect_stack.run_here(daily_chase, monkeypatch, as_of="2101-01-10")
    assert run.state is not None and run.state.type == StateType.FAILED
    message = run.state.message or ""
    assert "form: as_of: is outside the years whose working days are known" in message


def test_the_publishing_form_offers_the_projects_directive_files(
    prefect_stack: PrefectStack,
) -> None:
    prefect_stack.sync()

    async def schema() -> dict[str, Any]:
        async with get_client() as client:
            found = await client.read_deployment_by_name("cong-bo-chi-thi/cong-bo-chi-thi")
            return found.parameter_openapi_schema or {}

    form = run_coro_as_sync(schema()) or {}
    written, file, pasted = form["properties"]["directive"]["anyOf"]
    assert written == {"$ref": "#/$defs/DirectiveForm"}
    assert sorted(file["properties"]["directive_file"]["enum"]) == [
        "directives/cam-xuyen-cchc-2024.yaml",
        "directives/ha-tinh-cchc-2026.yaml",
    ]
    assert pasted["title"] == "Dán nội dung YAML"
    # the register's offices to choose an issuer from
    issuer = form["$defs"]["DocumentForm"]["properties"]["issuer"]
    assert "446 · Ủy ban nhân dân huyện Cẩm Xuyên" in issuer["enum"]


def test_the_daily_chase_sends_once_and_rests_on_a_day_off(
    prefect_stack: PrefectStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(as_of: str) -> FlowRun:
        return prefect_stack.run_here(daily_chase, monkeypatch, as_of=as_of)

    first = run("2024-03-18")
    assert first.state is not None and first.state.type == StateType.COMPLETED, first.state
    sent = prefect_stack.artifacts(first.id)["don-doc-2024-03-18"].data
    # the lead office is reminded of its own consolidation (requirement 5, due 19/03), which no
    # other test touches; the communes' letters depend on what the tests before submitted
    assert "# Đôn đốc ngày 18/03/2024" in sent and "| vhtt@camxuyen.example |" in sent
    letters = list((prefect_stack.var / "outbox").glob("*.eml"))
    assert letters
    again = run("2024-03-18")
    assert again.state is not None and again.state.type == StateType.COMPLETED
    assert "Nghĩa vụ được nhắc hoặc đôn đốc: **0**" in str(
        prefect_stack.artifacts(again.id)["don-doc-2024-03-18"].data
    )
    assert len(list((prefect_stack.var / "outbox").glob("*.eml"))) == len(letters)
    sunday = run("2024-03-24")
    assert "Ngày nghỉ" in str(prefect_stack.artifacts(sunday.id)["don-doc-2024-03-24"].data)


def test_the_monthly_summary_goes_out_on_the_first_working_day_only(
    prefect_stack: PrefectStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = prefect_stack.run_here(monthly_summary, monkeypatch, as_of="2024-04-01")
    assert first.state is not None and first.state.type == StateType.COMPLETED, first.state
    table = str(prefect_stack.artifacts(first.id)["tong-hop-thang-2024-04-01"].data)
    assert "## cam-xuyen-cchc-2024:" in table and "ubnd@camxuyen.example" in table
    assert "| 1 | " in table
    # one draft per directive with late units: the seed, and the one a test above published
    drafts = {p.name for p in (prefect_stack.var / "outbox").glob("cong-van-don-doc-*.docx")}
    assert "cong-van-don-doc-cam-xuyen-cchc-2024-2024-04-01-tong-hop-thang.docx" in drafts
    second = prefect_stack.run_here(monthly_summary, monkeypatch, as_of="2024-04-02")
    assert "Không phải ngày làm việc đầu tiên" in str(
        prefect_stack.artifacts(second.id)["tong-hop-thang-2024-04-02"].data
    )


def test_the_consolidation_run_drafts_the_lead_offices_report(
    prefect_stack: PrefectStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = prefect_stack.run_here(consolidate_reports, monkeypatch, as_of="2024-06-20")
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    shown = prefect_stack.artifacts(run.id)["tong-hop-bao-cao-2024-06-20"].data
    assert "## cam-xuyen-cchc-2024 · yêu cầu 5 · Quý II/2024" in shown
    assert "### Dự thảo báo cáo tổng hợp" in shown and "> Tổng hợp Quý II/2024" in shown
    folder = prefect_stack.var / "outputs" / "cam-xuyen-cchc-2024" / "2024-Q2"
    # the day's files (the deployment's own schedule may have run on another day meanwhile)
    written = sorted(p.suffix for p in folder.glob("*2024-06-20*"))
    assert written == [".docx", ".docx", ".html", ".html", ".xlsx", ".xlsx"]
    # the artifact links the files where scripts/serve serves them, on 127.0.0.1
    link = re.search(
        r"\((http://127\.0\.0\.1:\d+/cam-xuyen-cchc-2024/2024-Q2/[^)]+\.xlsx)\)", shown
    )
    assert link is not None
    with urllib.request.urlopen(link[1], timeout=30) as served:
        assert served.read() == (folder / link[1].rsplit("/", 1)[1]).read_bytes()


def test_the_prefect_server_answers_only_the_gate_and_the_workers(
    prefect_stack: PrefectStack,
) -> None:
    """scripts/serve keeps one auth string per installation under var/, readable by its owner
    alone and printed in none of its logs; without it the Prefect API gives nothing, and a
    person reaches it only through the gate, signed in."""
    kept = prefect_stack.var / "prefect-auth-string"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    secret = prefect_stack.auth_string
    encoded = base64.b64encode(secret.encode()).decode()
    for log in prefect_stack.var.glob("*.log"):
        text = log.read_text(errors="replace")
        assert secret not in text and encoded not in text, log.name
    assert httpx.post(f"{prefect_stack.api_url}/flow_runs/filter", json={}).status_code == 401
    with prefect_stack.api() as api:
        assert api.post("/flow_runs/filter", json={"limit": 1}).status_code == 200
    anonymous = httpx.post(f"{prefect_stack.gate_url}/api/flow_runs/filter", json={})
    assert anonymous.status_code == 401
    with prefect_stack.gate("cb.18712") as clerk:
        assert clerk.post("/api/flow_runs/filter", json={"limit": 1}).status_code == 200

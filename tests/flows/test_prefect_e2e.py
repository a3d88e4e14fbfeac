"""End to end through a real Prefect server: the forms are deployments generated from dondoc's
database. A clerk's run (what the UI's "Custom run" sends) waits on the form of their unit and
what they send on resuming it (the UI's "Resume") reaches the same domain command and event log
as the CLI; a script's run with every parameter does too. What only the UI's path shows (a
run named by its form, paused, resumed) goes through the worker; a run that needs no answer
runs its flow in this process (`PrefectStack.run_here`) against the same server and database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import resume_flow_run
from prefect.utilities.asyncutils import run_coro_as_sync

import services.records
import services.reports
from flows.consolidate import consolidate_reports
from flows.desk import unit_work
from flows.review import review_obligation
from flows.submission import submit_obligation
from models.storage import ledger
from models.storage.db import transaction
from services.settings import Settings
from tests.conftest import NOW, obligation_id
from tests.flows.conftest import PrefectStack, paused_form

pytestmark = pytest.mark.slow
REPORT = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
FIGURES = {
    "training_classes": 2,
    "seminars": 1,
    "news_items": 14,
    "leaflets": 300,
    "documents": 5,
    "other_forms": 0,
}


def _run(name: str, parameters: dict[str, Any]) -> FlowRun:
    return run_deployment(name, parameters=parameters, timeout=180)  # type: ignore[return-value]


def _waiting(name: str, actor: str) -> FlowRun:
    """Step one of the form: the clerk names themselves; the run once it waits on step two
    (or has ended)."""
    run: FlowRun = run_deployment(name, parameters={"actor": actor}, timeout=0)  # type: ignore[assignment]
    return _until(run, lambda state: state.is_paused() or state.is_final())


def _until(run: FlowRun, done: Callable[[State], bool]) -> FlowRun:
    deadline = time.monotonic() + 180
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(run.id)
            if (run.state is not None and done(run.state)) or time.monotonic() > deadline:
                return run
            time.sleep(1)


def _unit_form(run: FlowRun) -> tuple[dict[str, Any], str]:
    """The schema and description of the form the paused run waits on."""
    return paused_form(run.id)


def _resume(run: FlowRun, answer: dict[str, Any]) -> FlowRun:
    """Step two: the clerk sends the unit's form; the run once it has ended."""
    resume_flow_run(run.id, run_input=answer)
    return _until(run, lambda state: state.is_final())


def _events(stack: PrefectStack, oid: int) -> list[sa.Row]:
    with transaction(stack.engine, writes=False) as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT version, kind, actor, channel, payload FROM event "
                    "WHERE obligation_id = :o ORDER BY version"
                ),
                {"o": oid},
            )
        )


def _logs(run: FlowRun) -> str:
    """Every log line of a flow run, with the tracebacks logged with them. The run's process
    ships its logs in the background, so they can reach the server after its final state:
    wait for the engine's last line ("Finished in state …") to be there."""

    async def read() -> list[Any]:
        async with get_client() as client:
            return await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))
            )

    deadline = time.monotonic() + 120
    while True:
        logs = "\n".join(log.message for log in run_coro_as_sync(read()) or [])
        if "Finished in state" in logs or time.monotonic() > deadline:
            return logs
        time.sleep(0.5)


def _schema(name: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async with get_client() as client:
            deployment = await client.read_deployment_by_name(name)
            return deployment.parameter_openapi_schema or {}

    return run_coro_as_sync(read()) or {}


@pytest.fixture(scope="module")
def forms(prefect_stack: PrefectStack) -> list[str]:
    return prefect_stack.sync().names


def test_each_requirement_gets_its_own_form(forms: list[str]) -> None:
    assert REPORT in forms and "xet-duyet/cam-xuyen-cchc-2024" in forms
    assert not any(name.split("/")[1].startswith(("1a ", "1b ", "2a ", "3 ")) for name in forms)
    # step one asks who the clerk is; their unit's form comes with the run
    assert list(_schema(REPORT)["properties"]) == ["actor"]


def test_a_clerk_names_themselves_then_sends_the_form_built_for_their_unit(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18712", "2024-Q1")
    before = _events(prefect_stack, oid)
    run = _waiting(REPORT, "cb.18712")
    assert run.state is not None and run.state.is_paused(), run.state
    assert run.name == "nop-bao-cao · cb.18712 · 1c"
    schema, description = _unit_form(run)
    assert description.startswith("**18712 Xã Nam Phúc Thăng** · Báo cáo kết quả công tác")
    assert schema["properties"]["period"]["enum"] == [
        "2024-Q1 · Quý I/2024 — hạn 15/03/2024",
        "2024-Q2 · Quý II/2024 — hạn 17/06/2024",
        "2024-H1 · 6 tháng đầu năm 2024 — hạn 17/06/2024",
        "2024-Q3 · Quý III/2024 — hạn 16/09/2024",
        "2024-Q4 · Quý IV/2024 — hạn 16/12/2024",
        "2024-H2 · 6 tháng cuối năm 2024 — hạn 16/12/2024",
        "2024 · Năm 2024 — hạn 16/12/2024",
    ]
    figures = schema["properties"]["figures"]
    assert figures["properties"]["training_classes"] == {
        "title": "Số lớp tập huấn",
        "type": "integer",
        "minimum": 0,
        "description": "Đơn vị tính: lớp",
    }
    assert figures["required"] == list(FIGURES)
    done = _resume(
        run,
        {
            "period": "2024-Q1 · Quý I/2024 — hạn 15/03/2024",
            "figures": FIGURES,
            "narrative": "Quý I",
        },
    )
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    assert done.name == "nop-bao-cao · 18712 Xã Nam Phúc Thăng · 1c · 2024-Q1"
    last = _events(prefect_stack, oid)[-1]
    assert (last.version, last.kind, last.actor) == (len(before) + 1, "submitted", "cb.18712")
    assert last.channel == f"prefect-ui:{run.id}"
    assert '"leaflets":300' in last.payload
    receipt = prefect_stack.artifacts(run.id)["bien-nhan"].data
    assert "kỳ **Quý I/2024** (2024-Q1), đơn vị **18712 · Xã Nam Phúc Thăng**" in receipt
    assert "| Số tờ rơi | 300 | tờ |" in receipt and "Đã nộp, chờ xét" in receipt
    # the period handed in is no longer offered to the unit
    again, _ = _unit_form(_waiting(REPORT, "cb.18712"))
    assert again["properties"]["period"]["enum"][0] == "2024-Q2 · Quý II/2024 — hạn 17/06/2024"
    assert not any(p.startswith("2024-Q1 ") for p in again["properties"]["period"]["enum"])


def test_the_first_step_refuses_an_unknown_clerk_and_a_unit_that_owes_nothing(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    unknown = _waiting(REPORT, "khong.co")
    assert unknown.state is not None and unknown.state.type == StateType.FAILED
    assert unknown.state.message == "Không có tài khoản «khong.co» trong danh sách cán bộ."
    assert "Traceback" not in _logs(unknown)
    lead = _waiting(REPORT, "vhtt.lan")
    assert lead.state is not None and lead.state.type == StateType.FAILED
    assert lead.state.message == (
        "Đơn vị 446-VHTT Phòng Văn hóa - Thông tin huyện Cẩm Xuyên không có kỳ nào còn phải nộp "
        "«Báo cáo kết quả công tác tuyên truyền CCHC (quý, 6 tháng, năm)»."
    )


def test_a_script_sending_another_units_actor_is_refused_in_the_run(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18673", "2024-Q1")
    before = _events(prefect_stack, oid)  # earlier tests may have chased it
    run = _run(
        REPORT,
        {
            "actor": "cb.18712",
            "unit": "18673 · Thị trấn Cẩm Xuyên",
            "period": "2024-Q1",
            "figures": FIGURES,
            "narrative": "Quý I",
        },
    )
    assert run.state is not None and run.state.type == StateType.FAILED
    # one Vietnamese line where the clerk is looking, what to do next, and no traceback
    assert run.state.message == (
        "Tài khoản cb.18712 thuộc đơn vị 18712, không nộp báo cáo thay đơn vị 18673 được."
    )
    advice = prefect_stack.artifacts(run.id)["tu-choi"].data
    assert "Việc cần làm: Kiểm tra tên tài khoản" in advice and "cb.18712 acts for" in advice
    logs = _logs(run)
    assert "Traceback" not in logs and "Từ chối: Tài khoản cb.18712" in logs
    assert _events(prefect_stack, oid) == before
    with transaction(prefect_stack.engine, writes=False) as conn:
        denied = conn.execute(
            sa.text("SELECT count(*) FROM denial WHERE actor = 'cb.18712'")
        ).scalar_one()
    assert denied == 1


def test_a_negative_figure_is_refused_by_the_units_form_naming_the_field(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18679", "2024-Q1")
    before = _events(prefect_stack, oid)  # earlier tests may have chased it
    run = _waiting(REPORT, "cb.18679")
    with pytest.raises(RuntimeError, match=r"figures\.leaflets") as refused:
        resume_flow_run(
            run.id,
            run_input={
                "period": "2024-Q1 · Quý I/2024 — hạn 15/03/2024",
                "figures": {**FIGURES, "leaflets": -1},
                "narrative": "Quý I",
            },
        )
    assert "less than the minimum of 0" in str(refused.value)
    assert _events(prefect_stack, oid) == before


def test_a_scripts_run_refuses_a_negative_figure_without_the_forms_check(
    prefect_stack: PrefectStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow itself, called with every parameter as a script's run with the server's
    check of the form switched off would be."""
    oid = obligation_id(prefect_stack.engine, "4c", "446-TTVHTT", "2024-Q1")
    before = _events(prefect_stack, oid)  # earlier tests may have chased it
    run = prefect_stack.run_here(
        submit_obligation,
        monkeypatch,
        directive="cam-xuyen-cchc-2024",
        requirement="4c",
        actor="ttvhtt.minh",
        unit="446-TTVHTT · Trung tâm",
        period="2024-Q1",
        figures={**FIGURES, "seminars": -3},
        narrative="Quý I",
    )
    assert run.state is not None and run.state.type == StateType.FAILED
    assert "không được nhỏ hơn 0 (đã nhập «-3»)" in (run.state.message or "")
    assert _events(prefect_stack, oid) == before


def test_a_unit_lists_its_own_work_most_urgent_first(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18673", "2024-Q1")
    clerk = ledger.Issued("cb.18673", "desk-submit", "test", NOW)
    ledger.submit(prefect_stack.engine, oid, clerk, figures=FIGURES, narrative="Q1", evidence=None)
    # returned as the review form returns it: the unit is told at once, as the worker would
    settings = Settings(
        database_url=prefect_stack.database_url, outbox_dir=prefect_stack.var / "outbox"
    )
    officer = services.records.Issued("vhtt.lan", "desk-return", "test", NOW)
    services.records.return_(settings, oid, officer, reason="Thiếu số liệu tờ rơi")
    assert _schema("viec-cua-don-vi/viec-cua-don-vi")["properties"]["actor"]["title"] == (
        "Người xem (tên đăng nhập dondoc)"
    )
    run = prefect_stack.run_here(unit_work, monkeypatch, actor="cb.18673", as_of="2024-06-12")
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    assert run.name == "viec-cua-don-vi · 18673 Thị trấn Cẩm Xuyên · 12/06/2024"
    # the lead office (its successor today) reads the same list; another commune may not
    lead = prefect_stack.run_here(
        unit_work, monkeypatch, actor="svhttdl.an", as_of="2024-06-12", unit="18673"
    )
    assert lead.state is not None and lead.state.type == StateType.COMPLETED, lead.state
    assert prefect_stack.artifacts(lead.id)["viec-can-lam"].data == (
        prefect_stack.artifacts(run.id)["viec-can-lam"].data
    )
    other = prefect_stack.run_here(unit_work, monkeypatch, actor="cb.18712", unit="18673")
    assert other.state is not None and other.state.type == StateType.FAILED, other.state
    rows = [
        line
        for line in prefect_stack.artifacts(run.id)["viec-can-lam"].data.splitlines()
        if line.startswith("| **")
    ]
    assert rows[0] == (
        "| **Quá hạn** | 15/03/2024 | Báo cáo kết quả công tác tuyên truyền CCHC (quý, 6 tháng, "
        "năm) (1c · cam-xuyen-cchc-2024) | Quý I/2024 | Trả lại để bổ sung: «Thiếu số liệu tờ "
        "rơi». Sửa rồi nộp lại qua biểu mẫu `nop-bao-cao/1c · cam-xuyen-cchc-2024`. |"
    )
    assert rows[1].startswith("| **Sắp đến hạn** | 17/06/2024 |") and "Quý II/2024" in rows[1]


def _deployment(name: str) -> Any:
    async def read() -> Any:
        async with get_client() as client:
            try:
                return await client.read_deployment_by_name(name)
            except ObjectNotFound:
                return None

    return run_coro_as_sync(read())


def test_the_forms_follow_what_is_still_open(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reporter = "nop-bao-cao/4b · cam-xuyen-cchc-2024"
    centre = "446-TTVHTT · Trung tâm Văn hóa - Truyền thông huyện Cẩm Xuyên"
    assert reporter in forms and _deployment(reporter) is not None
    run = prefect_stack.run_here(
        submit_obligation,
        monkeypatch,
        directive="cam-xuyen-cchc-2024",
        requirement="4b",
        actor="ttvhtt.minh",
        unit=centre,
        period="once",
        figures={"reporter": "Lê Thị Hoà"},
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    # the run's own refresh looked at 4b only, and its form is gone
    assert _deployment(reporter) is None
    assert reporter not in prefect_stack.sync().names
    # returned, the report is owed again: the decision's refresh brings the form back
    oid = obligation_id(prefect_stack.engine, "4b", "446-TTVHTT", "once")
    returned = prefect_stack.run_here(
        review_obligation,
        monkeypatch,
        directive="cam-xuyen-cchc-2024",
        actor="svhttdl.an",
        obligation=str(oid),
        decision="Trả lại để bổ sung",
        reason="Thiếu số điện thoại",
    )
    assert returned.state is not None and returned.state.type == StateType.COMPLETED
    assert _deployment(reporter) is not None


def test_the_lead_office_reviews_with_the_figures_before_deciding(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18682", "2024-Q2")
    ledger.submit(
        prefect_stack.engine,
        oid,
        ledger.Issued("cb.18682", "q2", "test", NOW),
        figures=FIGURES | {"leaflets": 321},
        narrative="Quý II: tờ rơi phát tận hộ",
        evidence="http://127.0.0.1/bao-cao-quy-2.pdf",
    )
    # the district lead office closed on 01/07/2025: its officer is refused at the desk's door
    closed = prefect_stack.run_here(
        review_obligation,
        monkeypatch,
        directive="cam-xuyen-cchc-2024",
        actor="vhtt.lan",
        obligation=str(oid),
        decision="Chấp nhận",
    )
    assert closed.state is not None and closed.state.type == StateType.FAILED, closed.state
    assert closed.state.message == (
        "Đơn vị 446-VHTT của tài khoản vhtt.lan đã ngừng hoạt động từ 01/07/2025: chỉ còn nộp "
        "được báo cáo còn nợ, không xét duyệt được."
    )
    # its successor in the register narrows to the commune's Q2 report, then decides
    review = _schema("xet-duyet/cam-xuyen-cchc-2024")["properties"]
    requirement = next(v for v in review["requirement"]["enum"] if v.startswith("1c · "))
    waiting: FlowRun = run_deployment(  # type: ignore[assignment]
        "xet-duyet/cam-xuyen-cchc-2024",
        parameters={
            "actor": "svhttdl.an",
            "requirement": requirement,
            "period": "2024-Q2 · Quý II/2024",
            "unit": "18682",
            "status": "Đã nộp, chờ xét",
        },
        timeout=0,
    )
    waiting = _until(waiting, lambda state: state.is_paused() or state.is_final())
    schema, description = _unit_form(waiting)
    (offered,) = schema["properties"]["obligation"]["enum"]
    assert offered == f"{oid} · 18682 Xã Cẩm Dương · 1c · Quý II/2024 · Đã nộp, chờ xét"
    assert "| Số tờ rơi | 321 | tờ |" in description
    assert "Quý II: tờ rơi phát tận hộ" in description
    assert "Minh chứng: http://127.0.0.1/bao-cao-quy-2.pdf" in description
    assert "bởi `cb.18682`" in description
    done = _resume(waiting, {"obligation": offered, "decision": "Chấp nhận"})
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    assert [e.kind for e in _events(prefect_stack, oid)][-1] == "accepted"
    assert done.name == "xet-duyet · 18682 Xã Cẩm Dương · 1c · 2024-Q2 · chấp nhận"
    # the decision in the clerk's words, as the receipt says it
    decided = prefect_stack.artifacts(done.id)["quyet-dinh"].data
    assert "trạng thái mới: **Đã chấp nhận**" in decided


def test_a_review_with_nothing_matching_says_so_and_waits_for_nothing(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def review(**parameters: str) -> FlowRun:
        return prefect_stack.run_here(
            review_obligation, monkeypatch, directive="cam-xuyen-cchc-2024", **parameters
        )

    run = review(
        actor="svhttdl.an", unit="18673", period="once · Một lần", status="Đã nộp, chờ xét"
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    listed = prefect_stack.artifacts(run.id)["ho-so-xet-duyet"].data
    assert "**0 nghĩa vụ** khớp bộ lọc" in listed
    unknown = review(actor="svhttdl.an", unit="99999")
    assert unknown.state is not None and unknown.state.type == StateType.FAILED
    assert unknown.state.message.startswith("Không có đơn vị mã 99999")



def test_the_review_desk_shows_nothing_to_one_who_decides_nothing(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a commune's clerk (the commune merged on 01/07/2025) and a name no one has
    for person, line in (
        ("cb.18673", "chỉ còn nộp được báo cáo còn nợ, không xét duyệt được."),
        ("nguoi.la", "Không có tài khoản «nguoi.la» trong danh sách cán bộ."),
    ):
        run = prefect_stack.run_here(
            review_obligation,
            monkeypatch,
            directive="cam-xuyen-cchc-2024",
            actor=person,
            status="Đã nộp, chờ xét",
        )
        assert run.state is not None and run.state.type == StateType.FAILED
        assert run.state.message.endswith(line), run.state.message
        # no list of what units handed in, no figures, before the rights check
        assert set(prefect_stack.artifacts(run.id)) == {"tu-choi"}

def test_a_refresh_writes_only_the_forms_that_changed(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    assert prefect_stack.sync().written == []
    oid = obligation_id(prefect_stack.engine, "1c", "18712", "2024-Q3")
    ledger.submit(
        prefect_stack.engine,
        oid,
        ledger.Issued("cb.18712", "q3-refresh", "test", NOW),
        figures=FIGURES,
        narrative="Quý III",
        evidence=None,
    )
    # the quarterly form and the review form do not depend on one report: nothing to write
    refreshed = prefect_stack.sync()
    assert refreshed.written == [] and refreshed.deleted == [] and REPORT in refreshed.names
    one = prefect_stack.sync(directive="cam-xuyen-cchc-2024", requirement="1c")
    assert (one.names, one.written, one.deleted) == ([REPORT], [], [])


def test_the_lead_office_hands_in_the_consolidation_runs_draft(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    drafted = prefect_stack.run_here(consolidate_reports, monkeypatch, as_of="2024-03-20")
    assert drafted.state is not None and drafted.state.type == StateType.COMPLETED
    own = obligation_id(prefect_stack.engine, "5", "446-VHTT", "2024-Q1")
    draft = services.reports.drafts(
        Settings(database_url=prefect_stack.engine.url.render_as_string(hide_password=False)), [own]
    )[own]
    # the closed lead office's staff may still hand in its past work
    waiting = _waiting("nop-bao-cao/5 · cam-xuyen-cchc-2024", "vhtt.lan")
    schema, description = _unit_form(waiting)
    props = schema["properties"]
    assert props["period"]["default"].startswith("2024-Q1 · Quý I/2024")
    assert props["narrative"]["default"] == draft.narrative
    assert draft.narrative.startswith("Tổng hợp Quý I/2024, số liệu đến ngày 20/03/2024.")
    assert "đã được điền sẵn" in description
    done = _resume(
        waiting,
        {"period": props["period"]["default"], "narrative": props["narrative"]["default"]},
    )
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    submitted = _events(prefect_stack, own)[-1]
    assert (submitted.kind, submitted.actor) == ("submitted", "vhtt.lan")
    assert json.loads(submitted.payload)["narrative"] == draft.narrative

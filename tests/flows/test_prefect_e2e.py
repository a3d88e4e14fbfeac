"""End to end through a real Prefect server and the gate in front of it: the forms are
deployments generated from dondoc's database. A signed-in clerk's run (what the UI's "Custom
run" sends through the gate) waits on the form of their unit and what they send on resuming
it (the UI's "Resume") reaches the same domain command and event log as the CLI; a script's
run with every parameter does too. The person is the one the gate signed in: a run created on
the Prefect API another way does nothing and records a denial. What only the UI's path shows
(a run named by its form, paused, resumed) goes through the worker; a run that needs no answer
runs its flow in this process (`PrefectStack.run_here`, the very run the gate created) against
the same server and database."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import resume_flow_run
from prefect.utilities.asyncutils import run_coro_as_sync

import services.access
import services.records
import services.reports
from flows.consolidate import consolidate_reports
from flows.desk import unit_work
from flows.review import review_obligation
from flows.submission import submit_obligation
from models.rules.deliverable import canonical_json
from models.storage import ledger
from models.storage.db import transaction
from services.access import ACTOR_LABEL, GRANT_LABEL
from services.settings import Settings
from tests.conftest import NOW, obligation_id
from tests.flows.conftest import PrefectStack, paused_form

pytestmark = pytest.mark.slow
REPORT = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
REVIEW = "xet-duyet/Bàn xét duyệt · cam-xuyen-cchc-2024"
RECEIVED = "vao-so-bao-cao-den/1c · cam-xuyen-cchc-2024"
FIGURES = {
    "training_classes": 2,
    "seminars": 1,
    "news_items": 14,
    "leaflets": 300,
    "documents": 5,
    "other_forms": 0,
}


def _waiting(stack: PrefectStack, name: str, person: str, **parameters: Any) -> FlowRun:
    """Step one of the form, sent through the gate signed in as `person`; the run once it
    waits on step two (or has ended)."""
    run = stack.start(name, person, **parameters)
    return _until(run, lambda state: state.is_paused() or state.is_final())


def _ended(run: FlowRun) -> FlowRun:
    return _until(run, lambda state: state.is_final())


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


def _send(stack: PrefectStack, run: FlowRun, person: str, answer: dict[str, Any]) -> Any:
    """Step two, the form's Resume through the gate signed in as `person`: Prefect's verdict
    on the answer."""
    with stack.gate(person) as client:
        sent = client.post(f"/api/flow_runs/{run.id}/resume", json={"run_input": answer})
    # Prefect answers 201 to an answer it takes, 200 to one it rejects
    assert sent.status_code in (200, 201), sent.text
    return sent.json()


def _resume(stack: PrefectStack, run: FlowRun, person: str, answer: dict[str, Any]) -> FlowRun:
    """Step two: the clerk sends the unit's form; the run once it has ended."""
    verdict = _send(stack, run, person, answer)
    assert verdict["status"] == "ACCEPT", verdict
    return _ended(run)


def _denials(stack: PrefectStack) -> list[sa.Row]:
    with transaction(stack.engine, writes=False) as conn:
        return list(conn.execute(sa.text("SELECT actor, target, reason FROM denial ORDER BY id")))


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
    assert REPORT in forms and REVIEW in forms
    assert not any(name.split("/")[1].startswith(("1a ", "1b ", "2a ", "3 ")) for name in forms)
    # step one asks nothing, not even who the clerk is; their unit's form comes with the run
    assert _schema(REPORT)["properties"] == {}


def test_a_signed_in_clerk_submits_then_sends_the_form_built_for_their_unit(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18712", "2024-Q1")
    before = _events(prefect_stack, oid)
    run = _waiting(prefect_stack, REPORT, "cb.18712")
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
        "description": "Đơn vị tính: lớp; Từ 0 trở lên",
    }
    assert figures["required"] == list(FIGURES)
    answer = {
        "period": "2024-Q1 · Quý I/2024 — hạn 15/03/2024",
        "figures": FIGURES,
        "narrative": "Quý I",
    }
    # another clerk may not resume it
    with prefect_stack.gate("cb.18673") as other:
        refused = other.post(f"/api/flow_runs/{run.id}/resume", json={"run_input": answer})
    assert refused.status_code == 403, refused.text
    done = _resume(prefect_stack, run, "cb.18712", answer)
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    assert done.name == "nop-bao-cao · 18712 Xã Nam Phúc Thăng · 1c · 2024-Q1"
    # the worker started the run forked from the run starter, which had imported the flows
    starter_log = (prefect_stack.var / "run-starter.log").read_text()
    assert f"started: python -m prefect.engine (flow run {run.id})" in starter_log
    last = _events(prefect_stack, oid)[-1]
    assert (last.version, last.kind, last.actor) == (len(before) + 1, "submitted", "cb.18712")
    assert last.channel == f"prefect-ui:{run.id}"
    assert '"leaflets":300' in last.payload
    receipt = prefect_stack.artifacts(run.id)["bien-nhan"].data
    assert "kỳ **Quý I/2024**, đơn vị **18712 Xã Nam Phúc Thăng**" in receipt
    assert "| Số tờ rơi | 300 | tờ |" in receipt and "Đã nộp, chờ xét" in receipt
    # the period handed in is no longer offered to the unit
    again, _ = _unit_form(_waiting(prefect_stack, REPORT, "cb.18712"))
    assert again["properties"]["period"]["enum"][0] == "2024-Q2 · Quý II/2024 — hạn 17/06/2024"
    assert not any(p.startswith("2024-Q1 ") for p in again["properties"]["period"]["enum"])


def test_a_run_created_on_the_prefect_api_without_the_gate_does_nothing(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever reaches the Prefect API another way (only the gate and the workers can) and
    names a clerk, in the gate's own label, with no grant, a made-up one or one another run
    spent: the run writes no event, fails with one Vietnamese line and no traceback, and the
    denial is recorded."""
    oid = obligation_id(prefect_stack.engine, "1c", "18712", "2024-Q4")
    before, denied = _events(prefect_stack, oid), len(_denials(prefect_stack))
    spent = prefect_stack.run_here(
        unit_work,
        monkeypatch,
        prefect_stack.start("viec-cua-don-vi/viec-cua-don-vi", "cb.18712", here=True),
    )
    assert spent.state is not None and spent.state.type == StateType.COMPLETED, spent.state
    claim = {ACTOR_LABEL: "cb.18712"}
    script = {"unit": "18712", "period": "2024-Q4", "figures": FIGURES, "narrative": "Quý IV"}
    runs = [
        prefect_stack.forged(REPORT, claim | extra, **script)
        for extra in ({}, {GRANT_LABEL: "bia-dat"}, {GRANT_LABEL: spent.labels[GRANT_LABEL]})
    ]
    for run in map(_ended, runs):
        assert run.state is not None and run.state.type == StateType.FAILED, run.state
        assert run.state.message == (
            "Lượt chạy này không được tạo qua cổng đăng nhập của dondoc nên không được ghi nhận."
        )
        assert "Traceback" not in _logs(run)
    assert _events(prefect_stack, oid) == before
    # the worker runs them in any order
    assert sorted((d.actor, d.target, d.reason) for d in _denials(prefect_stack)[denied:]) == (
        sorted(
            ("?", f"flow run {run.id}", reason)
            for run, reason in zip(
                runs,
                [
                    "carries no grant of the gate",
                    "carries no grant of the gate",
                    "carries a grant another run spent",
                ],
                strict=True,
            )
        )
    )


def test_a_unit_that_owes_nothing_is_told_so(prefect_stack: PrefectStack, forms: list[str]) -> None:
    lead = _waiting(prefect_stack, REPORT, "vhtt.lan")
    assert lead.state is not None and lead.state.type == StateType.FAILED
    assert lead.state.message == (
        "Đơn vị 446-VHTT Phòng Văn hóa - Thông tin huyện Cẩm Xuyên không có kỳ nào còn phải nộp "
        "«Báo cáo kết quả công tác tuyên truyền CCHC (quý, 6 tháng, năm)»."
    )


def test_a_clerk_cannot_submit_for_another_unit(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate refuses a clerk's start naming another unit; a run carrying the clerk's own
    grant that names it anyway is refused by the flow, in one line and without a traceback."""
    oid = obligation_id(prefect_stack.engine, "1c", "18673", "2024-Q1")
    before = _events(prefect_stack, oid)  # earlier tests may have chased it
    script = {
        "unit": "18673 · Thị trấn Cẩm Xuyên",
        "period": "2024-Q1",
        "figures": FIGURES,
        "narrative": "Quý I",
    }
    assert prefect_stack.ask(REPORT, "cb.18712", **script).status_code == 403
    run = _ended(prefect_stack.granted(REPORT, "cb.18712", **script))
    assert run.state is not None and run.state.type == StateType.FAILED
    # one Vietnamese line where the clerk is looking, what to do next, and no traceback
    assert run.state.message == (
        "Tài khoản cb.18712 thuộc đơn vị 18712, không nộp báo cáo thay đơn vị 18673 được."
    )
    advice = prefect_stack.artifacts(run.id)["tu-choi"].data
    assert "Việc cần làm: Đăng nhập dondoc" in advice and "`Unauthorized`" in advice
    assert "acts for" not in advice  # the administrator's detail names, in no English
    logs = _logs(run)
    assert "Traceback" not in logs and "Từ chối: Tài khoản cb.18712" in logs
    assert _events(prefect_stack, oid) == before
    with transaction(prefect_stack.engine, writes=False) as conn:
        denied = conn.execute(
            sa.text("SELECT count(*) FROM denial WHERE actor = 'cb.18712'")
        ).scalar_one()
    assert denied == 1


def _asked_again(run: FlowRun) -> FlowRun:
    """The run once it waits on a form again, after a Resume (which leaves it Paused no more:
    the server sets it Running at once, or schedules it if it was suspended)."""
    return _until(run, lambda state: state.is_paused() or state.is_final())


def test_a_wrong_answer_is_asked_again_with_what_was_typed_kept(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    """The clerk's answers the flow finds wrong (a negative figure: the form leaves bounds to
    the flow, which answers in Vietnamese; then a narrative of spaces) are
    asked again on the same form, the values typed kept and one line saying what to mend,
    each Resume with its own grant; the right one is recorded, with a receipt the clerk
    files. Resumed with a grant written for another clerk, a run is refused and says so on
    its badge and name. (Cẩm Nhượng, whose first quarter no other test hands in: the daily
    status test counts Yên Hòa's as overdue.)"""
    oid = obligation_id(prefect_stack.engine, "1c", "18709", "2024-Q1")
    before = _events(prefect_stack, oid)  # earlier tests may have chased it
    run = _waiting(prefect_stack, REPORT, "cb.18709")
    _unit_form(run)
    answer = {
        "period": "2024-Q1 · Quý I/2024 — hạn 15/03/2024",
        "figures": FIGURES,
        "narrative": "Quý I",
    }
    negative = answer | {"figures": {**FIGURES, "leaflets": -1}}
    assert _send(prefect_stack, run, "cb.18709", negative)["status"] == "ACCEPT"
    run = _asked_again(run)
    assert run.state is not None and run.state.is_paused(), run.state
    schema, description = _unit_form(run)
    assert description.startswith(
        "**Cần sửa:** Chỉ tiêu «Số tờ rơi» không được nhỏ hơn 0 (đã nhập «-1»).\n\n"
        "**18709 Xã Cẩm Nhượng** · "
    )
    assert schema["properties"]["period"]["default"] == answer["period"]
    typed = schema["properties"]["figures"]["properties"]
    assert {key: typed[key]["default"] for key in FIGURES} == {**FIGURES, "leaflets": -1}
    assert schema["properties"]["narrative"]["default"] == "Quý I"
    # the second answer, its own grant: the first one's was spent and is not asked again
    spaces = answer | {"narrative": "   "}
    assert _send(prefect_stack, run, "cb.18709", spaces)["status"] == "ACCEPT"
    run = _asked_again(run)
    assert run.state is not None and run.state.is_paused(), run.state
    schema, description = _unit_form(run)
    assert description.startswith("**Cần sửa:** Chưa nhập «")
    assert schema["properties"]["figures"]["properties"]["leaflets"]["default"] == 300
    assert _events(prefect_stack, oid) == before
    evidence = "https://cx.example/18709/bao-cao-q1.pdf"
    done = _resume(prefect_stack, run, "cb.18709", answer | {"evidence": evidence})
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    assert done.name == "nop-bao-cao · 18709 Xã Cẩm Nhượng · 1c · 2024-Q1"
    assert [e.kind for e in _events(prefect_stack, oid)[len(before) :]] == ["submitted"]
    receipt = prefect_stack.artifacts(run.id)["bien-nhan"].data
    assert "kỳ **Quý I/2024**, đơn vị **18709 Xã Cẩm Nhượng**" in receipt
    assert re.search(
        r"Nộp lúc \d\d/\d\d/\d{4} \d\d:\d\d · người nộp `cb.18709` · hạn nộp "
        r"15/03/2024 · \*\*trễ \d+ ngày\*\*",
        receipt,
    )
    assert "| Số tờ rơi | 300 | tờ |" in receipt and f"Minh chứng: {evidence}" in receipt
    assert not re.search(rf"nghĩa vụ #|phiên bản|{run.id}", receipt)

    # resumed on the Prefect API, with a grant for that very answer written for another
    # clerk: the run takes it from no one but its starter, writes nothing, records the denial
    other = _waiting(prefect_stack, REPORT, "cb.18709")
    _unit_form(other)
    q2 = answer | {"period": "2024-Q2 · Quý II/2024 — hạn 17/06/2024"}
    denied = len(_denials(prefect_stack))
    services.access.grant_resume(
        prefect_stack.settings,
        "cb.18673",
        str(other.id),
        hashlib.sha256(canonical_json(q2).encode()).hexdigest(),
        now=datetime.now(UTC),
    )
    resume_flow_run(other.id, run_input=q2)
    ended = _ended(other)
    assert ended.state is not None and ended.state.type == StateType.FAILED, ended.state
    assert ended.state.name == "Bị từ chối" and ended.name.endswith(" · bị từ chối")
    assert "Traceback" not in _logs(ended)
    assert [e.kind for e in _events(prefect_stack, oid)[len(before) :]] == ["submitted"]
    assert [(d.actor, d.reason) for d in _denials(prefect_stack)[denied:]] == [
        ("cb.18673", "was resumed by cb.18673, who neither started it nor administers")
    ]


def test_a_scripts_run_refuses_a_negative_figure_without_the_forms_check(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow itself, started through the gate with every parameter, as a script's run
    (a person with a session) with the server's check of the form switched off would be."""
    oid = obligation_id(prefect_stack.engine, "4c", "446-TTVHTT", "2024-Q1")
    before = _events(prefect_stack, oid)  # earlier tests may have chased it
    started = prefect_stack.start(
        "nop-bao-cao/4c · cam-xuyen-cchc-2024",
        "ttvhtt.minh",
        here=True,
        unit="446-TTVHTT · Trung tâm",
        period="2024-Q1",
        figures={**FIGURES, "seminars": -3},
        narrative="Quý I",
    )
    run = prefect_stack.run_here(submit_obligation, monkeypatch, started)
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
    desk = "viec-cua-don-vi/viec-cua-don-vi"
    assert "actor" not in _schema(desk)["properties"]  # the gate says who asks
    run = prefect_stack.run_here(
        unit_work, monkeypatch, prefect_stack.start(desk, "cb.18673", here=True, as_of="2024-06-12")
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    assert run.name == "viec-cua-don-vi · 18673 Thị trấn Cẩm Xuyên · 12/06/2024"
    # the lead office (its successor today) reads the same list; another commune may not
    lead = prefect_stack.run_here(
        unit_work,
        monkeypatch,
        prefect_stack.start(desk, "svhttdl.an", here=True, as_of="2024-06-12", unit="18673"),
    )
    assert lead.state is not None and lead.state.type == StateType.COMPLETED, lead.state
    assert prefect_stack.artifacts(lead.id)["viec-can-lam"].data == (
        prefect_stack.artifacts(run.id)["viec-can-lam"].data
    )
    # the gate turns another commune away at its door; a run with its grant naming the unit
    # anyway is refused by the flow
    assert prefect_stack.ask(desk, "cb.18712", unit="18673").status_code == 403
    other = prefect_stack.run_here(
        unit_work, monkeypatch, prefect_stack.granted(desk, "cb.18712", here=True, unit="18673")
    )
    assert other.state is not None and other.state.type == StateType.FAILED, other.state
    # the seed directive's lines (the stack's other tests may publish another for the unit)
    rows = [
        line
        for line in prefect_stack.artifacts(run.id)["viec-can-lam"].data.splitlines()
        if line.startswith("| **") and "cam-xuyen-cchc-2024" in line
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
    received = "vao-so-bao-cao-den/4b · cam-xuyen-cchc-2024"
    centre = "446-TTVHTT · Trung tâm Văn hóa - Truyền thông huyện Cẩm Xuyên"
    assert reporter in forms and _deployment(reporter) is not None
    assert received in forms and _deployment(received) is not None
    run = prefect_stack.run_here(
        submit_obligation,
        monkeypatch,
        prefect_stack.start(
            reporter,
            "ttvhtt.minh",
            here=True,
            unit=centre,
            period="once",
            figures={"reporter": "Lê Thị Hoà"},
        ),
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    # the run's own refresh looked at 4b only, and its forms are gone
    assert _deployment(reporter) is None and _deployment(received) is None
    assert reporter not in prefect_stack.sync().names
    # returned, the report is owed again: the decision's refresh brings the form back
    oid = obligation_id(prefect_stack.engine, "4b", "446-TTVHTT", "once")
    returned = prefect_stack.run_here(
        review_obligation,
        monkeypatch,
        prefect_stack.start(
            REVIEW,
            "svhttdl.an",
            here=True,
            obligation=str(oid),
            decision="Trả lại để bổ sung",
            reason="Thiếu số điện thoại",
        ),
    )
    assert returned.state is not None and returned.state.type == StateType.COMPLETED
    assert _deployment(reporter) is not None and _deployment(received) is not None


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
        prefect_stack.start(
            REVIEW, "vhtt.lan", here=True, obligation=str(oid), decision="Chấp nhận"
        ),
    )
    assert closed.state is not None and closed.state.type == StateType.FAILED, closed.state
    assert closed.state.message == (
        "Đơn vị 446-VHTT của tài khoản vhtt.lan đã ngừng hoạt động từ 01/07/2025: chỉ còn nộp "
        "được báo cáo còn nợ, không xét duyệt được."
    )
    # its successor in the register narrows to the commune's Q2 report (the requirement's
    # own periods, offered with it in one list), then decides
    review = _schema(REVIEW)["properties"]
    assert "period" not in review
    requirement = next(v for v in review["requirement"]["enum"] if v.startswith("1c/2024-Q2 · "))
    waiting = _waiting(
        prefect_stack,
        REVIEW,
        "svhttdl.an",
        requirement=requirement,
        unit="18682",
        status="Đã nộp, chờ xét",
    )
    schema, description = _unit_form(waiting)
    (offered,) = schema["properties"]["obligation"]["enum"]
    assert offered == f"{oid} · 18682 Xã Cẩm Dương · 1c · Quý II/2024 · Đã nộp, chờ xét"
    assert "| Số tờ rơi | 321 | tờ |" in description
    assert "Quý II: tờ rơi phát tận hộ" in description
    assert "Minh chứng: http://127.0.0.1/bao-cao-quy-2.pdf" in description
    assert "bởi `cb.18682`" in description
    done = _resume(
        prefect_stack, waiting, "svhttdl.an", {"obligation": offered, "decision": "Chấp nhận"}
    )
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
        started = prefect_stack.start(REVIEW, "svhttdl.an", here=True, **parameters)
        return prefect_stack.run_here(review_obligation, monkeypatch, started)

    run = review(unit="18673", period="once · Một lần", status="Đã nộp, chờ xét")
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    listed = prefect_stack.artifacts(run.id)["ho-so-xet-duyet"].data
    assert "**0 nghĩa vụ** khớp bộ lọc" in listed
    unknown = review(unit="99999")
    assert unknown.state is not None and unknown.state.type == StateType.FAILED
    assert unknown.state.message.startswith("Không có đơn vị mã 99999")


def test_the_review_desk_shows_nothing_to_one_who_decides_nothing(
    prefect_stack: PrefectStack, forms: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a commune's clerk (the commune merged on 01/07/2025): the gate keeps the desk's form
    # from them, and a run carrying their grant anyway shows nothing before the rights check
    assert prefect_stack.ask(REVIEW, "cb.18673", status="Đã nộp, chờ xét").status_code == 403
    run = prefect_stack.run_here(
        review_obligation,
        monkeypatch,
        prefect_stack.granted(REVIEW, "cb.18673", here=True, status="Đã nộp, chờ xét"),
    )
    assert run.state is not None and run.state.type == StateType.FAILED
    assert run.state.message.endswith("chỉ còn nộp được báo cáo còn nợ, không xét duyệt được."), (
        run.state.message
    )
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
    assert (one.names, one.written, one.deleted) == ([REPORT, RECEIVED], [], [])


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
    waiting = _waiting(prefect_stack, "nop-bao-cao/5 · cam-xuyen-cchc-2024", "vhtt.lan")
    schema, description = _unit_form(waiting)
    props = schema["properties"]
    assert props["period"]["default"].startswith("2024-Q1 · Quý I/2024")
    assert props["narrative"]["default"] == draft.narrative
    assert draft.narrative.startswith("Tổng hợp Quý I/2024, số liệu đến ngày 20/03/2024.")
    assert "đã được điền sẵn" in description
    done = _resume(
        prefect_stack,
        waiting,
        "vhtt.lan",
        {"period": props["period"]["default"], "narrative": props["narrative"]["default"]},
    )
    assert done.state is not None and done.state.type == StateType.COMPLETED, done.state
    submitted = _events(prefect_stack, own)[-1]
    assert (submitted.kind, submitted.actor) == ("submitted", "vhtt.lan")
    assert json.loads(submitted.payload)["narrative"] == draft.narrative

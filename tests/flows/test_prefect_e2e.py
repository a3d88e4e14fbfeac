"""End to end through a real Prefect server: the forms are deployments generated from dondoc's
database, and a run with the form's parameters (what the UI's "Custom run" sends) reaches the
same domain command and event log as the CLI."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError
from prefect.utilities.asyncutils import run_coro_as_sync

from models import ledger
from models.db import transaction
from tests.conftest import NOW, obligation_id
from tests.flows.conftest import PrefectStack

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
    schema = _schema(REPORT)
    figures = schema["properties"]["figures"]
    assert figures["properties"]["training_classes"] == {
        "title": "Số lớp tập huấn",
        "type": "integer",
        "minimum": 0,
        "description": "Đơn vị tính: lớp",
    }
    assert figures["required"] == list(FIGURES)
    assert "18712 · Xã Nam Phúc Thăng" in schema["properties"]["unit"]["enum"]
    assert len(schema["properties"]["unit"]["enum"]) == 21
    assert schema["properties"]["period"]["enum"] == [
        "2024-Q1",
        "2024-H1",
        "2024-Q2",
        "2024-Q3",
        "2024",
        "2024-H2",
        "2024-Q4",
    ]
    programmes = _schema("nop-bao-cao/4a · cam-xuyen-cchc-2024")["properties"]["figures"]
    assert programmes["properties"]["programmes"]["description"].endswith("ít nhất 1")


def test_a_submission_from_the_form_is_an_event_with_the_run_as_channel(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18712", "2024-Q1")
    before = _events(prefect_stack, oid)
    run = _run(
        REPORT,
        {
            "actor": "cb.18712",
            "unit": "18712 · Xã Nam Phúc Thăng",
            "period": "2024-Q1",
            "figures": FIGURES,
            "narrative": "Quý I",
        },
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    last = _events(prefect_stack, oid)[-1]
    assert (last.version, last.kind, last.actor) == (len(before) + 1, "submitted", "cb.18712")
    assert last.channel == f"prefect-ui:{run.id}"
    assert '"leaflets":300' in last.payload
    receipt = prefect_stack.artifacts(run.id)["bien-nhan"].data
    assert "| Số tờ rơi | 300 | tờ |" in receipt and "Đã nộp, chờ xét" in receipt


def test_another_units_actor_is_refused_in_the_run(
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


def test_a_negative_figure_is_refused_by_the_form_naming_the_field(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18679", "2024-Q1")
    before = _events(prefect_stack, oid)  # earlier tests may have chased it
    with pytest.raises(PrefectHTTPStatusError, match=r"figures\.leaflets") as refused:
        _run(
            REPORT,
            {
                "actor": "cb.18679",
                "unit": "18679 · Xã Yên Hòa",
                "period": "2024-Q1",
                "figures": {**FIGURES, "leaflets": -1},
                "narrative": "Quý I",
            },
        )
    assert "less than the minimum of 0" in str(refused.value)
    assert _events(prefect_stack, oid) == before


def test_the_flow_refuses_a_negative_figure_when_the_form_check_is_off(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    name = "nop-bao-cao/4c · cam-xuyen-cchc-2024"

    async def switch_off() -> None:
        async with get_client() as client:
            deployment = await client.read_deployment_by_name(name)
            await client.update_deployment(
                deployment.id, DeploymentUpdate(enforce_parameter_schema=False)
            )

    run_coro_as_sync(switch_off())
    oid = obligation_id(prefect_stack.engine, "4c", "446-TTVHTT", "2024-Q1")
    before = _events(prefect_stack, oid)  # earlier tests may have chased it
    run = _run(
        name,
        {
            "actor": "ttvhtt.minh",
            "unit": "446-TTVHTT · Trung tâm",
            "period": "2024-Q1",
            "figures": {**FIGURES, "seminars": -3},
            "narrative": "Quý I",
        },
    )
    assert run.state is not None and run.state.type == StateType.FAILED
    assert "không được nhỏ hơn 0 (đã nhập «-3»)" in (run.state.message or "")
    assert _events(prefect_stack, oid) == before


def test_the_forms_follow_what_is_still_open(prefect_stack: PrefectStack, forms: list[str]) -> None:
    reporter = "nop-bao-cao/4b · cam-xuyen-cchc-2024"
    centre = "446-TTVHTT · Trung tâm Văn hóa - Truyền thông huyện Cẩm Xuyên"
    run = _run(
        reporter,
        {
            "actor": "ttvhtt.minh",
            "unit": centre,
            "period": "once",
            "figures": {"reporter": "Lê Thị Hoà"},
        },
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    names = prefect_stack.sync().names
    assert reporter in forms and reporter not in names
    review = _schema("xet-duyet/cam-xuyen-cchc-2024")["properties"]["obligation"]["enum"]
    oid = obligation_id(prefect_stack.engine, "4b", "446-TTVHTT", "once")
    assert (
        f"{oid} · 446-TTVHTT Trung tâm Văn hóa - Truyền thông huyện Cẩm Xuyên · 4b · once"
        " · submitted" in review
    )


def test_the_lead_office_accepts_through_the_review_form(
    prefect_stack: PrefectStack, forms: list[str]
) -> None:
    oid = obligation_id(prefect_stack.engine, "1c", "18682", "2024-Q2")
    ledger.submit(
        prefect_stack.engine,
        oid,
        ledger.Issued("cb.18682", "q2", "test", NOW),
        figures=FIGURES,
        narrative="Quý II",
        evidence=None,
    )
    prefect_stack.sync()
    review = _schema("xet-duyet/cam-xuyen-cchc-2024")["properties"]
    choice = next(v for v in review["obligation"]["enum"] if v.startswith(f"{oid} · "))
    assert choice.endswith(" · submitted")
    # the district lead office closed on 01/07/2025: its successor in the register decides now
    closed = _run(
        "xet-duyet/cam-xuyen-cchc-2024",
        {"actor": "vhtt.lan", "obligation": choice, "decision": "accept · chấp nhận"},
    )
    assert closed.state is not None and closed.state.type == StateType.FAILED, closed.state
    assert closed.state.message == (
        "Đơn vị 446-VHTT của tài khoản vhtt.lan đã ngừng hoạt động từ 01/07/2025: chỉ còn nộp "
        "được báo cáo còn nợ, không chấp nhận được."
    )
    run = _run(
        "xet-duyet/cam-xuyen-cchc-2024",
        {"actor": "svhttdl.an", "obligation": choice, "decision": "accept · chấp nhận"},
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    assert [e.kind for e in _events(prefect_stack, oid)][-1] == "accepted"
    # the decision in the clerk's words, as the receipt says it
    decided = prefect_stack.artifacts(run.id)["quyet-dinh"].data
    assert "Trạng thái mới: **Đã chấp nhận**" in decided


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
    # the quarterly form still offers the same units and periods; only the review list changed
    refreshed = prefect_stack.sync()
    assert refreshed.written == ["xet-duyet/cam-xuyen-cchc-2024"]
    assert refreshed.deleted == [] and REPORT in refreshed.names

"""The scheduled runs over many directives with one broken among two healthy ones, on every
backend, as flow runs of one Prefect test server: the chase, the consolidation, the daily
status and the opening do the healthy ones' work (the chase's letters counted at a real SMTP
server), show the broken one in red in their artifact with one Vietnamese line, put the
technical detail in the run's log, and end Failed, counting it. (How a directive is broken,
and the services' side: tests/store/test_isolation.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogWorker
from prefect.states import State
from prefect.testing.utilities import prefect_test_harness
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import Engine

import flows.daily
from flows.chase import daily_chase
from flows.consolidate import consolidate_reports
from flows.daily import daily_status, open_periods
from tests.conftest import count
from tests.smtp import Server
from tests.store.test_isolation import (
    BROKEN,
    HEALTHY,
    break_ladder,
    break_stored_text,
    obligations,
    publish_three,
)

pytestmark = pytest.mark.slow
FAILED = f"1 chỉ thị không làm được ({BROKEN}); các chỉ thị khác đã làm xong."


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    """One Prefect test server for the module's runs."""
    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def env(
    harness: None, registered: Engine, smtp: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The flows' settings, as a worker reads them: the test's database, the SMTP server and
    folders of the test's own (returned: the outputs folder)."""
    values = {
        "DATABASE_URL": registered.url.render_as_string(hide_password=False),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_STARTTLS": "false",
        "MAIL_FROM": "dondoc@camxuyen.example",
        "OUTPUTS_DIR": str(tmp_path / "outputs"),
        "ANCHOR_DIR": str(tmp_path / "anchors"),
    }
    for name, value in values.items():
        monkeypatch.setenv(f"DONDOC_{name}", value)
    monkeypatch.delenv("DONDOC_OUTBOX_DIR", raising=False)
    return tmp_path / "outputs"


def artifacts(state: State[Any]) -> dict[str, Any]:
    """The artifacts of a run, by key: their markdown, or their table."""

    async def read() -> list[Any]:
        async with get_client() as client:
            run = ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            return await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=run))

    return {a.key: a.data for a in run_coro_as_sync(read()) or []}


def logged(state: State[Any]) -> str:
    """What the run logged, once the logs have reached the server."""
    APILogWorker.drain_all(timeout=60)
    with get_client(sync_client=True) as client:
        run = LogFilterFlowRunId(any_=[UUID(str(state.state_details.flow_run_id))])
        return "\n".join(log.message for log in client.read_logs(LogFilter(flow_run_id=run)))


def failed_as_said(state: State[Any], shown: str, work: str, detail: str) -> None:
    """The run ended Failed counting the broken directive, its artifact shows it in red with
    one Vietnamese line, and its log has the technical detail and where it came from."""
    assert state.is_failed() and state.message == FAILED, state
    line = f"{work} của chỉ thị {BROKEN} không làm được: "
    assert f'<span style="color:#c00">**{line}' in shown
    assert detail not in shown and "Traceback" not in shown
    log = logged(state)
    assert f"{BROKEN}: {detail}" in log and "Traceback (most recent call last)" in log


def test_the_chase_run_sends_the_healthy_letters_and_fails_naming_the_broken_one(
    env: Path, registered: Engine, smtp: Server
) -> None:
    publish_three(registered)
    break_ladder(registered)
    state = daily_chase(as_of=date(2024, 3, 18), return_state=True)
    shown = str(artifacts(state)["don-doc-2024-03-18"])
    failed_as_said(state, shown, "Đôn đốc", "InputError: chase: ban-hong: step nhac-nho")
    assert count(registered, "message") == len(smtp.inbox.received) > 0
    texts = [mail.get_body(("plain",)).get_content() for _, mail in smtp.inbox.received]
    assert all(f"[{BROKEN}]" not in text for text in texts)
    assert all(any(f"[{code}]" in text for text in texts) for code in HEALTHY)


def test_the_consolidation_run_drafts_the_healthy_reports_and_fails_naming_the_broken_one(
    env: Path, registered: Engine
) -> None:
    publish_three(registered)
    break_stored_text(registered)
    state = consolidate_reports(as_of=date(2024, 6, 20), return_state=True)
    shown = str(artifacts(state)["tong-hop-bao-cao-2024-06-20"])
    failed_as_said(state, shown, "Tổng hợp báo cáo", "ValidationError: ")
    for code in HEALTHY:
        assert f"## {code} · yêu cầu 5 · Quý II/2024" in shown
    assert sorted(p.name for p in env.iterdir()) == list(HEALTHY)


def test_the_status_run_tables_the_healthy_directives_and_fails_naming_the_broken_one(
    env: Path, registered: Engine
) -> None:
    publish_three(registered)
    break_stored_text(registered)
    state = daily_status(as_of=date(2024, 3, 18), return_state=True)
    found = artifacts(state)
    failed_as_said(
        state, str(found["trang-thai-loi"]), "Lập bảng tình hình thực hiện", "ValidationError: "
    )
    for code in HEALTHY:
        assert found[f"tuan-thu-{code}"] and found[f"ty-le-{code}"]
    assert f"tuan-thu-{BROKEN}" not in found and f"ty-le-{BROKEN}" not in found
    assert "neo-nhat-ky" in found


def test_the_opening_run_opens_the_healthy_directives_and_fails_naming_the_broken_one(
    env: Path, registered: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_three(registered, as_of=date(2024, 3, 31))
    break_stored_text(registered)
    before = obligations(registered)
    # the forms are refreshed as ever (tests/flows/test_scheduled_flows.py); not this test's
    monkeypatch.setattr(flows.daily, "refresh_forms", lambda: None)
    state = open_periods(as_of=date(2024, 12, 31), return_state=True)
    failed_as_said(state, str(artifacts(state)["mo-ky-moi-loi"]), "Mở kỳ mới", "ValidationError: ")
    after = obligations(registered)
    assert after[BROKEN] == before[BROKEN]
    assert all(after[code] > before[code] for code in HEALTHY)

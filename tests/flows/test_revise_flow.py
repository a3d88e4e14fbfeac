"""The withdrawing deployment through the gate and the worker: a preview of what it would
close, the administrator's confirmation, then the revision and the directive's history."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
from prefect.client.schemas.objects import FlowRun, StateType

from models.files.directive import parse_directive
from models.files.textfiles import parse_pasted_yaml
from models.storage import publishing, revisions
from tests.conftest import CALENDAR
from tests.flows.conftest import PrefectStack, paused_form

pytestmark = pytest.mark.slow
WITHDRAW = "bai-bo-chi-thi/bai-bo-chi-thi"
CODE = "vhtt-rut-2024"
# two communes' news items, month by month, two working days after the month
DIRECTIVE = f"""
code: {CODE}
document: {{issuer: "446", number: "13", symbol: KH-VHTT, date: 2024-01-05,
           subject: Báo cáo nhanh tin bài CCHC}}
lead: 446-VHTT
effective: {{from: 2024-01-01, until: 2024-03-31}}
requirements:
  - code: tin-bai
    title: Số tin bài CCHC trong tháng
    who: {{units: ["18712", "18673"]}}
    what:
      figures: [{{key: items, label: Số tin bài, type: integer, min: 0}}]
    schedule: [{{cadence: monthly, due: {{rule: working-days-after-end, days: 2}}}}]
    to: 446-VHTT
"""


def _until(stack: PrefectStack, run_id: Any, paused: bool) -> FlowRun:
    """The run once paused (or final), or final (or as it is after three minutes)."""
    deadline = time.monotonic() + 180
    while True:
        run = stack.read_run(run_id)
        state = run.state
        if state is not None and (state.is_final() or (paused and state.is_paused())):
            return run
        if time.monotonic() > deadline:
            return run
        time.sleep(1)


def test_an_administrator_withdraws_a_directive_after_its_preview(
    prefect_stack: PrefectStack,
) -> None:
    spec = parse_directive(parse_pasted_yaml(DIRECTIVE, "test"), "test")
    publishing.publish(
        prefect_stack.engine,
        spec,
        source="test",
        actor="admin.cx",
        as_of=date(2024, 3, 31),
        now=datetime(2024, 2, 20, 2, 0, tzinfo=UTC),
        calendar=CALENDAR,
    )
    started = prefect_stack.start(
        WITHDRAW,
        "admin.cx",
        code=CODE,
        dispatch="31/UBND-VHTT",
        dated="2024-02-20",
        from_date="2024-03-01",
        as_of="2024-02-20",
    )
    run = _until(prefect_stack, started.id, paused=True)
    assert run.state is not None and run.state.is_paused(), run.state
    schema, preview = paused_form(run.id)
    assert schema["properties"]["decision"]["enum"] == ["Xác nhận", "Hủy"]
    # January's report fell due on 02/02, before the withdrawal; February ends on Thursday
    # 29/02: due Monday 04/03; March on a Sunday: due Tuesday 02/04
    assert "| tin-bai | Tháng 02/2024 | không còn phải thực hiện | 04/03/2024 | — | 2 |" in preview
    assert "| tin-bai | Tháng 03/2024 | không còn phải thực hiện | 02/04/2024 | — | 2 |" in preview
    assert "Tháng 01/2024" not in preview
    assert revisions.history(prefect_stack.engine, CODE, source="test").revisions == []
    with prefect_stack.gate("admin.cx") as client:
        sent = client.post(
            f"/api/flow_runs/{run.id}/resume", json={"run_input": {"decision": "Xác nhận"}}
        )
    assert sent.status_code in (200, 201) and sent.json()["status"] == "ACCEPT", sent.text
    run = _until(prefect_stack, run.id, paused=False)
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    history = revisions.history(prefect_stack.engine, CODE, source="test")
    assert history.status == "withdrawn"
    assert [(r.kind, r.dispatch, r.made_by) for r in history.revisions] == [
        ("withdraw", "31/UBND-VHTT", "admin.cx")
    ]
    rows = json.loads(prefect_stack.artifacts(run.id)["lich-su"].data)
    assert [(r["lần"], r["loại"], r["văn bản"], r["áp dụng từ"], r["thay đổi"]) for r in rows] == [
        (1, "bãi bỏ", "31/UBND-VHTT", "01/03/2024", "bãi bỏ chỉ thị")
    ]

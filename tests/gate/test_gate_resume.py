"""A Resume the Prefect UI sends through the gate with an answer that does not fit the form
the run waits on (a required field left empty, a value of the wrong type, a choice the form
does not offer) gets the gate's answer in the shape of Prefect's own rejection, which the UI
shows where the clerk looks (the toast beside the form, still open): one Vietnamese line
naming the field by its title. Nothing reaches Prefect: the run stays paused, no answer is
stored and no grant given. An answer that fits still resumes the run."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from models.rules.deliverable import canonical_json
from tests.gate.conftest import CLERK, Stack
from tests.gate.test_gate_proxy import _grants
from tests.gate.test_gate_work import FIGURES, Q1, _pause, _schema, _state

NARRATIVE = "Đánh giá kết quả và các hình thức tuyên truyền khác"
ANSWER: dict[str, Any] = {
    "period": Q1,
    "figures": {key: int(value) for key, value in FIGURES.items()},
    "narrative": "Quý I: 3 lớp",
}


def _paused_run(stack: Stack) -> str:
    """A clerk's submission run, started as the UI's Run button does and paused on the
    form of their unit."""
    run = stack.start(CLERK, stack.submission)
    _pause(stack, run, _schema(stack, "18712"), "**18712 Xã Cẩm Vịnh** · 1c", "don-vi")
    return run


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (
            {key: value for key, value in ANSWER.items() if key != "narrative"},
            f"Chưa nhập «{NARRATIVE}».",
        ),
        (
            {**ANSWER, "figures": {**ANSWER["figures"], "leaflets": "năm trăm"}},
            "«Số tờ rơi» phải là số nguyên (đã nhập «năm trăm»).",
        ),
        (
            {**ANSWER, "period": "2023-Q4 · Quý IV/2023"},
            "Hãy chọn «Kỳ báo cáo» trong danh sách (đã nhập «2023-Q4 · Quý IV/2023»).",
        ),
    ],
    ids=["required field left empty", "wrong type", "outside the choices"],
)
def test_an_answer_that_does_not_fit_the_form_is_answered_in_vietnamese_and_not_sent(
    stack: Stack, answer: dict[str, Any], line: str
) -> None:
    run = _paused_run(stack)
    before = _state(stack, run)
    grants = _grants(stack)
    with stack.browser(CLERK) as browser:
        sent = browser.post(f"/api/flow_runs/{run}/resume", json={"run_input": answer})
    # Prefect's shape, whose reason the UI shows: the run's state as it is, REJECT, the line
    assert sent.status_code == 200, sent.text
    assert sent.json() == {
        "state": before,
        "status": "REJECT",
        "details": {"type": "abort_details", "reason": line},
    }
    assert _state(stack, run) == before
    stored = stack.prefect.client.get(f"/api/flow_runs/{run}/input/suspended-don-vi-response")
    assert stored.status_code == 404
    assert _grants(stack) == grants


def test_an_answer_that_fits_the_form_still_resumes_the_run(stack: Stack) -> None:
    run = _paused_run(stack)
    # a field neither required nor filled in may come as null, as Prefect takes it
    answer = {**ANSWER, "evidence": None}
    with stack.browser(CLERK) as browser:
        sent = browser.post(f"/api/flow_runs/{run}/resume", json={"run_input": answer})
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "ACCEPT"
    assert _state(stack, run)["type"] != "PAUSED"
    digest = hashlib.sha256(canonical_json(answer).encode()).hexdigest()
    assert _grants(stack)[-1] == ("resume", CLERK, None, run, digest)

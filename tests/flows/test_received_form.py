"""The lead office's form for a report that arrived on paper, by official e-mail or through the
document system, through the gate and a real Prefect server: its Vietnamese form (one per
requirement, asking for that requirement's own figures as the clerk's form does), a clerk
turned away at the gate's door, an arrival day after the entry refused in Vietnamese with
nothing written, and a report entered years later on time by its arrival day. The person
entering it is the one the gate signed in (today the province's department holds the
district lead office's role)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pendulum
import pytest
import sqlalchemy as sa
from prefect.client.schemas.objects import StateType

from flows.received import record_received
from models.storage.db import transaction
from tests.conftest import obligation_id
from tests.flows.conftest import PrefectStack
from tests.flows.test_prefect_e2e import FIGURES, _events, _schema

pytestmark = pytest.mark.slow
RECEIVE = "vao-so-bao-cao-den/1c · cam-xuyen-cchc-2024"


def test_the_lead_office_enters_a_paper_report_with_its_arrival_day(
    prefect_stack: PrefectStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefect_stack.sync()
    schema = _schema(RECEIVE)
    fields = schema["properties"]
    assert fields["arrived"] == {
        "title": "Ngày đến",
        "type": "string",
        "format": "date",
        "position": 4,
    }
    assert fields["channel"]["enum"] == [
        "giay · Giấy",
        "thu-dien-tu · Thư điện tử công vụ",
        "he-thong-van-ban · Hệ thống quản lý văn bản",
    ]
    assert "2024-Q1 · Quý I/2024" in fields["period"]["enum"]
    assert "actor" not in fields  # the gate says who enters it
    # the requirement's own figures, labelled as on the clerk's form, not a box of keys
    figures = fields["figures"]["properties"]
    assert set(figures) == set(FIGURES)
    assert figures["leaflets"] == {
        "title": "Số tờ rơi",
        "type": "integer",
        "description": "Đơn vị tính: tờ; Từ 0 trở lên",
    }
    assert "directive" not in fields and "requirement" not in fields

    oid = obligation_id(prefect_stack.engine, "1c", "18706", "2024-Q1")
    report: dict[str, Any] = {
        "unit": "18706",
        "period": "2024-Q1 · Quý I/2024",
        "channel": "giay · Giấy",
        "number": "12/BC-UBND",
        "figures": FIGURES,
        "narrative": "Quý I: tổ chức 2 lớp tập huấn",
        "reason": "Văn bản giấy nay mới chuyển đến bộ phận theo dõi",
    }
    # a unit's clerk may not start it at all
    refused = prefect_stack.ask(RECEIVE, "cb.18706", arrived="2024-03-14", **report)
    assert refused.status_code == 403, refused.text

    today = pendulum.now("Asia/Ho_Chi_Minh").date()
    tomorrow = today + timedelta(days=1)
    early = prefect_stack.run_here(
        record_received,
        monkeypatch,
        prefect_stack.start(RECEIVE, "svhttdl.an", here=True, arrived=str(tomorrow), **report),
    )
    assert early.state is not None and early.state.type == StateType.FAILED, early.state
    assert early.state.message == (
        f"Ngày đến {tomorrow:%d/%m/%Y} muộn hơn ngày vào sổ {today:%d/%m/%Y}: báo cáo chưa thể "
        "đến sau ngày ghi nhận."
    )
    assert len(_events(prefect_stack, oid)) == 1  # its `created` event alone

    run = prefect_stack.run_here(
        record_received,
        monkeypatch,
        prefect_stack.start(RECEIVE, "svhttdl.an", here=True, arrived="2024-03-14", **report),
    )
    assert run.state is not None and run.state.type == StateType.COMPLETED, run.state
    assert run.name == "vao-so-bao-cao-den · svhttdl.an · 18706 · 1c · 2024-Q1"
    last = _events(prefect_stack, oid)[-1]
    assert (last.kind, last.actor, last.channel) == (
        "submitted",
        "svhttdl.an",
        f"prefect-ui:{run.id}",
    )
    assert json.loads(last.payload)["received"]["arrived"] == "2024-03-14"
    with transaction(prefect_stack.engine, writes=False) as conn:
        arrived = conn.execute(
            sa.text("SELECT handed_in_on FROM obligation WHERE id = :o"), {"o": oid}
        ).scalar_one()
    assert arrived in (date(2024, 3, 14), "2024-03-14")  # SQLite hands a raw text back
    receipt = prefect_stack.artifacts(run.id)["bien-nhan"].data
    assert "Đến ngày 14/03/2024 qua giấy · văn bản số 12/BC-UBND" in receipt
    assert "hạn nộp 15/03/2024 · **đúng hạn** · **Đã nộp, chờ xét**" in receipt

"""The generated form schemas, without a Prefect server."""

from __future__ import annotations

from pathlib import Path

from flows.forms import MAX_CHOICES, choice, code_of, review_schema, submission_schema
from models.directive import load_directive
from models.queries import AwaitingReview, OpenWork

SEED = Path(__file__).resolve().parents[2] / "directives" / "cam-xuyen-cchc-2024.yaml"


def _work(code: str, periods: list[str]) -> OpenWork:
    spec = next(r for r in load_directive(SEED).requirements if r.code == code)
    return OpenWork(
        "cam-xuyen-cchc-2024",
        code,
        spec.title,
        spec.model_dump_json(),
        periods,
        [("18679", "Xã Yên Hòa"), ("18712", "Xã Nam Phúc Thăng")],
    )


def test_a_report_form_carries_the_requirements_own_figures_units_and_open_periods() -> None:
    schema = submission_schema(_work("1c", ["2024-Q2", "2024-H1"]))
    props = schema["properties"]
    assert props["unit"]["enum"] == ["18679 · Xã Yên Hòa", "18712 · Xã Nam Phúc Thăng"]
    assert props["period"]["enum"] == ["2024-Q2", "2024-H1"]
    assert list(props["figures"]["properties"]) == [
        "training_classes",
        "seminars",
        "news_items",
        "leaflets",
        "documents",
        "other_forms",
    ]
    assert props["figures"]["properties"]["leaflets"] == {
        "title": "Số tờ rơi",
        "type": "integer",
        "minimum": 0,
        "description": "Đơn vị tính: tờ",
    }
    assert props["narrative"]["minLength"] == 1  # required by the directive
    assert "minLength" not in props["evidence"]  # optional
    assert schema["required"] == ["actor", "unit", "period", "figures", "narrative"]


def test_a_form_without_figures_or_with_text_only() -> None:
    consolidation = submission_schema(_work("5", ["2024-Q1"]))["properties"]
    assert "figures" not in consolidation and consolidation["narrative"]["title"] == (
        "Báo cáo tổng hợp"
    )
    reporter = submission_schema(_work("4b", ["once"]))["properties"]["figures"]
    assert reporter["properties"]["reporter"] == {
        "title": "Họ và tên phóng viên chuyên trách CCHC",
        "type": "string",
    }
    assert "narrative" not in submission_schema(_work("4b", ["once"]))["properties"]


def test_the_review_form_lists_what_can_be_decided_until_the_list_is_too_long() -> None:
    waiting = [AwaitingReview(7, "submitted", "18712", "Xã Nam Phúc Thăng", "1c", "2024-Q1")]
    obligation = review_schema(waiting)["properties"]["obligation"]
    assert obligation["enum"] == ["7 · 18712 Xã Nam Phúc Thăng · 1c · 2024-Q1 · submitted"]
    assert code_of(obligation["enum"][0]) == "7"
    many = review_schema(waiting * (MAX_CHOICES + 1))["properties"]["obligation"]
    assert "enum" not in many and many["type"] == "string"


def test_choices_read_back_to_their_code() -> None:
    assert code_of(choice("446-TTVHTT", "Trung tâm Văn hóa - Truyền thông")) == "446-TTVHTT"
    assert code_of("18679") == "18679"

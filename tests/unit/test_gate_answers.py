"""The gate's check of an answer to a paused run's form (`gate.answers`): it takes exactly
what Prefect's server takes, for each form a clerk, reviewer or administrator answers; what
it does not take is told in one Vietnamese line naming the field by its title, worded by the
kind of check that failed; and it fetches nothing a schema refers to elsewhere."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from prefect.utilities.schema_tools import validate

from flows.forms import decision_schema, unit_form_schema
from flows.publish import Confirmation
from gate.answers import mend_line
from models.storage.review import Cases
from tests.unit.test_forms import _case, _owed, _spec

Q1 = "2024-Q1 · Quý I/2024 — hạn 15/03/2024"
UNIT_FORM = unit_form_schema(_spec("1c"), [_owed("2024-Q1", date(2024, 3, 15))])
FIGURES = dict.fromkeys(UNIT_FORM["properties"]["figures"]["properties"], 1)
NARRATIVE = "Đánh giá kết quả và các hình thức tuyên truyền khác"
DECISION_FORM = decision_schema(Cases(2, [_case(7), _case(8, "overdue")]))
CASE = DECISION_FORM["properties"]["obligation"]["enum"][0]
CONFIRMATION = Confirmation.model_json_schema(by_alias=True)

ANSWERS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (UNIT_FORM, {"period": Q1, "figures": FIGURES, "narrative": "Quý I"}),
    (UNIT_FORM, {"period": Q1, "figures": FIGURES, "narrative": "", "evidence": None}),
    (UNIT_FORM, {"period": Q1, "figures": FIGURES, "narrative": "Quý I", "other": 1}),
    (UNIT_FORM, {"period": Q1, "figures": FIGURES}),
    (UNIT_FORM, {"period": Q1, "figures": FIGURES, "narrative": None}),
    (UNIT_FORM, {"period": Q1, "figures": {**FIGURES, "leaflets": -5}, "narrative": "Quý I"}),
    (UNIT_FORM, {"period": Q1, "figures": {**FIGURES, "leaflets": 2.5}, "narrative": "Quý I"}),
    (UNIT_FORM, {"period": Q1, "figures": {**FIGURES, "leaflets": None}, "narrative": "x"}),
    (UNIT_FORM, {"period": "2023-Q4", "figures": FIGURES, "narrative": "Quý I"}),
    (UNIT_FORM, {"period": Q1, "figures": [], "narrative": "Quý I"}),
    (DECISION_FORM, {"obligation": CASE, "decision": "Chấp nhận"}),
    (DECISION_FORM, {"obligation": CASE, "decision": "Gia hạn", "new_due": "2024-04-30"}),
    (DECISION_FORM, {"obligation": CASE, "decision": "Gia hạn", "new_due": None}),
    (DECISION_FORM, {"obligation": CASE, "decision": "Gia hạn", "new_due": "30/04/2024"}),
    (DECISION_FORM, {"obligation": CASE, "decision": "Duyệt"}),
    (DECISION_FORM, {"obligation": CASE, "decision": "Trả lại để bổ sung", "reason": 3}),
    (CONFIRMATION, {"decision": "Công bố"}),
    (CONFIRMATION, {"decision": "Công bố", "other": 1}),
    (CONFIRMATION, {}),
]


@pytest.mark.parametrize(("schema", "answer"), ANSWERS)
def test_the_gate_takes_what_prefects_server_takes(
    schema: dict[str, Any], answer: dict[str, Any]
) -> None:
    assert (mend_line(schema, answer) is None) == (validate(answer, schema) == [])


@pytest.mark.parametrize(
    ("schema", "answer", "line"),
    [
        (UNIT_FORM, {"period": Q1, "figures": FIGURES}, f"Chưa nhập «{NARRATIVE}»."),
        (
            UNIT_FORM,
            {"period": Q1, "figures": FIGURES, "narrative": None},
            f"Chưa nhập «{NARRATIVE}».",
        ),
        (
            UNIT_FORM,
            {"period": Q1, "figures": {**FIGURES, "leaflets": None}, "narrative": "x"},
            "Chưa nhập «Số tờ rơi».",
        ),
        (
            UNIT_FORM,
            {"period": Q1, "figures": {**FIGURES, "leaflets": 2.5}, "narrative": "x"},
            "«Số tờ rơi» phải là số nguyên (đã nhập «2.5»).",
        ),
        (
            UNIT_FORM,
            {"period": Q1, "figures": "3 lớp", "narrative": "x"},
            "«Số liệu» phải là một nhóm trường (đã nhập «3 lớp»).",
        ),
        (
            UNIT_FORM,
            {"period": Q1, "figures": FIGURES, "narrative": "x", "evidence": 5},
            "«Đường dẫn báo cáo CCHC của địa phương» phải là chữ (đã nhập «5»).",
        ),
        (
            DECISION_FORM,
            {"obligation": CASE, "decision": "Gia hạn", "new_due": "30/04/2024"},
            "«Hạn mới (khi gia hạn)» phải là ngày dạng YYYY-MM-DD (đã nhập «30/04/2024»).",
        ),
        (
            DECISION_FORM,
            {"obligation": CASE, "decision": "Duyệt"},
            "Hãy chọn «Quyết định» trong danh sách (đã nhập «Duyệt»).",
        ),
        (CONFIRMATION, {}, "Chưa nhập «Quyết định»."),
        (CONFIRMATION, {"decision": "Hủy", "ghi_chu": "x"}, "Biểu mẫu không có ô «ghi_chu»."),
    ],
)
def test_what_the_forms_do_not_take_is_one_vietnamese_line_naming_the_field(
    schema: dict[str, Any], answer: dict[str, Any], line: str
) -> None:
    assert mend_line(schema, answer) == line


def _field(**check: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"x": {"title": "Số hộ", **check}},
        "required": ["x"],
    }


@pytest.mark.parametrize(
    ("check", "value", "line"),
    [
        ({"type": "number", "minimum": 0}, -5, "«Số hộ» không được nhỏ hơn 0 (đã nhập «-5»)."),
        (
            {"type": "number", "maximum": 100},
            120,
            "«Số hộ» không được lớn hơn 100 (đã nhập «120»).",
        ),
        ({"type": "number", "exclusiveMinimum": 0}, 0, "«Số hộ» phải lớn hơn 0 (đã nhập «0»)."),
        ({"type": "string", "maxLength": 3}, "abcd", "«Số hộ» dài quá 3 ký tự."),
        ({"type": "string", "minLength": 2}, "a", "«Số hộ» cần ít nhất 2 ký tự (đã nhập «a»)."),
        ({"type": "boolean"}, "có", "«Số hộ» phải là có hoặc không (đã nhập «có»)."),
        (
            {"type": "string", "pattern": "^[0-9]+$"},
            "x" * 50,
            f"«Số hộ» không hợp lệ (đã nhập «{'x' * 40}…»).",
        ),
        ({"type": "integer"}, True, "«Số hộ» phải là số nguyên."),
    ],
)
def test_each_kind_of_check_has_its_words(check: dict[str, Any], value: object, line: str) -> None:
    assert mend_line(_field(**check), {"x": value}) == line


def test_a_schema_that_refers_elsewhere_is_left_to_prefect_and_nothing_is_fetched() -> None:
    schema = _field(**{"$ref": "http://192.0.2.1/schema.json"})
    assert mend_line(schema, {"x": 1}) is None

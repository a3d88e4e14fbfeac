"""What is wrong with a directive, in one Vietnamese line: the requirement by its number and
code, the field by its Vietnamese label, the problem by the kind of error; never pydantic's
path, its English, nor "(got None)"."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from models.errors import InputError
from models.files.directive import (
    DirectiveSpec,
    Document,
    RequirementSpec,
    Schedule,
    Selector,
    Window,
    parse_directive,
)
from models.files.directive_words import FIELDS
from models.rules.deliverable import Deliverable, Figure, Target, TextPart
from models.rules.ladder import Step
from models.rules.periods import DateInPeriod, DayOfMonth, ExplicitDate, WorkingDaysAfterEnd
from tests.unit.test_directive_files import Data, Mutation, _parent, drop, put, seed_data

R1C = "requirements[2]"


def misspell(path: str, new: str) -> Mutation:
    def mutate(data: Data) -> None:
        node, key = _parent(data, path)
        node[new] = node.pop(key)

    return mutate


# the seed's third requirement, 1c
CASES = [
    pytest.param(
        misspell(f"{R1C}.schedule[0].cadence", "cadance"),
        "Nhiệm vụ 3 (1c), lịch báo cáo 1: trường 'cadance' không có trong mẫu — có phải "
        "'cadence' (chu kỳ)?",
        id="extra",
    ),
    pytest.param(
        drop(f"{R1C}.title"),
        "Nhiệm vụ 3 (1c): thiếu tên nhiệm vụ ('title').",
        id="missing",
    ),
    pytest.param(
        drop("lead"),
        "Chỉ thị: thiếu cơ quan chủ trì ('lead').",
        id="missing-at-the-top",
    ),
    pytest.param(
        put(f"{R1C}.schedule[1].due.day", "mười lăm"),
        "Nhiệm vụ 3 (1c), lịch báo cáo 2, hạn nộp, ngày: phải là số nguyên (đã nhập «mười lăm»).",
        id="wrong-type",
    ),
    pytest.param(
        put(f"{R1C}.what.figures[3].min", "không"),
        "Nhiệm vụ 3 (1c), nội dung báo cáo, chỉ tiêu 4 (leaflets), giá trị nhỏ nhất: phải là "
        "một số (đã nhập «không»).",
        id="wrong-type-of-bound",
    ),
    pytest.param(
        put(f"{R1C}.schedule[0].cadence", "hằng quý"),
        "Nhiệm vụ 3 (1c), lịch báo cáo 1, chu kỳ: phải là một trong: 'monthly', 'quarterly', "
        "'6-monthly', '9-monthly', 'yearly', 'once', 'standing' (đã nhập «hằng quý»).",
        id="enum",
    ),
    pytest.param(
        put(f"{R1C}.what.figures[0].type", "int"),
        "Nhiệm vụ 3 (1c), nội dung báo cáo, chỉ tiêu 1 (training_classes), kiểu: phải là một "
        "trong: 'integer', 'number', 'text', 'boolean' (đã nhập «int»).",
        id="literal",
    ),
    pytest.param(
        put(f"{R1C}.schedule[0].due", {"rule": "sau-ky", "day": 15}),
        "Nhiệm vụ 3 (1c), lịch báo cáo 1, hạn nộp: quy tắc «sau-ky» không có; chọn một trong: "
        "'working-days-after-end', 'day-of-month', 'date-in-period', 'date'.",
        id="due-rule",
    ),
    pytest.param(
        put(f"{R1C}.schedule[0].due.day", 32),
        "Nhiệm vụ 3 (1c), lịch báo cáo 1, hạn nộp, ngày: không được lớn hơn 31 (đã nhập «32»).",
        id="above-bound",
    ),
    pytest.param(
        put("requirements[6].schedule[0].due.days", -2),
        "Nhiệm vụ 7 (4a), lịch báo cáo 1, hạn nộp, số ngày làm việc: không được nhỏ hơn 0 "
        "(đã nhập «-2»).",
        id="below-bound",
    ),
    pytest.param(
        put(f"{R1C}.title", "  "),
        "Nhiệm vụ 3 (1c), tên nhiệm vụ: không được để trống (đã nhập «»).",
        id="empty",
    ),
    pytest.param(
        put("requirements[5].code", "mục 3"),
        "Nhiệm vụ 6 (mục 3), mã nhiệm vụ: chỉ gồm chữ cái không dấu, chữ số và các dấu . _ -, "
        "bắt đầu bằng chữ hoặc số (đã nhập «mục 3»).",
        id="pattern",
    ),
    pytest.param(
        put(
            "requirements[1].schedule",
            [{"cadence": "standing", "due": {"rule": "date", "date": "2024-03-01"}}],
        ),
        "Nhiệm vụ 2 (1b), lịch báo cáo 1: nhiệm vụ thường xuyên không có hạn nộp.",
        id="a-check-of-the-directive",
    ),
    pytest.param(
        put("requirements[6].code", "1c"),
        "Nhiệm vụ 7 (1c), mã nhiệm vụ: trùng mã với nhiệm vụ 3.",
        id="repeated-code",
    ),
]


def _refused(mutation: Mutation) -> InputError:
    data = seed_data()
    mutation(data)
    with pytest.raises(InputError) as refused:
        parse_directive(data, "form")
    return refused.value


@pytest.mark.parametrize(("mutation", "line"), CASES)
def test_each_kind_of_error_reads_as_a_vietnamese_line(mutation: Mutation, line: str) -> None:
    assert _refused(mutation).vi == line


def test_a_misspelt_key_is_named_once_and_never_as_got_none() -> None:
    """The missing `cadence` is the misspelt `cadance`: one line says so, not two; the
    English for the command line names the path without "(got None)"."""
    refused = _refused(misspell(f"{R1C}.schedule[0].cadence", "cadance"))
    assert refused.vi is not None and refused.vi.count("cadence") == 1
    assert "(got None)" not in str(refused)


def test_several_errors_are_all_told_in_one_line() -> None:
    data = seed_data()
    drop("lead")(data)
    put(f"{R1C}.schedule[0].due.day", 32)(data)
    with pytest.raises(InputError) as refused:
        parse_directive(data, "form")
    assert refused.value.vi == (
        "Chỉ thị: thiếu cơ quan chủ trì ('lead'). Nhiệm vụ 3 (1c), lịch báo cáo 1, hạn nộp, "
        "ngày: không được lớn hơn 31 (đã nhập «32»)."
    )


PARTS: dict[str, list[type[BaseModel]]] = {
    "directive": [DirectiveSpec],
    "document": [Document],
    "window": [Window],
    "requirement": [RequirementSpec],
    "selector": [Selector],
    "deliverable": [Deliverable],
    "figure": [Figure],
    "target": [Target],
    "text": [TextPart],
    "schedule": [Schedule],
    "due": [WorkingDaysAfterEnd, DayOfMonth, DateInPeriod, ExplicitDate],
    "step": [Step],
}


@pytest.mark.parametrize("part", PARTS)
def test_every_field_of_a_directive_has_its_vietnamese_label(part: str) -> None:
    fields: set[Any] = {
        info.alias or name for model in PARTS[part] for name, info in model.model_fields.items()
    }
    assert set(FIELDS[part]) == fields

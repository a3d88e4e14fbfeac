"""A directive written in the publishing form: the form holds what a file holds, so the seed
written in the form is the seed; its schema keeps to what the Prefect UI renders well, with
the register's lists as dropdowns and an example filled in; its errors read as the file's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from models.errors import InputError
from models.files.directive import load_directive, parse_directive
from models.files.directive_form import (
    DirectiveForm,
    as_form,
    directive_data,
    form_schema,
    register_lists,
)
from models.files.registry import read_units
from tests.conftest import ROOT, SEED, UNITS
from tests.unit.test_directive_files import seed_data

LISTS = register_lists(read_units(UNITS))
# the seed district's register with the national one of 2025 over it
NATIONAL = register_lists(
    list(
        {
            u.code: u
            for u in (*read_units(UNITS), *read_units(ROOT / "directives/units/vietnam-2025.csv"))
        }.values()
    )
)


def _nodes(node: Any) -> list[Any]:
    """Every object of a JSON schema, nested ones included."""
    if isinstance(node, dict):
        return [node, *(n for value in node.values() for n in _nodes(value))]
    if isinstance(node, list):
        return [n for value in node for n in _nodes(value)]
    return []


def test_the_seed_written_in_the_form_is_the_seed() -> None:
    """Every field of the seed file has its place in the form, its dropdowns' values with
    their words ("quarterly · hằng quý", "446 · Ủy ban nhân dân huyện Cẩm Xuyên"): what the
    form sends becomes the same directive, to the hash."""
    form = as_form(seed_data(), LISTS)
    assert form["document"]["issuer"] == "446 · Ủy ban nhân dân huyện Cẩm Xuyên"
    assert form["requirements"][2]["schedule"][0]["cadence"] == "quarterly · hằng quý"
    sent = DirectiveForm.model_validate(form).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    spec = parse_directive(directive_data(sent), "form")
    assert spec.canonical_json() == load_directive(SEED).canonical_json()


def test_the_form_renders_without_null_alternatives_and_with_the_registers_lists() -> None:
    schema = form_schema(LISTS, ["directives/cam-xuyen-cchc-2024.yaml"])
    definitions = schema["$defs"]
    nodes = _nodes(schema)
    # an optional field is left empty, not offered as "None"; no bound is the UI's to check
    assert not any(n.get("type") == "null" for n in nodes)
    assert not any({"minimum", "maximum", "pattern"} & set(n) for n in nodes)
    document = definitions["DocumentForm"]["properties"]
    assert document["issuer"]["enum"] == LISTS["offices"]
    assert "18679 · Xã Yên Hòa" not in LISTS["offices"]  # communes are typed, not listed
    who = definitions["WhoForm"]["properties"]
    assert who["kinds"]["items"]["enum"] == LISTS["kinds"]
    assert "xa · xã" in LISTS["kinds"]
    # fields in the order of a file, whatever order the server keeps the schema's keys in
    requirement = definitions["RequirementForm"]["properties"]
    assert sorted(requirement, key=lambda k: requirement[k]["position"])[:4] == [
        "code",
        "title",
        "description",
        "who",
    ]
    assert "description" not in definitions["DirectiveForm"]  # no docstring shown
    schedule = definitions["ScheduleForm"]["properties"]
    assert "quarterly · hằng quý" in schedule["cadence"]["enum"]
    # one tab per due rule, titled in Vietnamese, its rule already chosen
    rules = [definitions[ref["$ref"].rsplit("/", 1)[1]] for ref in schedule["due"]["anyOf"]]
    assert [r["properties"]["rule"]["default"] for r in rules] == [
        "working-days-after-end",
        "day-of-month",
        "date-in-period",
        "date",
    ]
    assert rules[1]["title"] == "Một ngày của tháng kết thúc kỳ"
    # the directive is written in the form, or a file, or pasted YAML
    tabs = schema["properties"]["directive"]["anyOf"]
    assert [t.get("title") for t in tabs[1:]] == ["Tệp chỉ thị của dự án", "Dán nội dung YAML"]
    assert definitions["DirectiveForm"]["title"] == "Soạn chỉ thị theo biểu mẫu"
    json.dumps(schema)  # what the deployment stores


def test_the_example_filled_in_is_a_directive_of_todays_map() -> None:
    example = form_schema(NATIONAL, [])["properties"]["directive"]["default"]
    assert example["lead"].startswith("42-SVHTTDL · ")
    spec = parse_directive(directive_data(example), "form")
    assert spec.requirements[0].who.kinds == ["xa", "phuong"]
    assert spec.requirements[0].schedule[0].convention.value == "decree-09-2019"


def test_a_mistake_in_the_form_reads_as_the_files() -> None:
    form = as_form(seed_data(), LISTS)
    del form["requirements"][2]["title"]
    form["requirements"][2]["schedule"][0]["due"]["day"] = 32
    with pytest.raises(InputError) as refused:
        parse_directive(directive_data(form), "form")
    assert refused.value.vi == (
        "Nhiệm vụ 3 (1c): thiếu tên nhiệm vụ ('title'). Nhiệm vụ 3 (1c), lịch báo cáo 1, hạn "
        "nộp, ngày: không được lớn hơn 31 (đã nhập «32»)."
    )

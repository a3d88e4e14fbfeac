"""A directive written in a form: the publishing form's fields, in Vietnamese, as the Prefect UI
renders them, and what they become.

The form holds the fields of a directive file under the same keys, so that what it sends is
a directive file's content once the labels of its dropdowns are taken off (`directive_data`),
and goes through the same validation (`parse_directive`), with the same Vietnamese errors.
Where the domain has a list, the form offers it: the register's offices (its units that are
not communes: a dropdown of 3,321 communes is no use) as issuer, lead office, recipient and
"under", its kinds of unit, the cadences, conventions, due rules and figure types. The units
one by one are typed (codes). An escalation ladder is for files and pasted YAML.

The schema keeps to what the UI renders well: nested objects, lists of objects ("Add item"),
enums as dropdowns (a list of them as a multiple choice), a due rule as one tab per rule; no
`null` alternatives (an empty field is left out), no bounds (the flow checks them and says
what is wrong in Vietnamese).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from models.files.registry import UnitRow

# A dropdown's value is its code, then its words: "quarterly · hằng quý", "42 · Ủy ban…".
SEPARATOR = " · "
CADENCES = {
    "monthly": "hằng tháng",
    "quarterly": "hằng quý",
    "6-monthly": "6 tháng",
    "9-monthly": "9 tháng",
    "yearly": "hằng năm",
    "once": "một lần",
    "standing": "thường xuyên, không có hạn nộp",
}
CONVENTIONS = {
    "calendar": "theo tháng dương lịch",
    "decree-09-2019": "theo Nghị định 09/2019/NĐ-CP (từ ngày 15 tháng trước đến ngày 14)",
}
FIGURE_TYPES = {"integer": "số nguyên", "number": "số", "text": "chữ", "boolean": "có / không"}
ROLLS = {
    "following": "lùi sang ngày làm việc kế tiếp",
    "preceding": "đưa về ngày làm việc liền trước",
    "none": "giữ nguyên ngày đã ghi",
}
KINDS = {
    "tinh": "tỉnh",
    "thanh_pho_trung_uong": "thành phố trực thuộc trung ương",
    "ubnd_tinh": "UBND tỉnh",
    "ubnd_huyen": "UBND huyện",
    "so": "sở",
    "phong": "phòng",
    "trung_tam": "trung tâm",
    "xa": "xã",
    "phuong": "phường",
    "thi_tran": "thị trấn",
    "dac_khu": "đặc khu",
}
# The kinds of unit at the level of the commune: too many to offer one by one.
COMMUNES = frozenset({"xa", "phuong", "thi_tran", "dac_khu"})
# The fields whose value is a dropdown's (or a list of them), which `directive_data` takes
# the code of.
CHOICE_FIELDS = frozenset(
    {"issuer", "lead", "to", "under", "kinds", "units", "cadence", "convention", "type", "roll"}
)


def choices(words: Mapping[str, str]) -> list[str]:
    """A dropdown's values: each code with its words."""
    return [f"{code}{SEPARATOR}{text}" for code, text in words.items()]


def register_lists(units: Sequence[UnitRow]) -> dict[str, list[str]]:
    """What the form offers of a unit register: its offices (every unit that is not a
    commune, ward or town, by code: issuers, lead offices, recipients, provinces) and its
    kinds of unit."""
    offices = sorted((u for u in units if u.kind not in COMMUNES), key=lambda u: u.code)
    kinds = sorted({u.kind for u in units})
    return {
        "offices": [f"{u.code}{SEPARATOR}{u.name}" for u in offices],
        "kinds": [f"{kind}{SEPARATOR}{KINDS[kind]}" if kind in KINDS else kind for kind in kinds],
    }


def _code(value: Any) -> Any:
    return value.split(SEPARATOR, 1)[0].strip() if isinstance(value, str) else value


def _listed(words: Mapping[str, str]) -> Any:
    """A field the form offers as a dropdown of these codes with their words."""
    return {"enum": choices(words)}


def _pick(kind: str) -> Any:
    """A field the form offers as the register's list `kind` (offices, kinds)."""
    return {"x-choices": kind}


class _Form(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class TargetForm(_Form):
    model_config = ConfigDict(title="Mục tiêu")

    at_least: float | None = Field(None, title="Ít nhất")
    at_most: float | None = Field(None, title="Nhiều nhất")


class FigureForm(_Form):
    model_config = ConfigDict(title="Chỉ tiêu")

    key: str = Field(
        title="Mã chỉ tiêu",
        description="Chữ thường không dấu, chữ số và dấu _, ví dụ so_tin_bai.",
    )
    label: str = Field(title="Tên chỉ tiêu", description="Như đơn vị sẽ đọc trên biểu mẫu nộp.")
    type: str = Field(title="Kiểu", json_schema_extra=_listed(FIGURE_TYPES))
    unit: str | None = Field(None, title="Đơn vị tính", description="Ví dụ: tin/bài, lớp, hồ sơ.")
    min: float | None = Field(
        None, title="Giá trị nhỏ nhất", description="Để trống: không giới hạn."
    )
    max: float | None = Field(
        None, title="Giá trị lớn nhất", description="Để trống: không giới hạn."
    )
    target: TargetForm | None = Field(
        None, title="Mục tiêu", description="Điều đơn vị cần đạt, không phải giới hạn nhập."
    )


class TextForm(_Form):
    model_config = ConfigDict(title="Phần chữ")

    label: str = Field(title="Nhãn", description="Như đơn vị sẽ đọc trên biểu mẫu nộp.")
    required: bool | None = Field(None, title="Bắt buộc")


class WhatForm(_Form):
    model_config = ConfigDict(title="Nội dung báo cáo")

    figures: list[FigureForm] = Field(default_factory=list, title="Các chỉ tiêu")
    narrative: TextForm | None = Field(
        None, title="Phần nội dung", description="Nhận xét, đánh giá bằng lời (để trống: không có)."
    )
    evidence: TextForm | None = Field(
        None,
        title="Minh chứng",
        description="Đường dẫn đến báo cáo, tài liệu (để trống: không có).",
    )


def _rule(rule: str) -> Any:
    return Field(rule, title="Quy tắc", json_schema_extra={"enum": [rule]})


class AfterEndForm(_Form):
    model_config = ConfigDict(title="Số ngày làm việc sau khi kỳ kết thúc")

    rule: str = _rule("working-days-after-end")
    days: int = Field(
        title="Số ngày làm việc", description="0: ngày cuối kỳ (hoặc ngày làm việc kế tiếp)."
    )


class DayOfMonthForm(_Form):
    model_config = ConfigDict(title="Một ngày của tháng kết thúc kỳ")

    rule: str = _rule("day-of-month")
    day: int = Field(title="Ngày", description="1 đến 31; tháng ngắn hơn: ngày cuối tháng.")
    months_after: int | None = Field(
        None, title="Số tháng sau", description="Để trống: chính tháng kỳ kết thúc."
    )
    roll: str | None = Field(
        None,
        title="Nếu là ngày nghỉ",
        description="Để trống: lùi sang ngày làm việc kế tiếp.",
        json_schema_extra=_listed(ROLLS),
    )


class InPeriodForm(_Form):
    model_config = ConfigDict(title="Một ngày trong kỳ")

    rule: str = _rule("date-in-period")
    month: int = Field(title="Tháng thứ mấy của kỳ", description="1 cho tháng đầu của kỳ.")
    day: int = Field(title="Ngày", description="1 đến 31; tháng ngắn hơn: ngày cuối tháng.")
    roll: str | None = Field(
        None,
        title="Nếu là ngày nghỉ",
        description="Để trống: giữ nguyên ngày đã ghi.",
        json_schema_extra=_listed(ROLLS),
    )


class FixedDateForm(_Form):
    model_config = ConfigDict(title="Một ngày cố định (chu kỳ một lần)")

    rule: str = _rule("date")
    date: datetime.date = Field(title="Hạn nộp")


class ScheduleForm(_Form):
    model_config = ConfigDict(title="Lịch báo cáo")

    cadence: str = Field(title="Chu kỳ", json_schema_extra=_listed(CADENCES))
    convention: str | None = Field(
        None,
        title="Cách tính kỳ",
        description="Để trống: theo tháng dương lịch.",
        json_schema_extra=_listed(CONVENTIONS),
    )
    due: AfterEndForm | DayOfMonthForm | InPeriodForm | FixedDateForm | None = Field(
        None, title="Hạn nộp", description="Nhiệm vụ thường xuyên không có hạn nộp."
    )


class WhoForm(_Form):
    model_config = ConfigDict(title="Đơn vị thực hiện")

    kinds: list[str] = Field(
        default_factory=list,
        title="Loại đơn vị",
        description="Mọi đơn vị thuộc các loại đã chọn.",
        json_schema_extra=_pick("kinds"),
    )
    tags: list[str] = Field(default_factory=list, title="Nhãn đơn vị")
    units: list[str] = Field(
        default_factory=list, title="Từng đơn vị (mã)", description="Ví dụ: 18679."
    )
    under: list[str] = Field(
        default_factory=list,
        title="Trực thuộc",
        description="Chỉ các đơn vị trực thuộc trực tiếp các đơn vị này (một tỉnh: các xã, "
        "phường của tỉnh); chỉ chọn mục này: mọi đơn vị trực thuộc.",
        json_schema_extra=_pick("offices"),
    )


class RequirementForm(_Form):
    model_config = ConfigDict(title="Nhiệm vụ")

    code: str = Field(title="Mã nhiệm vụ", description="Ví dụ: 1, 1c, tin-bai.")
    title: str = Field(title="Tên nhiệm vụ")
    description: str | None = Field(None, title="Mô tả")
    who: WhoForm = Field(title="Đơn vị thực hiện")
    what: WhatForm | None = Field(
        None, title="Nội dung báo cáo", description="Để trống: nhiệm vụ không cần báo cáo."
    )
    schedule: list[ScheduleForm] = Field(title="Lịch báo cáo", description="Mỗi chu kỳ một dòng.")
    to: str | None = Field(None, title="Nơi nhận báo cáo", json_schema_extra=_pick("offices"))
    consolidates: list[str] = Field(
        default_factory=list,
        title="Tổng hợp từ nhiệm vụ (mã)",
        description="Báo cáo tổng hợp của cơ quan chủ trì: mã các nhiệm vụ nó tổng hợp.",
    )


class DocumentForm(_Form):
    model_config = ConfigDict(title="Văn bản")

    issuer: str = Field(title="Cơ quan ban hành", json_schema_extra=_pick("offices"))
    number: str | None = Field(None, title="Số văn bản", description="Để trống khi là dự thảo.")
    symbol: str = Field(title="Ký hiệu", description="Ví dụ: UBND-VX.")
    date: str = Field(
        title="Ngày ban hành", description="YYYY-MM-DD (dự thảo chưa có số: YYYY-MM)."
    )
    subject: str = Field(title="Trích yếu")
    legal_basis: list[str] = Field(default_factory=list, title="Căn cứ")
    signed_by: str | None = Field(None, title="Người ký")


class WindowForm(_Form):
    model_config = ConfigDict(title="Thời gian hiệu lực")

    start: datetime.date = Field(alias="from", title="Từ ngày")
    until: datetime.date | None = Field(
        None, title="Đến ngày", description="Để trống: không thời hạn."
    )


# The directive, field by field (no docstring: pydantic would show it on the form).
class DirectiveForm(_Form):
    model_config = ConfigDict(title="Soạn chỉ thị theo biểu mẫu")

    code: str = Field(
        title="Mã chỉ thị",
        description="Mã riêng của dondoc, chữ không dấu, chữ số và dấu -, ví dụ "
        "ha-tinh-cchc-2026; không đổi được sau khi công bố.",
    )
    document: DocumentForm = Field(title="Văn bản")
    lead: str = Field(
        title="Cơ quan chủ trì",
        description="Đôn đốc, xét duyệt và tổng hợp.",
        json_schema_extra=_pick("offices"),
    )
    effective: WindowForm = Field(title="Thời gian hiệu lực")
    requirements: list[RequirementForm] = Field(title="Các nhiệm vụ")


class _FormSchema(GenerateJsonSchema):
    """The form's JSON schema as the UI renders it: an optional field is left out rather
    than offered as "None", and nothing defaults to null."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        generated = super().default_schema(schema)
        if generated.get("default", ...) is None:
            del generated["default"]
        return generated


def _offered(node: Any, lists: Mapping[str, Sequence[str]]) -> Any:
    """The schema with the register's lists put where fields ask for them (a field whose list
    is empty stays free text), and each field's place in its part: the Prefect server keeps
    a schema as JSONB, which orders an object's keys by their length."""
    if isinstance(node, list):
        return [_offered(item, lists) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _offered(value, lists) for key, value in node.items()}
    for place, field in enumerate(node.get("properties", {}).values(), start=1):
        if isinstance(field, dict):
            field["position"] = place
    kind = node.pop("x-choices", None)
    if kind is not None and lists.get(kind):
        enum = list(lists[kind])
        if node.get("type") == "array":
            node["items"] = {"type": "string", "enum": enum}
        else:
            node["enum"] = enum
    return node


# A small directive of the seed's shape, on today's map: the form starts from it.
EXAMPLE: dict[str, Any] = {
    "code": "vi-du-bao-cao-thang-2026",
    "document": {
        "issuer": "42",
        "symbol": "UBND-VX",
        "date": "2026-01-05",
        "subject": "V/v báo cáo kết quả tuyên truyền cải cách hành chính hằng tháng năm 2026",
    },
    "lead": "42-SVHTTDL",
    "effective": {"from": "2026-01-01", "until": "2026-12-31"},
    "requirements": [
        {
            "code": "1",
            "title": "Báo cáo kết quả tuyên truyền cải cách hành chính hằng tháng",
            "who": {"kinds": ["xa", "phuong"], "under": ["42"]},
            "what": {
                "figures": [
                    {
                        "key": "news_items",
                        "label": "Số tin, bài tuyên truyền",
                        "type": "integer",
                        "unit": "tin/bài",
                        "min": 0,
                        "target": {"at_least": 1},
                    }
                ],
                "narrative": {"label": "Đánh giá kết quả", "required": True},
            },
            "schedule": [
                {
                    "cadence": "monthly",
                    "convention": "decree-09-2019",
                    "due": {"rule": "day-of-month", "day": 17},
                }
            ],
            "to": "42-SVHTTDL",
        }
    ],
}


def _labelled(value: Any, key: str | None, offered: Sequence[str]) -> Any:
    """`value` of a directive's data with each code of a dropdown field as the dropdown offers
    it, or None where the form does not offer it (then left out)."""
    if isinstance(value, dict):
        kept = {k: _labelled(v, k, offered) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != []}
    if isinstance(value, list):
        items = [_labelled(v, key, offered) for v in value]
        return [v for v in items if v is not None]
    if key not in CHOICE_FIELDS or key == "units" or not isinstance(value, str):
        return value
    return next((c for c in offered if _code(c) == value), None)


def as_form(data: Mapping[str, Any], lists: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """A directive's data (a file's, the example) as the form holds it: each dropdown's code
    with its words, as `lists` offers them (a code it does not offer is left out)."""
    offered = [
        *lists.get("offices", []),
        *lists.get("kinds", []),
        *(c for words in (CADENCES, CONVENTIONS, FIGURE_TYPES, ROLLS) for c in choices(words)),
    ]
    return dict(_labelled(dict(data), None, offered))


def form_schema(lists: Mapping[str, Sequence[str]], files: Sequence[str]) -> dict[str, Any]:
    """The publishing form: the directive written in the form (the example filled in), a
    directive file of the project, or pasted YAML; and the day to open periods by. `lists`
    are the register's offices and kinds (`register_lists`)."""
    directive = _offered(
        DirectiveForm.model_json_schema(by_alias=True, schema_generator=_FormSchema), lists
    )
    definitions = directive.pop("$defs")
    definitions["DirectiveForm"] = directive
    return {
        "title": "Parameters",
        "type": "object",
        "properties": {
            "directive": {
                "title": "Chỉ thị",
                "description": "Soạn theo biểu mẫu (đã điền sẵn một ví dụ để sửa), chọn một "
                "tệp chỉ thị của dự án, hoặc dán nội dung YAML. Trước khi công bố, lượt chạy "
                "cho xem trước các nghĩa vụ sẽ tạo và chờ xác nhận.",
                "anyOf": [
                    {"$ref": "#/$defs/DirectiveForm"},
                    {
                        "title": "Tệp chỉ thị của dự án",
                        "type": "object",
                        "properties": {
                            "directive_file": {
                                "title": "Tệp chỉ thị",
                                "type": "string",
                                "enum": list(files),
                            }
                        },
                        "required": ["directive_file"],
                    },
                    {
                        "title": "Dán nội dung YAML",
                        "type": "object",
                        "properties": {
                            "directive_yaml": {
                                "title": "Nội dung chỉ thị (YAML, tối đa 200 kB)",
                                "type": "string",
                            }
                        },
                        "required": ["directive_yaml"],
                    },
                ],
                "default": as_form(EXAMPLE, lists),
                "position": 1,
            },
            "as_of": {
                "title": "Mở các kỳ đã bắt đầu đến ngày (mặc định: hôm nay)",
                "type": "string",
                "format": "date",
                "position": 2,
            },
        },
        "required": ["directive"],
        "$defs": definitions,
    }


def _bare(value: Any, key: str | None) -> Any:
    """`value` without what the form leaves empty, each dropdown's value as its code."""
    if isinstance(value, dict):
        kept = {k: _bare(v, k) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [v for v in (_bare(item, key) for item in value) if v not in (None, "", {})]
    return _code(value) if key in CHOICE_FIELDS else value


def directive_data(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the form sent, as a directive file's content: empty fields left out, and each
    dropdown's value (`quarterly · hằng quý`, `42 · Ủy ban…`) as its code."""
    return dict(_bare(dict(form), None))

"""An answer to a paused run's form, checked by the gate as Prefect's server checks it before
taking it (the JSON schema the run saved with the form, Draft 2020-12 with its formats), so
that an answer that does not fit is told in one Vietnamese line naming the field by its title,
rather than in Prefect's English with the field's internal key ("'narrative' is a required
property"). The line says what Prefect's own check would have named first (the error
`jsonschema` deems most relevant), worded by the kind of check that failed."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.exceptions import Unresolvable

from models.rules.vietnamese import number_text

# The types of JSON schema in words: "«Số tờ rơi» phải là số nguyên".
TYPE_WORDS = {
    "integer": "số nguyên",
    "number": "một số",
    "string": "chữ",
    "boolean": "có hoặc không",
    "object": "một nhóm trường",
    "array": "một danh sách",
}
# A bound a number breaks, in words: "«Số tờ rơi» không được nhỏ hơn 0".
BOUND_WORDS = {
    "minimum": "không được nhỏ hơn",
    "maximum": "không được lớn hơn",
    "exclusiveMinimum": "phải lớn hơn",
    "exclusiveMaximum": "phải nhỏ hơn",
}
TYPES = Draft202012Validator.TYPE_CHECKER
# What a field is called when the schema gives it no title and no name (the whole answer).
FORM = "Biểu mẫu"
# At most this much of what was typed is repeated in the line.
SHOWN = 40


def mend_line(schema: Mapping[str, Any], answer: Mapping[str, Any]) -> str | None:
    """The Vietnamese line saying what to mend in `answer` for it to fit the form's `schema`
    as Prefect's server checks it, or None when it fits (or when the schema refers to one
    elsewhere, which only Prefect's server reads)."""
    validator = Draft202012Validator(
        as_prefect_reads(schema),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
        registry=Registry(),  # nothing is fetched
    )
    try:
        error = best_match(validator.iter_errors(answer))
    except Unresolvable:
        return None
    return None if error is None else _line(error)


def as_prefect_reads(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema as Prefect's server checks an answer against it (its `preprocess_schema`):
    a property that is neither required nor given a default also takes null."""
    read = copy.deepcopy(dict(schema))
    for holder in (read, *(read.get("definitions") or {}).values()):
        _nullable(holder)
    return read


def _nullable(holder: dict[str, Any]) -> None:
    required = set(holder.get("required") or ())
    for name, prop in (holder.get("properties") or {}).items():
        if (
            name not in required
            and "type" in prop
            and prop["type"] != "null"
            and "default" not in prop
        ):
            prop["anyOf"] = [{"type": prop.pop("type")}, {"type": "null"}]
        _nullable(prop)


def _line(error: ValidationError) -> str:
    kind, bound, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        name = next(name for name in bound if name not in value)
        field = (error.schema.get("properties") or {}).get(name) or {}
        return f"Chưa nhập «{field.get('title') or name}»."
    if kind == "additionalProperties":
        extra = next(name for name in value if name not in (error.schema.get("properties") or {}))
        return f"Biểu mẫu không có ô «{extra}»."
    title = _title(error)
    if value is None and kind in ("type", "anyOf", "enum"):
        return f"Chưa nhập «{title}»."
    typed = _typed(value)
    if kind == "enum":
        return f"Hãy chọn «{title}» trong danh sách{typed}."
    expected = _expected_type(kind, bound) if kind in ("type", "anyOf") else ""
    # a type the value lacks (an anyOf of other schemas its type fits is another check)
    if expected in TYPE_WORDS and not TYPES.is_type(value, expected):
        return f"«{title}» phải là {TYPE_WORDS[expected]}{typed}."
    if kind == "format" and bound == "date":
        return f"«{title}» phải là ngày dạng YYYY-MM-DD{typed}."
    if kind in BOUND_WORDS:
        return f"«{title}» {BOUND_WORDS[kind]} {bound:g}{typed}."
    if kind == "maxLength":
        return f"«{title}» dài quá {number_text(bound)} ký tự."
    if kind == "minLength":
        return f"«{title}» cần ít nhất {number_text(bound)} ký tự{typed}."
    return f"«{title}» không hợp lệ{typed}."


def _title(error: ValidationError) -> str:
    """The title of the field the error is about: of the nearest schema on its way that has
    one (a type that allows null checks its branches below the field's own schema)."""
    found: ValidationError | None = error
    while found is not None and found.absolute_path:
        if isinstance(found.schema, Mapping) and found.schema.get("title"):
            return str(found.schema["title"])
        found = found.parent
    return str(error.absolute_path[-1]) if error.absolute_path else FORM


def _expected_type(kind: str, bound: Any) -> str:
    """The type a `type` check (or a type that allows null, `anyOf`) asked for, but null."""
    if kind == "anyOf":
        types = [branch.get("type") for branch in bound if isinstance(branch, Mapping)]
    else:
        types = bound if isinstance(bound, list) else [bound]
    named = [name for name in types if isinstance(name, str) and name != "null"]
    return named[0] if named else ""


def _typed(value: object) -> str:
    """What was typed, as the line repeats it: ` (đã nhập «năm trăm»)`; nothing for what is
    not a number or a text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        return ""
    text = str(value)
    return f" (đã nhập «{text if len(text) <= SHOWN else text[:SHOWN] + '…'}»)"

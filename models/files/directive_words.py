"""A directive's fields in Vietnamese words, and what is wrong with one in a Vietnamese line.

pydantic reports a path (`requirements[0].schedule[0].cadance`) and an English message; an
administrator reads "Nhiệm vụ 1 (1c), lịch báo cáo 1: trường 'cadance' không có trong mẫu —
có phải 'cadence'?". Every error of a directive, from a file, a paste or the publishing form,
is worded here: the place by the requirement's number and code and the field's Vietnamese
label, the problem by the kind of error.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

# Each part of a directive: its fields' Vietnamese labels (also the keys a part may hold).
FIELDS: dict[str, dict[str, str]] = {
    "directive": {
        "code": "mã chỉ thị",
        "document": "văn bản",
        "lead": "cơ quan chủ trì",
        "effective": "thời gian hiệu lực",
        "requirements": "nhiệm vụ",
        "escalation": "bước đôn đốc",
    },
    "document": {
        "issuer": "cơ quan ban hành",
        "number": "số văn bản",
        "symbol": "ký hiệu",
        "date": "ngày ban hành",
        "subject": "trích yếu",
        "legal_basis": "căn cứ",
        "signed_by": "người ký",
    },
    "window": {"from": "từ ngày", "until": "đến ngày"},
    "requirement": {
        "code": "mã nhiệm vụ",
        "title": "tên nhiệm vụ",
        "description": "mô tả",
        "who": "đơn vị thực hiện",
        "what": "nội dung báo cáo",
        "schedule": "lịch báo cáo",
        "to": "nơi nhận báo cáo",
        "escalation": "bước đôn đốc",
        "consolidates": "tổng hợp từ nhiệm vụ",
    },
    "selector": {
        "kinds": "loại đơn vị",
        "tags": "nhãn đơn vị",
        "units": "đơn vị",
        "under": "trực thuộc",
    },
    "deliverable": {"figures": "chỉ tiêu", "narrative": "phần nội dung", "evidence": "minh chứng"},
    "figure": {
        "key": "mã chỉ tiêu",
        "label": "tên chỉ tiêu",
        "type": "kiểu",
        "unit": "đơn vị tính",
        "min": "giá trị nhỏ nhất",
        "max": "giá trị lớn nhất",
        "required": "bắt buộc",
        "target": "mục tiêu",
    },
    "target": {"at_least": "ít nhất", "at_most": "nhiều nhất"},
    "text": {"label": "nhãn", "required": "bắt buộc"},
    "schedule": {"cadence": "chu kỳ", "convention": "cách tính kỳ", "due": "hạn nộp"},
    "due": {
        "rule": "quy tắc",
        "days": "số ngày làm việc",
        "day": "ngày",
        "months_after": "số tháng sau",
        "roll": "khi là ngày nghỉ",
        "month": "tháng thứ",
        "date": "ngày",
    },
    "step": {
        "key": "mã bước",
        "working_days": "số ngày làm việc",
        "to": "gửi cho",
        "template": "mẫu thư",
        "dispatch": "kèm công văn",
    },
}
# The part a field holds (a list's items are of that part).
PARTS: dict[tuple[str, str], str] = {
    ("directive", "document"): "document",
    ("directive", "effective"): "window",
    ("directive", "requirements"): "requirement",
    ("directive", "escalation"): "step",
    ("requirement", "who"): "selector",
    ("requirement", "what"): "deliverable",
    ("requirement", "schedule"): "schedule",
    ("requirement", "escalation"): "step",
    ("deliverable", "figures"): "figure",
    ("deliverable", "narrative"): "text",
    ("deliverable", "evidence"): "text",
    ("figure", "target"): "target",
    ("schedule", "due"): "due",
}
# The items of these lists are named by their own code as well: "Nhiệm vụ 1 (1c)".
NAMED_BY = {"requirement": "code", "figure": "key"}
PATTERNS = {
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": "chỉ gồm chữ cái không dấu, chữ số và các dấu . _ -, "
    "bắt đầu bằng chữ hoặc số",
    r"^[a-z][a-z0-9_]*$": "chỉ gồm chữ thường không dấu, chữ số và dấu _, bắt đầu bằng chữ",
    r"^[a-z][a-z0-9-]*$": "chỉ gồm chữ thường không dấu, chữ số và dấu -, bắt đầu bằng chữ",
}
# What the directive's own checks say, in Vietnamese (the English stays for the command line).
CHECKS = {
    "name at least one of kinds, tags, units or under": "cần chọn ít nhất một trong: loại "
    "đơn vị, nhãn, đơn vị, trực thuộc",
    "a standing duty has no due date": "nhiệm vụ thường xuyên không có hạn nộp",
    "an explicit due date only fits the 'once' cadence": "hạn nộp là một ngày cố định chỉ "
    "dùng cho chu kỳ 'once' (một lần)",
    "a date in the period needs a recurring cadence, not 'once'": "hạn nộp là một ngày trong "
    "kỳ cần một chu kỳ lặp lại, không phải 'once'",
    "each cadence may appear once in a requirement's schedule": "mỗi chu kỳ chỉ được có một "
    "lịch báo cáo trong một nhiệm vụ",
    "a standing duty has no other cadence": "nhiệm vụ thường xuyên không có chu kỳ nào khác",
    "a standing duty has no due date and is never chased: no escalation": "nhiệm vụ thường "
    "xuyên không có hạn nộp nên không có bước đôn đốc",
    "a target needs at_least or at_most": "mục tiêu cần 'ít nhất' hoặc 'nhiều nhất'",
    "must be YYYY-MM-DD (or YYYY-MM while the number is blank)": "phải là ngày dạng "
    "YYYY-MM-DD (hoặc YYYY-MM khi chưa có số văn bản)",
    "a numbered (signed) document needs its full date YYYY-MM-DD": "văn bản đã có số cần "
    "ngày đầy đủ YYYY-MM-DD",
    "must be a date written YYYY-MM-DD": "phải là ngày dạng YYYY-MM-DD",
    "each step needs its own key": "mỗi bước đôn đốc cần một mã riêng",
}


def _label(part: str | None, key: str) -> str:
    return FIELDS.get(part or "", {}).get(key, key)


def _walk(loc: tuple[int | str, ...], data: Any) -> tuple[list[str], str | None]:
    """The words naming the place `loc` leads to in `data` (the union tag pydantic adds, and
    keys that are not the part's, name nothing), and the part found there."""
    words: list[str] = []
    part: str | None = "directive"
    current = data
    for i, segment in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, Mapping) and current.get("rule") == segment and not last:
            continue  # the due rule's tag
        if isinstance(segment, int):
            item = (
                current[segment]
                if isinstance(current, list) and 0 <= segment < len(current)
                else None
            )
            if words:
                name = NAMED_BY.get(part or "")
                own = item.get(name) if isinstance(item, Mapping) and name else None
                words[-1] = f"{words[-1]} {segment + 1}" + (
                    f" ({own})" if isinstance(own, str | int) else ""
                )
            current = item
            continue
        if segment not in FIELDS.get(part or "", {}):
            break
        words.append(_label(part, segment))
        current = current.get(segment) if isinstance(current, Mapping) else None
        part = PARTS.get((part or "", segment), part if isinstance(current, list) else None)
    if words:
        words[0] = words[0][0].upper() + words[0][1:]
    return words, part


def place(loc: tuple[int | str, ...], data: Any) -> str:
    """Where `loc` is in the directive, in Vietnamese words: "Nhiệm vụ 1 (1c), lịch báo cáo 1,
    hạn nộp, ngày" ("Chỉ thị" for the whole)."""
    return ", ".join(_walk(loc, data)[0]) or "Chỉ thị"


def path_loc(path: str) -> tuple[int | str, ...]:
    """A field path as the directive's errors write it, as a location:
    `requirements[2].what.figures[1].key` -> ("requirements", 2, "what", "figures", 1, "key")."""
    return tuple(
        int(index) if index else key for key, index in re.findall(r"(\w+)|\[(\d+)\]", path)
    )


def _shown(value: Any) -> str:
    return f" (đã nhập «{value}»)" if isinstance(value, str | int | float) else ""


def _problem(error: Mapping[str, Any]) -> str:
    """What is wrong, by the kind of pydantic error."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "phải là số nguyên"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return "phải là một số"
    if kind in ("string_type", "string_sub_type"):
        return "phải là chữ (văn bản)"
    if kind in ("bool_type", "bool_parsing"):
        return "phải là true (có) hoặc false (không)"
    if kind in ("list_type", "tuple_type"):
        return "phải là một danh sách"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "phải là một nhóm trường"
    if kind.startswith("date_"):
        return "phải là ngày dạng YYYY-MM-DD"
    if kind in ("enum", "literal_error"):
        return f"phải là một trong: {str(ctx.get('expected', '')).replace(' or ', ', ')}"
    bounds = {
        "greater_than_equal": ("không được nhỏ hơn", "ge"),
        "greater_than": ("phải lớn hơn", "gt"),
        "less_than_equal": ("không được lớn hơn", "le"),
        "less_than": ("phải nhỏ hơn", "lt"),
    }
    if kind in bounds:
        words, bound = bounds[kind]
        return f"{words} {ctx.get(bound)}"
    if kind == "string_too_short":
        return "không được để trống"
    if kind == "string_too_long":
        return f"dài quá {ctx.get('max_length')} ký tự"
    if kind == "too_short":
        return f"cần ít nhất {ctx.get('min_length')} mục"
    if kind == "too_long":
        return f"nhiều nhất {ctx.get('max_length')} mục"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return PATTERNS.get(pattern, f"không đúng dạng {pattern}")
    if kind == "union_tag_invalid":
        return f"quy tắc «{ctx.get('tag')}» không có; chọn một trong: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"thiếu {_label('due', str(ctx.get('discriminator', 'rule')).strip(chr(39)))}"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return CHECKS.get(message, f"không hợp lệ: {message}")


def _guess(key: str, part: str | None) -> str | None:
    """The part's own field a misspelt key most likely meant."""
    close = difflib.get_close_matches(key, list(FIELDS.get(part or "", {})), n=1, cutoff=0.6)
    return close[0] if close else None


def error_lines(errors: list[Any], data: Any) -> str:
    """Every pydantic error of a directive in Vietnamese, in one line; a field reported
    missing because its key was misspelt is named once, by the misspelling."""
    meant = {
        (tuple(e["loc"][:-1]), _guess(e["loc"][-1], _walk(tuple(e["loc"][:-1]), data)[1]))
        for e in errors
        if e["type"] == "extra_forbidden" and e["loc"] and isinstance(e["loc"][-1], str)
    }
    return " ".join(
        error_line(e, data)
        for e in errors
        if not (e["type"] == "missing" and (tuple(e["loc"][:-1]), e["loc"][-1]) in meant)
    )


def error_line(error: Mapping[str, Any], data: Any) -> str:
    """One pydantic error of a directive as a Vietnamese line naming the requirement by its
    number and code and the field by its label, never pydantic's path nor "(got None)"."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind in ("missing", "extra_forbidden") and loc and isinstance(loc[-1], str):
        key = loc[-1]
        words, part = _walk(loc[:-1], data)
        where = ", ".join(words) or "Chỉ thị"
        if kind == "missing":
            return f"{where}: thiếu {_label(part, key)} ('{key}')."
        close = _guess(key, part)
        guess = f" — có phải '{close}' ({_label(part, close)})?" if close else "."
        return f"{where}: trường '{key}' không có trong mẫu{guess}"
    return f"{place(loc, data)}: {_problem(error)}{_shown(error.get('input'))}."

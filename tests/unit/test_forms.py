"""The generated form schemas, without a Prefect server."""

from __future__ import annotations

import inspect
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect._internal.pydantic.v2_schema import create_v2_schema

from flows.forms import (
    DECISIONS,
    RECEIVE_ENTRYPOINT,
    REVIEW_ENTRYPOINT,
    SUBMIT_ENTRYPOINT,
    Prefill,
    choice,
    code_of,
    decision_form,
    period_choice,
    received_form,
    requirement_period,
    review_desk_name,
    review_form,
    review_schema,
    submission_schema,
    unit_form,
    unit_form_schema,
)
from flows.received import record_received
from flows.review import review_obligation
from flows.submission import submit_obligation
from models.files.directive import RequirementSpec, load_directive
from models.storage.desk import Owed, UnitRef
from models.storage.queries import OpenWork
from models.storage.review import Case, Cases, Choices, Shown

SEED = Path(__file__).resolve().parents[2] / "directives" / "cam-xuyen-cchc-2024.yaml"
UNIT = UnitRef("18679", "Xã Yên Hòa")
DIRECTIVE = "cam-xuyen-cchc-2024"


def _spec(code: str) -> RequirementSpec:
    return next(r for r in load_directive(SEED).requirements if r.code == code)


def _owed(
    period: str, due: date | None, status: str = "open", reason: str | None = None, code: str = "1c"
) -> Owed:
    return Owed(1, DIRECTIVE, code, _spec(code).title, period, due, status, reason)


def test_the_deployment_form_asks_nothing_not_even_who_the_clerk_is() -> None:
    """The gate says who started the run; the unit's form comes with the run."""
    schema = submission_schema()
    assert schema["properties"] == {} and "required" not in schema


def test_periods_read_in_words_with_their_due_dates_and_keep_their_key() -> None:
    value = period_choice(_owed("2024-Q3", date(2024, 9, 16)))
    assert value == "2024-Q3 · Quý III/2024 — hạn 16/09/2024"
    assert code_of(value) == "2024-Q3"
    assert period_choice(_owed("2024-H1", date(2024, 6, 17))) == (
        "2024-H1 · 6 tháng đầu năm 2024 — hạn 17/06/2024"
    )


def test_a_units_form_offers_the_periods_it_owes_in_order_and_the_requirements_figures() -> None:
    owed = [_owed("2024-Q2", date(2024, 6, 17)), _owed("2024-H1", date(2024, 6, 17))]
    schema = unit_form_schema(_spec("1c"), owed)
    props = schema["properties"]
    assert props["period"]["enum"] == [
        "2024-Q2 · Quý II/2024 — hạn 17/06/2024",
        "2024-H1 · 6 tháng đầu năm 2024 — hạn 17/06/2024",
    ]
    assert list(props["figures"]["properties"]) == [
        "training_classes",
        "seminars",
        "news_items",
        "leaflets",
        "documents",
        "other_forms",
    ]
    # the bound in words: the flow checks it and answers in Vietnamese, where the schema's
    # check would answer "-5 is less than the minimum of 0"
    assert props["figures"]["properties"]["leaflets"] == {
        "title": "Số tờ rơi",
        "type": "integer",
        "description": "Đơn vị tính: tờ; Từ 0 trở lên",
    }
    # a narrative of spaces too: the flow trims it and says it is missing
    assert "minLength" not in props["narrative"]
    assert schema["required"] == ["period", "figures", "narrative"]


def test_a_form_without_figures_or_with_text_only() -> None:
    consolidation = unit_form_schema(_spec("5"), [_owed("2024-Q1", date(2024, 3, 19), code="5")])
    assert "figures" not in consolidation["properties"]
    assert consolidation["properties"]["narrative"]["title"] == "Báo cáo tổng hợp"
    reporter = unit_form_schema(_spec("4b"), [_owed("once", date(2024, 3, 29), code="4b")])
    assert reporter["properties"]["period"]["enum"] == ["once · Một lần — hạn 29/03/2024"]
    assert reporter["properties"]["figures"]["properties"]["reporter"] == {
        "title": "Họ và tên phóng viên chuyên trách CCHC",
        "type": "string",
    }
    assert "narrative" not in reporter["properties"]


def test_the_paused_runs_form_names_the_unit_and_why_a_period_came_back() -> None:
    owed = [
        _owed("2024-Q1", date(2024, 3, 15), "overdue", "Thiếu số liệu tờ rơi"),
        _owed("2024-Q2", date(2024, 6, 17)),
    ]
    form = unit_form(_spec("1c"), UNIT, owed)
    # the schema Prefect saves for the paused run (and the UI renders) is the unit's form
    assert create_v2_schema(form.__name__, model_base=form) == unit_form_schema(_spec("1c"), owed)
    assert form._description == (
        "**18679 Xã Yên Hòa** · Báo cáo kết quả công tác tuyên truyền CCHC (quý, 6 tháng, năm): "
        "chọn kỳ còn phải nộp, điền số liệu rồi bấm Resume.\n"
        "- Quý I/2024: trả lại để bổ sung — Thiếu số liệu tờ rơi"
    )
    # the answer loads as sent: the server checked it against the schema, the flow checks again
    answer = form(period="2024-Q2 · Quý II/2024 — hạn 17/06/2024", figures={"leaflets": 3})
    assert (code_of(answer.period), answer.figures, answer.narrative) == (
        "2024-Q2",
        {"leaflets": 3},
        None,
    )


def test_the_lead_offices_form_offers_the_consolidation_runs_draft() -> None:
    owed = [
        _owed("2024-Q1", date(2024, 3, 19), "overdue", code="5"),
        _owed("2024-Q2", date(2024, 6, 19), code="5"),
    ]
    draft = Prefill(
        "2024-Q2", "Tổng hợp Quý II/2024 …", "http://127.0.0.1:4280/x/", date(2024, 6, 20)
    )
    props = unit_form_schema(_spec("5"), owed, draft)["properties"]
    assert props["period"]["default"] == "2024-Q2 · Quý II/2024 — hạn 19/06/2024"
    assert props["period"]["default"] in props["period"]["enum"]
    assert props["narrative"]["default"] == "Tổng hợp Quý II/2024 …"
    assert props["evidence"]["default"] == "http://127.0.0.1:4280/x/"
    assert "default" not in unit_form_schema(_spec("5"), owed)["properties"]["narrative"]
    described = unit_form(_spec("5"), UNIT, owed, draft)._description
    assert described.endswith(
        "- Dự thảo báo cáo tổng hợp Quý II/2024 (số liệu đến ngày 20/06/2024) đã được điền "
        "sẵn: kiểm tra, sửa nếu cần, rồi bấm Resume."
    )


def test_a_form_asked_again_keeps_what_was_typed_and_says_what_to_mend() -> None:
    """The flow found the answer wrong: the next form has the clerk's values as its defaults
    and, on its first line, the one Vietnamese line saying what to mend."""
    owed = [_owed("2024-Q1", date(2024, 3, 15)), _owed("2024-Q2", date(2024, 6, 17))]
    typed = unit_form(_spec("1c"), UNIT, owed)(
        period="2024-Q2 · Quý II/2024 — hạn 17/06/2024",
        figures={"leaflets": -5, "seminars": 1, "news_items": None},
        narrative="   ",
        evidence="ftp://x",
    )
    line = "Chỉ tiêu «Số tờ rơi» không được nhỏ hơn 0 (đã nhập «-5»)."
    form = unit_form(_spec("1c"), UNIT, owed, typed=typed, mend=line)
    props = create_v2_schema(form.__name__, model_base=form)["properties"]
    assert props["period"]["default"] == "2024-Q2 · Quý II/2024 — hạn 17/06/2024"
    figures = props["figures"]["properties"]
    assert (figures["leaflets"]["default"], figures["seminars"]["default"]) == (-5, 1)
    assert "default" not in figures["news_items"]
    assert (props["narrative"]["default"], props["evidence"]["default"]) == ("   ", "ftp://x")
    assert form._description.startswith(
        "**Cần sửa:** Chỉ tiêu «Số tờ rơi» không được nhỏ hơn 0 (đã nhập «-5»).\n\n"
        "**18679 Xã Yên Hòa** · "
    )
    # a period no longer owed is not chosen again
    later = unit_form_schema(_spec("1c"), owed[:1], typed=typed)["properties"]["period"]
    assert "default" not in later


def test_the_bounds_of_a_figure_read_in_words() -> None:
    spec = _spec("1c")
    figure = spec.what.figures[0].model_copy(update={"min": 1, "max": 12.5, "unit": None})
    changed = spec.model_copy(update={"what": spec.what.model_copy(update={"figures": [figure]})})
    described = unit_form_schema(changed, [_owed("2024-Q1", None)])["properties"]["figures"]
    assert described["properties"][figure.key] == {
        "title": figure.label,
        "type": "integer",
        "description": "Từ 1 đến 12.5",
    }


def _case(oid: int, status: str = "submitted") -> Case:
    return Case(
        oid,
        "18712",
        "Xã Nam Phúc Thăng",
        "1c",
        _spec("1c").title,
        "2024-Q1",
        date(2024, 3, 15),
        status,
        [Shown("Số lớp tập huấn", 3, "lớp")],
        "Quý I",
        None,
        None,
        None,
        "cb.18712",
        None,
    )


def test_the_review_form_narrows_by_what_a_directive_has_not_by_its_obligations() -> None:
    """Its size depends on the directive's requirements and periods, not on its units; a
    requirement is offered with its own periods only (one list: a form has no dropdown that
    follows another)."""
    quarterly, monthly = _spec("1c").title, _spec("4a").title
    offered = Choices(
        [("1c", quarterly), ("4a", monthly)], {"1c": ["2024-Q1", "2024-H1"], "4a": ["2024-02"]}
    )
    props = review_schema(offered)["properties"]
    assert "actor" not in props and "period" not in props
    assert props["requirement"]["enum"] == [
        f"1c · mọi kỳ · {quarterly}",
        f"1c/2024-Q1 · Quý I/2024 · {quarterly}",
        f"1c/2024-H1 · 6 tháng đầu năm 2024 · {quarterly}",
        f"4a · mọi kỳ · {monthly}",
        f"4a/2024-02 · Tháng 02/2024 · {monthly}",
    ]
    chosen_ones = [requirement_period(value) for value in props["requirement"]["enum"]]
    assert chosen_ones == [
        ("1c", None),
        ("1c", "2024-Q1"),
        ("1c", "2024-H1"),
        ("4a", None),
        ("4a", "2024-02"),
    ]
    assert props["status"]["enum"] == [
        "Đã nộp, chờ xét",
        "Quá hạn",
        "Sắp đến hạn",
        "Trả lại để bổ sung",
        "Trong hạn",
    ]
    assert props["status"]["default"] == "Đã nộp, chờ xét"
    assert props["unit"]["type"] == "string" and "enum" not in props["unit"]


def test_the_decision_form_offers_the_listed_obligations_in_words() -> None:
    one = decision_form(Cases(1, [_case(7)]), "hồ sơ")
    # the schema the paused run publishes is the one Prefect builds from the form
    schema = create_v2_schema(one.__name__, model_base=one)
    obligation = schema["properties"]["obligation"]
    assert obligation["enum"] == ["7 · 18712 Xã Nam Phúc Thăng · 1c · Quý I/2024 · Đã nộp, chờ xét"]
    assert obligation["default"] == obligation["enum"][0]  # the only one is already chosen
    assert code_of(obligation["enum"][0]) == "7"
    assert one._description == "hồ sơ"
    assert schema["properties"]["decision"]["enum"] == list(DECISIONS)
    two = decision_form(Cases(9, [_case(7), _case(8, "overdue")]), "")
    offered = create_v2_schema(two.__name__, model_base=two)["properties"]["obligation"]
    assert "default" not in offered and offered["enum"][1].endswith(" · Quá hạn")


def test_a_decision_asked_again_keeps_what_was_typed_and_says_what_to_mend() -> None:
    cases = Cases(9, [_case(7), _case(8, "overdue")])
    typed = decision_form(cases, "")(
        obligation="8 · 18712 Xã Nam Phúc Thăng · 1c · Quý I/2024 · Quá hạn",
        decision="Trả lại để bổ sung",
    )
    line = "Trả lại để bổ sung thì phải nêu lý do."
    again = decision_form(cases, "hồ sơ", typed=typed, mend=line)
    props = create_v2_schema(again.__name__, model_base=again)["properties"]
    assert props["obligation"]["default"] == props["obligation"]["enum"][1]
    assert props["decision"]["default"] == "Trả lại để bổ sung"
    assert "default" not in props["reason"] and "default" not in props["new_due"]
    assert again._description == f"**Cần sửa:** {line}\n\nhồ sơ"
    # an obligation no longer listed is not chosen again
    gone = decision_form(Cases(1, [_case(7)]), "", typed=typed, mend=line)
    kept = create_v2_schema(gone.__name__, model_base=gone)["properties"]["obligation"]
    assert kept["default"] == kept["enum"][0]


def test_the_review_desk_is_named_in_words_in_the_list_of_forms() -> None:
    desk = review_form(DIRECTIVE, Choices([], {}))
    assert desk.full_name == f"xet-duyet/Bàn xét duyệt · {DIRECTIVE}"
    assert desk.name == review_desk_name(DIRECTIVE) and desk.parameters == {"directive": DIRECTIVE}


def test_choices_read_back_to_their_code() -> None:
    assert code_of(choice("446-TTVHTT", "Trung tâm Văn hóa - Truyền thông")) == "446-TTVHTT"
    assert code_of("18679") == "18679"


def test_the_received_form_asks_the_requirements_own_figures_as_the_clerks_form_does() -> None:
    """One form per requirement, as the clerks': the lead office gives the unit, period,
    channel, arrival day and number, then the requirement's figures with their Vietnamese
    labels, units and bounds, built as the clerk's form builds them."""
    spec = _spec("1c")
    form = received_form(OpenWork(DIRECTIVE, "1c", spec.title), spec, ["2024-Q1", "2024-H1"], 5)
    assert form.full_name == f"vao-so-bao-cao-den/1c · {DIRECTIVE}"
    assert form.parameters == {"directive": DIRECTIVE, "requirement": "1c"}
    props = form.schema["properties"]
    assert list(props) == [
        "unit",
        "period",
        "channel",
        "arrived",
        "number",
        "figures",
        "narrative",
        "evidence",
        "scan",
        "reason",
    ]
    assert [p["position"] for p in props.values()] == list(range(1, 11))
    assert props["period"]["enum"] == ["2024-Q1 · Quý I/2024", "2024-H1 · 6 tháng đầu năm 2024"]
    clerks = unit_form_schema(spec, [_owed("2024-Q1", date(2024, 3, 15))])["properties"]
    for name in ("figures", "narrative", "evidence"):
        assert {**props[name], "position": 0} == {**clerks[name], "position": 0}
    assert props["figures"]["properties"]["leaflets"] == {
        "title": "Số tờ rơi",
        "type": "integer",
        "description": "Đơn vị tính: tờ; Từ 0 trở lên",
    }
    assert form.schema["required"] == [
        "unit",
        "period",
        "channel",
        "arrived",
        "number",
        "figures",
        "narrative",
    ]
    assert "5 ngày làm việc" in props["reason"]["description"]
    # a requirement of one text figure asks no narrative
    reporter = received_form(OpenWork(DIRECTIVE, "4b", _spec("4b").title), _spec("4b"), ["once"], 5)
    assert reporter.schema["properties"]["figures"]["properties"]["reporter"] == {
        "title": "Họ và tên phóng viên chuyên trách CCHC",
        "type": "string",
    }
    assert "narrative" not in reporter.schema["properties"]


@pytest.mark.parametrize(
    ("entrypoint", "flow"),
    [
        (SUBMIT_ENTRYPOINT, submit_obligation),
        (REVIEW_ENTRYPOINT, review_obligation),
        (RECEIVE_ENTRYPOINT, record_received),
    ],
)
def test_the_generated_forms_run_the_flows_the_tests_call(entrypoint: str, flow: Any) -> None:
    """A typo in a generated form's entrypoint fails here, where the flows' tests, which run
    them in their own process, would not see it."""
    fn = inspect.unwrap(flow.fn)
    source = Path(inspect.getfile(fn)).relative_to(SEED.parents[1]).as_posix()
    assert entrypoint == f"{source}:{fn.__name__}"

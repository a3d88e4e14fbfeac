"""No English sentence of dondoc's own on a clerk's or reviewer's path: the forms they fill
(titles, notes, choices, descriptions), the artifacts they read (receipt, decision, case
file, the unit's list, a refusal, the chase's report, the compliance table), the refusals and
lines asked again that reach them, the lines their runs log, and the state names their badges
show. What people typed, codes and names shown as code are not dondoc's sentences."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect._internal.pydantic.v2_schema import create_v2_schema

from flows.chase import report
from flows.daily import compliance_tables, legend
from flows.desk import desk_markdown
from flows.forms import (
    Prefill,
    decision_form,
    desk_schema,
    received_form,
    review_form,
    submission_form,
    unit_form,
)
from flows.review import Decided, cases_markdown, decision_markdown
from flows.runtime import REFUSED, refusal_line, refusal_markdown
from flows.submission import receipt_markdown
from gate.answers import mend_line
from models.errors import Failures, InputError, NotFound, Refused, Unauthorized
from models.files.directive import load_directive
from models.storage.chase import ChasePlan
from models.storage.desk import Owed, UnitRef
from models.storage.ledger import Outcome
from models.storage.queries import OpenWork
from models.storage.review import Case, Cases, Choices, Shown
from services.mail import ChaseRun
from tests.conftest import SEED

ROOT = Path(__file__).resolve().parents[2]
SPEC = next(r for r in load_directive(SEED).requirements if r.code == "1c")
# Common English words, without those Vietnamese often writes without marks ("to", "do",
# "an", "in", "can", "may", "long"...): two of them in a row make an English phrase ("must
# be", "is required", "not told").
ENGLISH_WORDS = """a about above after all already and any are as at be because been before below
    between but by cannot could does each for from given got has have he here how if is it
    its kept least more most must names neither nor not of or our out outside should so some
    such takes than that the their them then there these they this those through under until
    up was we were what when where which while who will with without would yet you your
    whole number numbers text true false required allowed known years found owes owed
    period periods unit units figure figures date due no none one on duty late standing"""
ENGLISH = frozenset(ENGLISH_WORDS.split())
# dondoc's English words for its own things and doings: one alone is English on a
# Vietnamese page.
JARGON_WORDS = """obligation obligations requirement requirements directive directives
    narrative evidence told letters chased created drafted written deleted forms hand anchored
    events"""
JARGON = frozenset(JARGON_WORDS.split())
WORD = re.compile(r"[^\W_]+")
# Not dondoc's sentences: code spans (names, keys, commands), links, «what people typed».
QUOTED = re.compile(r"`[^`]*`|https?://\S+|«[^»]*»|“[^”]*”")


def english(text: str) -> list[str]:
    """The English in `text`: runs of two or more common English words, and dondoc's English
    words for its own things."""
    found: list[str] = []
    for part in QUOTED.split(text):
        words = WORD.findall(part)
        run: list[str] = []
        for word in [*words, ""]:
            if word.lower() in ENGLISH:
                run.append(word)
                continue
            if len(run) >= 2:
                found.append(" ".join(run))
            run = []
        found += [word for word in words if word.lower() in JARGON]
    return found


def shown(schema: object) -> Iterator[str]:
    """Every text a form's schema shows: titles, notes, choices and what is filled in."""
    if isinstance(schema, dict):
        for key, inner in schema.items():
            if key in ("title", "description", "enum", "default"):
                yield from (str(v) for v in (inner if isinstance(inner, list) else [inner]))
            else:
                yield from shown(inner)
    elif isinstance(schema, list):
        for inner in schema:
            yield from shown(inner)


def table_text(rows: list[dict[str, object]]) -> str:
    """A table artifact as people read it: its headings and cells."""
    return " | ".join([*rows[0], *(str(v) for row in rows for v in row.values())])


def test_the_check_finds_english_and_leaves_vietnamese_alone() -> None:
    assert english("submit: figures.x: must be between 0 and 5") == ["must be between"]
    assert english("Nội dung is required") == ["is required"]
    assert english("nghĩa vụ #51: obligation returned") == ["obligation"]
    assert english("18679: 3 to hand in") == ["hand"]
    assert english("Quá hạn: bấm Resume. Đơn vị tính: tờ; «the obligation is mine»") == []
    assert english("Tuyên truyền an toàn giao thông, do xã tổ chức, in tờ rơi") == []
    assert english("`nop-bao-cao/1c · cam-xuyen-cchc-2024` https://cx.example/a-b") == []


def _owed(period: str, status: str = "open", reason: str | None = None) -> Owed:
    return Owed(
        7, "cam-xuyen-cchc-2024", "1c", SPEC.title, period, date(2024, 3, 15), status, reason
    )


def _case(status: str = "submitted") -> Case:
    return Case(
        51,
        "18712",
        "Xã Nam Phúc Thăng",
        "1c",
        SPEC.title,
        "2024-Q1",
        date(2024, 3, 15),
        status,
        [Shown("Số lớp tập huấn", 3, "lớp")],
        "Tổ chức 3 lớp tập huấn.",
        "https://cx.example/q1.pdf",
        datetime(2024, 3, 17, 2, 30, tzinfo=UTC),
        date(2024, 3, 17),
        "cb.18712",
        "Thiếu ảnh" if status == "returned" else None,
    )


def _form_texts(form: Any) -> list[str]:
    schema = create_v2_schema(form.__name__, model_base=form)
    return [*shown(schema), form._description]


def paused_forms() -> dict[str, list[Any]]:
    """The forms a clerk's or reviewer's paused run waits on, first and asked again."""
    unit = UnitRef("18712", "Xã Nam Phúc Thăng")
    owed = [_owed("2024-Q1", "returned", "Thiếu ảnh"), _owed("2024-Q2")]
    prefill = Prefill("2024-Q1", "Dự thảo", None, date(2024, 3, 20))
    first = unit_form(SPEC, unit, owed, prefill)
    again = unit_form(
        SPEC, unit, owed, typed=first(period="2024-Q1", figures={"leaflets": -5}), mend="Sửa."
    )
    cases = Cases(30, [_case(), _case("returned")])
    return {
        "unit form": [first, again],
        "decision form": [decision_form(cases, "hồ sơ", mend="Sửa.")],
    }


def form_texts() -> Iterator[tuple[str, str]]:
    """Every text of the forms a clerk or reviewer fills, in the Prefect UI or on the gate's
    page: the deployments' descriptions and forms, and the paused runs' forms, asked again."""
    paused = paused_forms()
    submission = submission_form(OpenWork("cam-xuyen-cchc-2024", "1c", SPEC.title))
    review = review_form("cam-xuyen-cchc-2024", Choices([("1c", SPEC.title)], {"1c": ["2024-Q1"]}))
    received = received_form(
        OpenWork("cam-xuyen-cchc-2024", "1c", SPEC.title), SPEC, ["2024-Q1"], 5
    )
    for name, texts in {
        **{
            name: [t for form in forms for t in _form_texts(form)] for name, forms in paused.items()
        },
        "submission deployment": [submission.description, *shown(submission.schema)],
        "review deployment": [review.description, *shown(review.schema)],
        "received deployment": [received.description, *shown(received.schema)],
        "unit list form": list(shown(desk_schema())),
    }.items():
        for text in texts:
            yield name, text


def artifact_texts() -> Iterator[tuple[str, str]]:
    """Every artifact a clerk's or reviewer's run leaves, and those the lead office reads."""
    decided = Decided(
        _case(),
        "Trả lại để bổ sung",
        "svhttdl.an",
        Outcome(51, "returned", 3, "returned", replayed=False),
        "Thiếu ảnh",
        None,
    )
    plan = ChasePlan(date(2024, 3, 18), True, [], [], [("18712", "Xã X", "cán bộ")])
    found = [("d", "18712", "Xã Nam Phúc Thăng", s, 2) for s in ("overdue", "submitted")]
    table = compliance_tables(found)["d"]
    yield from {
        "receipt": receipt_markdown(_case(), directive="cam-xuyen-cchc-2024"),
        "decision": decision_markdown(decided, at=datetime(2024, 3, 20, tzinfo=UTC)),
        "case file": cases_markdown(Cases(30, [_case(), _case("returned")]), "mọi kỳ"),
        "unit list": desk_markdown(
            UnitRef("18712", "Xã Nam Phúc Thăng"), date(2024, 3, 1), [_owed("2024-Q1")]
        ),
        "chase": report(ChaseRun(plan, 0, None)),
        "compliance legend": legend(table),
        "compliance table": table_text(table),
    }.items()
    for error in (
        InputError("submit", "narrative", "x", "this requirement takes no narrative", vi="Sai."),
        Refused("cannot chase: a standing duty has no due date", vi="Không."),
        Unauthorized("cb.1 may not review d", vi="Không."),
        NotFound("directive d has no requirement 9", vi="Không."),
    ):
        yield "refusal", refusal_markdown(error)


def test_the_forms_a_clerk_or_reviewer_fills_are_vietnamese() -> None:
    found = [(where, text) for where, text in form_texts() if english(text)]
    assert found == []


# A value of the wrong type for each type of field a form has.
WRONG = {"string": 5, "integer": "năm", "number": "năm", "boolean": "năm", "object": "năm"}


def _filled(schema: dict[str, Any]) -> dict[str, Any]:
    """An answer filling in every field of a form (a choice, a number, a date, a text)."""
    answer: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if "enum" in prop:
            answer[name] = prop["enum"][0]
        elif prop["type"] == "object":
            answer[name] = _filled(prop)
        else:
            answer[name] = {"string": "2024-04-30", "boolean": True}.get(prop["type"], 1)
    return answer


def gate_lines() -> Iterator[tuple[str, str | None]]:
    """What the gate answers a Resume of a paused run's form with (`gate.answers`) when the
    answer leaves the form empty, or has one field of the wrong type or outside its choices."""
    for name, forms in paused_forms().items():
        for form in forms:
            schema = form.model_json_schema(by_alias=True)  # as the paused run saves it
            yield name, mend_line(schema, {})
            filled = _filled(schema)
            for field, prop in schema["properties"].items():
                for key, inner in [(None, prop), *(prop.get("properties") or {}).items()]:
                    wrong = "không có" if "enum" in inner else WRONG[inner["type"]]
                    value = wrong if key is None else {**filled[field], key: wrong}
                    yield name, mend_line(schema, {**filled, field: value})


def test_the_gates_line_for_an_answer_that_does_not_fit_a_form_is_vietnamese() -> None:
    """It names the field by its title, in «»; the rest is the gate's Vietnamese."""
    lines = list(gate_lines())
    assert all(line is not None and "«" in line for _, line in lines), lines
    assert [(where, line) for where, line in lines if english(line or "")] == []


def test_the_artifacts_a_clerk_or_reviewer_reads_are_vietnamese() -> None:
    found = [(where, text) for where, text in artifact_texts() if english(text)]
    assert found == []


# The modules a clerk's or reviewer's run, and the gate's work page, go through: a refusal
# raised here reaches them, and these runs' log lines are on their run's page.
CLERK_PATH = [
    "flows/submission.py",
    "flows/review.py",
    "flows/desk.py",
    "flows/runtime.py",
    "flows/forms.py",
    "flows/received.py",
    "services/checks.py",
    "services/desks.py",
    "services/records.py",
    "services/directives.py",
    "models/rules/obligation.py",
    "models/storage/ledger.py",
    "models/storage/review.py",
    "models/storage/desk.py",
    "models/storage/queries.py",
]
REFUSALS = {"InputError", "Refused", "Unauthorized", "NotFound"}
LOGS = {"print", "info", "warning", "error"}


def _calls(path: str) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            yield name, node


def _literal(node: ast.expr) -> str:
    """The words a string expression writes itself, each value it fills in as one mark."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            _literal(part) if isinstance(part, ast.Constant) else "·" for part in node.values
        )
    if isinstance(node, ast.IfExp):
        return f"{_literal(node.body)} · {_literal(node.orelse)}"
    if isinstance(node, ast.BinOp):
        return f"{_literal(node.left)}{_literal(node.right)}"
    return "·"


def refusals_without_vietnamese() -> list[str]:
    return [
        f"{path}:{call.lineno}"
        for path in CLERK_PATH
        for name, call in _calls(path)
        if name in REFUSALS and not any(k.arg == "vi" for k in call.keywords)
    ]


def test_every_refusal_on_the_clerks_path_has_its_vietnamese_line() -> None:
    """A refusal without one would reach the clerk as a line that says nothing of what to
    mend; each line given is Vietnamese."""
    assert refusals_without_vietnamese() == []
    lines = [
        (f"{path}:{call.lineno}", _literal(k.value))
        for path in CLERK_PATH
        for name, call in _calls(path)
        if name in REFUSALS
        for k in call.keywords
        if k.arg == "vi"
    ]
    assert [(where, line) for where, line in lines if english(line)] == []


def test_a_refusal_without_its_line_still_reads_in_vietnamese() -> None:
    line = refusal_line(Refused("cannot chase: a standing duty has no due date"))
    assert english(line) == [] and "standing" not in line


def test_the_lines_a_clerks_run_logs_are_vietnamese() -> None:
    logged = [
        (f"{path}:{call.lineno}", _literal(call.args[0]))
        for path in CLERK_PATH
        if path.startswith("flows/")
        for name, call in _calls(path)
        if name in LOGS and call.args
    ]
    assert logged and [(where, line) for where, line in logged if english(line)] == []


def test_a_refused_runs_badge_is_vietnamese() -> None:
    assert english(REFUSED) == [] and REFUSED == "Bị từ chối"


def test_a_refusals_line_inside_a_directives_failure_reads_as_one_sentence() -> None:
    """A line that ends its sentence (as the refusals' lines do) is not given a second full
    stop where a run over many directives quotes it."""
    failures = Failures("Đôn đốc")
    failures.add("d", Refused("cannot chase", vi="Nhiệm vụ thường xuyên không có hạn nộp."))
    (failed,) = failures.listed()
    assert "không có hạn nộp. Quản trị viên" in failed.vi and ".." not in failed.vi

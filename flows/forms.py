"""The forms staff and the lead office fill in the Prefect UI.

Each published requirement with something still to hand in gets a deployment of the submission
flow, and one of the flow by which the lead office enters a unit's report that arrived on paper,
by official e-mail or through the document system (its form asks for that requirement's own
figures, as the clerk's does). The submission form asks only who the clerk is; the run then
waits (paused) on a second form built for the clerk's own unit: only the periods that unit still
owes, in words with their due dates and in order, and the requirement's own figures with their
Vietnamese labels, types and bounds. Each published directive gets a deployment of the review
flow: the officer names themselves and narrows by requirement, period, unit and status; the run
then waits on a form listing the matches, with what each unit handed in.
`sync_forms` brings these deployments in line with dondoc's database, so publishing a directive,
opening periods, a submission or a decision changes the forms without anyone editing
prefect.yaml; a form whose content has not changed is not written again, and a refresh after one
obligation changed looks at that obligation's requirement only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, cast
from uuid import UUID

from prefect import get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.client.schemas.filters import FlowFilter, FlowFilterId, FlowFilterName
from prefect.concurrency.asyncio import concurrency
from prefect.exceptions import ObjectNotFound
from prefect.input import RunInput
from prefect.utilities.asyncutils import run_coro_as_sync
from pydantic import Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

import services.desks
import services.directives
import services.registers
from models.files.directive import RequirementSpec
from models.files.directive_form import form_schema
from models.rules.deliverable import Deliverable, Figure
from models.rules.obligation import CHANNELS
from models.rules.status import STATUS_WORDS
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text, period_words
from services.desks import REVIEW_STATUSES, Case, Cases, Choices, Owed, UnitRef
from services.directives import OpenWork
from services.settings import Settings, load_settings

PUBLISH_DEPLOYMENT = "cong-bo-chi-thi/cong-bo-chi-thi"
DESK_DEPLOYMENT = "viec-cua-don-vi/viec-cua-don-vi"
SUBMIT_FLOW = "nop-bao-cao"
REVIEW_FLOW = "xet-duyet"
RECEIVE_FLOW = "vao-so-bao-cao-den"
SUBMIT_ENTRYPOINT = "flows/submission.py:submit_obligation"
REVIEW_ENTRYPOINT = "flows/review.py:review_obligation"
RECEIVE_ENTRYPOINT = "flows/received.py:record_received"
SEPARATOR = " · "
# The review form's name in the list of forms, before its directive's code.
REVIEW_DESK = "Bàn xét duyệt"
# The lead office's decisions as its form offers them, and the command each one is.
DECISIONS = {
    "Chấp nhận": "accept",
    "Trả lại để bổ sung": "return",
    "Gia hạn": "extend",
    "Miễn": "waive",
}
# Refreshes take this global concurrency limit (one slot) in turn; a crashed holder's lease
# lapses after LEASE_SECONDS.
FORMS_LOCK = "dondoc-forms"
LEASE_SECONDS = 60
PAGE = 200
JSON_TYPES = {"integer": "integer", "number": "number", "text": "string", "boolean": "boolean"}


def choice(code: str | int, *labels: str) -> str:
    """A dropdown value people can read and dondoc can parse: `18679 · Xã Yên Hòa`."""
    return SEPARATOR.join([str(code), *labels])


def code_of(value: str) -> str:
    """The code at the front of a dropdown value (or the value itself)."""
    return value.split(SEPARATOR, 1)[0].strip()


def _bounds(figure: Figure) -> str | None:
    """A figure's bounds in words: the flow checks them (the form leaves them out of its
    schema, whose check would answer in English)."""
    if figure.min is not None and figure.max is not None:
        return f"Từ {figure.min:g} đến {figure.max:g}"
    if figure.min is not None:
        return f"Từ {figure.min:g} trở lên"
    if figure.max is not None:
        return f"Không quá {figure.max:g}"
    return None


def _figure_schema(figure: Figure) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": figure.label, "type": JSON_TYPES[figure.type]}
    notes = []
    if figure.unit:
        notes.append(f"Đơn vị tính: {figure.unit}")
    if bounds := _bounds(figure):
        notes.append(bounds)
    if figure.target and figure.target.at_least is not None:
        notes.append(f"Chỉ tiêu: ít nhất {figure.target.at_least:g}")
    if figure.target and figure.target.at_most is not None:
        notes.append(f"Chỉ tiêu: nhiều nhất {figure.target.at_most:g}")
    if notes:
        prop["description"] = "; ".join(notes)
    return prop


def submission_schema() -> dict[str, Any]:
    """The parameter schema of a submission form: step one asks nothing (the gate says who
    the clerk is). The run then waits on step two, the form built for their unit
    (`unit_form`)."""
    return {"title": "Parameters", "type": "object", "properties": {}, "definitions": {}}


def period_choice(owed: Owed) -> str:
    """A period as the clerk reads it, with its due date, still starting with its key:
    `2024-Q3 · Quý III/2024 — hạn 16/09/2024`."""
    words = period_words(owed.period)
    return choice(owed.period, words if owed.due is None else f"{words} — hạn {day_text(owed.due)}")


@dataclass(frozen=True, slots=True)
class Prefill:
    """The consolidation run's draft for one of the periods a unit owes (the lead office's
    consolidated report): the form offers that period with the draft filled in."""

    period: str
    narrative: str
    evidence: str | None
    as_of: date


class UnitForm(RunInput):
    """What step two of a submission brings back. The fields take any value: the server
    checks the answer against the form's schema, and the flow checks it again."""

    period: str
    figures: dict[str, Any] = Field(default_factory=dict)
    narrative: str | None = None
    evidence: str | None = None


def _mend_line(mend: str | None) -> list[str]:
    """The first line of a form the flow asks again: what to mend, in the flow's words."""
    return [] if mend is None else [f"**Cần sửa:** {markdown_text(mend)}", ""]


def deliverable_fields(what: Deliverable, position: int) -> tuple[dict[str, Any], list[str]]:
    """What a requirement asks handed in as a form's fields from `position` on: its figures
    with their Vietnamese labels, units, bounds and targets, its narrative and evidence; and
    those of them required. The clerk's form and the lead office's form of a report received
    by another channel ask them alike."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    if what.figures:
        properties["figures"] = {
            "title": "Số liệu",
            "type": "object",
            "position": position,
            "properties": {f.key: _figure_schema(f) for f in what.figures},
            "required": [f.key for f in what.figures if f.required],
        }
        required.append("figures")
    for offset, (name, part) in enumerate(
        (("narrative", what.narrative), ("evidence", what.evidence)), start=1
    ):
        if part is not None:
            properties[name] = {
                "title": part.label,
                "type": "string",
                "position": position + offset,
            }
            if part.required:
                required.append(name)
    return properties, required


def unit_form_schema(
    spec: RequirementSpec,
    owed: list[Owed],
    prefill: Prefill | None = None,
    *,
    typed: UnitForm | None = None,
) -> dict[str, Any]:
    """Step two of a submission, for one unit: the periods it still owes (in words, with
    their due dates, in order), then the requirement's figures with their Vietnamese labels
    and bounds, its narrative and evidence; a draft (`prefill`) fills its period, narrative
    and evidence in, and what the clerk `typed` in a form the flow asks again fills in
    everything. The schema asks for the required fields and the types the UI's inputs
    need; bounds and texts of only spaces are the flow's to check, in Vietnamese."""
    asked, asked_required = deliverable_fields(spec.what, 1)
    properties: dict[str, Any] = {
        "period": {
            "title": "Kỳ báo cáo",
            "type": "string",
            "position": 0,
            "enum": [period_choice(o) for o in owed],
        },
        **asked,
    }
    required = ["period", *asked_required]
    if prefill is not None:
        drafted = next(o for o in owed if o.period == prefill.period)
        properties["period"]["default"] = period_choice(drafted)
        for name, value in (("narrative", prefill.narrative), ("evidence", prefill.evidence)):
            if name in properties and value:
                properties[name]["default"] = value
    if typed is not None:
        _keep_typed(properties, owed, typed)
    return {
        "title": spec.title,
        "type": "object",
        "properties": properties,
        "required": required,
        "definitions": {},
    }


def _keep_typed(properties: dict[str, Any], owed: list[Owed], typed: UnitForm) -> None:
    """What the clerk typed, as the defaults of the form that asks again (a period only
    while it is still owed)."""
    period = next((o for o in owed if o.period == code_of(typed.period)), None)
    if period is not None:
        properties["period"]["default"] = period_choice(period)
    figures = properties.get("figures", {}).get("properties", {})
    for key, value in typed.figures.items():
        if key in figures and value is not None:
            figures[key]["default"] = value
    for name, value in (("narrative", typed.narrative), ("evidence", typed.evidence)):
        if name in properties and value is not None:
            properties[name]["default"] = value


def unit_form(
    spec: RequirementSpec,
    unit: UnitRef,
    owed: list[Owed],
    prefill: Prefill | None = None,
    *,
    typed: UnitForm | None = None,
    mend: str | None = None,
) -> type[UnitForm]:
    """The paused run's form for one unit (`unit_form_schema`), with a description that
    names the unit, says why any period came back and which draft is filled in; asked
    again, it keeps what the clerk `typed` and its first line says what to `mend`."""
    schema = unit_form_schema(spec, owed, prefill, typed=typed)
    returned = [
        f"- {period_words(o.period)}: trả lại để bổ sung — {o.reason}"
        for o in owed
        if o.reason is not None
    ]

    class Form(UnitForm):
        @classmethod
        def __get_pydantic_json_schema__(
            cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
        ) -> JsonSchemaValue:
            return schema

    Form._description = "\n".join(
        [
            *_mend_line(mend),
            f"**{unit.code} {unit.name}** · {spec.title}: chọn kỳ còn phải nộp, điền số liệu "
            "rồi bấm Resume.",
            *returned,
            *(
                [
                    f"- Dự thảo báo cáo tổng hợp {period_words(prefill.period)} (số liệu đến "
                    f"ngày {day_text(prefill.as_of)}) đã được điền sẵn: kiểm tra, sửa nếu cần, "
                    "rồi bấm Resume."
                ]
                if prefill
                else []
            ),
        ]
    )
    return Form


def requirement_choices(choices: Choices) -> list[str]:
    """Each requirement, for all its periods, then with each of its own periods, in order: one
    list, since a form's dropdown cannot follow another (`1c · mọi kỳ · …`, `1c/2024-Q1 · Quý
    I/2024 · …`)."""
    return [
        value
        for code, title in choices.requirements
        for value in [
            choice(code, "mọi kỳ", title),
            *(
                choice(f"{code}/{key}", period_words(key), title)
                for key in choices.periods.get(code, [])
            ),
        ]
    ]


def requirement_period(value: str) -> tuple[str, str | None]:
    """The requirement and the period (None: every period) a `requirement_choices` value
    names, or a requirement's code given alone."""
    requirement, _, period = code_of(value).partition("/")
    return requirement, period or None


def review_schema(choices: Choices) -> dict[str, Any]:
    """Step one of a directive's review: what to narrow the list to (every filter may stay
    empty; the status starts at the reports waiting for a decision)."""
    return {
        "title": "Parameters",
        "type": "object",
        "properties": {
            "requirement": {
                "title": "Nhiệm vụ và kỳ báo cáo",
                "description": "Để trống: mọi nhiệm vụ, mọi kỳ.",
                "type": "string",
                "enum": requirement_choices(choices),
                "position": 1,
            },
            "unit": {
                "title": "Đơn vị",
                "description": "Mã đơn vị; hoặc mã tỉnh, huyện để xem mọi đơn vị trực thuộc. "
                "Để trống: mọi đơn vị.",
                "type": "string",
                "position": 3,
            },
            "status": {
                "title": "Tình trạng",
                "type": "string",
                "enum": [STATUS_WORDS[s] for s in REVIEW_STATUSES],
                "default": STATUS_WORDS["submitted"],
                "position": 4,
            },
        },
        "definitions": {},
    }


def case_words(case: Case) -> str:
    """One obligation in words: `18679 Xã Yên Hòa · 1c · Quý I/2024 · Đã nộp, chờ xét`."""
    return SEPARATOR.join(
        [
            f"{case.unit} {case.unit_name}",
            case.requirement,
            period_words(case.period),
            STATUS_WORDS[case.status],
        ]
    )


def case_choice(case: Case) -> str:
    """One obligation as the decision form offers it, its id first for the flow to read back:
    `1234 · 18679 Xã Yên Hòa · 1c · Quý I/2024 · Đã nộp, chờ xét`."""
    return choice(case.obligation_id, case_words(case))


class DecisionForm(RunInput):
    """What step two of a review brings back; the flow checks it before recording it."""

    obligation: str
    decision: str
    reason: str | None = None
    new_due: str | None = None


def decision_schema(cases: Cases, typed: DecisionForm | None = None) -> dict[str, Any]:
    """Step two of a review: one of the listed obligations (already chosen when it is the
    only one), the decision, and its reason or new due date; what the officer `typed` in a
    form the flow asks again is filled in (an obligation only while it is listed)."""
    listed = [case_choice(c) for c in cases.listed]
    obligation: dict[str, Any] = {
        "title": "Nghĩa vụ",
        "type": "string",
        "enum": listed,
        "position": 0,
    }
    if len(listed) == 1:
        obligation["default"] = listed[0]
    properties: dict[str, Any] = {
        "obligation": obligation,
        "decision": {
            "title": "Quyết định",
            "type": "string",
            "enum": list(DECISIONS),
            "position": 1,
        },
        "reason": {
            "title": "Lý do (bắt buộc khi trả lại hoặc miễn)",
            "type": "string",
            "position": 2,
        },
        "new_due": {
            "title": "Hạn mới (khi gia hạn)",
            "type": "string",
            "format": "date",
            "position": 3,
        },
    }
    if typed is not None:
        chosen = next((c for c in listed if code_of(c) == code_of(typed.obligation)), None)
        kept = typed.model_dump(include={"decision", "reason", "new_due"})
        for name, value in ({"obligation": chosen} | kept).items():
            if value is not None:
                properties[name]["default"] = value
    return {
        "title": "Quyết định",
        "type": "object",
        "properties": properties,
        "required": ["obligation", "decision"],
        "definitions": {},
    }


def decision_form(
    cases: Cases,
    description: str,
    *,
    typed: DecisionForm | None = None,
    mend: str | None = None,
) -> type[DecisionForm]:
    """The paused review run's form: `decision_schema`, under the listed cases' evidence;
    asked again, it keeps what the officer `typed` and its first line says what to
    `mend`."""
    schema = decision_schema(cases, typed)

    class Form(DecisionForm):
        @classmethod
        def __get_pydantic_json_schema__(
            cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
        ) -> JsonSchemaValue:
            return schema

    Form._description = "\n".join([*_mend_line(mend), description])
    return Form


def desk_schema() -> dict[str, Any]:
    """The form of a unit's list: the list of the unit of whoever the gate signed in, or
    another unit's the server lets them see."""
    return {
        "title": "Parameters",
        "type": "object",
        "properties": {
            "as_of": {
                "title": "Tình hình tính đến ngày (mặc định: hôm nay)",
                "type": "string",
                "format": "date",
                "position": 1,
            },
            "unit": {
                "title": "Đơn vị khác (mã; để trống: đơn vị của mình)",
                "description": "Cơ quan chủ trì xem được việc của các đơn vị mình đôn đốc; "
                "quản trị viên xem được mọi đơn vị.",
                "type": "string",
                "position": 2,
            },
        },
        "definitions": {},
    }


def received_schema(spec: RequirementSpec, periods: list[str], grace_days: int) -> dict[str, Any]:
    """The form the lead office enters a unit's report of one requirement that arrived by
    another channel with: the unit's code and the period (the requirement's periods to choose
    from), how and when it arrived, then what the requirement asks handed in, as the clerk's
    form asks it (`deliverable_fields`), and the scan and the reason for a late entry."""
    text = {"type": "string"}
    asked, asked_required = deliverable_fields(spec.what, 6)
    fields: dict[str, dict[str, Any]] = {
        "unit": {"title": "Đơn vị gửi báo cáo (mã đơn vị)", **text, "position": 1},
        "period": {
            "title": "Kỳ báo cáo",
            **text,
            "position": 2,
            "enum": [choice(key, period_words(key)) for key in periods],
        },
        "channel": {
            "title": "Kênh nhận",
            **text,
            "position": 3,
            "enum": [choice(code, name) for code, name in CHANNELS.items()],
        },
        "arrived": {"title": "Ngày đến", **text, "format": "date", "position": 4},
        "number": {"title": "Số, ký hiệu văn bản đến", **text, "position": 5},
        **asked,
        "scan": {"title": "Bản chụp văn bản đến (đường dẫn)", **text, "position": 9},
        "reason": {
            "title": "Lý do vào sổ muộn",
            "description": f"Bắt buộc khi vào sổ sau ngày đến quá {grace_days} ngày làm việc.",
            **text,
            "position": 10,
        },
    }
    return {
        "title": "Parameters",
        "type": "object",
        "properties": fields,
        "required": ["unit", "period", "channel", "arrived", "number", *asked_required],
        "definitions": {},
    }


@dataclass(frozen=True)
class Form:
    """One generated deployment: a requirement's submission form or a directive's review form."""

    flow: str
    name: str
    description: str
    entrypoint: str
    parameters: dict[str, Any]
    schema: dict[str, Any]
    tags: list[str]

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.name}"

    def fingerprint(self, work_pool: str, pull: list[dict[str, Any]]) -> str:
        """A digest of everything the deployment holds, kept as its version: a form whose
        digest has not changed is not written again."""
        content = json.dumps(
            [asdict(self), work_pool, pull], sort_keys=True, ensure_ascii=False, default=str
        )
        return hashlib.sha256(content.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FormSync:
    """What a refresh found and did: every live form, and those it wrote or deleted."""

    names: list[str]
    written: list[str]
    deleted: list[str]


def submission_name(directive: str, requirement: str) -> str:
    """The name of a requirement's submission deployment: `1c · cam-xuyen-cchc-2024`."""
    return f"{requirement}{SEPARATOR}{directive}"


def submission_form(work: OpenWork) -> Form:
    """The submission deployment of one requirement with something still to hand in."""
    return Form(
        flow=SUBMIT_FLOW,
        name=submission_name(work.directive, work.requirement),
        description=(
            f"Nộp báo cáo «{work.title}» (nhiệm vụ {work.requirement}, {work.directive}). "
            "Bước 1: bấm Submit (người nộp là tài khoản đã đăng nhập). Bước 2: trên trang "
            "lần chạy vừa tạo, khi trạng thái là Paused (hoặc Suspended), mở menu ⋮ → Resume: "
            "biểu mẫu chỉ có các kỳ đơn vị mình còn phải nộp, kèm hạn nộp; chọn kỳ, điền số liệu "
            "rồi bấm Resume."
        ),
        entrypoint=SUBMIT_ENTRYPOINT,
        parameters={"directive": work.directive, "requirement": work.requirement},
        schema=submission_schema(),
        tags=[work.directive, "nộp báo cáo"],
    )


def received_form(
    work: OpenWork, spec: RequirementSpec, periods: list[str], grace_days: int
) -> Form:
    """The deployment by which the lead office enters a unit's report of one requirement
    with something still to hand in, received by another channel: named as its submission
    form, asking for its own figures."""
    return Form(
        flow=RECEIVE_FLOW,
        name=submission_name(work.directive, work.requirement),
        description=(
            f"Cơ quan chủ trì vào sổ báo cáo «{work.title}» (nhiệm vụ {work.requirement}, "
            f"{work.directive}) của một đơn vị gửi bằng giấy, thư điện tử công vụ hoặc qua hệ "
            "thống quản lý văn bản: ghi mã đơn vị, chọn kỳ và kênh nhận, ghi ngày đến, số, ký "
            "hiệu văn bản và số liệu như trong văn bản đến, rồi bấm Submit. Đúng hạn hay trễ hạn "
            "tính theo ngày đến. Người vào sổ là tài khoản đã đăng nhập, và không tự chấp nhận "
            "báo cáo mình đã vào sổ."
        ),
        entrypoint=RECEIVE_ENTRYPOINT,
        parameters={"directive": work.directive, "requirement": work.requirement},
        schema=received_schema(spec, periods, grace_days),
        tags=[work.directive, "vào sổ báo cáo đến"],
    )


def _received_form(settings: Settings, work: OpenWork, periods: list[str]) -> Form:
    spec = services.directives.requirement_spec(
        settings, directive=work.directive, requirement=work.requirement
    )
    return received_form(work, spec, periods, settings.entry_grace_working_days)


def desired_forms(settings: Settings) -> list[Form]:
    """The forms dondoc's database calls for now: per requirement with something still to
    hand in, its submission form and its form of reports received by another channel; a
    review form per published directive."""
    work = services.directives.open_work(settings)
    choices = services.desks.review_choices(settings)
    forms = [submission_form(w) for w in work]
    forms += [
        _received_form(settings, w, choices[w.directive].periods[w.requirement]) for w in work
    ]
    forms += [review_form(directive, offered) for directive, offered in choices.items()]
    return forms


def review_desk_name(directive: str) -> str:
    """The name of a directive's review deployment, in words: `Bàn xét duyệt ·
    cam-xuyen-cchc-2024`."""
    return f"{REVIEW_DESK}{SEPARATOR}{directive}"


def review_form(directive: str, choices: Choices) -> Form:
    """The review deployment of one published directive."""
    return Form(
        flow=REVIEW_FLOW,
        name=review_desk_name(directive),
        description=(
            f"Cơ quan chủ trì xét duyệt báo cáo của chỉ thị {directive}: chấp nhận, trả "
            "lại để bổ sung, gia hạn hoặc miễn. Bước 1: chọn nhiệm vụ và kỳ, đơn vị, tình "
            "trạng cần xem rồi bấm Submit. Bước 2: trên trang lần chạy, khi trạng thái là "
            "Paused (hoặc Suspended), mở menu ⋮ → Resume: xem số liệu, nội dung, minh chứng và "
            "hạn nộp của từng đơn vị, chọn một nghĩa vụ và quyết định."
        ),
        entrypoint=REVIEW_ENTRYPOINT,
        parameters={"directive": directive},
        schema=review_schema(choices),
        tags=[directive, "xét duyệt"],
    )


async def _flow_ids(client: Any, names: list[str]) -> dict[str, UUID]:
    """The ids of these flows, created if the server does not know them yet."""
    known = {
        f.name: f.id
        for f in await client.read_flows(flow_filter=FlowFilter(name=FlowFilterName(any_=names)))
    }
    for name in names:
        if name not in known:
            known[name] = await client.create_flow_from_name(name)
    return known


async def _deployments_of(client: Any, flow_ids: list[UUID]) -> list[Any]:
    """Every deployment of these flows, page by page (the API caps one answer)."""
    found: list[Any] = []
    while True:
        page = await client.read_deployments(
            flow_filter=FlowFilter(id=FlowFilterId(any_=flow_ids)),
            limit=PAGE,
            offset=len(found),
        )
        found += page
        if len(page) < PAGE:
            return found


async def _refresh_declared_forms(client: Any, settings: Settings) -> list[str]:
    """Give the deployments prefect.yaml declares their Vietnamese forms, the publishing form
    offering the directive files the project holds now and the register's offices and kinds
    (each absent until `prefect deploy` has run). The names of those that had to be written."""
    project = settings.project_dir
    files = sorted(str(p.relative_to(project)) for p in (project / "directives").glob("*.yaml"))
    written = []
    for name, schema in (
        (PUBLISH_DEPLOYMENT, form_schema(services.registers.form_lists(settings), files)),
        (DESK_DEPLOYMENT, desk_schema()),
    ):
        try:
            deployment = await client.read_deployment_by_name(name)
        except ObjectNotFound:
            continue
        if deployment.parameter_openapi_schema != schema:
            await client.update_deployment(
                deployment.id, DeploymentUpdate(parameter_openapi_schema=schema)
            )
            written.append(name)
    return written


async def _lock(client: Any) -> None:
    """The global concurrency limit that lets one refresh run at a time."""
    try:
        await client.read_global_concurrency_limit_by_name(FORMS_LOCK)
    except ObjectNotFound:
        await client.upsert_global_concurrency_limit_by_name(FORMS_LOCK, 1)


async def _write(
    client: Any, flow_id: UUID, form: Form, version: str, pull: Any, pool: str
) -> None:
    await client.create_deployment(
        flow_id=flow_id,
        name=form.name,
        version=version,
        description=form.description,
        entrypoint=form.entrypoint,
        work_pool_name=pool,
        pull_steps=pull,
        parameters=form.parameters,
        parameter_openapi_schema=form.schema,
        enforce_parameter_schema=True,
        tags=form.tags,
    )


async def _sync_requirement(
    client: Any, settings: Settings, directive: str, requirement: str, pull: Any
) -> FormSync:
    """One requirement's submission form and form of reports received by another channel
    made to match the database: written if it has something to hand in and a form differs,
    deleted if it has nothing left. A received form that exists is kept as it is: what it
    shows (the requirement's text and periods) changes only by an amendment or an opening,
    which refresh every form. The review form does not depend on one obligation, so nothing
    else is read."""
    work = services.directives.open_work(settings, directive=directive, requirement=requirement)
    name = submission_name(directive, requirement)
    done = FormSync([], [], [])
    for flow in (SUBMIT_FLOW, RECEIVE_FLOW):
        full_name = f"{flow}/{name}"
        try:
            current = await client.read_deployment_by_name(full_name)
        except ObjectNotFound:
            current = None
        if not work:
            if current is not None:
                await client.delete_deployment(current.id)
                done.deleted.append(full_name)
            continue
        done.names.append(full_name)
        if flow == RECEIVE_FLOW and current is not None:
            continue
        form = (
            submission_form(work[0])
            if flow == SUBMIT_FLOW
            else _received_form(
                settings,
                work[0],
                services.desks.requirement_periods(
                    settings, directive=directive, requirement=requirement
                ),
            )
        )
        version = form.fingerprint(settings.work_pool, pull)
        if current is not None and current.version == version:
            continue
        flows = await _flow_ids(client, [flow])
        await _write(client, flows[flow], form, version, pull, settings.work_pool)
        done.written.append(full_name)
    return done


async def sync_forms(
    settings: Settings, *, directive: str | None = None, requirement: str | None = None
) -> FormSync:
    """Make the form deployments match the database, writing only those that changed (on the
    settings' work pool, run from their project directory). Given a directive and one of its
    requirements (what one submission or decision changed), only that requirement's
    submission and received forms are looked at: one query and two to four API calls,
    however many units and forms there are; otherwise every form is.

    Refreshes run one at a time (a Prefect global concurrency limit) and read the database
    once they hold it: when several runs end together, the last refresh writes the latest
    state, never an older one over a newer."""
    working_directory = str(settings.project_dir)
    pull = [{"prefect.deployments.steps.set_working_directory": {"directory": working_directory}}]
    async with get_client() as client:
        await _lock(client)
        async with concurrency(FORMS_LOCK, occupy=1, strict=True, lease_duration=LEASE_SECONDS):
            if directive is not None and requirement is not None:
                return await _sync_requirement(client, settings, directive, requirement, pull)
            return await _sync_all(client, settings, pull)


async def _sync_all(client: Any, settings: Settings, pull: Any) -> FormSync:
    """Every generated form made to match the database, and the declared ones refreshed."""
    written: list[str] = []
    deleted: list[str] = []
    forms = desired_forms(settings)
    flows = await _flow_ids(client, [SUBMIT_FLOW, RECEIVE_FLOW, REVIEW_FLOW])
    flow_names = {flow_id: name for name, flow_id in flows.items()}
    existing = {
        f"{flow_names[d.flow_id]}/{d.name}": d
        for d in await _deployments_of(client, list(flows.values()))
    }
    for form in forms:
        version = form.fingerprint(settings.work_pool, pull)
        current = existing.get(form.full_name)
        if current is not None and current.version == version:
            continue
        await _write(client, flows[form.flow], form, version, pull, settings.work_pool)
        written.append(form.full_name)
    # A form with nothing left to hand in goes away.
    names = [form.full_name for form in forms]
    for name in sorted(existing.keys() - set(names)):
        await client.delete_deployment(existing[name].id)
        deleted.append(name)
    written += await _refresh_declared_forms(client, settings)
    return FormSync(names, written, deleted)


@task
def refresh_forms(directive: str | None = None, requirement: str | None = None) -> FormSync:
    """Make the submission and review forms match the database: all of them, or the one
    submission form of a requirement whose obligation changed."""
    result = cast(
        FormSync,
        run_coro_as_sync(sync_forms(load_settings(), directive=directive, requirement=requirement)),
    )
    get_run_logger().info(
        "%d biểu mẫu đã khớp dữ liệu: %d biểu mẫu ghi mới, %d biểu mẫu bỏ đi",
        len(result.names),
        len(result.written),
        len(result.deleted),
    )
    return result

"""Việc của tôi: the gate's own page of a signed-in person's work, and the short way to hand
in a report, in Vietnamese, with no script.

`/viec-cua-toi` lists what the person's unit still has to hand in, as the unit's list
(`viec-cua-don-vi`) orders it: overdue first, then due soon, returned, open; what waits on
review apart. A line's "Nộp báo cáo" starts that requirement's submission run for the person
exactly as the UI's Run button does (`Gate.start_for`: the same checks, grant and labels) and
opens `/viec-cua-toi/bieu-mau/{run}`: the form the paused run waits on, read where Prefect
keeps it, as a plain HTML form with the line's period chosen. The answer goes to the run as
the UI's Resume sends it (`Gate.resume_for`: the starter's alone, with a grant for the very
answer); the page then shows the receipt, the form asked again (its first line says what to
mend, what was typed is kept) or the refusal. While the run is on its way the page says so and
looks again every few seconds. A reviewer's page lists, besides, what waits for their decision:
a line's "Xét duyệt" starts the directive's review desk on that one report the same way and
opens the same form page, on the decision form; the page then shows the decision record.
Everything else stays in the Prefect UI. `/huong-dan` is the guide, open to anyone."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from markdown_it import MarkdownIt
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

import services.access
import services.desks
from gate.refusal import UNREACHABLE, Refusal, refused
from gate.routes import ADMIN, REVIEW_DESK, REVIEW_FLOW, REVIEWER, SEPARATOR, SUBMIT_FLOW
from gate.scope import own
from gate.session import Visitor, cross_site, signed_in
from gate.signin import CROSS_SITE, GUIDE, NEXT, PAGE, WORK_PAGE, page, posted_form
from models.rules.status import STATUS_WORDS
from models.rules.vietnamese import day_text, period_words
from models.rules.workdays import local_date
from services.settings import Settings

if TYPE_CHECKING:
    from gate.app import Gate

START_PAGE = f"{WORK_PAGE}/nop"
REVIEW_PAGE = f"{WORK_PAGE}/xet"
FORM_PAGE = f"{WORK_PAGE}/bieu-mau"
SCREENSHOTS = f"{GUIDE}/anh"
# The receipt a submission run leaves, the record a review run leaves, and the state name of a
# refused run (flows/runtime.py, flows/review.py).
RECEIPT = "bien-nhan"
DECISION = "quyet-dinh"
REFUSED = "Bị từ chối"
# How often a page waiting for its run looks again, in seconds.
POLL_SECONDS = 2
# An answer is a few figures and a narrative; the form's fields at most a few dozen.
LARGEST_ANSWER = 256 * 1024
MOST_FIELDS = 200
NO_RUN = "Không tìm thấy lượt chạy này."
INTEGER = re.compile(r"[+-]?[0-9]+")
NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")
# The screenshots the guide shows (docs/screenshots of the project), and nothing else.
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
GUIDE_SHOTS = frozenset(
    {
        "0-dang-nhap.png",
        "14-viec-cua-toi.png",
        "1-nop-bao-cao.png",
        "2-bien-nhan.png",
        "15-cho-toi-quyet-dinh.png",
        "16-quyet-dinh-tren-cong.png",
        "4-da-chap-nhan.png",
        "3-xet-duyet.png",
    }
)
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_html(text: str) -> str:
    """A flow's markdown (a form's description, a receipt) as HTML; raw HTML in it is shown
    as text, and links go only where markdown-it lets them (no `javascript:`)."""
    return _MARKDOWN.render(text)


@dataclass(frozen=True, slots=True)
class Line:
    """One obligation on the work page."""

    directive: str
    requirement: str
    title: str
    period: str  # its key, which the form is opened with
    period_words: str
    due: str
    status: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class Waiting:
    """One report on the reviewer's page, handed in and waiting for their decision."""

    directive: str
    obligation_id: int
    unit: str
    requirement: str
    title: str
    period_words: str
    handed_in: str


def _waiting(directive: str, case: services.desks.Case) -> Waiting:
    due = "" if case.due is None else f" (hạn {day_text(case.due)})"
    handed_in = "" if case.handed_in is None else day_text(case.handed_in)
    late = f"trễ {case.days_late} ngày" if case.days_late else "đúng hạn"
    return Waiting(
        directive,
        case.obligation_id,
        f"{case.unit} {case.unit_name}",
        case.requirement,
        case.title,
        period_words(case.period),
        f"{handed_in}, {late}{due}",
    )


def unit_work(settings: Settings, unit: str, day: date) -> list[services.desks.Owed]:
    """A unit's obligations with a due date as its list shows them on `day`, the most
    urgent first (the same list as the `viec-cua-don-vi` run's)."""
    items = services.desks.unit_desk(settings, unit=unit, day=day)
    return [item for item in items if item.period != services.desks.STANDING]


def submission_form(item: services.desks.Owed) -> str:
    """The name of the submission form of an obligation's requirement (flows/forms.py)."""
    return SEPARATOR.join([item.requirement, item.directive])


def _line(item: services.desks.Owed) -> Line:
    return Line(
        item.directive,
        item.requirement,
        item.title,
        item.period,
        period_words(item.period),
        day_text(item.due) if item.due else "—",
        STATUS_WORDS[item.status],
        item.reason,
    )


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a paused run's form: its name in the posted form (`period`,
    `figures.leaflets`), label, kind (choice, integer, number, boolean, date, line, text),
    whether it is required, the note under it, its choices and the value it shows."""

    name: str
    label: str
    kind: str
    required: bool
    note: str
    choices: tuple[str, ...]
    value: str


@dataclass(frozen=True, slots=True)
class Group:
    """An object of the form (the figures): its name in the answer, title and fields."""

    name: str
    title: str
    fields: list[Field]


class Mend(ValueError):
    """An answer the gate does not send: the Vietnamese line saying what to mend."""


def _ordered(properties: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(properties.items(), key=lambda item: item[1].get("position", len(properties)))


def _kind(prop: Mapping[str, Any], *, nested: bool) -> str:
    if "enum" in prop:
        return "choice"
    kind = prop.get("type")
    if kind in ("integer", "number", "boolean"):
        return str(kind)
    if prop.get("format") == "date":
        return "date"
    return "line" if nested else "text"


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _field(
    name: str,
    prop: Mapping[str, Any],
    *,
    required: bool,
    nested: bool,
    typed: Mapping[str, str] | None,
    period: str | None,
) -> Field:
    kind = _kind(prop, nested=nested)
    choices = tuple(str(c) for c in prop.get("enum", ()))
    value = typed.get(name, "") if typed is not None else _shown(prop.get("default"))
    if name == "period" and not value and period:
        # the period of the line the page was opened from, while the run still offers it
        value = next((c for c in choices if c.split(SEPARATOR, 1)[0] == period), "")
    return Field(
        name,
        str(prop.get("title", name)),
        kind,
        required,
        str(prop.get("description", "")),
        choices,
        value,
    )


def form_items(
    schema: Mapping[str, Any],
    *,
    typed: Mapping[str, str] | None = None,
    period: str | None = None,
) -> list[Field | Group]:
    """The inputs of a paused run's form (Prefect keeps its JSON schema), in the schema's
    order: what it offers, with what `typed` holds (a form the gate asks again) or the
    schema's defaults (what the clerk typed, kept by a flow that asks again), and `period`
    chosen if the form offers it and chooses none."""
    items: list[Field | Group] = []
    required = set(schema.get("required") or ())
    for name, prop in _ordered(schema.get("properties") or {}):
        if prop.get("type") == "object":
            inner = set(prop.get("required") or ())
            fields = [
                _field(
                    f"{name}.{key}",
                    sub,
                    required=key in inner,
                    nested=True,
                    typed=typed,
                    period=period,
                )
                for key, sub in _ordered(prop.get("properties") or {})
            ]
            items.append(Group(name, str(prop.get("title", name)), fields))
        else:
            items.append(
                _field(
                    name, prop, required=name in required, nested=False, typed=typed, period=period
                )
            )
    return items


def _value(field: Field, posted: Mapping[str, str]) -> object:
    """What the form's answer holds for `field` (None: nothing), or Mend."""
    text = posted.get(field.name, "")
    if field.kind == "boolean":
        return text == "on"
    if not text.strip():
        if field.required:
            raise Mend(f"Hãy điền «{field.label}».")
        return None
    if field.kind == "choice" and text not in field.choices:
        raise Mend(f"Hãy chọn «{field.label}» trong danh sách.")
    if field.kind == "integer":
        if not INTEGER.fullmatch(text.strip()):
            raise Mend(f"«{field.label}» phải là số nguyên (đã nhập «{text}»).")
        return int(text)
    if field.kind == "number":
        if not NUMBER.fullmatch(text.strip()):
            raise Mend(f"«{field.label}» phải là một số (đã nhập «{text}»).")
        return float(text.strip().replace(",", "."))
    return text


def answer_of(schema: Mapping[str, Any], posted: Mapping[str, str]) -> dict[str, Any]:
    """The answer to a paused run's form from the fields posted, typed as its schema says
    (an empty field is left out); Mend, with one Vietnamese line, for a required field left
    empty, a choice the form does not offer or a number that is not one. Bounds and texts of
    spaces are the flow's to check."""
    answer: dict[str, Any] = {}
    for item in form_items(schema):
        if isinstance(item, Group):
            values = {f.name.split(".", 1)[1]: _value(f, posted) for f in item.fields}
            answer[item.name] = {key: value for key, value in values.items() if value is not None}
        elif (value := _value(item, posted)) is not None:
            answer[item.name] = value
    return answer


class WorkPages:
    """The work page, the form page and the guide of one gate."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.settings = gate.settings

    async def _visitor(self, request: Request) -> Visitor | None:
        return await signed_in(request, self.settings, self.gate.now)

    async def work(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if visitor is None:
            return RedirectResponse(f"{PAGE}?{urlencode({NEXT: WORK_PAGE})}", status_code=303)
        now = self.gate.now()
        day = local_date(now)
        unit = await run_in_threadpool(
            services.desks.desk_unit, self.settings, visitor.username, None, day=day, now=now
        )
        dated = await run_in_threadpool(unit_work, self.settings, unit.code, day)
        desks = []
        deciding: dict[str, services.desks.Cases] | None = None
        if visitor.role in (REVIEWER, ADMIN):
            deciding = await run_in_threadpool(
                services.desks.waiting_decisions, self.settings, visitor.username, day=day, now=now
            )
            try:
                found = await self.gate.query_upstream(
                    "/api/deployments/filter",
                    {"flows": {"name": {"any_": [REVIEW_FLOW]}}, "sort": "NAME_ASC"},
                )
            except Refusal as refusal:
                return refused(request, refusal.status, refusal.line)
            except httpx.TransportError:
                return refused(request, 502, UNREACHABLE)
            desks = [(str(d["id"]), str(d["name"])) for d in found]
        return page(
            "viec-cua-toi.html",
            title=f"Việc của đơn vị {unit.code} {unit.name}",
            person=visitor.person.full_name,
            username=visitor.username,
            day=day_text(day),
            to_do=[_line(i) for i in dated if i.status in services.desks.TO_DO],
            waiting=[_line(i) for i in dated if i.status == services.desks.WAITING],
            desks=desks,
            deciding=None
            if deciding is None
            else [_waiting(d, case) for d, cases in deciding.items() for case in cases.listed],
            deciding_total=sum(cases.total for cases in (deciding or {}).values()),
            wide=True,
        )

    async def review(self, request: Request) -> Response:
        """ "Xét duyệt" on a reviewer's line: the directive's review desk started for the
        person on that one report (as the UI's Run button starts it), and its form page."""
        visitor = await self._visitor(request)
        if visitor is None:
            return RedirectResponse(f"{PAGE}?{urlencode({NEXT: WORK_PAGE})}", status_code=303)
        if cross_site(request, self.gate.origin):
            return refused(request, 403, CROSS_SITE)
        posted = await posted_form(request)
        obligation = posted.get("nghia_vu", "")
        try:
            found = await self.gate.query_upstream(
                "/api/deployments/filter",
                {
                    "flows": {"name": {"any_": [REVIEW_FLOW]}},
                    "deployments": {
                        "name": {"any_": [SEPARATOR.join([REVIEW_DESK, posted.get("chi_thi", "")])]}
                    },
                },
            )
            if not found or not obligation.isdecimal():
                raise Refusal(404, "Không có bàn xét duyệt này.")
            run_id = await self.gate.start_for(
                visitor, str(found[0]["id"]), {"obligation": obligation}
            )
        except Refusal as refusal:
            return refused(request, refusal.status, refusal.line)
        except httpx.TransportError:
            return refused(request, 502, UNREACHABLE)
        return RedirectResponse(f"{FORM_PAGE}/{run_id}", status_code=303)

    async def start(self, request: Request) -> Response:
        """ "Nộp báo cáo" on a line: the requirement's submission run, started for the
        person, and its form page, the line's period to be chosen."""
        visitor = await self._visitor(request)
        if visitor is None:
            return RedirectResponse(f"{PAGE}?{urlencode({NEXT: WORK_PAGE})}", status_code=303)
        if cross_site(request, self.gate.origin):
            return refused(request, 403, CROSS_SITE)
        posted = await posted_form(request)
        name = SEPARATOR.join([posted.get("nhiem_vu", ""), posted.get("chi_thi", "")])
        try:
            found = await self.gate.query_upstream(
                "/api/deployments/filter",
                {
                    "flows": {"name": {"any_": [SUBMIT_FLOW]}},
                    "deployments": {"name": {"any_": [name]}},
                },
            )
            if not found:
                raise Refusal(404, "Biểu mẫu nộp báo cáo này không còn: đơn vị đã nộp hết.")
            run_id = await self.gate.start_for(visitor, str(found[0]["id"]))
        except Refusal as refusal:
            return refused(request, refusal.status, refusal.line)
        except httpx.TransportError:
            return refused(request, 502, UNREACHABLE)
        period = posted.get("ky", "")[:32]
        query = f"?{urlencode({'ky': period})}" if period else ""
        return RedirectResponse(f"{FORM_PAGE}/{run_id}{query}", status_code=303)

    async def _run(self, visitor: Visitor, value: str) -> tuple[str, dict[str, Any]]:
        """The id and record of a run the person may read (their own, or any for an
        administrator); another's answers 404, as one that does not exist."""
        try:
            run_id = str(uuid.UUID(value))
        except ValueError:
            raise Refusal(404, NO_RUN) from None
        if visitor.role != ADMIN:
            runs = await run_in_threadpool(
                services.access.started_runs, self.settings, visitor.username
            )
            if not own(run_id, runs):
                raise Refusal(404, NO_RUN)
        found = await self.gate.read_upstream(f"/api/flow_runs/{run_id}")
        if found.status_code != 200:
            raise Refusal(404, NO_RUN)
        return run_id, found.json()

    async def _paused_form(self, run_id: str, run: Mapping[str, Any]) -> tuple[Any, str] | None:
        """The schema and description of the form the run waits on, once Prefect has both
        (a run is seen paused a moment before its form is saved); None until then."""
        state = run.get("state") or {}
        if state.get("type") != "PAUSED":
            return None
        keys = (state.get("state_details") or {}).get("run_input_keyset") or {}
        if not keys.get("schema") or not keys.get("description"):
            return None
        schema = await self.gate.read_upstream(f"/api/flow_runs/{run_id}/input/{keys['schema']}")
        description = await self.gate.read_upstream(
            f"/api/flow_runs/{run_id}/input/{keys['description']}"
        )
        if schema.status_code != 200 or description.status_code != 200:
            return None
        return schema.json(), str(description.json() or "")

    async def form(self, request: Request) -> Response:
        """The run's form, or its receipt, or its refusal, or a line saying it is on its way."""
        visitor = await self._visitor(request)
        if visitor is None:
            return RedirectResponse(f"{PAGE}?{urlencode({NEXT: WORK_PAGE})}", status_code=303)
        try:
            run_id, run = await self._run(visitor, request.path_params["run"])
            paused = await self._paused_form(run_id, run)
            if paused is not None:
                schema, description = paused
                items = form_items(schema, period=request.query_params.get("ky"))
                return self._form_page(run_id, schema, description, items)
            return await self._outcome(run_id, run, sent="gui" in request.query_params)
        except Refusal as refusal:
            return refused(request, refusal.status, refusal.line)
        except httpx.TransportError:
            return refused(request, 502, UNREACHABLE)

    def _form_page(
        self,
        run_id: str,
        schema: Mapping[str, Any],
        description: str,
        items: list[Field | Group],
        *,
        line: str = "",
        status: int = 200,
    ) -> Response:
        return page(
            "bieu-mau.html",
            status,
            title=str(schema.get("title") or "Biểu mẫu"),
            line=line,
            refused=bool(line),
            description=markdown_html(description),
            items=items,
            action=f"{FORM_PAGE}/{run_id}",
            # a review's decision form asks for the decision; a submission's does not
            button="Gửi quyết định (Resume)"
            if "decision" in (schema.get("properties") or {})
            else "Gửi báo cáo (Resume)",
            run_id=run_id,
            wide=True,
        )

    async def _outcome(self, run_id: str, run: Mapping[str, Any], *, sent: bool) -> Response:
        """What the run came to: the receipt (or a review's decision record), the refusal, or
        a page that looks again."""
        state = run.get("state") or {}
        kind, name = state.get("type"), str(state.get("name") or "")
        # a review run is named for its flow from the moment it starts (flows/review.py)
        deciding = str(run.get("name") or "").startswith(REVIEW_FLOW)
        if kind == "COMPLETED":
            found = await self.gate.query_upstream(
                "/api/artifacts/filter",
                {
                    "artifacts": {
                        "flow_run_id": {"any_": [run_id]},
                        "key": {"any_": [DECISION if deciding else RECEIPT]},
                    },
                    "sort": "CREATED_DESC",
                    "limit": 1,
                },
            )
            receipt = markdown_html(str(found[0].get("data") or "")) if found else ""
            return page(
                "ket-qua.html",
                title="Đã ghi quyết định" if deciding else "Đã nộp báo cáo",
                receipt=receipt,
                run_id=run_id,
                wide=True,
            )
        if kind in ("FAILED", "CRASHED", "CANCELLED", "CANCELLING"):
            line = (
                str(state.get("message") or REFUSED)
                if name == REFUSED
                else f"Lượt chạy đã dừng ({name}); hãy báo quản trị viên, kèm mã lượt chạy "
                f"{run_id}."
            )
            return page(
                "ket-qua.html",
                title="Không ghi nhận được",
                line=line,
                refused=True,
                run_id=run_id,
                wide=True,
            )
        recording = "Đang ghi nhận quyết định…" if deciding else "Đang ghi nhận báo cáo…"
        waiting = recording if sent else "Đang chuẩn bị biểu mẫu…"
        return page(
            "ket-qua.html",
            title=waiting,
            line=f"{waiting} Trang sẽ tự cập nhật sau vài giây.",
            refresh=POLL_SECONDS,
            run_id=run_id,
            wide=True,
        )

    async def answer(self, request: Request) -> Response:
        """The form's answer, sent to the run as the UI's Resume sends it."""
        visitor = await self._visitor(request)
        if visitor is None:
            return RedirectResponse(f"{PAGE}?{urlencode({NEXT: WORK_PAGE})}", status_code=303)
        if cross_site(request, self.gate.origin):
            return refused(request, 403, CROSS_SITE)
        try:
            try:
                run_id = str(uuid.UUID(request.path_params["run"]))
            except ValueError:
                raise Refusal(404, NO_RUN) from None
            # the same refusal as a resume through the UI, before anything of the run is read
            await self.gate.check_resumer(visitor, run_id)
            run_id, run = await self._run(visitor, run_id)
            paused = await self._paused_form(run_id, run)
            if paused is None:
                return RedirectResponse(f"{FORM_PAGE}/{run_id}", status_code=303)
            schema, description = paused
            posted = await posted_form(request, largest=LARGEST_ANSWER, fields=MOST_FIELDS)
            try:
                answer = answer_of(schema, posted)
            except Mend as mend:
                items = form_items(schema, typed=posted)
                return self._form_page(
                    run_id, schema, description, items, line=str(mend), status=400
                )
            if await self.gate.resume_for(visitor, run_id, answer) != "ACCEPT":
                items = form_items(schema, typed=posted)
                line = "Biểu mẫu chưa được nhận: hãy kiểm tra các ô bắt buộc rồi gửi lại."
                return self._form_page(run_id, schema, description, items, line=line, status=400)
        except Refusal as refusal:
            return refused(request, refusal.status, refusal.line)
        except httpx.TransportError:
            return refused(request, 502, UNREACHABLE)
        return RedirectResponse(f"{FORM_PAGE}/{run_id}?gui=1", status_code=303)

    async def guide(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        return page(
            "huong-dan.html", title="Hướng dẫn sử dụng dondoc", signed_in=visitor, wide=True
        )

    async def screenshot(self, request: Request) -> Response:
        """One of the guide's screenshots, by its name in GUIDE_SHOTS."""
        name = request.path_params["name"]
        if name not in GUIDE_SHOTS or not (SHOTS / name).is_file():
            return refused(request, 404, "Không có hình này.")
        return FileResponse(SHOTS / name, media_type="image/png")

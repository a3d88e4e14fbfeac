"""The forms staff and the lead office fill in the Prefect UI.

Each published requirement with something still to hand in gets a deployment of the
submission flow whose parameter schema is that requirement's own form: its figures with their
Vietnamese labels, types and bounds, the units that owe it, and only the periods still open.
Each directive gets a deployment of the review flow listing what the lead office can act on.
`sync_forms` rewrites these deployments from dondoc's database, so publishing a directive or
opening periods changes the forms without anyone editing prefect.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.client.schemas.filters import FlowFilter, FlowFilterId
from prefect.exceptions import ObjectNotFound
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlalchemy import Engine

from models.directive import Figure, RequirementSpec
from models.queries import AwaitingReview, OpenWork, awaiting_review, open_work
from models.settings import load_settings

PUBLISH_DEPLOYMENT = "cong-bo-chi-thi/cong-bo-chi-thi"
SUBMIT_FLOW = "nop-bao-cao"
REVIEW_FLOW = "xet-duyet"
SUBMIT_ENTRYPOINT = "flows/submission.py:submit_obligation"
REVIEW_ENTRYPOINT = "flows/review.py:review_obligation"
SEPARATOR = " · "
DECISIONS = {
    "accept · chấp nhận": "accept",
    "return · trả lại để bổ sung": "return",
    "extend · gia hạn": "extend",
    "waive · miễn": "waive",
}
# A dropdown of every actionable obligation stops helping past this; then the form asks for an id.
MAX_CHOICES = 1000
JSON_TYPES = {"integer": "integer", "number": "number", "text": "string", "boolean": "boolean"}


def choice(code: str | int, *labels: str) -> str:
    """A dropdown value people can read and dondoc can parse: `18679 · Xã Yên Hòa`."""
    return SEPARATOR.join([str(code), *labels])


def code_of(value: str) -> str:
    """The code at the front of a dropdown value (or the value itself)."""
    return value.split(SEPARATOR, 1)[0].strip()


def _figure_schema(figure: Figure) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": figure.label, "type": JSON_TYPES[figure.type]}
    cast = int if figure.type == "integer" else float
    if figure.min is not None:
        prop["minimum"] = cast(figure.min)
    if figure.max is not None:
        prop["maximum"] = cast(figure.max)
    notes = []
    if figure.unit:
        notes.append(f"Đơn vị tính: {figure.unit}")
    if figure.target and figure.target.at_least is not None:
        notes.append(f"Chỉ tiêu: ít nhất {figure.target.at_least:g}")
    if figure.target and figure.target.at_most is not None:
        notes.append(f"Chỉ tiêu: nhiều nhất {figure.target.at_most:g}")
    if notes:
        prop["description"] = "; ".join(notes)
    return prop


def _actor_field(position: int) -> dict[str, Any]:
    return {
        "title": "Người thực hiện (tên đăng nhập dondoc)",
        "description": "dondoc kiểm tra người này có quyền thực hiện cho đơn vị đã chọn.",
        "type": "string",
        "minLength": 1,
        "position": position,
    }


def submission_schema(work: OpenWork) -> dict[str, Any]:
    """The parameter schema of one requirement's submission form."""
    spec = RequirementSpec.model_validate_json(work.spec)
    what = spec.what
    properties: dict[str, Any] = {
        "actor": _actor_field(0),
        "unit": {
            "title": "Đơn vị",
            "type": "string",
            "position": 1,
            "enum": [choice(code, name) for code, name in work.units],
        },
        "period": {"title": "Kỳ báo cáo", "type": "string", "position": 2, "enum": work.periods},
    }
    required = ["actor", "unit", "period"]
    if what.figures:
        properties["figures"] = {
            "title": "Số liệu",
            "type": "object",
            "position": 3,
            "properties": {f.key: _figure_schema(f) for f in what.figures},
            "required": [f.key for f in what.figures if f.required],
        }
        required.append("figures")
    for position, (name, part) in enumerate(
        (("narrative", what.narrative), ("evidence", what.evidence)), start=4
    ):
        if part is not None:
            properties[name] = {"title": part.label, "type": "string", "position": position}
            if part.required:
                properties[name]["minLength"] = 1
                required.append(name)
    return {
        "title": "Parameters",
        "type": "object",
        "properties": properties,
        "required": required,
        "definitions": {},
    }


def review_schema(waiting: list[AwaitingReview]) -> dict[str, Any]:
    """The parameter schema of one directive's review form."""
    obligation: dict[str, Any] = {"title": "Nghĩa vụ", "position": 1}
    if len(waiting) <= MAX_CHOICES:
        obligation |= {
            "type": "string",
            "enum": [
                choice(
                    w.obligation_id, f"{w.unit} {w.unit_name}", w.requirement, w.period, w.status
                )
                for w in waiting
            ],
        }
    else:
        obligation |= {
            "type": "string",
            "description": "Mã nghĩa vụ (id), xem `dondoc obligations`",
        }
    return {
        "title": "Parameters",
        "type": "object",
        "properties": {
            "actor": _actor_field(0),
            "obligation": obligation,
            "decision": {
                "title": "Quyết định",
                "type": "string",
                "enum": list(DECISIONS),
                "position": 2,
            },
            "reason": {
                "title": "Lý do (bắt buộc khi trả lại hoặc miễn)",
                "type": "string",
                "position": 3,
            },
            "new_due": {
                "title": "Hạn mới (khi gia hạn)",
                "type": "string",
                "format": "date",
                "position": 4,
            },
        },
        "required": ["actor", "obligation", "decision"],
        "definitions": {},
    }


def publish_schema(directive_files: list[str]) -> dict[str, Any]:
    """The administrator's publishing form: a directive file of the project, or a pasted one."""
    return {
        "title": "Parameters",
        "type": "object",
        "properties": {
            "actor": {
                "title": "Quản trị viên (tên đăng nhập dondoc)",
                "type": "string",
                "minLength": 1,
                "position": 0,
            },
            "directive_file": {
                "title": "Tệp chỉ thị",
                "type": "string",
                "enum": directive_files,
                "position": 1,
            },
            "directive_yaml": {
                "title": "Hoặc dán nội dung chỉ thị (YAML)",
                "type": "string",
                "position": 2,
            },
            "as_of": {
                "title": "Mở các kỳ đã bắt đầu đến ngày (mặc định: hôm nay)",
                "type": "string",
                "format": "date",
                "position": 3,
            },
        },
        "required": ["actor"],
        "definitions": {},
    }


async def _refresh_publish_form(client: Any, working_directory: str) -> None:
    """Offer the directive files the project holds now in the publishing form (declared in
    prefect.yaml; absent until `prefect deploy` has run)."""
    try:
        deployment = await client.read_deployment_by_name(PUBLISH_DEPLOYMENT)
    except ObjectNotFound:
        return
    project = Path(working_directory)
    files = sorted(str(p.relative_to(project)) for p in (project / "directives").glob("*.yaml"))
    await client.update_deployment(
        deployment.id, DeploymentUpdate(parameter_openapi_schema=publish_schema(files))
    )


async def sync_forms(engine: Engine, *, work_pool: str, working_directory: str) -> list[str]:
    """Create or update every form deployment from the database; returns their names."""
    pull = [{"prefect.deployments.steps.set_working_directory": {"directory": working_directory}}]
    names: list[str] = []
    async with get_client() as client:
        submit_flow = await client.create_flow_from_name(SUBMIT_FLOW)
        review_flow = await client.create_flow_from_name(REVIEW_FLOW)
        for work in open_work(engine):
            name = f"{work.requirement}{SEPARATOR}{work.directive}"
            await client.create_deployment(
                flow_id=submit_flow,
                name=name,
                description=f"Nộp: {work.title}",
                entrypoint=SUBMIT_ENTRYPOINT,
                work_pool_name=work_pool,
                pull_steps=pull,
                parameters={"directive": work.directive, "requirement": work.requirement},
                parameter_openapi_schema=submission_schema(work),
                enforce_parameter_schema=True,
                tags=[work.directive, "nộp báo cáo"],
            )
            names.append(f"{SUBMIT_FLOW}/{name}")
        for directive, waiting in awaiting_review(engine).items():
            await client.create_deployment(
                flow_id=review_flow,
                name=directive,
                description="Xét duyệt: chấp nhận, trả lại, gia hạn hoặc miễn",
                entrypoint=REVIEW_ENTRYPOINT,
                work_pool_name=work_pool,
                pull_steps=pull,
                parameters={"directive": directive},
                parameter_openapi_schema=review_schema(waiting),
                enforce_parameter_schema=True,
                tags=[directive, "xét duyệt"],
            )
            names.append(f"{REVIEW_FLOW}/{directive}")
        # A form with nothing left to hand in or decide goes away.
        for flow_id, flow_name in ((submit_flow, SUBMIT_FLOW), (review_flow, REVIEW_FLOW)):
            for deployment in await client.read_deployments(
                flow_filter=FlowFilter(id=FlowFilterId(any_=[flow_id]))
            ):
                if f"{flow_name}/{deployment.name}" not in names:
                    await client.delete_deployment(deployment.id)
        await _refresh_publish_form(client, working_directory)
    return names


@task
def refresh_forms() -> list[str]:
    """Make the submission and review forms match the database."""
    config = load_settings()
    names = run_coro_as_sync(
        sync_forms(
            config.engine(), work_pool=config.work_pool, working_directory=str(config.project_dir)
        )
    )
    return names or []

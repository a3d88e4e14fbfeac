"""An administrator publishes a directive: written in the form, a file of the project, or
pasted; first a preview of what it would create, then, on their confirmation, the publish.

The form's `directive` is one of three: the directive's fields (`models/files/directive_form`),
`{"directive_file": path}` or `{"directive_yaml": text}`; all go through the same validation.
The run computes what publishing would create without writing (publishing's own computation),
shows it, and waits (suspended) for "Công bố" or "Hủy"; only "Công bố" publishes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

import services.directives
from flows.forms import refresh_forms
from flows.runtime import (
    checked_answer,
    day_of,
    for_clerks,
    issued,
    rename_run,
    started_by,
)
from models.errors import InputError
from models.files.directive import DirectiveSpec, load_directive, parse_directive
from models.files.directive_form import KINDS, directive_data
from models.files.textfiles import parse_pasted_yaml
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text
from services.settings import load_settings

PUBLISH = "Công bố"
CANCEL = "Hủy"
# How long the preview waits for the administrator's answer (a suspended run holds no process).
CONFIRM_HOURS = 24
NO_DIRECTIVE = "Chưa có chỉ thị: soạn theo biểu mẫu, chọn một tệp chỉ thị hoặc dán nội dung YAML."


class Confirmation(RunInput):
    """The administrator's answer to the preview."""

    decision: Literal["Công bố", "Hủy"] = Field(title="Quyết định")


def check_actor(actor: str) -> None:
    """Only an administrator gets further: nothing they sent is read before (denials are
    recorded)."""
    by = issued(actor)
    services.directives.check_can_publish(load_settings(), by.actor, source="form", now=by.now)


def read_directive(directive: Mapping[str, Any] | None) -> tuple[DirectiveSpec, str]:
    """The validated directive and where it came from: a file of the project, a pasted one,
    or the one written in the form."""
    if not isinstance(directive, Mapping) or not directive:
        raise InputError(
            "form",
            "directive",
            None,
            "write a directive, or give a file or paste one",
            vi=NO_DIRECTIVE,
        )
    if "directive_file" in directive:
        given = str(directive["directive_file"])
        project = load_settings().project_dir.resolve()
        path = (project / given).resolve()
        if not path.is_relative_to(project):
            raise InputError(
                "form",
                "directive_file",
                given,
                "must be a file inside the project",
                vi=f"Tệp «{given}» không nằm trong dự án.",
            )
        return load_directive(path), str(path.relative_to(project))
    if "directive_yaml" in directive:
        source = "form: directive_yaml"
        pasted = parse_pasted_yaml(str(directive["directive_yaml"] or ""), source)
        return parse_directive(pasted, source), source
    return parse_directive(directive_data(directive), "form"), "form"


def _what(directive: Any) -> str:
    """What is published, in a run's name: the file, the pasted text, or the code typed."""
    if not isinstance(directive, Mapping):
        return "chưa có chỉ thị"
    if "directive_file" in directive:
        return str(directive["directive_file"])
    if "directive_yaml" in directive:
        return "nội dung dán vào biểu mẫu"
    return f"chỉ thị {directive.get('code') or '(chưa có mã)'}"


def publish_run_name() -> str:
    """What is published, as the run starts: `cong-bo-chi-thi ·
    directives/cam-xuyen-cchc-2024.yaml` (who publishes comes once the run knows it)."""
    return f"cong-bo-chi-thi · {_what(flow_run.parameters.get('directive'))}"


def _document_day(written: str) -> str:
    """A document's date as people write it: 05/01/2026, or 02/2024 while a draft."""
    if len(written) == len("2026-01-05"):
        return day_text(date.fromisoformat(written))
    year, month = written.split("-")
    return f"{month}/{year}"


def _due(day: date | None) -> str:
    return "—" if day is None else day_text(day)


def preview_markdown(spec: DirectiveSpec, preview: services.directives.Preview, day: date) -> str:
    """What publishing would create, per requirement and unit kind, with the first and last
    due dates, for the administrator to confirm."""
    doc = spec.document
    number = f"{doc.number or '…'}/{doc.symbol}"
    until = day_text(spec.effective.until) if spec.effective.until else "không thời hạn"
    lines = [
        f"# Xem trước: công bố chỉ thị {markdown_text(spec.code)}",
        "",
        f"Văn bản số **{markdown_text(number)}** ngày {_document_day(doc.date)} của "
        f"{markdown_text(doc.issuer)}: {markdown_text(doc.subject)}. Cơ quan chủ trì "
        f"{markdown_text(spec.lead)}; hiệu lực từ {day_text(spec.effective.start)} đến {until}.",
        "",
    ]
    if not preview.new:
        lines += [
            "Chỉ thị này đã được công bố với đúng nội dung này: công bố lại chỉ mở các kỳ còn "
            "thiếu.",
            "",
        ]
    lines += [
        f"Nếu công bố, các kỳ đã bắt đầu đến ngày {day_text(day)} tạo **{preview.total}** "
        "nghĩa vụ:",
        "",
        "| nhiệm vụ | loại đơn vị | số nghĩa vụ | hạn nộp đầu tiên | hạn nộp cuối cùng |",
        "|---|---|---|---|---|",
    ]
    for req in spec.requirements:
        rows = [r for r in preview.rows if r.requirement == req.code]
        name = f"{markdown_text(req.code)} · {markdown_text(req.title)}"
        if not rows:
            none = "chưa đến kỳ" if preview.new else "đã mở đủ"
            lines.append(f"| {name} | | 0 ({none}) | | |")
        for row in rows:
            due = (
                ("không có hạn nộp (thường xuyên)", "")
                if req.standing
                else (_due(row.first_due), _due(row.last_due))
            )
            lines.append(
                f"| {name} | {markdown_text(KINDS.get(row.kind, row.kind))} | "
                f"{row.obligations} | {due[0]} | {due[1]} |"
            )
    lines += [
        "",
        f"Chọn «{PUBLISH}» để công bố, «{CANCEL}» để thôi: chưa có gì được ghi.",
    ]
    return "\n".join(lines) + "\n"


def confirmed(actor: str, preview: str) -> tuple[bool, str]:
    """Wait on the preview for the administrator's answer (`checked_answer`: only they, or
    another administrator, may give it); whether to publish, and who said so."""

    def form_for(typed: Confirmation | None, mend: str | None) -> type[Confirmation]:
        class Form(Confirmation):
            pass

        Form._description = preview
        return Form

    def take(answer: Confirmation, by: str) -> tuple[bool, str]:
        return answer.decision == PUBLISH, by

    return checked_answer(actor, form_for, take, key="xac-nhan", hours=CONFIRM_HOURS)


def publish(
    spec: DirectiveSpec, source: str, actor: str, as_of: date
) -> services.directives.PublishReport:
    """Store the directive and open the periods that have started (set-based)."""
    by = issued(actor)
    return services.directives.publish(
        load_settings(),
        spec,
        source=source,
        actor=by.actor,
        as_of=as_of,
        now=by.now,
        channel=by.channel,
    )


def opened_table(report: services.directives.OpenReport, key: str, description: str) -> None:
    """Obligations created per requirement, as a table on the run page."""
    create_table_artifact(
        key=key,
        description=description,
        table=[
            {"chỉ thị": d, "nhiệm vụ": r, "nghĩa vụ mới": n}
            for (d, r), n in sorted(report.created.items())
        ],
    )


@flow(name="cong-bo-chi-thi", log_prints=True, flow_run_name=publish_run_name)
@for_clerks
def publish_directive(directive: dict[str, Any] | None = None, as_of: date | None = None) -> int:
    """Công bố chỉ thị: a directive written in the form, a file of the project (e.g.
    directives/cam-xuyen-cchc-2024.yaml) or a pasted one (at most 200 kB, without YAML
    aliases); the run shows what it would create and publishes it once confirmed, then
    refreshes the forms."""
    actor = started_by()
    name = f"cong-bo-chi-thi · {actor} · {_what(directive)}"
    rename_run(name)
    check_actor(actor)
    spec, source = read_directive(directive)
    day = day_of(as_of)
    by = issued(actor)
    preview = services.directives.preview(
        load_settings(), spec, source=source, actor=by.actor, as_of=day, now=by.now
    )
    shown = preview_markdown(spec, preview, day)
    create_markdown_artifact(
        key="xem-truoc", description=f"{spec.code}: xem trước khi công bố", markdown=shown
    )
    go, who = confirmed(actor, shown)
    if not go:
        rename_run(f"{name} · đã hủy")
        print(f"{spec.code}: cancelled by {who}, nothing written")
        return 0
    report = publish(spec, source, who, day)
    opened_table(
        report.opened, "nghia-vu-moi", f"{spec.code}: nghĩa vụ tạo mới đến ngày {day_text(day)}"
    )
    refresh_forms()
    print(f"{spec.code}: {report.opened.total} obligations created")
    return report.opened.total

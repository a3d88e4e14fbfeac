"""An administrator publishes a directive: from a file of the project, or pasted in the form."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

import services.directives
from flows.forms import refresh_forms
from flows.runtime import day_of, for_clerks, issued, rename_run, started_by
from models.errors import InputError
from models.files.directive import DirectiveSpec, load_directive, parse_directive
from models.files.textfiles import parse_pasted_yaml
from models.rules.vietnamese import day_text
from services.settings import load_settings


def check_actor(actor: str) -> None:
    """Only an administrator gets further: nothing they sent is read before (denials are
    recorded)."""
    by = issued(actor)
    services.directives.check_can_publish(load_settings(), by.actor, source="form", now=by.now)


def read_directive(
    directive_file: str | None, directive_yaml: str | None
) -> tuple[DirectiveSpec, str]:
    """The validated directive and where it came from."""
    if bool(directive_file) == bool(directive_yaml):
        raise InputError(
            "form",
            "directive_file",
            directive_file,
            "give a directive file or paste a directive: exactly one of the two",
        )
    if directive_file:
        project = load_settings().project_dir.resolve()
        path = (project / directive_file).resolve()
        if not path.is_relative_to(project):
            raise InputError(
                "form", "directive_file", directive_file, "must be a file inside the project"
            )
        return load_directive(path), str(path.relative_to(project))
    source = "form: directive_yaml"
    return parse_directive(parse_pasted_yaml(directive_yaml or "", source), source), source


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


def _what(directive_file: str | None) -> str:
    return directive_file or "nội dung dán vào biểu mẫu"


def publish_run_name() -> str:
    """What is published, as the run starts: `cong-bo-chi-thi ·
    directives/cam-xuyen-cchc-2024.yaml` (who publishes comes once the run knows it)."""
    return f"cong-bo-chi-thi · {_what(flow_run.parameters.get('directive_file'))}"


@flow(name="cong-bo-chi-thi", log_prints=True, flow_run_name=publish_run_name)
@for_clerks
def publish_directive(
    directive_file: str | None = None,
    directive_yaml: str | None = None,
    as_of: date | None = None,
) -> int:
    """Công bố chỉ thị: publish a directive file (path under the project, e.g.
    directives/cam-xuyen-cchc-2024.yaml) or a pasted one (at most 200 kB, without YAML
    aliases), and refresh the forms."""
    actor = started_by()
    rename_run(f"cong-bo-chi-thi · {actor} · {_what(directive_file)}")
    check_actor(actor)
    spec, source = read_directive(directive_file, directive_yaml)
    day = day_of(as_of)
    report = publish(spec, source, actor, day)
    opened_table(
        report.opened, "nghia-vu-moi", f"{spec.code}: nghĩa vụ tạo mới đến ngày {day_text(day)}"
    )
    refresh_forms()
    print(f"{spec.code}: {report.opened.total} obligations created")
    return report.opened.total

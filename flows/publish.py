"""An administrator publishes a directive: from a file of the project, or pasted in the form."""

from __future__ import annotations

from datetime import date

import pendulum
import yaml
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.forms import sync_forms
from flows.runtime import issued, settings
from models import publishing
from models.directive import DirectiveSpec, load_directive, parse_directive
from models.errors import InputError
from models.workdays import TIMEZONE


@task
def read_directive(
    directive_file: str | None, directive_yaml: str | None
) -> tuple[DirectiveSpec, str]:
    """The validated directive and where it came from."""
    if bool(directive_file) == bool(directive_yaml):
        raise InputError(
            "form",
            "directive_file",
            directive_file,
            "give either a directive file or the pasted directive, not both",
        )
    if directive_file:
        path = settings().project_dir / directive_file
        return load_directive(path), str(path)
    try:
        data = yaml.safe_load(directive_yaml or "")
    except yaml.YAMLError as exc:
        raise InputError("form", "directive_yaml", None, f"is not valid YAML: {exc}") from None
    return parse_directive(data, "form: directive_yaml"), "form: directive_yaml"


@task
def publish(spec: DirectiveSpec, source: str, actor: str, as_of: date) -> publishing.PublishReport:
    """Store the directive and open the periods that have started (set-based)."""
    config = settings()
    by = issued(actor)
    return publishing.publish(
        config.engine(),
        spec,
        source=source,
        actor=by.actor,
        as_of=as_of,
        now=by.now,
        calendar=config.calendar(),
        horizon_days=config.open_horizon_days,
        channel=by.channel,
    )


@task
def refresh_forms() -> list[str]:
    """Make the submission and review forms match the database."""
    config = settings()
    names = run_coro_as_sync(
        sync_forms(
            config.engine(), work_pool=config.work_pool, working_directory=str(config.project_dir)
        )
    )
    return names or []


def opened_table(report: publishing.OpenReport, key: str, description: str) -> None:
    """Obligations created per requirement, as a table on the run page."""
    create_table_artifact(
        key=key,
        description=description,
        table=[
            {"chỉ thị": d, "nhiệm vụ": r, "nghĩa vụ mới": n}
            for (d, r), n in sorted(report.created.items())
        ],
    )


@flow(name="cong-bo-chi-thi", log_prints=True)
def publish_directive(
    actor: str,
    directive_file: str | None = None,
    directive_yaml: str | None = None,
    as_of: date | None = None,
) -> int:
    """Công bố chỉ thị: publish a directive file (path under the project, e.g.
    directives/cam-xuyen-cchc-2024.yaml) or a pasted one, and refresh the forms."""
    spec, source = read_directive(directive_file, directive_yaml)
    day = as_of or pendulum.now(TIMEZONE).date()
    report = publish(spec, source, actor, day)
    opened_table(report.opened, "nghia-vu-moi", f"{spec.code}: nghĩa vụ tạo mới đến {day}")
    forms = refresh_forms()
    print(f"{spec.code}: {report.opened.total} obligations created; {len(forms)} forms up to date")
    return report.opened.total

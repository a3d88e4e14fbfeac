"""Staff mark an obligation done: the submission form's flow."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.forms import SUBMIT_FLOW, code_of, refresh_forms
from flows.runtime import for_clerks, issued, run_id
from models import services
from models.settings import load_settings
from models.status import STATUS_WORDS


def record_submission(
    directive: str,
    requirement: str,
    actor: str,
    unit: str,
    period: str,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> services.Outcome:
    """Validate the figures against the requirement and append the `submitted` event."""
    return services.submit_for(
        load_settings(),
        issued(actor),
        directive=directive,
        requirement=requirement,
        unit=unit,
        period=period,
        figures=figures,
        narrative=narrative,
        evidence=evidence,
    )


@flow(name=SUBMIT_FLOW, log_prints=True)
@for_clerks
def submit_obligation(
    directive: str,
    requirement: str,
    actor: str,
    unit: str,
    period: str,
    figures: dict[str, Any] | None = None,
    narrative: str | None = None,
    evidence: str | None = None,
) -> int:
    """Nộp báo cáo: record a unit's submission with the figures the requirement asks for."""
    outcome = record_submission(
        directive, requirement, actor, code_of(unit), period, figures or {}, narrative, evidence
    )
    spec = services.requirement_spec(load_settings(), directive=directive, requirement=requirement)
    rows = "\n".join(
        f"| {f.label} | {(figures or {}).get(f.key, '—')} | {f.unit or ''} |"
        for f in spec.what.figures
    )
    create_markdown_artifact(
        key="bien-nhan",
        description="Biên nhận nộp báo cáo",
        markdown=(
            f"# Biên nhận\n\n**{spec.title}** ({directive} · {requirement}), kỳ **{period}**, "
            f"đơn vị **{unit}**\n\nNgười nộp: `{actor}` · nghĩa vụ #{outcome.obligation_id} · "
            f"phiên bản {outcome.version} · **{STATUS_WORDS[outcome.status]}** · lần chạy "
            f"`{run_id()}`\n\n| chỉ tiêu | giá trị | đơn vị tính |\n|---|---|---|\n{rows}\n"
            + (f"\n{narrative}\n" if narrative else "")
        ),
    )
    refresh_forms()
    return outcome.obligation_id

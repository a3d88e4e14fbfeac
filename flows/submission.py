"""Staff mark an obligation done: the submission form's flow."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.forms import SUBMIT_FLOW, code_of, refresh_forms
from flows.runtime import issued, run_id
from models import ledger
from models.errors import InputError
from models.queries import find_obligation
from models.settings import load_settings


@task
def record_submission(
    directive: str,
    requirement: str,
    actor: str,
    unit: str,
    period: str,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> ledger.Outcome:
    """Validate the figures against the requirement and append the `submitted` event."""
    engine = load_settings().engine()
    oid = find_obligation(
        engine, directive=directive, requirement=requirement, unit=unit, period=period
    )
    if oid is None:
        raise InputError(
            "form", "period", period, f"unit {unit} owes no {requirement} for this period"
        )
    return ledger.submit(
        engine, oid, issued(actor), figures=figures, narrative=narrative, evidence=evidence
    )


@flow(name=SUBMIT_FLOW, log_prints=True)
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
    rows = "\n".join(f"| {k} | {v} |" for k, v in sorted((figures or {}).items()))
    create_markdown_artifact(
        key="bien-nhan",
        description="Biên nhận nộp báo cáo",
        markdown=(
            f"# Biên nhận\n\n**{directive} · {requirement}**, kỳ **{period}**, đơn vị "
            f"**{unit}**\n\nNgười nộp: `{actor}` · nghĩa vụ #{outcome.obligation_id} · phiên "
            f"bản {outcome.version} · trạng thái **{outcome.status}** · lần chạy `{run_id()}`"
            f"\n\n| chỉ tiêu | giá trị |\n|---|---|\n{rows}\n"
        ),
    )
    refresh_forms()
    return outcome.obligation_id

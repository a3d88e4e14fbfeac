"""Staff mark an obligation done: the submission form's flow.

The clerk is whoever the gate signed in and started the run (`started_by`). From the form it
takes two steps: the clerk submits the form, then the run waits, suspended, on a form built
for their unit (only what it still owes of this requirement, periods in words with their due
dates) and records what they send when they resume it. A script, started through the gate
with a person's session too, may send everything at once instead (`unit` and `period` with
the figures): the same checks apply."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

import services.desks
import services.directives
import services.records
import services.reports
from flows.forms import SEPARATOR, SUBMIT_FLOW, Prefill, code_of, refresh_forms, unit_form
from flows.runtime import answer_of, day_of, for_clerks, issued, rename_run, run_id, started_by
from models.errors import InputError, Refused
from models.files.directive import RequirementSpec
from models.rules.status import STATUS_WORDS
from models.rules.text import markdown_text
from models.rules.vietnamese import period_words
from services.settings import load_settings

# How long a clerk's second step stays open (a suspended run holds no process meanwhile).
FORM_HOURS = 24


def run_name(*parts: str) -> str:
    """A run's name: the flow, then who, what and which period (`nop-bao-cao · 18679 Xã Yên
    Hòa · 1c · 2024-Q1`)."""
    return SEPARATOR.join(parts)


def _unit_words(unit: str) -> str:
    """`18679 · Xã Yên Hòa` as one part of a run name: `18679 Xã Yên Hòa`."""
    return " ".join(part.strip() for part in unit.split(SEPARATOR))


def submission_run_name() -> str:
    """Who and what, as the run starts: the unit and period when the parameters name them,
    otherwise the requirement (the clerk's name follows once the run knows who started it,
    their unit and period with the second step)."""
    given = flow_run.parameters
    if given.get("unit") and given.get("period"):
        return run_name(
            SUBMIT_FLOW, _unit_words(given["unit"]), given["requirement"], given["period"]
        )
    return run_name(SUBMIT_FLOW, given["requirement"])


def record_submission(
    directive: str,
    requirement: str,
    actor: str,
    unit: str,
    period: str,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> services.records.Outcome:
    """Validate the figures against the requirement and append the `submitted` event."""
    return services.records.submit_for(
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


def ask_the_unit(directive: str, requirement: str, actor: str) -> tuple[str, str, Any, str]:
    """Step two: suspend the run on the form of the actor's unit and wait for the clerk's
    answer; the unit (`code · name`), the period key, the answer and who gave it (the clerk,
    or an administrator)."""
    settings = load_settings()
    unit = services.desks.actor_unit(settings, actor, command="submit", now=issued(actor).now)
    owed = services.desks.still_owed(
        settings, unit=unit.code, directive=directive, requirement=requirement, day=day_of(None)
    )
    spec = services.directives.requirement_spec(
        settings, directive=directive, requirement=requirement
    )
    if not owed:
        raise Refused(
            f"unit {unit.code} owes no period of {requirement} now",
            vi=f"Đơn vị {unit.code} {unit.name} không có kỳ nào còn phải nộp «{spec.title}».",
        )
    # only a consolidating requirement (the lead office's own report) has drafts
    drafts = (
        services.reports.drafts(settings, [o.obligation_id for o in owed])
        if spec.consolidates
        else {}
    )
    prefill = next(
        (
            Prefill(o.period, d.narrative, d.evidence, d.as_of)
            for o in owed
            if (d := drafts.get(o.obligation_id)) is not None
        ),
        None,
    )
    answer, by = answer_of(
        actor, unit_form(spec, unit, owed, prefill), key="don-vi", hours=FORM_HOURS
    )
    period = code_of(answer.period)
    if prefill and period != prefill.period and answer.narrative == prefill.narrative:
        raise InputError(
            "form",
            "period",
            period,
            f"the narrative is the draft of {prefill.period}",
            vi=f"Nội dung đã điền là dự thảo tổng hợp {period_words(prefill.period)}: chọn "
            f"đúng kỳ đó, hoặc viết nội dung của {period_words(period)}.",
        )
    rename_run(run_name(SUBMIT_FLOW, f"{unit.code} {unit.name}", requirement, period))
    return f"{unit.code}{SEPARATOR}{unit.name}", period, answer, by


def receipt_markdown(
    spec: RequirementSpec,
    *,
    directive: str,
    unit: str,
    period: str,
    actor: str,
    outcome: services.records.Outcome,
    figures: dict[str, Any],
    narrative: str | None,
) -> str:
    """The receipt of a submission, with what the unit typed shown literally."""
    rows = "\n".join(
        f"| {markdown_text(f.label)} | {markdown_text(str(figures.get(f.key, '—')))} | "
        f"{markdown_text(f.unit or '')} |"
        for f in spec.what.figures
    )
    return (
        f"# Biên nhận\n\n**{markdown_text(spec.title)}** ({directive} · {spec.code}), kỳ "
        f"**{period_words(period)}** ({period}), đơn vị **{markdown_text(unit)}**\n\n"
        f"Người nộp: `{actor}` · nghĩa vụ #{outcome.obligation_id} · phiên bản "
        f"{outcome.version} · **{STATUS_WORDS[outcome.status]}** · lần chạy `{run_id()}`\n\n"
        f"| chỉ tiêu | giá trị | đơn vị tính |\n|---|---|---|\n{rows}\n"
        + (f"\n{markdown_text(narrative)}\n" if narrative else "")
    )


@flow(name=SUBMIT_FLOW, log_prints=True, flow_run_name=submission_run_name)
@for_clerks
def submit_obligation(
    directive: str,
    requirement: str,
    unit: str | None = None,
    period: str | None = None,
    figures: dict[str, Any] | None = None,
    narrative: str | None = None,
    evidence: str | None = None,
) -> int:
    """Nộp báo cáo: record a unit's submission with the figures the requirement asks for."""
    actor = started_by()
    if period is None:
        rename_run(run_name(SUBMIT_FLOW, actor, requirement))
        unit, period, answer, actor = ask_the_unit(directive, requirement, actor)
        figures, narrative, evidence = answer.figures, answer.narrative, answer.evidence
    elif unit is None:
        raise InputError("form", "unit", None, "a period needs its unit", vi="Thiếu đơn vị.")
    else:
        period = code_of(period)
    outcome = record_submission(
        directive, requirement, actor, code_of(unit), period, figures or {}, narrative, evidence
    )
    spec = services.directives.requirement_spec(
        load_settings(), directive=directive, requirement=requirement
    )
    create_markdown_artifact(
        key="bien-nhan",
        description="Biên nhận nộp báo cáo",
        markdown=receipt_markdown(
            spec,
            directive=directive,
            unit=unit,
            period=period,
            actor=actor,
            outcome=outcome,
            figures=figures or {},
            narrative=narrative,
        ),
    )
    refresh_forms(directive, requirement)
    return outcome.obligation_id

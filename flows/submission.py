"""Staff mark an obligation done: the submission form's flow.

The clerk is whoever the gate signed in and started the run (`started_by`). From the form it
takes two steps: the clerk submits the form, then the run waits (`answer_of`) on a form built
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
from flows.forms import (
    SEPARATOR,
    SUBMIT_FLOW,
    Prefill,
    UnitForm,
    code_of,
    refresh_forms,
    unit_form,
)
from flows.runtime import checked_answer, day_of, for_clerks, issued, rename_run, started_by
from models.errors import InputError, Refused
from models.rules.status import STATUS_WORDS
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text, period_words
from models.rules.workdays import local_time_text
from services.desks import Case
from services.settings import load_settings

# How long a clerk's second step stays open (flows.runtime.answer_of: in the run's process
# for a while, then suspended, holding no process).
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


def ask_the_unit(
    directive: str, requirement: str, actor: str
) -> tuple[str, services.records.Outcome]:
    """Step two: wait on the form of the actor's unit (`answer_of`), and record the answer of
    whoever resumes it (the clerk, or an administrator); an answer the checks refuse is asked
    again, with what was typed kept (`checked_answer`). Who recorded it, and what it did."""
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

    def form_for(typed: UnitForm | None, mend: str | None) -> type[UnitForm]:
        return unit_form(spec, unit, owed, prefill, typed=typed, mend=mend)

    def record(answer: UnitForm, by: str) -> tuple[str, services.records.Outcome]:
        period = code_of(answer.period)
        if prefill and period != prefill.period and answer.narrative == prefill.narrative:
            raise InputError(
                "form",
                "period",
                period,
                f"the narrative is the draft of {prefill.period}",
                vi=f"Nội dung đã điền là dự thảo tổng hợp {period_words(prefill.period)}: "
                f"chọn đúng kỳ đó, hoặc viết nội dung của {period_words(period)}.",
            )
        outcome = record_submission(
            directive,
            requirement,
            by,
            unit.code,
            period,
            answer.figures,
            answer.narrative,
            answer.evidence,
        )
        rename_run(run_name(SUBMIT_FLOW, f"{unit.code} {unit.name}", requirement, period))
        return by, outcome

    return checked_answer(actor, form_for, record, key="don-vi", hours=FORM_HOURS)


def receipt_markdown(case: Case, *, directive: str) -> str:
    """The receipt of a submission as a clerk files it: what, for which period and unit,
    when it was handed in against its due date, and what the unit typed, shown literally."""
    when = [
        *([] if case.submitted_at is None else [f"Nộp lúc {local_time_text(case.submitted_at)}"]),
        *([] if case.submitted_by is None else [f"người nộp `{case.submitted_by}`"]),
        "không có hạn nộp" if case.due is None else f"hạn nộp {day_text(case.due)}",
        f"**trễ {case.days_late} ngày**" if case.days_late else "**đúng hạn**",
        f"**{STATUS_WORDS[case.status]}**",
    ]
    lines = [
        "# Biên nhận",
        "",
        f"**{markdown_text(case.title)}** ({directive} · {case.requirement}), kỳ "
        f"**{period_words(case.period)}**, đơn vị **{case.unit} {markdown_text(case.unit_name)}**",
        "",
        " · ".join(when),
    ]
    return "\n".join(lines + handed_in_lines(case)) + "\n"


def handed_in_lines(case: Case) -> list[str]:
    """What a unit handed in, as Markdown lines: its figures under their labels and units,
    its narrative and evidence link (what people typed shown literally)."""
    lines: list[str] = []
    if case.figures:
        lines += ["", "| chỉ tiêu | giá trị | đơn vị tính |", "|---|---|---|"]
        lines += [
            f"| {markdown_text(f.label)} | {markdown_text(str(f.value))} | "
            f"{markdown_text(f.unit or '')} |"
            for f in case.figures
        ]
    if case.narrative:
        lines += ["", f"Nội dung: {markdown_text(case.narrative)}"]
    if case.evidence:
        lines += ["", f"Minh chứng: {markdown_text(case.evidence)}"]
    return lines


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
        actor, outcome = ask_the_unit(directive, requirement, actor)
    elif unit is None:
        raise InputError("form", "unit", None, "a period needs its unit", vi="Thiếu đơn vị.")
    else:
        outcome = record_submission(
            directive,
            requirement,
            actor,
            code_of(unit),
            code_of(period),
            figures or {},
            narrative,
            evidence,
        )
    case = services.desks.review_case(
        load_settings(), directive=directive, obligation=outcome.obligation_id, day=day_of(None)
    )
    create_markdown_artifact(
        key="bien-nhan",
        description="Biên nhận nộp báo cáo",
        markdown=receipt_markdown(case, directive=directive),
    )
    refresh_forms(directive, requirement)
    return outcome.obligation_id

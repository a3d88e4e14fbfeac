"""The lead office decides: accept, return with a reason, extend, or waive.

The officer is whoever the gate signed in and started the run (`started_by`). From the form
it takes two steps: the officer narrows the directive's obligations (requirement, period,
unit or the body above units, status); the run then waits (`answer_of`) on a form listing the
first matches with what each unit handed in (figures, narrative, evidence, when and how late)
and records the decision taken there. A script, started through the gate with a person's
session too, may send `obligation` and `decision` at once instead: the same checks apply."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

import pendulum
from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

import services.checks
import services.desks
import services.records
from flows.forms import (
    DECISIONS,
    REVIEW_FLOW,
    SEPARATOR,
    DecisionForm,
    case_choice,
    case_words,
    code_of,
    decision_form,
    refresh_forms,
    requirement_period,
)
from flows.runtime import checked_answer, day_of, for_clerks, issued, rename_run, started_by
from flows.submission import FORM_HOURS, handed_in_lines
from models.errors import InputError
from models.rules.status import STATUS_WORDS
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text, period_words
from models.rules.workdays import local_time_text
from services.desks import REVIEW_STATUSES, Case, Cases
from services.settings import Settings, load_settings

STATUS_OF_WORDS = {STATUS_WORDS[s]: s for s in REVIEW_STATUSES}


def review_run_name() -> str:
    """Which directive, as the run starts (`xet-duyet · cam-xuyen-cchc-2024`); then who
    reviews (`xet-duyet · svhttdl.an`); once decided, which obligation and what decision
    (`xet-duyet · 18682 Xã Cẩm Dương · 1c · 2024-Q2 · chấp nhận`)."""
    return SEPARATOR.join([REVIEW_FLOW, str(flow_run.parameters.get("directive"))])


def _command(decision: str) -> str:
    """The command a decision names: its label on the form, or the command itself."""
    if decision in DECISIONS:
        return DECISIONS[decision]
    if decision in DECISIONS.values():
        return decision
    raise InputError(
        "form",
        "decision",
        decision,
        f"must be one of {', '.join(DECISIONS)}",
        vi=f"Quyết định «{decision}» không có; chọn: {', '.join(DECISIONS)}.",
    )


def _handed_in(case: Case) -> str:
    due = "" if case.due is None else f" (hạn {day_text(case.due)})"
    if case.handed_in is None:
        return f"Chưa nộp{due}."
    when = f"Nộp ngày {day_text(case.handed_in)}" + (
        f" bởi `{case.submitted_by}`" if case.submitted_by else ""
    )
    late = f"trễ {case.days_late} ngày" if case.days_late else "đúng hạn"
    return f"{when}, {late}{due}."


def case_markdown(case: Case, *, heading: str | None = None) -> str:
    """One obligation with what its unit handed in, as the officer reads it before deciding
    (what people typed shown literally: it cannot pass for a case, a link or a table), under
    its choice on the decision form unless given another `heading`."""
    lines = [
        f"### {markdown_text(heading or case_choice(case))}",
        "",
        f"{markdown_text(case.title)} · {_handed_in(case)}",
    ]
    if case.reason:
        lines += ["", f"Lần trước trả lại vì: «{markdown_text(case.reason)}»"]
    return "\n".join(lines + handed_in_lines(case))


def cases_markdown(cases: Cases, narrowed: str) -> str:
    """The matches of the officer's filters: how many, the first of them in full, and what
    to do when there are more than a person can read."""
    head = f"**{cases.total} nghĩa vụ** khớp bộ lọc ({narrowed})."
    if cases.total > len(cases.listed):
        head += (
            f" Hiện {len(cases.listed)} nghĩa vụ đầu; chọn thêm nhiệm vụ, kỳ, đơn vị hoặc tình "
            "trạng để xem các nghĩa vụ khác."
        )
    return "\n\n".join([head, *(case_markdown(c) for c in cases.listed)])


def _narrowed(
    requirement: str | None, period: str | None, unit: str | None, status: str | None
) -> str:
    parts = [
        f"nhiệm vụ {requirement}" if requirement else "mọi nhiệm vụ",
        period_words(period) if period else "mọi kỳ",
        f"đơn vị {markdown_text(unit)}" if unit else "mọi đơn vị",
        STATUS_WORDS[status] if status else "mọi tình trạng cần xử lý",
    ]
    return ", ".join(parts)


def ask_the_officer(
    settings: Settings,
    actor: str,
    directive: str,
    requirement: str | None,
    period: str | None,
    unit: str | None,
    status: str | None,
    obligation: str | None = None,
) -> Decided | None:
    """Step two: list the matches with their evidence (or the one `obligation` named, as
    the work page's line opens it), wait (`answer_of`) for the officer's decision on one of
    them and record it (who decided: the officer, or an administrator); a decision the checks
    refuse is asked again, with what was typed kept (`checked_answer`). None when nothing
    matches."""
    if status is not None and status not in STATUS_OF_WORDS:
        raise InputError(
            "form",
            "status",
            status,
            f"must be one of {', '.join(STATUS_OF_WORDS)}",
            vi=f"Tình trạng «{status}» không có; chọn: {'; '.join(STATUS_OF_WORDS)}.",
        )
    key = None if status is None else STATUS_OF_WORDS[status]
    if requirement is not None:
        requirement, chosen_period = requirement_period(requirement)
        period = period or chosen_period
    period = None if period is None else code_of(period)
    unit = unit.strip() or None if unit else None
    if obligation is not None:
        case = services.desks.review_case(
            settings, directive=directive, obligation=_obligation_id(obligation), day=day_of(None)
        )
        cases, narrowed = Cases(1, [case]), case_words(case)
    else:
        cases = services.desks.review_cases(
            settings,
            directive=directive,
            day=day_of(None),
            requirement=requirement,
            period=period,
            unit=unit,
            status=key,
        )
        narrowed = _narrowed(requirement, period, unit, key)
    listing = cases_markdown(cases, narrowed)
    create_markdown_artifact(
        key="ho-so-xet-duyet", description="Hồ sơ xét duyệt", markdown=f"# Hồ sơ\n\n{listing}"
    )
    if not cases.listed:
        return None
    described = f"{listing}\n\nChọn một nghĩa vụ, quyết định rồi bấm Resume."

    def form_for(typed: DecisionForm | None, mend: str | None) -> type[DecisionForm]:
        return decision_form(cases, described, typed=typed, mend=mend)

    def record(answer: DecisionForm, by: str) -> Decided:
        return decide_on(
            settings,
            directive,
            by,
            answer.obligation,
            answer.decision,
            answer.reason,
            answer.new_due,
        )

    return checked_answer(actor, form_for, record, key="quyet-dinh", hours=FORM_HOURS)


@dataclass(frozen=True, slots=True)
class Decided:
    """A decision recorded: on which case, by whom, and what it did."""

    case: Case
    word: str
    actor: str
    outcome: services.records.Outcome
    reason: str | None
    due: date | None


def decide_on(
    settings: Settings,
    directive: str,
    actor: str,
    obligation: str,
    decision: str,
    reason: str | None,
    typed_due: date | str | None,
) -> Decided:
    """Record the decision on one obligation of the directive; the run is named for it only
    once it is recorded."""
    command = _command(decision)
    oid = _obligation_id(obligation)
    case = services.desks.review_case(
        settings, directive=directive, obligation=oid, day=day_of(None)
    )
    word = next(label for label, c in DECISIONS.items() if c == command)
    due = day_of(_date(typed_due), "new_due") if typed_due else None
    outcome, told = services.records.decide(
        settings, oid, issued(actor), command, reason=reason or None, new_due=due
    )
    if told is not None:
        print(f"đã báo: {', '.join(letter.recipient.email for letter in told.plan.letters)}")
        # the decision stands; the daily chase tells the unit once its directive is mended
        for failed in told.plan.failed.listed():
            print(f"chưa báo được ({failed.directive}): {failed.vi}")
    rename_run(
        SEPARATOR.join(
            [
                REVIEW_FLOW,
                f"{case.unit} {case.unit_name}",
                case.requirement,
                case.period,
                word.lower(),
            ]
        )
    )
    return Decided(case, word, actor, outcome, reason, due)


def _obligation_id(obligation: str) -> int:
    """The obligation id a choice of the decision form (or a script) names."""
    try:
        return services.checks.obligation_number(int(code_of(obligation)), "form", "obligation")
    except ValueError:
        raise InputError(
            "form",
            "obligation",
            obligation,
            "is not an obligation id",
            vi=f"«{obligation}» không phải mã nghĩa vụ.",
        ) from None


def decision_markdown(decided: Decided, *, at: datetime) -> str:
    """The record of a decision as the lead office files it: what was decided on which
    report, when and by whom, the status before and after (no internal ids)."""
    case = replace(decided.case, status=decided.outcome.status)
    return (
        f"# Quyết định: {decided.word}\n\n{case_markdown(case, heading=case_words(case))}"
        f"\n\nQuyết định lúc {local_time_text(at)} · người quyết định: `{decided.actor}` · "
        f"trạng thái trước: {STATUS_WORDS[decided.case.status]} · trạng thái mới: "
        f"**{STATUS_WORDS[decided.outcome.status]}**"
        + (f"\n\nLý do: {markdown_text(decided.reason)}" if decided.reason else "")
        + (f"\n\nHạn mới: {day_text(decided.due)}" if decided.due else "")
    )


@flow(name=REVIEW_FLOW, log_prints=True, flow_run_name=review_run_name)
@for_clerks
def review_obligation(
    directive: str,
    requirement: str | None = None,
    period: str | None = None,
    unit: str | None = None,
    status: str | None = None,
    obligation: str | None = None,
    decision: str | None = None,
    reason: str | None = None,
    new_due: date | None = None,
) -> int | None:
    """Xét duyệt: the lead office's decision on one obligation of the directive."""
    settings = load_settings()
    actor = started_by()
    rename_run(SEPARATOR.join([REVIEW_FLOW, actor]))
    # nothing of the desk, not even what matches, before the person's right to it is checked
    services.desks.check_reviewer(settings, actor, directive=directive, now=pendulum.now("UTC"))
    if obligation is None or decision is None:
        decided = ask_the_officer(
            settings, actor, directive, requirement, period, unit, status, obligation
        )
        if decided is None:
            return None
    else:
        decided = decide_on(settings, directive, actor, obligation, decision, reason, new_due)
    create_markdown_artifact(
        key="quyet-dinh",
        description="Quyết định xét duyệt",
        markdown=decision_markdown(decided, at=pendulum.now("UTC")),
    )
    refresh_forms(directive, decided.case.requirement)
    return decided.case.obligation_id


def _date(value: date | str) -> date:
    """A date from the form (ISO text) or from a script."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            "form",
            "new_due",
            value,
            "is not a date (YYYY-MM-DD)",
            vi=f"Hạn mới «{value}» không phải ngày hợp lệ.",
        ) from None

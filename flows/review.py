"""The lead office decides: accept, return with a reason, extend, or waive."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows.forms import DECISIONS, REVIEW_FLOW, SEPARATOR, code_of, refresh_forms
from flows.runtime import day_of, for_clerks, issued
from models import services
from models.errors import InputError
from models.settings import load_settings
from models.status import STATUS_WORDS


def record_decision(
    actor: str, obligation: int, decision: str, reason: str | None, new_due: date | None
) -> services.Outcome:
    """Append the lead office's decision to the obligation's log."""
    outcome, told = services.decide(
        load_settings(), obligation, issued(actor), decision, reason=reason, new_due=new_due
    )
    if told is not None:
        print(f"told: {', '.join(letter.recipient.email for letter in told.plan.letters)}")
    return outcome


def review_run_name() -> str:
    """Which obligation and what decision: `xet-duyet · 18682 Xã Cẩm Dương · 1c · 2024-Q2 ·
    chấp nhận` (an obligation typed as an id: `#1234`)."""
    given = flow_run.parameters
    about = str(given.get("obligation")).split(SEPARATOR)
    which = about[1:4] if len(about) > 3 else [f"#{about[0]}"]
    decision = str(given.get("decision")).split(SEPARATOR)[-1]
    return SEPARATOR.join([REVIEW_FLOW, *which, decision])


@flow(name=REVIEW_FLOW, log_prints=True, flow_run_name=review_run_name)
@for_clerks
def review_obligation(
    directive: str,
    actor: str,
    obligation: str,
    decision: str,
    reason: str | None = None,
    new_due: date | None = None,
) -> int:
    """Xét duyệt: the lead office's decision on one obligation of the directive."""
    if decision not in DECISIONS:
        raise InputError("form", "decision", decision, f"must be one of {', '.join(DECISIONS)}")
    try:
        oid = services.obligation_number(int(code_of(obligation)), "form", "obligation")
    except ValueError:
        raise InputError("form", "obligation", obligation, "is not an obligation id") from None
    due = None if new_due is None else day_of(new_due, "new_due")
    outcome = record_decision(actor, oid, DECISIONS[decision], reason, due)
    create_markdown_artifact(
        key="quyet-dinh",
        description="Quyết định xét duyệt",
        markdown=(
            f"# Quyết định\n\n**{directive}** · nghĩa vụ #{oid}: **{decision}** bởi `{actor}`"
            f"\n\nTrạng thái mới: **{STATUS_WORDS[outcome.status]}** (phiên bản "
            f"{outcome.version})" + (f"\n\nLý do: {reason}" if reason else "")
        ),
    )
    refresh_forms()
    return oid

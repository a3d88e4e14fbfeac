"""A unit's submissions and the lead office's decisions, each an event in the log."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.errors import InputError
from models.rules.obligation import Arrival as Arrival
from models.rules.workdays import local_date
from models.storage import ledger, queries
from models.storage.ledger import Issued as Issued
from models.storage.ledger import Outcome as Outcome
from models.storage.ledger import typed_key as typed_key
from services.mail import ChaseRun, chase
from services.settings import Settings


def submit(
    settings: Settings,
    obligation_id: int,
    by: Issued,
    *,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> Outcome:
    """A unit's staff hand in an obligation's figures."""
    return ledger.submit(
        settings.engine(),
        obligation_id,
        by,
        figures=figures,
        narrative=narrative,
        evidence=evidence,
    )


def submit_for(
    settings: Settings,
    by: Issued,
    *,
    directive: str,
    requirement: str,
    unit: str,
    period: str,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> Outcome:
    """A unit's staff hand in the figures of the obligation named by its directive,
    requirement, unit and period (as the submission form names it)."""
    oid = find(settings, directive=directive, requirement=requirement, unit=unit, period=period)
    return submit(settings, oid, by, figures=figures, narrative=narrative, evidence=evidence)


def find(settings: Settings, *, directive: str, requirement: str, unit: str, period: str) -> int:
    """The obligation a form names by its directive, requirement, unit and period."""
    oid = queries.find_obligation(
        settings.engine(), directive=directive, requirement=requirement, unit=unit, period=period
    )
    if oid is None:
        raise InputError(
            "form",
            "period",
            period,
            f"unit {unit} owes no {requirement} for this period",
            vi=f"Đơn vị {unit} không có nghĩa vụ «{requirement}» cho kỳ {period}.",
        )
    return oid


def receive(
    settings: Settings,
    obligation_id: int,
    by: Issued,
    *,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
    arrival: Arrival,
) -> Outcome:
    """The lead office's staff record a unit's report that arrived on paper, by official
    e-mail or through the document system, on time by the day it arrived."""
    return ledger.receive(
        settings.engine(),
        obligation_id,
        by,
        figures=figures,
        narrative=narrative,
        evidence=evidence,
        arrival=arrival,
        grace_days=settings.entry_grace_working_days,
        calendar=settings.calendar(),
    )


def accept(settings: Settings, obligation_id: int, by: Issued) -> Outcome:
    """The lead office accepts a submission."""
    return ledger.accept(settings.engine(), obligation_id, by)


def return_(
    settings: Settings, obligation_id: int, by: Issued, *, reason: str | None
) -> tuple[Outcome, ChaseRun]:
    """The lead office returns a submission; its unit is told at once, with the reason (the
    return stands even if the notice cannot be delivered yet: it stays in the outbox)."""
    outcome = ledger.return_(settings.engine(), obligation_id, by, reason=reason)
    told = chase(settings, day=local_date(by.now), now=by.now, only=[obligation_id])
    return outcome, told


def extend(
    settings: Settings, obligation_id: int, by: Issued, *, due: date, reason: str | None
) -> Outcome:
    """The lead office moves an obligation's due date later."""
    return ledger.extend(settings.engine(), obligation_id, by, due=due, reason=reason)


def waive(settings: Settings, obligation_id: int, by: Issued, *, reason: str | None) -> Outcome:
    """The lead office releases the unit from an obligation."""
    return ledger.waive(settings.engine(), obligation_id, by, reason=reason)


def decide(
    settings: Settings,
    obligation_id: int,
    by: Issued,
    decision: str,
    *,
    reason: str | None,
    new_due: date | None,
) -> tuple[Outcome, ChaseRun | None]:
    """The lead office's decision on an obligation (accept, return, waive or extend), with
    the notice a return sends at once (None for the other decisions)."""
    if decision == "accept":
        return accept(settings, obligation_id, by), None
    if decision == "return":
        return return_(settings, obligation_id, by, reason=reason)
    if decision == "waive":
        return waive(settings, obligation_id, by, reason=reason), None
    if new_due is None:
        raise InputError(
            "form",
            "new_due",
            None,
            "an extension needs the new due date",
            vi="Gia hạn cần ghi ngày hạn mới.",
        )
    return extend(settings, obligation_id, by, due=new_due, reason=reason), None

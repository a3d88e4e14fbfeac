"""Vào sổ báo cáo đến: the lead office's staff enter a unit's report that arrived on paper, by
official e-mail or through the document system, with the day it arrived (ngày đến), the
incoming document's number and symbol and what it says. On time is judged by that day. Each
requirement with something still to hand in has a deployment of this flow (flows/forms.py),
whose form asks for that requirement's own figures as the clerk's form does.

Who enters it is whoever the gate signed in and started the run (`started_by`), never a name
typed into the form; the same rights as a decision on the unit's reports apply, and whoever
entered a report does not accept or return it. The form's values are checked again here (a
person can switch the form's own checks off)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

import services.desks
import services.records
from flows.forms import RECEIVE_FLOW, SEPARATOR, code_of, refresh_forms
from flows.runtime import day_of, for_clerks, issued, rename_run, started_by
from flows.submission import handed_in_lines
from models.rules.obligation import CHANNELS
from models.rules.status import STATUS_WORDS
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text, period_words
from models.rules.workdays import local_time_text
from services.desks import Case
from services.settings import load_settings


def received_run_name() -> str:
    """Who sent what for which period: `vao-so-bao-cao-den · 18712 · 1c · 2024-Q1`."""
    given = flow_run.parameters
    parts = [given.get("unit"), given.get("requirement"), given.get("period")]
    return SEPARATOR.join([RECEIVE_FLOW, *(code_of(str(p)) for p in parts if p)])


def received_markdown(case: Case, arrival: services.records.Arrival, *, directive: str) -> str:
    """The receipt of a report entered from the register of incoming documents: which
    document arrived how and when, against its due date, who entered it when, and what it
    says (as typed, shown literally)."""
    when = [
        f"Đến ngày {day_text(arrival.arrived)} qua {CHANNELS[arrival.channel].lower()}",
        f"văn bản số {markdown_text(arrival.number)}",
        "không có hạn nộp" if case.due is None else f"hạn nộp {day_text(case.due)}",
        f"**trễ {case.days_late} ngày**" if case.days_late else "**đúng hạn**",
        f"**{STATUS_WORDS[case.status]}**",
    ]
    entered = [
        *(
            []
            if case.submitted_at is None
            else [f"Vào sổ lúc {local_time_text(case.submitted_at)}"]
        ),
        *([] if case.submitted_by is None else [f"người vào sổ `{case.submitted_by}`"]),
    ]
    lines = [
        "# Biên nhận vào sổ báo cáo đến",
        "",
        f"**{markdown_text(case.title)}** ({directive} · {case.requirement}), kỳ "
        f"**{period_words(case.period)}**, đơn vị **{case.unit} {markdown_text(case.unit_name)}**",
        "",
        " · ".join(when),
        "",
        " · ".join(entered),
    ]
    if arrival.scan:
        lines += ["", f"Bản chụp: {markdown_text(arrival.scan)}"]
    if arrival.reason:
        lines += ["", f"Lý do vào sổ muộn: {markdown_text(arrival.reason)}"]
    return "\n".join(lines + handed_in_lines(case)) + "\n"


@flow(name=RECEIVE_FLOW, log_prints=True, flow_run_name=received_run_name)
@for_clerks
def record_received(
    directive: str,
    requirement: str,
    unit: str,
    period: str,
    channel: str,
    arrived: date,
    number: str,
    figures: dict[str, Any] | None = None,
    narrative: str | None = None,
    evidence: str | None = None,
    scan: str | None = None,
    reason: str | None = None,
) -> int:
    """Vào sổ báo cáo đến: record a unit's report that arrived by another channel, on time by
    the day it arrived."""
    actor = started_by()
    settings = load_settings()
    requirement, unit, period = code_of(requirement), code_of(unit), code_of(period)
    arrival = services.records.Arrival(
        channel=code_of(channel),
        arrived=day_of(arrived, "arrived"),
        number=number,
        scan=scan,
        reason=reason,
    )
    oid = services.records.find(
        settings, directive=directive, requirement=requirement, unit=unit, period=period
    )
    rename_run(SEPARATOR.join([RECEIVE_FLOW, actor, unit, requirement, period]))
    services.records.receive(
        settings,
        oid,
        issued(actor),
        figures=figures or {},
        narrative=narrative,
        evidence=evidence,
        arrival=arrival,
    )
    case = services.desks.review_case(
        settings, directive=directive, obligation=oid, day=day_of(None)
    )
    create_markdown_artifact(
        key="bien-nhan",
        description="Biên nhận vào sổ báo cáo đến",
        markdown=received_markdown(case, arrival, directive=directive),
    )
    refresh_forms(directive, requirement)
    return oid

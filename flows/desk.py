"""Việc của đơn vị: a unit's own list of what it owes, the most urgent first."""

from __future__ import annotations

from collections import Counter
from datetime import date

from prefect import flow
from prefect.artifacts import create_markdown_artifact

import services.desks
from flows.forms import DESK_DEPLOYMENT, SEPARATOR, SUBMIT_FLOW, submission_name
from flows.runtime import dated_run_name, day_of, for_clerks, issued, rename_run, started_by
from models.rules.status import STATUS_WORDS
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text, period_words
from services.desks import STANDING, TO_DO, WAITING
from services.settings import load_settings

DESK_FLOW = DESK_DEPLOYMENT.split("/")[0]
LISTED = (*TO_DO, WAITING)


def next_step(item: services.desks.Owed) -> str:
    """What the unit does about an obligation, and with which form."""
    if item.status == WAITING:
        return "Chờ cơ quan chủ trì xét duyệt."
    form = f"`{SUBMIT_FLOW}/{submission_name(item.directive, item.requirement)}`"
    if item.reason is not None:
        reason = markdown_text(item.reason)
        return f"Trả lại để bổ sung: «{reason}». Sửa rồi nộp lại qua biểu mẫu {form}."
    return f"Nộp qua biểu mẫu {form}."


def desk_markdown(unit: services.desks.UnitRef, day: date, items: list[services.desks.Owed]) -> str:
    """The unit's list as the artifact shows it: what to do, the most urgent first, then
    what waits on review; its standing duties; the count of what is done."""
    duties = [item for item in items if item.period == STANDING]
    dated = [item for item in items if item.period != STANDING]
    counts = Counter(item.status for item in dated)
    lines = [
        f"# Việc của đơn vị {unit.code} {markdown_text(unit.name)}",
        "",
        f"Tình hình ngày {day_text(day)}: "
        + ", ".join(f"{STATUS_WORDS[s]} **{counts[s]}**" for s in LISTED)
        + ".",
        "",
    ]
    listed = [item for item in dated if item.status in LISTED]
    if listed:
        lines += [
            "| tình trạng | hạn nộp | nhiệm vụ | kỳ | việc cần làm |",
            "|---|---|---|---|---|",
            *(
                f"| **{STATUS_WORDS[i.status]}** | {day_text(i.due) if i.due else '—'} | "
                f"{markdown_text(i.title)} ({i.requirement} · {i.directive}) | "
                f"{period_words(i.period)} | {next_step(i)} |"
                for i in listed
            ),
        ]
    else:
        lines.append("Không còn việc nào phải nộp hay chờ xét.")
    if duties:
        lines += ["", "Nhiệm vụ thường xuyên (không có hạn nộp):", ""]
        lines += [f"- {markdown_text(i.title)} ({i.requirement} · {i.directive})" for i in duties]
    done = [s for s in STATUS_WORDS if s not in LISTED and counts[s]]
    if done:
        lines += ["", "Đã xong: " + ", ".join(f"{STATUS_WORDS[s]} {counts[s]}" for s in done) + "."]
    return "\n".join(lines) + "\n"


@flow(name=DESK_FLOW, log_prints=True, flow_run_name=dated_run_name)
@for_clerks
def unit_work(as_of: date | None = None, unit: str | None = None) -> int:
    """Việc của đơn vị: the obligations of the unit of whoever started the run (or, for the
    lead office or an admin, another unit's), the most urgent first, with their due dates,
    statuses, return reasons and the form to use; the number still to hand in."""
    settings = load_settings()
    actor = started_by()
    day = day_of(as_of)
    unit_ref = services.desks.desk_unit(
        settings, actor, (unit or "").strip() or None, day=day_of(None), now=issued(actor).now
    )
    rename_run(SEPARATOR.join([DESK_FLOW, f"{unit_ref.code} {unit_ref.name}", day_text(day)]))
    items = services.desks.unit_desk(settings, unit=unit_ref.code, day=day)
    create_markdown_artifact(
        key="viec-can-lam",
        description=f"Việc của đơn vị {unit_ref.code} {unit_ref.name} ngày {day_text(day)}",
        markdown=desk_markdown(unit_ref, day, items),
    )
    to_do = sum(item.status in TO_DO and item.period != STANDING for item in items)
    print(f"{unit_ref.code}: còn {to_do} báo cáo phải nộp")
    return to_do

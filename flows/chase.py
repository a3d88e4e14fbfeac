"""Đôn đốc hằng ngày: the daily chase run. It asks the working-day calendar itself (cron
cannot know Tết), writes the events and letters in one transaction, delivers the outbox, and
leaves what it sent as an artifact; a delivery that failed fails the run."""

from __future__ import annotations

from datetime import date

import pendulum
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from models import services
from models.errors import DeliveryFailed
from models.settings import load_settings
from models.vietnamese import day_text, period_words
from models.workdays import TIMEZONE


@task
def chase_day(day: date) -> services.ChaseRun:
    """Find, record and send what the ladders say is due on the day (set-based)."""
    return services.chase(load_settings(), day=day, now=pendulum.now("UTC"))


def report(run: services.ChaseRun) -> str:
    """What the run did, in Vietnamese, as markdown."""
    found = run.plan
    lines = [f"# Đôn đốc ngày {day_text(found.day)}", ""]
    if not found.working_day:
        return "\n".join([*lines, "Ngày nghỉ: không đôn đốc."])
    lines += [
        f"- Nghĩa vụ được nhắc hoặc đôn đốc: **{len(found.items)}**",
        f"- Thư gửi: **{len(found.letters)}** người nhận, {run.messages_written} thư mới",
    ]
    if run.delivery is not None:
        lines.append(f"- Đã chuyển: {len(run.delivery.sent)}; chờ gửi lại: {run.delivery.waiting}")
        for key, error in run.delivery.failed:
            lines.append(f'- <span style="color:#c00">**Gửi không được** thư {key}: {error}</span>')
    for unit, name, role in found.unreachable:
        lines.append(
            f'- <span style="color:#c00">**Không có địa chỉ** để báo {name} ({unit}, {role})</span>'
        )
    if found.letters:
        lines += ["", "| Người nhận | Địa chỉ | Việc |", "|---|---|---|"]
        for letter in found.letters:
            items = "; ".join(
                f"{i.unit_name}: {i.requirement} {period_words(i.period)}" for i in letter.items
            )
            lines.append(f"| {letter.recipient.name} | {letter.recipient.email} | {items} |")
    return "\n".join(lines)


@flow(name="don-doc-hang-ngay", log_prints=True)
def daily_chase(as_of: date | None = None) -> int:
    """Đôn đốc hằng ngày: remind and escalate what is due today; returns the items chased."""
    day = as_of or pendulum.now(TIMEZONE).date()
    run = chase_day(day)
    create_markdown_artifact(
        key=f"don-doc-{day.isoformat()}", markdown=report(run), description=f"Đôn đốc {day}"
    )
    print(f"{day}: {len(run.plan.items)} chased, {len(run.plan.letters)} letters")
    if run.delivery is not None and run.delivery.failed:
        raise DeliveryFailed(
            f"{len(run.delivery.failed)} thư chưa gửi được, còn trong hộp thư đi và sẽ gửi lại"
        )
    return len(run.plan.items)

"""Đôn đốc hằng ngày: the daily chase run. It asks the working-day calendar itself (cron
cannot know Tết), writes the events and letters in one transaction, delivers the outbox, and
leaves what it sent as an artifact; a delivery that failed fails the run, and so does a
directive it could not chase, once the others are chased."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

import pendulum
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.states import State

import services.mail
from flows.failures import failure_lines, finish
from flows.runtime import dated_run_name, day_of
from models.rules.text import markdown_text as md
from models.rules.vietnamese import day_text, sorted_vi
from services.settings import load_settings

# Whom each kind of ladder step tells, as the chase's table heads its counts.
STEP_WORDS = {"unit": "Nhắc đơn vị", "lead": "Báo cơ quan chủ trì", "issuer": "Báo lãnh đạo"}
OVERDUE = "overdue"


@task
def chase_day(day: date) -> services.mail.ChaseRun:
    """Find, record and send what the ladders say is due on the day (set-based)."""
    return services.mail.chase(load_settings(), day=day, now=pendulum.now("UTC"))


def delivery_lines(delivery: services.mail.Delivery) -> list[str]:
    """What did not go, in Vietnamese, as markdown list items (an error quotes the register's
    names and the server's words: shown literally)."""
    red = '- <span style="color:#c00">**{}** thư {}: {}</span>'
    lines = [red.format("Gửi không được", md(key), md(error)) for key, error in delivery.failed]
    lines += [
        red.format("Máy chủ thư từ chối hẳn (không gửi lại)", md(key), md(error))
        for key, error in delivery.rejected
    ]
    if delivery.stopped is not None:
        lines.append(
            f"- Dừng gửi giữa chừng (máy chủ thư không trả lời kịp hoặc hết thời gian gửi): "
            f"{delivery.deferred} thư chờ lần chạy sau"
        )
    return lines


def undelivered(delivery: services.mail.Delivery | None) -> str | None:
    """What fails the run about its delivery: a message that failed or was refused for good."""
    if delivery is None:
        return None
    if delivery.failed:
        return f"{len(delivery.failed)} thư chưa gửi được, còn trong hộp thư đi và sẽ gửi lại."
    if delivery.rejected:
        return f"{len(delivery.rejected)} thư bị máy chủ thư từ chối hẳn."
    return None


def report(run: services.mail.ChaseRun) -> str:
    """What the run did, in Vietnamese, as markdown; names from the registers and directives
    are shown literally."""
    found = run.plan
    lines = [f"# Đôn đốc ngày {day_text(found.day)}", ""]
    if not found.working_day:
        return "\n".join([*lines, "Ngày nghỉ: không đôn đốc."])
    lines += [
        f"- Nghĩa vụ được nhắc hoặc đôn đốc: **{len(found.items)}**",
        f"- Thư gửi: **{len(found.letters)}** người nhận, {run.messages_written} thư mới",
        *failure_lines(found.failed.listed()),
    ]
    if run.delivery is not None:
        lines.append(f"- Đã chuyển: {len(run.delivery.sent)}; chờ gửi lại: {run.delivery.waiting}")
        lines += delivery_lines(run.delivery)
    for unit, name, role in found.unreachable:
        lines.append(
            f'- <span style="color:#c00">**Không có địa chỉ** để báo {md(name)} ({md(unit)}, '
            f"{role})</span>"
        )
    if found.items:
        lines += ["", *unit_rows(found.items, found.day)]
    if found.letters:
        lines += ["", "| Người nhận | Địa chỉ | Số việc |", "|---|---|---|"]
        lines += [
            f"| {md(letter.recipient.name)} | {md(letter.recipient.email)} | {len(letter.items)} |"
            for letter in found.letters
        ]
    return "\n".join(lines)


def unit_rows(items: list[services.mail.Item], day: date) -> list[str]:
    """What was chased, one row per unit (named in full, with the unit holding its work once
    it has closed), in Vietnamese alphabetical order: how many of its obligations each kind
    of step chased, and how many of them are overdue."""
    names: dict[str, str] = {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        names[item.unit] = item.owed_by
        counts[item.unit][item.step.to] += 1
        counts[item.unit][OVERDUE] += item.effective_due < day
    heads = [*STEP_WORDS.values(), "Trong đó quá hạn"]
    return [
        f"| Đơn vị | {' | '.join(heads)} |",
        "|---" * (len(heads) + 1) + "|",
        *(
            f"| {md(unit)} {md(names[unit])} | "
            + " | ".join(str(counts[unit][key]) for key in [*STEP_WORDS, OVERDUE])
            + " |"
            for unit in sorted_vi(names, key=names.__getitem__)
        ),
    ]


@flow(name="don-doc-hang-ngay", log_prints=True, flow_run_name=dated_run_name)
def daily_chase(as_of: date | None = None) -> int | State[Any]:
    """Đôn đốc hằng ngày: remind and escalate what is due today; returns the items chased
    (Failed, once the others are chased, if a directive could not be)."""
    day = day_of(as_of)
    run = chase_day(day)
    create_markdown_artifact(
        key=f"don-doc-{day.isoformat()}",
        markdown=report(run),
        description=f"Đôn đốc ngày {day_text(day)}",
    )
    print(f"{day}: {len(run.plan.items)} chased, {len(run.plan.letters)} letters")
    return finish(run.plan.failed.listed(), len(run.plan.items), undelivered(run.delivery))


def summary_report(run: services.mail.SummaryRun) -> str:
    """The monthly summary, in Vietnamese, as markdown: per directive, the late units worst
    first; names from the registers and directives are shown literally."""
    lines = [f"# Tổng hợp tháng {run.day:%m/%Y} (ngày {day_text(run.day)})", ""]
    if not run.first_working_day:
        return "\n".join([*lines, "Không phải ngày làm việc đầu tiên của tháng: không gửi."])
    if run.failed:
        lines += [*failure_lines(run.failed), ""]
    elif not run.summaries:
        lines.append("Không có nhiệm vụ quá hạn.")
    for summary in run.summaries:
        lines += [
            f"## {md(summary.info.code)}: {len(summary.late)} đơn vị, "
            f"{len(summary.items)} nhiệm vụ quá hạn",
            "",
            f"Gửi: {', '.join(md(to.email) for to in summary.recipients) or 'không có địa chỉ'}",
            "",
            "| TT | Đơn vị | Quá hạn | Hạn sớm nhất |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {n} | {md(late.unit_name)} | **{late.overdue}** | {day_text(late.oldest_due)} |"
            for n, late in enumerate(summary.late, start=1)
        ]
        lines.append("")
    if run.delivery is not None:
        lines.append(f"Thư mới: {run.messages_written}; đã chuyển: {len(run.delivery.sent)}")
        lines += delivery_lines(run.delivery)
    return "\n".join(lines)


@flow(name="tong-hop-thang", log_prints=True, flow_run_name=dated_run_name)
def monthly_summary(as_of: date | None = None) -> int | State[Any]:
    """Tổng hợp tháng: on the month's first working day, tell each directive's leadership who
    is late, worst first, with the urging dispatch attached; returns the late units."""
    day = day_of(as_of)
    run = services.mail.monthly_summary(load_settings(), day=day, now=pendulum.now("UTC"))
    create_markdown_artifact(
        key=f"tong-hop-thang-{day.isoformat()}",
        markdown=summary_report(run),
        description=f"Tổng hợp tháng {day:%m/%Y}",
    )
    return finish(run.failed, sum(len(s.late) for s in run.summaries), undelivered(run.delivery))

"""Tổng hợp báo cáo: the consolidation run. Every working day (it asks the calendar itself),
once the units' deadline for a period has passed, it writes the consolidated report of each
requirement the lead office sums up (.xlsx and .docx) and its compliance matrix (.html) to
the outputs folder, and drafts the lead office's own report from them, which the second step
of its submission form offers filled in: one person checks it and hands it in, and its
recipient decides on it. A report that cannot be drafted is shown in red and fails the run
once the others are drafted."""

from __future__ import annotations

from datetime import date
from typing import Any

import pendulum
from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.states import State

import services.reports
from flows.failures import failure_lines, finish
from flows.runtime import dated_run_name, day_of
from models.rules.vietnamese import day_text, percent_text, period_words
from services.settings import load_settings


def _link(settings_url: str | None, path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return f"[{name}]({settings_url}{path})" if settings_url else f"`{path}`"


def report(run: services.reports.ConsolidationRun, outputs_url: str | None) -> str:
    """What the run drafted, in Vietnamese, as markdown: first, in red, the directives it
    could not consolidate; per report, its rates, its files and the draft itself; then the
    matrix of each requirement summed up, once."""
    lines = [f"# Tổng hợp báo cáo ngày {day_text(run.day)}", ""]
    if not run.working_day:
        return "\n".join([*lines, "Ngày nghỉ: không tổng hợp."])
    if run.failed:
        lines += [*failure_lines(run.failed), ""]
    elif not run.drafted:
        return "\n".join([*lines, "Không có báo cáo tổng hợp nào đến lúc soạn."])
    for drafted in run.drafted:
        due = drafted.due
        lines += [
            f"## {due.directive} · yêu cầu {due.requirement} · {period_words(due.period)}",
            "",
        ]
        for found in drafted.reports:
            rate = found.rate
            lines.append(
                f"- **{found.requirement}** {found.title}: {rate.reported}/{rate.expected} đơn vị "
                f"đã báo cáo ({percent_text(rate.reporting_rate)}), {rate.on_time} đúng hạn "
                f"({percent_text(rate.on_time_rate)}), {rate.overdue} quá hạn"
            )
        lines += ["", "Tệp: " + ", ".join(_link(outputs_url, f) for f in drafted.files), ""]
        lines += [
            "### Dự thảo báo cáo tổng hợp",
            "",
            *(f"> {line}" if line else ">" for line in drafted.narrative.splitlines()),
            "",
            f"Việc cần làm: cán bộ cơ quan chủ trì mở mẫu nộp báo cáo của yêu cầu "
            f"{due.requirement}, chọn {period_words(due.period)}, kiểm tra dự thảo đã điền sẵn "
            "và nộp; đơn vị nhận báo cáo xét duyệt.",
            "",
        ]
    # the matrices' module loads the documents' libraries, which a run that drafted nothing
    # has no use for
    from notifications.matrix import matrix_markdown

    for grid in run.matrices:
        lines += [matrix_markdown(grid), ""]
    return "\n".join(lines)


@flow(name="tong-hop-bao-cao", log_prints=True, flow_run_name=dated_run_name)
def consolidate_reports(as_of: date | None = None) -> int | State[Any]:
    """Tổng hợp báo cáo: draft the lead office's reports whose units' deadline has passed;
    returns how many were drafted (Failed, once the others are drafted, if one could not be)."""
    day = day_of(as_of)
    settings = load_settings()
    run = services.reports.consolidate(settings, day=day, now=pendulum.now("UTC"))
    create_markdown_artifact(
        key=f"tong-hop-bao-cao-{day.isoformat()}",
        markdown=report(run, settings.outputs_url),
        description=f"Tổng hợp báo cáo ngày {day_text(day)}",
    )
    print(f"{day}: {len(run.drafted)} consolidated report(s) drafted")
    return finish(run.failed, len(run.drafted))

"""The scheduled runs: open the periods that have started, then report where things stand."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pendulum
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.forms import refresh_forms
from flows.publish import opened_table
from flows.runtime import dated_run_name, day_of, issued
from models import services
from models.settings import load_settings
from models.status import STATUS_WORDS
from models.vietnamese import day_text, percent_text, period_words, sorted_vi


@task
def open_due_periods(as_of: date) -> services.OpenReport:
    """Create the obligations of every period that has started (set-based, idempotent)."""
    by = issued("dondoc")
    return services.open_periods(
        load_settings(), as_of=as_of, now=by.now, actor=by.actor, channel=by.channel
    )


@flow(name="mo-ky-moi", log_prints=True, flow_run_name=dated_run_name)
def open_periods(as_of: date | None = None) -> int:
    """Mở kỳ mới: open the periods that have started and refresh the forms."""
    day = day_of(as_of)
    report = open_due_periods(day)
    opened_table(report, "nghia-vu-moi", f"Nghĩa vụ tạo mới ngày {day_text(day)}")
    refresh_forms()
    print(f"{report.total} obligations created as of {day}")
    return report.total


@task
def compliance_rows(as_of: date) -> dict[str, list[dict[str, object]]]:
    """Per directive, one row per unit, in Vietnamese alphabetical order of the units' names,
    with its obligations counted by status."""
    counts: dict[str, dict[tuple[str, str], Counter[str]]] = defaultdict(dict)
    for directive, unit, name, status, n in services.compliance(load_settings(), day=as_of):
        counts[directive].setdefault((unit, name), Counter())[status] += n
    tables: dict[str, list[dict[str, object]]] = {}
    for directive, units in counts.items():
        # only the statuses that occur: ten columns of mostly zeros do not fit a screen
        shown = [s for s in STATUS_WORDS if any(c[s] for c in units.values())]
        tables[directive] = [
            {"đơn vị": f"{unit} · {name}", **{STATUS_WORDS[s]: c[s] for s in shown}}
            for (unit, name), c in sorted_vi(units.items(), key=lambda item: item[0][1])
        ]
    return tables


@task
def rate_rows(directive: str, as_of: date) -> list[dict[str, object]]:
    """The directive's reporting rates per requirement and period, as a table's rows."""
    found, _ = services.rates(load_settings(), directive=directive, day=as_of)
    return [
        {
            "yêu cầu": r.requirement,
            "kỳ": period_words(r.period),
            "phải nộp": r.expected,
            "đã nộp": r.reported,
            "đúng hạn": r.on_time,
            "tỷ lệ nộp": percent_text(r.reporting_rate),
            "tỷ lệ đúng hạn": percent_text(r.on_time_rate),
            "được miễn": r.waived,
            "quá hạn": r.overdue,
        }
        for r in found
    ]


@flow(name="trang-thai-hang-ngay", log_prints=True, flow_run_name=dated_run_name)
def daily_status(as_of: date | None = None) -> dict[str, dict[str, int]]:
    """Trạng thái hằng ngày: statuses as of today, as a compliance table per directive."""
    day = day_of(as_of)
    totals: dict[str, dict[str, int]] = {}
    for directive, rows in compliance_rows(day).items():
        create_table_artifact(
            key=f"tuan-thu-{directive}".lower()[:100],
            table=rows,
            description=f"{directive}: tình hình thực hiện ngày {day_text(day)}",
        )
        create_table_artifact(
            key=f"ty-le-{directive}".lower()[:100],
            table=rate_rows(directive, day),
            description=f"{directive}: tỷ lệ báo cáo ngày {day_text(day)}",
        )
        totals[directive] = {
            status: sum(int(str(r.get(STATUS_WORDS[status], 0))) for r in rows)
            for status in ("due_soon", "overdue")
        }
        print(f"{directive}: {totals[directive]}")
    keep_anchor()
    return totals


@task
def keep_anchor() -> None:
    """Anchor the log outside the database: a file under the anchor folder and an artifact
    on this run, for `dondoc log verify --anchor FILE` to check the log against later."""
    taken, path = services.anchor_log(load_settings(), now=pendulum.now("UTC"))
    create_markdown_artifact(
        key="neo-nhat-ky",
        description="Neo nhật ký sự kiện (log anchor)",
        markdown=(
            f"# Neo nhật ký sự kiện\n\nLúc `{taken.taken_at}`: **{taken.events}** sự kiện "
            f"(mã đến {taken.last_event_id}), SHA-256 các đầu chuỗi `{taken.heads_sha256}`.\n\n"
            f"Tệp: `{path}`. Kiểm tra sau: `dondoc log verify --anchor {path}`.\n\n"
            f"```json\n{taken.to_json()}\n```\n"
        ),
    )
    print(f"log anchored: {taken.events} events, {path}")

"""The scheduled runs: open the periods that have started, then report where things stand.
Each does every directive's part on its own: one that fails is shown in red and fails the run
once the others are done."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import pendulum
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import State

import services.database
import services.directives
import services.feeds
import services.listing
import services.reports
from flows.failures import failures_artifact, finish
from flows.forms import refresh_forms
from flows.publish import opened_table
from flows.runtime import dated_run_name, day_of, issued
from models.errors import Failures
from models.rules.consolidation import CELL_CODES, CELL_WORDS, Rate
from models.rules.status import STATUSES
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text, percent_text, period_words, sorted_vi
from services.settings import load_settings

# Prefect's UI shows an artifact in a column about 690 px wide at a 1400 px window and does not
# wrap a table artifact's cells, but wraps a markdown table's: the compliance table is markdown,
# each unit named in full, its status columns headed by the matrix's codes, explained above it.
UNIT = "Đơn vị"
RATES_LEGEND = (
    "% nộp: số đã nộp trên số phải nộp; % đúng hạn: số nộp đúng hạn trên số phải nộp "
    "(đơn vị được miễn không tính vào số phải nộp)."
)


@task
def open_due_periods(as_of: date) -> services.directives.OpenReport:
    """Create the obligations of every period that has started (set-based, idempotent)."""
    by = issued("dondoc")
    return services.directives.open_periods(
        load_settings(), as_of=as_of, now=by.now, actor=by.actor, channel=by.channel
    )


@flow(name="mo-ky-moi", log_prints=True, flow_run_name=dated_run_name)
def open_periods(as_of: date | None = None) -> int | State[Any]:
    """Mở kỳ mới: open the periods that have started and refresh the forms (Failed, once the
    others are opened, if a directive's could not be)."""
    day = day_of(as_of)
    report = open_due_periods(day)
    opened_table(report, "nghia-vu-moi", f"Nghĩa vụ tạo mới ngày {day_text(day)}")
    failures_artifact(
        report.failed, key="mo-ky-moi-loi", title=f"Chỉ thị chưa mở được kỳ ngày {day_text(day)}"
    )
    refresh_forms()
    print(f"{report.total} obligations created as of {day}")
    return finish(report.failed, report.total)


def compliance_tables(
    found: Iterable[tuple[str, str, str, str, int]],
) -> dict[str, list[dict[str, object]]]:
    """Per directive, one row per unit, in Vietnamese alphabetical order of the units' names,
    with its obligations counted by status, each status a column headed by its code."""
    counts: dict[str, dict[tuple[str, str], Counter[str]]] = defaultdict(dict)
    for directive, unit, name, status, n in found:
        counts[directive].setdefault((unit, name), Counter())[status] += n
    tables: dict[str, list[dict[str, object]]] = {}
    for directive, units in counts.items():
        # only the statuses that occur: ten columns of mostly zeros do not fit a screen
        shown = [s for s in STATUSES if any(c[s] for c in units.values())]
        tables[directive] = [
            {UNIT: f"{unit} {name}", **{CELL_CODES[s]: c[s] for s in shown}}
            for (unit, name), c in sorted_vi(units.items(), key=lambda item: item[0][1])
        ]
    return tables


def legend(rows: list[dict[str, object]]) -> str:
    """What the codes heading the table's columns stand for."""
    return " · ".join(
        f"{code} {CELL_WORDS[status]}"
        for status in STATUSES
        if (code := CELL_CODES[status]) in rows[0]
    )


def compliance_markdown(directive: str, day: date, rows: list[dict[str, object]]) -> str:
    """The compliance table as its artifact shows it: the legend of its codes, then one row
    per unit, named in full (a register's name shown literally)."""
    heads = list(rows[0])
    return "\n".join(
        [
            f"# Tình hình thực hiện {directive} ngày {day_text(day)}",
            "",
            f"Ký hiệu (số nghĩa vụ của mỗi đơn vị): {legend(rows)}.",
            "",
            f"| {' | '.join(heads)} |",
            "|---" + "|--:" * (len(heads) - 1) + "|",
            *(
                f"| {markdown_text(str(row[UNIT]))} | "
                + " | ".join(str(row[head]) for head in heads[1:])
                + " |"
                for row in rows
            ),
        ]
    )


@task
def compliance_rows(as_of: date) -> dict[str, list[dict[str, object]]]:
    """The compliance table of every directive as of the day."""
    return compliance_tables(services.listing.compliance(load_settings(), day=as_of))


def rates_table(found: Iterable[Rate]) -> list[dict[str, object]]:
    """Reporting rates per requirement and period, as a table narrow enough for Prefect's
    column: the rates headed "% nộp" and "% đúng hạn" (RATES_LEGEND explains them)."""
    return [
        {
            "yêu cầu": r.requirement,
            "kỳ": period_words(r.period),
            "phải nộp": r.expected,
            "đã nộp": r.reported,
            "% nộp": percent_text(r.reporting_rate),
            "% đúng hạn": percent_text(r.on_time_rate),
            "quá hạn": r.overdue,
        }
        for r in found
    ]


@task
def rate_rows(directive: str, as_of: date) -> list[dict[str, object]]:
    """The directive's reporting rates per requirement and period, as a table's rows."""
    found, _ = services.reports.rates(load_settings(), directive=directive, day=as_of)
    return rates_table(found)


@flow(name="trang-thai-hang-ngay", log_prints=True, flow_run_name=dated_run_name)
def daily_status(as_of: date | None = None) -> dict[str, dict[str, int]] | State[Any]:
    """Trạng thái hằng ngày: statuses as of today, as a compliance table per directive (Failed,
    once the others' tables are made, if a directive's could not be)."""
    day = day_of(as_of)
    totals: dict[str, dict[str, int]] = {}
    failures = Failures("Lập bảng tình hình thực hiện")
    for directive, rows in compliance_rows(day).items():
        with failures.of(directive):
            rates = rate_rows(directive, day)
            create_markdown_artifact(
                key=f"tuan-thu-{directive}".lower()[:100],
                markdown=compliance_markdown(directive, day, rows),
                description=f"{directive}: tình hình thực hiện ngày {day_text(day)}",
            )
            create_table_artifact(
                key=f"ty-le-{directive}".lower()[:100],
                table=rates,
                description=f"{directive}: tỷ lệ báo cáo ngày {day_text(day)}. {RATES_LEGEND}",
            )
            totals[directive] = {
                status: sum(int(str(r.get(CELL_CODES[status], 0))) for r in rows)
                for status in ("due_soon", "overdue")
            }
            print(f"{directive}: {totals[directive]}")
    failures_artifact(
        failures.listed(),
        key="trang-thai-loi",
        title=f"Chỉ thị chưa lập được bảng ngày {day_text(day)}",
    )
    keep_anchor()
    calendars = write_calendars(day)
    failures_artifact(
        calendars.failed,
        key="lich-bao-cao-loi",
        title=f"Chỉ thị chưa lập được lịch báo cáo ngày {day_text(day)}",
    )
    failed = [*failures.listed(), *(f for f in calendars.failed if f.directive not in failures)]
    return finish(failed, totals)


@task
def keep_anchor() -> None:
    """Anchor the log outside the database: a file under the anchor folder and an artifact
    on this run, for `dondoc log verify --anchor FILE` to check the log against later."""
    taken, path = services.database.anchor_log(load_settings(), now=pendulum.now("UTC"))
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


@task
def write_calendars(as_of: date) -> services.feeds.FeedRun:
    """Each unit's calendar feed (.ics) as of the day, into the outputs folder, and an
    artifact saying how many and how a unit gets its address."""
    written = services.feeds.write_feeds(load_settings(), day=as_of)
    if written.folder is None:
        markdown = (
            "# Lịch báo cáo của các đơn vị\n\nChưa đặt `DONDOC_CALENDAR_FEED_KEY`: chưa ghi "
            "lịch báo cáo của các đơn vị."
        )
    else:
        markdown = (
            f"# Lịch báo cáo của các đơn vị\n\n**{written.units}** đơn vị, "
            f"**{written.events}** việc còn phải nộp; {written.changed} tệp lịch thay đổi hôm "
            "nay. Đường dẫn lịch của một đơn vị (gửi riêng cho đơn vị đó): "
            "`dondoc units calendar MÃ-ĐƠN-VỊ --address`."
        )
    create_markdown_artifact(
        key="lich-bao-cao", description="Lịch báo cáo (.ics) của các đơn vị", markdown=markdown
    )
    print(f"calendars: {written.units} units, {written.events} events, {written.changed} changed")
    return written

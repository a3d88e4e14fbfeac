"""Rendering what dondoc sends: Jinja2 templates in `templates/`, Vietnamese first, each
message in a plain-text and an HTML part. HTML is autoescaped; a missing variable is an
error (StrictUndefined), never an empty string."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models.chase import RETURN_NOTICE, Attachment, Item, Letter, Recipient, Rendered, Summary
from models.vietnamese import day_text, period_words, sort_key
from models.workdays import WorkCalendar
from notifications import dispatch

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Sections of a letter, in the order a reader needs them.
ORDER = {"unit": 0, "lead": 1, "issuer": 2}


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["day"] = day_text
    env.filters["period"] = period_words
    return env


@dataclass(frozen=True, slots=True)
class Section:
    """The items of one step in a letter, in Vietnamese order of unit names."""

    template: str
    items: list[Item]


def sections(letter: Letter) -> list[Section]:
    steps: dict[str, list[Item]] = {}
    for item in letter.items:
        steps.setdefault(item.step.template, []).append(item)
    ordered = sorted(
        steps.items(),
        key=lambda kv: (
            kv[0] != RETURN_NOTICE.template,
            ORDER[kv[1][0].step.to],
            kv[1][0].step.working_days,
        ),
    )
    return [
        Section(
            template,
            sorted(
                items,
                key=lambda i: (sort_key(i.unit_name), i.effective_due, i.requirement, i.period),
            ),
        )
        for template, items in ordered
    ]


def renderer(calendar: WorkCalendar) -> Callable[[Letter, date], Rendered]:
    """Renders one recipient's message for a chase run on a day; a section whose step carries
    the urging dispatch gets one draft per directive, attached as a Word document and shown
    in the HTML part."""

    def render(letter: Letter, day: date) -> Rendered:
        env = environment()
        parts = sections(letter)
        drafts: list[dict[str, Any]] = []
        attachments: list[Attachment] = []
        for section in parts:
            if not section.items[0].step.dispatch:
                continue
            by_directive: dict[str, list[Item]] = {}
            for item in section.items:
                by_directive.setdefault(item.directive, []).append(item)
            for items in by_directive.values():
                info = items[0].info
                values = dispatch.context(info, items, day=day, calendar=calendar)
                drafts.append(values)
                attachments.append(
                    Attachment(
                        dispatch.filename(info, day), dispatch.DOCX, dispatch.render_docx(values)
                    )
                )
        context = {
            "recipient": letter.recipient,
            "day": day,
            "sections": parts,
            "drafts": drafts,
            "attachments": [a.filename for a in attachments],
        }
        count = len({item.obligation_id for item in letter.items})
        subject = f"[dondoc] Đôn đốc thực hiện nhiệm vụ: {count} việc cần xử lý ({day_text(day)})"
        return Rendered(
            subject=subject,
            text=env.get_template("letter.txt.j2").render(context),
            html=env.get_template("letter.html.j2").render(context),
            attachments=attachments,
        )

    return render


def summary_renderer(calendar: WorkCalendar) -> Callable[[Summary, Recipient, date], Rendered]:
    """Renders the monthly summary of one directive for one of its leadership's addresses:
    the late units worst first, with the urging dispatch attached and shown."""

    def render(summary: Summary, to: Recipient, day: date) -> Rendered:
        env = environment()
        draft = dispatch.context(summary.info, summary.items, day=day, calendar=calendar)
        name = dispatch.filename(summary.info, day)
        context = {
            "recipient": to,
            "day": day,
            "info": summary.info,
            "late": summary.late,
            "overdue": len(summary.items),
            "draft": draft,
            "attachment": name,
        }
        return Rendered(
            subject=(
                f"[dondoc] Tổng hợp tháng: {len(summary.late)} đơn vị có nhiệm vụ quá hạn "
                f"({summary.info.code}, {day_text(day)})"
            ),
            text=env.get_template("summary.txt.j2").render(context),
            html=env.get_template("summary.html.j2").render(context),
            attachments=[Attachment(name, dispatch.DOCX, dispatch.render_docx(draft))],
        )

    return render


def dispatch_html(values: dict[str, Any]) -> str:
    """The urging dispatch as a standalone HTML page (for screenshots and artifacts)."""
    return environment().get_template("dispatch-page.html.j2").render(draft=values)

"""Rendering what dondoc sends: Jinja2 templates in `templates/`, Vietnamese first, each
message in a plain-text and an HTML part. HTML is autoescaped; a missing variable is an
error (StrictUndefined), never an empty string."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.rules.reply import TOKEN_SLOT, TOKEN_TAG, blanks
from models.rules.vietnamese import day_text, sort_key
from models.rules.workdays import WorkCalendar
from models.storage.chase import (
    RETURN_NOTICE,
    SUMMARY_STEP,
    Attachment,
    Item,
    Letter,
    Recipient,
    Rendered,
    Summary,
    late_units,
)
from notifications import dispatch
from notifications.templating import environment

# Sections of a letter, in the order a reader needs them.
ORDER = {"unit": 0, "lead": 1, "issuer": 2}


@dataclass(frozen=True, slots=True)
class Section:
    """The items of one step in a letter, in Vietnamese order of unit names; for more late
    units than `dispatch.MAX_LISTED_UNITS`, the bodies above them with counts (`groups`), the
    units and items being in the attached workbooks named in `appendices`."""

    template: str
    items: list[Item]
    groups: list[dispatch.GroupRow]
    appendices: list[str]

    @property
    def units(self) -> int:
        """How many late units (holding the items on the day) the section is about."""
        return len({item.asked for item in self.items})


def _by_directive(items: list[Item]) -> dict[str, list[Item]]:
    found: dict[str, list[Item]] = {}
    for item in items:
        found.setdefault(item.directive, []).append(item)
    return found


def section_appendix(template: str, day: date) -> str:
    """The workbook listing a grouped section's units and items that no dispatch lists."""
    return f"danh-sach-{template}-{day.isoformat()}.xlsx"


def urged(items: list[Item]) -> list[Item]:
    """The items an urging dispatch asks for: those whose work a unit holds on the day (not
    those of a unit closed with no successor, which no one can be urged to do)."""
    return [item for item in items if item.holder is not None]


def _unlisted(items: list[Item]) -> list[Item]:
    """The items of a section that no dispatch's appendix lists."""
    return [i for i in items if i.holder is None] if items[0].step.dispatch else items


def _section(template: str, items: list[Item], day: date) -> Section:
    if not dispatch.too_many(items):
        ordered = sorted(
            items, key=lambda i: (sort_key(i.unit_name), i.effective_due, i.requirement, i.period)
        )
        return Section(template, ordered, [], [])
    appendices = []
    if items[0].step.dispatch:  # each dispatch's appendix lists the items it urges
        directives = _by_directive(urged(items)).values()
        appendices = [dispatch.appendix_filename(d[0].info, day, None) for d in directives]
    if _unlisted(items):
        appendices.append(section_appendix(template, day))
    return Section(template, items, dispatch.grouped(items), appendices)


def sections(letter: Letter, day: date) -> list[Section]:
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
    return [_section(template, items, day) for template, items in ordered]


def _drafts(
    items: list[Item], day: date, calendar: WorkCalendar, kind: str | None = None
) -> tuple[list[dict[str, Any]], list[Attachment]]:
    """One urging dispatch per directive of the items it urges (see `urged`): its values, its
    Word document and its appendix (`kind`: the run's, in the files' names)."""
    drafts: list[dict[str, Any]] = []
    attachments: list[Attachment] = []
    for group in _by_directive(urged(items)).values():
        info = group[0].info
        values = dispatch.context(info, group, day=day, calendar=calendar, kind=kind)
        drafts.append(values)
        attachments += [
            Attachment(values["filename"], dispatch.DOCX, dispatch.render_docx(values)),
            Attachment(values["appendix"], dispatch.XLSX, dispatch.appendix(info, group, day=day)),
        ]
    return drafts, attachments


def reply_block(letter: Letter, reply_to: str | None) -> dict[str, Any] | None:
    """What a letter asking a unit for what it owes says about answering it at `reply_to`:
    the token's slot (delivery fills it) and each obligation's blanks; None when it cannot be
    answered by e-mail."""
    items = letter.answerable
    if reply_to is None or not items:
        return None
    return {
        "address": reply_to,
        "tag": TOKEN_TAG,
        "token": TOKEN_SLOT,
        "obligations": [
            (item, blanks(item.obligation_id, item.what)) for item in items if item.what
        ],
    }


def renderer(
    calendar: WorkCalendar, reply_to: str | None = None
) -> Callable[[Letter, date], Rendered]:
    """Renders one recipient's message for a chase run on a day; a section whose step carries
    the urging dispatch gets one draft per directive, attached as a Word document with its
    appendix and shown in the HTML part; a grouped section whose items no dispatch lists gets
    a workbook of its own. With `reply_to`, a letter asking a unit for what it owes carries
    the block the unit answers it with (`reply_block`)."""

    def render(letter: Letter, day: date) -> Rendered:
        env = environment()
        parts = sections(letter, day)
        drafts: list[dict[str, Any]] = []
        attachments: list[Attachment] = []
        for section in parts:
            if section.items[0].step.dispatch:
                values, files = _drafts(section.items, day, calendar)
                drafts += values
                attachments += files
            if section_appendix(section.template, day) in section.appendices:
                content = dispatch.appendix_xlsx(
                    _unlisted(section.items),
                    day=day,
                    title="DANH SÁCH CÁC ĐƠN VỊ CHƯA HOÀN THÀNH NHIỆM VỤ",
                    caption=f"(Kèm theo thư đôn đốc ngày {day_text(day)} của dondoc)",
                )
                attachments.append(Attachment(section.appendices[-1], dispatch.XLSX, content))
        context = {
            "recipient": letter.recipient,
            "day": day,
            "sections": parts,
            "drafts": drafts,
            "reply": reply_block(letter, reply_to),
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
    the late units worst first (for more than `dispatch.DISPATCH_ROWS`, the bodies above
    them with counts), with the urging dispatch attached and shown, and the units closed
    with no successor whose work no one can be urged to do."""

    def render(summary: Summary, to: Recipient, day: date) -> Rendered:
        env = environment()
        drafts, attachments = _drafts(summary.items, day, calendar, SUMMARY_STEP.key)
        stranded = [item for item in summary.items if item.holder is None]
        context = {
            "recipient": to,
            "day": day,
            "info": summary.info,
            "late": summary.late,
            "overdue": len(summary.items),
            "draft": drafts[0] if drafts else None,
            "stranded": late_units(stranded),
        }
        return Rendered(
            subject=(
                f"[dondoc] Tổng hợp tháng: {len(summary.late)} đơn vị có nhiệm vụ quá hạn "
                f"({summary.info.code}, {day_text(day)})"
            ),
            text=env.get_template("summary.txt.j2").render(context),
            html=env.get_template("summary.html.j2").render(context),
            attachments=attachments,
        )

    return render


def dispatch_html(values: dict[str, Any]) -> str:
    """The urging dispatch as a standalone HTML page (for screenshots and artifacts)."""
    return environment().get_template("dispatch-page.html.j2").render(draft=values)

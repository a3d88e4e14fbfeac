"""The urging dispatch (công văn đôn đốc): a draft the issuer's leadership can sign, naming
the late units with their counts and a new deadline, a page or two long whatever the number of
items. Rendered as a Word document from `templates/cong-van-don-doc.docx` (docxtpl) and as HTML
for the e-mail and the artifact; the number is left blank for the clerk. Every item it urges
goes into its appendix (Phụ lục), an .xlsx sent beside the .docx.

Its table names each late unit once with how many items it has overdue, how many of them were
returned for correction, and the oldest due date. A dispatch to more than `DISPATCH_ROWS`
late units cannot name them all: it names the bodies above them (their ancestors just under
the issuer) with counts per body, in as many rows, the last counting the others. So what a
dispatch or a letter lists is bounded whatever the register's shape."""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from docxtpl import DocxTemplate
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from models.rules.status import STATUS_WORDS
from models.rules.vietnamese import day_text, number_text, period_words, sort_key
from models.rules.workdays import WorkCalendar
from models.storage.chase import DirectiveInfo, Group, Item, Late, late_units
from notifications.cells import (
    DAY,
    FONT,
    day_value,
    heading_cell,
    print_setup,
    printable_values,
    streamed,
)
from notifications.dispatch_template import TEMPLATE

# The late units get this many working days from the dispatch's date.
NEW_DEADLINE_WORKING_DAYS = 5
# A dispatch's table has at most this many rows, so that the dispatch keeps to two pages even
# when every name takes two lines (tests/notifications/test_dispatch.py measures it): one per
# late unit up to this many units; beyond, one per body above them, the last row counting the
# bodies beyond.
DISPATCH_ROWS = 28
# A letter's section names at most this many late units, and this many items, one by one;
# beyond, it counts them by the bodies above them and lists them in a workbook.
MAX_LISTED_UNITS = 50
MAX_LISTED_ITEMS = 200
# It names at most this many bodies above them (units directly under the issuer are their own
# body): the others are counted together in one last row, and listed in the workbook.
MAX_LISTED_GROUPS = 100  # the 63 provinces under a national issuer are all named
# Titles a signer may hold, longest first, to split "Phó Chủ tịch Phạm Hoàng Anh".
TITLES = (
    "Phó Chánh Văn phòng",
    "Chánh Văn phòng",
    "Phó Trưởng phòng",
    "Trưởng phòng",
    "Phó Giám đốc",
    "Giám đốc",
    "Phó Chủ tịch",
    "Chủ tịch",
)
PLACE = re.compile(
    r"(?:huyện|tỉnh|thành phố|thị xã|quận|xã|phường|thị trấn)\s+(.+)$", re.IGNORECASE
)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Whom a dispatch to several late units is addressed to: those its table names.
LISTED_BELOW = "Các cơ quan, đơn vị có tên tại danh sách dưới đây"
# The appendix's columns and their widths in characters; the body above each unit comes
# second, when some unit is not its own body.
APPENDIX_GROUP = ("Đơn vị cấp trên", 30)
APPENDIX_COLUMNS = (
    ("TT", 6),
    ("Đơn vị", 30),
    ("Nhiệm vụ", 9),
    ("Nội dung nhiệm vụ", 40),
    ("Kỳ", 16),
    ("Hạn", 12),
    ("Tình trạng", 18),
    ("Số ngày quá hạn", 10),
)


@dataclass(frozen=True, slots=True)
class Signer:
    on_behalf: str  # TM. ỦY BAN NHÂN DÂN
    deputy: str  # KT. CHỦ TỊCH
    title: str  # PHÓ CHỦ TỊCH
    name: str


def signer_of(signed_by: str | None, issuer_kind: str) -> Signer:
    """The signer block from the directive's `signed_by` ("KT. Chủ tịch, Phó Chủ tịch Phạm
    Hoàng Anh"); what cannot be read is left blank for the clerk."""
    on_behalf = "TM. ỦY BAN NHÂN DÂN" if issuer_kind.startswith("ubnd") else ""
    text = (signed_by or "").strip()
    deputy = ""
    if re.match(r"^(KT|TL|TUQ|Q)\.", text) and "," in text:
        deputy, text = (part.strip() for part in text.split(",", 1))
    title = next((t for t in TITLES if text.startswith(t + " ")), "")
    name = text[len(title) :].strip()
    return Signer(on_behalf, deputy.upper(), title.upper(), name)


def _document_date(value: str) -> str:
    """A document date in words: "ngày 22/02/2024", or "tháng 02/2024" while the day is blank."""
    if len(value) == 7:
        return f"tháng {value[5:]}/{value[:4]}"
    return f"ngày {day_text(date.fromisoformat(value))}"


def place_and_date(issuer_name: str, day: date) -> str:
    """ "Cẩm Xuyên, ngày 18 tháng 3 năm 2024": the day below 10 and months 1–2 with a zero."""
    match = PLACE.search(issuer_name)
    place = match.group(1) if match else issuer_name
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def subject_phrase(subject: str) -> str:
    """A document's subject line as it reads after "về việc": "V/v Tập trung …" → "tập
    trung …"."""
    text = re.sub(r"^V/v\s+", "", subject)
    return text[:1].lower() + text[1:]


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One body above late units, as a grouped dispatch or letter counts it."""

    name: str
    units: int
    overdue: int
    oldest_due: date


def grouped(items: Iterable[Item], limit: int | None = None) -> list[GroupRow]:
    """The items' groups in Vietnamese order, with their late units, items and oldest due
    date: the first `limit` (`MAX_LISTED_GROUPS` unless given), and one more row counting the
    others together."""
    limit = MAX_LISTED_GROUPS if limit is None else limit
    units: dict[Group, set[str]] = {}
    counts: dict[Group, int] = {}
    oldest: dict[Group, date] = {}
    for item in items:
        units.setdefault(item.group, set()).add(item.asked.code)
        counts[item.group] = counts.get(item.group, 0) + 1
        oldest[item.group] = min(oldest.get(item.group, item.effective_due), item.effective_due)
    rows = [
        GroupRow(group.name, len(units[group]), counts[group], oldest[group])
        for group in sorted(units, key=lambda g: sort_key(g.name))
    ]
    if len(rows) <= limit:
        return rows
    shown, others = rows[:limit], rows[limit:]
    return [
        *shown,
        GroupRow(
            f"{number_text(len(others))} đơn vị khác, có tên tại Phụ lục",
            sum(row.units for row in others),
            sum(row.overdue for row in others),
            min(row.oldest_due for row in others),
        ),
    ]


def too_many(items: Collection[Item]) -> bool:
    """Whether the items, or the units holding them, are too many for a letter to name one by
    one."""
    return len(items) > MAX_LISTED_ITEMS or len({i.asked for i in items}) > MAX_LISTED_UNITS


def context(
    info: DirectiveInfo,
    items: list[Item],
    *,
    day: date,
    calendar: WorkCalendar,
    kind: str | None = None,
) -> dict[str, Any]:
    """What the Word and HTML templates fill in: the late units (those holding the late work
    on the day) with their counts, or, beyond `DISPATCH_ROWS` units, the bodies above them
    with counts; and the appendix's name (`kind`: the run's, in the files' names; None for the
    chase). It is issued by the units holding the issuer's and lead office's roles on the day;
    it follows up the directive's document, of the body that issued it."""
    deadline = calendar.add_working_days(day, NEW_DEADLINE_WORKING_DAYS)
    number = f"số {info.number}/{info.symbol}" if info.number else f"/{info.symbol}"
    short = subject_phrase(info.subject)
    lead_office = info.dispatch_symbol.rsplit("-", 1)[-1]
    reference = (
        f"Thực hiện Công văn {number} {_document_date(info.document_date)} của "
        f"{info.document_issuer} về việc {short}, đến ngày {day_text(day)}, "
    )
    values: dict[str, Any] = {
        "issuer_parent": info.issuer_parent.upper(),
        "issuer": info.issuer_name.upper(),
        "symbol": info.dispatch_symbol,
        "subject": f"V/v đôn đốc thực hiện {short}",
        "place_and_date": place_and_date(info.issuer_name, day),
        "filename": filename(info, day, kind),
        "appendix": appendix_filename(info, day, kind),
        "closing": (f"Giao {info.lead_name} theo dõi, đôn đốc và báo cáo kết quả thực hiện./."),
        "copies": ["- Như trên;", f"- {info.lead_name};", f"- Lưu: VT, {lead_office}."],
        "signer": signer_of(info.signed_by, info.issuer_kind),
        "deadline": deadline,
    }
    late = len({item.asked for item in items})
    if late > DISPATCH_ROWS:
        groups = grouped(items, DISPATCH_ROWS - 1)
        return values | {
            "grouped": True,
            "recipient": groups[0].name if len(groups) == 1 else LISTED_BELOW,
            "opening": (
                f"{reference}{number_text(late)} đơn vị thuộc các đơn vị sau chưa hoàn thành "
                f"{number_text(len(items))} nhiệm vụ được giao (danh sách chi tiết tại Phụ lục "
                "kèm theo):"
            ),
            "groups": [
                {
                    "number": n,
                    "name": group.name,
                    "units": number_text(group.units),
                    "overdue": number_text(group.overdue),
                    "oldest_due": day_text(group.oldest_due),
                }
                for n, group in enumerate(groups, start=1)
            ],
            "units": [],
            "request": (
                f"{info.issuer_name} đề nghị Thủ trưởng các đơn vị nêu trên chỉ đạo các đơn vị "
                f"có tên tại Phụ lục khẩn trương hoàn thành và gửi kết quả về {info.lead_name} "
                f"trước ngày {day_text(deadline)} để tổng hợp."
            ),
        }
    units = sorted(late_units(items), key=_by_name)
    return values | {
        "grouped": False,
        "recipient": units[0].unit_name if len(units) == 1 else LISTED_BELOW,
        "opening": (
            f"{reference}{number_text(len(units))} đơn vị sau chưa hoàn thành "
            f"{number_text(len(items))} nhiệm vụ được giao (danh sách từng nhiệm vụ tại Phụ lục "
            "kèm theo):"
        ),
        "groups": [],
        "units": [
            {
                "number": n,
                "name": unit.unit_name,
                "overdue": number_text(unit.overdue),
                "returned": number_text(unit.returned),
                "oldest_due": day_text(unit.oldest_due),
            }
            for n, unit in enumerate(units, start=1)
        ],
        "request": (
            f"{info.issuer_name} đề nghị Thủ trưởng các đơn vị nêu trên khẩn trương hoàn thành "
            f"các nhiệm vụ tại Phụ lục và gửi kết quả về {info.lead_name} trước ngày "
            f"{day_text(deadline)} để tổng hợp."
        ),
    }


def _by_name(unit: Late) -> tuple[bytes, str]:
    """Vietnamese order of unit names; two units of one name by their codes."""
    return sort_key(unit.unit_name), unit.unit


def render_docx(values: dict[str, Any]) -> bytes:
    """The dispatch as a Word document."""
    document = DocxTemplate(str(TEMPLATE))
    document.render(printable_values(values), autoescape=True)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _stem(info: DirectiveInfo, day: date, kind: str | None) -> str:
    """The dispatch's file name without its extension: one per directive, day and kind of run
    (None: the chase; the monthly summary's is `tong-hop-thang`), so that two runs of a day
    never write the same file."""
    return f"cong-van-don-doc-{info.code}-{day.isoformat()}" + (f"-{kind}" if kind else "")


def filename(info: DirectiveInfo, day: date, kind: str | None) -> str:
    return f"{_stem(info, day, kind)}.docx"


def appendix_filename(info: DirectiveInfo, day: date, kind: str | None) -> str:
    return f"{_stem(info, day, kind)}-phu-luc.xlsx"


def _status(item: Item, day: date) -> str:
    """What the appendix says of an item on the day: returned for correction, overdue, or
    not yet due (a letter's workbook may hold reminders before the due date)."""
    if item.state.status == "returned":
        return STATUS_WORDS["returned"]
    return STATUS_WORDS["overdue" if item.effective_due < day else "open"]


def appendix_xlsx(items: Iterable[Item], *, day: date, title: str, caption: str) -> bytes:
    """Every item, by body above its unit, unit and due date in Vietnamese order, with its
    unit (and the one holding its work on `day`, once it has closed), status and days late,
    as a workbook written row by row (openpyxl's write-only mode), under a title and a
    caption saying what it accompanies; A4 landscape, the heading repeated on every page."""
    keys: dict[str, bytes] = {}

    def key(name: str) -> bytes:
        found = keys.get(name)
        if found is None:
            found = keys[name] = sort_key(name)
        return found

    ordered = sorted(
        items,
        key=lambda i: (
            key(i.group.name),
            key(i.unit_name),
            i.unit,
            i.effective_due,
            i.requirement,
            i.period,
        ),
    )
    bodies = any(item.group.code != item.asked.code for item in ordered)
    columns = [APPENDIX_COLUMNS[0], *([APPENDIX_GROUP] if bodies else []), *APPENDIX_COLUMNS[1:]]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Phụ lục")
    header = 5
    print_setup(sheet, [width for _, width in columns], header)
    bold = Font(name=FONT, bold=True)

    def strong(value: str) -> WriteOnlyCell:
        cell = streamed(sheet, value)
        cell.font = bold
        return cell

    sheet.append([strong("Phụ lục")])
    sheet.append([strong(title)])
    sheet.append([streamed(sheet, caption)])
    sheet.append([])
    sheet.append([heading_cell(streamed(sheet, name)) for name, _ in columns])
    for n, item in enumerate(ordered, start=1):
        due = WriteOnlyCell(sheet, day_value(item.effective_due))
        due.number_format = DAY
        late = (day - item.effective_due).days
        texts = (
            *([item.group.name] if bodies else []),
            item.owed_by,
            item.requirement,
            item.title,
            period_words(item.period),
        )
        status = streamed(sheet, _status(item, day))
        sheet.append(
            [n, *(streamed(sheet, text) for text in texts), due, status, late if late > 0 else None]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def appendix(info: DirectiveInfo, items: list[Item], *, day: date) -> bytes:
    """The dispatch's appendix: every item it urges."""
    return appendix_xlsx(
        items,
        day=day,
        title="DANH SÁCH CÁC ĐƠN VỊ CHƯA HOÀN THÀNH NHIỆM VỤ",
        caption=(
            f"(Kèm theo Công văn số      /{info.dispatch_symbol} ngày {day_text(day)} "
            f"của {info.issuer_name})"
        ),
    )

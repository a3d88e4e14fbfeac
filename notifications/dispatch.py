"""The urging dispatch (công văn đôn đốc): a draft the issuer's leadership can sign, listing the
late units and their overdue items with a new deadline. Rendered as a Word document from
`templates/cong-van-don-doc.docx` (docxtpl) and as HTML for the e-mail and the artifact; the
number is left blank for the clerk."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from docxtpl import DocxTemplate

from models.chase import DirectiveInfo, Item
from models.vietnamese import day_text, period_words, sort_key
from models.workdays import WorkCalendar
from notifications.dispatch_template import TEMPLATE

# The late units get this many working days from the dispatch's date.
NEW_DEADLINE_WORKING_DAYS = 5
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


def context(
    info: DirectiveInfo, items: list[Item], *, day: date, calendar: WorkCalendar
) -> dict[str, Any]:
    """What the Word and HTML templates fill in."""
    ordered = sorted(items, key=lambda i: (sort_key(i.unit_name), i.effective_due, i.period))
    units = list(dict.fromkeys(i.unit_name for i in ordered))
    deadline = calendar.add_working_days(day, NEW_DEADLINE_WORKING_DAYS)
    number = f"số {info.number}/{info.symbol}" if info.number else f"/{info.symbol}"
    subject = re.sub(r"^V/v\s+", "", info.subject)
    short = subject[0].lower() + subject[1:] if subject else subject
    lead_office = info.symbol.rsplit("-", 1)[-1]
    return {
        "issuer_parent": info.issuer_parent.upper(),
        "issuer": info.issuer_name.upper(),
        "symbol": info.symbol,
        "subject": f"V/v đôn đốc thực hiện {short}",
        "place_and_date": place_and_date(info.issuer_name, day),
        "recipients": units,
        "opening": (
            f"Thực hiện Công văn {number} {_document_date(info.document_date)} của "
            f"{info.issuer_name} về việc {short}, đến ngày {day_text(day)}, các đơn vị sau "
            "chưa hoàn thành nhiệm vụ được giao:"
        ),
        "rows": [
            {
                "number": n,
                "unit": i.unit_name,
                "task": i.title,
                "period": period_words(i.period),
                "due": day_text(i.effective_due),
            }
            for n, i in enumerate(ordered, start=1)
        ],
        "request": (
            f"{info.issuer_name} đề nghị Thủ trưởng các đơn vị nêu trên khẩn trương hoàn thành "
            f"và gửi kết quả về {info.lead_name} trước ngày {day_text(deadline)} để tổng hợp."
        ),
        "closing": (f"Giao {info.lead_name} theo dõi, đôn đốc và báo cáo kết quả thực hiện./."),
        "copies": ["- Như trên;", f"- {info.lead_name};", f"- Lưu: VT, {lead_office}."],
        "signer": signer_of(info.signed_by, info.issuer_kind),
        "deadline": deadline,
    }


def render_docx(values: dict[str, Any]) -> bytes:
    """The dispatch as a Word document."""
    document = DocxTemplate(str(TEMPLATE))
    document.render(values, autoescape=True)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def filename(info: DirectiveInfo, day: date) -> str:
    return f"cong-van-don-doc-{info.code}-{day.isoformat()}.docx"

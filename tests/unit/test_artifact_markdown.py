"""What people typed, in the artifacts clerks read in the Prefect UI (the review desk's case
file, the decision record, the receipt, the unit's list, a refusal): shown literally, never
as a second case, a link, an image, raw HTML or a broken table."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

from flows.chase import report, summary_report
from flows.desk import desk_markdown
from flows.received import received_markdown
from flows.review import Decided, case_markdown, cases_markdown, decision_markdown
from flows.submission import receipt_markdown
from models.files.directive import load_directive
from models.rules.ladder import Step
from models.rules.obligation import Arrival, State
from models.rules.text import markdown_text
from models.storage.chase import (
    ChasePlan,
    DirectiveInfo,
    Group,
    Item,
    Late,
    Letter,
    Recipient,
    Summary,
)
from models.storage.desk import Owed, UnitRef
from models.storage.ledger import Outcome
from models.storage.review import Case, Cases, Shown
from notifications.delivery import Delivery
from services.mail import ChaseRun, SummaryRun
from tests.conftest import SEED

HOSTILE = "x\n## Hồ sơ 2\n[bấm](http://evil) <img src=x> | a |"
SPEC = next(r for r in load_directive(SEED).requirements if r.code == "1c")


def forged(markdown: str) -> list[str]:
    """What in `markdown` would render as structure the typed text brought in."""
    return [
        *re.findall(r"^#+ Hồ sơ 2", markdown, flags=re.M),
        *re.findall(r"(?<!\\)\[bấm(?<!\\)\]", markdown),
        *re.findall(r"<img", markdown),
        *re.findall(r"(?<!\\)\| a (?<!\\)\|", markdown),
    ]


def test_the_helper_escapes_structure_and_keeps_the_words() -> None:
    assert markdown_text(HOSTILE) == (
        r"x \#\# Hồ sơ 2 \[bấm\](http://evil) &lt;img src=x&gt; \| a \|"
    )
    assert markdown_text("- 1 lớp") == r"\- 1 lớp" and markdown_text("2. Quý I") == r"2\. Quý I"
    assert markdown_text("Xã Cẩm Bình (18712), 3 lớp.") == "Xã Cẩm Bình (18712), 3 lớp."


def _case() -> Case:
    return Case(
        41,
        "18712",
        "Xã <b>Nam</b> Phúc Thăng",
        "1c",
        SPEC.title,
        "2024-Q1",
        date(2024, 3, 15),
        "submitted",
        [Shown("Số lớp tập huấn", "3 | 4", "lớp"), Shown("Ghi chú", HOSTILE, None)],
        HOSTILE,
        "https://cx.example/a) [x](http://evil",
        datetime(2024, 3, 12, 2, 0, tzinfo=UTC),
        date(2024, 3, 12),
        "cb.18712",
        HOSTILE,
    )


def test_the_review_desks_case_file_shows_a_narrative_as_typed() -> None:
    listing = cases_markdown(Cases(1, [_case()]), "đơn vị [x](http://evil)")
    assert forged(listing) == [] and "<b>" not in listing
    assert listing.count("\n### ") == 1
    table = [line for line in listing.splitlines() if line.startswith("| ")]
    assert all(re.sub(r"\\\|", "", line).count("|") == 4 for line in table)
    assert forged(case_markdown(_case())) == []


def test_the_receipt_and_the_units_list_show_what_was_typed_as_typed() -> None:
    receipt = receipt_markdown(_case(), directive="cam-xuyen-cchc-2024")
    assert forged(receipt) == [] and r"3 \| 4" in receipt and "<b>" not in receipt
    owed = Owed(41, "d", "1c", HOSTILE, "2024-Q1", date(2024, 3, 15), "returned", HOSTILE)
    listed = desk_markdown(UnitRef("18712", "Xã [x](http://evil)"), date(2024, 3, 1), [owed])
    assert forged(listed) == [] and "[x]" not in listed


def _filed(**changed: object) -> Case:
    """Commune 18712's Q1 report as its clerk handed it in."""
    case = Case(
        51,
        "18712",
        "Xã Nam Phúc Thăng",
        "1c",
        SPEC.title,
        "2024-Q1",
        date(2024, 3, 15),
        "submitted",
        [Shown("Số lớp tập huấn", 3, "lớp"), Shown("Số tờ rơi", 300, "tờ")],
        "Tổ chức 3 lớp tập huấn.",
        "https://cx.example/bao-cao-q1.pdf",
        datetime(2024, 3, 17, 2, 30, tzinfo=UTC),
        date(2024, 3, 17),
        "cb.18712",
        None,
    )
    return replace(case, **changed)  # type: ignore[arg-type]


def test_the_receipt_says_when_it_was_handed_in_against_its_due_date() -> None:
    """What a clerk files: when (in Vietnam's time), the due date, how late, the figures
    under their labels and units, the narrative and the evidence; no internal ids."""
    receipt = receipt_markdown(_filed(), directive="cam-xuyen-cchc-2024")
    assert (
        "kỳ **Quý I/2024**, đơn vị **18712 Xã Nam Phúc Thăng**" in receipt
        and "Nộp lúc 17/03/2024 09:30 · người nộp `cb.18712` · hạn nộp 15/03/2024 · "
        "**trễ 2 ngày** · **Đã nộp, chờ xét**"
        in receipt
    )
    assert "| Số lớp tập huấn | 3 | lớp |" in receipt and "| Số tờ rơi | 300 | tờ |" in receipt
    assert "Nội dung: Tổ chức 3 lớp tập huấn." in receipt
    assert "Minh chứng: https://cx.example/bao-cao-q1.pdf" in receipt
    assert not re.search(r"51|nghĩa vụ #|phiên bản|lần chạy", receipt)
    on_time = receipt_markdown(
        _filed(submitted_at=datetime(2024, 3, 15, 16, 59, tzinfo=UTC), handed_in=date(2024, 3, 15)),
        directive="d",
    )
    assert "Nộp lúc 15/03/2024 23:59" in on_time and "**đúng hạn**" in on_time


def test_the_decision_record_says_what_was_decided_when_without_internal_ids() -> None:
    decided = Decided(
        _filed(),
        "Trả lại để bổ sung",
        "svhttdl.an",
        Outcome(51, "returned", 3, "returned", replayed=False),
        "Thiếu ảnh lớp tập huấn",
        None,
    )
    record = decision_markdown(decided, at=datetime(2024, 3, 20, 8, 0, tzinfo=UTC))
    assert record.startswith(
        "# Quyết định: Trả lại để bổ sung\n\n"
        "### 18712 Xã Nam Phúc Thăng · 1c · Quý I/2024 · Trả lại để bổ sung\n"
    )
    assert (
        "Quyết định lúc 20/03/2024 15:00 · người quyết định: `svhttdl.an` · trạng thái "
        "trước: Đã nộp, chờ xét · trạng thái mới: **Trả lại để bổ sung**" in record
    )
    assert "Lý do: Thiếu ảnh lớp tập huấn" in record
    assert not re.search(r"51|phiên bản", record)


def test_the_chase_and_summary_records_show_register_names_and_errors_literally() -> None:
    """A unit's name, an address and the mail server's error (which quotes them) come from
    registers and servers, not from dondoc: the chase's and the monthly summary's records show
    them as written."""
    day = date(2024, 3, 18)
    recipient = Recipient("ubnd@camxuyen.example", HOSTILE)
    delivery = Delivery(failed=[("k1", f"SMTPRecipientsRefused: {HOSTILE}")])
    plan = ChasePlan(day, True, letters=[Letter(recipient, [])], unreachable=[("1", HOSTILE, "")])
    chased = report(ChaseRun(plan, 1, delivery))
    info = DirectiveInfo(HOSTILE, None, "UBND", "2024-02", "", "", None, "", "", "", "", "UBND")
    late = Late("18712", HOSTILE, 3, date(2024, 1, 15), 0)
    summed = summary_report(
        SummaryRun(day, True, [Summary(info, [late], [], [recipient])], 1, delivery)
    )
    for markdown in (chased, summed):
        assert forged(markdown) == [] and "Hồ sơ 2" in markdown


def test_the_receipt_of_a_report_received_shows_the_register_as_typed() -> None:
    """The incoming document's number, its scan link and the reason it was entered late come
    from the lead office's typing: shown literally, with the arrival day lateness is judged
    by."""
    arrival = Arrival("giay", date(2024, 3, 14), "12/BC-UBND [x](http://evil)", HOSTILE, HOSTILE)
    receipt = received_markdown(
        _filed(submitted_at=datetime(2024, 3, 20, 2, 0, tzinfo=UTC), handed_in=date(2024, 3, 14)),
        arrival,
        directive="cam-xuyen-cchc-2024",
    )
    assert forged(receipt) == [] and "[x]" not in receipt and "<b>" not in receipt
    assert "Đến ngày 14/03/2024 qua giấy · văn bản số 12/BC-UBND \\[x\\]" in receipt
    assert "hạn nộp 15/03/2024 · **đúng hạn**" in receipt
    assert "Vào sổ lúc 20/03/2024 09:00 · người vào sổ `cb.18712`" in receipt


def _chased(unit: str, name: str, step: Step, due: date) -> Item:
    info = DirectiveInfo("d", None, "UBND", "2024-02", "", "", None, "", "", "", "", "UBND")
    state = State("open", 1, due, due, None, None, None, None, None, None, "")
    held = Group(unit, name)
    return Item(
        1,
        "d",
        "",
        "1c",
        SPEC.title,
        unit,
        name,
        "2024-Q1",
        due,
        step,
        None,
        state,
        info,
        held,
        held,
    )


def test_the_chase_lists_by_unit_with_counts() -> None:
    """One row per unit, named in full, with how many of its obligations each kind of step
    chased and how many are overdue; a letter says how many it holds, not what (the lead
    office's letter listed every unit in one cell, 8,779 px high)."""
    day = date(2024, 3, 18)
    remind = Step(key="nhac", working_days=-3, to="unit", template="nhac-han")
    escalate = Step(key="bao", working_days=2, to="lead", template="bao-chu-tri")
    long_name = "Ủy ban nhân dân xã Cẩm Nam Phúc Thăng mở rộng theo nghị quyết 2025"
    items = [
        _chased("18712", long_name, remind, date(2024, 3, 21)),
        _chased("18712", long_name, escalate, date(2024, 3, 14)),
        _chased("18712", long_name, escalate, date(2024, 3, 13)),
        _chased("18673", "Thị trấn Cẩm Xuyên", escalate, date(2024, 3, 14)),
    ]
    lead = Recipient("vhtt@camxuyen.example", "Phòng VH-TT")
    plan = ChasePlan(day, True, items, [Letter(lead, items[1:])])
    chased = report(ChaseRun(plan, 1, None))
    rows = [line for line in chased.splitlines() if line.startswith("| ")]
    assert rows[0] == (
        "| Đơn vị | Nhắc đơn vị | Báo cơ quan chủ trì | Báo lãnh đạo | Trong đó quá hạn |"
    )
    # Vietnamese alphabetical order of the units' names: "Thị" before "Ủy"
    assert rows[1:3] == [
        "| 18673 Thị trấn Cẩm Xuyên | 0 | 1 | 0 | 1 |",
        f"| 18712 {long_name} | 1 | 2 | 0 | 2 |",
    ]
    assert "| Phòng VH-TT | vhtt@camxuyen.example | 3 |" in rows
    assert SPEC.title not in chased

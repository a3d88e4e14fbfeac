"""A unit's own list ("việc của đơn vị"), without a database or a Prefect server."""

from __future__ import annotations

from datetime import date

from flows.desk import desk_markdown
from models.storage.desk import Owed, UnitRef, by_urgency

UNIT = UnitRef("18679", "Xã Yên Hòa")
D = "cam-xuyen-cchc-2024"
REPORT = "Báo cáo kết quả công tác tuyên truyền CCHC"


def _owed(oid: int, period: str, due: date | None, status: str, reason: str | None = None) -> Owed:
    requirement, title = ("1a", "Đổi mới nội dung") if period == "standing" else ("1c", REPORT)
    return Owed(oid, D, requirement, title, period, due, status, reason)


ITEMS = [
    _owed(1, "2024-Q1", date(2024, 3, 15), "accepted"),
    _owed(2, "2024-Q2", date(2024, 6, 17), "submitted"),
    _owed(3, "2024-H1", date(2024, 6, 17), "overdue", "Thiếu | số liệu\ntờ rơi"),
    _owed(4, "2024-Q3", date(2024, 9, 16), "open"),
    _owed(5, "2024-9M", date(2024, 9, 16), "returned", "Ghi rõ nguồn"),
    _owed(6, "2024-Q4", date(2024, 12, 16), "due_soon"),
    _owed(7, "standing", None, "open"),
]


def test_the_most_urgent_come_first_and_what_waits_on_others_after() -> None:
    assert [item.obligation_id for item in by_urgency(ITEMS)] == [3, 6, 5, 4, 7, 2, 1]


def test_the_list_says_what_to_do_with_which_form_and_why_a_report_came_back() -> None:
    text = desk_markdown(UNIT, date(2024, 12, 10), by_urgency(ITEMS))
    lines = text.splitlines()
    assert lines[0] == "# Việc của đơn vị 18679 Xã Yên Hòa"
    assert lines[2] == (
        "Tình hình ngày 10/12/2024: Quá hạn **1**, Sắp đến hạn **1**, Trả lại để bổ sung **1**, "
        "Trong hạn **1**, Đã nộp, chờ xét **1**."
    )
    rows = [line for line in lines if line.startswith("| **")]
    form = "`nop-bao-cao/1c · cam-xuyen-cchc-2024`"
    assert rows == [
        f"| **Quá hạn** | 17/06/2024 | {REPORT} (1c · {D}) | 6 tháng đầu năm 2024 | Trả lại để "
        f"bổ sung: «Thiếu \\| số liệu tờ rơi». Sửa rồi nộp lại qua biểu mẫu {form}. |",
        f"| **Sắp đến hạn** | 16/12/2024 | {REPORT} (1c · {D}) | Quý IV/2024 | Nộp qua biểu mẫu "
        f"{form}. |",
        f"| **Trả lại để bổ sung** | 16/09/2024 | {REPORT} (1c · {D}) | 9 tháng năm 2024 | Trả "
        f"lại để bổ sung: «Ghi rõ nguồn». Sửa rồi nộp lại qua biểu mẫu {form}. |",
        f"| **Trong hạn** | 16/09/2024 | {REPORT} (1c · {D}) | Quý III/2024 | Nộp qua biểu mẫu "
        f"{form}. |",
        f"| **Đã nộp, chờ xét** | 17/06/2024 | {REPORT} (1c · {D}) | Quý II/2024 | Chờ cơ quan "
        "chủ trì xét duyệt. |",
    ]
    assert f"- Đổi mới nội dung (1a · {D})" in lines
    assert lines[-1] == "Đã xong: Đã chấp nhận 1."


def test_a_unit_with_nothing_left_is_told_so() -> None:
    text = desk_markdown(UNIT, date(2024, 12, 10), [_owed(1, "2024-Q1", None, "accepted")])
    assert "Không còn việc nào phải nộp hay chờ xét." in text

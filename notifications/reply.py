"""dondoc's answer to a unit's reply to its reminder, in Vietnamese: a receipt of what was
recorded, what to mend (nothing was recorded), or why the reply was not taken."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from models.storage.chase import Rendered
from notifications.templating import environment

SUBJECTS = {
    "receipt": "[dondoc] Biên nhận báo cáo nộp qua thư điện tử",
    "mend": "[dondoc] Báo cáo gửi qua thư điện tử chưa được ghi nhận: cần sửa",
    "refused": "[dondoc] Thư trả lời không được tiếp nhận",
}


@dataclass(frozen=True, slots=True)
class Recorded:
    """One report a reply handed in, as its receipt tells it."""

    title: str
    period: str  # the period's key
    figures: list[tuple[str, str]]  # (label, value as a document shows it)
    narrative: str | None
    evidence: str | None
    due: date | None
    days_late: int  # 0: on time


@dataclass(frozen=True, slots=True)
class Answer:
    """What dondoc answers a reply: `kind` is receipt, mend or refused; `problems` says in
    Vietnamese what to mend or why it was refused."""

    kind: str
    arrived_at: datetime
    recorded: list[Recorded] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def render_answer(answer: Answer, *, name: str) -> Rendered:
    """The answer as a message to `name` (the sender as the registers name them, or their
    address)."""
    env = environment()
    context = {"answer": answer, "name": name}
    return Rendered(
        subject=SUBJECTS[answer.kind],
        text=env.get_template("tra-loi.txt.j2").render(context),
        html=env.get_template("tra-loi.html.j2").render(context),
    )

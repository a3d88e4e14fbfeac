"""Who may do what. Prefect OSS has no users, so dondoc checks every actor itself."""

from __future__ import annotations

from dataclasses import dataclass

from models.errors import Unauthorized
from models.obligation import VERBS


@dataclass(frozen=True, slots=True)
class ActorInfo:
    """The acting person as the actor register knows them."""

    username: str
    unit_code: str
    role: str


def check_submit(actor: ActorInfo, unit_code: str) -> None:
    """A unit's staff submit only for their own unit."""
    if actor.unit_code != unit_code:
        raise Unauthorized(
            f"{actor.username} acts for unit {actor.unit_code} and cannot submit for {unit_code}",
            vi=f"Tài khoản {actor.username} thuộc đơn vị {actor.unit_code}, không nộp báo cáo "
            f"thay đơn vị {unit_code} được.",
        )


def check_review(
    actor: ActorInfo,
    command: str,
    *,
    unit: str,
    lead: str,
    recipient: str | None,
    submitted_by: str | None,
) -> None:
    """The directive's lead office accepts, returns, extends or waives; the lead office's own
    obligations are decided by the recipient of what they deliver, or an administrator.
    Nobody decides on a submission they handed in themselves (`submitted_by`)."""
    if unit == lead:
        if actor.role != "admin" and actor.unit_code != recipient:
            deciders = f"its recipient {recipient} or an admin" if recipient else "an admin"
            raise Unauthorized(
                f"{actor.username} acts for unit {actor.unit_code}; this is an obligation of "
                f"the lead office {lead} itself: only {deciders} may {command} it",
                vi=f"Đây là nhiệm vụ của chính cơ quan chủ trì {lead}: chỉ "
                + (f"đơn vị nhận báo cáo {recipient} hoặc " if recipient else "")
                + f"quản trị viên được {VERBS[command]}.",
            )
    elif actor.unit_code != lead:
        raise Unauthorized(
            f"{actor.username} acts for unit {actor.unit_code}; only the lead office "
            f"{lead} may {command}",
            vi=f"Chỉ cán bộ cơ quan chủ trì {lead} được {VERBS[command]}; tài khoản "
            f"{actor.username} thuộc đơn vị {actor.unit_code}.",
        )
    if submitted_by == actor.username:
        raise Unauthorized(
            f"{actor.username} handed in this submission and cannot {command} it: another "
            "person decides",
            vi=f"{actor.username} đã nộp báo cáo này nên không tự {VERBS[command]} được; cần "
            "người khác xét duyệt.",
        )


def check_publish(actor: ActorInfo) -> None:
    """Only administrators publish directives."""
    if actor.role != "admin":
        raise Unauthorized(
            f"{actor.username} is {actor.role}; only an admin may publish",
            vi=f"Chỉ quản trị viên được công bố chỉ thị; {actor.username} là cán bộ.",
        )

"""Who may do what. Prefect OSS has no users, so dondoc checks every actor itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from models.errors import Unauthorized
from models.rules.obligation import VERBS
from models.rules.vietnamese import day_text

# What an actor is: a unit's staff, or an administrator of dondoc.
ROLES = ("staff", "admin")


@dataclass(frozen=True, slots=True)
class ActorInfo:
    """The acting person as the actor register knows them."""

    username: str
    unit_code: str
    role: str
    unit_closed_on: date | None = None  # the day their unit stopped existing, if it has


def check_submit(actor: ActorInfo, unit_code: str) -> None:
    """A unit's staff submit only for their own unit."""
    if actor.unit_code != unit_code:
        raise Unauthorized(
            f"{actor.username} acts for unit {actor.unit_code} and cannot submit for {unit_code}",
            vi=f"Tài khoản {actor.username} thuộc đơn vị {actor.unit_code}, không nộp báo cáo "
            f"thay đơn vị {unit_code} được.",
        )


def check_unit_open(actor: ActorInfo, command: str, today: date) -> None:
    """Staff of a unit closed by `today` may still submit its past work, and nothing else."""
    closed = actor.unit_closed_on
    if actor.role != "admin" and closed is not None and closed <= today:
        raise Unauthorized(
            f"{actor.username} acts for unit {actor.unit_code}, closed on {closed:%d/%m/%Y}: "
            f"its staff may still submit its past work but no longer {command}",
            vi=f"Đơn vị {actor.unit_code} của tài khoản {actor.username} đã ngừng hoạt động "
            f"từ {day_text(closed)}: chỉ còn nộp được báo cáo còn nợ, không "
            f"{VERBS[command]} được.",
        )


def check_review(
    actor: ActorInfo,
    command: str,
    *,
    unit: str,
    lead: str,
    recipient: str | None,
    consolidated: bool,
    holder_of: Callable[[str], str | None],
    submitted_by: str | None,
    today: date,
) -> None:
    """The directive's lead office accepts, returns, extends or waives; the lead office's own
    obligations, and every consolidated report (`consolidated`: its requirement sums up
    others, such as the report of the office the lead office reports to), are decided by the
    recipient of what they deliver, or an administrator.
    `holder_of` says which unit holds an office's role `today` (asked only of the office that
    decides): the office itself, or its successor once it has closed; when it closed with no
    successor, an administrator decides. Staff of a closed unit decide nothing, and nobody
    decides on a submission they handed in themselves (`submitted_by`)."""
    check_unit_open(actor, command, today)
    if unit == lead or consolidated:
        _check_role(
            actor,
            command,
            recipient,
            holder_of(recipient) if recipient else None,
            admins=True,
            role=("its recipient", "đơn vị nhận báo cáo"),
            why=(
                (
                    f"this is an obligation of the lead office {lead} itself: ",
                    f"Đây là nhiệm vụ của chính cơ quan chủ trì {lead}: chỉ ",
                )
                if unit == lead
                else (
                    f"this is the consolidated report of {unit}: ",
                    f"Đây là báo cáo tổng hợp của {unit}: chỉ ",
                )
            ),
        )
    else:
        holder = holder_of(lead)
        _check_role(
            actor,
            command,
            lead,
            holder,
            admins=holder is None,
            role=("the lead office", "cán bộ cơ quan chủ trì"),
        )
    if submitted_by == actor.username:
        raise Unauthorized(
            f"{actor.username} handed in this submission and cannot {command} it: another "
            "person decides",
            vi=f"{actor.username} đã nộp báo cáo này nên không tự {VERBS[command]} được; cần "
            "người khác xét duyệt.",
        )


def _check_role(
    actor: ActorInfo,
    command: str,
    office: str | None,
    holder: str | None,
    *,
    admins: bool,
    role: tuple[str, str],
    why: tuple[str, str] = ("", "Chỉ "),
) -> None:
    """Only staff of `holder`, the unit holding `office`'s role, decide, and administrators
    where `admins`; `role` and `why` word the refusal in English and Vietnamese."""
    if (holder is not None and actor.unit_code == holder) or (admins and actor.role == "admin"):
        return
    (role_en, role_vi), (why_en, why_vi) = role, why
    if holder is None:
        gone = f" ({role_en} {office} has closed with no successor)" if office else ""
        gone_vi = f" ({role_vi} {office} đã ngừng hoạt động, không kế thừa)" if office else ""
        who, who_vi = f"an admin{gone}", f"quản trị viên{gone_vi}"
    else:
        heir = f" (successor of {office})" if holder != office else ""
        heir_vi = f" (kế thừa {office})" if holder != office else ""
        who, who_vi = f"{role_en} {holder}{heir}", f"{role_vi} {holder}{heir_vi}"
        if admins:
            who, who_vi = f"{who} or an admin", f"{who_vi} hoặc quản trị viên"
    raise Unauthorized(
        f"{actor.username} acts for unit {actor.unit_code}; {why_en}only {who} may {command} it",
        vi=f"{why_vi}{who_vi} được {VERBS[command]}; tài khoản {actor.username} thuộc đơn vị "
        f"{actor.unit_code}.",
    )


def check_publish(actor: ActorInfo) -> None:
    """Only administrators publish directives."""
    if actor.role != "admin":
        raise Unauthorized(
            f"{actor.username} is {actor.role}; only an admin may publish",
            vi=f"Chỉ quản trị viên được công bố chỉ thị; {actor.username} là cán bộ.",
        )

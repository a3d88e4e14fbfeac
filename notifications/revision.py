"""The letter a unit receives when a dispatch amends or withdraws a directive it works under:
what changed for it, requirement by requirement, in Vietnamese with dd/mm/yyyy dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from models.rules.vietnamese import day_text
from models.storage.chase import Rendered
from models.storage.revisions import Change, Notice
from notifications.templating import environment

# The revision, as the subject line and the letter's first sentence name it.
VERBS = {"amend": "sửa đổi", "withdraw": "bãi bỏ"}


def _by_requirement(changes: list[Change]) -> list[tuple[str, str, list[Change]]]:
    """The changes under their requirement (code, title), in the order the requirements
    come, each requirement's by due date (those of one date in the order they come)."""
    found: dict[str, tuple[str, str, list[Change]]] = {}
    for change in changes:
        found.setdefault(change.requirement, (change.requirement, change.title, []))[2].append(
            change
        )
    for _, _, own in found.values():
        own.sort(key=lambda c: c.new_due or c.old_due or date.max)  # stable: schedule order
    return list(found.values())


def revision_renderer() -> Callable[[Notice], Rendered]:
    """Renders one unit's letter about one revision, in a plain-text and an HTML part."""

    def render(notice: Notice) -> Rendered:
        env = environment()
        context = {
            "notice": notice,
            "verb": VERBS[notice.kind],
            "requirements": _by_requirement(notice.changes),
        }
        dispatch = notice.dispatch
        return Rendered(
            subject=(
                f"[dondoc] Văn bản số {dispatch.number} ngày {day_text(dispatch.dated)} "
                f"{VERBS[notice.kind]} chỉ thị {notice.directive}, áp dụng từ "
                f"{day_text(dispatch.effective_from)}"
            ),
            text=env.get_template("sua-doi.txt.j2").render(context),
            html=env.get_template("sua-doi.html.j2").render(context),
        )

    return render

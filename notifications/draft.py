"""The draft of the lead office's consolidated report, as the text its submission form offers:
for each requirement it sums up, the rates, the totals, who was late, who did not report and
who missed a target, in Vietnamese (template `templates/du-thao-tong-hop.txt.j2`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from models.rules.consolidation import Consolidation, UnitReport
from models.rules.vietnamese import number_text, percent_text
from notifications.report import figure_text
from notifications.templating import environment

TEMPLATE = "du-thao-tong-hop.txt.j2"
# names listed in a line before "và N đơn vị khác": the draft stays readable at national scale
MAX_NAMES = 30


def names(units: Sequence[UnitReport]) -> str:
    """Unit names, the first MAX_NAMES of them, then how many more."""
    shown = ", ".join(u.name for u in units[:MAX_NAMES])
    more = len(units) - MAX_NAMES
    return f"{shown} và {number_text(more)} đơn vị khác" if more > 0 else shown


def draft_text(
    reports: Sequence[Consolidation], *, period: str, as_of: date, files: Sequence[str]
) -> str:
    """The narrative a person checks before handing the consolidated report in."""
    template = environment().get_template(TEMPLATE)
    return template.render(
        reports=reports,
        period=period,
        as_of=as_of,
        files=files,
        percent=percent_text,
        figure=figure_text,
        names=names,
    ).strip()

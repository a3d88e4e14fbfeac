"""What people typed, in the artifacts clerks read in the Prefect UI (the review desk's case
file, the decision record, the receipt, the unit's list, a refusal): shown literally, never
as a second case, a link, an image, raw HTML or a broken table."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flows.chase import report, summary_report
from flows.desk import desk_markdown
from flows.review import case_markdown, cases_markdown
from flows.submission import receipt_markdown
from models.files.directive import load_directive
from models.rules.text import markdown_text
from models.storage.chase import ChasePlan, DirectiveInfo, Late, Letter, Recipient, Summary
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
    receipt = receipt_markdown(
        SPEC,
        directive="cam-xuyen-cchc-2024",
        unit="18712 · Xã Nam Phúc Thăng",
        period="2024-Q1",
        actor="cb.18712",
        outcome=Outcome(41, "submitted", 2, "submitted", replayed=False),
        figures={"leaflets": "=1+1 | x", "seminars": 1},
        narrative=HOSTILE,
    )
    assert forged(receipt) == [] and r"=1+1 \| x" in receipt
    owed = Owed(41, "d", "1c", HOSTILE, "2024-Q1", date(2024, 3, 15), "returned", HOSTILE)
    listed = desk_markdown(UnitRef("18712", "Xã [x](http://evil)"), date(2024, 3, 1), [owed])
    assert forged(listed) == [] and "[x]" not in listed


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

"""The preview of a publish: publishing's own count of what it would create, per requirement
and unit kind with the first and last due dates, and its refusals, with nothing written; then
publishing creates exactly that. On every backend."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import InputError
from models.files.directive import load_directive
from models.storage import publishing
from models.storage.db import transaction
from models.storage.tables import OBLIGATION, REQUIREMENT, UNIT
from tests.conftest import CALENDAR, NOW, SEED, count
from tests.store.test_nothing_silent import CLOSED, directive

TABLES = ("directive", "requirement", "obligation", "event", "denial")
AS_OF = date(2024, 3, 31)


def _preview(engine: Engine, path: Path, as_of: date = AS_OF) -> publishing.Preview:
    return publishing.preview(
        engine,
        load_directive(path),
        source=path.name,
        actor="admin.cx",
        as_of=as_of,
        now=NOW,
        calendar=CALENDAR,
    )


def _created(engine: Engine) -> list[tuple[str, str, int, date | None, date | None]]:
    """The obligations in the database, per requirement and unit kind: count, first and last
    due dates."""
    due = OBLIGATION.c.due_date
    query = (
        sa.select(
            REQUIREMENT.c.code, UNIT.c.kind, sa.func.count(), sa.func.min(due), sa.func.max(due)
        )
        .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
        .join(UNIT, UNIT.c.code == OBLIGATION.c.unit_code)
        .group_by(REQUIREMENT.c.code, UNIT.c.kind)
    )
    with transaction(engine, writes=False) as conn:
        return sorted((r, k, n, first, last) for r, k, n, first, last in conn.execute(query))


def _rows(preview: publishing.Preview) -> list[tuple[str, str, int, date | None, date | None]]:
    return sorted(
        (r.requirement, r.kind, r.obligations, r.first_due, r.last_due) for r in preview.rows
    )


def test_the_preview_writes_nothing_and_is_what_publishing_then_creates(
    registered: Engine,
) -> None:
    before = [count(registered, t) for t in TABLES]
    preview = _preview(registered, SEED)
    assert [count(registered, t) for t in TABLES] == before
    assert preview.new and preview.directive == "cam-xuyen-cchc-2024"
    # the communes' report by 31/03/2024, under the cut-off: the periods started, 2024-Q1
    # (due 15/03), 2024-Q2 and 2024-H1 (17/06) and the year 2024 (16/12)
    communes = [r for r in preview.rows if r.requirement == "1c"]
    assert {(r.kind, r.obligations, r.first_due, r.last_due) for r in communes} == {
        ("xa", 19 * 4, date(2024, 3, 15), date(2024, 12, 16)),
        ("thi_tran", 2 * 4, date(2024, 3, 15), date(2024, 12, 16)),
    }
    standing = next(r for r in preview.rows if r.requirement == "1a" and r.kind == "xa")
    assert (standing.first_due, standing.last_due) == (None, None)
    report = publishing.publish(
        registered,
        load_directive(SEED),
        source=SEED.name,
        actor="admin.cx",
        as_of=AS_OF,
        now=NOW,
        calendar=CALENDAR,
    )
    assert _rows(preview) == _created(registered)
    assert preview.total == report.opened.total
    # published again later: the preview is what is still missing, and publishing opens it
    later = _preview(registered, SEED, date(2024, 12, 31))
    assert not later.new
    assert not any(r.requirement == "1a" for r in later.rows)  # standing: opened already
    again = publishing.publish(
        registered,
        load_directive(SEED),
        source=SEED.name,
        actor="admin.cx",
        as_of=date(2024, 12, 31),
        now=NOW,
        calendar=CALENDAR,
    )
    assert later.total == again.opened.total
    assert ("1c", "xa", 19 * 3) in {(r.requirement, r.kind, r.obligations) for r in later.rows}


def test_the_preview_refuses_what_publishing_refuses_and_writes_nothing(
    registered: Engine, tmp_path: Path
) -> None:
    """The three communes closed on 01/07/2025: a 2026 directive for them is refused by the
    preview with publishing's own Vietnamese line; nothing is written."""
    before = [count(registered, t) for t in TABLES]
    with pytest.raises(InputError) as refused:
        _preview(registered, directive(tmp_path, who=CLOSED), date(2026, 12, 7))
    assert refused.value.vi is not None and "tin-bai" in refused.value.vi
    assert "đã giải thể" in refused.value.vi
    assert [count(registered, t) for t in TABLES] == before


def test_a_unit_the_register_does_not_hold_is_named_in_words(
    registered: Engine, tmp_path: Path
) -> None:
    with pytest.raises(InputError) as refused:
        _preview(registered, directive(tmp_path, who='{units: ["18712", "99999"]}'))
    assert refused.value.field == "requirements[0].who.units[1]"
    assert refused.value.vi == (
        "Nhiệm vụ 1 (tin-bai), đơn vị thực hiện, đơn vị 2: không có đơn vị mã «99999» trong "
        "danh mục."
    )

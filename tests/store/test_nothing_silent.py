"""Nothing silent on today's map: a directive that would never oblige anyone in its window is
refused before anything is written, its code left free; a report a commune handed in before
its closure was registered is owed once, and counted once. On every backend."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.errors import InputError
from models.files.directive import load_directive
from models.rules.status import Day
from models.storage import ledger, publishing, reporting
from models.storage.db import transaction
from tests.conftest import CALENDAR, count
from tests.store.test_succession import SUCCESSION, load

TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
# A province's monthly report from three communes (the 2024 codes of three that closed on
# 01/07/2025, until the file is fixed), as a new user wrote it on 07/12/2026.
MONTHLY = """\
code: {code}
document: {{issuer: "42", number: "15", symbol: UBND-VX, date: {start},
           subject: Báo cáo hằng tháng về tuyên truyền CCHC}}
lead: 42-SVHTTDL
effective: {{from: {start}, until: {until}}}
requirements:
  - code: tin-bai
    title: Số tin bài CCHC trong tháng
    who: {who}
    what:
      figures: [{{key: items, label: Số tin bài, type: integer, min: 0}}]
    schedule: [{{cadence: {cadence}, due: {{rule: day-of-month, day: 20}}}}]
    to: 42-SVHTTDL
"""
CLOSED = '{units: ["18679", "18694", "18697"]}'
TODAYS = '{units: ["18673", "18676", "18682"]}'
COMMUNES = "{kinds: [xa, thi_tran]}"


def directive(
    tmp_path: Path,
    *,
    who: str,
    code: str = "ha-tinh-thang-2026",
    start: str = "2026-01-01",
    until: str = "2026-12-31",
    cadence: str = "monthly",
) -> Path:
    path = tmp_path / f"{code}.yaml"
    text = MONTHLY.format(code=code, start=start, until=until, who=who, cadence=cadence)
    path.write_text(text, encoding="utf-8")
    return path


def publish(engine: Engine, path: Path, as_of: date = TODAY) -> publishing.PublishReport:
    return publishing.publish(
        engine,
        load_directive(path),
        source=path.name,
        actor="admin.cx",
        as_of=as_of,
        now=NOW,
        calendar=CALENDAR,
    )


def test_a_directive_for_todays_communes_publishes_their_obligations(
    registered: Engine, tmp_path: Path
) -> None:
    load(registered, SUCCESSION)
    report = publish(registered, directive(tmp_path, who=TODAYS))
    assert report.new and report.opened.created == {("ha-tinh-thang-2026", "tin-bai"): 3 * 12}


def test_a_directive_whose_units_have_all_closed_is_refused_and_its_code_stays_free(
    registered: Engine, tmp_path: Path
) -> None:
    """The three communes closed on 01/07/2025 with no successor in the register of 2024: in
    2026 they owe nothing, so the directive is refused, in Vietnamese, naming the requirement,
    and nothing is written; the same code, the file fixed, publishes."""
    before = [count(registered, t) for t in ("directive", "requirement", "obligation", "event")]
    with pytest.raises(InputError) as refused:
        publish(registered, directive(tmp_path, who=CLOSED))
    assert refused.value.field == "requirements[0].who"
    assert refused.value.vi is not None and "\n" not in refused.value.vi
    assert "tin-bai" in refused.value.vi and "01/01/2026–31/12/2026" in refused.value.vi
    assert "đã giải thể" in refused.value.vi
    after = [count(registered, t) for t in ("directive", "requirement", "obligation", "event")]
    assert after == before
    load(registered, SUCCESSION)
    report = publish(registered, directive(tmp_path, who=TODAYS))
    assert report.new and report.opened.total == 3 * 12


def test_a_directive_with_no_period_in_its_window_is_refused(
    registered: Engine, tmp_path: Path
) -> None:
    """A yearly report in a window of half a year has no period to be owed for."""
    load(registered, SUCCESSION)
    half = directive(tmp_path, who=TODAYS, until="2026-06-30", cadence="yearly")
    with pytest.raises(InputError) as refused:
        publish(registered, half)
    assert refused.value.vi is not None and "tin-bai" in refused.value.vi
    assert "không có kỳ nào" in refused.value.vi
    assert count(registered, "directive") == 0


def owed(engine: Engine, period: str) -> dict[str, str]:
    """unit -> status of the 2025 monthly report's obligations for a period."""
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT o.unit_code, o.status FROM obligation o JOIN requirement r "
                "ON r.id = o.requirement_id JOIN directive d ON d.id = r.directive_id "
                "WHERE d.code = 'ha-tinh-thang-2025' AND o.period_key = :p"
            ),
            {"p": period},
        )
        return dict(rows.all())


def test_a_report_handed_in_before_the_closure_was_registered_is_owed_once(
    registered: Engine, tmp_path: Path
) -> None:
    """An office whose register did not yet know the reform opens a 2025 monthly report for
    all its communes. Cẩm Thành (18694) hands in July, then the district's 2025 register
    closes it on 01/07/2025 into the new Cẩm Bình (18685): Cẩm Bình does not owe July again,
    and July's rate counts the report once."""
    with transaction(registered) as conn:
        conn.execute(sa.text("UPDATE unit SET valid_until = NULL WHERE kind IN ('xa', 'thi_tran')"))
    path = directive(
        tmp_path, code="ha-tinh-thang-2025", who=COMMUNES, start="2025-01-01", until="2025-12-31"
    )
    publish(registered, path, as_of=date(2025, 8, 3))
    assert len(owed(registered, "2025-07")) == 21
    with transaction(registered, writes=False) as conn:
        oid = conn.execute(
            sa.text(
                "SELECT id FROM obligation WHERE unit_code = '18694' AND period_key = '2025-07'"
            )
        ).scalar_one()
    handed_in = datetime(2025, 8, 5, 2, 0, tzinfo=UTC)
    by = ledger.Issued("cb.18694", "s-july", "test", handed_in)
    ledger.submit(registered, oid, by, figures={"items": 4}, narrative=None, evidence=None)
    load(registered, SUCCESSION)
    later = datetime(2025, 8, 20, 2, 0, tzinfo=UTC)
    publishing.hand_over(
        registered, today=later.date(), now=later, actor="dondoc", channel="register"
    )
    publishing.open_periods(registered, as_of=later.date(), now=later, calendar=CALENDAR)
    july = owed(registered, "2025-07")
    assert july["18694"] == "submitted" and "18685" not in july
    assert Counter(july.values()) == {"open": 7, "transferred": 13, "submitted": 1}
    # August, which Cẩm Thành had not handed in, passed to Cẩm Bình
    august = owed(registered, "2025-08")
    assert (august["18694"], august["18685"]) == ("transferred", "open")
    rates, _ = reporting.rates(
        registered,
        directive="ha-tinh-thang-2025",
        requirement="tin-bai",
        period="2025-07",
        on=Day(later.date(), later.date()),
    )
    assert [(r.expected, r.reported) for r in rates] == [(8, 1)]
    assert ledger.verify(registered)[1] == []

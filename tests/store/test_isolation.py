"""One broken directive among healthy ones, on every backend: the runs over many directives
(the chase, the monthly summary, the opening, the consolidation) do the healthy ones' work,
the chase's letters reaching a real SMTP server, leave the broken one's part undone and name
it, with one Vietnamese line.

A directive is broken the ways real ones break after publishing, which publish now refuses
but a database can still hold: its stored ladder names a message template that does not exist
(published before templates were checked, or a template removed since); its stored text no
longer reads (stored by an earlier dondoc whose format has changed since); or a message
template fails to render for its items (a template edited with a mistake)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import models.storage.chase
import notifications.render
import services.directives
import services.mail
import services.reports
from models.errors import DirectiveFailure
from models.files.directive import parse_directive
from models.files.textfiles import read_yaml
from models.storage import publishing
from models.storage.db import transaction
from models.storage.tables import DIRECTIVE, EVENT, OBLIGATION, REQUIREMENT
from tests.conftest import CALENDAR, NOW, SEED
from tests.notifications.test_holder import (
    CLOSED_STAFF,
    COMMUNE_ADDRESSES,
    DECEMBER,
    DEPARTMENT_ADDRESSES,
    PROVINCE,
    TODAY,
)
from tests.smtp import Server, settings_for
from tests.store.test_services import BAD_LADDER
from tests.store.test_succession import SUCCESSION, load

HEALTHY = ("ban-a", "ban-b")
BROKEN = "ban-hong"
MONDAY = date(2024, 3, 18)
LATER = datetime(2024, 3, 18, 1, 0, tzinfo=UTC)
PROVINCE_ADDRESS = "ubnd@hatinh.example"  # the issuer's role's holder after the reform


def publish_three(engine: Engine, *, as_of: date = date(2024, 12, 31)) -> None:
    """Three copies of the seed directive, each requirement's title marked with its code (so
    that a letter shows whose items it carries): BROKEN first (healthy too until a test breaks
    it), then the two healthy ones."""
    for code in (BROKEN, *HEALTHY):
        data = read_yaml(SEED)
        data["code"] = code
        for requirement in data["requirements"]:
            requirement["title"] = f"[{code}] {requirement['title']}"
        publishing.publish(
            engine,
            parse_directive(data, f"{code}.yaml"),
            source=f"{code}.yaml",
            actor="admin.cx",
            as_of=as_of,
            now=NOW,
            calendar=CALENDAR,
        )


@pytest.fixture
def three(registered: Engine) -> Engine:
    publish_three(registered)
    return registered


def break_ladder(engine: Engine) -> None:
    """BROKEN's stored ladder names the template `nhac-nho`, which does not exist."""
    with transaction(engine) as conn:
        content = json.loads(
            conn.execute(
                sa.select(DIRECTIVE.c.content).where(DIRECTIVE.c.code == BROKEN)
            ).scalar_one()
        )
        content["escalation"] = BAD_LADDER
        conn.execute(
            DIRECTIVE.update()
            .where(DIRECTIVE.c.code == BROKEN)
            .values(content=json.dumps(content, ensure_ascii=False))
        )


def break_stored_text(engine: Engine) -> None:
    """BROKEN's stored text and requirements carry a field this version does not know."""
    with transaction(engine) as conn:
        directive_id, content = conn.execute(
            sa.select(DIRECTIVE.c.id, DIRECTIVE.c.content).where(DIRECTIVE.c.code == BROKEN)
        ).one()
        conn.execute(
            DIRECTIVE.update()
            .where(DIRECTIVE.c.id == directive_id)
            .values(content=json.dumps({**json.loads(content), "old_field": 1}))
        )
        for requirement_id, spec in conn.execute(
            sa.select(REQUIREMENT.c.id, REQUIREMENT.c.spec).where(
                REQUIREMENT.c.directive_id == directive_id
            )
        ).all():
            conn.execute(
                REQUIREMENT.update()
                .where(REQUIREMENT.c.id == requirement_id)
                .values(spec=json.dumps({**json.loads(spec), "old_field": 1}))
            )


def break_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """The letters' sections fail to render for BROKEN's items, as a template with a mistake
    does (an undefined value), wherever they are in a letter."""
    sections = notifications.render.sections

    def failing(letter: Any, day: date) -> Any:
        if any(item.directive == BROKEN for item in letter.items):
            raise jinja2.UndefinedError("'DirectiveInfo object' has no attribute 'so_hieu'")
        return sections(letter, day)

    monkeypatch.setattr(notifications.render, "sections", failing)


def chase_events(engine: Engine) -> dict[str, int]:
    """The chase events (reminded, escalated) of each directive."""
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(
            sa.select(DIRECTIVE.c.code, sa.func.count())
            .select_from(EVENT)
            .join(OBLIGATION, OBLIGATION.c.id == EVENT.c.obligation_id)
            .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
            .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
            .where(EVENT.c.kind.in_(("reminded", "escalated")))
            .group_by(DIRECTIVE.c.code)
        ).all()
    return {code: n for code, n in rows}


def obligations(engine: Engine) -> dict[str, int]:
    with transaction(engine, writes=False) as conn:
        rows = conn.execute(
            sa.select(DIRECTIVE.c.code, sa.func.count())
            .select_from(OBLIGATION)
            .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
            .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
            .group_by(DIRECTIVE.c.code)
        ).all()
    return {code: n for code, n in rows}


def only_broken(failed: list[DirectiveFailure], work: str, cause: str) -> DirectiveFailure:
    """The one failure, BROKEN's, said in one Vietnamese line with what to do."""
    (failure,) = failed
    assert failure.directive == BROKEN
    assert failure.vi.startswith(f"{work} của chỉ thị {BROKEN} không làm được: {cause}. ")
    assert "\n" not in failure.vi and "Quản trị viên" in failure.vi
    assert failure.trace.startswith("Traceback")
    return failure


BREAKS = {
    "template": (
        "bậc nhắc dùng mẫu thư “nhac-nho” không có",
        "InputError: chase: ban-hong: step nhac-nho",
    ),
    "stored text": (
        "nội dung chỉ thị lưu trong cơ sở dữ liệu không còn đọc được",
        "ValidationError: ",
    ),
    "rendering": ("lỗi kỹ thuật", "UndefinedError: 'DirectiveInfo object' has no attribute"),
}


@pytest.fixture(params=list(BREAKS))
def broken(request: pytest.FixtureRequest, three: Engine) -> Iterator[tuple[Engine, str]]:
    """The three directives, BROKEN broken one of the BREAKS ways."""
    if request.param == "template":
        break_ladder(three)
    elif request.param == "stored text":
        break_stored_text(three)
    else:
        with pytest.MonkeyPatch.context() as patch:
            break_rendering(patch)
            yield three, request.param
        return
    yield three, request.param


def test_the_chase_sends_the_healthy_directives_letters_and_names_the_broken_one(
    broken: tuple[Engine, str], smtp: Server, tmp_path: Path
) -> None:
    engine, how = broken
    cause, detail = BREAKS[how]
    settings = settings_for(engine, smtp)
    dry = services.mail.chase(settings, day=MONDAY, now=LATER, dry_run=True)
    assert only_broken(dry.plan.failed.listed(), "Đôn đốc", cause).detail.startswith(detail)
    assert chase_events(engine) == {}

    run = services.mail.chase(settings, day=MONDAY, now=LATER)
    assert only_broken(run.plan.failed.listed(), "Đôn đốc", cause).detail.startswith(detail)
    # every letter went, counted at the SMTP server, with the healthy directives' items only
    assert dry.messages_written == run.messages_written == len(run.plan.letters) > 0
    assert run.delivery is not None and len(run.delivery.sent) == len(run.plan.letters)
    assert len(smtp.inbox.received) == len(run.plan.letters)
    texts = [mail.get_body(("plain",)).get_content() for _, mail in smtp.inbox.received]
    assert all(f"[{BROKEN}]" not in text for text in texts)
    for code in HEALTHY:
        assert any(f"[{code}]" in text for text in texts)
    # one event per healthy item; none for the broken directive, whatever it got to before
    items = {code: sum(i.directive == code for i in run.plan.items) for code in HEALTHY}
    assert chase_events(engine) == items and all(items.values())


def test_the_monthly_summary_sends_the_healthy_directives_and_names_the_broken_one(
    three: Engine, smtp: Server, tmp_path: Path
) -> None:
    break_stored_text(three)
    settings = settings_for(three, smtp, tmp_path)
    day, now = date(2024, 4, 1), datetime(2024, 4, 1, 1, 0, tzinfo=UTC)
    dry = services.mail.monthly_summary(settings, day=day, now=now, dry_run=True)
    cause = BREAKS["stored text"][0]
    only_broken(dry.failed, "Tổng hợp tháng", cause)
    run = services.mail.monthly_summary(settings, day=day, now=now)
    only_broken(run.failed, "Tổng hợp tháng", cause)
    assert [s.info.code for s in run.summaries] == list(HEALTHY)
    assert run.messages_written == len(smtp.inbox.received) > 0
    subjects = [mail["Subject"] for _, mail in smtp.inbox.received]
    assert all(BROKEN not in subject for subject in subjects)
    assert {code for code in HEALTHY if any(code in s for s in subjects)} == set(HEALTHY)


def test_the_opening_opens_the_healthy_directives_and_names_the_broken_one(
    registered: Engine, tmp_path: Path
) -> None:
    """Published up to March; the broken directive's requirements no longer read: the
    opening of the year's later periods opens the healthy ones' and nothing of its."""
    publish_three(registered, as_of=date(2024, 3, 31))
    break_stored_text(registered)
    before = obligations(registered)
    report = services.directives.open_periods(
        settings_for(registered, None), as_of=date(2024, 12, 31), now=NOW
    )
    only_broken(report.failed, "Mở kỳ mới", BREAKS["stored text"][0])
    after = obligations(registered)
    assert after[BROKEN] == before[BROKEN]
    for code in HEALTHY:
        opened = sum(n for (d, _), n in report.created.items() if d == code)
        assert after[code] - before[code] == opened > 0
    assert {d for d, _ in report.created} == set(HEALTHY)


def test_the_consolidation_drafts_the_healthy_directives_and_names_the_broken_one(
    three: Engine, tmp_path: Path
) -> None:
    break_stored_text(three)
    outputs = tmp_path / "outputs"
    settings = settings_for(three, None).model_copy(update={"outputs_dir": outputs})
    day = date(2024, 6, 20)
    run = services.reports.consolidate(settings, day=day, now=datetime(2024, 6, 20, tzinfo=UTC))
    only_broken(run.failed, "Tổng hợp báo cáo", BREAKS["stored text"][0])
    assert sorted({d.due.directive for d in run.drafted}) == list(HEALTHY)
    assert sorted(p.name for p in outputs.iterdir()) == list(HEALTHY)
    drafts = services.reports.drafts(settings, [d.due.obligation_id for d in run.drafted])
    assert len(drafts) == len(run.drafted) > 0


def test_a_directive_whose_events_fail_half_written_keeps_none_and_the_others_go(
    three: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write of BROKEN's events (the first directive's) fails after they are in the
    tables, with an error of the database's own (which ends a PostgreSQL transaction): its
    savepoint takes them back, the others' are written, and the letters go without its
    items."""
    with transaction(three, writes=False) as conn:
        ids = set(
            conn.execute(
                sa.select(OBLIGATION.c.id)
                .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
                .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
                .where(DIRECTIVE.c.code == BROKEN)
            ).scalars()
        )
    append_many = models.storage.chase.append_many

    def failing(conn: Any, planned: list[Any], **kwargs: Any) -> Any:
        written = append_many(conn, planned, **kwargs)
        if any(p.obligation_id in ids for p in planned):
            conn.execute(sa.text("SELECT no_such_column FROM event"))
        return written

    monkeypatch.setattr(models.storage.chase, "append_many", failing)
    run = services.mail.chase(settings_for(three, smtp), day=MONDAY, now=LATER)
    assert only_broken(run.plan.failed.listed(), "Đôn đốc", "lỗi kỹ thuật").detail.startswith(
        "ProgrammingError: " if three.dialect.name == "postgresql" else "OperationalError: "
    )
    items = {code: sum(i.directive == code for i in run.plan.items) for code in HEALTHY}
    assert chase_events(three) == items and all(items.values())
    texts = [mail.get_body(("plain",)).get_content() for _, mail in smtp.inbox.received]
    assert len(texts) == len(run.plan.letters) > 0
    assert all(f"[{BROKEN}]" not in text for text in texts)


def test_a_directive_whose_obligations_fail_half_created_keeps_none_and_the_others_open(
    registered: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The opening of BROKEN's periods (the first directive's) fails after its first chunk
    of obligations is in the tables, with an error of the database's own (which ends a
    PostgreSQL transaction): its savepoint takes them back and the others' are opened."""
    publish_three(registered, as_of=date(2024, 3, 31))
    with transaction(registered, writes=False) as conn:
        broken_requirements = set(
            conn.execute(
                sa.select(REQUIREMENT.c.id)
                .join(DIRECTIVE, DIRECTIVE.c.id == REQUIREMENT.c.directive_id)
                .where(DIRECTIVE.c.code == BROKEN)
            ).scalars()
        )
    create_many = publishing.create_many

    def failing(conn: Any, ids: Any, new: Any, **kwargs: Any) -> Any:
        create_many(conn, ids, new, **kwargs)
        if any(n.requirement_id in broken_requirements for n in new):
            conn.execute(sa.text("SELECT no_such_column FROM obligation"))

    monkeypatch.setattr(publishing, "create_many", failing)
    before = obligations(registered)
    report = services.directives.open_periods(
        settings_for(registered, None), as_of=date(2024, 12, 31), now=NOW
    )
    only_broken(report.failed, "Mở kỳ mới", "lỗi kỹ thuật")
    after = obligations(registered)
    assert after[BROKEN] == before[BROKEN]
    assert all(after[code] > before[code] for code in HEALTHY)


def test_after_the_reform_the_healthy_letters_go_to_the_holders_and_the_broken_is_named(
    broken: tuple[Engine, str], smtp: Server
) -> None:
    """Once the district's bodies have closed (the 2025 map registered), a broken directive
    stays in itself as before, and the healthy ones' letters go only to the units holding
    each role on the day (or to the closed units' staff)."""
    engine, how = broken
    load(engine, SUCCESSION)
    run = services.mail.chase(
        settings_for(engine, smtp), day=TODAY, now=datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    )
    only_broken(run.plan.failed.listed(), "Đôn đốc", BREAKS[how][0])
    assert run.plan.unreachable == []
    sent = {to for tos, _ in smtp.inbox.received for to in tos}
    holders = COMMUNE_ADDRESSES | DEPARTMENT_ADDRESSES | CLOSED_STAFF | {PROVINCE_ADDRESS}
    assert len(smtp.inbox.received) == len(run.plan.letters) > 0 and sent <= holders
    # two years late, every item has reached the issuer: one urging dispatch, to the province
    assert {i.directive for letter in run.plan.letters for i in letter.items} == set(HEALTHY)
    texts = [mail.get_body(("plain",)).get_content() for _, mail in smtp.inbox.received]
    assert all(text.startswith(f"Kính gửi: {PROVINCE}\r\n") for text in texts)


def test_after_the_reform_the_healthy_directives_summaries_go_to_the_province(
    three: Engine, smtp: Server
) -> None:
    """The month's summaries of the healthy directives go to the province, which holds the
    district People's Committee's role; the broken one sends none and is named."""
    load(three, SUCCESSION)
    break_stored_text(three)
    month = services.mail.monthly_summary(
        settings_for(three, smtp), day=DECEMBER, now=datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    )
    only_broken(month.failed, "Tổng hợp tháng", BREAKS["stored text"][0])
    assert [s.info.code for s in month.summaries] == list(HEALTHY)
    assert month.messages_written == len(smtp.inbox.received) > 0
    assert {to for tos, _ in smtp.inbox.received for to in tos} == {PROVINCE_ADDRESS}

"""The use cases the command line and the flows share, on every backend: what the forms'
flows ask of them beyond the ledger's own commands."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import services.checks
import services.desks
import services.directives
import services.mail
import services.records
from models.errors import InputError, Unauthorized
from models.files.directive import DirectiveSpec, parse_directive
from models.files.textfiles import read_yaml
from models.rules.workdays import WorkCalendar
from models.storage import ledger, publishing
from models.storage.db import transaction
from services.settings import Settings
from tests.conftest import SEED, count, obligation_id
from tests.store.test_ledger import FIGURES, NARRATIVE

LATER = datetime(2024, 3, 10, 3, 0, tzinfo=UTC)


def settings_for(engine: Engine) -> Settings:
    return Settings(database_url=engine.url.render_as_string(hide_password=False))


def by(actor: str, key: str) -> services.records.Issued:
    return services.records.Issued(actor, key, "test", LATER)


def submit_for(settings: Settings, unit: str, key: str) -> services.records.Outcome:
    return services.records.submit_for(
        settings,
        by(f"cb.{unit}", key),
        directive="cam-xuyen-cchc-2024",
        requirement="1c",
        unit=unit,
        period="2024-Q1",
        figures=FIGURES,
        narrative=NARRATIVE,
        evidence=None,
    )


def test_a_form_submission_finds_its_obligation_by_directive_requirement_unit_and_period(
    seeded: Engine,
) -> None:
    outcome = submit_for(settings_for(seeded), "18712", "form-1")
    assert outcome.obligation_id == obligation_id(seeded, "1c", "18712", "2024-Q1")
    assert (outcome.kind, outcome.status) == ("submitted", "submitted")


def test_a_form_submission_for_a_unit_that_owes_nothing_names_the_period(
    seeded: Engine,
) -> None:
    before = count(seeded, "event")
    with pytest.raises(InputError) as refused:
        submit_for(settings_for(seeded), "446-TTHCC", "form-2")
    assert str(refused.value) == (
        "form: period: unit 446-TTHCC owes no 1c for this period (got '2024-Q1')"
    )
    assert count(seeded, "event") == before


@pytest.mark.parametrize(
    ("decision", "kind", "unit"),
    [
        ("accept", "accepted", "18712"),
        ("waive", "waived", "18673"),
        ("extend", "extended", "18673"),
    ],
)
def test_a_decision_is_the_lead_offices_command_of_that_name(
    seeded: Engine, decision: str, kind: str, unit: str
) -> None:
    settings = settings_for(seeded)
    submit_for(settings, "18712", "form-3")  # to accept; 18673's stays open to waive or extend
    oid = obligation_id(seeded, "1c", unit, "2024-Q1")
    outcome, told = services.records.decide(
        settings,
        oid,
        by("vhtt.lan", f"review-{decision}"),
        decision,
        reason="Đã xem xét.",
        new_due=date(2024, 4, 30),
    )
    assert (outcome.obligation_id, outcome.kind, told) == (oid, kind, None)


def test_a_returned_submission_tells_its_unit_at_once(seeded: Engine) -> None:
    settings = settings_for(seeded)
    oid = submit_for(settings, "18712", "form-4").obligation_id
    outcome, told = services.records.decide(
        settings,
        oid,
        by("vhtt.lan", "review-return"),
        "return",
        reason="Thiếu số liệu.",
        new_due=None,
    )
    assert outcome.kind == "returned"
    assert told is not None and [i.obligation_id for i in told.plan.items] == [oid]


def test_an_extension_without_a_new_due_date_is_refused_before_anything_is_written(
    seeded: Engine,
) -> None:
    oid = obligation_id(seeded, "1c", "18712", "2024-Q1")
    before = count(seeded, "event")
    with pytest.raises(InputError, match="an extension needs the new due date"):
        services.records.decide(
            settings_for(seeded),
            oid,
            by("vhtt.lan", "review-x"),
            "extend",
            reason=None,
            new_due=None,
        )
    assert count(seeded, "event") == before


def test_who_may_publish_is_checked_before_anything_is_read(registered: Engine) -> None:
    """The publishing form checks its actor first: staff are refused (and recorded) before a
    pasted text is parsed; an administrator passes; an unknown name is refused and recorded
    too."""
    settings = settings_for(registered)
    services.directives.check_can_publish(settings, "admin.cx", source="form", now=LATER)
    with pytest.raises(Unauthorized, match=r"vhtt\.lan is staff; only an admin may publish"):
        services.directives.check_can_publish(settings, "vhtt.lan", source="form", now=LATER)
    with pytest.raises(Unauthorized) as unknown:
        services.directives.check_can_publish(settings, "ai.do", source="form", now=LATER)
    assert str(unknown.value) == "form: actor 'ai.do' names no actor in the register"
    with transaction(registered, writes=False) as conn:
        denials = conn.execute(sa.text("SELECT actor, command, target FROM denial")).all()
    assert [tuple(d) for d in denials] == [
        ("vhtt.lan", "publish", "directive from form"),
        ("ai.do", "publish", "directive from form"),
    ]


def test_a_unit_is_offered_only_the_periods_it_still_owes_by_due_date(seeded: Engine) -> None:
    settings = settings_for(seeded)

    def owed() -> list[tuple[str, date | None, str | None]]:
        return [
            (o.period, o.due, o.reason)
            for o in services.desks.still_owed(
                settings,
                unit="18712",
                directive="cam-xuyen-cchc-2024",
                requirement="1c",
                day=date(2024, 3, 10),
            )
        ]

    assert [period for period, _, _ in owed()] == [
        "2024-Q1",
        "2024-Q2",
        "2024-H1",
        "2024-Q3",
        "2024-Q4",
        "2024-H2",
        "2024",
    ]
    assert owed()[0][1] == date(2024, 3, 15)
    oid = submit_for(settings, "18712", "owed-1").obligation_id
    assert "2024-Q1" not in [period for period, _, _ in owed()]
    ledger.return_(seeded, oid, by("vhtt.lan", "owed-2"), reason="Thiếu số liệu tờ rơi")
    assert owed()[0] == ("2024-Q1", date(2024, 3, 15), "Thiếu số liệu tờ rơi")


def test_a_units_list_puts_the_most_urgent_first(seeded: Engine) -> None:
    settings = settings_for(seeded)
    q1 = submit_for(settings, "18712", "desk-1").obligation_id
    ledger.return_(seeded, q1, by("vhtt.lan", "desk-2"), reason="Thiếu số liệu tờ rơi")
    q3 = obligation_id(seeded, "1c", "18712", "2024-Q3")
    services.records.submit(
        settings, q3, by("cb.18712", "desk-3"), figures=FIGURES, narrative="Q3", evidence=None
    )
    listed = services.desks.unit_desk(settings, unit="18712", day=date(2024, 6, 12))
    assert [(o.requirement, o.period, o.status, o.reason) for o in listed] == [
        ("1c", "2024-Q1", "overdue", "Thiếu số liệu tờ rơi"),
        ("1c", "2024-Q2", "due_soon", None),
        ("1c", "2024-H1", "due_soon", None),
        ("1c", "2024-Q4", "open", None),
        ("1c", "2024-H2", "open", None),
        ("1c", "2024", "open", None),
        ("1a", "standing", "open", None),
        ("1b", "standing", "open", None),
        ("1c", "2024-Q3", "submitted", None),
    ]
    assert listed[0].due == date(2024, 3, 15) and listed[-1].due == date(2024, 9, 16)


def test_the_desk_knows_the_actors_unit_and_records_an_unknown_actor(seeded: Engine) -> None:
    settings = settings_for(seeded)
    unit = services.desks.actor_unit(settings, "cb.18712", command="list", now=LATER)
    assert unit == services.desks.UnitRef("18712", "Xã Nam Phúc Thăng")
    with pytest.raises(Unauthorized) as refused:
        services.desks.actor_unit(settings, "nobody", command="list", now=LATER)
    assert refused.value.vi == "Không có tài khoản «nobody» trong danh sách cán bộ."
    with transaction(seeded, writes=False) as conn:
        denied = conn.execute(sa.text("SELECT command FROM denial WHERE actor = 'nobody'")).all()
    assert [d.command for d in denied] == ["list"]


@pytest.mark.parametrize(
    ("actor", "unit", "day", "shown"),
    [
        ("cb.18712", None, date(2026, 11, 27), "18712"),  # one's own unit
        ("svhttdl.an", "18712", date(2026, 11, 27), "18712"),  # the lead office's successor
        ("vhtt.lan", "18712", date(2024, 3, 10), "18712"),  # the lead office, while it exists
        ("admin.cx", "18673", date(2026, 11, 27), "18673"),  # an admin
    ],
)
def test_a_units_list_is_its_own_staffs_its_lead_offices_and_the_admins(
    seeded: Engine, actor: str, unit: str | None, day: date, shown: str
) -> None:
    found = services.desks.desk_unit(settings_for(seeded), actor, unit, day=day, now=LATER)
    assert found.code == shown


def test_another_units_list_is_refused_and_the_denial_recorded(seeded: Engine) -> None:
    settings = settings_for(seeded)
    with pytest.raises(Unauthorized) as refused:
        services.desks.desk_unit(settings, "cb.18712", "18673", day=date(2024, 3, 10), now=LATER)
    assert refused.value.vi is not None and refused.value.vi.startswith(
        "Tài khoản cb.18712 thuộc đơn vị 18712: chỉ xem được việc của đơn vị mình"
    )
    # the closed lead office no longer oversees the communes
    with pytest.raises(Unauthorized):
        services.desks.desk_unit(settings, "vhtt.lan", "18673", day=date(2026, 11, 27), now=LATER)
    with pytest.raises(InputError) as unknown:
        services.desks.desk_unit(settings, "admin.cx", "99999", day=date(2026, 11, 27), now=LATER)
    assert (unknown.value.field, unknown.value.value) == ("unit", "99999")
    with transaction(seeded, writes=False) as conn:
        denied = conn.execute(sa.text("SELECT actor FROM denial WHERE command = 'list'")).all()
    assert sorted(d.actor for d in denied) == ["cb.18712", "vhtt.lan"]


def _seed_with(ladder: list[dict[str, object]], *, at: str) -> DirectiveSpec:
    """The seed directive with an escalation ladder on the directive (`at` "directive") or on
    its third, 1c (`at` "requirement")."""
    data = read_yaml(SEED)
    if at == "directive":
        data["escalation"] = ladder
    else:
        data["requirements"][2]["escalation"] = ladder
    return parse_directive(data, "thieu-mau.yaml")


BAD_LADDER = [
    {"key": "truoc-han", "working_days": -3, "to": "unit", "template": "nhac-truoc-han"},
    {"key": "nhac-nho", "working_days": 1, "to": "unit", "template": "nhac-nho"},
]


@pytest.mark.parametrize(
    ("at", "field"),
    [
        ("directive", "escalation[1].template"),
        ("requirement", "requirements[2].escalation[1].template"),
    ],
)
def test_a_ladder_step_naming_no_template_is_refused_at_publish_and_nothing_written(
    registered: Engine, at: str, field: str
) -> None:
    spec = _seed_with(BAD_LADDER, at=at)
    with pytest.raises(InputError) as refused:
        services.directives.publish(
            settings_for(registered),
            spec,
            source="thieu-mau.yaml",
            actor="admin.cx",
            as_of=date(2024, 3, 1),
            now=LATER,
        )
    assert str(refused.value).startswith(
        f"thieu-mau.yaml: {field}: names no message template; the templates are: "
        "bao-co-quan-chu-tri, de-nghi-don-doc, nhac-truoc-han, qua-han, tra-lai"
    )
    assert str(refused.value).endswith("(got 'nhac-nho')")
    assert (count(registered, "directive"), count(registered, "event")) == (0, 0)


def test_a_default_ladder_naming_no_template_is_refused_when_the_settings_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DONDOC_ESCALATION", json.dumps(BAD_LADDER))
    with pytest.raises(InputError) as refused:
        services.checks.load_settings()
    assert str(refused.value).startswith(
        "environment: DONDOC_ESCALATION[1].template: names no message template"
    )


def test_a_dry_run_renders_what_the_real_run_would_and_fails_where_it_would(
    registered: Engine,
) -> None:
    """A directive stored before its templates were checked (or whose template was removed
    since): the dry run fails it as the real run does, instead of promising letters, with one
    line naming the directive and the step, and nothing of it is written (its run over many
    directives: tests/store/test_isolation.py)."""
    spec = _seed_with(BAD_LADDER, at="directive")
    publishing.publish(
        registered,
        spec,
        source="thieu-mau.yaml",
        actor="admin.cx",
        as_of=date(2024, 3, 1),
        now=LATER,
        calendar=WorkCalendar(),
    )
    settings = settings_for(registered)
    monday = date(2024, 3, 18)
    created = count(registered, "event")
    for dry_run in (True, False):
        run = services.mail.chase(settings, day=monday, now=LATER, dry_run=dry_run)
        (failed,) = run.plan.failed.listed()
        assert failed.detail.startswith(
            "InputError: chase: cam-xuyen-cchc-2024: step nhac-nho.template: names no message "
            "template"
        )
        assert (run.plan.items, run.plan.letters, run.messages_written) == ([], [], 0)
    assert (count(registered, "message"), count(registered, "event")) == (0, created)


def test_a_dry_run_counts_the_messages_the_real_run_writes(seeded: Engine) -> None:
    settings = settings_for(seeded)
    monday = date(2024, 3, 18)
    dry = services.mail.chase(settings, day=monday, now=LATER, dry_run=True)
    assert count(seeded, "message") == 0
    real = services.mail.chase(settings, day=monday, now=LATER)
    assert dry.messages_written == real.messages_written == len(real.plan.letters) > 0


def test_the_chase_and_the_monthly_summary_of_one_day_keep_their_dispatches_apart(
    seeded: Engine, tmp_path: Path
) -> None:
    """Monday 01/04/2024 is the month's first working day and the day the seed's Q1 reports
    reach the issuer's step: both runs attach an urging dispatch with its appendix, and
    neither overwrites the other's in the outbox folder."""
    settings = settings_for(seeded).model_copy(update={"outbox_dir": tmp_path})
    day, now = date(2024, 4, 1), datetime(2024, 4, 1, 1, 0, tzinfo=UTC)
    chased = services.mail.chase(settings, day=day, now=now)
    assert any(item.step.dispatch for item in chased.plan.items)
    summed = services.mail.monthly_summary(settings, day=day, now=now)
    assert summed.messages_written > 0
    assert sorted(path.name for path in tmp_path.glob("*.docx")) == [
        "cong-van-don-doc-cam-xuyen-cchc-2024-2024-04-01-tong-hop-thang.docx",
        "cong-van-don-doc-cam-xuyen-cchc-2024-2024-04-01.docx",
    ]
    assert sorted(path.name for path in tmp_path.glob("*.xlsx")) == [
        "cong-van-don-doc-cam-xuyen-cchc-2024-2024-04-01-phu-luc.xlsx",
        "cong-van-don-doc-cam-xuyen-cchc-2024-2024-04-01-tong-hop-thang-phu-luc.xlsx",
    ]


def test_one_settings_object_keeps_one_engine(seeded: Engine) -> None:
    # a long-lived process (the gate asks who holds a session on every request) keeps one
    # connection pool, rather than a new engine, pool and schema check per call
    settings = settings_for(seeded)
    engine = settings.engine()
    assert settings.engine() is engine
    assert settings_for(seeded).engine() is not engine


def test_a_requirement_is_read_back_as_its_directive_file_states_it(seeded: Engine) -> None:
    spec = parse_directive(read_yaml(SEED), str(SEED))
    stated = next(r for r in spec.requirements if r.code == "1c")
    read = services.directives.requirement_spec(
        settings_for(seeded), directive=spec.code, requirement="1c"
    )
    assert read == stated


def test_the_calendar_reads_the_override_file_the_settings_name(tmp_path: Path) -> None:
    path = tmp_path / "swaps.yaml"
    path.write_text("holidays:\n  - date: 2024-03-11\n    name: Nghỉ bù\n", encoding="utf-8")
    calendar = Settings(calendar_overrides=path).calendar()
    assert dict(calendar.extra_holidays) == {date(2024, 3, 11): "Nghỉ bù"}
    assert not Settings().calendar().extra_holidays

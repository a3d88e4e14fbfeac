"""An administrator amends or withdraws a published directive, as its later dispatches do:
the dispatch's number and symbol, its date and the day it applies from, and for an amendment
the directive's whole new text (written in the form, a file of the project, or pasted, read
as publishing reads it). The run does the revision in a transaction it rolls back to show
what it would change, and waits (suspended) for "Xác nhận" or "Hủy"; only "Xác nhận" revises.
Then the directive's history is shown in an artifact, and the forms follow."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any, Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

import services.directives
from flows.forms import refresh_forms
from flows.publish import _what, check_actor, read_directive
from flows.runtime import checked_answer, day_of, for_clerks, issued, rename_run, started_by
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text, period_words
from services.settings import load_settings

CONFIRM = "Xác nhận"
CANCEL = "Hủy"
# How long the preview waits for the administrator's answer (a suspended run holds no process).
CONFIRM_HOURS = 24
VERBS = {"amend": "sửa đổi", "withdraw": "bãi bỏ"}
CHANGES = {
    "due": "hạn nộp mới",
    "what": "nội dung báo cáo thay đổi",
    "closed": "không còn phải thực hiện",
    "created": "phải thực hiện thêm",
}
# What a revision changed, in the history's words.
CHANGE_WORDS = {
    "added": "thêm nhiệm vụ",
    "dropped": "bỏ nhiệm vụ",
    "schedule": "lịch báo cáo, hạn nộp",
    "who": "đơn vị thực hiện",
    "what": "nội dung báo cáo, chỉ tiêu",
    "to": "nơi nhận",
    "title": "tên nhiệm vụ",
    "other": "nội dung khác",
    "document": "thông tin văn bản",
    "lead": "cơ quan chủ trì",
    "effective": "thời gian hiệu lực",
    "escalation": "các bước đôn đốc",
    "withdrawn": "bãi bỏ chỉ thị",
}


class RevisionConfirmation(RunInput):
    """The administrator's answer to the preview."""

    decision: Literal["Xác nhận", "Hủy"] = Field(title="Quyết định")


def _due(day: date | None) -> str:
    return "—" if day is None else day_text(day)


def preview_markdown(revised: services.directives.Revised) -> str:
    """What the revision would change, one line per requirement, period and change, with the
    units it concerns and the letters it would send, for the administrator to confirm."""
    report = revised.report
    d = report.dispatch
    shared = Counter(
        (c.requirement, c.period, c.kind, c.old_due, c.new_due) for c in report.changes
    )
    lines = [
        f"# Xem trước: {VERBS[report.kind]} chỉ thị {markdown_text(report.directive)}",
        "",
        f"Văn bản số **{markdown_text(d.number)}** ngày {day_text(d.dated)}, áp dụng từ ngày "
        f"**{day_text(d.effective_from)}** (lần sửa đổi thứ {report.number}). Các nghĩa vụ đã "
        "nộp hoặc đã được xét giữ nguyên.",
        "",
        f"Thay đổi **{len(report.changes)}** nghĩa vụ của "
        f"**{len({c.unit for c in report.changes})}** đơn vị; gửi **{report.letters}** thư "
        "báo cho các đơn vị:",
        "",
        "| nhiệm vụ | kỳ | thay đổi | hạn cũ | hạn mới | số đơn vị |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {markdown_text(req)} | {period_words(period)} | {CHANGES[kind]} | {_due(old)} | "
        f"{_due(new)} | {n} |"
        for (req, period, kind, old, new), n in shared.items()
    ]
    if report.unreachable:
        lines += [
            "",
            f"Không có địa chỉ để báo: {markdown_text(', '.join(report.unreachable))}.",
        ]
    lines += ["", f"Chọn «{CONFIRM}» để ghi, «{CANCEL}» để thôi: chưa có gì được ghi."]
    return "\n".join(lines) + "\n"


def history_table(code: str) -> None:
    """The directive's revisions, in order, as a table on the run page."""
    found = services.directives.history(load_settings(), code, source="form")
    create_table_artifact(
        key="lich-su",
        description=f"{code}: các lần sửa đổi, bãi bỏ",
        table=[
            {
                "lần": r.number,
                "loại": VERBS[r.kind],
                "văn bản": r.dispatch,
                "ngày văn bản": day_text(r.dated),
                "áp dụng từ": day_text(r.effective_from),
                "người thực hiện": r.made_by,
                "thay đổi": "; ".join(
                    f"{c['requirement']}: {CHANGE_WORDS[str(c['change'])]}"
                    if c["requirement"]
                    else CHANGE_WORDS[str(c["change"])]
                    for c in r.changes
                ),
            }
            for r in found.revisions
        ],
    )


def confirmed(actor: str, preview: str) -> tuple[bool, str]:
    """Wait on the preview for the administrator's answer (only they, or another
    administrator, may give it); whether to revise, and who said so."""

    def form_for(
        typed: RevisionConfirmation | None, mend: str | None
    ) -> type[RevisionConfirmation]:
        class Form(RevisionConfirmation):
            pass

        Form._description = preview
        return Form

    def take(answer: RevisionConfirmation, by: str) -> tuple[bool, str]:
        return answer.decision == CONFIRM, by

    return checked_answer(actor, form_for, take, key="xac-nhan", hours=CONFIRM_HOURS)


def _revise(actor: str, do: Any, *, dry_run: bool) -> services.directives.Revised:
    """The revision `do` makes, as `actor`, from this run."""
    by = issued(actor)
    return do(load_settings(), actor=by.actor, now=by.now, channel=by.channel, dry_run=dry_run)


def _run(name: str, actor: str, code: str, do: Any) -> int:
    """Preview, confirmation, revision and history, for either kind."""
    preview = _revise(actor, do, dry_run=True)
    shown = preview_markdown(preview)
    create_markdown_artifact(
        key="xem-truoc", description=f"{code}: xem trước khi ghi", markdown=shown
    )
    go, who = confirmed(actor, shown)
    if not go:
        rename_run(f"{name} · đã hủy")
        print(f"{code}: cancelled by {who}, nothing written")
        return 0
    done = _revise(who, do, dry_run=False)
    history_table(code)
    refresh_forms()
    print(f"{code}: revision {done.report.number}, {len(done.report.changes)} obligations")
    return len(done.report.changes)


def amend_run_name() -> str:
    return f"sua-doi-chi-thi · {_what(flow_run.parameters.get('directive'))}"


@flow(name="sua-doi-chi-thi", log_prints=True, flow_run_name=amend_run_name)
@for_clerks
def amend_directive(
    dispatch: str,
    dated: date,
    from_date: date,
    directive: dict[str, Any] | None = None,
    as_of: date | None = None,
) -> int:
    """Sửa đổi chỉ thị theo văn bản (số, ký hiệu; ngày văn bản; áp dụng từ ngày): toàn văn
    chỉ thị mới, cùng mã, soạn theo biểu mẫu, một tệp của dự án hoặc dán nội dung. Các nghĩa
    vụ chưa nộp có hạn từ ngày áp dụng theo nội dung mới; đơn vị có thay đổi được báo một
    lần. Xem trước rồi xác nhận."""
    actor = started_by()
    name = f"sua-doi-chi-thi · {actor} · {_what(directive)}"
    rename_run(name)
    check_actor(actor)
    spec, source = read_directive(directive)
    day = day_of(as_of)
    revision = services.directives.dispatch_of(
        dispatch, day_of(dated, "dated"), day_of(from_date, "from_date"), source="form"
    )

    def do(settings: Any, **how: Any) -> services.directives.Revised:
        return services.directives.amend(settings, spec, revision, source=source, as_of=day, **how)

    return _run(name, actor, spec.code, do)


def withdraw_run_name() -> str:
    return f"bai-bo-chi-thi · {flow_run.parameters.get('code')}"


@flow(name="bai-bo-chi-thi", log_prints=True, flow_run_name=withdraw_run_name)
@for_clerks
def withdraw_directive(
    code: str, dispatch: str, dated: date, from_date: date, as_of: date | None = None
) -> int:
    """Bãi bỏ chỉ thị theo văn bản (số, ký hiệu; ngày văn bản; áp dụng từ ngày): các nghĩa
    vụ chưa nộp có hạn từ ngày áp dụng được đóng, ghi rõ văn bản; chỉ thị không còn được mở
    kỳ hay đôn đốc. Xem trước rồi xác nhận."""
    actor = started_by()
    name = f"bai-bo-chi-thi · {actor} · {code}"
    rename_run(name)
    check_actor(actor)
    day = day_of(as_of)
    revision = services.directives.dispatch_of(
        dispatch, day_of(dated, "dated"), day_of(from_date, "from_date"), source="form"
    )

    def do(settings: Any, **how: Any) -> services.directives.Revised:
        return services.directives.withdraw(
            settings, code, revision, source="form", as_of=day, **how
        )

    return _run(name, actor, code, do)

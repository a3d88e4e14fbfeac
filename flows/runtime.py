"""What every dondoc flow shares: who acted, through which run."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast
from uuid import UUID, uuid4

import pendulum
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterNextScheduledStartTime,
    FlowRunFilterState,
    FlowRunFilterStateName,
    FlowRunFilterStateType,
    WorkPoolFilter,
    WorkPoolFilterName,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import FailedRun, Pause
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput, read_flow_run_input
from prefect.input.run_input import keyset_from_paused_state
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.states import Failed, Paused, Running, State, Suspended
from prefect.utilities.engine import propose_state_sync

import services.access
from models.errors import DondocError, InputError, NotFound, Refused, Unauthorized
from models.rules.deliverable import canonical_json
from models.rules.text import markdown_text
from models.rules.vietnamese import day_text
from models.rules.workdays import TIMEZONE
from services.checks import known_day
from services.records import Issued
from services.settings import load_settings

P = ParamSpec("P")
R = TypeVar("R")
# How long a run waiting on a form keeps its process (and worker slot), so that a Resume
# continues it at once rather than starting the flow again in a new process; after that it
# is suspended (no process) until the clerk sends the form.
HERE_SECONDS = 600
# How often a run waiting in its process looks whether it was resumed.
POLL_SECONDS = 0.5
# A run of the work pool due this long ago and not started waits for a worker slot (the
# worker looks every second): a run waiting in its process then gives its slot up, the longest
# waiting first. Looked at as often, a query of the pool's runs.
QUEUED_SECONDS = 2
# The key of the suspension a form's wait goes on to, after the pause of key `key`.
LATER = "-suspended"
# How many forms a clerk is given for one answer the flow finds wrong, before it refuses.
TRIES = 5
# The name a refused run's state takes, which its badge shows instead of "Failed".
REFUSED = "Bị từ chối"
# What a clerk can do about each kind of refusal.
NEXT_STEPS: dict[type[DondocError], str] = {
    InputError: "Sửa thông tin đã nêu trong biểu mẫu rồi chạy lại.",
    Refused: "Xem tình trạng hiện tại của nghĩa vụ (bảng tình hình thực hiện, hoặc hỏi cơ quan "
    "chủ trì) trước khi làm lại.",
    Unauthorized: "Đăng nhập dondoc bằng tài khoản của mình rồi chạy biểu mẫu từ đó; nếu cần "
    "quyền khác, liên hệ quản trị viên.",
    NotFound: "Kiểm tra lại mã số đã chọn trong biểu mẫu.",
}


def run_id() -> str:
    """This flow run's id (a fresh one when the flow is called outside a run)."""
    return str(flow_run.id or uuid4())


def dated_run_name() -> str:
    """A scheduled run's name: its flow and the day it is for, `trang-thai-hang-ngay ·
    10/03/2024` (today unless the run names a day)."""
    given = flow_run.parameters.get("as_of")
    try:
        day = date.fromisoformat(str(given)) if given else pendulum.now(TIMEZONE).date()
    except ValueError:
        return f"{flow_run.flow_name} · {given}"
    return f"{flow_run.flow_name} · {day_text(day)}"


def rename_run(name: str) -> None:
    """Give this flow run a name that says who, what and which period, once they are known
    (nothing outside a run)."""
    if flow_run.id is not None:
        with get_client(sync_client=True) as client:
            client.set_flow_run_name(UUID(flow_run.id), name)


def started_by() -> str:
    """Who started this run: the person the gate signed in, by the grant it stamped on the run
    (its `dondoc.grant` label), redeemed now (again, for this same run, once it is resumed).
    Unauthorized, with the denial recorded, for a run created any other way: on the Prefect
    API directly, with a copied, made-up or lapsed key or none, whatever its parameters and
    other labels claim."""
    rid = run_id()
    labels: dict[str, Any] = {}
    deployment = ""
    if flow_run.id is not None:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run.id))
        labels, deployment = dict(run.labels), str(run.deployment_id or "")
    key = labels.get(services.access.GRANT_LABEL)
    return services.access.redeem_start(
        load_settings(),
        key if isinstance(key, str) else None,
        flow_run_id=rid,
        deployment_id=deployment,
        now=pendulum.now("UTC"),
    )


def answer_of(starter: str, form: type[RunInput], *, key: str, hours: int) -> tuple[Any, str]:
    """Wait up to `hours` for the answer to `form`: first in this process while the clerk is
    at the form (`_wait_here`: a Resume continues the run at once), then suspended, holding
    no process (a Resume then starts the flow again from the top, and this returns the answer
    stored). Once resumed, the answer and who gave it: the person the gate let resume it with
    this very answer (the grant names the SHA-256 of the answer Prefect stored), who must be
    its `starter` or an administrator. Unauthorized, with the denial recorded, otherwise."""
    later = f"{key}{LATER}"
    answer = None if later in _fired() else _wait_here(form, key=key, hours=hours)
    asked: State[Any] = Paused(pause_key=key)
    if answer is None:
        answer = suspend_flow_run(wait_for_input=form, timeout=hours * 3600, key=later)
        asked = Suspended(pause_key=later)
    # the answer as sent, under the key the pause stored it at (nothing for `{}`)
    stored = read_flow_run_input(keyset_from_paused_state(asked)["response"])
    sent = hashlib.sha256(canonical_json({} if stored is None else stored).encode()).hexdigest()
    by = services.access.redeem_resume(
        load_settings(), run_id(), sent, starter=starter, now=pendulum.now("UTC")
    )
    return answer, by


def _wait_here(form: type[RunInput], *, key: str, hours: int) -> Any | None:
    """Wait Paused on `form` in this process (which keeps its worker slot): the answer once
    the run is resumed; None, the run Running again, once the form has been idle
    HERE_SECONDS, or sooner when runs of the work pool wait for a worker slot and this is
    among the longest waiting in place."""
    rid = UUID(run_id())
    paused: State[Any] = Paused(timeout_seconds=hours * 3600, pause_key=key)
    keyset = keyset_from_paused_state(paused)
    paused.state_details.run_input_keyset = cast(dict[str, str], keyset)
    with get_client(sync_client=True) as client:
        if propose_state_sync(client, paused, flow_run_id=rid).is_running():
            return form.load(keyset)  # this pause fired before and was answered
        form.save(keyset)
        began = time.monotonic()
        looked = began - QUEUED_SECONDS  # a run already waiting for the slot has it at once
        while True:
            time.sleep(POLL_SECONDS)
            run = client.read_flow_run(rid)
            if run.state is not None and run.state.is_running():
                return form.load(keyset)
            if run.state is not None and run.state.name != "Paused":
                raise Pause(state=run.state)  # put away meanwhile (`put_away_waiting`): exit
            if time.monotonic() - began >= HERE_SECONDS:
                why = f"Biểu mẫu để quá {HERE_SECONDS // 60} phút"
                break
            # whether a slot is wanted, every QUEUED_SECONDS (a query of the pool's runs)
            if time.monotonic() - looked >= QUEUED_SECONDS:
                looked = time.monotonic()
                if _slot_wanted(client, run):
                    why = "Có lượt chạy khác đang chờ chỗ trên worker"
                    break
        # taken back to Running, so that it can be suspended; a Resume that came first won
        # (the run was Running already) and stored its answer
        propose_state_sync(client, Running(), flow_run_id=rid)
    if read_flow_run_input(keyset["response"]) is not None:
        return form.load(keyset)
    get_run_logger().info(
        "%s: lượt chạy tạm dừng (Suspended) để không giữ tiến trình; biểu mẫu vẫn mở, gửi "
        "biểu mẫu thì lượt chạy tiếp tục.",
        why,
    )
    return None


def _slot_wanted(client: SyncPrefectClient, run: FlowRun) -> bool:
    """Whether runs of this run's work pool wait for a worker slot (due QUEUED_SECONDS ago and
    not started), as many as or more than the runs waiting in place (Paused) that started
    before this one: the longest waiting give their slots first."""
    pool = WorkPoolFilter(name=WorkPoolFilterName(any_=[run.work_pool_name or ""]))
    due = datetime.now(UTC) - timedelta(seconds=QUEUED_SECONDS)
    queued = client.count_flow_runs(
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
            next_scheduled_start_time=FlowRunFilterNextScheduledStartTime.model_validate(
                {"before_": due}
            ),
        ),
        work_pool_filter=pool,
    )
    if not queued:
        return False
    waiting = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.PAUSED]),
                name=FlowRunFilterStateName(any_=["Paused"]),
            )
        ),
        work_pool_filter=pool,
        sort=FlowRunSort.START_TIME_ASC,
        limit=queued,
    )
    return any(other.id == run.id for other in waiting)


def put_away_waiting(pool: str) -> int:
    """Suspend every run of the work pool that waits on a form in its process (Paused), as if
    its form had been idle: for when no process of theirs can be alive (the stack starting
    again after it stopped, which ended them), so that a Resume starts the flow again rather
    than leaving the run Running with no process. The same form stays open, its answer stored
    where the flow reads it (the pause's keys). How many were put away."""
    waiting = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.PAUSED]),
            name=FlowRunFilterStateName(any_=["Paused"]),
        )
    )
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=waiting,
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
        )
        for run in runs:
            paused = run.state.state_details if run.state is not None else None
            if paused is None or paused.pause_key is None:
                continue
            put_away: State[Any] = Suspended(
                pause_expiration_time=paused.pause_timeout, pause_key=paused.pause_key
            )
            put_away.state_details.run_input_keyset = paused.run_input_keyset
            # forced: Prefect has no transition from one pause to another
            client.set_flow_run_state(run.id, put_away, force=True)
    return len(runs)


def _fired() -> set[str]:
    """The keys of every pause and suspension of this run that fired (none outside a run)."""
    if flow_run.id is None:
        return set()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run.id))
    return set(run.empirical_policy.pause_keys or set())


def checked_answer(
    starter: str,
    form_for: Callable[[Any, str | None], type[RunInput]],
    take: Callable[[Any, str], R],
    *,
    key: str,
    hours: int,
    tries: int = TRIES,
) -> R:
    """Ask on `form_for(None, None)` (`answer_of`) and hand the answer and who gave it to
    `take`. An answer `take` finds wrong (InputError, Refused) is asked again: the run waits
    on `form_for(answer, line)`, the form with what was typed kept and the line saying what
    to mend; after `tries` forms the refusal stands. A run resumed from a suspension starts
    from the top, and each answer's grant is redeemed once: the forms shown before the last
    were answered and found wrong in earlier passes, so only the last answer is read."""
    keys = [key, *(f"{key}-{n}" for n in range(2, tries + 1))]
    fired = _fired()
    shown = sum(k in fired or f"{k}{LATER}" in fired for k in keys)
    form = form_for(None, None)
    for n in range(max(shown, 1), tries):
        answer, by = answer_of(starter, form, key=keys[n - 1], hours=hours)
        try:
            return take(answer, by)
        except (InputError, Refused) as wrong:
            form = form_for(answer, refusal_line(wrong))
    answer, by = answer_of(starter, form, key=keys[-1], hours=hours)
    return take(answer, by)


def issued(actor: str) -> Issued:
    """A command from this flow run: the channel names the run, and the run id is the
    idempotency key, so a retried run appends nothing twice."""
    rid = run_id()
    return Issued(actor, f"prefect:{rid}", f"prefect-ui:{rid}", pendulum.now("UTC"))


def day_of(as_of: date | None, field: str = "as_of") -> date:
    """The day a run is for: the form's, if its year's working days are known, or today in
    Asia/Ho_Chi_Minh."""
    if as_of is None:
        return pendulum.now(TIMEZONE).date()
    return known_day(as_of, "form", field)


# The lines refused runs of this process ended with (a worker runs each flow run in a process
# of its own).
_refused_lines: set[str] = set()


class _RefusalsWithoutTraceback(logging.Filter):
    """Prefect's engine logs the end of every Failed run as an error, "Engine execution exited
    with unexpected exception", with the traceback of the exception its result raises. For a
    refusal, whose reason the clerk reads as the state message, that record becomes a warning
    naming the refusal, without a traceback; every other failure keeps it as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, FailedRun) and str(error) in _refused_lines:
            record.msg, record.args = f"Từ chối: {error}", ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


logging.getLogger("prefect.flow_runs").addFilter(_RefusalsWithoutTraceback())


def _next_step(refused: DondocError) -> str:
    return next(step for kind, step in NEXT_STEPS.items() if isinstance(refused, kind))


def refusal_line(refused: DondocError) -> str:
    """The one Vietnamese line a clerk reads for a refusal (the English of the error is the
    administrator's, in `technical_detail`)."""
    return refused.vi or "Yêu cầu không thực hiện được."


def technical_detail(refused: DondocError) -> str:
    """What the administrator needs to find a refusal, in names rather than English: the
    kind of error and, for bad input, the source, field and value."""
    parts = [_code(type(refused).__name__)]
    if isinstance(refused, InputError):
        parts += [
            f"nguồn {_code(refused.source)}",
            f"trường {_code(refused.field)}",
            f"giá trị «{markdown_text(repr(refused.value))}»",
        ]
    return " · ".join(parts)


def _code(name: str) -> str:
    """A name as a code span (a backtick in it would end the span: shown as a quote)."""
    return "`" + " ".join(name.replace("`", "'").split()) + "`"


def refusal_markdown(refused: DondocError) -> str:
    """The refusal's artifact: the clerk's line, what to do next, and the technical detail
    for the administrator."""
    return (
        f"# Yêu cầu không được thực hiện\n\n**{markdown_text(refusal_line(refused))}**\n\n"
        f"Việc cần làm: {_next_step(refused)}\n\n"
        f"Chi tiết kỹ thuật (cho quản trị viên): {technical_detail(refused)}\n"
    )


def refused_state(refused: DondocError) -> State[Any]:
    """How a refused run ends: Failed, under the name its badge shows ("Bị từ chối"), with
    the one Vietnamese line as the message beside it."""
    return Failed(name=REFUSED, message=refusal_line(refused))


def refused_run_name(name: str) -> str:
    """A refused run's name says so: `xet-duyet · svhttdl.an · bị từ chối`."""
    return f"{name} · {REFUSED.lower()}"


def _mark_refused() -> None:
    """Rename this run as refused (nothing outside a run)."""
    if flow_run.id is not None:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run.id))
            client.set_flow_run_name(run.id, refused_run_name(run.name))


def for_clerks(func: Callable[P, R]) -> Callable[P, R | State[Any]]:
    """A form's flow, for the clerks who fill it in: an expected refusal (bad input, a state
    that does not allow it, no right, nothing found) ends the run Failed, its badge and name
    saying "bị từ chối", with one Vietnamese line as its state message and an artifact
    saying what to do next, with no traceback in the run's logs. Anything else still fails
    loudly."""

    @wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R | State[Any]:
        try:
            return func(*args, **kwargs)
        except (InputError, Refused, Unauthorized, NotFound) as refused:
            line = refusal_line(refused)
            create_markdown_artifact(
                key="tu-choi",
                description="Yêu cầu không được thực hiện",
                markdown=refusal_markdown(refused),
            )
            _refused_lines.add(line)
            _mark_refused()
            return refused_state(refused)

    return run

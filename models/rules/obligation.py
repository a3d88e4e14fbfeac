"""The obligation's state machine: commands decide events, events evolve state.

Pure: no database, no clock. The store feeds it the current state and appends what it
decides; `log rebuild` replays the same `evolve` over the log.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from hashlib import sha256
from json.encoder import encode_basestring  # canonical_json's encoding of a string
from typing import Any, NamedTuple

from models.errors import InputError, Refused
from models.rules import lengths
from models.rules.deliverable import Deliverable, canonical_json, nfc
from models.rules.status import STATUS_WORDS
from models.rules.text import character_problem, control_character
from models.rules.vietnamese import number_text
from models.rules.workdays import WorkCalendar, local_date

GENESIS = "0" * 64
OPEN_STATES = ("open", "returned")
URL = re.compile(r"^https?://\S+$")
TRUE_WORDS = ("true", "yes", "1", "có", "co", "x")
FALSE_WORDS = ("false", "no", "0", "không", "khong", "")
# A figure's number as typed: ASCII digits only (int() and float() would also read Arabic-Indic
# or fullwidth digits, which no clerk means as a figure), optionally signed, with a decimal
# point and an exponent for `number` figures.
WHOLE = re.compile(r"[+-]?[0-9]+")
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# The largest magnitude a number figure takes: whole numbers up to it are exact in
# figure_value's double (below 2**53), and a total over any number of units stays finite.
FIGURE_BOUND = 10**15
OUT_OF_BOUNDS = f"must be between -{FIGURE_BOUND:,} and {FIGURE_BOUND:,}"


class Decision(NamedTuple):
    """An event a command decided on, before it is numbered and chained."""

    kind: str
    payload: dict[str, Any]


class State(NamedTuple):
    """What the log says about one obligation now (the projection's columns). A named tuple:
    every event folded builds one, and a bulk run folds hundreds of thousands."""

    status: str
    version: int
    due_date: date | None
    effective_due: date | None
    figures: dict[str, Any] | None
    narrative: str | None
    evidence: str | None
    submitted_at: datetime | None
    handed_in_on: date | None  # the local day the report arrived: on time is judged by it
    decided_at: datetime | None
    last_hash: str


def event_hash(
    prev_hash: str,
    version: int,
    kind: str,
    idempotency_key: str,
    actor: str,
    at: datetime,
    channel: str,
    payload: str,
) -> str:
    """SHA-256 over the previous hash and every stored field of the event."""
    return digester(actor, utc_text(at), channel)(
        prev_hash, version, kind, idempotency_key, payload
    )


Digest = Callable[[str, int, str, str, str], str]


def digester(actor: str, at_text: str, channel: str) -> Digest:
    """`event_hash` for events stamped with one actor, time (in its hashed form, `utc_text`)
    and channel, as bulk writers stamp theirs: (prev_hash, version, kind, idempotency_key,
    payload) -> hash. The hashed material is every field joined by U+001F, in that order."""
    stamp = f"\x1f{actor}\x1f{at_text}\x1f{channel}\x1f"

    def digest(prev_hash: str, version: int, kind: str, idempotency_key: str, payload: str) -> str:
        material = f"{prev_hash}\x1f{version}\x1f{kind}\x1f{idempotency_key}{stamp}{payload}"
        return sha256(material.encode()).hexdigest()

    return digest


def utc_text(at: datetime) -> str:
    """The instant as hashed: ISO 8601 in UTC with microseconds."""
    if at.utcoffset() is None:
        raise ValueError("event times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def created_payload(
    directive: str,
    requirement: str,
    unit: str,
    period: str,
    start: date,
    end: date | None,
    due: date | None,
    taken_over: int | None = None,
) -> dict[str, Any]:
    """What the `created` event records: the obligation's identity and its due date, and for
    work a successor takes over, the obligation of the closed unit it comes from."""
    payload: dict[str, Any] = {
        "directive": directive,
        "requirement": requirement,
        "unit": unit,
        "period": period,
        "start": start.isoformat(),
        "end": end.isoformat() if end else None,
        "due": due.isoformat() if due else None,
    }
    if taken_over is not None:
        payload["from"] = taken_over
    return payload


def created_texts(
    directive: str,
    requirement: str,
    period: str,
    start: date,
    end: date | None,
    due: date | None,
) -> Callable[[str], str]:
    """For the obligations of one period: each unit's `created_payload` as `payload_text`,
    the part they share encoded once (the unit is the last of the sorted keys, so its text
    ends the payload's). Only the text: a bulk run stores and hashes it, and the state it
    folds to needs the due date alone (`created_state`)."""
    shared = created_payload(directive, requirement, "", period, start, end, due)
    del shared["unit"]
    head = payload_text(shared)[:-1] + ',"unit":'

    def created(unit: str) -> str:
        return f"{head}{encode_basestring(unit)}}}"

    return created


def created_state(due: date | None, digest: str) -> State:
    """The state a `created` event leads to: it depends on the payload's due date alone, so a
    bulk run folds it once per due date."""
    return State("open", 1, due, due, None, None, None, None, None, None, digest)


def evolve(
    state: State | None, kind: str, payload: dict[str, Any], at: datetime, digest: str
) -> State:
    """The state after one more event."""
    if kind == "created":
        due = date.fromisoformat(payload["due"]) if payload["due"] else None
        return created_state(due, digest)
    if state is None:
        raise ValueError(f"a {kind} event cannot start an obligation's log")
    # built directly rather than with _replace(): this line runs for every event folded
    state = State(
        state.status,
        state.version + 1,
        state.due_date,
        state.effective_due,
        state.figures,
        state.narrative,
        state.evidence,
        state.submitted_at,
        state.handed_in_on,
        state.decided_at,
        digest,
    )
    if kind == "submitted":
        return state._replace(
            status="submitted",
            figures=payload["figures"],
            narrative=payload.get("narrative"),
            evidence=payload.get("evidence"),
            submitted_at=at,
            handed_in_on=arrival_day(payload, at),
        )
    if kind == "accepted":
        return state._replace(
            status="accepted_late" if payload["late"] else "accepted", decided_at=at
        )
    if kind == "returned":
        return state._replace(status="returned", decided_at=at)
    if kind == "extended":
        return state._replace(effective_due=date.fromisoformat(payload["due"]))
    if kind == "waived":
        return state._replace(status="waived", decided_at=at)
    if kind == "closed":
        return state._replace(status="closed", decided_at=at)
    if kind == "transferred":
        return state._replace(status="transferred", decided_at=at)
    if kind == "revised":
        return state._replace(
            due_date=_day(payload["due"]), effective_due=_day(payload["effective_due"])
        )
    if kind in ("reminded", "escalated"):
        return state
    raise ValueError(f"unknown event kind {kind!r}")


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


# What each command is called in a clerk's message.
VERBS = {
    "publish": "công bố",
    "submit": "nộp",
    "receive": "vào sổ báo cáo đến",
    "accept": "chấp nhận",
    "return": "trả lại",
    "extend": "gia hạn",
    "waive": "miễn",
    "review": "xét duyệt",
    "chase": "đôn đốc",
    "transfer": "chuyển cho đơn vị kế thừa",
    "close": "đóng",
    "revise": "điều chỉnh theo văn bản sửa đổi",
}
# Why a figure's value is refused, in a clerk's words (`_figure_value`'s reasons).
FIGURE_PROBLEMS = {
    "must be text": "phải là chữ",
    "must be true or false": "phải là có hoặc không",
    "must be a whole number": "phải là số nguyên",
    "must be a number": "phải là số",
    "must be a finite number": "phải là một số cụ thể",
    "must be written with the digits 0-9": "phải viết bằng các chữ số 0-9",
    OUT_OF_BOUNDS: f"phải nằm trong khoảng ±{number_text(FIGURE_BOUND)}",
}


def _require(state: State, allowed: tuple[str, ...], command: str) -> None:
    if state.status not in allowed:
        raise Refused(
            f"cannot {command}: the obligation is {state.status}; "
            f"{command} needs it to be {' or '.join(allowed)}",
            vi=f"Không thể {VERBS[command]}: nghĩa vụ đang ở trạng thái "
            f"«{STATUS_WORDS[state.status]}».",
        )


def reason_text(reason: str | None, command: str) -> str:
    """A required reason as recorded."""
    text = nfc((reason or "").strip())
    if not text:
        raise InputError(command, "reason", reason, "a reason is required", vi="Cần ghi rõ lý do.")
    return text


def note_text(note: str | None) -> str | None:
    """An optional reason as recorded."""
    return nfc((note or "").strip()) or None


def decide_submit(
    state: State,
    what: Deliverable,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
) -> Decision:
    """A unit hands in its figures; they must fit the requirement."""
    _require(state, OPEN_STATES, "submit")
    clean = validate_submission(what, figures, narrative, evidence)
    return Decision("submitted", clean)


# The channels a report reaches the lead office by outside dondoc's forms, by the code
# recorded, with the name the lead office knows them by.
CHANNELS = {
    "giay": "Giấy",
    "thu-dien-tu": "Thư điện tử công vụ",
    "he-thong-van-ban": "Hệ thống quản lý văn bản",
}


def arrival_day(payload: dict[str, Any], at: datetime) -> date:
    """The day a `submitted` event's report arrived: the day the lead office entered for one
    received by another channel, otherwise the local day it was recorded."""
    received = payload.get("received")
    return date.fromisoformat(received["arrived"]) if received else local_date(at)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A unit's report that reached the lead office on paper, by official e-mail or through
    the document system, as its register of incoming documents records it."""

    channel: str
    arrived: date  # ngày đến
    number: str  # số, ký hiệu of the incoming document
    scan: str | None = None  # a link to its scan or its copy in the document system
    reason: str | None = None  # why it is entered only now, when that is long after


def validate_arrival(
    arrival: Arrival,
    *,
    today: date,
    period_start: date,
    grace_days: int,
    calendar: WorkCalendar,
) -> dict[str, Any]:
    """What the `submitted` event of a report received by another channel records of its
    arrival, or InputError naming the first bad field: the arrival day is neither after the
    day it is entered (`today`) nor before the period starts, and an arrival entered more
    than `grace_days` working days afterwards says why."""
    if arrival.channel not in CHANNELS:
        raise InputError(
            "receive",
            "channel",
            arrival.channel,
            f"must be one of {', '.join(CHANNELS)}",
            vi=f"Kênh nhận phải là một trong: {', '.join(CHANNELS.values())}.",
        )
    if arrival.arrived > today:
        raise InputError(
            "receive",
            "arrived",
            arrival.arrived.isoformat(),
            f"is after the day it is entered, {today.isoformat()}",
            vi=f"Ngày đến {arrival.arrived:%d/%m/%Y} muộn hơn ngày vào sổ {today:%d/%m/%Y}: "
            "báo cáo chưa thể đến sau ngày ghi nhận.",
        )
    if arrival.arrived < period_start:
        raise InputError(
            "receive",
            "arrived",
            arrival.arrived.isoformat(),
            f"is before the period starts, {period_start.isoformat()}",
            vi=f"Ngày đến {arrival.arrived:%d/%m/%Y} trước ngày bắt đầu kỳ báo cáo "
            f"{period_start:%d/%m/%Y}.",
        )
    number = _free_text(
        "number", "Số, ký hiệu", arrival.number, limit=lengths.DIRECTIVE_CODE, command="receive"
    )
    if number is None or control_character(number, one_line=True):
        raise InputError(
            "receive",
            "number",
            arrival.number,
            "the incoming document's number and symbol are required, on one line",
            vi="Cần ghi số, ký hiệu của văn bản đến, trên một dòng.",
        )
    scan = _link("scan", "Bản chụp, đường dẫn", arrival.scan, command="receive")
    reason = _free_text("reason", "Lý do vào sổ muộn", arrival.reason, command="receive")
    if reason is None and today > calendar.add_working_days(arrival.arrived, grace_days):
        raise InputError(
            "receive",
            "reason",
            arrival.reason,
            f"the report arrived on {arrival.arrived.isoformat()}, more than {grace_days} "
            "working days before it is entered: say why it is entered only now",
            vi=f"Báo cáo đến ngày {arrival.arrived:%d/%m/%Y}, quá {grace_days} ngày làm việc "
            "trước ngày vào sổ: cần ghi lý do vào sổ muộn.",
        )
    return {
        "channel": arrival.channel,
        "arrived": arrival.arrived.isoformat(),
        "number": number,
        "scan": scan,
        "reason": reason,
    }


def decide_receive(
    state: State,
    what: Deliverable,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
    arrival: Arrival,
    *,
    today: date,
    period_start: date,
    grace_days: int,
    calendar: WorkCalendar,
) -> Decision:
    """The lead office records a unit's report that arrived by another channel: a submission
    like the unit's own, with its arrival (`validate_arrival`, entered `today`)."""
    _require(state, OPEN_STATES, "receive")
    return Decision(
        "submitted",
        received_payload(
            what,
            figures,
            narrative,
            evidence,
            arrival,
            today=today,
            period_start=period_start,
            grace_days=grace_days,
            calendar=calendar,
        ),
    )


def received_payload(
    what: Deliverable,
    figures: dict[str, Any],
    narrative: str | None,
    evidence: str | None,
    arrival: Arrival,
    *,
    today: date,
    period_start: date,
    grace_days: int,
    calendar: WorkCalendar,
) -> dict[str, Any]:
    """The payload of a report received by another channel: what was handed in, as a unit's
    own submission records it, and under `received` its arrival."""
    handed_in = validate_submission(what, figures, narrative, evidence)
    received = validate_arrival(
        arrival,
        today=today,
        period_start=period_start,
        grace_days=grace_days,
        calendar=calendar,
    )
    return {**handed_in, "received": received}


# The channel a reply to a reminder arrives by.
MAIL = "thu-dien-tu"


def decide_reply(
    state: State,
    what: Deliverable,
    handed_in: dict[str, Any],
    *,
    arrived_at: datetime,
    sender: str,
) -> Decision:
    """A unit hands in by answering its reminder: a submission like its form's (`handed_in`:
    figures, narrative, evidence as `validate_submission` takes them), received by e-mail
    from `sender` at `arrived_at`, on time by the local day it arrived."""
    _require(state, OPEN_STATES, "submit")
    payload = validate_submission(what, **handed_in)
    received = {
        "channel": MAIL,
        "arrived": local_date(arrived_at).isoformat(),
        "at": utc_text(arrived_at),
        "from": sender,
    }
    return Decision("submitted", {**payload, "received": received})


def decide_accept(state: State) -> Decision:
    """The lead office accepts; late if it arrived after the effective due date (the local
    day it was recorded, or the arrival day the lead office entered for one received by
    another channel)."""
    _require(state, ("submitted",), "accept")
    assert state.handed_in_on is not None
    late = state.effective_due is not None and state.handed_in_on > state.effective_due
    return Decision("accepted", {"late": late})


def decide_return(state: State, reason: str | None) -> Decision:
    """The lead office sends a submission back for correction."""
    _require(state, ("submitted",), "return")
    return Decision("returned", {"reason": reason_text(reason, "return")})


def decide_extend(state: State, new_due: date, reason: str | None) -> Decision:
    """The lead office moves the due date later."""
    _require(state, OPEN_STATES, "extend")
    if state.effective_due is None:
        raise Refused(
            "cannot extend: a standing duty has no due date",
            vi="Không thể gia hạn: nhiệm vụ thường xuyên không có hạn.",
        )
    if new_due <= state.effective_due:
        raise InputError(
            "extend",
            "due",
            new_due.isoformat(),
            f"must be after the current due date {state.effective_due.isoformat()}",
            vi=f"Hạn mới phải sau hạn hiện tại {state.effective_due:%d/%m/%Y}.",
        )
    return Decision("extended", {"due": new_due.isoformat(), "reason": note_text(reason)})


def decide_waive(state: State, reason: str | None) -> Decision:
    """The lead office releases the unit from this obligation."""
    _require(state, OPEN_STATES, "waive")
    return Decision("waived", {"reason": reason_text(reason, "waive")})


def decide_transfer(state: State, unit: str, closed_on: date, heir: str, to: int) -> Decision:
    """A closed unit's work for a period after its closure passes to its successor, whose
    obligation `to` now owes it."""
    _require(state, OPEN_STATES, "transfer")
    return Decision(
        "transferred",
        {"unit": unit, "closed_on": closed_on.isoformat(), "to_unit": heir, "to": to},
    )


def decide_cancel(state: State, unit: str, closed_on: date) -> Decision:
    """A closed unit with no successor owes nothing for periods after its closure: the
    obligation is closed, and not counted as missing."""
    _require(state, OPEN_STATES, "close")
    return Decision(
        "closed",
        {"reason": f"unit {unit} closed on {closed_on.isoformat()} with no successor"},
    )


def decide_revise(
    state: State, *, revision: dict[str, Any], due: date | None, changes: list[str]
) -> Decision:
    """A later dispatch (`revision`: its number, dispatch and from-date) changes what an
    obligation still owed must meet: its due date as the directive now sets it (an extension
    granted on the old one holds where it is later), and what else changed for it, in words."""
    _require(state, OPEN_STATES, "revise")
    effective = due
    extended = state.effective_due is not None and state.effective_due != state.due_date
    if due is not None and extended and state.effective_due is not None:
        effective = max(due, state.effective_due)
    return Decision(
        "revised",
        {
            **revision,
            "due": None if due is None else due.isoformat(),
            "effective_due": None if effective is None else effective.isoformat(),
            "changes": changes,
        },
    )


def decide_revoke(state: State, *, revision: dict[str, Any], reason: str) -> Decision:
    """A later dispatch (`revision`) releases an obligation still owed: the directive is
    withdrawn, or its unit or requirement dropped. It is closed, naming the dispatch, and not
    counted as missing."""
    _require(state, OPEN_STATES, "revise")
    return Decision("closed", {**revision, "reason": reason})


def decide_chase(state: State, kind: str, step: str, to: str) -> Decision:
    """dondoc reminds the unit (`reminded`) or escalates (`escalated`) for one ladder step:
    only while the obligation is still owed and has a due date."""
    _require(state, OPEN_STATES, "chase")
    if state.effective_due is None:
        raise Refused(
            "cannot chase: a standing duty has no due date",
            vi="Không đôn đốc được: nhiệm vụ thường xuyên không có hạn nộp.",
        )
    if kind not in ("reminded", "escalated"):
        raise ValueError(f"a chase records reminded or escalated, not {kind!r}")
    return Decision(kind, {"step": step, "to": to, "due": state.effective_due.isoformat()})


def _figure_value(kind: str, value: Any) -> Any:
    """The value as its type, accepting the text a command line or form sends."""
    if isinstance(value, str) and (char := control_character(value, one_line=True)):
        raise ValueError(character_problem(char))
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("must be text")
        return nfc(value.strip())
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise ValueError("must be true or false")
    if isinstance(value, bool):
        raise ValueError(f"must be {'a whole number' if kind == 'integer' else 'a number'}")
    if isinstance(value, str):
        value = _typed_number(kind, value.strip())
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ValueError("must be a whole number")
        return _bounded(value)
    if isinstance(value, int):
        return float(_bounded(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return _bounded(number)


def _typed_number(kind: str, text: str) -> int | float:
    """A number typed as text, in ASCII digits; one too long to be a figure is out of bounds
    (and never handed to int(), which refuses more than 4,300 digits)."""
    if WHOLE.fullmatch(text):
        if len(text.lstrip("+-0")) > len(str(FIGURE_BOUND)):
            raise ValueError(OUT_OF_BOUNDS)
        return int(text)
    if kind == "number" and DECIMAL.fullmatch(text):
        return _bounded(float(text))  # "1e400" reads as infinity
    if any(char.isdigit() and not char.isascii() for char in text):
        raise ValueError("must be written with the digits 0-9")
    raise ValueError("must be a whole number" if kind == "integer" else "must be a number")


def _bounded(number: float) -> Any:
    """`number`, if within ±FIGURE_BOUND."""
    if not -FIGURE_BOUND <= number <= FIGURE_BOUND:
        raise ValueError(OUT_OF_BOUNDS)
    return number


def _free_text(
    field: str, label: str, value: object, *, limit: int | None = None, command: str = "submit"
) -> str | None:
    """A narrative, a link or a note as handed in to `command`: text or nothing, without the
    control characters no document or database holds, and within what its column holds
    (`limit`); trimmed, and None when empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(command, field, value, "must be text", vi=f"«{label}» phải là chữ.")
    char = control_character(value)
    if char is not None:
        raise InputError(
            command,
            field,
            value,
            character_problem(char),
            vi=f"«{label}» chứa ký tự không được phép (U+{ord(char):04X}).",
        )
    text = nfc(value.strip()) or None
    if limit is not None and text is not None and len(text) > limit:
        raise InputError(
            command,
            field,
            f"{text[:40]}…",
            f"is {len(text):,} characters long; at most {limit:,} are kept",
            vi=f"«{label}» dài quá {number_text(limit)} ký tự.",
        )
    return text


def validate_submission(
    what: Deliverable, figures: dict[str, Any], narrative: str | None, evidence: str | None
) -> dict[str, Any]:
    """The submission's payload, or InputError naming the first bad field and its value."""
    if not isinstance(figures, dict):
        raise InputError(
            "submit",
            "figures",
            figures,
            "must map figure keys to values",
            vi="Số liệu không hợp lệ.",
        )
    known = {f.key: f for f in what.figures}
    for key in figures:
        if key not in known:
            raise InputError(
                "submit",
                f"figures.{key}",
                figures[key],
                f"is not a figure of this requirement ({', '.join(known) or 'none'})",
                vi=f"«{key}» không phải chỉ tiêu của nhiệm vụ này.",
            )
    clean: dict[str, Any] = {}
    for key, spec in known.items():
        raw = figures.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip() and spec.type != "text"):
            if spec.required:
                raise InputError(
                    "submit",
                    f"figures.{key}",
                    raw,
                    f"{spec.label} is required",
                    vi=f"Chưa nhập chỉ tiêu «{spec.label}».",
                )
            continue
        try:
            value = _figure_value(spec.type, raw)
        except ValueError as exc:
            problem = FIGURE_PROBLEMS.get(str(exc))
            raise InputError(
                "submit",
                f"figures.{key}",
                raw,
                f"{spec.label} {exc}",
                # the other reasons are characters the clerk's message must not repeat
                vi=f"Chỉ tiêu «{spec.label}» {problem} (đã nhập «{raw}»)."
                if problem
                else f"Chỉ tiêu «{spec.label}» chứa ký tự không được phép.",
            ) from None
        if spec.min is not None and value < spec.min:
            raise InputError(
                "submit",
                f"figures.{key}",
                raw,
                f"{spec.label} must be at least {spec.min:g}",
                vi=f"Chỉ tiêu «{spec.label}» không được nhỏ hơn {spec.min:g} (đã nhập «{raw}»).",
            )
        if spec.max is not None and value > spec.max:
            raise InputError(
                "submit",
                f"figures.{key}",
                raw,
                f"{spec.label} must be at most {spec.max:g}",
                vi=f"Chỉ tiêu «{spec.label}» không được lớn hơn {spec.max:g} (đã nhập «{raw}»).",
            )
        clean[key] = value
    text = _free_text(
        "narrative", what.narrative.label if what.narrative else "Nội dung", narrative
    )
    if what.narrative is None and text:
        raise InputError(
            "submit",
            "narrative",
            narrative,
            "this requirement takes no narrative",
            vi="Nhiệm vụ này không nhận phần nội dung: hãy để trống.",
        )
    if what.narrative is not None and what.narrative.required and not text:
        raise InputError(
            "submit",
            "narrative",
            narrative,
            f"{what.narrative.label} is required",
            vi=f"Chưa nhập «{what.narrative.label}».",
        )
    link = _link("evidence", what.evidence.label if what.evidence else "Minh chứng", evidence)
    if what.evidence is None and link:
        raise InputError(
            "submit",
            "evidence",
            evidence,
            "this requirement takes no evidence link",
            vi="Nhiệm vụ này không nhận đường dẫn minh chứng: hãy để trống.",
        )
    if what.evidence is not None and what.evidence.required and not link:
        raise InputError(
            "submit",
            "evidence",
            evidence,
            f"{what.evidence.label} is required",
            vi=f"Chưa nhập «{what.evidence.label}».",
        )
    return {"figures": clean, "narrative": text, "evidence": link}


def _link(field: str, label: str, value: object, *, command: str = "submit") -> str | None:
    """An evidence link or a scan's address: an http(s) link, within the evidence column's
    length, or nothing."""
    link = _free_text(field, label, value, limit=lengths.EVIDENCE, command=command)
    if link and not URL.match(link):
        raise InputError(
            command,
            field,
            value,
            "must be an http(s) link",
            vi=f"«{label}» phải là đường dẫn bắt đầu bằng http:// hoặc https://.",
        )
    return link


def payload_text(payload: dict[str, Any]) -> str:
    """The payload as stored and hashed."""
    return canonical_json(payload)


def load_payload(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("an event payload must be a JSON object")
    return value

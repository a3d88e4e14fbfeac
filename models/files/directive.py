"""Directive files: one YAML file per directive, validated before anything is written.

A directive names its issuer, document number and symbol (blank while a draft), date,
subject, legal basis, lead unit and effective window, and its requirements: who owes (by
kind, tag or list of units), what (figures, narrative, evidence link), when (cadences, period
convention and due rule) and to whom.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from models.errors import InputError
from models.files.directive_words import error_lines, path_loc, place
from models.files.textfiles import read_yaml
from models.rules import lengths
from models.rules.deliverable import TRIMMED, Deliverable, Strict, canonical_json, nfc
from models.rules.ladder import Ladder, Step, template_references
from models.rules.periods import Cadence, Convention, DueRule, ExplicitDate, months_in
from models.rules.text import character_problem, control_character

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
KEY = re.compile(r"[A-Za-z0-9_-]+")
PARTIAL_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
Text = Annotated[str, TRIMMED]
Required = Annotated[str, Field(min_length=1), TRIMMED]
UnitCode = Annotated[str, Field(pattern=CODE, max_length=lengths.CODE)]


class Selector(Strict):
    """Who owes: units of these kinds, or with these tags, or these units (any match counts);
    with `under`, only those among them directly under one of these units (a province's
    communes), or all the units under them when nothing else is named."""

    kinds: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    units: list[UnitCode] = Field(default_factory=list)
    # left out of the stored form when absent, so older files keep their hash
    under: list[UnitCode] = Field(default_factory=list, exclude_if=lambda v: not v)

    @model_validator(mode="after")
    def _not_empty(self) -> Selector:
        if not (self.kinds or self.tags or self.units or self.under):
            raise ValueError("name at least one of kinds, tags, units or under")
        return self

    def picks(self, *, code: str, kind: str, tags: Collection[str], parent: str | None) -> bool:
        """Whether the selector picks a unit of this code, kind, tags and parent."""
        if self.under and parent not in self.under:
            return False
        named = self.kinds or self.tags or self.units
        return not named or (
            kind in self.kinds or code in self.units or any(tag in tags for tag in self.tags)
        )


def _error_at(loc: tuple[str, ...], value: object, problem: str) -> ValidationError:
    """A validation error on a field below the model that finds it, so the field is named."""
    error = PydanticCustomError("value_error", problem)
    return ValidationError.from_exception_data(
        "Schedule", [InitErrorDetails(type=error, loc=loc, input=value)]
    )


class Schedule(Strict):
    """When: a cadence, its period convention, and the due rule of each period."""

    cadence: Cadence
    convention: Convention = Convention.CALENDAR
    due: DueRule | None = None

    @model_validator(mode="after")
    def _due_fits_cadence(self) -> Schedule:
        if self.cadence is Cadence.STANDING:
            if self.due is not None:
                raise ValueError("a standing duty has no due date")
        elif self.due is None:
            raise ValueError(f"a {self.cadence.value} schedule needs a due rule")
        elif self.due.rule == "date" and self.cadence is not Cadence.ONCE:
            raise ValueError("an explicit due date only fits the 'once' cadence")
        elif self.due.rule == "date-in-period":
            if self.cadence is Cadence.ONCE:
                raise ValueError("a date in the period needs a recurring cadence, not 'once'")
            months = months_in(self.cadence)
            if self.due.month > months:
                problem = f"a {self.cadence.value} period has only {months} months"
                raise _error_at(("due", "month"), self.due.month, problem)
        return self


class RequirementSpec(Strict):
    """One thing the directive asks of a group of units."""

    code: str = Field(pattern=CODE, max_length=lengths.CODE)
    title: Required
    description: Text | None = None
    who: Selector
    what: Deliverable = Field(default_factory=Deliverable)
    schedule: list[Schedule] = Field(min_length=1)
    to: UnitCode | None = None  # recipient unit
    # this requirement's own escalation ladder (absent: the directive's, then the default);
    # left out of the stored form when absent, so older files keep their hash
    escalation: Ladder | None = Field(default=None, exclude_if=lambda v: v is None)
    # the requirements whose reports this one sums up (the lead office's consolidated report),
    # period by period; left out of the stored form when absent
    consolidates: list[str] = Field(default_factory=list, exclude_if=lambda v: not v)

    @model_validator(mode="after")
    def _one_schedule_per_cadence(self) -> RequirementSpec:
        cadences = [s.cadence for s in self.schedule]
        if len(set(cadences)) != len(cadences):
            raise ValueError("each cadence may appear once in a requirement's schedule")
        if Cadence.STANDING in cadences and len(cadences) > 1:
            raise ValueError("a standing duty has no other cadence")
        if Cadence.STANDING in cadences and self.escalation is not None:
            raise ValueError("a standing duty has no due date and is never chased: no escalation")
        return self

    @property
    def standing(self) -> bool:
        return self.schedule[0].cadence is Cadence.STANDING


class Document(Strict):
    """The signed document: number and day may be blank while it is a draft."""

    issuer: UnitCode  # unit code of the issuing body
    number: Annotated[str, Field(max_length=lengths.CODE), TRIMMED] | None = None
    symbol: Annotated[str, Field(min_length=1, max_length=lengths.SYMBOL), TRIMMED]
    date: str
    subject: Required
    legal_basis: list[Text] = Field(default_factory=list)
    signed_by: Text | None = None

    @field_validator("date")
    @classmethod
    def _date_matches_state(cls, value: str, info: ValidationInfo) -> str:
        if not PARTIAL_DATE.match(value):
            raise ValueError("must be YYYY-MM-DD (or YYYY-MM while the number is blank)")
        if len(value) == 10:
            date.fromisoformat(value)
        elif info.data.get("number"):
            raise ValueError("a numbered (signed) document needs its full date YYYY-MM-DD")
        return value

    @property
    def draft(self) -> bool:
        return not self.number


def document_day(value: str) -> date:
    """A document's day: its date, or the first of its month while the day is blank."""
    return date.fromisoformat(value if len(value) == 10 else f"{value}-01")


class Window(Strict):
    """The days the directive is in force; `until` may be left open."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: date = Field(alias="from")
    until: date | None = None

    @field_validator("until")
    @classmethod
    def _ordered(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start")
        if value is not None and start is not None and value < start:
            raise ValueError(f"until {value} is before from {start}")
        return value


class DirectiveSpec(Strict):
    """A whole directive file."""

    code: str = Field(pattern=CODE, max_length=lengths.DIRECTIVE_CODE)
    document: Document
    lead: UnitCode  # the office that urges, reviews and consolidates
    effective: Window
    requirements: Annotated[list[RequirementSpec], Field(min_length=1)]
    # the ladder of every requirement that has none of its own (absent: the default)
    escalation: Ladder | None = Field(default=None, exclude_if=lambda v: v is None)

    def ladder(self, requirement: RequirementSpec, default: list[Step]) -> list[Step]:
        """The escalation ladder that applies to one of this directive's requirements."""
        return requirement.escalation or self.escalation or default

    def unit_references(self) -> list[tuple[str, str]]:
        """Every (field path, unit code) the file names, to check against the unit register."""
        refs = [("document.issuer", self.document.issuer), ("lead", self.lead)]
        for i, req in enumerate(self.requirements):
            refs += [(f"requirements[{i}].who.units[{j}]", u) for j, u in enumerate(req.who.units)]
            refs += [(f"requirements[{i}].who.under[{j}]", u) for j, u in enumerate(req.who.under)]
            if req.to:
                refs.append((f"requirements[{i}].to", req.to))
        return refs

    def template_references(self) -> list[tuple[str, str]]:
        """Every (field path, template name) its escalation ladders name, to check against the
        message templates that exist."""
        refs = template_references(self.escalation or [], "escalation")
        for i, req in enumerate(self.requirements):
            refs += template_references(req.escalation or [], f"requirements[{i}].escalation")
        return refs

    def stored_columns(self) -> dict[str, Any]:
        """The `directive` row publishing stores for it, every column the content decides:
        `log verify` recomputes them from the stored content."""
        doc = self.document
        return {
            "code": self.code,
            "issuer_code": doc.issuer,
            "number": doc.number,
            "symbol": doc.symbol,
            "document_date": doc.date,
            "subject": doc.subject,
            "lead_unit_code": self.lead,
            "effective_from": self.effective.start,
            "effective_until": self.effective.until,
            "status": "published",
            "source_sha256": self.sha256(),
            "content": self.canonical_json(),
        }

    def requirement_columns(self) -> list[dict[str, Any]]:
        """The `requirement` rows publishing stores for it, by requirement."""
        return [
            {
                "code": r.code,
                "title": r.title,
                "recipient_code": r.to,
                "spec": r.model_dump_json(by_alias=True),
            }
            for r in self.requirements
        ]

    def canonical_json(self) -> str:
        """The validated content, stable across formatting changes of the file."""
        return canonical_json(self.model_dump(mode="json", by_alias=True))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def field_path(loc: tuple[int | str, ...], data: Any) -> str:
    """pydantic's error location as a path through the file's own keys:
    ("requirements", 2, "schedule", 0, "due", "day-of-month", "day") ->
    requirements[2].schedule[0].due.day (segments pydantic adds, such as a union's tag, are
    not keys of the file and are left out; a missing key is named as the last segment)."""
    path, current = "", data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, dict) and current.get("rule") == part and not last:
            continue  # the due rule's tag, which pydantic puts in the location
        if isinstance(part, int) and isinstance(current, list) and 0 <= part < len(current):
            path, current = f"{path}[{part}]", current[part]
        elif isinstance(part, str) and isinstance(current, dict) and part in current:
            path, current = _key_path(path, part), current[part]
        elif last and isinstance(part, str) and "[" not in part:
            path = _key_path(path, part)
    return path or "(file)"


def _key_path(path: str, key: object) -> str:
    """`path` followed by a mapping's key: `.key`, or `[repr]` for a key that is not a plain
    word (a key holding a line break must not break the error's line)."""
    if isinstance(key, str) and KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


def _value(err: Any) -> Any:
    """The offending value; a missing field has none (pydantic gives the enclosing mapping)."""
    return None if err["type"] == "missing" else err.get("input")


def _first_repeat(items: list[str]) -> tuple[int, int] | None:
    """(earlier index, later index) of the first repeated item."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item in seen:
            return seen[item], i
        seen[item] = i
    return None


def _vi(spec: DirectiveSpec, field: str, problem: str) -> str:
    """A Vietnamese line on a field of a validated directive: its place in words, then what is
    wrong with it."""
    return f"{place(path_loc(field), spec.model_dump(mode='json', by_alias=True))}: {problem}."


def _check_unique(spec: DirectiveSpec, source: str) -> None:
    """Requirement codes, and each requirement's figure keys, must not repeat."""
    repeat = _first_repeat([r.code for r in spec.requirements])
    if repeat:
        first, again = repeat
        raise InputError(
            source,
            f"requirements[{again}].code",
            spec.requirements[again].code,
            f"repeats requirements[{first}].code",
            vi=_vi(spec, f"requirements[{again}].code", f"trùng mã với nhiệm vụ {first + 1}"),
        )
    for i, req in enumerate(spec.requirements):
        repeat = _first_repeat([f.key for f in req.what.figures])
        if repeat:
            first, again = repeat
            raise InputError(
                source,
                f"requirements[{i}].what.figures[{again}].key",
                req.what.figures[again].key,
                f"repeats requirements[{i}].what.figures[{first}].key",
                vi=_vi(
                    spec,
                    f"requirements[{i}].what.figures[{again}].key",
                    f"trùng mã với chỉ tiêu {first + 1}",
                ),
            )


def _check_characters(value: Any, source: str, path: str = "", data: Any = None) -> None:
    """Refuse a key or text anywhere in the loaded `data` that holds a control character."""
    data = value if data is None else data
    if isinstance(value, str):
        char = control_character(value)
        if char is not None:
            raise InputError(
                source,
                path or "(file)",
                value,
                character_problem(char),
                vi=f"{place(path_loc(path), data)}: có ký tự điều khiển U+{ord(char):04X}, "
                "không được phép.",
            )
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_characters(item, source, f"{path}[{i}]", data)
    elif isinstance(value, dict):
        for key, item in value.items():
            at = _key_path(path, key)
            _check_characters(key, source, at, data)
            _check_characters(item, source, at, data)


def _check_consolidates(spec: DirectiveSpec, source: str) -> None:
    """A consolidating requirement is owed by one unit alone, the one its sources are handed to
    (their `to`, or the lead office where they name none): the lead office sums up the
    units' reports, and the office it reports to may sum up the lead office's report in turn.
    Each source asks for a report on each of its periods (same cadence and convention), and
    no requirement sums itself up, directly or through others."""
    by_code = {r.code: r for r in spec.requirements}
    for i, req in enumerate(spec.requirements):
        if not req.consolidates:
            continue
        who = req.who
        if who.kinds or who.tags or who.under or len(who.units) != 1:
            raise InputError(
                source,
                f"requirements[{i}].who",
                who.model_dump(exclude_defaults=True),
                "a consolidating requirement is owed by one unit alone, the one its sources "
                f"are handed to (the lead office {spec.lead} unless they name another)",
                vi=_vi(
                    spec,
                    f"requirements[{i}].who",
                    "nhiệm vụ tổng hợp chỉ do một đơn vị thực hiện, đơn vị nhận báo cáo của các "
                    f"nhiệm vụ nó tổng hợp (cơ quan chủ trì {spec.lead} nếu không nêu đơn vị khác)",
                ),
            )
        (owner,) = who.units
        for j, code in enumerate(req.consolidates):
            where = f"requirements[{i}].consolidates[{j}]"
            found = by_code.get(code)
            if found is None or found is req:
                problem = "is the requirement itself" if found else "names no other requirement"
                words = "là chính nhiệm vụ này" if found else "không phải mã của nhiệm vụ nào khác"
                raise InputError(
                    source, where, code, problem, vi=_vi(spec, where, f"«{code}» {words}")
                )
            if not (found.what.figures or found.what.narrative):
                raise InputError(
                    source,
                    where,
                    code,
                    "asks for no figures or narrative to sum",
                    vi=_vi(
                        spec, where, f"nhiệm vụ {code} không có chỉ tiêu hay nội dung để tổng hợp"
                    ),
                )
            theirs = {(s.cadence, s.convention) for s in found.schedule}
            for schedule in req.schedule:
                if (schedule.cadence, schedule.convention) not in theirs:
                    raise InputError(
                        source,
                        where,
                        code,
                        f"has no {schedule.cadence.value} ({schedule.convention.value}) "
                        "schedule to consolidate",
                        vi=_vi(
                            spec,
                            where,
                            f"nhiệm vụ {code} không có lịch báo cáo {schedule.cadence.value} "
                            f"({schedule.convention.value}) để tổng hợp",
                        ),
                    )
            recipient = found.to or spec.lead
            if recipient != owner:
                raise InputError(
                    source,
                    where,
                    code,
                    f"is handed to {recipient}, not to {owner}, which owes this consolidation",
                    vi=_vi(
                        spec,
                        where,
                        f"nhiệm vụ {code} nộp cho {recipient}, không phải cho {owner}, đơn vị "
                        "thực hiện nhiệm vụ tổng hợp này",
                    ),
                )
        cycle = _cycle(by_code, req.code)
        if cycle:
            raise InputError(
                source,
                f"requirements[{i}].consolidates",
                req.consolidates,
                f"sums itself up through {' → '.join(cycle)}",
                vi=_vi(
                    spec,
                    f"requirements[{i}].consolidates",
                    f"tự tổng hợp chính mình qua {' → '.join(cycle)}",
                ),
            )


def _cycle(by_code: dict[str, RequirementSpec], start: str) -> list[str] | None:
    """The requirements from `start` back to itself through what each consolidates, if the
    chain returns there."""
    path = [start]
    seen: set[str] = set()

    def walk(code: str) -> bool:
        for source in by_code[code].consolidates:
            if source == start:
                path.append(source)
                return True
            if source in seen or source not in by_code:
                continue
            seen.add(source)
            path.append(source)
            if walk(source):
                return True
            path.pop()
        return False

    return path if walk(start) else None


def _check_once_dates(spec: DirectiveSpec, source: str) -> None:
    """A `once` deliverable's explicit due date falls within the directive's effective
    window (its one period starts on the window's first day)."""
    start, until = spec.effective.start, spec.effective.until
    for i, req in enumerate(spec.requirements):
        for j, schedule in enumerate(req.schedule):
            due = schedule.due
            if isinstance(due, ExplicitDate) and not start <= due.date <= (until or due.date):
                window = f"{start.isoformat()} to {until.isoformat() if until else '(open)'}"
                raise InputError(
                    source,
                    f"requirements[{i}].schedule[{j}].due.date",
                    due.date.isoformat(),
                    f"is outside the directive's effective window, {window}",
                    vi=_vi(
                        spec,
                        f"requirements[{i}].schedule[{j}].due.date",
                        f"ngày {due.date.isoformat()} nằm ngoài thời gian hiệu lực của chỉ thị "
                        f"({window})",
                    ),
                )


def parse_directive(data: Any, source: str) -> DirectiveSpec:
    """Validate loaded data; raise InputError naming the source, field path and value."""
    if not isinstance(data, dict):
        raise InputError(source, "(file)", type(data).__name__, "must be a mapping of fields")
    _check_characters(data, source)
    data = nfc(data)
    try:
        spec = DirectiveSpec.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        problem = first["msg"].removeprefix("Value error, ")
        if len(errors) > 1:
            others = "; ".join(
                f"{field_path(e['loc'], data)}: {e['msg'].removeprefix('Value error, ')}"
                for e in errors[1:]
            )
            problem += f" — also: {others}"
        raise InputError(
            source,
            field_path(first["loc"], data),
            _value(first),
            problem,
            vi=error_lines(errors, data),
        ) from None
    _check_unique(spec, source)
    _check_once_dates(spec, source)
    _check_consolidates(spec, source)
    return spec


def load_directive(path: Path) -> DirectiveSpec:
    """Read and validate one directive file."""
    return parse_directive(read_yaml(path), str(path))

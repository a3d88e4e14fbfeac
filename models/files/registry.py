"""Unit and actor registers read from CSV files, validated row by row before any write."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from email.errors import MessageError
from email.headerregistry import Address
from email.utils import parseaddr
from itertools import pairwise
from pathlib import Path

from models.errors import InputError
from models.rules import lengths
from models.rules.authz import ROLES
from models.rules.text import character_problem, control_character, trim

UNIT_COLUMNS = (
    "code",
    "name",
    "kind",
    "parent",
    "tags",
    "email",
    "valid_from",
    "valid_until",
    "successor",
)
# The actor automated runs (chasing) write their events as. The register refuses this name, so
# no person can act as it, and a command naming it names no actor.
SYSTEM_ACTOR = "dondoc"
ACTOR_COLUMNS = ("username", "full_name", "unit", "role", "email")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TAG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# An address's local part as a plain dot-atom (no quoted string, no comment), and its
# domain's labels (letters, digits, inner hyphens: an international domain in its xn-- form).
DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# Line breaks inside a quoted CSV cell: the row they are in starts that many lines earlier.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# The kinds of unit that are a territory, as `vietnam-provinces` types them (the national
# register names a province, district or commune, not its People's Committee), and the body
# that acts for a territory in documents.
TERRITORIES = frozenset(
    (
        "tinh",
        "thanh_pho_trung_uong",
        "huyen",
        "quan",
        "thi_xa",
        "thanh_pho",
        "xa",
        "phuong",
        "thi_tran",
        "dac_khu",
    )
)
COMMITTEE = "Ủy ban nhân dân"


def email_problem(value: str) -> str | None:
    """Why `value` is not an address dondoc can send to, or None. It must be ASCII (dondoc
    does not rely on SMTPUTF8), one plain address that the standard library reads back as
    itself (nothing around it, no display name, no comment), with a dotted domain of
    hostname labels."""
    if not value.isascii():
        return "is not an ASCII e-mail address (write an international domain in its xn-- form)"
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError, MessageError):  # what the address parser raises
        return "is not an e-mail address"
    labels = address.domain.split(".")
    if (
        parseaddr(value) != ("", value)
        or address.addr_spec != value
        or not DOT_ATOM.match(address.username)
        or len(labels) < 2
        or not all(DOMAIN_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        return "is not an e-mail address"
    return None


@dataclass(frozen=True, slots=True)
class UnitRow:
    """A unit as the register file states it."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    tags: tuple[str, ...]
    email: str | None
    valid_from: date | None
    valid_until: date | None
    successor_code: str | None

    def as_record(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "parent_code": self.parent_code,
            "tags": json.dumps(list(self.tags), ensure_ascii=False),
            "email": self.email,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "successor_code": self.successor_code,
        }

    def body(self) -> UnitRow:
        """The body that issues, receives and signs documents for the unit: a territory's
        People's Committee ("Tỉnh Hà Tĩnh", kind `tinh`, acts as "Ủy ban nhân dân tỉnh Hà
        Tĩnh", kind `ubnd_tinh`, as the 2024 register names its committees), else the unit."""
        if self.kind not in TERRITORIES:
            return self
        name = f"{COMMITTEE} {self.name[:1].lower()}{self.name[1:]}"
        return replace(self, name=name, kind=f"ubnd_{self.kind}")

    def valid_on(self, day: date) -> bool:
        """Whether the unit exists on `day` (it stops existing on its closing date)."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day < self.valid_until
        )


def heir_on(by_code: dict[str, UnitRow], unit: UnitRow, day: date) -> UnitRow | None:
    """Who holds a unit's work and role on `day`: the unit while it exists, then its successor
    (and theirs, as they close); None before it opens, or once it has closed with no
    successor."""
    if unit.valid_on(day):
        return unit
    current: UnitRow | None = unit
    seen: set[str] = set()
    while current is not None and not current.valid_on(day) and current.code not in seen:
        seen.add(current.code)
        closed = current.valid_until is not None and current.valid_until <= day
        current = by_code.get(current.successor_code or "") if closed else None
    return current if current is not None and current.valid_on(day) else None


def histories(units: Iterable[UnitRow], earlier: Iterable[UnitRow]) -> dict[str, list[UnitRow]]:
    """Each stored unit's versions, oldest first: its `earlier` ones (those it continued from
    under its code), then the latest, its own row, which starts the day the one before ends."""
    versions: dict[str, list[UnitRow]] = {}
    for version in sorted(earlier, key=lambda v: (v.code, v.valid_until or date.max)):
        versions.setdefault(version.code, []).append(version)
    for unit in units:
        before = versions.get(unit.code, [])
        start = before[-1].valid_until if before else unit.valid_from
        versions[unit.code] = [*before, replace(unit, valid_from=start)]
    return versions


def life(versions: Sequence[UnitRow]) -> UnitRow:
    """A unit as its row holds it: its latest version, over its whole life (from its first
    version's start), which is what owing, successions and rights go by."""
    return replace(versions[-1], valid_from=versions[0].valid_from)


def version_on(versions: Sequence[UnitRow], day: date) -> UnitRow:
    """The version of a unit that is in force on `day`: its first before it opened, its last
    once it has closed."""
    for version in versions:
        if version.valid_until is None or day < version.valid_until:
            return version
    return versions[-1]


def _dates(version: UnitRow) -> str:
    start = f"{version.valid_from:%d/%m/%Y}" if version.valid_from else "its start"
    end = f"{version.valid_until:%d/%m/%Y}" if version.valid_until else "today"
    return f"{start}–{end}"


def add_version(
    versions: Sequence[UnitRow], row: UnitRow, *, corrects: bool = True
) -> list[UnitRow]:
    """A unit's versions once a register `row` for its code is read into them. The row
    changes the version that starts when it does; or it continues the code from its
    valid_from, a day the latest version exists or closes, which then ends that day (the 2025
    communes kept the code of one of the units merged into them, under a new name, kind and
    parent); or it is the version before the first, ending the day that one starts; or,
    for a unit of a single version, it replaces it (a correction, which `corrects` allows:
    not a second row of one file). What the row leaves empty it takes from the version it
    changes or continues (see `_filled`). Raises ValueError naming what does not fit."""
    if not versions:
        return [row]
    first, last = versions[0], versions[-1]
    same = [i for i, v in enumerate(versions) if v.valid_from == row.valid_from]
    fits = _continues(last, row) or _precedes(row, first)
    if len(versions) == 1 and (same or (corrects and not fits)):
        return [_filled(row, first, changes=True)]
    if same:
        was = versions[same[0]]
        new = [*versions[: same[0]], _filled(row, was, changes=True), *versions[same[0] + 1 :]]
    elif _continues(last, row):
        if last.successor_code is not None:
            raise ValueError(
                f"{row.code} passes its work to {last.successor_code} on "
                f"{last.valid_until:%d/%m/%Y}; it cannot also continue under its code"
            )
        continued = _filled(row, last, changes=False)
        new = [*versions[:-1], replace(last, valid_until=row.valid_from), continued]
    elif _precedes(row, first):
        new = [row, *versions]
    else:
        held = ", ".join(_dates(v) for v in versions)
        raise ValueError(
            f"{row.code} has the versions {held}: a row changes the one that starts when it "
            "does, continues the latest from a day it exists, or ends the day the first starts"
        )
    for before, after in pairwise(new):
        ends = before.valid_until
        if ends is None or ends != after.valid_from or before.successor_code is not None:
            raise ValueError(
                f"{row.code}'s version {_dates(before)} must end, with no successor, the day "
                f"its next version starts ({_dates(after)})"
            )
    return new


def _filled(row: UnitRow, was: UnitRow, *, changes: bool) -> UnitRow:
    """`row` with its empty cells taken from `was`: an empty cell states nothing, so a
    register that lacks a column (the national one has no addresses, the district's of 2024
    names no successors) clears nothing another import gave, whatever their order. A row that
    `changes` the version `was` keeps its parent, tags, e-mail, closing date and successor;
    one that continues it, its parent, tags and e-mail."""
    filled = replace(
        row,
        parent_code=row.parent_code or was.parent_code,
        tags=row.tags or was.tags,
        email=row.email or was.email,
    )
    if not changes:
        return filled
    return replace(
        filled,
        valid_until=row.valid_until or was.valid_until,
        successor_code=row.successor_code or was.successor_code,
    )


def _continues(last: UnitRow, row: UnitRow) -> bool:
    """Whether `row` starts on a day after `last` started, while it exists or as it closes."""
    start = row.valid_from
    return (
        start is not None
        and (last.valid_from is None or last.valid_from < start)
        and (last.valid_until is None or start <= last.valid_until)
    )


def _precedes(row: UnitRow, first: UnitRow) -> bool:
    """Whether `row` ends the day `first` starts."""
    return row.valid_until is not None and row.valid_until == first.valid_from


@dataclass(frozen=True, slots=True)
class ActorRow:
    """A person who acts for a unit."""

    username: str
    full_name: str
    unit_code: str
    role: str
    email: str | None

    def as_record(self) -> dict[str, object]:
        return {
            "username": self.username,
            "full_name": self.full_name,
            "unit_code": self.unit_code,
            "role": self.role,
            "email": self.email,
        }


def _rows(path: Path, columns: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a UTF-8 CSV file whose header has exactly `columns`, each
    cell in NFC and trimmed of spaces and zero-width characters at its edges."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), "(file)", str(path), "no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), "(file)", exc.object[:20], "is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = tuple(reader.fieldnames or ())
        if header != columns:
            where, shown = "header", ",".join(header)
            raise InputError(str(path), where, shown, f"must be {','.join(columns)}")
        for row in reader:
            at = f"line {reader.line_num}"
            if None in row:
                raise InputError(str(path), at, row[None], "has more cells than the header")
            for column, cell in row.items():
                if cell is None:
                    raise InputError(
                        str(path), f"{at}, {column}", None, "is missing: the row is too short"
                    )
                char = control_character(cell, one_line=True)
                if char is not None:
                    breaks = sum(len(LINE_BREAK.findall(c)) for c in row.values() if c)
                    where = f"line {reader.line_num - breaks}, {column}"
                    raise InputError(str(path), where, cell, character_problem(char))
            yield reader.line_num, {k: trim(v) for k, v in row.items()}
    except csv.Error as exc:
        raise InputError(str(path), f"line {reader.line_num}", str(exc), "is not CSV") from None


def _date(path: Path, where: str, value: str) -> date | None:
    if not value:
        return None
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(str(path), where, value, "is not a date YYYY-MM-DD") from None


def _check(ok: bool, path: Path, where: str, value: str, problem: str) -> None:
    if not ok:
        raise InputError(str(path), where, value, problem)


def _too_long(value: str, limit: int) -> str | None:
    """The problem with `value` if it is longer than the `limit` its column holds."""
    return f"is longer than the {limit} characters it may have" if len(value) > limit else None


def _fits(path: Path, where: str, value: str, limit: int) -> None:
    problem = _too_long(value, limit)
    if problem is not None:
        raise InputError(str(path), where, value, problem)


def _cycle(start: str, link: Mapping[str, str | None]) -> list[str] | None:
    """The units from `start` round the cycle its chain of `link`s runs into, if it does."""
    chain: dict[str, None] = {}
    current: str | None = start
    while current is not None and current not in chain:
        chain[current] = None
        current = link.get(current)
    return None if current is None else [*chain, current]


def _check_acyclic(
    path: Path,
    units: list[UnitRow],
    lines: dict[str, int],
    column: str,
    link: dict[str, str | None],
) -> None:
    """No unit of the file reaches itself through `link` (its parent or its successor)."""
    for unit in units:
        cycle = _cycle(unit.code, link)
        if cycle is not None:
            raise InputError(
                str(path),
                f"line {lines[unit.code]}, {column}",
                link[unit.code],
                f"makes a cycle: {' → '.join(cycle)}",
            )


def _check_handover(path: Path, at: str, unit: UnitRow, closes: date, successor: UnitRow) -> None:
    """A unit's work passes to its successor on its closing date (`valid_until`, the first
    day it no longer exists): the successor starts that very day, or has always existed (no
    valid_from: a merger into a unit that goes on), and still exists then. A gap would leave
    days nobody owes; an overlap, days two units owe."""
    starts = successor.valid_from
    where = f"{at}, successor"
    if starts is not None and starts > closes:
        problem = "the handover leaves a gap"
    elif starts is not None and starts < closes:
        problem = "the two overlap"
    elif successor.valid_until is not None and successor.valid_until <= closes:
        problem = f"{successor.code} has closed by then itself"
    else:
        return
    started = f"starts on {starts:%d/%m/%Y}" if starts else "has no start"
    raise InputError(
        str(path),
        where,
        successor.code,
        f"{successor.code} {started} but {unit.code} closes on {closes:%d/%m/%Y} (its "
        f"valid_until is the first day it no longer exists): {problem}",
    )


def read_units(
    path: Path, register: Sequence[UnitRow] = (), versions: Sequence[UnitRow] = ()
) -> list[UnitRow]:
    """Validate a unit register file; parents and successors must be in the file or in the
    `register` already stored (with the earlier `versions` of its units), and neither parents
    nor successors may run in a cycle. A code on several rows is one unit's versions, each
    read into the ones before as `add_version` says."""
    units: list[UnitRow] = []
    lines: dict[str, int] = {}
    starts: dict[tuple[str, date | None], int] = {}
    stored = histories(register, versions)
    for line, row in _rows(path, UNIT_COLUMNS):
        at = f"line {line}"
        code = row["code"]
        _check(bool(CODE.match(code)), path, f"{at}, code", code, "is not a unit code")
        _fits(path, f"{at}, code", code, lengths.CODE)
        _check(bool(row["name"]), path, f"{at}, name", row["name"], "is required")
        _fits(path, f"{at}, name", row["name"], lengths.NAME)
        _check(bool(CODE.match(row["kind"])), path, f"{at}, kind", row["kind"], "is not a kind")
        _fits(path, f"{at}, kind", row["kind"], lengths.KIND)
        _check(
            row["parent"] != code,
            path,
            f"{at}, parent",
            row["parent"],
            "a unit cannot be its own parent",
        )
        tags = tuple(t.strip() for t in row["tags"].split(";") if t.strip())
        for tag in tags:
            _check(bool(TAG.match(tag)), path, f"{at}, tags", tag, "is not a tag (a-z, 0-9, -)")
        email = row["email"] or None
        _fits(path, f"{at}, email", row["email"], lengths.EMAIL)
        problem = email_problem(email) if email is not None else None
        _check(problem is None, path, f"{at}, email", row["email"], problem or "")
        valid_from = _date(path, f"{at}, valid_from", row["valid_from"])
        valid_until = _date(path, f"{at}, valid_until", row["valid_until"])
        _check(
            valid_from is None or valid_until is None or valid_from < valid_until,
            path,
            f"{at}, valid_until",
            row["valid_until"],
            "must be after valid_from",
        )
        successor = row["successor"] or None
        _check(
            successor is None or valid_until is not None,
            path,
            f"{at}, successor",
            row["successor"],
            "only a unit that closes (valid_until) has a successor",
        )
        _check(
            successor != code,
            path,
            f"{at}, successor",
            row["successor"],
            "a unit cannot succeed itself",
        )
        again = starts.get((code, valid_from))
        _check(again is None, path, f"{at}, code", code, f"repeats line {again}")
        unit = UnitRow(
            code,
            row["name"],
            row["kind"],
            row["parent"] or None,
            tags,
            email,
            valid_from,
            valid_until,
            successor,
        )
        try:
            stored[code] = add_version(stored.get(code, []), unit, corrects=code not in lines)
        except ValueError as exc:
            raise InputError(str(path), f"{at}, valid_from", row["valid_from"], str(exc)) from None
        lines[code] = starts[code, valid_from] = line
        units.append(unit)
    known = {u.code for u in register} | set(lines)
    for unit in units:
        at = f"line {lines[unit.code]}"
        _check(
            unit.parent_code is None or unit.parent_code in known,
            path,
            f"{at}, parent",
            unit.parent_code or "",
            "names no unit in this file or the register",
        )
        _check(
            unit.successor_code is None or unit.successor_code in known,
            path,
            f"{at}, successor",
            unit.successor_code or "",
            "names no unit in this file or the register",
        )
    lives = {code: life(held) for code, held in stored.items()}
    latest = [lives[code] for code in lines]
    _check_acyclic(path, latest, lines, "parent", {c: u.parent_code for c, u in lives.items()})
    successors = {c: u.successor_code for c, u in lives.items()}
    _check_acyclic(path, latest, lines, "successor", successors)
    for unit in latest:
        if unit.successor_code is not None and unit.valid_until is not None:
            heir = lives[unit.successor_code]
            _check_handover(path, f"line {lines[unit.code]}", unit, unit.valid_until, heir)
    return units


def read_actors(path: Path, known_units: Iterable[str]) -> list[ActorRow]:
    """Validate an actor register against the unit register."""
    units = set(known_units)
    actors: list[ActorRow] = []
    seen: dict[str, int] = {}
    for line, row in _rows(path, ACTOR_COLUMNS):
        actor = validate_actor(
            str(path),
            f"line {line}, ",
            row["username"],
            row["full_name"],
            row["unit"],
            row["role"],
            row["email"] or None,
            units,
        )
        _check(
            actor.username not in seen,
            path,
            f"line {line}, username",
            actor.username,
            f"repeats line {seen.get(actor.username)}",
        )
        seen[actor.username] = line
        actors.append(actor)
    return actors


def validate_actor(
    source: str,
    at: str,
    username: str,
    full_name: str,
    unit: str,
    role: str,
    email: str | None,
    known_units: set[str],
) -> ActorRow:
    """One actor, from a file row or a command; `at` prefixes the field names in errors.
    Every text is one line: a line break in a name would end a mail header early."""
    for field, value in (
        ("username", username),
        ("full_name", full_name),
        ("unit", unit),
        ("role", role),
        ("email", email or ""),
    ):
        char = control_character(value, one_line=True)
        if char is not None:
            raise InputError(source, f"{at}{field}", value, character_problem(char))
    username, full_name = trim(username), trim(full_name)
    if not USERNAME.match(username):
        raise InputError(source, f"{at}username", username, "use a-z, 0-9, '.', '_' or '-'")
    if username == SYSTEM_ACTOR:
        raise InputError(source, f"{at}username", username, "is reserved for dondoc's own runs")
    if not full_name:
        raise InputError(source, f"{at}full_name", full_name, "is required")
    for field, value, limit in (
        ("username", username, lengths.USERNAME),
        ("full_name", full_name, lengths.NAME),
        ("email", email or "", lengths.EMAIL),
    ):
        problem = _too_long(value, limit)
        if problem is not None:
            raise InputError(source, f"{at}{field}", value, problem)
    if unit not in known_units:
        raise InputError(source, f"{at}unit", unit, "names no unit in the register")
    if role not in ROLES:
        raise InputError(source, f"{at}role", role, f"must be one of {', '.join(ROLES)}")
    problem = email_problem(email) if email is not None else None
    if problem is not None:
        raise InputError(source, f"{at}email", email, problem)
    return ActorRow(username, full_name, unit, role, email)

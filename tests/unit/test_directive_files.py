"""Directive files: the seed loads and expresses the seed table; a bad file is refused with the
file, the field path and the value in the message."""

from __future__ import annotations

import math
import re
import tracemalloc
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.errors import InputError
from models.files.directive import DirectiveSpec, Selector, load_directive
from models.files.textfiles import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    MAX_PASTED_BYTES,
    parse_pasted_yaml,
    parse_yaml,
)
from models.rules.periods import Cadence, due_date, period_for_key
from models.rules.workdays import WorkCalendar

SEED = Path(__file__).resolve().parents[2] / "directives" / "cam-xuyen-cchc-2024.yaml"
SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_DATA = yaml.safe_load(SEED_TEXT)

Data = dict[str, Any]
Mutation = Callable[[Data], None]


def _unshared(value: Any) -> Any:
    """A deep copy in which YAML anchors (*report in the seed) no longer share objects."""
    if isinstance(value, dict):
        return {k: _unshared(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unshared(v) for v in value]
    return value


def seed_data() -> Data:
    """A fresh copy of the seed directive as yaml.safe_load reads it."""
    return _unshared(SEED_DATA)


def _parent(data: Data, path: str) -> tuple[Any, str | int]:
    """The container holding the field at `path` ("requirements[2].who") and its key."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    node: Any = data
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


def get(data: Data, path: str) -> Any:
    node, key = _parent(data, path)
    return node[key]


def put(path: str, value: Any) -> Mutation:
    def mutate(data: Data) -> None:
        node, key = _parent(data, path)
        node[key] = value

    return mutate


def drop(path: str) -> Mutation:
    def mutate(data: Data) -> None:
        node, key = _parent(data, path)
        del node[key]

    return mutate


def rename(key: str, new: str) -> Mutation:
    def mutate(data: Data) -> None:
        data[new] = data.pop(key)

    return mutate


@dataclass(frozen=True)
class At:
    """An expected value: whatever the mutated data holds at `path`."""

    path: str


def write(tmp_path: Path, data: Any, **dump: Any) -> Path:
    path = tmp_path / "directive.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, **dump), encoding="utf-8")
    return path


def refusal(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        load_directive(path)
    return caught.value


# --- a bad file is refused ----------------------------------------------------------------

R1C, R4A, R4B = "requirements[2]", "requirements[6]", "requirements[7]"


def case(id: str, mutation: Mutation, field: str, value: Any, problem: str) -> Any:
    return pytest.param(mutation, field, value, problem, id=id)


BAD_FILES = [
    case("missing-code", drop("code"), "code", None, "Field required"),
    case(
        "top-level-typo-requirments",
        rename("requirements", "requirments"),
        "requirements",
        None,
        "Field required — also: requirments: Extra inputs are not permitted",
    ),
    case(
        "unknown-key-in-figure",
        put(f"{R1C}.what.figures[0].maximum", 5),
        f"{R1C}.what.figures[0].maximum",
        5,
        "Extra inputs are not permitted",
    ),
    case(
        "cadence-weekly",
        put(f"{R1C}.schedule[0].cadence", "weekly"),
        f"{R1C}.schedule[0].cadence",
        "weekly",
        "Input should be 'monthly', 'quarterly', '6-monthly',",
    ),
    case(
        "bad-convention",
        put(f"{R1C}.schedule[0].convention", "decree-09"),
        f"{R1C}.schedule[0].convention",
        "decree-09",
        "Input should be 'calendar' or 'decree-09-2019'",
    ),
    case(
        "standing-duty-with-due-rule",
        put("requirements[0].schedule[0].due", {"rule": "working-days-after-end", "days": 3}),
        "requirements[0].schedule[0]",
        {"cadence": "standing", "due": {"rule": "working-days-after-end", "days": 3}},
        "a standing duty has no due date",
    ),
    case(
        "quarterly-without-due",
        drop(f"{R1C}.schedule[0].due"),
        f"{R1C}.schedule[0]",
        {"cadence": "quarterly", "convention": "decree-09-2019"},
        "a quarterly schedule needs a due rule",
    ),
    case(
        "explicit-date-on-monthly",
        put(f"{R4A}.schedule[0].due", {"rule": "date", "date": date(2024, 3, 15)}),
        f"{R4A}.schedule[0]",
        {"cadence": "monthly", "due": {"rule": "date", "date": "2024-03-15"}},
        "an explicit due date only fits the 'once' cadence",
    ),
    case(
        "unknown-due-rule",
        put(f"{R1C}.schedule[0].due.rule", "weekday"),
        f"{R1C}.schedule[0].due",
        {"rule": "weekday", "day": 15},
        "Input tag 'weekday' found using 'rule' does not match any of the expected tags",
    ),
    case(
        "day-of-month-32",
        put(f"{R1C}.schedule[0].due.day", 32),
        f"{R1C}.schedule[0].due.day",
        32,
        "less than or equal to 31",
    ),
    case(
        "working-days-negative",
        put(f"{R4A}.schedule[0].due.days", -1),
        f"{R4A}.schedule[0].due.days",
        -1,
        "greater than or equal to 0",
    ),
    case(
        "explicit-date-not-iso",
        put(f"{R4B}.schedule[0].due.date", "15/03/2024"),
        f"{R4B}.schedule[0].due.date",
        "15/03/2024",
        "must be a date written YYYY-MM-DD",
    ),
    case(
        "duplicate-requirement-codes",
        put("requirements[3].code", "1c"),
        "requirements[3].code",
        "1c",
        "repeats requirements[2].code",
    ),
    case(
        "duplicate-figure-keys",
        put(f"{R1C}.what.figures[1].key", "training_classes"),
        f"{R1C}.what.figures[1].key",
        "training_classes",
        "repeats requirements[2].what.figures[0].key",
    ),
    case(
        "figure-min-above-max",
        put(f"{R1C}.what.figures[0].max", -1),
        f"{R1C}.what.figures[0]",
        At(f"{R1C}.what.figures[0]"),
        "min 0.0 is above max -1.0",
    ),
    case(
        "text-figure-with-min",
        put(f"{R4B}.what.figures[0].min", 0),
        f"{R4B}.what.figures[0]",
        At(f"{R4B}.what.figures[0]"),
        "a text figure takes no min, max or target",
    ),
    case(
        "target-without-bounds",
        put(f"{R4A}.what.figures[0].target", {}),
        f"{R4A}.what.figures[0].target",
        {},
        "a target needs at_least or at_most",
    ),
    case(
        "selector-with-nothing",
        put("requirements[0].who", {"kinds": [], "units": []}),
        "requirements[0].who",
        {"kinds": [], "units": []},
        "name at least one of kinds, tags, units or under",
    ),
    case(
        "effective-until-before-from",
        put("effective.until", date(2023, 12, 31)),
        "effective.until",
        "2023-12-31",
        "until 2023-12-31 is before from 2024-01-01",
    ),
    case(
        "document-date-month-13",
        put("document.date", "2024-13"),
        "document.date",
        "2024-13",
        "must be YYYY-MM-DD (or YYYY-MM while the number is blank)",
    ),
    case(
        "numbered-document-with-partial-date",
        put("document.number", "125"),
        "document.date",
        "2024-02",
        "a numbered (signed) document needs its full date YYYY-MM-DD",
    ),
    case(
        "title-zero-width-only",
        put("requirements[0].title", "\u200b"),
        "requirements[0].title",
        "",
        "String should have at least 1 character",
    ),
    case(
        "subject-no-break-space-only",
        put("document.subject", "\u00a0 "),
        "document.subject",
        "",
        "String should have at least 1 character",
    ),
    case(
        "figure-label-spaces-and-zero-width",
        put(f"{R1C}.what.figures[0].label", " \u200b\ufeff "),
        f"{R1C}.what.figures[0].label",
        "",
        "String should have at least 1 character",
    ),
    case(
        "title-with-nul",
        put("requirements[0].title", "Tuyên\x00truyền"),
        "requirements[0].title",
        "Tuyên\x00truyền",
        "holds the control character U+0000",
    ),
    case(
        "figure-max-infinite",
        put(f"{R1C}.what.figures[0].max", float("inf")),
        f"{R1C}.what.figures[0].max",
        float("inf"),
        "Input should be a finite number",
    ),
    case(
        "figure-min-boolean",
        put(f"{R1C}.what.figures[0].min", True),
        f"{R1C}.what.figures[0].min",
        True,
        "Input should be a valid number",
    ),
    case(
        "target-at-least-boolean",
        put(f"{R4A}.what.figures[0].target.at_least", False),
        f"{R4A}.what.figures[0].target.at_least",
        False,
        "Input should be a valid number",
    ),
    case(
        "figure-max-quoted",
        put(f"{R1C}.what.figures[0].max", "10"),
        f"{R1C}.what.figures[0].max",
        "10",
        "Input should be a valid number",
    ),
    case(
        "target-at-least-minus-infinite",
        put(f"{R4A}.what.figures[0].target.at_least", float("-inf")),
        f"{R4A}.what.figures[0].target.at_least",
        float("-inf"),
        "Input should be a finite number",
    ),
    case(
        "once-due-before-the-window",
        put(f"{R4B}.schedule[0].due.date", "2023-12-31"),
        f"{R4B}.schedule[0].due.date",
        "2023-12-31",
        "is outside the directive's effective window, 2024-01-01 to 2024-12-31",
    ),
    case(
        "once-due-after-the-window",
        put(f"{R4B}.schedule[0].due.date", "2025-01-15"),
        f"{R4B}.schedule[0].due.date",
        "2025-01-15",
        "is outside the directive's effective window, 2024-01-01 to 2024-12-31",
    ),
    case(
        "code-longer-than-its-column",
        put("code", "c" * 101),
        "code",
        "c" * 101,
        "String should have at most 100 characters",
    ),
    case(
        "symbol-longer-than-its-column",
        put("document.symbol", "UBND-" + "X" * 60),
        "document.symbol",
        "UBND-" + "X" * 60,
        "String should have at most 64 characters",
    ),
    case(
        "number-longer-than-its-column",
        put("document.number", "1" * 33),
        "document.number",
        "1" * 33,
        "String should have at most 32 characters",
    ),
    case(
        "requirement-code-longer-than-its-column",
        put("requirements[0].code", "r" * 33),
        "requirements[0].code",
        "r" * 33,
        "String should have at most 32 characters",
    ),
    case(
        "lead-longer-than-a-unit-code",
        put("lead", "4" * 33),
        "lead",
        "4" * 33,
        "String should have at most 32 characters",
    ),
    case(
        "requirement-code-int",
        put("requirements[9].code", 5),
        "requirements[9].code",
        5,
        "Input should be a valid string",
    ),
    case(
        "consolidates-an-unknown-requirement",
        put("requirements[9].consolidates", ["1c", "7x"]),
        "requirements[9].consolidates[1]",
        "7x",
        "names no other requirement",
    ),
    case(
        "consolidates-itself",
        put("requirements[9].consolidates", ["5"]),
        "requirements[9].consolidates[0]",
        "5",
        "is the requirement itself",
    ),
    case(
        "consolidates-a-duty-with-nothing-to-sum",
        put("requirements[9].consolidates", ["1a"]),
        "requirements[9].consolidates[0]",
        "1a",
        "asks for no figures or narrative to sum",
    ),
    case(
        "consolidates-a-monthly-report-quarterly",
        put("requirements[9].consolidates", ["2b"]),
        "requirements[9].consolidates[0]",
        "2b",
        "has no quarterly (decree-09-2019) schedule to consolidate",
    ),
    case(
        "consolidation-owed-by-others",
        put("requirements[9].who", {"kinds": ["xa"]}),
        "requirements[9].who",
        {"kinds": ["xa"]},
        "owed by one unit alone, the one its sources are handed to",
    ),
    case(
        "consolidation-of-reports-handed-to-another-office",
        put("requirements[9].who", {"units": ["446-NV"]}),
        "requirements[9].consolidates[0]",
        "1c",
        "is handed to 446-VHTT, not to 446-NV, which owes this consolidation",
    ),
]


@pytest.mark.parametrize(("mutation", "field", "value", "problem"), BAD_FILES)
def test_bad_directive_is_refused_naming_file_field_and_value(
    tmp_path: Path, mutation: Mutation, field: str, value: Any, problem: str
) -> None:
    data = seed_data()
    mutation(data)
    path = write(tmp_path, data, sort_keys=False)
    expected = get(data, value.path) if isinstance(value, At) else value
    err = refusal(path)
    assert (err.source, err.field, err.value) == (str(path), field, expected)
    assert problem in err.problem
    assert str(err).startswith(f"{path}: {field}: ")
    if expected is None:  # a missing field has no value to show
        assert "(got" not in str(err)
    else:
        assert str(err).endswith(f" (got {expected!r})")
    # the same refusal in one Vietnamese line, naming the place in words, not by its path
    assert err.vi is not None and "\n" not in err.vi
    assert not re.search(r"\w\[\d+\]|\(got|Field required|Input should", err.vi), err.vi


def test_a_consolidation_that_sums_itself_up_is_refused(tmp_path: Path) -> None:
    """The centre's report (4c) summing up the lead office's (5), which sums up 4c."""
    data = seed_data()
    put("requirements[9].to", "446-TTVHTT")(data)
    put("requirements[8].consolidates", ["5"])(data)
    err = refusal(write(tmp_path, data))
    assert (err.field, err.value, err.problem) == (
        "requirements[8].consolidates",
        ["5"],
        "sums itself up through 4c → 5 → 4c",
    )


def test_the_second_directive_chains_its_consolidations() -> None:
    """Hà Tĩnh's: the Sở sums up the communes' reports, the ministry's department the Sở's."""
    spec = load_directive(SEED.with_name("ha-tinh-cchc-2026.yaml"))
    chain = {r.code: (r.who.units, r.consolidates, r.to) for r in spec.requirements}
    assert chain["4"] == (["42-SNV"], ["2"], "BNV-VCCHC")
    assert chain["5"] == (["BNV-VCCHC"], ["4"], "BNV")
    assert spec.requirements[1].who.model_dump(exclude_defaults=True) == {
        "kinds": ["xa", "phuong"],
        "under": ["42"],
    }


@pytest.mark.parametrize(
    ("who", "code", "kind", "parent", "picked"),
    [
        ({"kinds": ["xa"], "under": ["42"]}, "18673", "xa", "42", True),
        ({"kinds": ["xa"], "under": ["42"]}, "00004", "xa", "01", False),
        ({"kinds": ["xa"], "under": ["42"]}, "42-SNV", "so", "42", False),
        ({"under": ["42"]}, "42-SNV", "so", "42", True),
        ({"units": ["18673"], "under": ["01"]}, "18673", "xa", "42", False),
    ],
)
def test_under_keeps_the_units_directly_under_those_named(
    who: dict[str, Any], code: str, kind: str, parent: str, picked: bool
) -> None:
    assert (
        Selector.model_validate(who).picks(code=code, kind=kind, tags=(), parent=parent) is picked
    )


def test_a_nan_bound_is_refused(tmp_path: Path) -> None:
    """`min: .nan` would make every comparison false and so drop the bound."""
    data = seed_data()
    put(f"{R1C}.what.figures[0].min", float("nan"))(data)
    err = refusal(write(tmp_path, data))
    assert (err.field, err.problem) == (
        f"{R1C}.what.figures[0].min",
        "Input should be a finite number",
    )
    assert math.isnan(err.value)


def test_an_open_window_takes_a_once_date_after_its_start(tmp_path: Path) -> None:
    data = seed_data()
    drop("effective.until")(data)
    put(f"{R4B}.schedule[0].due.date", "2025-01-15")(data)
    assert load_directive(write(tmp_path, data)).effective.until is None
    put(f"{R4B}.schedule[0].due.date", "2023-12-31")(data)
    err = refusal(write(tmp_path, data))
    assert err.problem == "is outside the directive's effective window, 2024-01-01 to (open)"


def test_a_repeated_key_is_refused_naming_both_lines(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys silently; the second lead would win."""
    path = tmp_path / "directive.yaml"
    path.write_text(SEED_TEXT.replace("lead: 446-VHTT\n", "lead: 446-VHTT\nlead: 446-NV\n"))
    err = refusal(path)
    assert (err.field, err.value, err.problem) == (
        "line 32, column 1",
        "lead",
        "repeats the key of line 31",
    )


def test_text_is_trimmed_of_invisible_edges(tmp_path: Path) -> None:
    data = seed_data()
    put("requirements[0].title", "\u200b Tuyên truyền\u00a0")(data)
    assert load_directive(write(tmp_path, data)).requirements[0].title == "Tuyên truyền"


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        pytest.param(drop("code"), "code", id="missing-code"),
        pytest.param(rename("requirements", "requirments"), "requirements", id="typo"),
    ],
)
def test_missing_field_is_named(tmp_path: Path, mutation: Mutation, field: str) -> None:
    """A missing field is named, with no value (not the whole mapping around it)."""
    data = seed_data()
    mutation(data)
    err = refusal(write(tmp_path, data))
    assert (err.field, err.value) == (field, None)
    assert err.problem.startswith("Field required")


def test_two_problems_are_both_reported(tmp_path: Path) -> None:
    data = seed_data()
    put("lead", "446 VHTT")(data)
    put(f"{R1C}.schedule[0].cadence", "weekly")(data)
    err = refusal(write(tmp_path, data))
    assert (err.field, err.value) == ("lead", "446 VHTT")
    first, also = err.problem.split(" — also: ")
    assert first == "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'"
    assert also.startswith(f"{R1C}.schedule[0].cadence: Input should be 'monthly', ")
    assert f"{R1C}.schedule[0].cadence" in str(err)


def test_numbered_document_needs_its_full_date(tmp_path: Path) -> None:
    """A draft may give only its month (the seed does); a signed document may not."""
    assert load_directive(SEED).document.date == "2024-02"
    data = seed_data()
    put("document.number", "125")(data)
    err = refusal(write(tmp_path, data))
    assert err.problem == "a numbered (signed) document needs its full date YYYY-MM-DD"
    put("document.date", "2024-02-26")(data)
    signed = load_directive(write(tmp_path, data))
    assert (signed.document.number, signed.document.date) == ("125", "2024-02-26")
    assert not signed.document.draft


def test_signed_document_with_unquoted_full_date_loads(tmp_path: Path) -> None:
    path = tmp_path / "signed.yaml"
    text = SEED_TEXT.replace("number: null", 'number: "125"').replace(
        "date: 2024-02\n", "date: 2024-02-26\n"
    )
    path.write_text(text, encoding="utf-8")
    assert load_directive(path).document.date == "2024-02-26"


def test_impossible_unquoted_date_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "directive.yaml"
    path.write_text(SEED_TEXT.replace("from: 2024-01-01", "from: 2024-02-30"), encoding="utf-8")
    err = refusal(path)
    assert err.source == str(path)
    assert "2024-02-30" in str(err)


# --- files that are not directives at all -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "type_name"),
    [
        pytest.param("- code: cam-xuyen-cchc-2024\n", "list", id="a-list"),
        pytest.param("cam-xuyen-cchc-2024\n", "str", id="a-scalar"),
        pytest.param("", "NoneType", id="empty"),
    ],
)
def test_non_mapping_file_is_refused(tmp_path: Path, text: str, type_name: str) -> None:
    path = tmp_path / "directive.yaml"
    path.write_text(text, encoding="utf-8")
    err = refusal(path)
    assert (err.source, err.field, err.value) == (str(path), "(file)", type_name)
    assert err.problem == "must be a mapping of fields"


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "directive.yaml"
    path.write_text(SEED_TEXT.replace("code: cam-xuyen-cchc-2024\n", "code: a: b\n"), "utf-8")
    err = refusal(path)
    assert (err.source, err.field, err.value) == (
        str(path),
        "line 20, column 8",
        "mapping values are not allowed here",
    )
    assert err.problem == "is not valid YAML"


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    err = refusal(path)
    assert (err.source, err.field, err.value, err.problem) == (
        str(path),
        "(file)",
        str(path),
        "no such file",
    )


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    """A file saved as UTF-16 (as Windows Notepad may) is refused, showing its first bytes."""
    path = tmp_path / "directive.yaml"
    raw = SEED_TEXT.encode("utf-16")
    path.write_bytes(raw)
    err = refusal(path)
    assert (err.source, err.field, err.value) == (str(path), "(file)", raw[:20])
    assert err.problem == "is not UTF-8 text"


def test_a_file_bigger_than_pasted_text_may_be_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    """The cap of pasted text holds for files: a 52.8 MB file (sparse: nothing to read) is
    refused by its size, naming it, with no more than a few kB allocated on the way."""
    path = tmp_path / "huge.yaml"
    with path.open("wb") as file:
        file.truncate(52_800_000)
    tracemalloc.start()
    try:
        err = refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(err) == (
        f"{path}: (file): may have at most {MAX_PASTED_BYTES:,} bytes (got '52,800,000 bytes')"
    )
    assert peak < 100_000


def test_a_device_that_never_ends_is_read_no_further_than_the_cap() -> None:
    err = refusal(Path("/dev/zero"))
    assert str(err) == (
        "/dev/zero: (file): may have at most 200,000 bytes (got 'more than 200,000 bytes')"
    )


def test_a_file_at_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "padded.yaml"
    path.write_text(SEED_TEXT + "#" * (MAX_PASTED_BYTES - len(SEED_TEXT.encode())))
    assert path.stat().st_size == MAX_PASTED_BYTES
    assert load_directive(path).code == "cam-xuyen-cchc-2024"


# --- the seed -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> DirectiveSpec:
    return load_directive(SEED)


def test_seed_loads(seed: DirectiveSpec) -> None:
    assert seed.code == "cam-xuyen-cchc-2024"
    assert (seed.document.issuer, seed.document.symbol, seed.document.number) == (
        "446",
        "UBND-VHTT",
        None,
    )
    assert seed.document.draft
    assert seed.lead == "446-VHTT"
    assert (seed.effective.start, seed.effective.until) == (date(2024, 1, 1), date(2024, 12, 31))
    assert seed.unit_references() == [
        ("document.issuer", "446"),
        ("lead", "446-VHTT"),
        ("requirements[2].to", "446-VHTT"),
        ("requirements[4].to", "446-TTVHTT"),
        ("requirements[5].who.units[0]", "446-TTHCC"),
        ("requirements[6].who.units[0]", "446-TTVHTT"),
        ("requirements[7].who.units[0]", "446-TTVHTT"),
        ("requirements[8].who.units[0]", "446-TTVHTT"),
        ("requirements[8].to", "446-VHTT"),
        ("requirements[9].who.units[0]", "446-VHTT"),
        ("requirements[9].to", "446"),
    ]


COMMUNES = {"kinds": ["xa", "thi_tran"]}
CENTRE = {"units": ["446-TTVHTT"]}
REPORTS = ["quarterly", "6-monthly", "yearly"]
# Row of the seed table (/work/shared/seeds/README.md): who, cadences, delivered to.
SEED_TABLE = {
    "1a": (COMMUNES, ["standing"], None),
    "1b": (COMMUNES, ["standing"], None),
    "1c": (COMMUNES, REPORTS, "446-VHTT"),
    "2a": ({"kinds": ["phong", "trung_tam"]}, ["standing"], None),
    "2b": ({"tags": ["cchc-content"]}, ["monthly"], "446-TTVHTT"),
    "3": ({"units": ["446-TTHCC"]}, ["standing"], None),
    "4a": (CENTRE, ["monthly"], None),
    "4b": (CENTRE, ["once"], None),
    "4c": (CENTRE, REPORTS, "446-VHTT"),
    "5": ({"units": ["446-VHTT"]}, REPORTS, "446"),
}


def test_seed_has_one_requirement_per_row_of_the_seed_table(seed: DirectiveSpec) -> None:
    assert [r.code for r in seed.requirements] == list(SEED_TABLE)


@pytest.mark.parametrize("code", list(SEED_TABLE))
def test_seed_expresses_row(seed: DirectiveSpec, code: str) -> None:
    who, cadences, to = SEED_TABLE[code]
    req = next(r for r in seed.requirements if r.code == code)
    assert req.who.model_dump(exclude_defaults=True) == who
    assert [s.cadence.value for s in req.schedule] == cadences
    assert req.standing == (cadences == ["standing"])
    assert req.to == to


def test_seed_content_columns(seed: DirectiveSpec) -> None:
    """Counts + narrative for 1c and 4c, a programme count with target ≥ 1, a reporter's name."""
    reqs = {r.code: r for r in seed.requirements}
    report_keys = [
        "training_classes",
        "seminars",
        "news_items",
        "leaflets",
        "documents",
        "other_forms",
    ]
    for code in ("1c", "4c"):
        what = reqs[code].what
        assert [f.key for f in what.figures] == report_keys
        assert {f.type for f in what.figures} == {"integer"}
        assert what.narrative is not None and what.narrative.required
    (programmes,) = reqs["4a"].what.figures
    assert (programmes.key, programmes.type, programmes.min) == ("programmes", "integer", 0)
    assert programmes.target is not None
    assert (programmes.target.at_least, programmes.target.at_most) == (1, None)
    (reporter,) = reqs["4b"].what.figures
    assert (reporter.key, reporter.type) == ("reporter", "text")
    narrative = reqs["5"].what.narrative
    assert narrative is not None and narrative.required


@pytest.mark.parametrize(
    ("code", "cadence", "key", "due"),
    [
        ("1c", Cadence.QUARTERLY, "2024-Q1", date(2024, 3, 15)),
        ("1c", Cadence.QUARTERLY, "2024-Q2", date(2024, 6, 17)),
        ("1c", Cadence.SIX_MONTHLY, "2024-H1", date(2024, 6, 17)),
        ("1c", Cadence.QUARTERLY, "2024-Q3", date(2024, 9, 16)),
        ("4c", Cadence.YEARLY, "2024", date(2024, 12, 16)),
        ("5", Cadence.QUARTERLY, "2024-Q1", date(2024, 3, 19)),
        ("5", Cadence.SIX_MONTHLY, "2024-H1", date(2024, 6, 19)),
        ("5", Cadence.QUARTERLY, "2024-Q3", date(2024, 9, 18)),
        ("5", Cadence.YEARLY, "2024", date(2024, 12, 18)),
    ],
)
def test_seed_due_dates_match_its_header_comment(
    seed: DirectiveSpec, code: str, cadence: Cadence, key: str, due: date
) -> None:
    req = next(r for r in seed.requirements if r.code == code)
    schedule = next(s for s in req.schedule if s.cadence is cadence)
    assert schedule.due is not None
    period = period_for_key(cadence, schedule.convention, key)
    assert due_date(schedule.due, period, WorkCalendar()) == due


def test_decomposed_vietnamese_is_stored_composed(tmp_path: Path) -> None:
    title = "Báo cáo của Xã Nam Phúc Thăng"
    label = "Số lớp tập huấn"
    decomposed = unicodedata.normalize("NFD", title)
    assert decomposed != title
    data = seed_data()
    put("requirements[0].title", decomposed)(data)
    put(f"{R1C}.what.figures[0].label", unicodedata.normalize("NFD", label))(data)
    loaded = load_directive(write(tmp_path, data))
    assert loaded.requirements[0].title == title
    assert loaded.requirements[2].what.figures[0].label == label
    put("requirements[0].title", title)(data)
    composed = load_directive(write(tmp_path, data))
    assert loaded.sha256() == composed.sha256()


@pytest.mark.parametrize(
    "dump",
    [
        pytest.param({"sort_keys": True}, id="block-sorted"),
        pytest.param({"sort_keys": False, "default_flow_style": True}, id="flow"),
        pytest.param({"sort_keys": False, "width": 40}, id="block-wrapped"),
    ],
)
def test_seed_hash_is_stable_across_formatting(
    seed: DirectiveSpec, tmp_path: Path, dump: dict[str, Any]
) -> None:
    reformatted = load_directive(write(tmp_path, seed_data(), **dump))
    assert reformatted.canonical_json() == seed.canonical_json()
    assert reformatted.sha256() == seed.sha256()


def test_seed_hash_ignores_key_order(seed: DirectiveSpec, tmp_path: Path) -> None:
    def reversed_keys(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reversed_keys(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reversed_keys(v) for v in value]
        return value

    data = reversed_keys(seed_data())
    assert next(iter(data)) == "requirements"
    assert load_directive(write(tmp_path, data, sort_keys=False)).sha256() == seed.sha256()


def test_seed_hash_changes_with_a_due_day(seed: DirectiveSpec, tmp_path: Path) -> None:
    data = seed_data()
    put(f"{R1C}.schedule[0].due.day", 16)(data)
    changed = load_directive(write(tmp_path, data))
    assert changed.sha256() != seed.sha256()
    assert re.fullmatch(r"[0-9a-f]{64}", changed.sha256())


# --- hostile text: aliases that expand, a pasted text too large ---------------------------


def alias_bomb(levels: int) -> str:
    """A few hundred bytes whose aliases stand for 9**levels strings ("billion laughs")."""
    lines = ["code: bomb", 'l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_file_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    """351 bytes standing for 4.8 million strings: refused before anything expands them
    (today's loader builds them in normalising and validating: 124 MB and seconds)."""
    path = tmp_path / "directive.yaml"
    path.write_text(alias_bomb(7), encoding="utf-8")
    tracemalloc.start()
    try:
        err = refusal(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (err.source, err.field, err.value) == (str(path), "(file)", "6,053,453 nodes")
    assert err.problem == f"aliases may build at most {MAX_ALIAS_NODES:,} nodes"
    assert peak < 10_000_000


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "directive.yaml"
    path.write_text("code: loop\nl: &l [*l]\n", encoding="utf-8")
    err = refusal(path)
    assert (err.field, err.problem) == (
        "line 2, column 4",
        f"nests deeper than {MAX_DEPTH} levels once aliases are expanded",
    )


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml("[" * 1000, "f.yaml")
    assert (
        str(caught.value)
        == f"f.yaml: line 1, column 33: nests deeper than {MAX_DEPTH} levels (got 33)"
    )


def test_the_seed_keeps_its_anchors() -> None:
    """The project's own file repeats the report block of 1c in 4c through an alias."""
    assert "*report" in SEED_TEXT
    seed = load_directive(SEED)
    assert seed.requirements[8].what == seed.requirements[2].what


PASTED = "form: directive_yaml"


def test_pasted_text_may_use_no_alias() -> None:
    with pytest.raises(InputError) as caught:
        parse_pasted_yaml(alias_bomb(9), PASTED)
    assert str(caught.value) == (
        f"{PASTED}: line 3, column 10: pasted text may use no alias (got '*l0')"
    )


def test_pasted_text_is_capped_in_bytes() -> None:
    """The cap counts bytes: 100,001 Vietnamese letters of two bytes each are too many."""
    text = "code: " + "ă" * (MAX_PASTED_BYTES // 2)
    with pytest.raises(InputError) as caught:
        parse_pasted_yaml(text, PASTED)
    assert str(caught.value) == (
        f"{PASTED}: (file): pasted text may have at most 200,000 bytes (got '200,006 bytes')"
    )
    without_aliases = SEED_TEXT.replace("    what: *report\n", "").replace("*report_schedule", "[]")
    assert parse_pasted_yaml(without_aliases, PASTED)["code"] == "cam-xuyen-cchc-2024"

"""Fuzzing the directive and register parsers: whatever structure or text comes in, the only
way out other than a result is an InputError of one line naming the source, the field and the
value, never another exception (a traceback for the person who pasted or imported it)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.errors import InputError
from models.files.directive import parse_directive
from models.files.registry import ACTOR_COLUMNS, UNIT_COLUMNS, read_actors, read_units
from models.files.textfiles import MAX_ALIAS_NODES, parse_pasted_yaml, parse_yaml
from tests.unit.test_directive_files import SEED_TEXT, alias_bomb, seed_data

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SOURCE = "fuzz.yaml"

# Text people paste: Vietnamese letters, YAML's punctuation, spaces, zero-width and control
# characters, and anything else.
TEXT = st.text(
    st.one_of(
        st.sampled_from("ăâđêôơưạảấầẩẫậ -:#&*!|>[]{},'\"\n\t\u00a0\u200b\ufeff\x00\x1b"),
        st.characters(),
    ),
    max_size=40,
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    TEXT,
    st.dates().map(str),
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "code",
            "document",
            "lead",
            "effective",
            "requirements",
            "from",
            "until",
            "who",
            "what",
            "schedule",
            "figures",
            "key",
            "label",
            "type",
            "min",
            "max",
            "cadence",
            "due",
            "rule",
            "day",
            "days",
            "date",
            "title",
            "units",
            "kinds",
            "to",
            "escalation",
        ]
    ),
    TEXT,
    st.integers(),
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=30,
)


def _one_line_naming(err: InputError, source: str) -> None:
    message = str(err)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"{source}: {err.field}: ")
    assert err.field


def _parses_or_refuses(data: Any, source: str = SOURCE) -> None:
    """A directive parsed from `data` can be stored and hashed; otherwise one InputError."""
    try:
        spec = parse_directive(data, source)
    except InputError as err:
        _one_line_naming(err, source)
    else:
        assert len(spec.sha256()) == 64


@FUZZ
@given(STRUCTURES)
def test_any_structure_is_a_directive_or_one_input_error(data: Any) -> None:
    _parses_or_refuses(data)


@st.composite
def mutated_seed(draw: st.DrawFn) -> Any:
    """The seed with one field somewhere replaced by a random structure."""
    data = seed_data()
    node: Any = data
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        if not isinstance(node[key], dict | list) or draw(st.booleans()):
            node[key] = draw(STRUCTURES)
            return data
        node = node[key]
    return data


@FUZZ
@given(mutated_seed())
def test_a_seed_with_a_random_field_is_a_directive_or_one_input_error(data: Any) -> None:
    _parses_or_refuses(data)


@FUZZ
@given(mutated_seed(), st.sampled_from([None, True]))
def test_a_random_directive_as_yaml_text_parses_or_refuses(data: Any, flow: bool | None) -> None:
    """The same through the YAML loader, as a file or as pasted text."""
    text = yaml.safe_dump(data, allow_unicode=True, default_flow_style=flow)
    for parse in (parse_yaml, parse_pasted_yaml):
        try:
            loaded = parse(text, SOURCE)
        except InputError as err:
            _one_line_naming(err, SOURCE)
        else:
            _parses_or_refuses(loaded)


@FUZZ
@given(TEXT, st.integers(min_value=0, max_value=len(SEED_TEXT)))
def test_random_text_inserted_into_a_directive_parses_or_refuses(text: str, at: int) -> None:
    pasted = SEED_TEXT[:at] + text + SEED_TEXT[at:]
    for parse in (parse_yaml, parse_pasted_yaml):
        try:
            loaded = parse(pasted, SOURCE)
        except InputError as err:
            _one_line_naming(err, SOURCE)
        else:
            _parses_or_refuses(loaded)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=5, max_value=40))
def test_an_alias_bomb_of_any_depth_is_refused_with_bounded_memory(levels: int) -> None:
    """From 9**5 strings up, however deep the repetitions, the loader refuses before building them:
    the refusal is the bound on nodes (or on nesting), and memory stays far below 100 MB."""
    tracemalloc.start()
    try:
        try:
            parse_yaml(alias_bomb(levels), SOURCE)
        except InputError as err:
            refused = err
        else:
            raise AssertionError("an alias bomb was loaded")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.problem in (
        f"aliases may build at most {MAX_ALIAS_NODES:,} nodes",
        "nests deeper than 32 levels once aliases are expanded",
    )
    assert peak < 10_000_000


# --- registers ----------------------------------------------------------------------------

CELL = st.one_of(
    st.sampled_from(["", "446", "18712", "xa", "2024-01-01", "2025-07-01", "a@b.example"]),
    TEXT.filter(lambda t: "\r" not in t),
)


def _row(cells: list[str]) -> str:
    return ",".join(f'"{c}"' if any(x in c for x in ',"\n') and '"' not in c else c for c in cells)


@st.composite
def register_text(draw: st.DrawFn, columns: tuple[str, ...]) -> str:
    header = draw(st.sampled_from([",".join(columns), ",".join(columns[:-1])]))
    rows = draw(
        st.lists(st.lists(CELL, min_size=0, max_size=len(columns) + 2).map(_row), max_size=6)
    )
    return "\n".join([header, *rows]) + "\n"


def _reads_or_refuses(read: Any, path: Path) -> None:
    try:
        read(path)
    except InputError as err:
        _one_line_naming(err, str(path))


@FUZZ
@given(register_text(UNIT_COLUMNS))
def test_any_unit_register_is_read_or_one_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate: not UTF-8
    _reads_or_refuses(read_units, path)


@FUZZ
@given(register_text(ACTOR_COLUMNS))
def test_any_actor_register_is_read_or_one_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "actors.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate: not UTF-8
    _reads_or_refuses(lambda p: read_actors(p, {"446", "18712"}), path)

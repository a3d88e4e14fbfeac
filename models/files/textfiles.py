"""Reading the YAML people write (directive files, calendar overrides, a directive pasted in a
form), bounded so that a small text cannot make a large structure.

YAML lets a node be named (`&report`) and repeated (`*report`); a few lines of repetitions of
repetitions ("billion laughs") stand for billions of nodes once expanded, as normalising and
validating the text does. Files of the project may repeat a block this way, within a bound on
the nodes built through aliases; pasted text may not use aliases at all. Files and pasted text
alike are capped in size, and a file bigger than its cap is refused before it is read whole.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from models.errors import InputError

MAX_PASTED_BYTES = 200_000  # a directive file is a few kB; its longest text a few paragraphs
MAX_FILE_BYTES = MAX_PASTED_BYTES  # a directive or calendar file, as pasted text
MAX_DEPTH = 32  # levels of nesting, aliases expanded (a directive file nests about 10)
MAX_ALIAS_NODES = 10_000  # nodes a file may build through aliases (the seed builds 60)


class _Refusal(Exception):
    """Text the loader will not build: where, the offending value, and why."""

    def __init__(self, mark: Any, value: object, problem: str) -> None:
        super().__init__(problem)
        self.mark, self.value, self.problem = mark, value, problem


class _Loader(yaml.SafeLoader):
    """Safe loader that leaves dates as text, so a bad date is reported with its field path
    (PyYAML would otherwise turn 2024-02-30 into a bare ValueError), refuses a key repeated in
    one mapping (PyYAML keeps the last silently) and nesting deeper than MAX_DEPTH, and refuses
    aliases unless they are allowed."""

    def __init__(self, text: str, *, aliases: bool) -> None:
        super().__init__(text)
        self.aliases = aliases
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) and not self.aliases:
            raise _Refusal(event.start_mark, f"*{event.anchor}", "pasted text may use no alias")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refusal(
                    event.start_mark, self.depth, f"nests deeper than {MAX_DEPTH} levels"
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            lines: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` may be overridden by the mapping's own keys
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, Hashable):
                    continue  # PyYAML refuses it below
                line = key_node.start_mark.line + 1
                if key in lines:
                    raise _Refusal(
                        key_node.start_mark, key, f"repeats the key of line {lines[key]}"
                    )
                lines[key] = line
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _expanded(root: yaml.Node) -> tuple[int, int]:
    """(nodes once aliases are expanded, distinct nodes), counting each shared node once;
    a _Refusal if the expansion nests deeper than MAX_DEPTH (an alias inside its own anchor
    nests for ever)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise _Refusal(
                node.start_mark,
                depth,
                f"nests deeper than {MAX_DEPTH} levels once aliases are expanded",
            )
        known = sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.SequenceNode):
            n = 1 + sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            n = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        else:
            n = 1
        sizes[id(node)] = n
        return n

    return size(root, 1), len(sizes)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"


def read_text(path: Path, limit: int) -> str:
    """A UTF-8 file of at most `limit` bytes, refused before it is read whole when bigger (by
    its size, or, for a device or a pipe, by reading one byte past the limit); a missing,
    unreadable, bigger or non-UTF-8 file is an InputError naming it."""
    source = str(path)
    too_big = f"may have at most {limit:,} bytes"
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > limit:
                raise InputError(source, "(file)", f"{size:,} bytes", too_big)
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise InputError(source, "(file)", source, "no such file") from None
    except OSError as exc:
        raise InputError(source, "(file)", source, f"cannot be read: {exc.strerror}") from None
    if len(data) > limit:
        raise InputError(source, "(file)", f"more than {limit:,} bytes", too_big)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(source, "(file)", exc.object[:20], "is not UTF-8 text") from None


def read_yaml(path: Path) -> Any:
    """The file's content, at most MAX_FILE_BYTES; a missing, bigger, non-UTF-8 or malformed
    file is an InputError."""
    return parse_yaml(read_text(path, MAX_FILE_BYTES), str(path))


def parse_pasted_yaml(text: str, source: str) -> Any:
    """YAML pasted in a form: at most MAX_PASTED_BYTES, and no aliases."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PASTED_BYTES:
        raise InputError(
            source,
            "(file)",
            f"{size:,} bytes",
            f"pasted text may have at most {MAX_PASTED_BYTES:,} bytes",
        )
    return parse_yaml(text, source, aliases=False)


def parse_yaml(text: str, source: str, *, aliases: bool = True) -> Any:
    """YAML text with dates left as text; aliases, if allowed, may build at most
    MAX_ALIAS_NODES nodes."""
    try:
        return _load(text, aliases)
    except _Refusal as refused:
        raise InputError(source, _where(refused.mark), refused.value, refused.problem) from None
    except yaml.reader.ReaderError as exc:
        where = f"character {exc.position + 1}"
        raise InputError(source, where, chr(exc.character), "may not be in YAML text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            source, _where(mark), getattr(exc, "problem", None), "is not valid YAML"
        ) from None


def _load(text: str, aliases: bool) -> Any:
    loader = _Loader(text, aliases=aliases)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        total, distinct = _expanded(root)
        if total - distinct > MAX_ALIAS_NODES:
            raise _Refusal(
                None, f"{total:,} nodes", f"aliases may build at most {MAX_ALIAS_NODES:,} nodes"
            )
        return loader.construct_document(root)
    finally:
        loader.dispose()

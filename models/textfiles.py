"""Reading the YAML files people write (directives, calendar overrides)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from models.errors import InputError


class _DatesAsTextLoader(yaml.SafeLoader):
    """Safe loader that leaves dates as text, so a bad date is reported with its field path
    (PyYAML would otherwise turn 2024-02-30 into a bare ValueError)."""


_DatesAsTextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> Any:
    """The file's content; a missing, non-UTF-8 or malformed file is an InputError."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(source, "(file)", source, "no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(source, "(file)", exc.object[:20], "is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(source, "(file)", source, f"cannot be read: {exc.strerror}") from None
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str) -> Any:
    """YAML text (a file's, or one pasted in a form) with dates left as text."""
    try:
        return yaml.load(text, Loader=_DatesAsTextLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise InputError(
            source, where, getattr(exc, "problem", None), "is not valid YAML"
        ) from None

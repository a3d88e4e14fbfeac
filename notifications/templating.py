"""The Jinja2 environment of every message and page dondoc writes from `templates/`: HTML is
autoescaped; a missing variable is an error (StrictUndefined), never an empty string. Kept
apart from the letters' rendering, which imports the documents' libraries, so that a short
letter (the sign-in code) costs only Jinja2."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models.rules.vietnamese import day_text, number_text, period_words
from models.rules.workdays import local_time_text

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["day"] = day_text
    env.filters["period"] = period_words
    env.filters["number"] = number_text
    env.filters["time"] = local_time_text
    return env

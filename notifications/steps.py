"""The templates a ladder step may name: one pair per step in `templates/steps/`, a plain-text
and an HTML part (`<name>.txt.j2`, `<name>.html.j2`), which every letter includes by the
step's `template`. Kept apart from rendering, which imports the document libraries, so that
publishing and loading the settings can check a ladder's templates cheaply."""

from __future__ import annotations

from functools import cache
from pathlib import Path

STEPS = Path(__file__).resolve().parent / "templates" / "steps"
PARTS = (".txt.j2", ".html.j2")


@cache
def step_templates() -> frozenset[str]:
    """The names of the step templates that exist, each with both of its parts."""
    names = {path.name.removesuffix(PARTS[0]) for path in STEPS.glob(f"*{PARTS[0]}")}
    return frozenset(name for name in names if (STEPS / f"{name}{PARTS[1]}").is_file())

"""What a run over many directives (the chase, the monthly summary, the consolidation, the
daily status and opening) does about the directives it could not do: it finishes the others,
shows each failed one in red in its artifact with one Vietnamese line, puts the technical
detail in the run's log for the administrator, and ends Failed, counting them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed, State

from models.errors import DirectiveFailure
from models.rules.text import markdown_text as md

R = TypeVar("R")


def failure_lines(failed: Iterable[DirectiveFailure]) -> list[str]:
    """One red markdown list item per directive not done: what failed and what to do."""
    return [f'- <span style="color:#c00">**{md(f.vi)}**</span>' for f in failed]


def failures_artifact(failed: list[DirectiveFailure], *, key: str, title: str) -> None:
    """For a run whose artifacts are tables (which show no colour): the directives it could
    not do, in red, in a markdown artifact of their own; nothing if it did them all."""
    if failed:
        create_markdown_artifact(
            key=key,
            description=title,
            markdown="\n".join([f"# {title}", "", *failure_lines(failed)]),
        )


def finish(failed: list[DirectiveFailure], value: R, *problems: str | None) -> R | State[Any]:
    """End a run over many directives: each failure's detail and traceback in the run's log
    for the administrator; then Failed, with one Vietnamese message counting the directives
    not done (and any other `problems` of the run), if there is anything to say; `value`
    otherwise."""
    logger = get_run_logger()
    for f in failed:
        logger.error("%s: %s\n%s", f.directive, f.detail, f.trace)
    said = [problem for problem in problems if problem]
    if failed:
        codes = ", ".join(f.directive for f in failed)
        said.insert(
            0, f"{len(failed)} chỉ thị không làm được ({codes}); các chỉ thị khác đã làm xong."
        )
    return Failed(message=" ".join(said)) if said else value

"""Reports: rates, the matrix, the consolidated reports and the consolidation run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from models.errors import DirectiveFailure, Failures, InputError
from models.rules.consolidation import Consolidation, Matrix, Rate, TargetCount
from models.rules.status import Day
from models.rules.vietnamese import period_words
from models.storage import reporting
from models.storage.reporting import GROUPINGS as GROUPINGS
from models.storage.reporting import Grouping as Grouping
from services.settings import Settings


def rates(
    settings: Settings,
    *,
    directive: str,
    day: date,
    requirement: str | None = None,
    period: str | None = None,
    by: reporting.Grouping | None = None,
) -> tuple[list[Rate], list[TargetCount]]:
    """Reporting rates per requirement, period and unit group as of `day`, and how many
    accepted reports met each target."""
    return reporting.rates(
        settings.engine(),
        directive=directive,
        on=settings.status_day(day),
        requirement=requirement,
        period=period,
        by=by,
    )


def matrix(settings: Settings, *, directive: str, requirement: str, day: date) -> Matrix:
    """Units × periods of one requirement, each cell the status as of `day`."""
    return reporting.matrix(
        settings.engine(),
        directive=directive,
        requirement=requirement,
        on=settings.status_day(day),
    )


def consolidation(
    settings: Settings, *, directive: str, requirement: str, period: str, day: date
) -> Consolidation:
    """The consolidated report of one requirement and period as of `day`."""
    return reporting.consolidation(
        settings.engine(),
        directive=directive,
        requirement=requirement,
        period=period,
        on=settings.status_day(day),
    )


def _folder(folder: Path) -> None:
    """`folder`, created if need be; an InputError naming it if it is a file or cannot be."""
    if folder.exists() and not folder.is_dir():
        raise InputError(str(folder), "(folder)", str(folder), "is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            str(folder), "(folder)", str(folder), f"cannot be created: {exc.strerror or exc}"
        ) from None


@contextmanager
def written_whole(*files: Path) -> Iterator[list[Path]]:
    """Files beside `files` for the block to write, moved onto `files` once every one is
    written: a failure leaves each file as it was, none half-written, and no file beside
    it. A file that is a folder or a device, or a folder that cannot be created or written
    to, is an InputError naming it."""
    for file in files:
        _folder(file.parent)
        if file.exists() and not file.is_file():
            problem = "is a folder, not a file" if file.is_dir() else "is not a regular file"
            raise InputError(str(file), "(file)", str(file), problem)
    parts = [file.with_name(f".{file.name}.{uuid.uuid4().hex}.part") for file in files]
    try:
        yield parts
        for part, file in zip(parts, files, strict=True):
            os.replace(part, file)
    except OSError as exc:
        # the file the failure concerns: the one whose part was written or moved
        named = {str(part): file for part, file in zip(parts, files, strict=True)}
        failed = named.get(str(exc.filename), files[0])
        raise InputError(
            str(failed), "(file)", str(failed), f"cannot be written: {exc.strerror or exc}"
        ) from None
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def _report_files(found: Consolidation, out: Path) -> list[Path]:
    """A consolidated report written into `out` as a workbook (.xlsx) and a Word draft
    (.docx), both or neither."""
    from notifications import report

    stem = report.filename(found)
    files = [out / f"{stem}.xlsx", out / f"{stem}.docx"]
    with written_whole(*files) as (workbook, draft):
        report.write_consolidation_xlsx(found, workbook)
        report.write_consolidation_docx(found, draft)
    return files


def _matrix_file(html: str, out: Path) -> Path:
    with written_whole(out) as (page,):
        page.write_text(html, encoding="utf-8")
    return out


def write_consolidation(
    settings: Settings, *, directive: str, requirement: str, period: str, day: date, out: Path
) -> tuple[Consolidation, list[Path]]:
    """The consolidated report of one requirement and period as of `day`, written into `out`
    as a workbook (.xlsx) and a Word draft (.docx)."""
    found = consolidation(
        settings, directive=directive, requirement=requirement, period=period, day=day
    )
    return found, _report_files(found, out)


def write_matrix(
    settings: Settings, *, directive: str, requirement: str, day: date, out: Path
) -> tuple[Matrix, Path]:
    """The compliance matrix of one requirement as one self-contained HTML file `out`."""
    from notifications.matrix import matrix_html

    found = matrix(settings, directive=directive, requirement=requirement, day=day)
    return found, _matrix_file(matrix_html(found), out)


@dataclass(frozen=True, slots=True)
class Drafted:
    """One consolidated report (the lead office's, or that of the office it reports to)
    drafted by the consolidation run: the reports it sums up, the files written (relative to
    the outputs folder), and the draft its form now offers."""

    due: reporting.DraftDue
    reports: list[Consolidation]
    files: list[str]
    narrative: str
    evidence: str | None


@dataclass(frozen=True, slots=True)
class ConsolidationRun:
    """What a consolidation run drafted, the matrix of each requirement it summed up (one per
    requirement, whatever the periods drafted), and the directives it could not consolidate."""

    day: date
    working_day: bool
    drafted: list[Drafted]
    matrices: list[Matrix]
    failed: list[DirectiveFailure] = field(default_factory=list)


def consolidate(settings: Settings, *, day: date, now: datetime) -> ConsolidationRun:
    """On a working day, draft every consolidated report whose sources' deadline has passed
    and that is not handed in yet: the consolidated reports and matrices of what it sums up go to
    the outputs folder, and the draft to its obligation, for a person to check and submit.
    Each requirement's matrix covers all its periods: it is read and rendered once, and
    copied into the folder of each period drafted. Each report is drafted on its own: one
    that fails (its directive's stored text no longer reads, say) keeps its earlier draft and
    is named in the run's failures, and the others are drafted."""
    if not settings.calendar().is_working_day(day):
        return ConsolidationRun(day, False, [], [])
    engine = settings.engine()
    on = settings.status_day(day)
    pages: dict[tuple[str, str], tuple[Matrix, str]] = {}
    drafted: list[Drafted] = []
    failures = Failures("Tổng hợp báo cáo")
    for due in reporting.drafts_due(engine, day=day, failures=failures):
        with failures.of(due.directive):
            drafted.append(_draft(settings, due, day=day, now=now, on=on, pages=pages))
    return ConsolidationRun(
        day, True, drafted, [grid for grid, _ in pages.values()], failures.listed()
    )


def _draft(
    settings: Settings,
    due: reporting.DraftDue,
    *,
    day: date,
    now: datetime,
    on: Day,
    pages: dict[tuple[str, str], tuple[Matrix, str]],
) -> Drafted:
    """One consolidated report drafted: the reports and matrices of what it sums up written
    to the outputs folder, and the draft kept for its obligation (`pages`: the matrices read
    and rendered so far, by directive and requirement)."""
    from notifications.draft import draft_text
    from notifications.matrix import matrix_html

    engine = settings.engine()
    folder = Path(due.directive) / due.period
    reports, written = [], []
    for source in due.sources:
        found = reporting.consolidation(
            engine, directive=due.directive, requirement=source, period=due.period, on=on
        )
        if (due.directive, source) not in pages:
            grid = reporting.matrix(engine, directive=due.directive, requirement=source, on=on)
            pages[(due.directive, source)] = (grid, matrix_html(grid))
        page = settings.outputs_dir / folder / f"ma-tran-{source}-{day.isoformat()}.html"
        files = [
            *_report_files(found, settings.outputs_dir / folder),
            _matrix_file(pages[(due.directive, source)][1], page),
        ]
        reports.append(found)
        written += [str(path.relative_to(settings.outputs_dir)) for path in files]
    narrative = draft_text(
        reports,
        period=period_words(due.period),
        as_of=day,
        files=[Path(f).name for f in written],
    )
    evidence = f"{settings.outputs_url}{folder.as_posix()}/" if settings.outputs_url else None
    reporting.write_draft(
        engine,
        due.obligation_id,
        narrative=narrative,
        evidence=evidence,
        files=written,
        as_of=day,
        now=now,
    )
    return Drafted(due, reports, written, narrative, evidence)


def drafts(settings: Settings, obligation_ids: Collection[int]) -> dict[int, reporting.Drafted]:
    """The consolidation run's drafts of these obligations."""
    return reporting.drafts(settings.engine(), list(obligation_ids))

"""Errors the domain raises; the CLI and flows turn them into messages for people."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class DondocError(Exception):
    """Base of every error dondoc raises on purpose. `vi`, where the error reaches a clerk,
    says the same in one Vietnamese line."""

    def __init__(self, *args: object, vi: str | None = None) -> None:
        super().__init__(*args)
        self.vi = vi


class InputError(DondocError):
    """Bad input: names the source (a file or a command), the field path and the value (when
    there is one)."""

    def __init__(
        self, source: str, field: str, value: object, problem: str, *, vi: str | None = None
    ) -> None:
        self.source = source
        self.field = field
        self.value = value
        self.problem = problem
        # a missing field has no value to show
        got = "" if value is None else f" (got {value!r})"
        super().__init__(f"{source}: {field}: {problem}{got}", vi=vi)


class OutsideCalendar(DondocError, ValueError):
    """A day in a year whose working days are not known (the holidays package's years)."""


class DatabaseNotReady(DondocError):
    """dondoc's database is missing, unreachable, or not at the schema this code needs."""


class NotFound(DondocError):
    """A referenced directive, unit, actor or obligation does not exist."""


class Refused(DondocError):
    """A command the domain will not carry out in the obligation's current state."""


class Unauthorized(DondocError):
    """The actor has no right to this command; the denial is recorded."""


class SignInRefused(DondocError):
    """A sign-in not let through: a wrong, used or lapsed code, a person who may not sign in,
    or a try before the wait after repeated failures is over (`wait`, whole seconds). Said
    the same whatever the reason, so that it tells no one which names exist."""

    def __init__(self, message: str, *, vi: str, wait: int = 0) -> None:
        super().__init__(message, vi=vi)
        self.wait = wait


class ConcurrencyConflict(DondocError):
    """Another writer appended to the same obligation first."""


class LogCorrupt(DondocError):
    """The event log does not verify: its hash chain or numbering is broken."""


class DeliveryFailed(DondocError):
    """Messages could not be delivered; they stay in the outbox and are retried later."""


class DirectivesFailed(DondocError):
    """A run over many directives did the others' work but not these directives'."""


@dataclass(frozen=True, slots=True)
class DirectiveFailure:
    """One directive's part of a run over many that could not be done; the run did the
    others' and rolled back only this one's. `vi`: the one Vietnamese line a clerk reads
    (what failed and what to do); `detail` and `trace`: the error, for the administrator's
    log."""

    directive: str
    vi: str
    detail: str
    trace: str


# What to do about a directive a run could not do, for every kind of failure.
TO_DO = (
    "Quản trị viên xem chi tiết kỹ thuật trong nhật ký của lượt chạy, sửa chỉ thị rồi chạy lại; "
    "các chỉ thị khác đã làm xong."
)


def _cause(error: Exception) -> str:
    """What went wrong, in Vietnamese words a clerk can pass on."""
    # loaded once something failed: the command line starts without pydantic
    from pydantic import ValidationError

    if isinstance(error, DondocError) and error.vi:
        return error.vi.rstrip(".")  # the failure's line ends the sentence itself
    if isinstance(error, ValidationError):
        return "nội dung chỉ thị lưu trong cơ sở dữ liệu không còn đọc được"
    return "lỗi kỹ thuật"


class Failures:
    """The directives a run over many could not do (`doing`: the run's work in Vietnamese,
    "Đôn đốc"), the first failure of each. A failure stays in its directive: the run goes on
    with the others and fails at its end."""

    def __init__(self, doing: str) -> None:
        self.doing = doing
        self.found: dict[str, DirectiveFailure] = {}

    def add(self, directive: str, error: Exception) -> None:
        """Record that `directive`'s part failed with `error` (its first failure is kept)."""
        if directive not in self.found:
            self.found[directive] = DirectiveFailure(
                directive,
                f"{self.doing} của chỉ thị {directive} không làm được: {_cause(error)}. {TO_DO}",
                # one line, as every error dondoc prints (the trace keeps the lines)
                f"{type(error).__name__}: {' '.join(str(error).split())}",
                "".join(traceback.format_exception(error)),
            )

    @contextmanager
    def of(self, directive: str) -> Iterator[None]:
        """Do `directive`'s part: an error within is recorded as its failure and goes no
        further. A concurrent writer is not the directive's fault: it still ends the block's
        transaction, for the run to retry whole."""
        try:
            yield
        except ConcurrencyConflict:
            raise
        except Exception as error:  # whatever goes wrong in one directive stays in it
            self.add(directive, error)

    def __contains__(self, directive: object) -> bool:
        return directive in self.found

    def __bool__(self) -> bool:
        return bool(self.found)

    def listed(self) -> list[DirectiveFailure]:
        """The failures, in the order of their directives' codes."""
        return [self.found[code] for code in sorted(self.found)]

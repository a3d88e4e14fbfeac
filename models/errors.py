"""Errors the domain raises; the CLI and flows turn them into messages for people."""

from __future__ import annotations


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

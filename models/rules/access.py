"""Signing in: how long a one-time code, a session and a run's grant hold, and how repeated
failures slow the next try down. Pure: the store applies these with the moment it is given."""

from __future__ import annotations

from datetime import timedelta

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)  # a code sent by e-mail is good this long, once
SESSION_IDLE = timedelta(hours=1)  # a session lapses after this long without a request
SESSION_LIFETIME = timedelta(hours=10)  # and after a working day, however active
# A run may wait on a busy worker, and a clerk keeps a form open up to a day: the grant of a
# start or of a resume holds as long as the form does.
GRANT_LIFETIME = timedelta(hours=24)
# Failures that count towards slowing down: from one address, since the last sign-in there
# and within this window.
FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES = 5
LONGEST_WAIT = timedelta(seconds=60)


def wait_after(failures: int) -> timedelta:
    """How long after the latest failure the next try is heard: at once for the first
    FREE_FAILURES, then 1 s, 2 s, 4 s… up to LONGEST_WAIT. The wait never grows past it, so
    the person who owns the code gets in within a minute however many tries came before."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 6)), LONGEST_WAIT)

"""Python's cycle collector, paused while bulk work runs: the storage's bulk runs and the
command line's listing build rows that hold no reference cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector while a bulk run builds and writes rows: they hold no
    reference cycles (reference counting frees them), and collecting hundreds of thousands of
    young tuples again and again took a fifth of a national publish."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()

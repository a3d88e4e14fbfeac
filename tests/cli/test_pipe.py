"""A reader that stops early (`dondoc obligations | head`): the command ends quietly, as Unix
tools do, whichever way its output was going when the pipe closed.

The command runs as the installed `dondoc` script runs it (the entry point pyproject names),
in a process of its own whose stdout is a pipe this test closes, with Python's own buffering:
without PYTHONUNBUFFERED, output still buffered when the command ends is written only as
Python exits, where a broken pipe used to end in "Exception ignored … BrokenPipeError"."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tomllib
from typing import Any, BinaryIO

import pytest

from tests.conftest import ROOT


def _dondoc(*args: str) -> tuple[subprocess.Popen[bytes], BinaryIO]:
    """`dondoc ARGS…` as its console script starts it, and the pipe its stdout writes into:
    the smallest the kernel allows, a page, so that a command writing more waits on it until
    the test reads or closes it (the seed's listing would fit a default pipe whole)."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    module, _, function = scripts["project"]["scripts"]["dondoc"].partition(":")
    start = f"import sys; from {module} import {function}; sys.argv[0] = 'dondoc'; {function}()"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(ROOT)
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, os.sysconf("SC_PAGESIZE"))
    process = subprocess.Popen(
        [sys.executable, "-c", start, *args],
        cwd=ROOT,
        env=env,
        stdout=write,
        stderr=subprocess.PIPE,
    )
    os.close(write)
    return process, os.fdopen(read, "rb")


@pytest.mark.parametrize(
    ("args", "read"),
    [
        # JSON streamed past the pipe: it breaks while the command writes
        (("obligations", "--json", "--as-of", "2024-12-31"), 100),
        # a small JSON listing, still buffered when the command ends: the pipe breaks as
        # Python exits (where it used to end in status 120 and the BrokenPipeError)
        (("directive", "list", "--json"), 0),
        # a table rich writes
        (("obligations", "--as-of", "2024-12-31"), 0),
        # click's help
        (("--help",), 0),
    ],
    ids=["json-streamed", "json-buffered", "table", "help"],
)
def test_a_closed_pipe_ends_the_command_quietly(
    published: Any, args: tuple[str, ...], read: int
) -> None:
    process, stdout = _dondoc(*args)
    assert process.stderr is not None
    if read:
        assert stdout.read(read)
    stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1, stderr
    assert "BrokenPipe" not in stderr and "Traceback" not in stderr, stderr
    assert stderr == ""

"""The run starter (`flows/prestart.py`): a run forked from the server gets what its client
was started with (arguments, environment, directory, standard streams) and ends as the client
reports; a cancellation's SIGTERM reaches the run, a killed client's run is killed, a stopping
server ends its runs; without a server the client runs the module itself. The server and its
clients are real processes, over a real socket, on a module of the test's own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

STARTER = ROOT / "flows" / "prestart.py"
WAIT_SECONDS = 60

TARGET = """
import os, signal, sys, time
from pathlib import Path
out = Path(os.environ["OUT"])
(out / "pid").write_text(str(os.getpid()))
print("args", sys.argv[1:], "cwd", os.getcwd(), "colour", os.environ.get("COLOUR"), flush=True)
print("to the error stream", file=sys.stderr, flush=True)
mode = sys.argv[1] if len(sys.argv) > 1 else ""
if mode == "exit":
    sys.exit(int(sys.argv[2]))
if mode == "raise":
    raise ValueError("the run's own failure")
if mode == "wait":
    def terminated(signum, frame):
        (out / "signal").write_text(str(signum))
        sys.exit(5)
    signal.signal(signal.SIGTERM, terminated)
    (out / "waiting").write_text("")
    time.sleep(WAIT)
""".replace("WAIT", str(WAIT_SECONDS))


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {WAIT_SECONDS} s")
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a child of no one here that has ended but is not yet reaped still answers
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def modules(tmp_path: Path) -> Path:
    """A folder holding the module the runs run (`target`), and where it writes."""
    folder = tmp_path / "modules"
    folder.mkdir()
    (folder / "target.py").write_text(TARGET)
    return folder


def _serve(sock: Path, modules: Path, *preload: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.prestart", "serve", "--socket", str(sock), *preload],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{modules}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def server(tmp_path: Path, modules: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    sock = tmp_path / "starter.sock"
    process = _serve(sock, modules, "json")
    try:
        _until(lambda: sock.exists() or process.poll() is not None, "socket")
        assert process.poll() is None, process.communicate()[0]
        yield process, sock
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.communicate(timeout=WAIT_SECONDS)


def _client(
    sock: Path | None, modules: Path, *args: str, cwd: Path, **env: str
) -> subprocess.Popen[str]:
    """The client as the work pool runs it: `python -I -S flows/prestart.py start -m ...`."""
    environment = {**os.environ, "OUT": str(modules), **env}
    environment.pop("DONDOC_RUN_STARTER", None)
    if sock is not None:
        environment["DONDOC_RUN_STARTER"] = str(sock)
    # without a server, the module is found as `python -m` finds it
    environment["PYTHONPATH"] = str(modules)
    return subprocess.Popen(
        [sys.executable, "-I", "-S", str(STARTER), "start", "-m", "target", *args],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _waiting(sock: Path, modules: Path, cwd: Path) -> tuple[subprocess.Popen[str], int]:
    """A client whose run waits (until signalled), and the run's process id."""
    client = _client(sock, modules, "wait", cwd=cwd)
    _until(lambda: (modules / "waiting").exists(), "run waiting")
    return client, int((modules / "pid").read_text())


def test_a_run_gets_its_clients_arguments_environment_directory_and_streams(
    server: tuple[subprocess.Popen[str], Path], modules: Path, tmp_path: Path
) -> None:
    _, sock = server
    client = _client(sock, modules, "one", "two", cwd=tmp_path, COLOUR="đỏ")
    out, err = client.communicate(timeout=WAIT_SECONDS)
    assert client.returncode == 0, err
    assert out == f"args ['one', 'two'] cwd {tmp_path} colour đỏ\n"
    assert err == "to the error stream\n"
    # the run was the server's child, not the client's
    run_pid = int((modules / "pid").read_text())
    assert run_pid != client.pid
    assert not _alive(run_pid)


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [(("exit", "3"), 3, ""), (("raise",), 1, "ValueError: the run's own failure")],
)
def test_the_client_ends_as_its_run_did(
    server: tuple[subprocess.Popen[str], Path],
    modules: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    code: int,
    said: str,
) -> None:
    _, sock = server
    client = _client(sock, modules, *args, cwd=tmp_path)
    _, err = client.communicate(timeout=WAIT_SECONDS)
    assert client.returncode == code
    assert said in err


def test_a_cancellations_sigterm_reaches_the_run(
    server: tuple[subprocess.Popen[str], Path], modules: Path, tmp_path: Path
) -> None:
    _, sock = server
    client, _ = _waiting(sock, modules, tmp_path)
    client.send_signal(signal.SIGTERM)
    client.communicate(timeout=WAIT_SECONDS)
    assert (modules / "signal").read_text() == str(signal.SIGTERM.value)
    assert client.returncode == 5


def test_a_killed_clients_run_is_killed(
    server: tuple[subprocess.Popen[str], Path], modules: Path, tmp_path: Path
) -> None:
    _, sock = server
    client, run_pid = _waiting(sock, modules, tmp_path)
    client.kill()
    client.communicate(timeout=WAIT_SECONDS)
    _until(lambda: not _alive(run_pid), "end of the killed client's run")
    # the server goes on starting runs
    again = _client(sock, modules, "exit", "0", cwd=tmp_path)
    again.communicate(timeout=WAIT_SECONDS)
    assert again.returncode == 0


def test_a_stopping_server_ends_its_runs_and_removes_its_socket(
    server: tuple[subprocess.Popen[str], Path], modules: Path, tmp_path: Path
) -> None:
    process, sock = server
    client, run_pid = _waiting(sock, modules, tmp_path)
    process.send_signal(signal.SIGTERM)
    log, _ = process.communicate(timeout=WAIT_SECONDS)
    assert not _alive(run_pid)
    assert not sock.exists()
    _, err = client.communicate(timeout=WAIT_SECONDS)
    assert client.returncode == 1
    assert "the run starter stopped during the run" in err
    assert f"{run_pid} started: python -m target wait" in log


def test_without_a_server_the_client_runs_the_module_itself(modules: Path, tmp_path: Path) -> None:
    for sock in (None, tmp_path / "nobody.sock"):
        client = _client(sock, modules, "exit", "4", cwd=tmp_path, COLOUR="xanh")
        out, _ = client.communicate(timeout=WAIT_SECONDS)
        assert client.returncode == 4
        assert out == f"args ['exit', '4'] cwd {tmp_path} colour xanh\n"
        assert int((modules / "pid").read_text()) == client.pid


def test_a_server_refuses_to_fork_once_preloading_started_a_thread(
    modules: Path, tmp_path: Path
) -> None:
    (modules / "threaded.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    sock = tmp_path / "starter.sock"
    process = _serve(sock, modules, "threaded")
    log, _ = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 1
    assert "preloading started threads" in log
    assert not sock.exists()


def test_the_socket_is_its_users_only_and_a_mute_caller_stops_nothing(
    server: tuple[subprocess.Popen[str], Path], modules: Path, tmp_path: Path
) -> None:
    _, sock = server
    assert sock.stat().st_mode & 0o777 == 0o600
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.connect(str(sock))
    mute.sendall(b"not a request")
    mute.close()
    client = _client(sock, modules, "exit", "0", cwd=tmp_path)
    client.communicate(timeout=WAIT_SECONDS)
    assert client.returncode == 0

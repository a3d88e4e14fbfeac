"""Starts the worker's flow runs from a process that has already imported Prefect and the flows.

Every run the process worker starts used to be a new Python process that imported Prefect's
engine (0.9 s on a quiet machine, 2-3 s on a busy one) and dondoc's flows (0.5 s more) before
it did anything: most of an empty run's wait, paid again by every clerk's form. `serve` imports
them once, then forks one child per run, which shares those pages with it (copy-on-write).
`start` is the work pool's command, the small client the worker runs in the run's place: it
hands the server its arguments, environment, working directory and standard streams, passes on
the signals the worker sends it (a cancellation's SIGTERM), and exits as the run did. When no
server answers, `start` runs the module itself (`python -m prefect.engine`, as before).

The server forks only while it has one thread, so no lock of a thread is copied held into a
child; it refuses to serve if the preloading started one. When the client ends without a word
(the worker killed it), the server kills its run; when the server stops, it kills every run it
started, as a stopping worker's runs ended before.

The standard library only: `start` runs as `python -I -S flows/prestart.py start ...`, without
the project's packages, so that it costs a few milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SOCKET_ENV = "DONDOC_RUN_STARTER"
"""The environment variable that holds the server's socket path (its client reads it)."""

_HEADER = struct.Struct(">I")
_STREAMS = (0, 1, 2)
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Request:
    """What a client hands the server: the arguments of `python` (`-m module ...`), the
    environment, the working directory, and its standard streams (file descriptors)."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    streams: list[int]


class _Stop(Exception):
    """The server was asked to stop (SIGINT or SIGTERM)."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop(signum)


def _exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client left before its request was whole")
        data += chunk
    return data


def _receive(conn: socket.socket) -> Request:
    header, fds, _, _ = socket.recv_fds(conn, _HEADER.size, len(_STREAMS))
    if len(fds) != len(_STREAMS):
        for fd in fds:
            os.close(fd)
        raise ConnectionError("the client sent no standard streams")
    try:
        if len(header) < _HEADER.size:
            header += _exact(conn, _HEADER.size - len(header))
        (size,) = _HEADER.unpack(header)
        payload = json.loads(_exact(conn, size))
        return Request(
            argv=[str(a) for a in payload["argv"]],
            env={str(k): str(v) for k, v in payload["env"].items()},
            cwd=str(payload["cwd"]),
            streams=fds,
        )
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _send(conn: socket.socket, line: str) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(f"{line}\n".encode())


@dataclass
class _Run:
    pid: int
    conn: socket.socket | None
    pidfd: int


class _Server:
    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ)
        self.runs: dict[int, _Run] = {}

    def serve(self) -> Request:
        """Start runs until stopped (raises `_Stop`); returns only in a forked run's process,
        with its request."""
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.listener:
                    request = self._accept()
                    if request is not None:
                        return request
                elif isinstance(key.data, _Run) and key.fileobj is key.data.conn:
                    self._client_event(key.data)
                elif isinstance(key.data, _Run):
                    self._exited(key.data)

    def _accept(self) -> Request | None:
        conn, _ = self.listener.accept()
        conn.settimeout(5)
        try:
            request = _receive(conn)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            conn.close()
            return None
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        pid = os.fork()
        if pid == 0:
            self._become_run(conn)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            return request
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        for fd in request.streams:
            os.close(fd)
        run = _Run(pid=pid, conn=conn, pidfd=os.pidfd_open(pid))
        self.runs[pid] = run
        flow_run = request.env.get("PREFECT__FLOW_RUN_ID", "-")
        print(f"{pid} started: python {' '.join(request.argv)} (flow run {flow_run})", flush=True)
        _send(conn, str(pid))
        conn.setblocking(False)
        self.selector.register(conn, selectors.EVENT_READ, run)
        self.selector.register(run.pidfd, selectors.EVENT_READ, run)
        return None

    def _become_run(self, conn: socket.socket) -> None:
        """In the forked child: drop the server's sockets and handlers, lead a process group
        of its own (so that its run's own children end with it)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        self.selector.close()
        self.listener.close()
        conn.close()
        for run in self.runs.values():
            if run.conn is not None:
                run.conn.close()
            os.close(run.pidfd)
        self.runs.clear()
        os.setsid()

    def _client_event(self, run: _Run) -> None:
        assert run.conn is not None
        try:
            data = run.conn.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            return
        # the client ended without waiting for its run: the worker killed it
        self.selector.unregister(run.conn)
        run.conn.close()
        run.conn = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)

    def _exited(self, run: _Run) -> None:
        _, status = os.waitpid(run.pid, 0)
        self.selector.unregister(run.pidfd)
        os.close(run.pidfd)
        del self.runs[run.pid]
        if run.conn is not None:
            self.selector.unregister(run.conn)
            run.conn.setblocking(True)
            _send(run.conn, str(os.waitstatus_to_exitcode(status)))
            run.conn.close()
        print(f"{run.pid} ended: {os.waitstatus_to_exitcode(status)}", flush=True)

    def stop(self) -> None:
        """End every run started (their process groups), then close."""
        for run in self.runs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
        for run in self.runs.values():
            os.waitpid(run.pid, 0)
            if run.conn is not None:
                run.conn.close()
            os.close(run.pidfd)
        self.runs.clear()
        self.selector.close()
        self.listener.close()


def _preload(modules: Sequence[str]) -> None:
    for name in modules:
        importlib.import_module(name)
    if threading.active_count() != 1:
        names = ", ".join(t.name for t in threading.enumerate())
        raise SystemExit(f"preloading started threads ({names}); forking would copy them dead")


def serve(path: Path, preload: Sequence[str]) -> Request | None:
    """Preload the modules, then start runs for the clients of the socket at `path` until
    SIGINT or SIGTERM (then returns None). In each run's forked process, returns its request."""
    _preload(preload)
    # bound under another name and renamed once listening: a client that finds the socket
    # is taken, not refused
    bound = path.with_name(f"{path.name}.{os.getpid()}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(bound))
    finally:
        os.umask(old_umask)
    listener.listen(64)
    bound.replace(path)
    server = _Server(listener)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _raise_stop)
    print(f"starting runs from {path}, {len(preload)} modules loaded", flush=True)
    try:
        return server.serve()
    except _Stop:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        server.stop()
        path.unlink(missing_ok=True)
        return None


def run_request(request: Request) -> None:
    """In a run's forked process: take the client's streams, directory and environment, and
    run `-m module args...` as `python` would (its SystemExit ends the process)."""
    for target, fd in zip(_STREAMS, request.streams, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)
    context = sys.modules.get("prefect.context")
    if context is not None:
        # Prefect read its settings from the server's environment when it was imported
        context.refresh_global_settings_context()
    if len(request.argv) < 2 or request.argv[0] != "-m":
        raise SystemExit(f"a run starts as `-m module ...`, not {request.argv!r}")
    sys.argv = [request.argv[1], *request.argv[2:]]
    runpy.run_module(request.argv[1], run_name="__main__", alter_sys=True)


def _connect(path: str) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    return conn


def _lines(conn: socket.socket) -> Iterator[str]:
    buffer = b""
    while True:
        try:
            chunk = conn.recv(64)
        except InterruptedError:
            continue
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode()


def start(argv: list[str]) -> int:
    """Have the server start `python <argv>` and wait for it (its exit code, or the negative
    signal that ended it); without a server, become `python <argv>`."""
    path = os.environ.get(SOCKET_ENV)
    conn = _connect(path) if path else None
    if conn is None:
        os.execv(sys.executable, [sys.executable, *argv])
    assert conn is not None
    pending: list[int] = []
    child: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child[0], signum)
        else:
            pending.append(signum)

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    payload = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(conn, [_HEADER.pack(len(payload))], list(_STREAMS))
    conn.sendall(payload)
    lines = _lines(conn)
    pid = next(lines, None)
    if pid is None:
        print("dondoc: the run starter ended before starting the run", file=sys.stderr)
        return 1
    child.append(int(pid))
    for signum in pending:
        forward(signum, None)
    code = next(lines, None)
    if code is None:
        print("dondoc: the run starter stopped during the run", file=sys.stderr)
        return 1
    if int(code) < 0:
        signal.signal(-int(code), signal.SIG_DFL)
        os.kill(os.getpid(), -int(code))
    return int(code)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["start"]:
        # `start -m module ...`: everything after `start` is python's
        raise SystemExit(start(args[1:]))
    parser = argparse.ArgumentParser(prog="prestart", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    served = commands.add_parser("serve", help="preload, then start runs for the clients")
    served.add_argument("--socket", type=Path, required=True, help="the socket to listen on")
    served.add_argument("modules", nargs="*", help="the modules to import before forking")
    commands.add_parser("start", help="start -m MODULE [ARG ...]: run it through the server")
    options = parser.parse_args(args)
    request = serve(options.socket, options.modules)
    if request is not None:
        run_request(request)


if __name__ == "__main__":
    main()

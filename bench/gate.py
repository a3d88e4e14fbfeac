"""Benchmark: what the gate adds to the UI's API calls.

Starts a Prefect server that requires its auth string (SQLite, a temporary PREFECT_HOME, a
free port on 127.0.0.1) with one deployment, a dondoc database holding the seed district's
registers (a temporary SQLite file, or `--database-url`), and the gate in front of the server
in a process of its own (uvicorn, as it will be served). A clerk signs in with a code the
operator printed and starts `--runs-held` flow runs through the gate. Then it sends the calls
the UI makes on a clerk's pages (gate.routes: the deployment, the lists of deployments and
runs, a run), each `--rounds` times to the server directly (with the auth string) and through
the gate (with the clerk's session cookie, which the gate looks up in dondoc's database on
every request, as it reads the clerk's runs to narrow the reads of runs to), alternating,
one keep-alive client each, and prints the median of each and what the gate adds (target: at
most 10 ms at the median). It also times that lookup alone (`session_person`, in this
process). Every figure also goes to `--json PATH`. Usage::

    .venv/bin/python bench/gate.py --rounds 300 --json gate.json
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

import services.access  # noqa: E402
import services.database  # noqa: E402
import services.registers  # noqa: E402
from gate.session import COOKIE  # noqa: E402
from services.settings import Settings  # noqa: E402

AUTH_STRING = "prefect:bench"
CLERK = "cb.18712"
REGISTERS = HERE / "directives"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_gate(upstream: str, port: int, database_url: str) -> None:
    import uvicorn

    from gate.app import create_app

    settings = Settings(database_url=database_url)
    app = create_app(settings=settings, upstream=upstream, auth_string=AUTH_STRING)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _signed_in_clerk(settings: Settings) -> str:
    """dondoc's database with the seed district's registers, and a session of a clerk."""
    services.database.upgrade_database(settings)
    now = datetime.now(UTC)
    services.registers.import_units(settings, REGISTERS / "units" / "cam-xuyen-2024.csv", now=now)
    services.registers.import_actors(settings, REGISTERS / "actors" / "cam-xuyen-2024.csv")
    code = services.access.operator_code(settings, CLERK, now=now, os_user="bench")
    assert code is not None
    return services.access.sign_in(settings, CLERK, code, now=now, address="127.0.0.1")


def _lookups(settings: Settings, token: str, rounds: int) -> float:
    """The median time of the gate's per-request question, who holds this session."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert services.access.session_person(settings, token, now=datetime.now(UTC))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _wait(client: httpx.Client, path: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if client.get(path).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"no answer from {client.base_url}{path} within {within:.0f} s")


def _seed(prefect: httpx.Client, clerk: httpx.Client, runs: int) -> tuple[str, str]:
    """A work pool, a submission deployment and `runs` runs of it the clerk started through
    the gate (so that both ways list the same runs): its id and one run's."""
    prefect.post("/api/work_pools/", json={"name": "dondoc", "type": "process"})
    flow = prefect.post("/api/flows/", json={"name": "nop-bao-cao"}).json()["id"]
    body = {"name": "1c · cam-xuyen-cchc-2024", "flow_id": flow, "work_pool_name": "dondoc"}
    deployment = str(prefect.post("/api/deployments/", json=body).json()["id"])
    run = ""
    for _ in range(runs):
        # Prefect's SQLite answers 503 when its own services write at the same moment
        for _attempt in range(10):
            created = clerk.post(
                f"/api/deployments/{deployment}/create_flow_run", json={"parameters": {}}
            )
            if created.status_code != 503:
                break
            time.sleep(0.2)
        if created.status_code != 201:
            raise SystemExit(f"could not create a run: {created.text}")
        run = str(created.json()["id"])
    return deployment, run


def _calls(deployment: str, run: str) -> list[tuple[str, str, Any]]:
    """The UI's calls on the deployments list, a deployment's page and a run's page."""
    return [
        ("GET", "/api/admin/version", None),
        ("POST", "/api/deployments/filter", {"offset": 0, "limit": 10}),
        ("GET", f"/api/deployments/{deployment}", None),
        ("POST", "/api/flow_runs/paginate", {"page": 1, "limit": 10, "sort": "START_TIME_DESC"}),
        ("POST", "/api/flow_runs/filter", {"limit": 50}),
        ("GET", f"/api/flow_runs/{run}", None),
    ]


def _time(client: httpx.Client, method: str, path: str, body: Any) -> float:
    start = time.perf_counter()
    response = client.request(method, path, json=body)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"{client.base_url}: {method} {path}: {response.status_code}")
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--runs-held", type=int, default=50)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--database-url", help="dondoc's database (default: a temporary SQLite file)"
    )
    args = parser.parse_args()

    port, gate_port = _free_port(), _free_port()
    upstream = f"http://127.0.0.1:{port}"
    home = tempfile.mkdtemp(prefix="bench-gate-")
    settings = Settings(database_url=args.database_url or f"sqlite:///{home}/dondoc.db")
    token = _signed_in_clerk(settings)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        "PREFECT_HOME": home,
        "PREFECT_SERVER_API_AUTH_STRING": AUTH_STRING,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    prefect = str(Path(sys.executable).parent / "prefect")
    server = subprocess.Popen(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gate = multiprocessing.get_context("spawn").Process(
        target=_serve_gate, args=(upstream, gate_port, settings.database_url), daemon=True
    )
    credential = "Basic " + base64.b64encode(AUTH_STRING.encode()).decode()
    direct = httpx.Client(base_url=upstream, headers={"authorization": credential})
    through = httpx.Client(
        base_url=f"http://127.0.0.1:{gate_port}",
        cookies={COOKIE: token},
    )
    try:
        _wait(direct, "/api/health", 180)
        gate.start()
        _wait(through, "/api/health", 60)
        deployment, run = _seed(direct, through, args.runs_held)
        results = []
        for method, path, body in _calls(deployment, run):
            for client in (direct, through) * 10:  # warm both up
                _time(client, method, path, body)
            times: dict[str, list[float]] = {"direct": [], "gate": []}
            for _ in range(args.rounds):
                times["direct"].append(_time(direct, method, path, body))
                times["gate"].append(_time(through, method, path, body))
            medians = {k: statistics.median(v) for k, v in times.items()}
            added = medians["gate"] - medians["direct"]
            results.append({"call": f"{method} {path}", **medians, "added": added})
            print(
                f"{method:4} {path[:60]:60} direct {medians['direct']:7.2f} ms"
                f"  gate {medians['gate']:7.2f} ms  added {added:+6.2f} ms"
            )
        worst = max(r["added"] for r in results)
        print(f"largest median added: {worst:+.2f} ms (target: at most 10 ms)")
        lookup = _lookups(settings, token, args.rounds)
        print(f"of which the session's lookup in dondoc's database: {lookup:.2f} ms")
        if args.json:
            figures = {"rounds": args.rounds, "calls": results, "session_lookup": lookup}
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        direct.close()
        through.close()
        if gate.is_alive():
            gate.terminate()
            gate.join()
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()

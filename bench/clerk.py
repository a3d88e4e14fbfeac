"""A clerk's two waits on a running stack (`scripts/serve`), beside an empty flow's run.

Through the gate, each person signed in with a code the operator prints
(`services.access.operator_code`), in turns, for `--rounds` rounds:

- the empty flow: an administrator starts a run of a deployment whose flow does nothing
  (`empty`, below; the bench creates the deployment on the stack's work pool and deletes it
  after), timed from the start request to the run Completed;
- the click → form wait: a clerk starts their requirement's submission form (what the UI's
  Submit sends), timed until the run waits Paused (Suspended or not) with its form saved,
  readable through the gate;
- the Resume → receipt wait: the clerk sends the form's answer (what Resume sends), the first
  period it offers, timed until the run is Completed with its receipt.

Each round, and each clerk of the crowd, takes another clerk (a unit with a quarterly report
still owed), so a stack the seed was published on gives as many as such units. `--busy` runs
a busy loop pinned to the first core beside it (and kills it after). `--crowd N` then has N
clerks click at once: each one's wait for the form (beyond the worker's slots, a run waits
for a form waiting in place to give its slot up) and the memory of the runs' processes once
every form is there (the stack on this machine: each run's own pages and its share of those it
shares with the run starter, its client's and the starter's). Prints the median and p90
of each, and the ratios of the median waits to the empty flow's:

    DONDOC_DATABASE_URL=sqlite:///var/dondoc.db .venv/bin/python bench/clerk.py \\
        --gate-url http://127.0.0.1:4200 --var-dir var --rounds 10 --json clerk.json
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from prefect import flow

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORM = "nop-bao-cao/1c · cam-xuyen-cchc-2024"
EMPTY_FLOW = "dondoc-bench-empty"
EMPTY = f"{EMPTY_FLOW}/{EMPTY_FLOW}"
ADMIN = "admin.cx"
FIGURES = {
    "training_classes": 1,
    "seminars": 1,
    "news_items": 3,
    "leaflets": 50,
    "documents": 2,
    "other_forms": 0,
}
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
POLL = 0.05


@flow(name=EMPTY_FLOW)
def empty() -> None:
    """Nothing: what every run pays before and after its own work."""


def _api(api_url: str, auth_string: str) -> httpx.Client:
    credential = base64.b64encode(auth_string.encode()).decode()
    return httpx.Client(
        base_url=api_url, headers={"authorization": f"Basic {credential}"}, timeout=60
    )


def _signed_in(gate_url: str, person: str, settings: Any) -> httpx.Client:
    import services.access
    from gate.session import COOKIE

    now = datetime.now(UTC)
    code = services.access.operator_code(settings, person, now=now, os_user="bench")
    assert code is not None, person
    token = services.access.sign_in(settings, person, code, now=now, address="127.0.0.1")
    client = httpx.Client(base_url=gate_url, timeout=120)
    client.cookies.set(COOKIE, token)
    return client


def _clerks(settings: Any, rounds: int) -> list[str]:
    """Clerks of units that still owe a quarterly 1c report, one per unit."""
    import sqlalchemy as sa

    from models.storage.db import transaction

    with transaction(settings.engine(), writes=False) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT MIN(a.username) FROM obligation o "
                "JOIN requirement r ON r.id = o.requirement_id "
                "JOIN actor a ON a.unit_code = o.unit_code AND a.role = 'staff' "
                "WHERE r.code = '1c' AND o.status IN ('open', 'returned') "
                "AND a.username LIKE 'cb.%' GROUP BY o.unit_code ORDER BY o.unit_code"
            )
        ).all()
    clerks = [row[0] for row in rows]
    if len(clerks) < rounds:
        raise SystemExit(f"only {len(clerks)} units still owe a 1c report: use --rounds <= that")
    return clerks[:rounds]


def _deployment_id(api: httpx.Client, name: str) -> str:
    answer = api.get(f"/deployments/name/{name}")
    answer.raise_for_status()
    return str(answer.json()["id"])


@contextmanager
def _empty_deployment(api: httpx.Client, pool: str) -> Iterator[str]:
    """A deployment of `empty` on the work pool, pulled like dondoc's own; deleted after."""
    flow_id = api.post("/flows/", json={"name": EMPTY_FLOW}).json()["id"]
    pull = [
        {
            "prefect.deployments.steps.set_working_directory": {
                "directory": os.environ.get("DONDOC_PROJECT_DIR", str(ROOT))
            }
        }
    ]
    created = api.post(
        "/deployments/",
        json={
            "name": EMPTY_FLOW,
            "flow_id": flow_id,
            "entrypoint": "bench/clerk.py:empty",
            "work_pool_name": pool,
            "pull_steps": pull,
            "parameter_openapi_schema": {"type": "object", "properties": {}},
        },
    )
    created.raise_for_status()
    try:
        yield str(created.json()["id"])
    finally:
        api.delete(f"/deployments/{created.json()['id']}")
        api.delete(f"/flows/{flow_id}")


def _state(api: httpx.Client, run_id: str) -> dict[str, Any]:
    answer = api.get(f"/flow_runs/{run_id}")
    answer.raise_for_status()
    return dict(answer.json()["state"])


def _until(api: httpx.Client, run_id: str, done: Callable[[dict[str, Any]], bool]) -> float:
    """Poll the run until `done(state)`; the moment it was seen."""
    deadline = time.monotonic() + 600
    while True:
        state = _state(api, run_id)
        if done(state):
            return time.monotonic()
        if state["type"] in FINAL:
            raise SystemExit(f"run {run_id} ended {state['name']}: {state.get('message')}")
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} still {state['name']} after 600 s")
        time.sleep(POLL)


def _start(gate: httpx.Client, deployment_id: str) -> str:
    created = gate.post(
        f"/api/deployments/{deployment_id}/create_flow_run",
        json={"parameters": {}, "job_variables": {}},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _form(gate: httpx.Client, run_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of the form the paused run waits on, once saved (as the UI reads it)."""
    keys = state["state_details"].get("run_input_keyset") or {}
    answer = gate.get(f"/api/flow_runs/{run_id}/input/{keys['schema']}")
    return dict(answer.json()) if answer.status_code == 200 else None


def _empty_round(api: httpx.Client, admin: httpx.Client, deployment_id: str) -> float:
    began = time.monotonic()
    run_id = _start(admin, deployment_id)
    return _until(api, run_id, lambda s: s["type"] == "COMPLETED") - began


def _clerk_round(api: httpx.Client, clerk: httpx.Client, deployment_id: str) -> tuple[float, float]:
    began = time.monotonic()
    run_id = _start(clerk, deployment_id)
    schema: dict[str, Any] = {}

    def ready(state: dict[str, Any]) -> bool:
        if state["type"] != "PAUSED":
            return False
        schema.update(_form(clerk, run_id, state) or {})
        return bool(schema)

    form_at = _until(api, run_id, ready)
    period = schema["properties"]["period"]["enum"][0]
    answer = {"period": period, "figures": FIGURES, "narrative": "Báo cáo của bench"}
    resumed_at = time.monotonic()
    resumed = clerk.post(f"/api/flow_runs/{run_id}/resume", json={"run_input": answer})
    assert resumed.status_code == 201 and resumed.json()["status"] == "ACCEPT", resumed.text
    done_at = _until(api, run_id, lambda s: s["type"] == "COMPLETED")
    return form_at - began, done_at - resumed_at


def _kb(text: str, field: str) -> int:
    return next(int(line.split()[1]) for line in text.splitlines() if line.startswith(field))


def _run_memory(api_url: str) -> dict[str, Any]:
    """The memory of this stack's run processes on this machine (reaching the server at
    `api_url`): each run forked from the run starter (`flows/prestart.py serve`), its own
    pages (private, MB) and its share of those it shares with the starter and the other runs
    (proportional, MB, `/proc/<pid>/smaps_rollup`); the resident memory of each run's client
    (`prestart.py start`, what the worker started) and of the starter."""
    mine = f"PREFECT_API_URL={api_url}".encode()
    processes: dict[int, tuple[list[bytes], int]] = {}
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
            status = (proc / "status").read_text()
        except (OSError, ValueError):
            continue
        if mine in environ:
            processes[int(proc.name)] = (command, _kb(status, "PPid:"))
    starters = [pid for pid, (cmd, _) in processes.items() if b"flows.prestart" in cmd]
    clients = [
        pid
        for pid, (cmd, _) in processes.items()
        if b"start" in cmd and any(part.endswith(b"prestart.py") for part in cmd)
    ]
    runs = [pid for pid, (_, parent) in processes.items() if parent in starters]
    figures: dict[str, Any] = {"runs": [], "clients_rss_mb": [], "starter_rss_mb": None}
    for pid in runs:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        private = _kb(rollup, "Private_Clean:") + _kb(rollup, "Private_Dirty:")
        figures["runs"].append(
            {"private_mb": round(private / 1024), "pss_mb": round(_kb(rollup, "Pss:") / 1024)}
        )
    for pid in clients:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        figures["clients_rss_mb"].append(round(_kb(status, "VmRSS:") / 1024))
    for pid in starters:
        status = Path(f"/proc/{pid}/status").read_text()
        figures["starter_rss_mb"] = round(_kb(status, "VmRSS:") / 1024)
    return figures


def _crowd(api: httpx.Client, clerks: list[httpx.Client], deployment_id: str) -> dict[str, Any]:
    """Every clerk clicks at once: how long each waits for their form (more clerks than the
    worker's slots wait for one to be given up), the memory of the runs' processes once every
    form is there (those still waiting in place), then every clerk's Resume at once."""
    began = time.monotonic()
    run_ids = [_start(clerk, deployment_id) for clerk in clerks]
    schemas: dict[str, dict[str, Any]] = {}
    ready: dict[str, float] = {}
    while len(ready) < len(run_ids):
        for run_id, clerk in zip(run_ids, clerks, strict=True):
            if run_id in ready:
                continue
            state = _state(api, run_id)
            if state["type"] in FINAL:
                raise SystemExit(f"run {run_id} ended {state['name']}: {state.get('message')}")
            if state["type"] == "PAUSED" and (schema := _form(clerk, run_id, state)):
                schemas[run_id], ready[run_id] = schema, time.monotonic() - began
        time.sleep(POLL)
    memory = _run_memory(str(api.base_url).rstrip("/"))
    for run_id, clerk in zip(run_ids, clerks, strict=True):
        period = schemas[run_id]["properties"]["period"]["enum"][0]
        answer = {"period": period, "figures": FIGURES, "narrative": "Báo cáo của bench"}
        resumed = clerk.post(f"/api/flow_runs/{run_id}/resume", json={"run_input": answer})
        assert resumed.status_code == 201, resumed.text
    for run_id in run_ids:
        _until(api, run_id, lambda s: s["type"] == "COMPLETED")
    return {
        "clerks": len(clerks),
        "form_waits": sorted(ready.values()),
        "memory": memory,
    }


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p90": p90, "min": ordered[0]}


@contextmanager
def _busy_loop(on: bool) -> Iterator[None]:
    """A busy loop pinned to the first core, for as long as the block runs."""
    if not on:
        yield
        return
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    loop = subprocess.Popen([*pin, sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        loop.kill()
        loop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--gate-url", default="http://127.0.0.1:4200")
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var", help="scripts/serve's")
    parser.add_argument("--api-url", default=None, help="the Prefect API (from the gate's port+1)")
    parser.add_argument("--pool", default=os.environ.get("DONDOC_WORK_POOL", "dondoc"))
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--busy", action="store_true", help="a busy loop on one core beside")
    parser.add_argument("--crowd", type=int, default=0, help="then this many clerks click at once")
    parser.add_argument("--json", type=Path, help="save every figure here")
    args = parser.parse_args()

    from services.settings import load_settings

    settings = load_settings()
    api_url = args.api_url or os.environ.get("PREFECT_API_URL")
    if not api_url:
        gate_port = int(args.gate_url.rsplit(":", 1)[1].split("/")[0])
        api_url = f"http://127.0.0.1:{gate_port + 1}/api"
    auth = (args.var_dir / "prefect-auth-string").read_text().strip()
    clerks = _clerks(settings, args.rounds + args.crowd)
    empties: list[float] = []
    forms: list[float] = []
    receipts: list[float] = []
    with (
        _api(api_url, auth) as api,
        _signed_in(args.gate_url, ADMIN, settings) as admin,
        _empty_deployment(api, args.pool) as empty_id,
    ):
        form_id = _deployment_id(api, FORM)
        sessions = [_signed_in(args.gate_url, clerk, settings) for clerk in clerks]
        rounds = sessions[: args.rounds]
        with _busy_loop(args.busy):
            # a first run of each, not counted: the worker's first poll and the disk's cache
            _empty_round(api, admin, empty_id)
            for n, clerk in enumerate(rounds):
                empties.append(_empty_round(api, admin, empty_id))
                form, receipt = _clerk_round(api, clerk, form_id)
                forms.append(form)
                receipts.append(receipt)
                print(
                    f"round {n + 1}: empty {empties[-1]:.2f} s, click → form {form:.2f} s, "
                    f"Resume → receipt {receipt:.2f} s",
                    flush=True,
                )
            crowd = _crowd(api, sessions[args.rounds :], form_id) if args.crowd else None
        for session in sessions:
            session.close()
    figures = {
        "rounds": args.rounds,
        "busy": args.busy,
        "load_average": os.getloadavg(),
        "empty": _summary(empties),
        "form": _summary(forms),
        "receipt": _summary(receipts),
        "both": _summary([f + r for f, r in zip(forms, receipts, strict=True)]),
        "runs": {"empty": empties, "form": forms, "receipt": receipts},
        "crowd": crowd,
    }
    empty_median = figures["empty"]["median"]
    for name in ("empty", "form", "receipt", "both"):
        s = figures[name]
        print(
            f"{name:8} median {s['median']:.2f} s  p90 {s['p90']:.2f} s  "
            f"({s['median'] / empty_median:.2f}× the empty flow)"
        )
    if crowd:
        waits = ", ".join(f"{w:.1f}" for w in crowd["form_waits"])
        memory = crowd["memory"]
        private = [run["private_mb"] for run in memory["runs"]]
        pss = [run["pss_mb"] for run in memory["runs"]]
        print(
            f"{crowd['clerks']} clerks at once: click → form {waits} s; "
            f"{len(private)} runs waiting, their own memory {private} MB (proportional {pss} MB), "
            f"their clients {memory['clients_rss_mb']} MB resident, "
            f"the starter {memory['starter_rss_mb']} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

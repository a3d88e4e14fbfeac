"""Benchmark: what starting dondoc costs before it does any work.

Runs each command `--runs` times in a fresh process, as a user or a scheduler would, and
prints the median and the fastest wall time of each, with how many packages it loaded and which
of the heavy libraries among them (targets on a quiet machine: `dondoc --help` under 0.3 s, a
refused command under 0.6 s):

- `python -c pass`: the interpreter alone, the floor under every figure;
- `dondoc --help`;
- a bad argument (`dondoc obligations --limit ten`), refused before the database is opened;
- a refused command (`dondoc submit 1 --actor nobody -f leaflets=1`) on an empty database
  that `dondoc db upgrade` set up: it opens the database, checks its schema, and is refused;
- the import of each flow module, as a Prefect worker's run of it starts (Prefect itself
  included).

The runs alternate between the commands, so that a busy moment of a shared machine falls on
all of them alike. Every figure also goes to `--json PATH`. Usage::

    .venv/bin/python bench/startup.py --runs 15 --json startup.json

`--compare PATH` also measures another checkout of dondoc (an export of an earlier commit,
say), its runs interleaved with this one's, for a before and after under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
# The libraries that take a tenth of a second or more to import: storage, validation,
# migrations, documents, templates, Prefect.
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "psycopg",
    "pydantic",
    "pydantic_settings",
    "holidays",
    "icu",
    "pendulum",
    "yaml",
    "jinja2",
    "docx",
    "docxtpl",
    "openpyxl",
    "prefect",
)
FLOWS = ("chase", "consolidate", "daily", "desk", "forms", "publish", "review", "submission")
# Printed by a command once it has run: the modules it loaded (an exit hook, so that a command
# that ends with SystemExit reports too).
REPORT = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules))))\n"
)


def _dondoc(*args: str) -> list[str]:
    """`dondoc ARGS…` as the console script runs it."""
    return [sys.executable, "-c", f"{REPORT}from cli.main import main\nmain()", *args]


def _commands() -> dict[str, list[str]]:
    flows = {
        f"import flows.{name}": [sys.executable, "-c", f"{REPORT}import flows.{name}"]
        for name in FLOWS
    }
    return {
        "python -c pass": [sys.executable, "-c", f"{REPORT}pass"],
        "dondoc --help": _dondoc("--help"),
        "dondoc obligations --limit ten": _dondoc("obligations", "--limit", "ten"),
        "dondoc submit 1 --actor nobody -f leaflets=1": _dondoc(
            "submit", "1", "--actor", "nobody", "-f", "leaflets=1"
        ),
        **flows,
    }


def _run(command: list[str], root: Path, env: dict[str, str]) -> tuple[float, set[str]]:
    """The wall time of one run of `command`, and the top-level packages it loaded."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    modules = json.loads(done.stderr.rsplit("MODULES ", 1)[1])
    return took, {name.split(".")[0] for name in modules}


def _measure(roots: list[Path], commands: dict[str, list[str]], runs: int) -> dict[Path, Any]:
    """Each command `runs` times under each checkout, interleaved: the wall times and the
    packages loaded."""
    times: dict[Path, dict[str, list[float]]] = {root: {n: [] for n in commands} for root in roots}
    loaded: dict[Path, dict[str, set[str]]] = {root: {} for root in roots}
    with tempfile.TemporaryDirectory() as folder:
        envs = {}
        for i, root in enumerate(roots):
            envs[root] = {
                **os.environ,
                "PYTHONPATH": str(root),
                "DONDOC_DATABASE_URL": f"sqlite:///{Path(folder) / f'empty-{i}.db'}",
            }
            envs[root].pop("DONDOC_ACTOR", None)
            upgrade = _dondoc("db", "upgrade")
            subprocess.run(upgrade, cwd=root, env=envs[root], check=True, capture_output=True)
        for _ in range(runs):
            for name, command in commands.items():
                for root in roots:
                    took, loaded[root][name] = _run(command, root, envs[root])
                    times[root][name].append(took)
    figures: dict[Path, Any] = {}
    for root in roots:
        figures[root] = {
            name: {
                "median_s": round(statistics.median(runs_of), 3),
                "fastest_s": round(min(runs_of), 3),
                "runs": len(runs_of),
                "packages": len(loaded[root][name]),
                "heavy": sorted(set(HEAVY) & loaded[root][name]),
            }
            for name, runs_of in times[root].items()
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs of each command (default 11)")
    parser.add_argument("--no-flows", action="store_true", help="leave the flow modules out")
    parser.add_argument("--compare", type=Path, help="another checkout of dondoc to measure")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    options = parser.parse_args()
    commands = _commands()
    if options.no_flows:
        commands = {k: v for k, v in commands.items() if not k.startswith("import flows.")}
    roots = [HERE, *([options.compare.resolve()] if options.compare else [])]
    figures = _measure(roots, commands, options.runs)
    for root in roots:
        print(f"\n{root}")
        print(f"{'command':<46} {'median':>8} {'fastest':>8} {'packages':>8}  heavy libraries")
        for name, f in figures[root].items():
            print(
                f"{name:<46} {f['median_s']:>7.3f}s {f['fastest_s']:>7.3f}s {f['packages']:>8}  "
                f"{', '.join(f['heavy']) or '–'}"
            )
    load = os.getloadavg()
    print(f"\nload average after the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if options.json:
        found = {str(root): figures[root] for root in roots}
        options.json.write_text(json.dumps({"startup": found, "load": load}, indent=2) + "\n")


if __name__ == "__main__":
    main()

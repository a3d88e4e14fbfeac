"""Which requests each role may send through the gate: one table a reader can check.

`ROUTES` maps a role to the (method, path) pairs it may use; anything not listed is refused.
In a path, `{id}` is a UUID, `{name}` one path segment and `{rest}` the rest of the path. The
rows for people other than administrators are the calls the Prefect UI (v2) makes on the pages
a clerk uses: the deployments, a deployment's Run → Custom run form, a flow run's page and its
Resume form, the lists of runs. Their only writes are starting a run and resuming one, and
`gate.app` checks those further: which deployments the role may start and which units it may
name (`STARTS`), that a resumed run is the person's own, and that no job variables come with a
start (with them, the worker would run any command a form sent). The UI opens no websocket;
the gate refuses them all (workers and flows reach the Prefect server directly)."""

from __future__ import annotations

import re
from functools import cache

# The roles of a signed-in person. A unit's staff; the people who review a directive's
# reports (the lead office's staff, and the staff of the office its own report goes to);
# administrators.
STAFF, REVIEWER, ADMIN = "staff", "reviewer", "admin"
ROLE_WORDS = {STAFF: "cán bộ đơn vị", REVIEWER: "cán bộ xét duyệt báo cáo", ADMIN: "quản trị viên"}

# The UI itself: its page (an HTML navigation to any of its paths), its files, and its
# settings (answered by the gate, see `gate.app`).
UI: tuple[tuple[str, str], ...] = (
    ("GET", "/"),
    ("GET", "/ui-settings"),
    ("GET", "/v2"),
    ("GET", "/v2/{rest}"),
)

# What the UI reads on the pages a clerk uses.
READS: tuple[tuple[str, str], ...] = (
    ("GET", "/api/health"),
    ("GET", "/api/admin/version"),
    ("GET", "/api/admin/settings"),  # every page; Prefect masks its secrets
    ("GET", "/api/deployments/{id}"),
    ("POST", "/api/deployments/filter"),
    ("POST", "/api/deployments/count"),
    ("GET", "/api/flows/{id}"),
    ("POST", "/api/flows/filter"),
    ("GET", "/api/flow_runs/{id}"),
    ("GET", "/api/flow_runs/{id}/graph-v2"),
    ("GET", "/api/flow_runs/{id}/input/{name}"),  # the Resume form's schema and description
    ("POST", "/api/flow_runs/filter"),
    ("POST", "/api/flow_runs/paginate"),
    ("POST", "/api/flow_runs/count"),
    ("POST", "/api/task_runs/paginate"),
    ("POST", "/api/task_runs/count"),
    ("POST", "/api/logs/filter"),
    ("POST", "/api/artifacts/filter"),
    ("GET", "/api/artifacts/{id}"),  # an artifact opened from a run's Artifacts tab
    ("POST", "/api/events/filter"),
    ("POST", "/api/ui/flow_runs/history"),
    ("POST", "/api/ui/flow_runs/count-task-runs"),
    ("POST", "/api/ui/schemas/validate"),  # the forms check their values before sending
    ("GET", "/api/automations/related-to/{name}"),
    ("POST", "/api/work_pools/filter"),
    ("POST", "/api/work_pools/{name}/queues/filter"),
    ("GET", "/api/work_pools/{name}/queues/{name}"),
)

# The two writes of people who are not administrators.
START = ("POST", "/api/deployments/{id}/create_flow_run")
RESUME = ("POST", "/api/flow_runs/{id}/resume")

ROUTES: dict[str, tuple[tuple[str, str], ...]] = {
    STAFF: (*UI, *READS, START, RESUME),
    REVIEWER: (*UI, *READS, START, RESUME),
    # publishing, schedules, deployments, work pools, blocks, variables, automations,
    # concurrency limits and deleting anything
    ADMIN: (*UI, ("*", "/api/{rest}")),
}

# What the `unit` parameter of a run a role starts may name: nothing or the person's own unit;
# or any unit, the flow itself checking which ones the person's unit oversees (the lead office
# looks at the units it urges).
OWN_UNIT, UNITS_OVERSEEN = "own unit", "units overseen"

# The flows (the part of a deployment's name before "/") whose runs each role may start, and
# the units each may name; administrators start any. The names are those of flows/forms.py and
# flows/desk.py: a requirement's submission form (one per requirement, for every unit: the run
# asks for the form of the person's own unit), a unit's list, a directive's review desk.
STARTS: dict[str, dict[str, str]] = {
    STAFF: {"nop-bao-cao": OWN_UNIT, "viec-cua-don-vi": OWN_UNIT},
    REVIEWER: {
        "nop-bao-cao": OWN_UNIT,
        "viec-cua-don-vi": UNITS_OVERSEEN,
        "xet-duyet": UNITS_OVERSEEN,
    },
}


def role_of(register_role: str, *, reviews: bool) -> str:
    """The gate's role of a person the actor register knows: its administrators are
    administrators; the staff of a unit that leads a directive or receives a lead office's
    report review; everyone else is a unit's staff."""
    if register_role == ADMIN:
        return ADMIN
    return REVIEWER if reviews else STAFF


def unit_code(value: object) -> str:
    """The unit code a form's `unit` value names: `18679` of `18679 · Xã Yên Hòa` (the forms'
    dropdown values, flows.forms.choice) or of `18679`."""
    return str(value).split(" · ", 1)[0].strip()


_PARTS = {"{id}": "[0-9a-fA-F-]{36}", "{name}": "[^/]+", "{rest}": ".*"}


@cache
def _pattern(path: str) -> re.Pattern[str]:
    pieces = re.split(r"(\{id\}|\{name\}|\{rest\})", path)
    return re.compile("".join(_PARTS.get(piece, re.escape(piece)) for piece in pieces))


def matches(row: tuple[str, str], method: str, path: str) -> bool:
    """Whether `method path` is a request of the kind `row` names."""
    return row[0] in ("*", method) and _pattern(row[1]).fullmatch(path) is not None


def allowed(role: str, method: str, path: str) -> bool:
    """Whether a row of `ROUTES` lets `role` send `method path`."""
    return any(matches(row, method, path) for row in ROUTES.get(role, ()))

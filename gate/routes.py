"""Which requests each role may send through the gate: one table a reader can check.

`ROUTES` maps a role to the rows (method, path, and for a read of runs how it is narrowed) it
may use; anything not listed is refused.
In a path, `{id}` is a UUID, `{name}` one path segment and `{rest}` the rest of the path. The
rows for people other than administrators are the calls the Prefect UI (v2) makes on the pages
a clerk uses: the deployments, a deployment's Run → Custom run form, a flow run's page and its
Resume form, the lists of runs. Their only writes are starting a run and resuming one, and
`gate.app` checks those further: which deployments the role may start and which units it may
name (`STARTS`), that a resumed run is the person's own, and that no job variables (with them,
the worker would run any command a form sent) nor idempotency key come with a start. Their
reads of runs are narrowed to the runs they started (a row's `Scope`): a clerk sees no other
clerk's runs, and the review desk's runs only their starter. The UI opens no websocket; the
gate refuses them all (workers and flows reach the Prefect server directly)."""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

# The roles of a signed-in person. A unit's staff; the people who review a directive's
# reports (the lead office's staff, and the staff of the office its own report goes to);
# administrators.
STAFF, REVIEWER, ADMIN = "staff", "reviewer", "admin"
ROLE_WORDS = {STAFF: "cán bộ đơn vị", REVIEWER: "cán bộ xét duyệt báo cáo", ADMIN: "quản trị viên"}


class Scope(NamedTuple):
    """How a read is narrowed to the runs the person started through the gate (their grants
    of kind start name them), for everyone but administrators; `gate.scope` does it.

    - `filter`: the JSON body's object `key` is one of Prefect's filters; its criterion
      `criterion` (`any_`: the runs' ids) keeps only the person's runs, and its `operator` is
      `and_` (an `or_` of several criteria, which the restriction cannot join, is refused).
    - `ids`: the body's list `key` of run ids keeps only the person's.
    - `events`: the body's event filter `key` keeps only the events one of the person's runs
      takes part in (Prefect ANDs a list of `any_resource` filters).
    - `run`: the run the path names is the person's own, else 404 as if there were none.
    - `artifact`: the artifact the path names belongs to one of the person's runs, else 404.
    - `forms`: a list (or count) of deployments holds only those the person may start, a
      clerk's own first: the submission forms of what their unit still has to hand in, the
      most urgent first, then their unit's list, then the review desks (`gate.app`).
    """

    kind: str
    key: str = ""
    criterion: str = ""


FLOW_RUNS = Scope("filter", "flow_runs", "id")
LOGS = Scope("filter", "logs", "flow_run_id")
ARTIFACTS = Scope("filter", "artifacts", "flow_run_id")
RUN_IDS = Scope("ids", "flow_run_ids")
EVENTS = Scope("events", "filter")
RUN = Scope("run")
ARTIFACT = Scope("artifact")
FORMS = Scope("forms")


class Row(NamedTuple):
    """A kind of request: its method (`*`: any), its path, and how the gate narrows what it
    reads (None: it reads nothing of a person's runs, or it is an administrator's)."""

    method: str
    path: str
    scope: Scope | None = None


# The UI itself: its page (an HTML navigation to any of its paths), its files, and its
# settings (answered by the gate, see `gate.app`).
UI: tuple[Row, ...] = (
    Row("GET", "/"),
    Row("GET", "/ui-settings"),
    Row("GET", "/v2"),
    Row("GET", "/v2/{rest}"),
)

# What the UI reads on the pages a clerk uses. Flows and work pools are everyone's, and each
# form's page; the list of forms only those the person may start, their own first; runs, their
# task runs, logs, artifacts, answers and events only the person's own.
READS: tuple[Row, ...] = (
    Row("GET", "/api/health"),
    Row("GET", "/api/admin/version"),
    Row("GET", "/api/admin/settings"),  # every page; Prefect masks its secrets
    Row("GET", "/api/deployments/{id}"),
    Row("POST", "/api/deployments/filter", FORMS),
    Row("POST", "/api/deployments/count", FORMS),
    Row("GET", "/api/flows/{id}"),
    Row("POST", "/api/flows/filter"),
    Row("GET", "/api/flow_runs/{id}", RUN),
    Row("GET", "/api/flow_runs/{id}/graph-v2", RUN),
    Row("GET", "/api/flow_runs/{id}/input/{name}", RUN),  # the Resume form, and its answers
    Row("POST", "/api/flow_runs/filter", FLOW_RUNS),
    Row("POST", "/api/flow_runs/paginate", FLOW_RUNS),
    Row("POST", "/api/flow_runs/count", FLOW_RUNS),
    Row("POST", "/api/task_runs/paginate", FLOW_RUNS),
    Row("POST", "/api/task_runs/count", FLOW_RUNS),
    Row("POST", "/api/logs/filter", LOGS),
    Row("POST", "/api/artifacts/filter", ARTIFACTS),
    Row("GET", "/api/artifacts/{id}", ARTIFACT),  # opened from a run's Artifacts tab
    Row("POST", "/api/events/filter", EVENTS),
    Row("POST", "/api/ui/flow_runs/history", FLOW_RUNS),
    Row("POST", "/api/ui/flow_runs/count-task-runs", RUN_IDS),
    Row("POST", "/api/ui/schemas/validate"),  # the forms check their values before sending
    Row("GET", "/api/automations/related-to/{name}"),
    Row("POST", "/api/work_pools/filter"),
    Row("POST", "/api/work_pools/{name}/queues/filter"),
    Row("GET", "/api/work_pools/{name}/queues/{name}"),
)

# The two writes of people who are not administrators.
START = Row("POST", "/api/deployments/{id}/create_flow_run")
RESUME = Row("POST", "/api/flow_runs/{id}/resume")

ROUTES: dict[str, tuple[Row, ...]] = {
    STAFF: (*UI, *READS, START, RESUME),
    REVIEWER: (*UI, *READS, START, RESUME),
    # publishing, schedules, deployments, work pools, blocks, variables, automations,
    # concurrency limits and deleting anything; every run
    ADMIN: (*UI, Row("*", "/api/{rest}")),
}

# What the `unit` parameter of a run a role starts may name: nothing or the person's own unit;
# or any unit, the flow itself checking which ones the person's unit oversees (the lead office
# looks at the units it urges).
OWN_UNIT, UNITS_OVERSEEN = "own unit", "units overseen"

# The flows (the part of a deployment's name before "/") whose runs each role may start, and
# the units each may name; administrators start any. The names are those of flows/forms.py and
# flows/desk.py: a requirement's submission form (one per requirement, for every unit: the run
# asks for the form of the person's own unit), a unit's list, a directive's review desk.
SUBMIT_FLOW, DESK_FLOW, REVIEW_FLOW = "nop-bao-cao", "viec-cua-don-vi", "xet-duyet"
# flows/received.py: the lead office enters a report that arrived by another channel
RECEIVE_FLOW = "vao-so-bao-cao-den"
STARTS: dict[str, dict[str, str]] = {
    STAFF: {SUBMIT_FLOW: OWN_UNIT, DESK_FLOW: OWN_UNIT},
    REVIEWER: {
        SUBMIT_FLOW: OWN_UNIT,
        DESK_FLOW: UNITS_OVERSEEN,
        REVIEW_FLOW: UNITS_OVERSEEN,
        RECEIVE_FLOW: UNITS_OVERSEEN,
    },
}
# A submission form's deployment is named `<requirement> · <directive>`, a review desk's
# `Bàn xét duyệt · <directive>` (flows/forms.py).
SEPARATOR = " · "
REVIEW_DESK = "Bàn xét duyệt"


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


def matches(row: Row, method: str, path: str) -> bool:
    """Whether `method path` is a request of the kind `row` names."""
    return row.method in ("*", method) and _pattern(row.path).fullmatch(path) is not None


def row_for(role: str, method: str, path: str) -> Row | None:
    """The row of `ROUTES` that lets `role` send `method path`, if one does."""
    return next((row for row in ROUTES.get(role, ()) if matches(row, method, path)), None)


def allowed(role: str, method: str, path: str) -> bool:
    """Whether a row of `ROUTES` lets `role` send `method path`."""
    return row_for(role, method, path) is not None

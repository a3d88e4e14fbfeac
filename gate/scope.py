"""A read of a person who is not an administrator, narrowed to the runs they started.

`gate.routes` marks each row that reads runs with a `Scope`; `narrowed` rewrites such a
request's JSON body so that Prefect's own filter keeps only the person's runs, whatever the
body said, and `own` says whether an id a path names is one of them. What Prefect receives is
always the body as the gate wrote it again, never the bytes the browser sent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import Any

from gate.routes import Scope

# What Prefect calls a flow run among the resources of an event.
RUN_RESOURCE = "prefect.flow-run."
# An id no run has: an event filter with an empty list of ids would filter nothing.
NO_RUN = str(uuid.UUID(int=0))
MALFORMED = "Bộ lọc gửi lên không đúng định dạng."
OR_OF_SEVERAL = (
    'Bộ lọc kết hợp nhiều điều kiện bằng "hoặc" (operator or_) không dùng được qua cổng; '
    "hãy lọc theo từng điều kiện."
)


class Unscoped(ValueError):
    """A body the gate cannot narrow, refused rather than sent on: the Vietnamese line."""


def run_id(value: object) -> str:
    """A run's id as Prefect writes it (and dondoc keeps it); Unscoped if it is none."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Unscoped(MALFORMED) from None


def own(value: str, runs: Collection[str]) -> bool:
    """Whether `value` is the id of one of `runs` (in whatever spelling Prefect accepts)."""
    try:
        return str(uuid.UUID(value)) in runs
    except ValueError:
        return False


def narrowed(scope: Scope, body: bytes, runs: Collection[str]) -> bytes:
    """The JSON body of a read `scope` marks, keeping only `runs` (the ids of the person's
    runs); Unscoped for a body that is not a JSON object of the shape Prefect reads."""
    try:
        found: Any = json.loads(body or b"{}")
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise Unscoped(MALFORMED)
    if scope.kind == "filter":
        found[scope.key] = anded(found.get(scope.key), scope.criterion, runs)
    elif scope.kind == "ids":
        ids = found.get(scope.key)
        if not isinstance(ids, list):
            raise Unscoped(MALFORMED)
        found[scope.key] = [i for i in map(run_id, ids) if i in runs]
    elif scope.kind == "events":
        found[scope.key] = _events(found.get(scope.key), runs)
    else:
        raise ValueError(f"{scope.kind!r} scopes no body")
    return json.dumps(found).encode()


def anded(given: object, criterion: str, runs: Collection[str]) -> dict[str, Any]:
    """One of Prefect's operator filters (FlowRunFilter, LogFilter, ArtifactFilter,
    DeploymentFilter) whose `criterion` keeps only `runs` (ids), ANDed with what it asked."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise Unscoped(MALFORMED)
    operator = given.get("operator", "and_")
    if operator not in ("and_", "or_"):
        raise Unscoped(MALFORMED)
    criteria = [name for name, value in given.items() if name != "operator" and value is not None]
    if operator == "or_" and len(criteria) > 1:
        raise Unscoped(OR_OF_SEVERAL)
    ids = given.get(criterion)
    if ids is None:
        ids = {}
    if not isinstance(ids, dict):
        raise Unscoped(MALFORMED)
    asked = ids.get("any_")
    if asked is None:
        kept = sorted(runs)
    elif isinstance(asked, list):
        kept = [i for i in map(run_id, asked) if i in runs]
    else:
        raise Unscoped(MALFORMED)
    return {**given, "operator": "and_", criterion: {**ids, "any_": kept}}


def _events(given: object, runs: Collection[str]) -> dict[str, Any]:
    """An EventFilter that keeps only the events one of `runs` takes part in (as the event's
    resource or a related one), besides what it asked."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise Unscoped(MALFORMED)
    asked = given.get("any_resource")
    if asked is None:
        asked = []
    elif isinstance(asked, dict):
        asked = [asked]
    elif not isinstance(asked, list):
        raise Unscoped(MALFORMED)
    ours = {"id": [RUN_RESOURCE + i for i in sorted(runs) or [NO_RUN]]}
    return {**given, "any_resource": [*asked, ours]}

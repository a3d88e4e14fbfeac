"""What every dondoc flow shares: who acted, through which run."""

from __future__ import annotations

from uuid import uuid4

import pendulum
from prefect.runtime import flow_run

from models.services import Issued


def run_id() -> str:
    """This flow run's id (a fresh one when the flow is called outside a run)."""
    return str(flow_run.id or uuid4())


def issued(actor: str) -> Issued:
    """A command from this flow run: the channel names the run, and the run id is the
    idempotency key, so a retried run appends nothing twice."""
    rid = run_id()
    return Issued(actor, f"prefect:{rid}", f"prefect-ui:{rid}", pendulum.now("UTC"))

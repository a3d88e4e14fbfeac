"""What every dondoc flow shares: who acted, through which run."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pendulum
from prefect.runtime import flow_run

from models.services import Issued, known_day
from models.workdays import TIMEZONE


def run_id() -> str:
    """This flow run's id (a fresh one when the flow is called outside a run)."""
    return str(flow_run.id or uuid4())


def issued(actor: str) -> Issued:
    """A command from this flow run: the channel names the run, and the run id is the
    idempotency key, so a retried run appends nothing twice."""
    rid = run_id()
    return Issued(actor, f"prefect:{rid}", f"prefect-ui:{rid}", pendulum.now("UTC"))


def day_of(as_of: date | None, field: str = "as_of") -> date:
    """The day a run is for: the form's, if its year's working days are known, or today in
    Asia/Ho_Chi_Minh."""
    if as_of is None:
        return pendulum.now(TIMEZONE).date()
    return known_day(as_of, "form", field)

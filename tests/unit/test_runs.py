"""What a clerk reads of a run in the Prefect UI, without a Prefect server: its name and, when
the flow refuses, its state."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from prefect import Flow
from prefect.client.schemas.objects import StateType

import flows

FLOWS = [
    value
    for module in pkgutil.iter_modules(flows.__path__)
    for value in vars(importlib.import_module(f"flows.{module.name}")).values()
    if isinstance(value, Flow)
]


def test_every_flow_is_found() -> None:
    assert {f.name for f in FLOWS} >= {
        "cong-bo-chi-thi",
        "mo-ky-moi",
        "trang-thai-hang-ngay",
        "don-doc-hang-ngay",
        "tong-hop-thang",
        "tong-hop-bao-cao",
        "nop-bao-cao",
        "xet-duyet",
        "viec-cua-don-vi",
    }


@pytest.mark.parametrize("run", FLOWS, ids=lambda f: f.name)
def test_every_run_is_named_in_words_as_it_starts(run: Flow) -> None:  # type: ignore[type-arg]
    """Scheduled, start-up and form runs alike: none keeps Prefect's random name."""
    assert run.flow_run_name is not None

"""What a clerk reads of a run in the Prefect UI, without a Prefect server: its name and, when
the flow refuses, its state."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from prefect import Flow
from prefect.client.schemas.objects import StateType
from prefect.input import RunInput

import flows
from flows import runtime
from flows.runtime import checked_answer, refused_run_name, refused_state
from models.errors import InputError, Refused, Unauthorized

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
        "vao-so-bao-cao-den",
        "nhan-thu-tra-loi",
    }


@pytest.mark.parametrize("run", FLOWS, ids=lambda f: f.name)
def test_every_run_is_named_in_words_as_it_starts(run: Flow) -> None:  # type: ignore[type-arg]
    """Scheduled, start-up and form runs alike: none keeps Prefect's random name."""
    assert run.flow_run_name is not None


def test_a_refused_run_says_so_on_its_badge_and_in_its_name() -> None:
    refused = InputError(
        "submit", "narrative", " ", "is required", vi="Chưa nhập «Nội dung kết quả thực hiện»."
    )
    state = refused_state(refused)
    assert (state.type, state.name, state.message) == (
        StateType.FAILED,
        "Bị từ chối",
        "Chưa nhập «Nội dung kết quả thực hiện».",
    )
    assert refused_run_name("xet-duyet · svhttdl.an") == "xet-duyet · svhttdl.an · bị từ chối"


class Waiting(Exception):
    """The run suspended on a form (Prefect's Pause, which ends the pass)."""


class Run:
    """A paused-and-resumed run, pass by pass: each Resume starts the flow from the top, a
    form whose key fired returns the answer stored for it, a new one suspends the run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, take: Any) -> None:
        self.fired: list[str] = []
        self.stored: dict[str, str] = {}
        self.redeemed: list[str] = []
        self.forms: list[tuple[Any, str | None]] = []
        self.take = take
        monkeypatch.setattr(runtime, "answer_of", self._answer_of)
        monkeypatch.setattr(runtime, "_fired", lambda: set(self.fired))

    def _answer_of(self, starter: str, form: Any, *, key: str, hours: int) -> tuple[str, str]:
        if key not in self.fired:
            self.fired.append(key)
            raise Waiting(key)
        self.redeemed.append(key)
        return self.stored[key], starter

    def _form_for(self, typed: Any, mend: str | None) -> type[RunInput]:
        self.forms.append((typed, mend))
        return RunInput

    def one_pass(self) -> Any:
        return checked_answer("cb.18712", self._form_for, self.take, key="don-vi", hours=24)

    def answer(self, value: str) -> None:
        self.stored[self.fired[-1]] = value


def _take(answer: str, by: str) -> str:
    if answer.startswith("sai"):
        raise InputError("form", "narrative", answer, "is wrong", vi=f"Sửa «{answer}».")
    if answer == "đã nộp":
        raise Refused("already handed in", vi="Kỳ này đã nộp.")
    if answer == "người khác":
        raise Unauthorized("not theirs", vi="Không phải của bạn.")
    return f"{answer} · {by}"


def test_a_wrong_answer_is_asked_again_with_what_was_typed_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = Run(monkeypatch, _take)
    with pytest.raises(Waiting):
        run.one_pass()
    run.answer("sai 1")
    with pytest.raises(Waiting):
        run.one_pass()
    run.answer("đã nộp")
    with pytest.raises(Waiting):
        run.one_pass()
    run.answer("đúng")
    assert run.one_pass() == "đúng · cb.18712"
    assert run.fired == ["don-vi", "don-vi-2", "don-vi-3"]
    # each answer read, and its grant redeemed, once: in the pass after its Resume
    assert run.redeemed == run.fired
    # the forms built to ask: the first, then each with the answer typed and what to mend
    asked = [form for form in run.forms if form != (None, None)]
    assert asked == [("sai 1", "Sửa «sai 1»."), ("đã nộp", "Kỳ này đã nộp.")]


def test_after_five_wrong_answers_the_refusal_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(monkeypatch, _take)
    for n in range(1, 6):
        with pytest.raises(Waiting):
            run.one_pass()
        run.answer(f"sai {n}")
    with pytest.raises(InputError, match="sai 5"):
        run.one_pass()
    assert run.fired == ["don-vi", "don-vi-2", "don-vi-3", "don-vi-4", "don-vi-5"]
    assert run.redeemed == run.fired


def test_an_answer_refused_for_who_sent_it_is_not_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = Run(monkeypatch, _take)
    with pytest.raises(Waiting):
        run.one_pass()
    run.answer("người khác")
    with pytest.raises(Unauthorized):
        run.one_pass()
    assert run.fired == ["don-vi"]

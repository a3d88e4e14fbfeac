"""The run that reads the reply mailbox: it reads nothing until a mailbox is set, and says how
many mails came to each outcome, in Vietnamese."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest

import flows.inbox
import services.inbox
from services.replies import Taken
from services.settings import Settings


def test_the_artifact_counts_each_outcome_in_words() -> None:
    markdown = flows.inbox.outcomes_markdown(Counter(["recorded", "recorded", "refused"]))
    assert "| Đã ghi nhận báo cáo | 2 |" in markdown
    assert "| Từ chối (địa chỉ hoặc mã trả lời không hợp lệ) | 1 |" in markdown
    assert "| Trả lời đề nghị sửa | 0 |" in markdown


def test_without_a_mailbox_the_run_reads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(settings: Settings, *, now: datetime) -> list[Taken]:
        raise AssertionError("no mailbox is set: nothing to read")

    monkeypatch.setattr(flows.inbox, "load_settings", lambda: Settings())
    monkeypatch.setattr(services.inbox, "read_mailbox", read)
    assert flows.inbox.read_replies.fn() == {}


def test_with_a_mailbox_the_run_takes_its_mail_and_counts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read: list[Settings] = []
    shown: dict[str, Any] = {}

    def mailbox(settings: Settings, *, now: datetime) -> list[Taken]:
        read.append(settings)
        return [Taken("recorded", (7,), "receipt"), Taken("mend", (), "mend"), Taken("ignored")]

    settings = Settings(imap_host="imap.camxuyen.example")
    monkeypatch.setattr(flows.inbox, "load_settings", lambda: settings)
    monkeypatch.setattr(services.inbox, "read_mailbox", mailbox)
    monkeypatch.setattr(flows.inbox, "create_markdown_artifact", lambda **kw: shown.update(kw))
    assert flows.inbox.read_replies.fn() == {"recorded": 1, "mend": 1, "ignored": 1}
    assert read == [settings]
    assert shown["key"] == "thu-tra-loi"
    assert "| Thư tự động, không trả lời | 1 |" in shown["markdown"]

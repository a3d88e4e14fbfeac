"""The sign-in code's letter, through a real SMTP server on 127.0.0.1: one letter to the
registered address alone, with the code, until when it holds and where to type it; nothing for
a name no one has; nothing kept in the outbox's table; a clear refusal when mail cannot go."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

import services.access
from models.errors import DeliveryFailed
from models.storage.db import transaction
from tests.smtp import Server, settings_for

NOW = datetime(2024, 4, 15, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam
CLERK = "cb.18673"


def _code(text: str) -> str:
    found = re.search(r"Mã đăng nhập dondoc của anh/chị là: (\d{6})", text)
    assert found is not None, text
    return found.group(1)


def test_a_code_goes_to_the_registered_address_alone_and_opens_a_session(
    seeded: Engine, smtp: Server
) -> None:
    settings = settings_for(seeded, smtp, sign_in_url="https://dondoc.example/dang-nhap")
    services.access.ask_code(settings, CLERK, now=NOW, address="10.0.0.7")
    assert smtp.inbox.rcpt == ["vanhoa.18673@camxuyen.example"]
    ((_, letter),) = smtp.inbox.received
    assert letter["Subject"] == "Mã đăng nhập dondoc"
    assert letter["To"] == "Nguyễn Văn An <vanhoa.18673@camxuyen.example>"
    text = letter.get_body(("plain",)).get_content()
    html = letter.get_body(("html",)).get_content()
    code = _code(text)
    for part in (text, html):
        assert code in part and "https://dondoc.example/dang-nhap" in part
        assert "08:40 ngày 15/04/2024" in part  # ten minutes, in Vietnam's time
    token = services.access.sign_in(settings, CLERK, code, now=NOW, address="10.0.0.7")
    person = services.access.session_person(settings, token, now=NOW)
    assert person is not None and person.username == CLERK
    with transaction(seeded, writes=False) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM message")).scalar_one() == 0


def test_a_name_no_one_has_gets_no_letter_and_no_hint(seeded: Engine, smtp: Server) -> None:
    settings = settings_for(seeded, smtp)
    services.access.ask_code(settings, "nguoi.la", now=NOW, address="10.0.0.7")
    assert smtp.inbox.received == []


def test_mail_that_cannot_go_is_said_in_vietnamese(seeded: Engine, smtp: Server) -> None:
    smtp.stop()
    with pytest.raises(DeliveryFailed) as failed:
        services.access.ask_code(settings_for(seeded, smtp), CLERK, now=NOW, address="10.0.0.7")
    assert failed.value.vi == "Chưa gửi được thư chứa mã đăng nhập; hãy thử lại sau ít phút."
    with pytest.raises(DeliveryFailed) as nowhere:
        services.access.ask_code(settings_for(seeded, None), CLERK, now=NOW, address="10.0.0.7")
    assert "quản trị" in (nowhere.value.vi or "")


def test_the_operator_hands_the_first_administrator_a_code(seeded: Engine) -> None:
    settings = settings_for(seeded, None)
    code = services.access.operator_code(settings, "admin.cx", now=NOW, os_user="root")
    assert code is not None
    token = services.access.sign_in(settings, "admin.cx", code, now=NOW, address="10.0.0.1")
    assert services.access.session_person(settings, token, now=NOW).role == "admin"  # type: ignore[union-attr]
    assert services.access.operator_code(settings, "nguoi.la", now=NOW, os_user="root") is None
    with transaction(seeded, writes=False) as conn:
        sent = conn.execute(
            sa.text("SELECT address FROM access_event WHERE kind = 'code-sent'")
        ).scalar_one()
    assert sent == "cli:root"

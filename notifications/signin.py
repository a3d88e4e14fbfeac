"""The letter that carries a one-time sign-in code. It is sent at once and kept nowhere: not
in the outbox, whose messages stay in the database for the record, since no code may be kept
in clear."""

from __future__ import annotations

import uuid
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from models.rules.workdays import TIMEZONE
from notifications.delivery import MAIL_POLICY
from notifications.templating import environment

SUBJECT = "Mã đăng nhập dondoc"


def code_letter(
    *, name: str, to: str, code: str, until: datetime, url: str, sender: str, now: datetime
) -> EmailMessage:
    """The letter to `name` at `to` with `code`, good until `until` (said in Vietnam's time,
    HH:MM dd/mm/yyyy), to be typed at `url`."""
    local = until.astimezone(ZoneInfo(TIMEZONE))
    values = {
        "name": name,
        "code": code,
        "until": f"{local:%H:%M} ngày {local:%d/%m/%Y}",
        "url": url,
    }
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["Subject"] = SUBJECT
    mail["From"] = Address(addr_spec=sender)
    mail["To"] = Address(display_name=name, addr_spec=to)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<signin-{uuid.uuid4().hex}@dondoc>"
    mail.set_content(environment().get_template("ma-dang-nhap.txt.j2").render(values))
    mail.add_alternative(
        environment().get_template("ma-dang-nhap.html.j2").render(values), subtype="html"
    )
    return mail

"""A unit hands in by answering its reminder: the letter carries the reply address, a block
with the figures' labels and blanks and a one-time token (kept only as its hash); replies reach
dondoc's own SMTP receiver (a real one, on a free port) and are recorded once, refused or
answered with what to mend, in Vietnamese. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from models.storage import ledger
from models.storage.db import transaction
from models.storage.tables import DENIAL, MESSAGE, OBLIGATION
from services import inbox, mail, replies
from services.settings import Settings
from tests.conftest import obligation_id
from tests.smtp import Server, _free_port, settings_for

MONDAY = date(2024, 3, 18)  # the working day after the Q1 reports' due date (Friday 15/03)
CHASED = datetime(2024, 3, 18, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
ARRIVED = datetime(2024, 3, 18, 2, 30, tzinfo=UTC)  # 09:30 in Hà Nội
REPLY_TO = "baocao@camxuyen.example"
COMMUNE = "ubnd.18712@camxuyen.example"
OFFICER = "vanhoa.18712@camxuyen.example"
GOOD = {
    "training_classes": "2",
    "seminars": "1",
    "news_items": "3",
    "leaflets": "10",
    "documents": "1",
    "other_forms": "0",
    "thuyet-minh": "Đã tuyên truyền đủ các hình thức",
}


@dataclass
class Mailroom:
    settings: Settings
    server: Server  # where dondoc's letters and answers go
    port: int  # dondoc's own receiver
    oid: int  # the commune's Q1 report (1c), overdue on MONDAY

    def letter(self, to: str = COMMUNE) -> EmailMessage:
        found = [m for rcpt, m in self.server.inbox.received if rcpt == [to]]
        assert len(found) == 1, [r for r, _ in self.server.inbox.received]
        return found[0]

    def answers(self, to: str) -> list[EmailMessage]:
        """What dondoc sent `to` besides its letter."""
        return [
            m
            for rcpt, m in self.server.inbox.received
            if rcpt == [to] and not m["Subject"].startswith("[dondoc] Đôn đốc")
        ]

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", self.port) as client:
            client.send_message(message)


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def reply(
    letter: EmailMessage,
    values: dict[str, str],
    *,
    oid: int,
    sender: str = COMMUNE,
    message_id: str = "<r1@camxuyen.example>",
    token: bool = True,
) -> EmailMessage:
    """The answer a clerk writes: the letter quoted, the blanks of obligation `oid` filled."""
    lines = []
    for line in body(letter).splitlines():
        if not token and "[#ma]" in line:
            continue
        for key, value in values.items():
            if f"[#{oid}.{key}]:" in line:
                line = f"{line.rstrip()} {value}"
        lines.append(f"> {line}")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = letter["Reply-To"] or REPLY_TO
    message["Subject"] = f"Re: {letter['Subject']}"
    message["Message-ID"] = message_id
    message["In-Reply-To"] = letter["Message-ID"]
    message.set_content("Xin gửi báo cáo.\n\n" + "\n".join(lines) + "\n")
    return message


@pytest.fixture
def room(seeded: Engine, smtp: Server) -> Iterator[Mailroom]:
    """The seed district chased on MONDAY with replies asked at REPLY_TO, the letters
    delivered to `smtp`, and dondoc's receiver listening."""
    settings = settings_for(seeded, smtp, reply_address=REPLY_TO, receiver_port=_free_port())
    mail.chase(settings, day=MONDAY, now=CHASED)
    with inbox.receiver(settings, now=lambda: ARRIVED) as port:
        yield Mailroom(settings, smtp, port, obligation_id(seeded, "1c", "18712", "2024-Q1"))


def submitted(engine: Engine, oid: int) -> list[sa.Row[tuple[object, ...]]]:
    with transaction(engine, writes=False) as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT actor, channel, payload, idempotency_key FROM event "
                    "WHERE obligation_id = :o AND kind = 'submitted'"
                ),
                {"o": oid},
            )
        )


def test_the_letter_carries_the_reply_address_the_blanks_and_a_token_kept_as_its_hash(
    room: Mailroom, seeded: Engine
) -> None:
    letter = room.letter()
    text = body(letter)
    assert letter["Reply-To"] == REPLY_TO
    assert f"trả lời thư này (tới {REPLY_TO})" in text
    assert "hoặc qua biểu mẫu của dondoc trên giao diện Prefect" in text
    assert "vui lòng không trả lời thư này" not in text
    lines = text.splitlines()
    assert f"Số lớp tập huấn (lớp) [#{room.oid}.training_classes]: " in lines
    narrative = "Đánh giá kết quả và các hình thức tuyên truyền khác"
    assert f"{narrative} [#{room.oid}.thuyet-minh]: " in lines
    token = token_of(letter)
    assert len(token) >= 30 and "\x1f" not in text
    # the officer's letter has a token of its own
    assert token not in body(room.letter(OFFICER))
    # no row of any table holds the token; its letter's row holds its SHA-256
    with transaction(seeded, writes=False) as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                assert token not in repr(tuple(row)), table
        hashes = set(conn.execute(sa.text("SELECT token_hash FROM reply_token")).scalars())
    assert hashlib.sha256(token.encode()).hexdigest() in hashes


def test_a_correct_reply_is_recorded_once_also_when_sent_twice(
    room: Mailroom, seeded: Engine
) -> None:
    answer = reply(room.letter(), GOOD, oid=room.oid)
    room.send(answer)
    room.send(answer)
    (event,) = submitted(seeded, room.oid)
    assert event.actor == "mail:18712" and event.channel == "mail"
    payload = ledger.load_payload(event.payload)
    assert payload["figures"]["training_classes"] == 2
    assert payload["received"]["channel"] == "thu-dien-tu"
    assert payload["received"]["arrived"] == "2024-03-18"
    assert payload["received"]["from"] == COMMUNE
    with transaction(seeded, writes=False) as conn:
        status, day = conn.execute(
            sa.select(OBLIGATION.c.status, OBLIGATION.c.handed_in_on).where(
                OBLIGATION.c.id == room.oid
            )
        ).one()
    assert status == "submitted" and day == MONDAY
    (receipt,) = room.answers(COMMUNE)
    assert receipt["Subject"] == "[dondoc] Biên nhận báo cáo nộp qua thư điện tử"
    assert ledger.verify(seeded)[1] == []


def test_the_receipt_says_what_was_recorded_when_it_arrived_and_how_late(
    room: Mailroom,
) -> None:
    room.send(reply(room.letter(), GOOD, oid=room.oid))
    text = body(room.answers(COMMUNE)[0])
    assert "Kính gửi: Xã Nam Phúc Thăng" in text
    assert "đến lúc 18/03/2024 09:30" in text
    assert "(Quý I/2024), hạn 15/03/2024: nộp muộn 3 ngày." in text
    assert "Số lớp tập huấn (lớp): 2" in text
    assert "Số tờ rơi (tờ): 10" in text
    assert "Nội dung: Đã tuyên truyền đủ các hình thức" in text


def test_the_token_is_spent_by_the_reply_that_used_it(room: Mailroom, seeded: Engine) -> None:
    letter = room.letter()
    room.send(reply(letter, GOOD, oid=room.oid))
    room.send(reply(letter, GOOD, oid=room.oid, message_id="<r2@camxuyen.example>"))
    assert len(submitted(seeded, room.oid)) == 1
    refusal = body(room.answers(COMMUNE)[1])
    assert "đã được dùng cho một thư trả lời trước" in refusal


def test_a_reply_from_an_unknown_address_is_refused_and_answered(
    room: Mailroom, seeded: Engine
) -> None:
    stranger = "ai.do@elsewhere.example"
    room.send(reply(room.letter(), GOOD, oid=room.oid, sender=stranger))
    assert submitted(seeded, room.oid) == []
    (answer,) = room.answers(stranger)
    text = body(answer)
    assert answer["Subject"] == "[dondoc] Thư trả lời không được tiếp nhận"
    assert f"Địa chỉ {stranger} chưa được đăng ký cho đơn vị nào trong dondoc." in text
    assert "18712" not in text and "Nam Phúc Thăng" not in text
    with transaction(seeded, writes=False) as conn:
        denials = conn.execute(sa.select(DENIAL.c.actor, DENIAL.c.command, DENIAL.c.target)).all()
    assert denials == [(f"mail:{stranger}", "submit", "reply <r1@camxuyen.example>")]


def test_a_reply_without_the_token_is_refused_and_answered(room: Mailroom, seeded: Engine) -> None:
    room.send(reply(room.letter(), GOOD, oid=room.oid, token=False))
    assert submitted(seeded, room.oid) == []
    (answer,) = room.answers(COMMUNE)
    assert "Thư thiếu mã trả lời hoặc mã không đúng" in body(answer)


def test_another_units_token_is_refused(room: Mailroom, seeded: Engine) -> None:
    other = obligation_id(seeded, "1c", "18673", "2024-Q1")
    letter = room.letter("ubnd.18673@camxuyen.example")
    room.send(reply(letter, GOOD, oid=other))
    assert submitted(seeded, other) == []
    assert "Thư thiếu mã trả lời hoặc mã không đúng" in body(room.answers(COMMUNE)[0])


def test_a_bad_figure_is_answered_with_what_to_mend_and_nothing_recorded(
    room: Mailroom, seeded: Engine
) -> None:
    letter = room.letter()
    room.send(reply(letter, GOOD | {"seminars": "-2"}, oid=room.oid))
    assert submitted(seeded, room.oid) == []
    (answer,) = room.answers(COMMUNE)
    text = body(answer)
    assert answer["Subject"] == "[dondoc] Báo cáo gửi qua thư điện tử chưa được ghi nhận: cần sửa"
    assert "Chỉ tiêu «Số buổi tọa đàm» không được nhỏ hơn 0 (đã nhập «-2»)." in text
    # mended, the same letter's token is still good
    room.send(reply(letter, GOOD, oid=room.oid, message_id="<r2@camxuyen.example>"))
    assert len(submitted(seeded, room.oid)) == 1


def test_an_automatic_reply_is_never_answered(room: Mailroom, seeded: Engine) -> None:
    answer = reply(room.letter(), GOOD, oid=room.oid)
    answer["Auto-Submitted"] = "auto-replied"
    room.send(answer)
    bounce = reply(room.letter(), GOOD, oid=room.oid, message_id="<b@camxuyen.example>")
    bounce["Return-Path"] = "<>"
    room.send(bounce)
    assert submitted(seeded, room.oid) == []
    assert room.answers(COMMUNE) == []


def test_a_mail_too_long_to_be_a_reply_is_not_read(room: Mailroom, seeded: Engine) -> None:
    long = reply(room.letter(), GOOD, oid=room.oid)
    long.set_content(body(long) + "x" * replies.MAX_MAIL)
    taken = replies.take_reply(room.settings, bytes(long), arrived_at=ARRIVED, now=ARRIVED)
    assert taken.outcome == "ignored"
    assert submitted(seeded, room.oid) == []


def test_dondoc_marks_its_mail_automatic_and_never_answers_its_own_addresses(
    room: Mailroom, seeded: Engine
) -> None:
    assert room.letter()["Auto-Submitted"] == "auto-generated"
    room.send(reply(room.letter(), GOOD, oid=room.oid, sender="dondoc@camxuyen.example"))
    room.send(reply(room.letter(), GOOD, oid=room.oid, sender=REPLY_TO, message_id="<o@x.vn>"))
    assert submitted(seeded, room.oid) == []
    letters = [m["Subject"] for _, m in room.server.inbox.received]
    assert all(subject.startswith("[dondoc] Đôn đốc") for subject in letters)


def token_of(letter: EmailMessage) -> str:
    (line,) = [line for line in body(letter).splitlines() if "[#ma]" in line]
    return line.split(": ", 1)[1]


def test_a_letter_delivered_again_carries_a_new_token_and_the_first_no_longer_holds(
    room: Mailroom, seeded: Engine
) -> None:
    first = room.letter()
    # a run stopped after sending, before marking: its claim lapses and the next run sends again
    with transaction(seeded) as conn:
        conn.execute(
            MESSAGE.update()
            .where(MESSAGE.c.recipient == COMMUNE)
            .values(status="sending", next_attempt_at=CHASED)
        )
    mail.deliver_outbox(room.settings, now=ARRIVED)
    again = [m for rcpt, m in room.server.inbox.received if rcpt == [COMMUNE]][-1]
    assert again["Message-ID"] == first["Message-ID"] and token_of(again) != token_of(first)
    room.send(reply(first, GOOD, oid=room.oid))
    assert submitted(seeded, room.oid) == []
    room.send(reply(again, GOOD, oid=room.oid, message_id="<r2@camxuyen.example>"))
    assert len(submitted(seeded, room.oid)) == 1


class FakeMailbox:
    """An IMAP server's answers as imapclient gives them, for `read_mailbox`."""

    def __init__(self, mails: dict[int, tuple[bytes, datetime]]) -> None:
        self.mails = mails
        self.seen: list[int] = []
        self.normalise_times = True

    def __call__(self, host: str, *, port: int, ssl: bool) -> FakeMailbox:
        assert ssl
        return self

    def __enter__(self) -> FakeMailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def login(self, user: str, password: str) -> None:
        pass

    def select_folder(self, folder: str) -> None:
        assert folder == "INBOX"

    def search(self, criteria: list[str]) -> list[int]:
        assert criteria == ["UNSEEN"]
        return [uid for uid in self.mails if uid not in self.seen]

    def fetch(self, uids: list[int], items: list[bytes]) -> dict[int, dict[bytes, object]]:
        assert items == [b"BODY.PEEK[]", b"INTERNALDATE"]
        assert not self.normalise_times  # the arrival instants keep their offset
        return {u: {b"BODY[]": self.mails[u][0], b"INTERNALDATE": self.mails[u][1]} for u in uids}

    def add_flags(self, uids: list[int], flags: list[bytes]) -> None:
        assert flags == [b"\\Seen"]
        self.seen += uids


def test_the_mailbox_read_over_imap_feeds_the_same_function_with_its_arrival_time(
    room: Mailroom, seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrived = datetime(2024, 3, 19, 3, 15, tzinfo=UTC)
    box = FakeMailbox({41: (bytes(reply(room.letter(), GOOD, oid=room.oid)), arrived)})
    monkeypatch.setattr(inbox, "IMAPClient", box)
    settings = room.settings.model_copy(update={"imap_host": "imap.camxuyen.example"})
    (taken,) = inbox.read_mailbox(settings, now=datetime(2024, 3, 19, 4, 0, tzinfo=UTC))
    assert taken.outcome == "recorded" and box.seen == [41]
    assert inbox.read_mailbox(settings, now=datetime(2024, 3, 19, 5, 0, tzinfo=UTC)) == []
    (event,) = submitted(seeded, room.oid)
    received = ledger.load_payload(event.payload)["received"]
    assert received["arrived"] == "2024-03-19" and received["at"].startswith("2024-03-19T03:15")
    assert "nộp muộn 4 ngày" in body(room.answers(COMMUNE)[0])


def test_a_letter_sent_again_after_its_token_was_spent_carries_none(
    room: Mailroom, seeded: Engine
) -> None:
    first = room.letter()
    room.send(reply(first, GOOD, oid=room.oid))
    with transaction(seeded) as conn:
        conn.execute(
            MESSAGE.update()
            .where(MESSAGE.c.recipient == COMMUNE, MESSAGE.c.run.startswith("chase"))
            .values(status="sending", next_attempt_at=CHASED)
        )
    mail.deliver_outbox(room.settings, now=ARRIVED)
    again = [m for rcpt, m in room.server.inbox.received if rcpt == [COMMUNE]][-1]
    assert again["Message-ID"] == first["Message-ID"]
    lines = body(again).splitlines()
    assert "Mã trả lời [#ma]: " in lines and "\x1f" not in body(again)

"""Nhận thư trả lời: the run that reads the reply mailbox over IMAP, in production, where the
units' answers to their reminders arrive (the quickstart's own SMTP receiver takes them as they
come, and needs no run). Each mail is taken, recorded and answered as `services.replies` says;
the run leaves how many were recorded, asked to be mended, refused or left alone."""

from __future__ import annotations

from collections import Counter

import pendulum
from prefect import flow
from prefect.artifacts import create_markdown_artifact

import services.inbox
from flows.runtime import dated_run_name
from services.settings import load_settings

# What became of the mails, as the run's artifact names it, in this order.
OUTCOME_WORDS = {
    "recorded": "Đã ghi nhận báo cáo",
    "mend": "Trả lời đề nghị sửa",
    "refused": "Từ chối (địa chỉ hoặc mã trả lời không hợp lệ)",
    "duplicate": "Thư gửi lại, đã ghi nhận trước đó",
    "ignored": "Thư tự động, không trả lời",
}
UNSET = "Chưa đặt hộp thư trả lời (DONDOC_IMAP_HOST): không có thư nào để đọc."


def outcomes_markdown(counts: Counter[str]) -> str:
    """The run's artifact: how many mails came to each outcome."""
    lines = ["# Thư trả lời đã đọc", "", "| Kết quả | Số thư |", "|---|---:|"]
    lines += [f"| {words} | {counts[key]} |" for key, words in OUTCOME_WORDS.items()]
    return "\n".join(lines)


@flow(name="nhan-thu-tra-loi", log_prints=True, flow_run_name=dated_run_name)
def read_replies() -> dict[str, int]:
    """Nhận thư trả lời: take every unread mail of the reply mailbox once."""
    settings = load_settings()
    if settings.imap_host is None:
        print(UNSET)
        return {}
    taken = services.inbox.read_mailbox(settings, now=pendulum.now("UTC"))
    counts = Counter(t.outcome for t in taken)
    create_markdown_artifact(key="thu-tra-loi", markdown=outcomes_markdown(counts))
    print(f"Đã đọc {len(taken)} thư trả lời.")
    return dict(counts)

"""Render the README's pictures of what dondoc sends: the seed district on a scratch SQLite
database, chased on 18/03/2024 (some units ten working days late): the urging dispatch's HTML
version and the letter to the lead office; and the monthly summary of 01/04/2024. Shot in
headless Chromium; needs the test extra (Playwright) and Debian's Chromium:

    .venv/bin/python docs/messages.py
"""

from __future__ import annotations

import re
import sys
import tempfile
from datetime import date
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.rules.ladder import DEFAULT_LADDER  # noqa: E402
from models.rules.status import Day  # noqa: E402
from models.rules.workdays import WorkCalendar  # noqa: E402
from models.storage.chase import plan, summaries  # noqa: E402
from models.storage.db import make_engine, transaction, upgrade  # noqa: E402
from notifications import dispatch  # noqa: E402
from notifications.render import dispatch_html, renderer, summary_renderer  # noqa: E402
from tests.conftest import load_registers, publish_seed  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DAY = date(2024, 3, 18)
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def main() -> None:
    calendar = WorkCalendar()
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/dondoc.db")
        upgrade(engine)
        load_registers(engine)
        publish_seed(engine)
        with transaction(engine, writes=False) as conn:
            found = plan(conn, day=DAY, calendar=calendar, default_ladder=DEFAULT_LADDER)
        letters = {letter.recipient.email: letter for letter in found.letters}
        issuer = letters["ubnd@camxuyen.example"]
        late = [i for i in issuer.items if i.step.dispatch]
        values = dispatch.context(late[0].info, late, day=DAY, calendar=calendar)
        lead = letters["vhtt@camxuyen.example"]
        month = date(2024, 4, 1)
        with transaction(engine, writes=False) as conn:
            (summary,) = summaries(conn, on=Day(month, month))
        pages = {
            "6-cong-van-don-doc.png": dispatch_html(values),
            "7-thu-don-doc.png": renderer(calendar)(lead, DAY).html,
            "8-tong-hop-thang.png": summary_renderer(calendar)(
                summary, summary.recipients[0], month
            ).html,
        }
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 900, "height": 1000})
            # the pages are files; nothing else may be fetched
            page.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
            for name, html in pages.items():
                source = Path(scratch) / (name + ".html")
                source.write_text(html, encoding="utf-8")
                page.goto(source.as_uri())
                page.screenshot(path=str(OUT / name), full_page=True)
                print(OUT / name)
            browser.close()


if __name__ == "__main__":
    main()

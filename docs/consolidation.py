"""Render the pictures of what the lead office consolidates, from the seed district's
requirement 1c built by hand as the tests build it (`tests/notifications/conftest.py`): the
compliance matrix as of 12/09/2024, shot in headless Chromium at 1400 px, and the first page
of the consolidated report of Quý I/2024, converted by LibreOffice to PDF and by pdftoppm to
PNG. Needs the test extra (Playwright) and Debian's Chromium, LibreOffice Writer and poppler:

    apt-get install -y libreoffice-writer-nogui poppler-utils
    .venv/bin/python docs/consolidation.py

By hand, the same conversion of any report:

    soffice --headless --convert-to pdf --outdir OUT bao-cao-tong-hop-….docx
    pdftoppm -png -r 110 -f 1 -l 1 -singlefile OUT/bao-cao-tong-hop-….pdf OUT/trang-1

LibreOffice sets Times New Roman in Liberation Serif, which has the same metrics.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notifications.matrix import matrix_html  # noqa: E402
from notifications.report import filename, write_consolidation_docx  # noqa: E402
from tests.notifications.conftest import seed_consolidation, seed_matrix  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def matrix(scratch: Path, shot: Path) -> None:
    source = scratch / "ma-tran.html"
    source.write_text(matrix_html(seed_matrix()), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # the page is a file; nothing else may be fetched
        page.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
        page.goto(source.as_uri())
        page.screenshot(path=str(shot), full_page=True)
        browser.close()


def first_page(scratch: Path, shot: Path) -> None:
    report = seed_consolidation()
    document = write_consolidation_docx(report, scratch / f"{filename(report)}.docx")
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(scratch), str(document)],
        check=True,
        capture_output=True,
    )
    pdf, png = document.with_suffix(".pdf"), shot.with_suffix("")  # pdftoppm adds .png
    subprocess.run(
        ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(png)],
        check=True,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for name, draw in (
            ("12-ma-tran-tuan-thu.png", matrix),
            ("13-bao-cao-tong-hop.png", first_page),
        ):
            draw(scratch, OUT / name)
            print(OUT / name)


if __name__ == "__main__":
    main()

"""The documents of the second directive's chain (Hà Tĩnh, 2026), read back with python-docx:
the Sở's consolidated report of the communes' quarter is its report to the ministry, issued in
the Sở's name under the province's People's Committee and sent to the ministry's CCHC
department; that department's report on the Sở's is its own, under the ministry, sent to the
ministry; and the province, which the national register names as a territory ("Tỉnh Hà Tĩnh",
kind `tinh`), issues its dispatch as its People's Committee, which signs it. On every
backend."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import docx
import pytest
from sqlalchemy import Engine

from models.storage import ledger, reporting
from notifications.report import write_consolidation_docx
from tests.conftest import obligation_id
from tests.notifications.test_holder import _dispatch, _plan
from tests.store.test_chain import DIRECTIVE, accept, at, first_quarter, on

PROVINCE = "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH"


@pytest.fixture
def q1(engine: Engine) -> Engine:
    return first_quarter(engine)


def _report(engine: Engine, requirement: str, day: int, folder: Path) -> tuple[list[str], str]:
    """The consolidated report of `requirement`'s first quarter made on `day` of March 2026:
    the lines of its header's issuing body, its other parts that say from where, to whom and
    who signs (place and date, "Nơi nhận", signature), and its text."""
    found = reporting.consolidation(
        engine, directive=DIRECTIVE, requirement=requirement, period="2026-Q1", on=on(day)
    )
    document = docx.Document(str(write_consolidation_docx(found, folder / "bao-cao.docx")))
    head, *_, foot = document.tables
    office, nation = (cell.text for cell in head.rows[0].cells)
    received, signer = (cell.text for cell in foot.rows[0].cells)
    body = [line for line in office.split("\n") if line][:2]
    return [*body, nation, received, signer], "\n".join(p.text for p in document.paragraphs)


def test_the_departments_report_to_the_ministry_is_the_departments(
    q1: Engine, tmp_path: Path
) -> None:
    (above, office, nation, received, signer), text = _report(q1, "2", 19, tmp_path)
    assert (above, office) == (PROVINCE, "SỞ NỘI VỤ")
    assert "Hà Tĩnh, ngày 19 tháng 3 năm 2026" in nation
    assert "- Vụ Cải cách hành chính - Bộ Nội vụ (để báo cáo);" in received
    assert "- Lưu: VT, SNV." in received
    assert "GIÁM ĐỐC" in signer
    assert (
        "Sở Nội vụ tỉnh Hà Tĩnh báo cáo Vụ Cải cách hành chính - Bộ Nội vụ xem xét, chỉ đạo"
    ) in text


def test_the_ministrys_report_on_the_departments_is_the_ministrys(
    q1: Engine, tmp_path: Path
) -> None:
    own = obligation_id(q1, "4", "42-SNV", "2026-Q1")
    ledger.submit(
        q1,
        own,
        ledger.Issued("snv.ha", "s4", "test", at(20)),
        figures={"news_items": 25, "sessions": 6, "inspections": 3},
        narrative="Báo cáo của Sở Nội vụ",
        evidence=None,
    )
    accept(q1, "vcchc.binh", own, at(23))
    (above, office, _, received, signer), text = _report(q1, "4", 23, tmp_path)
    assert (above, office) == ("BỘ NỘI VỤ", "VỤ CẢI CÁCH HÀNH CHÍNH")
    assert "- Bộ Nội vụ (để báo cáo);" in received and "- Lưu: VT, VCCHC." in received
    assert "VỤ TRƯỞNG" in signer
    assert "Sở Nội vụ" not in "\n".join((above, office, received, signer))
    assert "Vụ Cải cách hành chính - Bộ Nội vụ báo cáo Bộ Nội vụ xem xét, chỉ đạo" in text


def test_the_provinces_dispatch_is_its_peoples_committees(q1: Engine) -> None:
    letters = {
        letter.recipient.email: letter for letter in _plan(q1, date(2026, 3, 19), "issuer").letters
    }
    document, parts, caption, _ = _dispatch(letters["ubnd@hatinh.example"], date(2026, 3, 19))
    issuer, nation, signer = parts[0], parts[1], parts[4]
    assert next(line for line in issuer.split("\n") if line) == PROVINCE
    assert "Hà Tĩnh, ngày 19 tháng 3 năm 2026" in nation
    # the province's signer is not known: the block is left for its office to fill
    assert [line for line in signer.split("\n") if line] == ["TM. ỦY BAN NHÂN DÂN"]
    assert "của Ủy ban nhân dân tỉnh Hà Tĩnh)" in caption
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Ủy ban nhân dân tỉnh Hà Tĩnh đề nghị Thủ trưởng các đơn vị" in text

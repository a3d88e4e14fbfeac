"""The documents of the second directive's chain (Hà Tĩnh, 2026), read back with python-docx:
the province, which the national register names as a territory ("Tỉnh Hà Tĩnh", kind `tinh`),
issues its dispatch as its People's Committee, which signs it. On every backend."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from tests.notifications.test_holder import _dispatch, _plan
from tests.store.test_chain import first_quarter

PROVINCE = "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH"


@pytest.fixture
def q1(engine: Engine) -> Engine:
    return first_quarter(engine)


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

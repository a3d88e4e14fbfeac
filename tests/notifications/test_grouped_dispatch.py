"""The urging dispatch to more late units than its table can name: it names the bodies above
them (from the register's parent links) with counts, read back with python-docx; every late
unit and item in its appendix, read back with openpyxl, in Vietnamese alphabetical order; the
letter around it bounded the same way."""

from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace

import docx
import openpyxl
import pytest

from models.rules.ladder import DEFAULT_LADDER
from models.rules.obligation import State
from models.rules.vietnamese import sort_key
from models.rules.workdays import WorkCalendar
from models.storage.chase import (
    DirectiveInfo,
    Group,
    Item,
    Letter,
    Recipient,
    Summary,
    grouper,
)
from notifications import dispatch
from notifications.dispatch import DISPATCH_ROWS, DOCX, LISTED_BELOW, XLSX, context
from notifications.render import renderer, summary_renderer

CALENDAR = WorkCalendar()
MONDAY = date(2024, 3, 18)
URGE = next(step for step in DEFAULT_LADDER if step.dispatch)
# Listed in code-point order, which is not Vietnamese order: Ân, Cẩm, Đức.
DISTRICTS = {"D3": "Huyện Đức Thọ", "D1": "Huyện Cẩm Xuyên", "D2": "Huyện Ân Thi"}
COMMUNES = [
    f"Xã {a} {b}"
    for a in ("Đồng", "Yên", "Ân", "Cẩm", "Bình")
    for b in ("Lộc", "An", "Phú", "Thăng")
]
DUES = {"2024-01": date(2024, 2, 7), "2024-02": date(2024, 3, 7)}
INFO = DirectiveInfo(
    code="ha-tinh-cchc-2024",
    number=None,
    symbol="UBND-NV",
    document_date="2024-02",
    subject="V/v báo cáo công tác cải cách hành chính năm 2024",
    document_issuer="Ủy ban nhân dân tỉnh Hà Tĩnh",
    signed_by="KT. Chủ tịch, Phó Chủ tịch Nguyễn Văn An",
    issuer_name="Ủy ban nhân dân tỉnh Hà Tĩnh",
    issuer_parent="",
    issuer_kind="ubnd_tinh",
    lead_name="Sở Nội vụ tỉnh Hà Tĩnh",
    dispatch_symbol="UBND-NV",
)


def _register() -> dict[str, SimpleNamespace]:
    """A province, its home affairs department, three districts of twenty communes each (the
    same twenty names in each district, as happens in real registers)."""
    units = {
        "42": SimpleNamespace(name="Ủy ban nhân dân tỉnh Hà Tĩnh", parent_code=None),
        "42-SNV": SimpleNamespace(name="Sở Nội vụ tỉnh Hà Tĩnh", parent_code="42"),
    }
    for code, name in DISTRICTS.items():
        units[code] = SimpleNamespace(name=name, parent_code="42")
        for n, commune in enumerate(COMMUNES):
            units[f"{code}-{n}"] = SimpleNamespace(name=commune, parent_code=code)
    return units


def _items(issuer: str) -> list[Item]:
    """Two overdue monthly reports for every commune, in register order."""
    units = _register()
    group = grouper(units)
    state = State("open", 1, None, None, None, None, None, None, None, None, "0" * 64)
    communes = [code for code, unit in units.items() if unit.parent_code in DISTRICTS]
    return [
        Item(
            obligation_id=n,
            directive=INFO.code,
            subject=INFO.subject,
            requirement="thang",
            title="Báo cáo tháng",
            unit=code,
            unit_name=units[code].name,
            period=period,
            effective_due=due,
            step=URGE,
            reason=None,
            state=state,
            info=INFO,
            group=group(code, issuer),
            holder=Group(code, units[code].name),
        )
        for n, (code, (period, due)) in enumerate(
            (code, due) for code in communes for due in DUES.items()
        )
    ]


def test_many_late_units_are_addressed_by_the_bodies_above_them() -> None:
    items = _items("42")
    assert len({i.unit for i in items}) == 60 > DISPATCH_ROWS
    rendered = renderer(CALENDAR)(Letter(Recipient("ubnd@hatinh.example", "UBND"), items), MONDAY)
    word, appendix = rendered.attachments
    assert (word.content_type, appendix.content_type) == (DOCX, XLSX)
    assert appendix.filename == "cong-van-don-doc-ha-tinh-cchc-2024-2024-03-18-phu-luc.xlsx"

    document = docx.Document(io.BytesIO(word.content))
    groups = ["Huyện Ân Thi", "Huyện Cẩm Xuyên", "Huyện Đức Thọ"]
    text = [p.text for p in document.paragraphs if p.text.strip()]
    to, opening, request, closing = text
    assert to == f"Kính gửi: {LISTED_BELOW}."
    assert closing.endswith("./.")
    assert "đến ngày 18/03/2024, 60 đơn vị thuộc các đơn vị sau" in opening
    assert "chưa hoàn thành 120 nhiệm vụ" in opening and "Phụ lục" in opening
    assert "có tên tại Phụ lục" in request and "trước ngày 25/03/2024" in request
    _, rows, _ = document.tables
    assert [[c.text for c in r.cells] for r in rows.rows] == [
        ["TT", "Đơn vị", "Số đơn vị chưa hoàn thành", "Số nhiệm vụ quá hạn", "Hạn sớm nhất"],
        *([str(n), g, "20", "40", "07/02/2024"] for n, g in enumerate(groups, start=1)),
    ]

    sheet = openpyxl.load_workbook(io.BytesIO(appendix.content))["Phụ lục"]
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0][0] == "Phụ lục" and "CHƯA HOÀN THÀNH" in lines[1][0]
    assert lines[2][0] == (
        "(Kèm theo Công văn số      /UBND-NV ngày 18/03/2024 của Ủy ban nhân dân tỉnh Hà Tĩnh)"
    )
    assert lines[4] == (
        "TT",
        "Đơn vị cấp trên",
        "Đơn vị",
        "Nhiệm vụ",
        "Nội dung nhiệm vụ",
        "Kỳ",
        "Hạn",
        "Tình trạng",
        "Số ngày quá hạn",
    )
    body = lines[5:]
    assert [row[0] for row in body] == list(range(1, len(items) + 1))
    expected = sorted(
        ((i.group.name, i.unit_name, i.effective_due) for i in items),
        key=lambda r: (sort_key(r[0]), sort_key(r[1]), r[2]),
    )
    assert [(r[1], r[2], r[6].date()) for r in body] == expected
    assert body[0][1:6] == ("Huyện Ân Thi", "Xã Ân An", "thang", "Báo cáo tháng", "Tháng 01/2024")
    assert body[0][7:] == ("Quá hạn", 40)  # due 07/02, urged 18/03/2024
    assert {r[2] for r in body} == set(COMMUNES)

    assert all(g in rendered.text and g in rendered.html for g in groups)
    assert not any(c in rendered.text or c in rendered.html for c in COMMUNES)
    assert appendix.filename in rendered.text and len(rendered.html) < 20_000


def test_an_issuer_beside_the_units_groups_them_under_their_common_ancestor() -> None:
    """The department issues; the communes' group is their district, the body just under
    the province that both hang from."""
    groups = {i.group.name for i in _items("42-SNV")}
    assert groups == set(DISTRICTS.values())


def test_up_to_the_threshold_every_unit_is_named() -> None:
    items = _items("42")
    listed = list(dict.fromkeys(i.unit for i in items))[:DISPATCH_ROWS]
    named = [i for i in items if i.unit in listed]
    values = context(INFO, named, day=MONDAY, calendar=CALENDAR)
    assert not values["grouped"] and values["recipient"] == LISTED_BELOW
    assert [u["name"] for u in values["units"]] == sorted(
        (i.unit_name for i in named if i.period == "2024-01"), key=sort_key
    )
    assert {(u["overdue"], u["returned"], u["oldest_due"]) for u in values["units"]} == {
        ("2", "0", "07/02/2024")
    }
    one_more = [i for i in items if i.unit in listed or i.unit == items[-1].unit]
    assert context(INFO, one_more, day=MONDAY, calendar=CALENDAR)["grouped"]
    (alone,) = context(INFO, named[:2], day=MONDAY, calendar=CALENDAR)["units"]
    assert context(INFO, named[:2], day=MONDAY, calendar=CALENDAR)["recipient"] == alone["name"]


def test_the_appendix_writes_unit_names_and_titles_as_text_never_a_formula() -> None:
    """A register name or a requirement title starting with =, +, - or @ (OWASP's CSV
    injection prefixes) is shown as written, not run when the appendix is opened."""
    typed = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,2)", "-2+3", "@SUM(1)"]
    items = [
        item._replace(unit_name=typed[n % 4], title=typed[(n + 1) % 4])
        for n, item in enumerate(_items("42"))
    ]
    rendered = renderer(CALENDAR)(Letter(Recipient("ubnd@hatinh.example", "UBND"), items), MONDAY)
    sheet = openpyxl.load_workbook(io.BytesIO(rendered.attachments[1].content))["Phụ lục"]
    cells = [cell for row in sheet.iter_rows(min_row=6) for cell in (row[2], row[4])]
    assert {cell.value for cell in cells} == set(typed)
    assert {cell.data_type for cell in cells} == {"s"}


def _flat(units: int, per_unit: int = 1) -> list[Item]:
    """`units` communes right under the province (each its own body above late units, as a
    national register's 100,021 communes under one issuer were), `per_unit` overdue monthly
    reports each."""
    register = {"42": SimpleNamespace(name="Ủy ban nhân dân tỉnh Hà Tĩnh", parent_code=None)}
    for n in range(units):
        register[f"C{n}"] = SimpleNamespace(name=f"Xã Số {n:05d}", parent_code="42")
    group = grouper(register)
    state = State("open", 1, None, None, None, None, None, None, None, None, "0" * 64)
    months = [f"{2016 + m // 12}-{m % 12 + 1:02d}" for m in range(per_unit)]
    return [
        Item(
            obligation_id=n * per_unit + m,
            directive=INFO.code,
            subject=INFO.subject,
            requirement="thang",
            title="Báo cáo tháng",
            unit=f"C{n}",
            unit_name=register[f"C{n}"].name,
            period=period,
            effective_due=date(2024, 2, 7),
            step=URGE,
            reason=None,
            state=state,
            info=INFO,
            group=group(f"C{n}", "42"),
            holder=Group(f"C{n}", register[f"C{n}"].name),
        )
        for n in range(units)
        for m, period in enumerate(months)
    ]


def test_a_letter_and_its_dispatch_list_no_more_bodies_than_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """3,000 communes right under the issuer are 3,000 bodies: the letter and the monthly
    summary name the first 20 (the cap, set small here) and count the 2,980 others in one row,
    the dispatch its first DISPATCH_ROWS - 1 and the others in its last row, and the appendix
    lists every one."""
    monkeypatch.setattr(dispatch, "MAX_LISTED_GROUPS", 20)
    items = _flat(3_000)
    rendered = renderer(CALENDAR)(Letter(Recipient("ubnd@hatinh.example", "UBND"), items), MONDAY)
    word, appendix = rendered.attachments
    others = "2.980 đơn vị khác, có tên tại Phụ lục"
    beyond = "2.973 đơn vị khác, có tên tại Phụ lục"  # 3,000 less the 27 named

    document = docx.Document(io.BytesIO(word.content))
    text = [p.text for p in document.paragraphs if p.text.strip()]
    assert text[0] == f"Kính gửi: {LISTED_BELOW}."
    _, rows, _ = document.tables
    listed = [[c.text for c in r.cells] for r in rows.rows]
    assert len(listed) == 1 + DISPATCH_ROWS
    assert listed[-1] == [str(DISPATCH_ROWS), beyond, "2.973", "2.973", "07/02/2024"]

    sheet = openpyxl.load_workbook(io.BytesIO(appendix.content))["Phụ lục"]
    assert len(list(sheet.iter_rows(values_only=True))) == 5 + 3_000

    # the letter's section names 20; in HTML also the dispatch shown, with its 27
    named = DISPATCH_ROWS - 1
    assert (rendered.text.count("Xã Số "), rendered.html.count("Xã Số ")) == (20, 20 + named)
    assert others in rendered.text and others in rendered.html and beyond in rendered.html
    assert len(rendered.html) < 40_000

    summary = Summary(INFO, [], items, [])
    monthly = summary_renderer(CALENDAR)(summary, Recipient("ubnd@hatinh.example", "UBND"), MONDAY)
    assert monthly.text.count("Xã Số ") == named and beyond in monthly.text


def test_a_few_units_with_many_items_are_counted_not_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three units with 40 overdue reports each: more items than the cap (set to 100 here), so
    the letter counts them per body, the dispatch names the three with their counts, and the
    appendix lists the items."""
    monkeypatch.setattr(dispatch, "MAX_LISTED_ITEMS", 100)
    items = _flat(3, per_unit=40)
    values = context(INFO, items, day=MONDAY, calendar=CALENDAR)
    assert not values["grouped"] and [u["overdue"] for u in values["units"]] == ["40"] * 3
    rendered = renderer(CALENDAR)(Letter(Recipient("ubnd@hatinh.example", "UBND"), items), MONDAY)
    assert [a.content_type for a in rendered.attachments] == [DOCX, XLSX]
    assert "Tháng" not in rendered.text and "Tháng" not in rendered.html

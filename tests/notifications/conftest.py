"""Consolidations and matrices built by hand, as the consolidation queries would return them:
the seed district's requirement 1c (the 21 communes and towns of
`directives/units/cam-xuyen-2024.csv`), period Quý I/2024 as of 20/03/2024, with a realistic
mix of statuses; its matrix over the requirement's seven periods as of 12/09/2024; and a
nation-sized version of each, grouped under the bodies above the units."""

from __future__ import annotations

import csv
from datetime import date

from models.rules.consolidation import (
    Consolidation,
    FigureTotal,
    Matrix,
    MatrixRow,
    Office,
    PeriodInfo,
    Rate,
    TargetCount,
    UnitReport,
)
from models.rules.vietnamese import sorted_vi
from tests.conftest import ROOT

DISTRICT = "Ủy ban nhân dân huyện Cẩm Xuyên"
ISSUER = Office("446", DISTRICT)
LEAD = Office("446-VHTT", "Phòng Văn hóa - Thông tin huyện Cẩm Xuyên")
TITLE = "Báo cáo kết quả công tác tuyên truyền CCHC (quý, 6 tháng, năm)"
FIGURES = (
    ("training_classes", "Số lớp tập huấn", "lớp"),
    ("seminars", "Số buổi tọa đàm", "buổi"),
    ("news_items", "Số tin, bài", "tin/bài"),
    ("leaflets", "Số tờ rơi", "tờ"),
    ("documents", "Số tài liệu tuyên truyền", "tài liệu"),
    ("other_forms", "Số hình thức tuyên truyền khác", None),
)
TARGET = "ít nhất 1"  # of training_classes, for the test's sake (the seed sets none)
PERIODS = [
    PeriodInfo("2024-Q1", "Quý I/2024", date(2023, 12, 15), date(2024, 3, 14), date(2024, 3, 15)),
    PeriodInfo("2024-Q2", "Quý II/2024", date(2024, 3, 15), date(2024, 6, 14), date(2024, 6, 17)),
    PeriodInfo(
        "2024-H1", "6 tháng đầu năm 2024", date(2023, 12, 15), date(2024, 6, 14), date(2024, 6, 17)
    ),
    PeriodInfo("2024-Q3", "Quý III/2024", date(2024, 6, 15), date(2024, 9, 14), date(2024, 9, 16)),
    PeriodInfo("2024-Q4", "Quý IV/2024", date(2024, 9, 15), date(2024, 12, 14), date(2024, 12, 16)),
    PeriodInfo(
        "2024-H2",
        "6 tháng cuối năm 2024",
        date(2024, 6, 15),
        date(2024, 12, 14),
        date(2024, 12, 16),
    ),
    PeriodInfo("2024", "Năm 2024", date(2023, 12, 15), date(2024, 12, 14), date(2024, 12, 16)),
]
Q1 = PERIODS[0]
# Quý I/2024 as of 20/03/2024, by commune code: (status, handed in, on time).
Q1_STATUS: dict[str, tuple[str, date | None, bool | None]] = {
    "18673": ("accepted", date(2024, 3, 8), True),
    "18676": ("accepted", date(2024, 3, 11), True),
    "18679": ("accepted", date(2024, 3, 12), True),
    "18682": ("accepted_late", date(2024, 3, 18), False),
    "18694": ("accepted", date(2024, 3, 13), True),
    "18697": ("accepted", date(2024, 3, 14), True),
    "18706": ("waived", None, None),
    "18709": ("accepted", date(2024, 3, 14), True),
    "18712": ("accepted_late", date(2024, 3, 19), False),
    "18715": ("submitted", date(2024, 3, 15), True),
    "18721": ("overdue", None, None),
    "18724": ("accepted", date(2024, 3, 15), True),
    "18727": ("accepted", date(2024, 3, 15), True),
    "18730": ("returned", date(2024, 3, 12), None),
    "18733": ("accepted", date(2024, 3, 13), True),
    "18736": ("submitted", date(2024, 3, 19), False),
    "18739": ("overdue", None, None),
    "18742": ("accepted", date(2024, 3, 15), True),
    "18745": ("accepted_late", date(2024, 3, 18), False),
    "18748": ("overdue", None, None),
    "18751": ("accepted", date(2024, 3, 15), True),
}
# Accepted, but no training class: the target missed.
NO_TRAINING = {"18697", "18712"}
HOSTILE = "Phối hợp Đoàn xã & Hội LHPN: tuyên truyền <dịch vụ công trực tuyến> qua Zalo."


def communes() -> list[tuple[str, str]]:
    """The seed district's communes and towns, (code, name), in Vietnamese order."""
    with (ROOT / "directives" / "units" / "cam-xuyen-2024.csv").open(encoding="utf-8") as f:
        rows = [
            (r["code"], r["name"]) for r in csv.DictReader(f) if r["kind"] in ("xa", "thi_tran")
        ]
    return sorted_vi(rows, key=lambda r: r[1])


def _figures(n: int, code: str) -> dict[str, float | str | None]:
    return {
        "training_classes": 0 if code in NO_TRAINING else n % 3 + 1,
        "seminars": n % 2,
        "news_items": 8 + n,
        "leaflets": 100 * (n % 4 + 1),
        "documents": n % 3,
        "other_forms": 1,
    }


def _unit(n: int, code: str, name: str, parent: str, status: tuple[str, date | None, bool | None]):
    stored, handed_in, on_time = status
    accepted = stored in ("accepted", "accepted_late")
    narrative = None
    if accepted:
        narrative = (
            HOSTILE
            if code == "18712"
            else (
                f"Quý I/2024 {name} tổ chức tuyên truyền CCHC trên hệ thống truyền thanh cơ sở, "
                "Trang TTĐT và các hội nghị ở thôn, tổ dân phố."
            )
        )
    return UnitReport(
        code=code,
        name=name,
        status=stored,
        handed_in=handed_in,
        on_time=on_time,
        figures=_figures(n, code) if accepted else {},
        narrative=narrative,
        evidence=f"https://camxuyen.example/cchc/{code}-2024-q1.pdf" if accepted else None,
        missed=("training_classes",) if accepted and code in NO_TRAINING else (),
        parent=parent,
    )


def _consolidation(units: list[UnitReport]) -> Consolidation:
    accepted = [u for u in units if u.status in ("accepted", "accepted_late")]
    reported = [u for u in units if u.status in ("submitted", "accepted", "accepted_late")]
    waived = sum(u.status == "waived" for u in units)
    totals = [
        FigureTotal(
            key=key,
            label=label,
            unit=unit,
            total=float(sum(float(u.figures[key] or 0) for u in accepted)),
            count=len(accepted),
            target=TARGET if key == "training_classes" else None,
        )
        for key, label, unit in FIGURES
    ]
    met = sum(not u.missed for u in accepted)
    return Consolidation(
        directive="cam-xuyen-cchc-2024",
        subject="V/v tập trung triển khai Kế hoạch tuyên truyền CCHC năm 2024",
        document="Công văn số …/UBND-VHTT tháng 02/2024",
        issued_by=DISTRICT,
        issuer=ISSUER,
        lead=LEAD,
        above=ISSUER,
        requirement="1c",
        title=TITLE,
        period=Q1,
        as_of=date(2024, 3, 20),
        rate=Rate(
            requirement="1c",
            period=Q1.key,
            group="",
            expected=len(units) - waived,
            reported=len(reported),
            on_time=sum(u.on_time is True for u in reported),
            waived=waived,
            overdue=sum(u.status == "overdue" for u in units),
        ),
        totals=totals,
        units=units,
        targets=[TargetCount("1c", Q1.key, "", "training_classes", TARGET, len(accepted), met)],
    )


def seed_consolidation() -> Consolidation:
    """Quý I/2024 of requirement 1c in the seed district, as of 20/03/2024."""
    return _consolidation(
        [
            _unit(n, code, name, DISTRICT, Q1_STATUS[code])
            for n, (code, name) in enumerate(communes())
        ]
    )


# Districts of a nation-sized report, listed out of Vietnamese order.
DISTRICTS = ("Ủy ban nhân dân huyện Đức Thọ", DISTRICT, "Ủy ban nhân dân huyện Ân Thi")


def national_consolidation() -> Consolidation:
    """Sixty-three communes under three districts: more than a document can list."""
    statuses = list(Q1_STATUS.values())
    units = [
        _unit(n, f"{d}{code}", name, district, statuses[n])
        for d, district in enumerate(DISTRICTS)
        for n, (code, name) in enumerate(communes())
    ]
    return _consolidation(sorted_vi(units, key=lambda u: u.name))


# The seed district's matrix as of 12/09/2024, by commune code: one cell per period of PERIODS
# (Q1, Q2, H1, Q3, Q4, H2, year). Quý IV has not started: nobody owes it yet. Xã Cẩm Quan
# handed its later periods over on a merger.
MATRIX_CELLS: dict[str, tuple[str | None, ...]] = {
    "18673": ("accepted", "accepted", "accepted", "submitted", None, "open", "open"),
    "18676": ("accepted", "accepted", "accepted", "due_soon", None, "open", "open"),
    "18679": ("accepted", "accepted", "accepted", "accepted", None, "open", "open"),
    "18682": ("accepted_late", "accepted_late", "accepted_late", "due_soon", None, "open", "open"),
    "18694": ("accepted", "accepted", "accepted", "due_soon", None, "open", "open"),
    "18697": ("accepted", "accepted", "accepted", "submitted", None, "open", "open"),
    "18706": ("waived", "accepted", "accepted", "due_soon", None, "open", "open"),
    "18709": ("accepted", "accepted", "accepted", "due_soon", None, "open", "open"),
    "18712": ("accepted_late", "accepted", "accepted", "due_soon", None, "open", "open"),
    "18715": ("accepted", "accepted", "accepted", "accepted", None, "open", "open"),
    "18721": ("overdue", "overdue", "overdue", "due_soon", None, "open", "open"),
    "18724": (
        "accepted",
        "accepted",
        "accepted",
        "transferred",
        None,
        "transferred",
        "transferred",
    ),
    "18727": ("accepted", "accepted", "accepted", "due_soon", None, "open", "open"),
    "18730": ("accepted_late", "accepted", "accepted", "due_soon", None, "open", "open"),
    "18733": ("accepted", "accepted", "accepted", "submitted", None, "open", "open"),
    "18736": ("accepted_late", "returned", "returned", "due_soon", None, "open", "open"),
    "18739": ("accepted_late", "accepted_late", "accepted", "due_soon", None, "open", "open"),
    "18742": ("accepted", "accepted", "accepted", "due_soon", None, "open", "open"),
    "18745": ("accepted_late", "submitted", "submitted", "due_soon", None, "open", "open"),
    "18748": ("overdue", "overdue", "accepted_late", "due_soon", None, "open", "open"),
    "18751": ("accepted", "accepted", "accepted", "due_soon", None, "open", "open"),
}


def seed_matrix() -> Matrix:
    """Requirement 1c of the seed district over its seven periods of 2024, as of 12/09/2024."""
    return Matrix(
        directive="cam-xuyen-cchc-2024",
        requirement="1c",
        title=TITLE,
        as_of=date(2024, 9, 12),
        periods=PERIODS,
        rows=[MatrixRow(code, name, DISTRICT, MATRIX_CELLS[code]) for code, name in communes()],
    )


def national_matrix(parents: int = 24) -> Matrix:
    """`parents` districts of the seed district's 21 communes each (504 rows at 24), rows in
    Vietnamese order of the communes' names as the contract has them, so a district's rows are
    scattered; the first district was closed, its obligations with it."""
    seed = seed_matrix()
    rows = [
        MatrixRow(
            f"{p:02d}{row.code}",
            row.name,
            f"Ủy ban nhân dân huyện số {p + 1:02d}",
            tuple("closed" if p == 0 and c else c for c in row.cells),
        )
        for row in seed.rows
        for p in range(parents)
    ]
    return Matrix(seed.directive, seed.requirement, seed.title, seed.as_of, seed.periods, rows)

"""What the commands check before their use case: the settings (with the default escalation
ladder's templates), the day they are given and an obligation id."""

from __future__ import annotations

from datetime import date

from models.errors import InputError
from models.rules.ladder import check_templates, template_references
from models.rules.workdays import local_date as local_date
from notifications.steps import step_templates
from services.settings import Settings
from services.settings import load_settings as load_environment

# Obligation ids are the `obligation` table's Integer key: int4 on PostgreSQL. SQLite would
# hold larger ones, but the two backends must answer the same ids the same way.
MAX_ID = 2**31 - 1


def load_settings() -> Settings:
    """The settings from the environment, with the templates of the default escalation
    ladder (DONDOC_ESCALATION) checked against the message templates that exist; an
    InputError naming the variable otherwise."""
    settings = load_environment()
    check_default_ladder(settings)
    return settings


def check_default_ladder(settings: Settings) -> None:
    """Refuse a default ladder step naming a message template that does not exist."""
    references = template_references(settings.escalation, "DONDOC_ESCALATION")
    check_templates(references, step_templates(), "environment")


def known_day(day: date, source: str, field: str) -> date:
    """`day`, if the working days around it are known: every command works out working days
    from the day it is given, and due-soon windows, due dates and escalation steps reach into
    the next year, so the calendar's last year is not a day's own. An InputError naming the
    field otherwise."""
    first_year, last_year = load_environment().package_days().years()
    if not first_year <= day.year < last_year:
        raise InputError(
            source,
            field,
            day.isoformat(),
            f"is outside the years whose working days are known ({first_year}–{last_year - 1}, "
            f"with {last_year} for what falls due after)",
            vi=f"Ngày {day:%d/%m/%Y} nằm ngoài các năm đã có lịch ngày làm việc "
            f"({first_year}–{last_year - 1}).",
        )
    return day


def obligation_number(value: int, source: str, field: str) -> int:
    """An obligation id within the range either database holds; an InputError otherwise."""
    if not 1 <= value <= MAX_ID:
        raise InputError(
            source,
            field,
            value,
            f"is not an obligation id (ids run from 1 to {MAX_ID})",
            vi=f"«{value}» không phải mã nghĩa vụ.",
        )
    return value

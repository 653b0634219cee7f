"""What an insights reading is narrowed by, parsed once for the API and the page.

Days are the city's: `from` and `to` name whole local days, turned into a
UTC range [start, end). Without `from`, a reading covers the DEFAULT_WEEKS
before `to` (or today), so a city's years of posts are not summed by default.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.errors import Invalid, NotFound
from civicpost.models import Department, User
from civicpost.platforms.registry import SPECS
from civicpost.schemas import horizon

DEFAULT_WEEKS = 26
EARLIEST = date(1970, 1, 1)


@dataclass(frozen=True)
class Filters:
    department_ids: tuple[int, ...] | None  # None: every department (the reader may see them all)
    platform: str | None
    first_day: date
    last_day: date
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    department: Department | None = None  # the one asked for, if any


def visible_departments(session: Session, user: User) -> list[Department]:
    """Whose posts `user` may read: every department for approvers and admins, else their own."""
    if user.can_approve:
        return list(session.scalars(select(Department).order_by(Department.name)))
    return sorted(user.departments, key=lambda d: d.name)


def _day(value: str | None, field: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value) if value.isascii() and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise Invalid(f"the '{field}' date '{value[:40]}' is not a date; use the form 2026-03-08",
                      errors=[{"field": field, "message": "not a date"}])
    if not EARLIEST <= day <= horizon():
        raise Invalid(f"the '{field}' date must be between 1970-01-01 and {horizon():%Y-%m-%d}",
                      errors=[{"field": field, "message": "out of range"}])
    return day


def _platform(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if value not in SPECS:
        raise Invalid(f"'{value[:40]}' is not a platform civicpost knows; choose one of {', '.join(SPECS)}",
                      errors=[{"field": "platform", "message": "unknown platform"}])
    return value


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def read(
    session: Session, *, user: User, zone: ZoneInfo, department: str | None = None, platform: str | None = None,
    first: str | None = None, last: str | None = None, today: date | None = None,
) -> Filters:
    """The filters as asked; a department the reader may not see answers as one that does not exist."""
    slug = (department or "").strip()
    chosen: Department | None = None
    if slug:
        chosen = next((d for d in visible_departments(session, user) if d.slug == slug), None)
        if chosen is None:
            raise NotFound(f"no department with slug '{slug[:63]}'")
        department_ids: tuple[int, ...] | None = (chosen.id,)
    elif user.can_approve:
        department_ids = None
    else:
        department_ids = tuple(d.id for d in user.departments)
    first_day, last_day = _day(first, "from"), _day(last, "to")
    last_day = last_day or today or datetime.now(zone).date()
    first_day = first_day or last_day - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    if last_day < first_day:
        raise Invalid("the 'to' date is before the 'from' date; swap them or change one",
                      errors=[{"field": "to", "message": "before from"}])
    return Filters(
        department_ids=department_ids, platform=_platform(platform), first_day=first_day, last_day=last_day,
        start=_midnight(first_day, zone), end=_midnight(last_day + timedelta(days=1), zone), department=chosen,
    )

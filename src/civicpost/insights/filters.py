"""What an insights reading is narrowed by, parsed once for the API and the page.

Days are the city's: `from` and `to` name whole local days, turned into a
UTC range [start, end). Without `from`, a reading covers the DEFAULT_WEEKS
before `to` (or today), so a city's years of posts are not summed by default.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.days import day_param, local_midnight
from civicpost.errors import Invalid, NotFound
from civicpost.models import Department, User
from civicpost.platforms.registry import SPECS

DEFAULT_WEEKS = 26


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



def _platform(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if value not in SPECS:
        raise Invalid(f"'{value[:40]}' is not a platform civicpost knows; choose one of {', '.join(SPECS)}",
                      errors=[{"field": "platform", "message": "unknown platform"}])
    return value



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
    first_day, last_day = day_param(first, "from"), day_param(last, "to")
    last_day = last_day or today or datetime.now(zone).date()
    first_day = first_day or last_day - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    if last_day < first_day:
        raise Invalid("the 'to' date is before the 'from' date; swap them or change one",
                      errors=[{"field": "to", "message": "before from"}])
    return Filters(
        department_ids=department_ids, platform=_platform(platform), first_day=first_day, last_day=last_day,
        start=local_midnight(first_day, zone), end=local_midnight(last_day + timedelta(days=1), zone),
        department=chosen,
    )

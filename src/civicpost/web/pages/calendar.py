"""The publishing calendar: what goes out when, by day in the city's time zone."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.errors import Invalid
from civicpost.models import Announcement, Delivery, DeliveryStatus, State, User
from civicpost.schemas import horizon
from civicpost.web.dates import clock_words, day_words
from civicpost.web.deps import SessionDep, SettingsDep
from civicpost.web.pages.calendar_grid import FIRST_HOUR, LAST_HOUR, rows
from civicpost.web.pages.common import StaffUser, render

router = APIRouter(prefix="/staff", include_in_schema=False)

SHOWN = (State.scheduled, State.publishing, State.published)
# calendar.css defines .cal-dept-0 … .cal-dept-7; a department keeps its colour for good.
PALETTE_SIZE = 8
# An announcement published "as soon as approved" may go out a while after the
# approval (retries, a paused channel); look this far back for its approval.
LATE_PUBLISHING = timedelta(days=7)
MAX_ITEMS = 2000
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class Entry:
    id: int
    title: str
    state: str
    emergency: bool
    department: str
    colour: str
    at: datetime  # local
    movable: bool = False  # the person may move it to another time (scheduled, and theirs to edit)

    @property
    def twice(self) -> bool:
        """Its wall-clock time happens twice (the autumn DST hour): the page adds the zone's abbreviation."""
        return self.at.replace(fold=1 - self.at.fold).utcoffset() != self.at.utcoffset()


@dataclass
class Day:
    day: date
    today: bool
    in_range: bool
    entries: list[Entry] = field(default_factory=list)


def colour_class(department_id: int) -> str:
    return f"cal-dept-{department_id % PALETTE_SIZE}"


def parse_day(value: str | None, today: date) -> date:
    if not value:
        return today
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"'{value}' is not a date; use the form 2026-03-08") from None
    # Nothing is scheduled beyond the horizon, and the calendar's own edges overflow.
    if not date(1970, 1, 1) <= day <= horizon():
        raise Invalid(f"the calendar shows dates from 1970 to {horizon():%Y-%m-%d}; choose one between them")
    return day


def grid(view: str, anchor: date) -> tuple[date, date]:
    """First and last day shown: a Monday-to-Sunday week, or the weeks covering a month."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6)
    start = anchor.replace(day=1)
    end = next_month(start) - timedelta(days=1)
    return start - timedelta(days=start.weekday()), end + timedelta(days=6 - end.weekday())


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    # Midnight local, turned into UTC: a DST day is 23 or 25 hours long.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def entries(session: Session, *, user: User, first: date, last: date, zone: ZoneInfo) -> list[Entry]:
    start, end = local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)
    query = select(Announcement).where(
        Announcement.state.in_(SHOWN),
        or_(
            and_(Announcement.publish_at >= start, Announcement.publish_at < end),
            and_(
                Announcement.publish_at.is_(None),
                Announcement.approved_at >= start - LATE_PUBLISHING,
                Announcement.approved_at < end,
            ),
        ),
    )
    if not user.can_approve:
        query = query.where(Announcement.department_id.in_([d.id for d in user.departments]))
    rows = session.scalars(query.order_by(Announcement.id).limit(MAX_ITEMS)).all()
    unscheduled = [a.id for a in rows if a.publish_at is None]
    went_out = dict(
        session.execute(
            select(Delivery.announcement_id, func.min(Delivery.published_at))
            .where(Delivery.announcement_id.in_(unscheduled), Delivery.status == DeliveryStatus.published)
            .group_by(Delivery.announcement_id)
        ).all()
    ) if unscheduled else {}
    found = []
    for a in rows:
        instant = a.publish_at or went_out.get(a.id) or a.approved_at or a.updated_at
        if start <= instant < end:
            movable = a.state == State.scheduled and (user.can_approve or a.author_id == user.id)
            found.append(Entry(a.id, a.title, a.state, a.emergency, a.department.name,
                               colour_class(a.department_id), instant.astimezone(zone), movable))
    return sorted(found, key=lambda e: (e.at, e.id))


def days(first: date, last: date, *, today: date, entries: list[Entry], month: int | None) -> list[Day]:
    by_day: dict[date, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_day[entry.at.date()].append(entry)
    result, day = [], first
    while day <= last:
        result.append(Day(day, day == today, month is None or day.month == month, by_day.get(day, [])))
        day += timedelta(days=1)
    return result


def calendar_url(view: str, day: date | None = None, *, all_hours: bool = False) -> str:
    return (f"/staff/calendar?view={view}" + (f"&date={day.isoformat()}" if day else "")
            + ("&hours=all" if all_hours and view == "week" else ""))


@router.get("/calendar", response_class=HTMLResponse)
def calendar(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: StaffUser,
    view: Annotated[str, Query(max_length=8)] = "week",
    day: Annotated[str | None, Query(alias="date", max_length=32)] = None,
    hours: Annotated[str | None, Query(max_length=8)] = None,
) -> HTMLResponse:
    if view not in ("week", "month"):
        raise Invalid("the calendar shows a 'week' or a 'month'")
    if hours not in (None, "", "all"):
        raise Invalid("the week shows 'all' hours, or 6:00 to 22:00 when hours is left out")
    all_hours = hours == "all"
    zone = settings.zone
    now = utcnow().astimezone(zone)
    today = now.date()
    anchor = parse_day(day, today)
    first, last = grid(view, anchor)
    found = entries(session, user=user, first=first, last=last, zone=zone)
    shown = days(first, last, today=today, entries=found, month=anchor.month if view == "month" else None)
    if view == "week":
        earlier, later = anchor - timedelta(days=7), anchor + timedelta(days=7)
        heading = f"Week of {day_words(first)} to {day_words(last)}"
    else:
        earlier, later = previous_month(anchor), next_month(anchor)
        heading = f"{anchor:%B %Y}"
    legend = sorted({(e.department, e.colour) for e in found})
    context = {
        "active": "calendar",
        "view": view,
        "heading": heading,
        "days": shown,
        "weeks": [shown[i:i + 7] for i in range(0, len(shown), 7)],
        "rows": rows(shown, zone=zone, now=now, all_hours=all_hours) if view == "week" else [],
        "all_hours": all_hours,
        "hours_from": clock_words(datetime.combine(anchor, time(FIRST_HOUR))),
        "hours_until": clock_words(datetime.combine(anchor, time(LAST_HOUR + 1))),
        "weekdays": WEEKDAYS,
        "legend": legend,
        "count": len(found),
        "zone_name": settings.timezone,
        "anchor": anchor,
        "links": {
            "previous": calendar_url(view, earlier, all_hours=all_hours),
            "next": calendar_url(view, later, all_hours=all_hours),
            "today": calendar_url(view, all_hours=all_hours),
            "all_hours": calendar_url("week", anchor, all_hours=True),
            "day_hours": calendar_url("week", anchor),
            "week": calendar_url("week", anchor),
            "month": calendar_url("month", anchor),
        },
    }
    return render(request, "staff/calendar.html", context, user=user)

"""Moving an announcement to another publish time, from the calendar: a form
(the keyboard's way, and where a drag on the calendar lands), which says
before anything changes when the move sends an approved announcement back
for approval."""

import re
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from civicpost.drafting import access, workflow
from civicpost.errors import Conflict, Invalid, ServiceError
from civicpost.models import Announcement, State, User
from civicpost.schemas import AnnouncementPatch
from civicpost.web.dates import human
from civicpost.web.deps import SessionDep
from civicpost.web.pages._draft_time import LOCAL_FORMAT, from_local_input, to_local_input
from civicpost.web.pages.common import Csrf, StaffUser, flash, redirect, render, sentence

router = APIRouter(prefix="/staff", include_in_schema=False)


def movable(session: Session, user: User, announcement_id: int) -> Announcement:
    announcement = access.get(session, announcement_id)
    access.ensure_can_edit(user, announcement)
    if announcement.state not in workflow.EDITABLE:
        raise Conflict(f"“{announcement.title}” is {announcement.state} and can no longer be moved; "
                       "retract it and write a new one if its time was wrong")
    return announcement


def page(request: Request, user: User, announcement: Announcement, *, value: str,
         errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    zone = request.app.state.settings.zone
    context: dict[str, Any] = {
        "a": announcement,
        "value": value,
        "errors": errors or {},
        "zone_name": zone.key,
        "current": human(announcement.publish_at, zone) if announcement.publish_at else None,
        "approved": announcement.state == State.scheduled,
        "back": "/staff/calendar?view=week" + (
            f"&date={announcement.publish_at.astimezone(zone).date().isoformat()}" if announcement.publish_at else ""),
    }
    return render(request, "staff/reschedule.html", context, user=user, status_code=status_code)


@router.get("/announcements/{announcement_id:id}/reschedule", response_class=HTMLResponse)
def reschedule_form(
    announcement_id: int, request: Request, session: SessionDep, user: StaffUser,
    day: Annotated[str | None, Query(alias="date", max_length=32)] = None,
    hour: Annotated[str | None, Query(max_length=8)] = None,
) -> HTMLResponse:
    """`date` and `hour` (from a drop on the calendar) change the day and the hour and keep the minutes."""
    announcement = movable(session, user, announcement_id)
    value = to_local_input(announcement.publish_at, request.app.state.settings.zone)
    return page(request, user, announcement, value=dropped_at(value, day, parse_hour(hour)))


def parse_hour(value: str | None) -> int | None:
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{1,2}", value) or int(value) > 23:
        raise Invalid(f"'{value}' is not an hour of the day; use a whole number from 0 to 23")
    return int(value)


def dropped_at(value: str, day: str | None, hour: int | None) -> str:
    """The form's value after a drop; a day that is not a date is ignored."""
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        chosen = None
    current = datetime.strptime(value, LOCAL_FORMAT) if value else None
    new_day = chosen or (current.date() if current else None)
    if new_day is None or (chosen is None and hour is None):
        return value
    clock = current.time() if current else time(9)
    return datetime.combine(new_day, clock.replace(hour=hour) if hour is not None else clock).strftime(LOCAL_FORMAT)


@router.post("/announcements/{announcement_id:id}/reschedule", dependencies=[Csrf])
def reschedule(
    announcement_id: int, request: Request, session: SessionDep, user: StaffUser,
    publish_at: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    announcement = movable(session, user, announcement_id)
    zone = request.app.state.settings.zone
    chosen = from_local_input(publish_at, zone)
    if chosen.error or chosen.instant is None:
        error = chosen.error or "Enter the new date and time, for example 2026-12-01 09:00."
        return page(request, user, announcement, value=publish_at, errors={"publish_at": error}, status_code=422)
    was_approved = announcement.state == State.scheduled
    try:
        with session.begin_nested():
            workflow.edit(session, actor=user, announcement=announcement,
                          patch=AnnouncementPatch(publish_at=chosen.instant), zone=zone,
                          renderer=request.app.state.renderer)
    except ServiceError as exc:
        message = exc.errors[0]["message"] if exc.errors else exc.detail
        return page(request, user, announcement, value=publish_at,
                    errors={"publish_at": sentence(message)}, status_code=exc.status)
    said = f"Moved “{announcement.title}” to {human(chosen.instant, zone)}."
    if was_approved:
        said += " It was approved, so it is back in the approval queue and goes out only once approved again."
    if chosen.note:
        said += f" {chosen.note}"
    flash(request, said)
    local_day = chosen.instant.astimezone(zone).date()
    return redirect(f"/staff/calendar?view=week&date={local_day.isoformat()}")

"""The publishing calendar as a private iCalendar address (calendar_feed.py),
for the calendar app a person already uses; made and revoked on /staff/account."""

import hashlib
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from civicpost import calendar_feed
from civicpost.calendar_feed import Event
from civicpost.db import utcnow
from civicpost.errors import NotFound
from civicpost.web.deps import SessionDep, SettingsDep
from civicpost.web.pages.calendar import entries

router = APIRouter(prefix="/staff", include_in_schema=False)

STATES = {"scheduled": "scheduled", "publishing": "going out now", "published": "published"}


@router.get("/calendar.ics")
def feed(
    request: Request, session: SessionDep, settings: SettingsDep, key: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    user = calendar_feed.owner(session, key)
    if user is None:
        raise NotFound("there is no calendar at this address (it was replaced or stopped): "
                       "make a new address on your account page, /staff/account")
    now, zone = utcnow(), settings.zone
    start, end = calendar_feed.window(now)
    found = entries(session, user=user, first=start.astimezone(zone).date(), last=end.astimezone(zone).date(),
                    zone=zone)
    base = settings.base_url.rstrip("/")
    host = urlsplit(base).hostname or "civicpost"
    events = [
        Event(
            uid=f"announcement-{e.id}@{host}",
            at=e.at,
            summary=f"{'Emergency: ' if e.emergency else ''}{e.title} ({e.department})",
            description=f"{e.department}: {STATES.get(e.state, e.state)}. {base}/staff/announcements/{e.id}",
            url=f"{base}/staff/announcements/{e.id}",
            state=e.state,
        )
        for e in found
    ]
    body = calendar_feed.ics(events, name=f"{settings.city_name} publishing calendar", stamp=now)
    # DTSTAMP changes every time; the tag is of the events, so an unchanged calendar is a 304.
    digest = hashlib.sha256(repr([(e.uid, e.at, e.summary, e.state) for e in events]).encode()).hexdigest()
    tag = f'"{digest[:32]}"'
    headers = {"ETag": tag}  # never stored (web/headers.py: every /staff answer is no-store)
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={**headers, "Content-Disposition": 'inline; filename="publishing-calendar.ics"'})

"""CAP 1.2 alerts (SPEC §8.4): the staff's document under /api/v1, the public one and the feed of current alerts.

Served as application/cap+xml, the media type registered for CAP: an
aggregator can tell an alert from any XML, and the +xml suffix still lets
XML tools read it.
"""

from fastapi import APIRouter
from fastapi.responses import Response

from civicpost import alerts
from civicpost.db import utcnow
from civicpost.drafting import access
from civicpost.errors import Conflict, NotFound
from civicpost.web.deps import CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.params import IdPath
from civicpost.web.shapes import ERRORS

CAP_TYPE = "application/cap+xml"

api_router = APIRouter(prefix="/api/v1", responses=ERRORS)
public_router = APIRouter(include_in_schema=False)


@api_router.get(
    "/announcements/{announcement_id}/cap.xml", response_class=Response,
    responses={200: {"content": {CAP_TYPE: {}}, "description": "the CAP 1.2 <alert>, valid against the schema"}},
)
@one_trip
def cap_document(announcement_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """The announcement's CAP 1.2 alert, also before it is published (`sent` is then the publish time, or now)."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    if announcement.alert is None:
        raise Conflict(f"announcement {announcement_id} has no alert details; add them with PATCH "
                       f"/api/v1/announcements/{announcement_id} {{\"alert\": {{...}}}} on an emergency")
    body = alerts.document(session, announcement, settings, now=utcnow())
    return Response(body, media_type=CAP_TYPE, headers={"Cache-Control": "private, no-store"})


@public_router.get("/alerts/{announcement_id:id}.xml")
def public_cap_document(announcement_id: int, session: SessionDep, settings: SettingsDep) -> Response:
    announcement = access.get(session, announcement_id)  # a missing one: 404
    if announcement.alert is None or not alerts.is_published(session, announcement):
        raise NotFound("there is no published alert at this address")
    body = alerts.document(session, announcement, settings, now=utcnow())
    # Short-lived in caches: an alert's status changes with it, and a retracted one must leave soon.
    return Response(body, media_type=CAP_TYPE, headers={"Cache-Control": "public, max-age=60"})


@public_router.get("/alerts.atom")
def alerts_feed(session: SessionDep, settings: SettingsDep) -> Response:
    """Current alerts (published, not expired), each linking to its CAP document and its page."""
    # Imported here: feedgen and lxml are 5 MB that a process serving only the API never needs.
    from feedgen.feed import FeedGenerator

    base = settings.base_url.rstrip("/")
    now = utcnow()
    generator = FeedGenerator()
    generator.id(f"{base}/alerts.atom")
    generator.title(f"{settings.city_name} emergency alerts")
    generator.link(href=f"{base}/", rel="alternate")
    generator.link(href=f"{base}/alerts.atom", rel="self")
    generator.language("en")
    generator.updated(now)
    for item in reversed(alerts.current(session, now=now)):  # feedgen prepends
        announcement = access.get(session, item.id)
        sent = alerts.first_published(session, announcement) or now
        entry = generator.add_entry()
        entry.id(f"{base}/alerts/{item.id}.xml")
        entry.title(f"{item.event}: {item.title}")
        entry.link(href=f"{base}/alerts/{item.id}.xml", rel="alternate", type=CAP_TYPE)
        entry.link(href=f"{base}/announcements/{item.id}", rel="related", type="text/html")
        entry.published(sent)
        entry.updated(sent)
        entry.author({"name": announcement.department.name})
        entry.summary(f"{item.severity} — {item.area_desc}. Until {item.expires.isoformat()}.")
    return Response(generator.atom_str(pretty=True), media_type="application/atom+xml",
                    headers={"Cache-Control": "public, max-age=60"})

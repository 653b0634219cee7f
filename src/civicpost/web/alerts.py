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
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS

CAP_TYPE = "application/cap+xml"
ATOM = "http://www.w3.org/2005/Atom"

api_router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)
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
    """Current alerts (published, not expired), each linking to its CAP document and its page.

    Written with lxml rather than feedgen: feedgen drops an entry link's `rel`
    and `type`, and two untyped links would both be `alternate`, which Atom forbids.
    """
    from lxml import etree

    base = settings.base_url.rstrip("/")
    now = utcnow()

    def add(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
        element.text = text
        return element

    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    add(feed, "id", f"{base}/alerts.atom")
    add(feed, "title", f"{settings.city_name} emergency alerts")
    add(feed, "updated", now.isoformat())
    add(feed, "link", href=f"{base}/alerts.atom", rel="self", type="application/atom+xml")
    add(feed, "link", href=f"{base}/", rel="alternate", type="text/html")
    for item in alerts.current(session, now=now):
        announcement = access.get(session, item.id)
        sent = (alerts.first_published(session, announcement) or now).isoformat()
        # The newest message of the alert that is out: an aggregator fetches the Update, which references the rest.
        newest = next((f for f in reversed(alerts.follow_ups(session, announcement))
                       if alerts.is_published(session, f)), announcement)
        entry = add(feed, "entry")
        add(entry, "id", f"{base}/alerts/{item.id}.xml")
        add(entry, "title", f"{item.event}: {item.title}")
        add(entry, "updated", alerts.sent(session, newest, now=now).isoformat())
        add(entry, "published", sent)
        add(add(entry, "author"), "name", announcement.department.name)
        add(entry, "link", href=f"{base}/alerts/{newest.id}.xml", rel="alternate", type=CAP_TYPE)
        if item.on_site:
            add(entry, "link", href=f"{base}/announcements/{item.id}", rel="related", type="text/html")
        until = item.expires.astimezone(settings.zone).isoformat()
        add(entry, "summary", f"{item.severity}: {item.area_desc}. Until {until}.")
    body = etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return Response(body, media_type="application/atom+xml", headers={"Cache-Control": "public, max-age=60"})

"""Topics and subscribers under /api/v1 (SPEC §8.7): counts for every staff member, addresses for admins."""

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from pydantic import Field, StringConstraints

from civicpost.errors import Invalid, NotFound, ServiceError
from civicpost.schemas import Name, Slug, Strict
from civicpost.subscribers import importing, roster, topics
from civicpost.subscribers.crypto import SubscriberBox
from civicpost.web.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000),
                        Field(description="what residents will hear about, up to 1000 characters")]


class TopicIn(Strict):
    slug: Slug
    name: Name
    description: Description = ""


class TopicOut(Shape):
    slug: str
    name: str
    description: str
    department: str | None = Field(description="the department's slug for a department's topic; null: an admin's")
    subscribers: int = Field(description="residents who chose it")
    confirmed: int = Field(description="of them, with a confirmed email address or number")


class TopicList(Shape):
    items: list[TopicOut]


class SubscriberOut(Shape):
    id: int
    email: str | None = Field(description="shown to admins only")
    phone: str | None = Field(description="shown to admins only")
    email_confirmed_at: Instant | None
    phone_confirmed_at: Instant | None
    sms_stopped: bool
    bounces: int
    topics: list[str]
    created_at: Instant


class SubscriberList(Shape):
    topic: str | None
    total: int = Field(description="subscribers (of the topic, if one is given)")
    confirmed: int
    items: list[SubscriberOut] | None = Field(description="admins only; null for everyone else")
    next_after: int | None = Field(description="pass as `after` for the next page; null: the last page")


class ImportOut(Shape):
    rows: int
    created: int
    updated: int
    confirmed: int


def subscriber_box(request: Request) -> SubscriberBox:
    return request.app.state.subscriber_box


@router.get("/topics", response_model=TopicList)
@one_trip
def list_topics(session: SessionDep, _: CurrentUser) -> TopicList:
    """Every topic with how many subscribe to it (counts only, for every staff member)."""
    return TopicList(items=[TopicOut(slug=c.topic.slug, name=c.topic.name, description=c.topic.description,
                                     department=c.department, subscribers=c.subscribers, confirmed=c.confirmed)
                            for c in topics.counts(session)])


@router.post("/topics", response_model=TopicOut, status_code=201)
@one_trip
def create_topic(body: TopicIn, session: SessionDep, admin: AdminUser) -> TopicOut:
    """A topic beyond the departments' own (admins): e.g. `snow`, `elections`."""
    topic = topics.create(session, actor=admin, slug=body.slug, name=body.name, description=body.description)
    return TopicOut(slug=topic.slug, name=topic.name, description=topic.description, department=None,
                    subscribers=0, confirmed=0)


@router.get("/subscribers", response_model=SubscriberList)
@one_trip
def list_subscribers(
    request: Request, session: SessionDep, caller: CurrentUser, settings: SettingsDep,
    topic: Annotated[str | None, Query(max_length=64, description="a topic's slug")] = None,
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="the last id of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> SubscriberList:
    """Subscribers, of one topic with `?topic=`: addresses and numbers for admins, counts for everyone else."""
    chosen = None
    if topic is not None:
        chosen = topics.by_slug(session, topic)
        if chosen is None:
            raise NotFound(f"no topic with slug '{topic[:64]}'; GET /api/v1/topics lists them")
    total, confirmed = roster.counts(session, topic=chosen)
    if not caller.is_admin:
        return SubscriberList(topic=topic, total=total, confirmed=confirmed, items=None, next_after=None)
    page = roster.page(session, subscriber_box(request), topic=chosen, after=after, limit=limit)
    zone = settings.zone
    items = [SubscriberOut(id=e.id, email=e.email, phone=e.phone,
                           email_confirmed_at=instant(e.email_confirmed_at, zone),
                           phone_confirmed_at=instant(e.phone_confirmed_at, zone), sms_stopped=e.sms_stopped,
                           bounces=e.bounces, topics=e.topics, created_at=instant(e.created_at, zone) or "")
             for e in page]
    return SubscriberList(topic=topic, total=total, confirmed=confirmed, items=items,
                          next_after=page[-1].id if len(page) == limit else None)


@router.post("/subscribers/import", response_model=ImportOut, status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {
                 "type": "string", "example": "email,phone,topics,consent_source,confirmed_at\n"
                                              "resident@example.org,,parks snow,paper form 2026-03,"
                                              "2026-03-01T09:00:00-05:00\n"}}}}})
@one_trip
def import_subscribers(request: Request, session: SessionDep, admin: AdminUser, settings: SettingsDep,
                       body: Annotated[bytes, Body(media_type="text/csv")]) -> ImportOut:
    """Residents who consented elsewhere (admins), as `text/csv` with the header
    `email,phone,topics,consent_source,confirmed_at`; topics are slugs separated by spaces; a row is confirmed
    only where `confirmed_at` is given. All or nothing: errors name each bad row by its line."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "text/csv":
        raise ServiceError.with_status(415, "send the file as text/csv (Content-Type: text/csv)")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the file is not UTF-8 text; save it as CSV UTF-8") from None
    if "\x00" in text:
        raise Invalid("the file holds NUL characters; it is not a CSV text file")
    box = subscriber_box(request)
    rows = importing.parse(session, box, text, phone_prefix=settings.subscribe_phone_prefix)
    outcome = importing.store(session, box, rows, actor=admin)
    return ImportOut(rows=outcome.rows, created=outcome.created, updated=outcome.updated, confirmed=outcome.confirmed)




"""Per-topic feeds (`/t/{slug}/feed.atom`, `feed.json`, `calendar.ics`) and `/embed/{slug}`, a list with
no JavaScript that the city's own website may show in a frame (CIVICPOST_EMBED_ANCESTORS)."""

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from civicpost import feed
from civicpost.db import utcnow
from civicpost.errors import NotFound
from civicpost.models import Topic
from civicpost.subscribers import feeds, topics
from civicpost.web.deps import SessionDep, SettingsDep
from civicpost.web.headers import POLICY
from civicpost.web.public import atom_response, json_feed_response

router = APIRouter(include_in_schema=False)

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
EMBED_ITEMS = 10


def _topic(session, slug: str) -> Topic:
    topic = topics.by_slug(session, slug) if _SLUG.fullmatch(slug) else None
    if topic is None:
        raise NotFound(f"there is no topic '{slug[:64]}'; the topics are listed at /subscribe")
    return topic


def _items(session, topic: Topic, limit: int = 50) -> list[feed.PublicItem]:
    return feed.latest(session, limit=limit, among=feeds.of_topic(session, topic))


@router.get("/t/{slug}/feed.atom")
def topic_atom(slug: str, session: SessionDep, settings: SettingsDep) -> Response:
    topic = _topic(session, slug)
    base = settings.base_url.rstrip("/")
    return atom_response(_items(session, topic), settings, title=f"{settings.city_name}: {topic.name}",
                         home=f"{base}/embed/{topic.slug}", self_url=f"{base}/t/{topic.slug}/feed.atom")


@router.get("/t/{slug}/feed.json")
def topic_json(slug: str, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    topic = _topic(session, slug)
    base = settings.base_url.rstrip("/")
    return json_feed_response(_items(session, topic), settings, title=f"{settings.city_name}: {topic.name}",
                              home=f"{base}/embed/{topic.slug}", self_url=f"{base}/t/{topic.slug}/feed.json")


@router.get("/t/{slug}/calendar.ics")
def topic_calendar(slug: str, session: SessionDep, settings: SettingsDep) -> Response:
    topic = _topic(session, slug)
    body = feeds.ics(_items(session, topic, limit=200), name=f"{settings.city_name}: {topic.name}",
                     base_url=settings.base_url, stamp=utcnow())
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/embed/{slug}", response_class=HTMLResponse)
def embed(slug: str, request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    topic = _topic(session, slug)
    items = _items(session, topic, limit=EMBED_ITEMS)
    response = request.app.state.pages.TemplateResponse(request, "public/embed.html", {"topic": topic,
                                                                                      "items": items})
    # Only this page may be framed, and only by the sites the city names; links open outside the frame.
    ancestors = settings.embed_ancestors.strip() or "'none'"
    response.headers["Content-Security-Policy"] = POLICY.replace("frame-ancestors 'none'",
                                                                 f"frame-ancestors {ancestors}")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response

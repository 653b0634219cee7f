"""Public pages and feeds: no sign-in (SPEC §5)."""

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy import select

from civicpost import alerts, feed, media_urls, uploads
from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.errors import NotFound
from civicpost.models import Media, User
from civicpost.web.deps import SessionDep, SettingsDep
from civicpost.web.pages.common import SignInRequired, staff_user

router = APIRouter(include_in_schema=False)


def _display(item: feed.PublicItem) -> dict:
    return {
        **item.__dict__,
        "summary": item.text if len(item.text) <= 280 else item.text[:277].rsplit(" ", 1)[0] + "…",
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    # Only alerts with a page here: one sent to social channels alone has its CAP document, not a page.
    current = [a for a in alerts.current(session, now=utcnow()) if a.on_site]
    alerting = {a.id for a in current}
    items = [_display(i) for i in feed.latest(session) if i.id not in alerting]
    # Kept (web/public_cache.py) until the first of these alerts expires, when it leaves the page.
    request.state.public_until = min((a.expires for a in current), default=None)
    return request.app.state.pages.TemplateResponse(request, "public/index.html",
                                                    {"items": items, "alerts": current})


@router.get("/announcements/{announcement_id:id}", response_class=HTMLResponse)
def announcement_page(
    announcement_id: int,
    request: Request,
    session: SessionDep,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    found = feed.one(session, announcement_id)
    if found is None:
        gone = feed.retracted(session, announcement_id)
        if gone is None:
            raise NotFound("there is no published announcement at this address")
        return request.app.state.pages.TemplateResponse(request, "public/retracted.html",
                                                        {"a": gone, "withdrawn": gone.notice_withdrawn_at is not None},
                                                        status_code=410)
    item, announcement = found
    wording = {announcement.language: (announcement.title, announcement.body)}
    wording.update({t.language: (t.title, t.body) for t in announcement.translations})
    chosen = lang if lang in wording else item.language if item.language in wording else announcement.language
    title, body = wording[chosen]
    media_rows = {m.id: m for m in session.scalars(select(Media).where(Media.id.in_([m["id"] for m in item.media])))}
    images = [
        {
            "id": m["id"],
            "alt_text": m.get("alt_text", ""),
            "width": media_rows[m["id"]].width,
            "height": media_rows[m["id"]].height,
        }
        for m in item.media
        if m["id"] in media_rows
    ]
    context = {
        "item": {**_display(item), "title": title},
        "lang": chosen,
        "paragraphs": [p.strip() for p in body.split("\n\n") if p.strip()],
        "languages": [(code, feed.LANGUAGE_NAMES.get(code, code)) for code in sorted(wording)],
        "images": images,
        "elsewhere": feed.elsewhere(session, announcement_id),
        **_alert_context(session, announcement),
    }
    if context["alert"] is not None and not context["alert_ended"]:
        request.state.public_until = context["alert"].expires  # its banner then says it has ended
    return request.app.state.pages.TemplateResponse(request, "public/announcement.html", context)


def _alert_context(session, announcement) -> dict:
    """The banner (newest details) and the timeline of an alert's follow-ups; a follow-up links to its alert."""
    if announcement.alert is None:
        return {"alert": None}
    if announcement.follows_id is not None:
        return {"alert": None, "follow_kind": announcement.follow_kind,
                "follows": announcement.follows_id if feed.on_site(session, announcement.follows_id) else None}
    shown = alerts.of(announcement, alerts.latest_details(session, announcement))
    timeline = []
    for follow_up in reversed(alerts.follow_ups(session, announcement)):
        if follow_up.state in alerts.ENDED_STATES or (at := alerts.first_published(session, follow_up)) is None:
            continue
        timeline.append({"id": follow_up.id, "kind": follow_up.follow_kind, "text": follow_up.body, "at": at,
                         "page": feed.on_site(session, follow_up.id)})
    ended_by = alerts.ended_by(session, announcement)
    return {"alert": shown, "alert_ended": ended_by is not None or shown.expires <= utcnow(),
            "ended_by": ended_by.follow_kind if ended_by else None, "timeline": timeline}


FAVICON = Path(__file__).parent / "static" / "favicon.svg"


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The pages link the SVG; this answers browsers and tools that ask the old address anyway."""
    return FileResponse(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


_MEDIA_ID = re.compile(r"[0-9a-f]{64}")


@router.get("/media/{media_id}")
def media_file(media_id: str, request: Request, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """An image of something published, for anyone; any other image only for
    its department's staff (and approvers and admins), signed in. Everyone
    else gets the same 404 as for an image that does not exist."""
    row = session.get(Media, media_id) if _MEDIA_ID.fullmatch(media_id) else None
    path = Path(settings.media_dir) / media_id
    if row is None or not path.is_file():
        raise NotFound("no such image")
    if uploads.is_public(session, row.id):
        # Short-lived in shared caches: a retracted announcement's images must leave them soon.
        cache = "public, max-age=300"
    elif (viewer := _signed_in(request, session)) is not None and uploads.staff_may_see(viewer, row):
        cache = "private, no-store"
    else:
        raise NotFound("no such image")
    return FileResponse(path, media_type=row.mime_type, headers={"Cache-Control": cache})


@router.get("/media/signed/{media_id}")
def signed_media_file(
    media_id: str, session: SessionDep, settings: SettingsDep, request: Request,
    expires: Annotated[str, Query(max_length=12)] = "", sig: Annotated[str, Query(max_length=128)] = "",
) -> FileResponse:
    """An image for a platform that fetches it itself (Instagram, Threads), by
    a signed address valid for minutes (civicpost.media_urls); else 404."""
    secret = request.app.state.box_key
    row = session.get(Media, media_id) if _MEDIA_ID.fullmatch(media_id) else None
    path = Path(settings.media_dir) / media_id
    if row is None or not path.is_file() or not media_urls.valid(secret, media_id, expires, sig):
        raise NotFound("no such image")
    return FileResponse(path, media_type=row.mime_type, headers={"Cache-Control": "private, no-store"})


def _signed_in(request: Request, session) -> User | None:
    """The staff member signed in on this browser, if any (no redirect: an image is not a page)."""
    try:
        return staff_user(request, session)
    except SignInRequired:
        return None


@router.get("/feed.atom")
def atom(session: SessionDep, settings: SettingsDep) -> Response:
    base = settings.base_url.rstrip("/")
    return atom_response(feed.latest(session), settings, title=f"{settings.city_name} announcements",
                         home=f"{base}/", self_url=f"{base}/feed.atom")


def atom_response(items: list[feed.PublicItem], settings: Settings, *, title: str, home: str,
                  self_url: str) -> Response:
    # Imported here: feedgen and lxml are 5 MB that a process serving only the API never needs.
    from feedgen.feed import FeedGenerator

    base = settings.base_url.rstrip("/")
    generator = FeedGenerator()
    generator.id(home)
    generator.title(title)
    generator.link(href=home, rel="alternate")
    generator.link(href=self_url, rel="self")
    generator.language("en")
    if items:
        generator.updated(items[0].published_at)
    for item in reversed(items):  # feedgen prepends
        entry = generator.add_entry()
        entry.id(f"{base}/announcements/{item.id}")
        entry.title(item.title)
        entry.link(href=f"{base}/announcements/{item.id}")
        entry.published(item.published_at)
        entry.updated(item.published_at)
        entry.author({"name": item.department})
        entry.content(item.html or item.text, type="html" if item.html else "text")
    return Response(generator.atom_str(pretty=True), media_type="application/atom+xml")


@router.get("/feed.json")
def json_feed(session: SessionDep, settings: SettingsDep) -> JSONResponse:
    base = settings.base_url.rstrip("/")
    return json_feed_response(feed.latest(session), settings, title=f"{settings.city_name} announcements",
                              home=f"{base}/", self_url=f"{base}/feed.json")


def json_feed_response(items: list[feed.PublicItem], settings: Settings, *, title: str, home: str,
                       self_url: str) -> JSONResponse:
    base = settings.base_url.rstrip("/")
    entries = [
        {
            "id": f"{base}/announcements/{item.id}",
            "url": f"{base}/announcements/{item.id}",
            "title": item.title,
            "content_html": item.html or None,
            "content_text": item.text,
            "date_published": item.published_at.isoformat(),
            "language": item.language,
            "authors": [{"name": item.department}],
            "tags": ["emergency"] if item.emergency else [],
            **({"external_url": item.link} if item.link else {}),
            # JSON Feed's extension form (an underscore): the event an announcement is about.
            **({"_event": {"start": item.event_start.isoformat(),
                           "end": item.event_end.isoformat() if item.event_end else None,
                           "location": item.location}} if item.event_start else {}),
        }
        for item in items
    ]
    body = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": home,
        "feed_url": self_url,
        "items": entries,
    }
    return JSONResponse(body, media_type="application/feed+json")

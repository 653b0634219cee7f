"""The city's own copy of every announcement: what the public site and its
Atom and JSON feeds show. An announcement is there once its feed delivery is
published, and leaves at once when it is retracted."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session, lazyload

from civicpost.links import http_url
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, Department, State
from civicpost.platforms import where

LANGUAGE_NAMES = {
    "en": "English", "es": "Español", "fr": "Français", "pt": "Português", "zh": "中文", "vi": "Tiếng Việt",
    "ar": "العربية", "ht": "Kreyòl ayisyen", "ru": "Русский", "ko": "한국어", "so": "Soomaali", "ne": "नेपाली",
}


@dataclass
class PublicItem:
    id: int
    title: str
    text: str
    html: str
    language: str
    link: str | None
    department: str
    emergency: bool
    published_at: datetime
    media: list[dict[str, Any]]
    # The event it announces, if any (all optional): the topics' calendars list these.
    event_start: datetime | None = None
    event_end: datetime | None = None
    location: str | None = None


# The platforms that are the city's own site: their published deliveries are what the public site lists.
CITY_SITE = sorted(where(lambda spec: spec.capabilities.city_site))


def _on_city_site(*columns) -> Select:
    """`columns` of the posts the city's site shows: published there, of an announcement still standing."""
    return (
        select(*columns)
        .join(Channel, Channel.id == Delivery.channel_id)
        .join(Announcement, Announcement.id == Delivery.announcement_id)
        .where(Channel.platform.in_(CITY_SITE), Delivery.status == DeliveryStatus.published,
               Announcement.state.not_in([State.retracted, State.cancelled]))
    )


def latest(session: Session, *, limit: int = 50, among: ColumnElement[bool] | None = None) -> list[PublicItem]:
    """The newest published announcements; `among`: only those it holds for (a topic's, civicpost.subscribers)."""
    # Columns, not entities: loading 150 announcements with their relationships cost ~20 ms of CPU a
    # render, and a surge renders these lists again at every change (web/public_cache.py).
    query = _on_city_site(
        Delivery.rendition, Delivery.published_at, Announcement.id, Announcement.title,
        Announcement.language, Announcement.link, Announcement.emergency, Department.name,
        Announcement.event_start, Announcement.event_end, Announcement.location,
    ).join(Department, Department.id == Announcement.department_id)
    rows = session.execute(
        (query if among is None else query.where(among))
        .order_by(Delivery.published_at.desc(), Delivery.id.desc())
        .limit(limit * 3)
    ).all()
    items: dict[int, PublicItem] = {}
    for (rendition, published_at, announcement_id, title, language, link, emergency, department,
         event_start, event_end, location) in rows:
        if announcement_id not in items:
            items[announcement_id] = _from(rendition, published_at=published_at, id=announcement_id, title=title,
                                           language=language, link=link, emergency=emergency, department=department,
                                           event_start=event_start, event_end=event_end, location=location)
        if len(items) == limit:
            break
    return list(items.values())


# The page reads the announcement, its department and its translations: its targets, images and
# author (each loaded with it by default) are left unloaded, as is the post's channel.
_ONE = (
    _on_city_site(Delivery, Announcement)
    .where(Announcement.id == bindparam("announcement_id"))
    .order_by(Delivery.published_at)
    .limit(1)
    .options(lazyload(Delivery.channel), lazyload(Announcement.targets), lazyload(Announcement.media),
             lazyload(Announcement.author))
)
# Built once, as `_ONE` is: constructing a statement costs more than running this one.
_ON_SITE = _on_city_site(Delivery.id).where(Announcement.id == bindparam("announcement_id")).limit(1)


def one(session: Session, announcement_id: int) -> tuple[PublicItem, Announcement] | None:
    row = session.execute(_ONE, {"announcement_id": announcement_id}).first()
    if row is None:
        return None
    return _item(*row), row[1]


def on_site(session: Session, announcement_id: int) -> bool:
    """Whether the announcement has its page on the city's site (what `one` finds), read as one id."""
    return session.execute(_ON_SITE, {"announcement_id": announcement_id}).first() is not None


def retracted(session: Session, announcement_id: int) -> Announcement | None:
    """A retracted announcement that was once on the city's own site: its address answers 410, not 404."""
    return session.scalar(
        select(Announcement)
        .join(Delivery, Delivery.announcement_id == Announcement.id)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Announcement.id == announcement_id, Announcement.state == State.retracted,
               Channel.platform.in_(CITY_SITE), Delivery.published_at.is_not(None))
        .limit(1))


def elsewhere(session: Session, announcement_id: int) -> list[dict[str, str]]:
    """Links to the announcement's live posts on other platforms (http(s) only,
    whatever a platform once answered)."""
    rows = session.execute(
        select(Delivery.remote_url, Channel.name, Channel.platform)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(
            Delivery.announcement_id == announcement_id,
            Delivery.status == DeliveryStatus.published,
            Channel.platform.not_in(CITY_SITE),
            Delivery.remote_url.is_not(None),
        )
        .order_by(Channel.name)
    ).all()
    return [{"url": safe, "label": name, "platform": platform}
            for url, name, platform in rows if (safe := http_url(url))]


def _item(delivery: Delivery, announcement: Announcement) -> PublicItem:
    assert delivery.published_at is not None  # _visible: published ones only
    return _from(delivery.rendition, published_at=delivery.published_at, id=announcement.id, title=announcement.title,
                 language=announcement.language, link=announcement.link, emergency=announcement.emergency,
                 department=announcement.department.name, event_start=announcement.event_start,
                 event_end=announcement.event_end, location=announcement.location)


def _from(rendition: dict[str, Any], *, published_at: datetime, id: int, title: str, language: str,
          link: str | None, emergency: bool, department: str, event_start: datetime | None,
          event_end: datetime | None, location: str | None) -> PublicItem:
    return PublicItem(
        id=id,
        title=title,
        text=rendition.get("text", ""),
        html=(rendition.get("extra") or {}).get("html", ""),
        language=rendition.get("language", language),
        link=http_url(link),
        department=department,
        emergency=emergency,
        published_at=published_at,
        media=rendition.get("media", []),
        event_start=event_start,
        event_end=event_end,
        location=location,
    )

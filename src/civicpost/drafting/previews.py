"""What each channel would receive: the one builder of renditions and preview cards.

The API, the draft page, its live preview and the approval queue all show an
announcement through here, stored or still being written, so what a person
reads is what an approver signs (the fingerprint) and what a worker sends.
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import uploads
from civicpost.content import ChannelView, Draft, MediaRef, Rendition, fingerprint
from civicpost.db import utcnow
from civicpost.drafting import access
from civicpost.drafting.editing import to_instant
from civicpost.errors import Invalid
from civicpost.models import Announcement, Channel, Department, Media, User
from civicpost.platforms import SPECS
from civicpost.platforms.spec import Look
from civicpost.rendering import Renderer
from civicpost.schemas import AnnouncementIn


@dataclass(frozen=True)
class LinkCard:
    """The card a platform shows under a post with a link. We never fetch the page, so
    the title is the announcement's own (in the rendition's language)."""

    url: str
    domain: str
    title: str


@dataclass(frozen=True)
class Card:
    """One channel's rendition beside the channel's name, as the staff pages show it."""

    channel_id: int
    name: str
    platform: str
    label: str
    r: dict[str, Any]
    look: Look = Look()
    link: LinkCard | None = None
    images: tuple[MediaRef, ...] = ()
    city_site: bool = False  # the city's own site: with no address of its own, the preview names this one

    @property
    def display_name(self) -> str:
        return self.look.name or self.name

    @property
    def link_part(self) -> int:
        """The thread's part (0-based) whose post carries the link card: the one with the address, else the first."""
        parts = self.r["parts"] or []
        return next((n for n, part in enumerate(parts) if self.link and self.link.url in part), 0)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.r["problems"] if p["severity"] == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.r["problems"] if p["severity"] != "error")


@dataclass(frozen=True)
class Preview:
    renditions: list[Rendition]
    names: dict[int, str]  # channel id -> the channel's name
    publish_at: datetime | None
    looks: dict[int, Look] = field(default_factory=dict)  # channel id -> how its platform shows the account
    draft: Draft | None = None
    alert: dict[str, Any] | None = None  # an emergency's CAP details, which the approver signs too

    @cached_property  # a create's version and its answer both show it: worked out once
    def fingerprint(self) -> str:
        """What an approver signs: these renditions, the time they go out, and any alert details."""
        return fingerprint(self.renditions, publish_at=self.publish_at, alert=self.alert)

    @property
    def cards(self) -> list[Card]:
        cards = []
        for r in self.renditions:
            look = self.looks.get(r.channel_id, Look())
            cards.append(Card(
                channel_id=r.channel_id,
                name=self.names.get(r.channel_id, f"Channel {r.channel_id}"),
                platform=r.platform,
                label=SPECS[r.platform].label,
                r=r.as_dict(),
                look=look,
                link=self._link_card(r.language) if look.link_card else None,
                images=tuple(r.media),
                city_site=SPECS[r.platform].capabilities.city_site,
            ))
        return cards

    def _link_card(self, language: str) -> LinkCard | None:
        link = self.draft.link if self.draft else None
        if not self.draft or not link:
            return None
        host = urlsplit(link).hostname or ""
        domain = host[4:] if host.startswith("www.") else host
        title = (self.draft.wording(language) or (self.draft.title, ""))[0]
        return LinkCard(url=link, domain=domain, title=title) if domain else None


@dataclass(frozen=True)
class Unsaved:
    """An announcement still being written, as plain values (a request's body, or a form as it stands)."""

    department: str  # its slug
    title: str
    body: str
    language: str = "en"
    link: str | None = None
    translations: dict[str, tuple[str, str]] = field(default_factory=dict)  # language -> (title, body)
    media: list[tuple[str, str]] = field(default_factory=list)  # (media id, alt text)
    channels: list[int] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)  # channel id, as text -> its own wording
    emergency: bool = False
    publish_at: datetime | None = None


def to_draft(announcement: Announcement) -> Draft:
    return Draft(
        title=announcement.title,
        body=announcement.body,
        department=announcement.department.name,
        language=announcement.language,
        link=announcement.link,
        translations={t.language: (t.title, t.body) for t in announcement.translations},
        media=[
            MediaRef(
                id=m.media_id,
                alt_text=m.alt_text,
                mime_type=m.file.mime_type,
                size_bytes=m.file.size_bytes,
                width=m.file.width,
                height=m.file.height,
            )
            for m in announcement.media
        ],
        emergency=announcement.emergency,
        publish_at=announcement.publish_at,
        announcement_id=announcement.id,
    )


def channel_view(channel: Channel, override: str | None = None, *, link: str | None = None) -> ChannelView:
    return ChannelView(
        id=channel.id,
        platform=channel.platform,
        name=channel.name,
        language=channel.language,
        settings=dict(channel.settings or {}),
        override=override,
        link=link,
    )


def of_announcement(renderer: Renderer, announcement: Announcement) -> Preview:
    """A stored announcement on each of its channels: what approval signs and the worker sends."""
    tracking = renderer.tracking if announcement.link else None
    views = [channel_view(t.channel, t.override_text,
                          link=tracking.address(announcement.id, t.channel_id)
                          if tracking and t.channel.track_links else None)
             for t in announcement.targets]
    draft = to_draft(announcement)
    return Preview(
        renderer.render_all(draft, views),
        {t.channel_id: t.channel.name for t in announcement.targets},
        announcement.publish_at,
        looks={v.id: SPECS[v.platform].look(v.settings) for v in views},
        draft=draft,
        alert=announcement.alert,
    )


def of_request(session: Session, renderer: Renderer, *, user: User, data: AnnouncementIn, zone: ZoneInfo) -> Preview:
    """An API client's draft, nothing stored: whatever it names that cannot be used is an error that says what."""
    department = session.scalar(select(Department).where(Department.slug == data.department))
    if department is None:
        raise Invalid(f"unknown department '{data.department}'", errors=[{"field": "department", "message": "unknown"}])
    if not user.can_approve:
        access.ensure_can_draft_for(user, department)
    channels = {c.id: c for c in session.scalars(select(Channel).where(Channel.id.in_(data.channels)))}
    errors = [
        {"field": "channels", "message": f"no channel {cid} in {department.name}"}
        for cid in data.channels
        if cid not in channels or channels[cid].department_id != department.id
    ]
    if errors:
        raise Invalid("some target channels cannot be used", errors=errors)
    files = uploads.usable(session, [m.id for m in data.media], department_id=department.id, actor=user)
    missing = [m.id for m in data.media if m.id not in files]
    if missing:
        raise Invalid(f"some media were never uploaded for {department.name}",
                      errors=[{"field": "media", "message": f"no media with id {i}"} for i in missing])
    unsaved = Unsaved(
        department=data.department,
        title=data.title,
        body=data.body,
        language=data.language,
        link=data.link,
        translations={lang: (t.title, t.body) for lang, t in data.translations.items()},
        media=[(m.id, m.alt_text) for m in data.media],
        channels=data.channels,
        overrides=data.overrides,
        emergency=data.emergency,
        publish_at=to_instant(data.publish_at, zone, now=utcnow()),
    )
    return _render(renderer, unsaved, department=department, channels=channels, files=files)


def of_unsaved(session: Session, renderer: Renderer, *, user: User, unsaved: Unsaved) -> Preview:
    """A draft as it stands, forgiving what is missing: a preview is for half-written drafts too.

    What cannot be used is left out: channels of another department or
    switched off, images the department may not use; without a department
    this person may draft for, nothing is shown.
    """
    slug = unsaved.department.strip()
    department = session.scalar(select(Department).where(Department.slug == slug)) if slug else None
    if department is None or not unsaved.channels:
        return Preview([], {}, unsaved.publish_at)
    if not user.can_approve and not access.can_draft_for(user, department):
        return Preview([], {}, unsaved.publish_at)
    channels = {
        c.id: c
        for c in session.scalars(select(Channel).where(Channel.id.in_(unsaved.channels)))
        if c.department_id == department.id and c.active
    }
    files = uploads.usable(session, [i for i, _ in unsaved.media], department_id=department.id, actor=user)
    return _render(renderer, unsaved, department=department, channels=channels, files=files)


def _render(renderer: Renderer, unsaved: Unsaved, *, department: Department, channels: dict[int, Channel],
            files: dict[str, Media]) -> Preview:
    draft = Draft(
        title=unsaved.title,
        body=unsaved.body,
        department=department.name,
        language=unsaved.language,
        link=unsaved.link,
        translations=unsaved.translations,
        media=[
            MediaRef(id=i, alt_text=alt.strip(), mime_type=files[i].mime_type, size_bytes=files[i].size_bytes,
                     width=files[i].width, height=files[i].height)
            for i, alt in unsaved.media
            if i in files
        ],
        emergency=unsaved.emergency,
        publish_at=unsaved.publish_at,
    )
    views = [
        channel_view(channels[cid], unsaved.overrides.get(str(cid)))
        for cid in dict.fromkeys(unsaved.channels)
        if cid in channels
    ]
    return Preview(renderer.render_all(draft, views), {c.id: c.name for c in channels.values()}, draft.publish_at,
                   looks={v.id: SPECS[v.platform].look(v.settings) for v in views}, draft=draft)

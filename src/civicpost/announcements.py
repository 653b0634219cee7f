"""Drafting: create, edit, read and list announcements, with department scoping."""

import base64
import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from civicpost import audit, uploads
from civicpost.content import ChannelView, Draft, MediaRef
from civicpost.db import utcnow
from civicpost.errors import Forbidden, Invalid, NotFound
from civicpost.models import (
    Announcement,
    AnnouncementMedia,
    Channel,
    Department,
    State,
    Target,
    Translation,
    User,
)
from civicpost.schemas import MAX_ID, AnnouncementIn, AnnouncementPatch, MediaIn, TranslationIn, parse_id

# A client that sends "now" should not be refused because the request took a moment.
PAST_GRACE = timedelta(seconds=30)


def to_instant(value: datetime | date | None, zone: ZoneInfo, *, now: datetime) -> datetime | None:
    """An aware UTC datetime; a bare date is the start of that day in the city's zone."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=zone)
    value = value.astimezone(ZoneInfo("UTC"))
    if value < now - PAST_GRACE:
        raise Invalid(
            "publish_at is in the past; choose a later time, or leave it empty to publish as soon as approved",
            errors=[{"field": "publish_at", "message": "is in the past"}],
        )
    return value


def can_view(user: User, announcement: Announcement) -> bool:
    return user.can_approve or user.is_member(announcement.department_id)


def _not_found(announcement_id: int) -> NotFound:
    return NotFound(f"no announcement with id {announcement_id}")


def ensure_can_view(user: User, announcement: Announcement) -> None:
    # Another department's announcement answers exactly as a missing one does:
    # a 403 would tell an outsider that it exists.
    if not can_view(user, announcement):
        raise _not_found(announcement.id)


def ensure_can_draft_for(user: User, department: Department) -> None:
    if not (user.is_admin or user.is_member(department.id)):
        raise Forbidden(f"you are not a member of {department.name}, so you cannot draft for it")


def get(session: Session, announcement_id: int, *, for_update: bool = False) -> Announcement:
    if not 1 <= announcement_id <= MAX_ID:
        raise _not_found(announcement_id)  # the database could not even compare it
    announcement = session.get(Announcement, announcement_id, with_for_update=for_update or None)
    if announcement is None:
        raise _not_found(announcement_id)
    return announcement


def get_visible(session: Session, announcement_id: int, *, viewer: User) -> Announcement:
    """The announcement if `viewer` may see it; otherwise the same 404 as for one that does not exist."""
    announcement = get(session, announcement_id)
    ensure_can_view(viewer, announcement)
    return announcement


def _targets(session: Session, department: Department, channel_ids: list[int], overrides: dict[str, str]) -> list[Target]:
    wanted = list(dict.fromkeys(channel_ids))
    channels = {c.id: c for c in session.scalars(select(Channel).where(Channel.id.in_(wanted)))}
    errors = []
    for cid in wanted:
        channel = channels.get(cid)
        if channel is None:
            errors.append({"field": "channels", "message": f"no channel with id {cid}"})
        elif channel.department_id != department.id:
            errors.append({"field": "channels", "message": f"channel {cid} ({channel.name}) belongs to another department"})
        elif not channel.active:
            errors.append({"field": "channels", "message": f"channel {cid} ({channel.name}) is switched off"})
    for key in overrides:
        if int(key) not in channels or int(key) not in wanted:
            errors.append({"field": "overrides", "message": f"override for channel {key}, which is not a target"})
    if errors:
        raise Invalid("some target channels cannot be used", errors=errors)
    return [Target(channel_id=cid, channel=channels[cid], override_text=overrides.get(str(cid))) for cid in wanted]


def _media(
    session: Session, items: list[MediaIn], *, department: Department, actor: User | None,
    attached: frozenset[str] = frozenset(),
) -> list[AnnouncementMedia]:
    """Rows for the images an announcement lists: its department's own uploads
    (and any it already has). Another department's image is refused exactly as
    a missing one, so an id reveals nothing."""
    if not items:
        return []
    found = uploads.usable(session, [m.id for m in items], department_id=department.id, actor=actor, attached=attached)
    missing = [m.id for m in items if m.id not in found]
    if missing:
        raise Invalid(
            f"some media were never uploaded for {department.name}; upload them with POST /api/v1/media first",
            errors=[{"field": "media", "message": f"no media with id {i}"} for i in missing],
        )
    return [
        AnnouncementMedia(media_id=m.id, file=found[m.id], position=n, alt_text=m.alt_text.strip())
        for n, m in enumerate(items)
    ]


def _translations(items: dict[str, TranslationIn], language: str) -> list[Translation]:
    if language in items:
        raise Invalid(
            f"'{language}' is the announcement's own language; put that wording in title and body",
            errors=[{"field": f"translations.{language}", "message": "same as the announcement's language"}],
        )
    return [Translation(language=lang, title=t.title, body=t.body) for lang, t in items.items()]


def create(session: Session, *, author: User, data: AnnouncementIn, zone: ZoneInfo) -> Announcement:
    department = session.scalar(select(Department).where(Department.slug == data.department))
    if department is None:
        raise Invalid(
            f"unknown department '{data.department}'",
            errors=[{"field": "department", "message": f"unknown department '{data.department}'"}],
        )
    ensure_can_draft_for(author, department)
    announcement = Announcement(
        department_id=department.id,
        department=department,
        author_id=author.id,
        author=author,
        title=data.title,
        body=data.body,
        link=data.link,
        language=data.language,
        publish_at=to_instant(data.publish_at, zone, now=utcnow()),
        emergency=data.emergency,
        state=State.draft,
        translations=_translations(data.translations, data.language),
        targets=_targets(session, department, data.channels, data.overrides),
        media=_media(session, data.media, department=department, actor=author),
    )
    session.add(announcement)
    session.flush()
    audit.record(session, actor=author, action="create", object_type="announcement", object_id=announcement.id)
    return announcement


def ensure_can_edit(user: User, announcement: Announcement) -> None:
    ensure_can_view(user, announcement)  # first: an outsider learns nothing, not even who may edit
    if announcement.author_id != user.id and not user.can_approve:
        raise Forbidden("only the author or an approver may edit this announcement")


def apply_patch(
    session: Session, *, announcement: Announcement, patch: AnnouncementPatch, zone: ZoneInfo, actor: User | None = None
) -> list[str]:
    """Apply the fields the request named; returns the names of those that changed.

    `actor` decides whether an image without a department may be attached
    (approvers and admins only); without one, only the department's own images.
    """
    given = patch.model_fields_set
    changed: list[str] = []

    def set_field(name: str, value) -> None:
        if getattr(announcement, name) != value:
            setattr(announcement, name, value)
            changed.append(name)

    for name in ("title", "body", "link", "emergency"):
        if name in given:
            value = getattr(patch, name)
            if value is None and name != "link":
                raise Invalid(f"{name} cannot be empty", errors=[{"field": name, "message": "cannot be null"}])
            set_field(name, value)
    if "language" in given and patch.language is not None:
        set_field("language", patch.language)
    if "publish_at" in given:
        set_field("publish_at", to_instant(patch.publish_at, zone, now=utcnow()))
    if "translations" in given:
        new = {lang: (t.title, t.body) for lang, t in (patch.translations or {}).items()}
        old = {t.language: (t.title, t.body) for t in announcement.translations}
        if new != old:
            announcement.translations = _translations(patch.translations or {}, announcement.language)
            changed.append("translations")
    if "channels" in given or "overrides" in given:
        channel_ids = patch.channels if "channels" in given else [t.channel_id for t in announcement.targets]
        overrides = (
            patch.overrides or {}
            if "overrides" in given
            else {str(t.channel_id): t.override_text for t in announcement.targets if t.override_text is not None}
        )
        new_targets = _targets(session, announcement.department, channel_ids or [], overrides)
        old = [(t.channel_id, t.override_text) for t in announcement.targets]
        if [(t.channel_id, t.override_text) for t in new_targets] != old:
            # Flush the removals first: (announcement, channel) is unique.
            announcement.targets = []
            session.flush()
            announcement.targets = new_targets
            changed.append("channels")
    if "media" in given:
        new_media = [(m.id, m.alt_text.strip()) for m in patch.media or []]
        if new_media != [(m.media_id, m.alt_text) for m in announcement.media]:
            attached = frozenset(m.media_id for m in announcement.media)
            announcement.media = []
            session.flush()
            announcement.media = _media(
                session, patch.media or [], department=announcement.department, actor=actor, attached=attached
            )
            changed.append("media")
    if "translations" in changed or "language" in changed:
        if any(t.language == announcement.language for t in announcement.translations):
            raise Invalid(
                f"'{announcement.language}' is the announcement's own language and also a translation",
                errors=[{"field": "translations", "message": "same as the announcement's language"}],
            )
    return changed


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


def channel_view(channel: Channel, override: str | None = None) -> ChannelView:
    return ChannelView(
        id=channel.id,
        platform=channel.platform,
        name=channel.name,
        language=channel.language,
        settings=dict(channel.settings or {}),
        override=override,
    )


def channel_views(announcement: Announcement) -> list[ChannelView]:
    return [channel_view(t.channel, t.override_text) for t in announcement.targets]


@dataclass
class Page:
    items: list  # rows with the summary's columns (see SUMMARY)
    next_cursor: str | None


# A list page reads only what a summary shows: plain rows, no ORM objects.
SUMMARY = (
    Announcement.id,
    Announcement.title,
    Announcement.state,
    Announcement.emergency,
    Announcement.language,
    Announcement.publish_at,
    Announcement.created_at,
    Announcement.updated_at,
    Department.slug.label("department"),
    User.email.label("author"),
)


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"a:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    kind, _, value = raw.partition(":")
    last_id = parse_id(value) if kind == "a" else None
    if last_id is None:
        raise Invalid(
            "the cursor is not one this service gave out; start again without it",
            errors=[{"field": "cursor", "message": "malformed"}],
        )
    return last_id


@functools.cache
def _list_query(*, department: bool, scoped: bool, state: bool, emergency: bool, after: bool) -> Select:
    """The list statement for one combination of filters, built once: building
    a statement costs more than running it. Values are bound at execution."""
    query = (
        select(*SUMMARY)
        .join(Department, Department.id == Announcement.department_id)
        .join(User, User.id == Announcement.author_id)
        .order_by(Announcement.id.desc())
        .limit(bindparam("limit"))
    )
    if department:
        query = query.where(Announcement.department_id == bindparam("department_id"))
    elif scoped:
        query = query.where(Announcement.department_id.in_(bindparam("department_ids", expanding=True)))
    if state:
        query = query.where(Announcement.state == bindparam("state"))
    if emergency:
        query = query.where(Announcement.emergency == bindparam("emergency"))
    if after:
        query = query.where(Announcement.id < bindparam("before_id"))
    return query


def list_page(
    session: Session,
    *,
    user: User,
    state: State | None,
    department: Department | None,
    emergency: bool | None,
    limit: int,
    cursor: str | None,
) -> Page:
    """Newest first, by keyset on id: each page is one index range scan."""
    if department is not None and not (user.can_approve or user.is_member(department.id)):
        raise Forbidden(f"you are not a member of {department.name}")
    scoped = department is None and not user.can_approve
    query = _list_query(
        department=department is not None, scoped=scoped, state=state is not None,
        emergency=emergency is not None, after=bool(cursor),
    )
    values = {
        "limit": limit + 1,
        "department_id": department.id if department is not None else None,
        "department_ids": [d.id for d in user.departments] if scoped else None,
        "state": state,
        "emergency": emergency,
        "before_id": decode_cursor(cursor) if cursor else None,
    }
    rows = list(session.execute(query, {name: value for name, value in values.items() if value is not None}))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)

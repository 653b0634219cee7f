"""Creating and changing announcements: their wording, time, channels, images and translations."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, lazyload

from civicpost import audit, media_library, uploads
from civicpost.db import insert_new, utcnow
from civicpost.drafting.access import ensure_can_draft_for
from civicpost.errors import Invalid
from civicpost.models import (
    Announcement,
    AnnouncementMedia,
    Channel,
    Department,
    Reader,
    State,
    Target,
    Translation,
    User,
    user_departments,
)
from civicpost.schemas import AlertIn, AnnouncementIn, AnnouncementPatch, MediaIn, TranslationIn

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


# Built once: constructing a statement costs about what running it does.
# Without the joined department: every channel used is the draft's department's,
# already in the session (a channel of another is refused), so none is read again.
_CHANNELS = (
    select(Channel).options(lazyload(Channel.department)).where(Channel.id.in_(bindparam("ids", expanding=True)))
)
# A new draft's department, whether its author belongs to it and the channels
# it names, in one statement (each statement is a round trip): a row for each
# channel found, or one row without a channel.
_NEW_DRAFT_SOURCES = (
    select(
        Department,
        exists().where(user_departments.c.user_id == bindparam("user_id"),
                       user_departments.c.department_id == Department.id).label("member"),
        Channel,
    )
    .outerjoin(Channel, Channel.id.in_(bindparam("ids", expanding=True)))
    .options(lazyload(Channel.department))
    .where(Department.slug == bindparam("slug"))
)


def _targets(
    department: Department, channel_ids: list[int], overrides: dict[str, str], channels: dict[int, Channel]
) -> list[Target]:
    """The targets for `channel_ids`, from `channels` (those of them that exist, by id)."""
    wanted = list(dict.fromkeys(channel_ids))
    errors = []
    for cid in wanted:
        channel = channels.get(cid)
        if channel is None:
            errors.append({"field": "channels", "message": f"no channel with id {cid}"})
        elif channel.department_id != department.id:
            errors.append(
                {"field": "channels", "message": f"channel {cid} ({channel.name}) belongs to another department"}
            )
        elif not channel.active:
            errors.append({"field": "channels", "message": f"channel {cid} ({channel.name}) is switched off"})
    for key in overrides:
        if int(key) not in channels or int(key) not in wanted:
            errors.append({"field": "overrides", "message": f"override for channel {key}, which is not a target"})
    if errors:
        raise Invalid("some target channels cannot be used", errors=errors)
    # In the relationship's order (by channel), so a create answers as every later read does.
    return [Target(channel_id=cid, channel=channels[cid], override_text=overrides.get(str(cid)))
            for cid in sorted(wanted)]


def _media(
    session: Session, items: list[MediaIn], *, department: Department, actor: User | Reader | None,
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
    rows = [
        AnnouncementMedia(media_id=m.id, file=found[m.id], position=n, alt_text=m.alt_text.strip())
        for n, m in enumerate(items)
    ]
    media_library.remember_alt_text(rows)
    return rows


def _translations(items: dict[str, TranslationIn], language: str) -> list[Translation]:
    if language in items:
        raise Invalid(
            f"'{language}' is the announcement's own language; put that wording in title and body",
            errors=[{"field": f"translations.{language}", "message": "same as the announcement's language"}],
        )
    return [Translation(language=lang, title=t.title, body=t.body) for lang, t in sorted(items.items())]


def _alert(alert: AlertIn | None) -> dict | None:
    if alert is None:
        return None
    return {**alert.model_dump(exclude_none=True, mode="json"),
            "expires": alert.expires.astimezone(ZoneInfo("UTC")).isoformat()}


def _check_alert(announcement: Announcement) -> None:
    """Alert details belong to an emergency, and end after it goes out."""
    if announcement.alert is None:
        return
    if not announcement.emergency:
        raise Invalid(
            "alert details are only for an emergency announcement; set emergency to true, or remove the alert "
            "(alert: null)",
            errors=[{"field": "alert", "message": "only for an emergency announcement"}],
        )
    expires = datetime.fromisoformat(announcement.alert["expires"])
    if announcement.publish_at is not None and expires <= announcement.publish_at:
        raise Invalid(
            "the alert would expire before the announcement is published; choose a later alert.expires or an "
            "earlier publish_at",
            errors=[{"field": "alert.expires", "message": "must be after publish_at"}],
        )


def ensure_can_flag_emergency(user: User | Reader | None) -> None:
    """The emergency flag opens the break-glass lane (SPEC §8.4): not for ordinary staff."""
    if user is not None and not user.can_flag_emergency:
        raise Invalid(
            "only an approver or an emergency publisher can flag an emergency; ask an approver of your "
            "department to flag it, or an administrator to make you an emergency publisher",
            errors=[{"field": "emergency",
                     "message": "only an approver or an emergency publisher can flag an emergency"}],
        )


def create(session: Session, *, author: User | Reader, data: AnnouncementIn, zone: ZoneInfo) -> Announcement:
    rows = session.execute(
        _NEW_DRAFT_SOURCES, {"slug": data.department, "user_id": author.id, "ids": list(dict.fromkeys(data.channels))}
    ).all()
    if not rows:
        raise Invalid(
            f"unknown department '{data.department}'",
            errors=[{"field": "department", "message": f"unknown department '{data.department}'"}],
        )
    department, member, _ = rows[0]
    ensure_can_draft_for(author, department, member=member)
    if data.emergency:
        ensure_can_flag_emergency(author)
    announcement = Announcement(
        department_id=department.id,
        department=department,
        author_id=author.id,
        title=data.title,
        body=data.body,
        link=data.link,
        language=data.language,
        publish_at=to_instant(data.publish_at, zone, now=utcnow()),
        emergency=data.emergency,
        alert=_alert(data.alert),
        event_start=data.event_start,
        event_end=data.event_end,
        location=data.location,
        state=State.draft,
        translations=_translations(data.translations, data.language),
        targets=_targets(department, data.channels, data.overrides, {c.id: c for _, _, c in rows if c is not None}),
        media=_media(session, data.media, department=department, actor=author),
    )
    if isinstance(author, User):
        announcement.author = author  # else (a Reader) left unloaded: read when first asked for
    _check_alert(announcement)
    _check_event(announcement)
    insert_new(session, announcement, "translations", "targets", "media")
    audit.record(session, actor=author, action="create", object_type="announcement", object_id=announcement.id)
    return announcement


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

    if patch.emergency and not announcement.emergency:
        ensure_can_flag_emergency(actor)
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
    if "alert" in given:
        set_field("alert", _alert(patch.alert))
    for name in ("event_start", "event_end", "location"):
        if name in given:
            set_field(name, getattr(patch, name))
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
        named = {c.id: c for c in session.scalars(_CHANNELS, {"ids": list(dict.fromkeys(channel_ids or []))})}
        new_targets = _targets(announcement.department, channel_ids or [], overrides, named)
        before = [(t.channel_id, t.override_text) for t in announcement.targets]
        if [(t.channel_id, t.override_text) for t in new_targets] != before:
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
    _check_alert(announcement)
    _check_event(announcement)
    return changed


def _check_event(announcement: Announcement) -> None:
    start, end = announcement.event_start, announcement.event_end
    if end is not None and start is None:
        raise Invalid("an event_end needs an event_start", errors=[{"field": "event_start",
                                                                    "message": "needed with event_end"}])
    if start is not None and end is not None and end <= start:
        raise Invalid("event_end must be after event_start", errors=[{"field": "event_end",
                                                                       "message": "must be after event_start"}])

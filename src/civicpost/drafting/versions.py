"""Every version of an announcement (the record): after it is created and after each
change, what it said on each channel, with the fingerprint an approver signs and who
made the change. Versions are added, never rewritten; an approval names the version
it signed by its fingerprint."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from civicpost.db import TableRows, utcnow
from civicpost.drafting.previews import Preview
from civicpost.models import Announcement, AnnouncementVersion, Reader, User


def content(announcement: Announcement, preview: Preview) -> dict[str, Any]:
    """What the announcement says and where, as JSON: the words a records request asks for."""
    return {
        "title": announcement.title,
        "body": announcement.body,
        "link": announcement.link,
        "language": announcement.language,
        "publish_at": _instant(announcement.publish_at),
        "emergency": announcement.emergency,
        "alert": announcement.alert,
        "translations": [{"language": t.language, "title": t.title, "body": t.body}
                         for t in sorted(announcement.translations, key=lambda t: t.language)],
        "channels": [{"id": t.channel_id, "name": t.channel.name, "platform": t.channel.platform,
                      "override_text": t.override_text}
                     for t in sorted(announcement.targets, key=lambda t: t.channel_id)],
        "media": [{"id": m.media_id, "alt_text": m.alt_text, "mime_type": m.file.mime_type}
                  for m in sorted(announcement.media, key=lambda m: m.position)],
        "renditions": sorted((r.payload() for r in preview.renditions), key=lambda p: p["channel_id"]),
    }


def record(session: Session, *, announcement: Announcement, preview: Preview, actor: User | None,
           reason: str) -> AnnouncementVersion:
    """The next version, as the announcement stands now (flushed, so it is numbered)."""
    last = session.scalar(select(func.max(AnnouncementVersion.number))
                          .where(AnnouncementVersion.announcement_id == announcement.id)) or 0
    version = AnnouncementVersion(announcement_id=announcement.id, number=last + 1,
                                  author_id=actor.id if actor else None, reason=reason,
                                  fingerprint=preview.fingerprint, content=content(announcement, preview))
    session.add(version)
    session.flush()
    return version


_TABLE = cast(Table, AnnouncementVersion.__table__)


def first(*, announcement: Announcement, preview: Preview, actor: User | Reader) -> TableRows:
    """Version 1 of a new announcement as a plain row for its table, to be written
    with the create's audit event (audit.collected): no number to look up and no
    unit of work (a create is the API's busiest write)."""
    return _TABLE, [{"announcement_id": announcement.id, "number": 1, "author_id": actor.id, "reason": "create",
                     "created_at": utcnow(), "fingerprint": preview.fingerprint,
                     "content": content(announcement, preview)}]


def of(session: Session, announcement_id: int) -> list[AnnouncementVersion]:
    """Every version, the first first."""
    return list(session.scalars(select(AnnouncementVersion)
                                .where(AnnouncementVersion.announcement_id == announcement_id)
                                .order_by(AnnouncementVersion.number)))


def _instant(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None

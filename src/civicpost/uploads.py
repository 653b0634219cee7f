"""Uploaded images as records: which department an upload is for, its Media row,
which images an announcement may use, and who may see one.

An upload is three steps so that the slow one holds no lock: find the
department (a read), decode and store the file (civicpost.media, under the
decode gate, outside any transaction), then record the row (a short write).
"""

import re
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicpost import media
from civicpost.errors import Forbidden, Invalid
from civicpost.models import (
    Announcement,
    AnnouncementMedia,
    Delivery,
    DeliveryStatus,
    Department,
    Media,
    Reader,
    State,
    User,
)

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def department_for(session: Session, *, user: User, slug: str | None) -> Department:
    """The department an upload is for: the one named, or the uploader's only one."""
    slug = (slug or "").strip()
    if not slug:
        if len(user.departments) == 1:
            return user.departments[0]
        choices = ", ".join(d.slug for d in user.departments) or "the slug of the department it is for"
        raise Invalid(
            "say which department the image is for: send the form field 'department'",
            errors=[{"field": "department", "message": f"name the department the image is for ({choices})"}],
        )
    department = session.scalar(select(Department).where(Department.slug == slug)) if _SLUG.fullmatch(slug) else None
    if department is None:
        raise Invalid(
            f"unknown department '{slug[:64]}'",
            errors=[{"field": "department", "message": f"unknown department '{slug[:64]}'"}],
        )
    if not (user.can_approve or user.is_member(department.id)):
        raise Forbidden(f"you are not a member of {department.name}, so you cannot upload images for it")
    return department


def prepare(source: BinaryIO | bytes, *, department_id: int, media_dir: Path, max_bytes: int) -> media.StoredMedia:
    """Read, decode, clean and store one upload for a department; run it under the decode gate.

    Raises media.MediaError. Touches no database."""
    data = source if isinstance(source, bytes) else source.read(max_bytes + 1)
    stored = media.keep(media.clean(data, max_bytes=max_bytes), media_dir=media_dir)
    return media.for_department(stored, department_id=department_id, media_dir=media_dir)


def record(session: Session, *, stored: media.StoredMedia, department_id: int, user: User) -> Media:
    """The Media row for a prepared upload (the same picture twice is one row)."""
    row = session.get(Media, stored.id)
    if row is not None:
        return row
    row = Media(id=stored.id, mime_type=stored.mime_type, width=stored.width, height=stored.height,
                size_bytes=stored.size_bytes, department_id=department_id, uploaded_by_id=user.id)
    try:
        with session.begin_nested():  # the same picture sent twice at once: the second finds the first's row
            session.add(row)
    except IntegrityError:
        found = session.get(Media, stored.id)
        if found is None:  # the other one's insert was rolled back meanwhile: nothing to share
            raise
        row = found
    return row


def usable(
    session: Session, ids: list[str], *, department_id: int, actor: User | Reader | None,
    attached: frozenset[str] = frozenset(),
) -> dict[str, Media]:
    """Of `ids`, the images an announcement of the department may use: its own
    uploads, those it already has, and (for approvers and admins) old uploads
    that never had a department. Anything else is left out, as if missing."""
    if not ids:
        return {}
    rows = session.scalars(select(Media).where(Media.id.in_(ids)))
    return {
        m.id: m for m in rows
        if m.department_id == department_id or m.id in attached
        or (m.department_id is None and actor is not None and actor.can_approve)
    }


# An image is public while an announcement that shows it is live: something
# of it published, and it neither retracted nor cancelled.
_PUBLISHED_WITH = (
    select(AnnouncementMedia.id)
    .join(Announcement, Announcement.id == AnnouncementMedia.announcement_id)
    .where(
        AnnouncementMedia.media_id == bindparam("media_id"),
        Announcement.state.not_in([State.retracted, State.cancelled]),
        exists().where(Delivery.announcement_id == Announcement.id, Delivery.status == DeliveryStatus.published),
    )
    .limit(1)
)


def is_public(session: Session, media_id: str) -> bool:
    return session.scalar(_PUBLISHED_WITH, {"media_id": media_id}) is not None


def staff_may_see(user: User, row: Media) -> bool:
    if user.can_approve:
        return True
    return row.department_id is not None and user.is_member(row.department_id)

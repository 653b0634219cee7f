"""A department's images, to reuse with the alt text written for them once.

Each image keeps one alt text (Media.alt_text): written on the library page,
or remembered from the first announcement that described the image. When the
image is chosen again, the draft starts from that text; the announcement keeps
its own copy, which is what an approver reviews.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from civicpost import uploads
from civicpost.errors import Invalid, NotFound
from civicpost.models import Announcement, AnnouncementMedia, Department, Media, User
from civicpost.schemas import MediaIn

PER_PAGE = 24
# The draft form offers this many of the department's latest images (the library page has them all).
PICKER_SIZE = 24
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Use:
    announcement_id: int
    title: str
    state: str


@dataclass(frozen=True)
class Item:
    media: Media
    department: Department | None
    uses: list[Use]


@dataclass(frozen=True)
class LibraryPage:
    items: list[Item]
    number: int
    has_next: bool


def may_browse(user: User, department: Department) -> bool:
    """Whether this person may see the department's images (and so their alt text)."""
    return user.can_approve or user.is_member(department.id)


def departments_for(session: Session, user: User) -> list[Department]:
    """Whose images this person may browse: approvers and admins every department's, staff their own."""
    if user.can_approve:
        return list(session.scalars(select(Department).order_by(Department.name)))
    return sorted(user.departments, key=lambda d: d.name)


def _scoped(user: User, department: Department | None) -> Select:
    query = select(Media)
    if department is not None:
        return query.where(Media.department_id == department.id)
    if user.can_approve:
        return query
    return query.where(Media.department_id.in_([d.id for d in user.departments]))


def page(session: Session, *, user: User, department: Department | None, number: int = 1) -> LibraryPage:
    """One page of images, newest first; `department` must be one of departments_for(user)."""
    if not 1 <= number <= MAX_PAGE:
        raise Invalid(f"page must be a whole number from 1 to {MAX_PAGE}",
                      errors=[{"field": "page", "message": "not a page number"}])
    query = _scoped(user, department).order_by(Media.created_at.desc(), Media.id)
    rows = list(session.scalars(query.offset((number - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    shown = rows[:PER_PAGE]
    return LibraryPage(items=_items(session, user, shown), number=number, has_next=len(rows) > PER_PAGE)


def count(session: Session, *, user: User, department: Department | None) -> int:
    return session.scalar(select(func.count()).select_from(_scoped(user, department).subquery())) or 0


def _items(session: Session, user: User, rows: list[Media]) -> list[Item]:
    uses = uses_of(session, user, [m.id for m in rows])
    names = {d.id: d for d in session.scalars(select(Department).where(
        Department.id.in_({m.department_id for m in rows if m.department_id is not None})))}
    return [Item(m, names.get(m.department_id) if m.department_id else None, uses.get(m.id, [])) for m in rows]


def uses_of(session: Session, user: User, media_ids: Iterable[str]) -> dict[str, list[Use]]:
    """Which announcements (that this person may see) show each image, oldest first."""
    ids = list(media_ids)
    if not ids:
        return {}
    query = (
        select(AnnouncementMedia.media_id, Announcement.id, Announcement.title, Announcement.state)
        .join(Announcement, Announcement.id == AnnouncementMedia.announcement_id)
        .where(AnnouncementMedia.media_id.in_(ids))
        .distinct()
        .order_by(Announcement.id)
    )
    if not user.can_approve:
        query = query.where(Announcement.department_id.in_([d.id for d in user.departments]))
    found: dict[str, list[Use]] = {}
    for media_id, announcement_id, title, state in session.execute(query):
        found.setdefault(media_id, []).append(Use(announcement_id, title, state))
    return found


def get_visible(session: Session, media_id: str, *, user: User) -> Media:
    """The image if this person may see it; otherwise the same 404 as for one that does not exist."""
    row = session.get(Media, media_id) if len(media_id) == 64 else None
    if row is None or not uploads.staff_may_see(user, row):
        raise NotFound("there is no such image in your departments' libraries")
    return row


def set_alt_text(session: Session, *, user: User, media: Media, alt_text: str) -> None:
    """Store the image's alt text; announcements that use it keep their own copy."""
    try:
        checked = MediaIn.model_validate({"id": media.id, "alt_text": alt_text}).alt_text.strip()
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        if exc.errors()[0]["type"] == "string_too_long":
            message = "alt text may be at most 5000 characters; shorten it"
        raise Invalid(message, errors=[{"field": "alt_text", "message": message}]) from None
    media.alt_text = checked


def remember_alt_text(rows: Iterable[AnnouncementMedia]) -> None:
    """An image described for the first time keeps that description for next time."""
    for row in rows:
        if row.alt_text and not row.file.alt_text:
            row.file.alt_text = row.alt_text


def for_picker(session: Session, department: Department) -> list[Media]:
    """The department's latest images, for the draft form's list to choose from."""
    query = (
        select(Media).where(Media.department_id == department.id)
        .order_by(Media.created_at.desc(), Media.id).limit(PICKER_SIZE)
    )
    return list(session.scalars(query))

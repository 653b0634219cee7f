"""Who may see, draft for and edit an announcement; reading one by id."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.errors import Forbidden, NotFound
from civicpost.models import Announcement, Department, Reader, User
from civicpost.schemas import MAX_ID


def can_view(user: User, announcement: Announcement) -> bool:
    return user.can_approve or user.is_member(announcement.department_id)


def _not_found(announcement_id: int) -> NotFound:
    return NotFound(f"no announcement with id {announcement_id}")


def ensure_can_view(user: User, announcement: Announcement) -> None:
    # Another department's announcement answers exactly as a missing one does:
    # a 403 would tell an outsider that it exists.
    if not can_view(user, announcement):
        raise _not_found(announcement.id)


def can_draft_for(user: User | Reader, department: Department, *, member: bool | None = None) -> bool:
    """`member`: whether the person belongs to the department, when the caller read it already."""
    return user.is_admin or (user.is_member(department.id) if member is None else member)


def ensure_can_draft_for(user: User | Reader, department: Department, *, member: bool | None = None) -> None:
    if not can_draft_for(user, department, member=member):
        raise Forbidden(f"you are not a member of {department.name}, so you cannot draft for it")


def drafting_departments(session: Session, user: User) -> list[Department]:
    """Where this person may draft: what editing.create allows."""
    if user.is_admin:
        return list(session.scalars(select(Department).order_by(Department.name)))
    return sorted(user.departments, key=lambda d: d.name)


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


def ensure_can_edit(user: User, announcement: Announcement) -> None:
    ensure_can_view(user, announcement)  # first: an outsider learns nothing, not even who may edit
    if announcement.author_id != user.id and not user.can_approve:
        raise Forbidden("only the author or an approver may edit this announcement")

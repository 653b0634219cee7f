"""Lists of announcements: newest first, one keyset page at a time, scoped to the reader's departments."""

import base64
import functools
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from civicpost.errors import Forbidden, Invalid
from civicpost.models import Announcement, Department, State, User
from civicpost.schemas import parse_id


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

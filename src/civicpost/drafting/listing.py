"""Lists of announcements: newest first, one keyset page at a time, scoped to the reader's departments."""

import base64
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import ColumnElement, Connection, Select, bindparam, exists, func, select
from sqlalchemy.orm import Session

from civicpost.db import utc_text
from civicpost.drafting import search
from civicpost.errors import Forbidden, Invalid
from civicpost.models import Announcement, Channel, Department, Reader, State, Target, User
from civicpost.schemas import parse_id


@dataclass
class Page:
    items: Sequence  # rows with LIST_COLUMNS
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

# What the API's list reads: the summary, its three moments as UTC text made by
# the database (db.utc_text) rather than datetimes through UTCDateTime's
# Python hook per value; web.views.Instants.text writes them.
LIST_COLUMNS = tuple(
    utc_text(column).label(column.key)
    if column.key in ("publish_at", "created_at", "updated_at") else column
    for column in SUMMARY
)

# A cursor is opaque to its reader: "a:<id>" (older than id, as the API
# walks), or "n:<id>" (newer than id, the pages' way back up).
Direction = Literal["older", "newer"]
_KINDS: dict[str, Direction] = {"a": "older", "n": "newer"}


def encode_cursor(last_id: int, direction: Direction = "older") -> str:
    kind = "a" if direction == "older" else "n"
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def read_cursor(cursor: str) -> tuple[Direction, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    kind, _, value = raw.partition(":")
    last_id = parse_id(value) if kind in _KINDS else None
    if last_id is None:
        raise Invalid(
            "the cursor is not one this service gave out; start again without it",
            errors=[{"field": "cursor", "message": "malformed"}],
        )
    return _KINDS[kind], last_id


def decode_cursor(cursor: str) -> int:
    direction, last_id = read_cursor(cursor)
    if direction != "older":
        raise Invalid("this list only walks to older announcements; start again without the cursor",
                      errors=[{"field": "cursor", "message": "malformed"}])
    return last_id


@functools.cache
def _list_query(*, department: bool, scoped: bool, state: bool, emergency: bool, after: bool) -> Select:
    """The list statement for one combination of filters, built once: building
    a statement costs more than running it. Values are bound at execution."""
    query = (
        select(*LIST_COLUMNS)
        .join(Department, Department.id == Announcement.department_id)
        .join(User, User.id == Announcement.author_id)
        .order_by(Announcement.id.desc())
        .limit(bindparam("limit"))
    )
    if department:
        query = query.where(Announcement.department_id == bindparam("department_id"))
    elif scoped:
        # The ids bound, not a subquery: with one, SQLite sorted every row of the departments
        # (a temporary B-tree) instead of walking the (department_id, id) index.
        query = query.where(Announcement.department_id.in_(bindparam("department_ids", expanding=True)))
    if state:
        query = query.where(Announcement.state == bindparam("state"))
    if emergency:
        query = query.where(Announcement.emergency == bindparam("emergency"))
    if after:
        query = query.where(Announcement.id < bindparam("before_id"))
    return query


class Named(Protocol):
    """A department as the list narrows by it: accounts.department_named's row, or a Department."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


def list_page(
    connection: Connection,
    *,
    user: User | Reader,
    state: State | None,
    department: Named | None,
    emergency: bool | None,
    limit: int,
    cursor: str | None,
    words: list[str] | None = None,
) -> Page:
    """Newest first, by keyset on id: each page is one index range scan
    (with `words`, from search.words, only announcements holding them all).
    Plain rows through `connection`, without the ORM's loading of each one."""
    if department is not None and not (user.can_approve or user.is_member(department.id)):
        raise Forbidden(f"you are not a member of {department.name}")
    scoped = department is None and not user.can_approve
    query = _list_query(
        department=department is not None, scoped=scoped, state=state is not None,
        emergency=emergency is not None, after=bool(cursor),
    )
    if words:
        query = query.where(search.matches(connection.dialect.name, words))
    values = {
        "limit": limit + 1,
        "department_id": department.id if department is not None else None,
        "department_ids": user.department_ids() if scoped else None,
        "state": state,
        "emergency": emergency,
        "before_id": decode_cursor(cursor) if cursor else None,
    }
    bound = {name: value for name, value in values.items() if value is not None}
    rows = connection.execute(query, bound).all()  # one fetch, not one a row
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


@dataclass(frozen=True)
class Filters:
    """What /staff/announcements narrows the list by; None means "any"."""

    words: tuple[str, ...] = ()  # from search.words: every one must be in the title or the text
    department_id: int | None = None
    state: State | None = None
    platform: str | None = None  # has a target channel on this platform
    author: str | None = None  # the author's email, any case
    written_from: datetime | None = None  # created at or after (UTC)
    written_before: datetime | None = None  # created before (UTC)


@dataclass
class Window:
    items: list  # rows with BROWSE's columns
    older: str | None  # cursor of the next page towards older announcements
    newer: str | None  # cursor of the next page towards newer ones


BROWSE = (*SUMMARY, Department.name.label("department_name"), User.name.label("author_name"))


def _conditions(dialect: str, *, user: User, filters: Filters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if not user.can_approve:  # what access.can_view allows
        found.append(Announcement.department_id.in_([d.id for d in user.departments]))
    if filters.words:
        found.append(search.matches(dialect, list(filters.words)))
    if filters.department_id is not None:
        found.append(Announcement.department_id == filters.department_id)
    if filters.state is not None:
        found.append(Announcement.state == filters.state)
    if filters.platform is not None:
        found.append(exists().where(
            Target.announcement_id == Announcement.id, Channel.id == Target.channel_id,
            Channel.platform == filters.platform,
        ))
    if filters.author is not None:
        found.append(func.lower(User.email) == filters.author.lower())
    if filters.written_from is not None:
        found.append(Announcement.created_at >= filters.written_from)
    if filters.written_before is not None:
        found.append(Announcement.created_at < filters.written_before)
    return found


def browse(session: Session, *, user: User, filters: Filters, limit: int, cursor: str | None) -> Window:
    """One page of what `user` may see, newest first by id: a row keeps its
    place while others are added or edited, so walking "older" from the first
    page meets every row once."""
    direction, edge = read_cursor(cursor) if cursor else ("older", None)
    query = (
        select(*BROWSE)
        .join(Department, Department.id == Announcement.department_id)
        .join(User, User.id == Announcement.author_id)
        .where(*_conditions(session.get_bind().dialect.name, user=user, filters=filters))
        .limit(limit + 1)
    )
    if direction == "newer":
        query = query.where(Announcement.id > edge).order_by(Announcement.id.asc())
    else:
        if edge is not None:
            query = query.where(Announcement.id < edge)
        query = query.order_by(Announcement.id.desc())
    rows = list(session.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == "newer":
        rows.reverse()
        older = encode_cursor(rows[-1].id) if rows else None
        newer = encode_cursor(rows[0].id, "newer") if more and rows else None
    else:
        older = encode_cursor(rows[-1].id) if more and rows else None
        newer = encode_cursor(rows[0].id, "newer") if edge is not None and rows else None
    return Window(items=rows, older=older, newer=newer)

"""Comments on an announcement under /api/v1: a question before approving, the answer."""

from typing import Annotated

from fastapi import APIRouter, Query

from civicpost.config import Settings
from civicpost.drafting import access, comments
from civicpost.drafting.listing import decode_cursor, encode_cursor
from civicpost.models import Comment
from civicpost.schemas import CommentIn
from civicpost.web.deps import CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.params import IdPath
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


class CommentOut(Shape):
    id: int
    announcement_id: int
    author: str
    author_name: str
    body: str
    created_at: Instant


class CommentPage(Shape):
    items: list[CommentOut]
    next_cursor: str | None


def _out(comment: Comment, settings: Settings) -> CommentOut:
    return CommentOut(id=comment.id, announcement_id=comment.announcement_id, author=comment.author.email,
                      author_name=comment.author.name, body=comment.body,
                      created_at=instant(comment.created_at, settings.zone) or "")


@router.get("/announcements/{announcement_id}/comments", response_model=CommentPage)
@one_trip
def list_comments(
    announcement_id: IdPath,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CommentPage:
    """The announcement's comments, oldest first; `next_cursor` fetches the next page."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    after_id = decode_cursor(cursor) if cursor else 0
    rows = comments.listed(session, announcement, after_id=after_id, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return CommentPage(items=[_out(c, settings) for c in rows],
                       next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


@router.post("/announcements/{announcement_id}/comments", status_code=201, response_model=CommentOut)
@one_trip
def add_comment(
    announcement_id: IdPath, body: CommentIn, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> CommentOut:
    """Ask or answer: anyone who may see the announcement may comment; it shows in the announcement's history."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    return _out(comments.add(session, author=user, announcement=announcement, body=body.body), settings)

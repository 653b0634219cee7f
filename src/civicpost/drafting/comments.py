"""Comments on an announcement: a question before approving, the answer.

Anyone who may see the announcement may comment on it. Each comment is also an
audit event, so it is part of the announcement's history and of its record.
"""

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.drafting.access import ensure_can_view
from civicpost.errors import Invalid
from civicpost.models import Announcement, Comment, User
from civicpost.schemas import MAX_COMMENT_CHARS, CommentIn

# The history shows the start of a comment; the comment itself keeps every word.
EXCERPT_CHARS = 200


def checked_body(text: str) -> str:
    """The comment's text as it will be stored, or Invalid saying what to fix (the API's own rules)."""
    try:
        return CommentIn.model_validate({"body": text}).body
    except ValidationError as exc:
        item = exc.errors()[0]
        if item["type"] in ("string_too_short", "missing"):
            message = "write something first: a comment cannot be empty"
        elif item["type"] == "string_too_long":
            message = f"a comment may be at most {MAX_COMMENT_CHARS} characters; this one has {len(text.strip())}"
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
        raise Invalid(message, errors=[{"field": "body", "message": message}]) from None


def add(session: Session, *, author: User, announcement: Announcement, body: str) -> Comment:
    ensure_can_view(author, announcement)
    comment = Comment(announcement_id=announcement.id, author_id=author.id, author=author, body=checked_body(body))
    session.add(comment)
    session.flush()
    excerpt = comment.body if len(comment.body) <= EXCERPT_CHARS else comment.body[:EXCERPT_CHARS - 1] + "…"
    audit.record(session, actor=author, action="comment", object_type="announcement", object_id=announcement.id,
                 detail={"comment_id": comment.id, "excerpt": excerpt})
    return comment


def listed(
    session: Session, announcement: Announcement, *, after_id: int = 0, limit: int | None = None
) -> list[Comment]:
    """Oldest first, as a conversation reads."""
    query = (
        select(Comment)
        .where(Comment.announcement_id == announcement.id, Comment.id > after_id)
        .order_by(Comment.id)
        .limit(limit)
    )
    return list(session.scalars(query))

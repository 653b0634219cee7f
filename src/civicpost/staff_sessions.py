"""Signed-in browsers, kept on the server.

The browser's cookie holds only a random token; the row is found by the
token's SHA-256, so the database never holds a token that would sign anyone in,
and ending a session is deleting its row: a copied cookie stops working at
once. Each sign-in makes a new token (no fixation).
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.models import StaffSession, User

# last_seen_at is written at most this often: a page view is not a write.
TOUCH_EVERY = timedelta(minutes=1)
# Long enough for any token we hand out (43 characters); longer is not ours.
MAX_TOKEN_LENGTH = 100


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session, *, user: User, ip: str | None, user_agent: str | None, idle: timedelta,
    method: str = "password", factor_due: bool = False, data: dict | None = None, now: datetime | None = None,
) -> str:
    """A new session for `user`, signed in by `method`; returns the token for the cookie (never stored).
    With `factor_due` the session waits for a second factor before it reaches any other page. `data`
    starts the session's data (a flash message for the first page, say)."""
    now = now or utcnow()
    sweep(session, idle=idle, now=now)
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=token_hash(token), user_id=user.id, csrf=secrets.token_urlsafe(32), data=dict(data or {}),
            created_at=now, last_seen_at=now, ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:300] or None,
            method=method, factor_due=factor_due,
        )
    )
    session.flush()
    return token


_FIND = (
    select(StaffSession)
    .join(User, User.id == StaffSession.user_id)
    .where(StaffSession.token_hash == bindparam("token_hash"), User.active.is_(True))
)


def find(session: Session, *, token: str | None, idle: timedelta, now: datetime | None = None) -> StaffSession | None:
    """The live session for a cookie's token: None if unknown, ended, idle too long, or its user deactivated."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = session.scalar(_FIND, {"token_hash": token_hash(token)})
    if row is None or row.last_seen_at <= (now or utcnow()) - idle:
        return None
    return row


def touch_due(last_seen_at: datetime, *, now: datetime | None = None) -> bool:
    return (now or utcnow()) - last_seen_at >= TOUCH_EVERY


def save(session: Session, *, session_id: int, data: dict[str, Any], last_seen_at: datetime) -> None:
    session.execute(
        update(StaffSession).where(StaffSession.id == session_id).values(data=data, last_seen_at=last_seen_at))


def end(session: Session, *, token: str | None) -> None:
    if token and len(token) <= MAX_TOKEN_LENGTH:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))


def end_all(session: Session, *, user_id: int, keep: int | None = None) -> int:
    """End every session of a user (all but `keep`, the one in use); returns how many ended."""
    query = delete(StaffSession).where(StaffSession.user_id == user_id)
    if keep is not None:
        query = query.where(StaffSession.id != keep)
    result: CursorResult[Any] = session.execute(query)  # type: ignore[assignment]  # a DELETE gives a CursorResult
    return result.rowcount or 0


def count(session: Session, *, user_id: int, idle: timedelta, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - idle
    return session.scalar(
        select(func.count()).select_from(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.last_seen_at > cutoff)
    ) or 0


def sweep(session: Session, *, idle: timedelta, now: datetime | None = None) -> None:
    """Remove sessions idle too long (they are already refused; this keeps the table small)."""
    session.execute(delete(StaffSession).where(StaffSession.last_seen_at <= (now or utcnow()) - idle))

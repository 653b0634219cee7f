"""API tokens: made for one person, shown once, stored as SHA-256, optionally expiring, revocable."""

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Connection, CursorResult, bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from civicpost import audit
from civicpost.db import transaction, utcnow
from civicpost.errors import Invalid, NotFound
from civicpost.identity import scopes as token_scopes
from civicpost.identity.scopes import Scope
from civicpost.models import ApiToken, Reader, User
from civicpost.security import hash_token, new_token

log = logging.getLogger(__name__)

MAX_DAYS = 3650
# last_used_at is written at most this often per token: the API is a hot path.
TOUCH_EVERY = timedelta(minutes=1)
# Who the record names when a change comes from the `civicpost` command, not a signed-in person.
CLI = "command line"


TokenStatus = Literal["active", "expired", "revoked"]


def status(token: ApiToken, *, now: datetime | None = None) -> TokenStatus:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def create(
    session: Session, *, user: User, name: str = "", expires_in_days: int | None = None, actor: User | None = None,
    scopes: Iterable[Scope] | None = None, unscoped: bool = False, now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """Make a token for `user`; returns the token itself (never stored) and its record.

    `scopes` left out: what the person may do. Refused if the person may not hold one of them; the
    rule for tokens made on the web or through the API (`identity.scopes.check_web_token`) is the caller's.
    `unscoped`: a token like those made before scopes, that may do whatever its owner may now or later
    (the demo's and the tests' people, whose powers change after their token is made).
    """
    chosen = token_scopes.ordered(scopes) if scopes is not None else token_scopes.may_hold(user)
    token_scopes.check_may_hold(user, chosen)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise Invalid(
            f"expires_in_days must be a whole number from 1 to {MAX_DAYS}, "
            "or left out for a token that does not expire",
            errors=[{"field": "expires_in_days", "message": f"use a whole number from 1 to {MAX_DAYS}"}],
        )
    now = now or utcnow()
    token = new_token()
    record = ApiToken(
        user_id=user.id, token_hash=hash_token(token), prefix=token[:10], name=name, created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        scopes=None if unscoped else token_scopes.stored(chosen),
    )
    session.add(record)
    session.flush()
    audit.record(
        session, actor=actor or user, action="token.create", object_type="user", object_id=user.id,
        detail={"token_id": record.id, "prefix": record.prefix, "name": name, "expires_in_days": expires_in_days,
                "scopes": record.scopes},
    )
    return token, record


def create_token(session: Session, *, user: User, name: str = "", expires_in_days: int | None = None) -> str:
    """An unscoped token, for the demo and the tests (see `create`)."""
    return create(session, user=user, name=name, expires_in_days=expires_in_days, unscoped=True)[0]


def listed(session: Session, *, user_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query))


def get(session: Session, token_id: int, *, owner: User | None = None) -> ApiToken:
    """A token by id; with `owner`, only theirs (someone else's answers as missing)."""
    token = session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise NotFound(f"no token with id {token_id}")
    return token


def revoke(session: Session, *, token: ApiToken, actor: User | None, now: datetime | None = None) -> ApiToken:
    """Revoke a token; revoking one already revoked changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record(
            session, actor=actor, actor_label=CLI, action="token.revoke", object_type="user", object_id=token.user_id,
            detail={"token_id": token.id, "prefix": token.prefix, "name": token.name},
        )
        session.flush()
    return token


def revoke_all(session: Session, *, user_id: int, now: datetime | None = None) -> int:
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]  # an UPDATE gives a CursorResult
        update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return result.rowcount or 0


Person = TypeVar("Person", User, Reader)


@dataclass(frozen=True)
class Bearer(Generic[Person]):
    """Who a presented token belongs to, and what the checks need of it."""

    user: Person
    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    scopes: str | None  # as stored: None for a token made before scopes


# Which token rows sign in: the same for both ways of loading the person.
_PRESENTED = (ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active.is_(True))
_TOKEN = (ApiToken.id, ApiToken.expires_at, ApiToken.last_used_at, ApiToken.scopes)
# Built once: constructing a statement costs more than running this one.
_BEARER = select(User, *_TOKEN).join(ApiToken, ApiToken.user_id == User.id).where(*_PRESENTED)
_READER = (
    select(User.id, User.email, User.role, User.emergency_publisher, *_TOKEN)
    .join(ApiToken, ApiToken.user_id == User.id).where(*_PRESENTED)
)


def bearer(session: Session, token: str) -> Bearer[User] | None:
    """One indexed lookup on every API request; an expired token is found (so the answer can say so)."""
    row = session.execute(_BEARER, {"token_hash": hash_token(token)}).first()
    return Bearer(*row) if row else None


def reader(connection: Connection, token: str) -> Bearer[Reader] | None:
    """As `bearer`, with the person as a Reader: plain columns, no ORM object."""
    row = connection.execute(_READER, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    user_id, email, role, emergency_publisher, token_id, expires_at, last_used_at, held = row
    return Bearer(Reader(user_id, email, role, emergency_publisher, connection), token_id, expires_at, last_used_at,
                  held)


def user_for_token(session: Session, token: str) -> User | None:
    found = bearer(session, token)
    if found is None or (found.expires_at is not None and found.expires_at <= utcnow()):
        return None
    return found.user


# Tokens this process wrote last_used_at for lately (id -> monotonic time), so
# a burst of requests with one token makes one write, not one per request.
touched: dict[int, float] = {}
touched_lock = threading.Lock()


def touch_due(found: Bearer, *, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if found.last_used_at is not None and now - found.last_used_at < TOUCH_EVERY:
        return False
    with touched_lock:
        last = touched.get(found.token_id)
        if last is not None and time.monotonic() - last < TOUCH_EVERY.total_seconds():
            return False
        touched[found.token_id] = time.monotonic()
    return True


def touch(factory: sessionmaker[Session], *, token_id: int, now: datetime | None = None) -> None:
    """Write last_used_at in a transaction of its own, after the request's (never holding its lock)."""
    now = now or utcnow()
    try:
        with transaction(factory) as session:
            session.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id,
                       or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOUCH_EVERY))
                .values(last_used_at=now)
            )
    except SQLAlchemyError:
        # Only a record of use: never fail the request for it.
        log.warning("could not record the use of token %s", token_id, exc_info=True)

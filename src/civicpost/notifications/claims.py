"""Claiming notifications under a lease and recording what became of them.

The same rules as deliveries (engine/claims.py): a claim leases rows and
commits; the mail or the hook is sent outside any transaction; the outcome is
written only while the lease is still ours. A non-emergency "waiting" row
waits out the digest window, and when one of a person's digest rows is due
all of that person's digest rows go in the same mail.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from civicpost.db import rows_changed
from civicpost.models import Notification, User

OPEN = ("pending", "retrying")
# A sender that died mid-send may have handed the mail over: it goes again,
# with the same Message-ID, so a mail program can drop the second copy.
LEASE_LOST = "the sender stopped before it recorded this send; sending again"


@dataclass
class Message:
    """What one mail or one hook post carries: one row, or a person's digest rows."""

    ids: list[int]
    event: str
    digest: bool
    attempts: int
    user_id: int | None = None
    email: str | None = None
    name: str | None = None
    active: bool = True
    department_id: int | None = None
    items: list[dict[str, Any]] = field(default_factory=list)


def _lock(query, dialect: str):
    if dialect == "postgresql":
        return query.with_for_update(skip_locked=True, of=Notification)
    return query  # SQLite: the claim runs under BEGIN IMMEDIATE


def claim(session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: float,
          digest_window: timedelta) -> list[Message]:
    """Lease due notifications to `owner` and group them into messages; the caller commits."""
    dialect = session.get_bind().dialect.name
    session.execute(
        update(Notification)
        .where(Notification.status == "sending", Notification.lease_expires_at < now)
        .values(status="retrying", lease_owner=None, lease_expires_at=None, last_error=LEASE_LOST)
        .execution_options(synchronize_session=False)
    )
    due = session.execute(_lock(
        select(Notification.id, Notification.user_id, Notification.digest)
        .where(Notification.status.in_(OPEN),
               or_(and_(Notification.digest.is_(False), Notification.next_attempt_at <= now),
                   and_(Notification.digest.is_(True), Notification.next_attempt_at <= now - digest_window)))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit), dialect)).all()
    ids = {row.id for row in due}
    digest_users = {row.user_id for row in due if row.digest}
    if digest_users:
        ids |= set(session.scalars(_lock(
            select(Notification.id)
            .where(Notification.status.in_(OPEN), Notification.digest.is_(True),
                   Notification.user_id.in_(digest_users)), dialect)))
    if not ids:
        return []
    session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.status.in_(OPEN))
        .values(status="sending", lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(Notification, User.email, User.name, User.active)
        .outerjoin(User, User.id == Notification.user_id)
        .where(Notification.id.in_(ids), Notification.lease_owner == owner, Notification.status == "sending")
        .order_by(Notification.id)
    ).all()
    messages: dict[tuple[str, int], Message] = {}
    for row, email, name, active in rows:
        key = ("digest", row.user_id) if row.digest and row.user_id is not None else ("one", row.id)
        message = messages.get(key)
        if message is None:
            message = messages[key] = Message(ids=[], event=row.event, digest=row.digest, attempts=0,
                                              user_id=row.user_id, email=email, name=name,
                                              active=bool(active) if row.user_id is not None else True,
                                              department_id=row.department_id)
        message.ids.append(row.id)
        message.attempts = max(message.attempts, row.attempts)
        message.items.append({**row.facts, "announcement_id": row.announcement_id, "id": row.id})
    return list(messages.values())


def _held(ids: list[int], owner: str):
    return and_(Notification.id.in_(ids), Notification.lease_owner == owner, Notification.status == "sending")


def mark_sent(session: Session, ids: list[int], *, owner: str, now: datetime) -> int:
    return rows_changed(session.execute(
        update(Notification).where(_held(ids, owner))
        .values(status="sent", sent_at=now, lease_owner=None, lease_expires_at=None, last_error=None)
        .execution_options(synchronize_session=False)))


def mark_skipped(session: Session, ids: list[int], *, owner: str, why: str) -> int:
    """Not sent, on purpose (the item no longer waits, no mail server is set): kept, with the reason."""
    if not ids:
        return 0
    return rows_changed(session.execute(
        update(Notification).where(_held(ids, owner))
        .values(status="skipped", lease_owner=None, lease_expires_at=None, last_error=why)
        .execution_options(synchronize_session=False)))


def mark_failed_attempt(session: Session, message: Message, *, owner: str, error: str, retry_at: datetime | None,
                        digest_window: timedelta) -> int:
    """Try again at `retry_at`, or (None) give up: the row stays, `failed`, with the error."""
    if retry_at is None:
        values: dict[str, Any] = {"status": "failed"}
    else:
        # A digest row is due a digest window after next_attempt_at (see claim).
        values = {"status": "retrying", "next_attempt_at": retry_at - digest_window if message.digest else retry_at}
    return rows_changed(session.execute(
        update(Notification).where(_held(message.ids, owner))
        .values(lease_owner=None, lease_expires_at=None, last_error=error, **values)
        .execution_options(synchronize_session=False)))

"""Writing notifications in the transaction of the event that causes them (an outbox).

Nothing is sent here: a row committed with the event is sent later by a
worker (sender.py), and a rolled-back event leaves no row. Who receives what
is decided now, from each person's choices as they are at the event.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.models import Announcement, Channel, DepartmentHook, Notification, Role, User
from civicpost.notifications.kinds import Event, wanted_by

# The events a department's chat hook hears of.
HOOK_EVENTS = (Event.failed, Event.channel_attention)


def queue(session: Session, *, event: Event | str, announcement_ids: Iterable[int] = (),
          channel_errors: Mapping[int, str | None] | None = None, reason: str | None = None) -> int:
    """Write the notifications `event` causes; returns how many rows were written.

    `channel_errors`: for channel_attention, each channel's id and what its platform said.
    A non-emergency "waiting" row waits for the approver's digest (the sender gathers them).
    """
    event = Event(event)
    rows: list[Notification] = []
    if event == Event.channel_attention:
        errors = dict(channel_errors or {})
        for channel in _channels_newly_needing_attention(session, sorted(errors)):
            rows += _for_channel(session, channel, errors[channel.id] or channel.last_error)
    else:
        ids = sorted(set(announcement_ids))
        announcements = session.scalars(select(Announcement).where(Announcement.id.in_(ids))).all() if ids else []
        for announcement in announcements:
            rows += _for_announcement(session, event, announcement, reason=reason)
    session.add_all(rows)
    if rows:
        session.flush()
    return len(rows)


def _facts(announcement: Announcement, **more: Any) -> dict[str, Any]:
    return {"title": announcement.title, "department": announcement.department.name,
            "announcement_id": announcement.id, "emergency": announcement.emergency,
            **{k: v for k, v in more.items() if v is not None}}


def _for_announcement(session: Session, event: Event, announcement: Announcement, *,
                      reason: str | None) -> list[Notification]:
    facts = _facts(announcement, reason=reason)
    now = utcnow()
    if event == Event.waiting:
        approvers = list(session.scalars(
            select(User).where(User.active.is_(True), User.role.in_((Role.approver, Role.admin)),
                               User.id != announcement.author_id).order_by(User.id)))
        emergency = announcement.emergency
        return [Notification(event=event, user_id=u.id, announcement_id=announcement.id, facts=facts,
                             emergency=emergency, digest=not emergency, next_attempt_at=now)
                for u in wanted_by(session, approvers, "waiting")]
    rows: list[Notification] = []
    author = session.get(User, announcement.author_id)
    if author is not None and author.active:
        rows += [Notification(event=event, user_id=u.id, announcement_id=announcement.id, facts=facts,
                              emergency=announcement.emergency, next_attempt_at=now)
                 for u in wanted_by(session, [author], event.value)]
    if event == Event.failed:
        admins = [u for u in _admins(session) if author is None or u.id != author.id]
        rows += [Notification(event=event, user_id=u.id, announcement_id=announcement.id, facts=facts,
                              emergency=announcement.emergency, next_attempt_at=now)
                 for u in wanted_by(session, admins, "trouble")]
        rows += _for_hook(session, event, announcement.department_id, facts)
    return rows


def _for_channel(session: Session, channel: Channel, error: str | None) -> list[Notification]:
    facts = {"channel": channel.name, "platform": channel.platform, "department": channel.department.name,
             "error": error}
    now = utcnow()
    rows = [Notification(event=Event.channel_attention, user_id=u.id, facts=facts, next_attempt_at=now)
            for u in wanted_by(session, _admins(session), "trouble")]
    return rows + _for_hook(session, Event.channel_attention, channel.department_id, facts)


def _for_hook(session: Session, event: Event, department_id: int, facts: dict[str, Any]) -> list[Notification]:
    if event not in HOOK_EVENTS or session.get(DepartmentHook, department_id) is None:
        return []
    return [Notification(event=event, department_id=department_id, facts=facts, next_attempt_at=utcnow(),
                         announcement_id=facts.get("announcement_id"))]


def _admins(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True), User.role == Role.admin)
                                .order_by(User.id)))


def _channels_newly_needing_attention(session: Session, channel_ids: list[int]) -> list[Channel]:
    """Channels not yet marked as needing attention, locked until the commit: of
    two workers marking one channel at once, only the first tells anyone."""
    if not channel_ids:
        return []
    query = select(Channel).where(Channel.id.in_(channel_ids), Channel.needs_attention.is_(False)) \
        .order_by(Channel.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Channel)
    return list(session.scalars(query))

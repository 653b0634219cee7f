"""Writing notifications in the transaction of the event that causes them (an outbox).

Nothing is sent here: a row committed with the event is sent later by a
worker (sender.py), and a rolled-back event leaves no row. Who receives what
is decided now, from each person's choices as they are at the event.

The worker's recorder queues notifications for every batch of announcements it
settles, so however many announcements an event covers, the reads are a fixed
few (announcements with their authors, the choices, admins, hooks) and the
rows go in as one INSERT.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from civicpost import contributors
from civicpost.db import utcnow
from civicpost.models import Announcement, Channel, Department, DepartmentHook, Notification, Role, User
from civicpost.notifications.kinds import Event, wanted_by

# The events a department's chat hook hears of.
HOOK_EVENTS = (Event.failed, Event.channel_attention)


def queue(session: Session, *, event: Event | str, announcement_ids: Iterable[int] = (),
          channel_errors: Mapping[int, str | None] | None = None, reason: str | None = None,
          by: int | None = None) -> int:
    """Write the notifications `event` causes; returns how many rows were written.

    `channel_errors`: for channel_attention, each channel's id and what its platform said.
    A non-emergency "waiting" row waits for the approver's digest (the sender gathers them).
    `by`: for break_glass, the emergency publisher, who is not told of their own publish.
    """
    event = Event(event)
    if event == Event.channel_attention:
        rows = _for_channels(session, dict(channel_errors or {}))
    else:
        rows = _for_announcements(session, event, sorted(set(announcement_ids)), reason=reason, by=by)
    if rows:
        now = utcnow()
        session.execute(insert(Notification), [
            {"user_id": None, "department_id": None, "announcement_id": None, "emergency": False, "digest": False,
             "next_attempt_at": now, "event": event.value, **row} for row in rows])
    return len(rows)


def _for_announcements(session: Session, event: Event, ids: list[int], *, reason: str | None,
                       by: int | None = None) -> list[dict[str, Any]]:
    if not ids:
        return []
    found = session.execute(
        select(Announcement.id, Announcement.title, Announcement.emergency, Announcement.department_id,
               Department.name.label("department"), User)
        .join(Department, Department.id == Announcement.department_id)
        .join(User, User.id == Announcement.author_id)
        .where(Announcement.id.in_(ids)).order_by(Announcement.id)).all()
    if event == Event.waiting:
        return _waiting(session, found, reason=reason)
    if event == Event.break_glass:
        return _break_glass(session, found, reason=reason, by=by)
    authors = {row.User.id: row.User for row in found if row.User.active}
    telling = {u.id for u in wanted_by(session, list(authors.values()), event.value)}
    troubled: set[int] = set()
    hooked: set[int] = set()
    if event == Event.failed:
        troubled = {u.id for u in wanted_by(session, _admins(session), "trouble")}
        hooked = _hooked(session, {row.department_id for row in found})
    rows: list[dict[str, Any]] = []
    for row in found:
        facts = _facts(row, reason=reason)
        common = {"announcement_id": row.id, "facts": facts, "emergency": row.emergency}
        author = row.User.id
        rows += [{"user_id": author, **common}] if author in telling else []
        rows += [{"user_id": admin, **common} for admin in sorted(troubled - {author})]
        rows += [{"department_id": row.department_id, **common}] if row.department_id in hooked else []
    return rows


def _waiting(session: Session, found: Sequence[Any], *, reason: str | None) -> list[dict[str, Any]]:
    """Approvers who may approve it (not its author, nor anyone who changed it since the last approval);
    an emergency at once, the rest in the digest."""
    approvers = list(session.scalars(
        select(User).where(User.active.is_(True), User.role.in_((Role.approver, Role.admin))).order_by(User.id)))
    wanting = [u.id for u in wanted_by(session, approvers, "waiting")]
    barred = contributors.by_authors(session, {row.id: row.User.id for row in found})
    return [{"user_id": approver, "announcement_id": row.id, "facts": _facts(row, reason=reason),
             "emergency": row.emergency, "digest": not row.emergency}
            for row in found for approver in wanting if approver not in barred[row.id]]


def _break_glass(session: Session, found: Sequence[Any], *, reason: str | None, by: int | None) -> list[dict[str, Any]]:
    """Approvers who chose "waiting", other than the publisher, at once: a review is due."""
    approvers = list(session.scalars(
        select(User).where(User.active.is_(True), User.role.in_((Role.approver, Role.admin))).order_by(User.id)))
    wanting = [u.id for u in wanted_by(session, approvers, "waiting")]
    return [{"user_id": approver, "announcement_id": row.id, "facts": _facts(row, reason=reason),
             "emergency": True, "digest": False}
            for row in found for approver in wanting if approver != by]


def _facts(row: Any, **more: Any) -> dict[str, Any]:
    return {"title": row.title, "department": row.department, "announcement_id": row.id,
            "emergency": row.emergency, **{k: v for k, v in more.items() if v is not None}}


def _for_channels(session: Session, errors: dict[int, str | None]) -> list[dict[str, Any]]:
    channels = _channels_newly_needing_attention(session, sorted(errors))
    if not channels:
        return []
    admins = [u.id for u in wanted_by(session, _admins(session), "trouble")]
    hooked = _hooked(session, {channel.department_id for channel in channels})
    rows: list[dict[str, Any]] = []
    for channel in channels:
        facts = {"channel": channel.name, "platform": channel.platform, "department": channel.department.name,
                 "error": errors[channel.id] or channel.last_error}
        rows += [{"user_id": admin, "facts": facts} for admin in admins]
        rows += [{"department_id": channel.department_id, "facts": facts}] if channel.department_id in hooked else []
    return rows


def _hooked(session: Session, department_ids: set[int]) -> set[int]:
    """Of these departments, the ones with a chat hook."""
    return set(session.scalars(select(DepartmentHook.department_id)
                               .where(DepartmentHook.department_id.in_(sorted(department_ids)))))


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

"""Who wrote an announcement's current words (SPEC §8.1 "Contributors").

The author, and everyone who changed the content since the last approval
(since creation if it was never approved), are contributors, and no
contributor may approve. The audit trail is the record: `create` and `edit`
events name who wrote, `approve` events mark where a second person looked.
An edit that voids an approval comes after that approval, so its author stays
a contributor until someone else approves.
"""

from functools import cache

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from civicpost.models import Announcement, AuditEvent, User

# Audit actions that put words into an announcement (workflow.edit records
# one only when something changed).
WRITING = ("create", "edit")


@cache
def _writers() -> Select:
    """(announcement id, actor id) of every writing event after the last
    approval; each announcement's events are one range of the
    (object_type, object_id, id) index."""
    approval = aliased(AuditEvent)
    last_approval = (
        select(func.max(approval.id))
        .where(approval.object_type == "announcement", approval.object_id == AuditEvent.object_id,
               approval.action == "approve")
        .scalar_subquery()
    )
    return (
        select(AuditEvent.object_id, AuditEvent.actor_id)
        .distinct()
        .where(
            AuditEvent.object_type == "announcement",
            AuditEvent.object_id.in_(bindparam("announcement_ids", expanding=True)),
            AuditEvent.action.in_(WRITING),
            AuditEvent.actor_id.is_not(None),
            AuditEvent.id > func.coalesce(last_approval, 0),
        )
    )


def of_many(session: Session, announcements: list[Announcement]) -> dict[int, set[int]]:
    """Announcement id -> ids of its contributors, in one query for all."""
    return by_authors(session, {a.id: a.author_id for a in announcements})


def by_authors(session: Session, authors: dict[int, int]) -> dict[int, set[int]]:
    """The same from each announcement's id and its author's."""
    found = {announcement_id: {author_id} for announcement_id, author_id in authors.items()}
    if found:
        for announcement_id, actor_id in session.execute(_writers(), {"announcement_ids": sorted(found)}):
            found[announcement_id].add(actor_id)
    return found


def of(session: Session, announcement: Announcement) -> set[int]:
    return of_many(session, [announcement])[announcement.id]


def refusal(user: User, announcement: Announcement) -> str:
    """Why a contributor may not approve, in words that say who may."""
    did = "wrote" if announcement.author_id == user.id else "changed"
    return f"you {did} this announcement; a second person who did not write or change it must approve it"

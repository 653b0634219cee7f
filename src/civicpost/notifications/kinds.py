"""What a person can be told, who is told it by default, and each person's choices."""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civicpost.models import NotificationChoice, Role, User


class Event(StrEnum):
    """What happened; each event becomes notifications of one or more kinds."""

    waiting = "waiting"  # submitted: approvers
    approved = "approved"  # the author
    rejected = "rejected"  # the author
    published = "published"  # the author
    failed = "failed"  # the author, admins and the department's hook
    channel_attention = "channel_attention"  # admins and the department's hook
    break_glass = "break_glass"  # published alone by an emergency publisher: approvers, at once
    quiet = "quiet"  # weekly: each department's people (admins: every department)
    suspension_start = "suspension_start"  # approvers, admins, the departments' people and hooks, at once
    suspension_end = "suspension_end"  # the same people


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    # Who sees the checkbox: everyone, people who can approve, admins.
    audience: str
    default_roles: frozenset[str]

    def shown_to(self, user: User) -> bool:
        if self.audience == "approvers":
            return user.can_approve
        if self.audience == "admins":
            return user.is_admin
        return True

    def default_for(self, user: User) -> bool:
        return user.role in self.default_roles


EVERYONE = frozenset({Role.staff, Role.approver, Role.admin})
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("waiting", "An announcement waits for my approval (emergencies at once, others in a digest)", "approvers",
         frozenset({Role.approver})),
    Kind("approved", "My announcement was approved", "everyone", EVERYONE),
    Kind("rejected", "My announcement was sent back", "everyone", EVERYONE),
    Kind("published", "My announcement was published", "everyone", EVERYONE),
    Kind("failed", "My announcement failed to publish on a channel", "everyone", EVERYONE),
    Kind("trouble", "Any department: a delivery failed or a channel needs attention", "admins",
         frozenset({Role.admin})),
    Kind("quiet", "Weekly: my departments' quiet channels and access about to expire (admins: every department)",
         "everyone", EVERYONE),
)}


def shown(user: User) -> list[Kind]:
    return [kind for kind in KINDS.values() if kind.shown_to(user)]


def choices_for(session: Session, user: User) -> dict[str, bool]:
    """Every kind this person may choose, ticked or not (their choice, else the default)."""
    saved = {kind: wanted for kind, wanted in session.execute(
        select(NotificationChoice.kind, NotificationChoice.wanted).where(NotificationChoice.user_id == user.id))}
    return {kind.name: saved.get(kind.name, kind.default_for(user)) for kind in shown(user)}


def wanted_by(session: Session, users: list[User], kind: str) -> list[User]:
    """Of `users`, those who want `kind` (by their choice, else by default)."""
    if not users:
        return []
    saved = {user_id: wanted for user_id, wanted in session.execute(
        select(NotificationChoice.user_id, NotificationChoice.wanted)
        .where(NotificationChoice.kind == kind, NotificationChoice.user_id.in_([u.id for u in users])))}
    chosen = KINDS[kind]
    return [u for u in users if chosen.shown_to(u) and saved.get(u.id, chosen.default_for(u))]


def save_choices(session: Session, user: User, ticked: set[str]) -> None:
    """Store a choice for every kind shown to the person: ticked is wanted, the rest not."""
    session.execute(delete(NotificationChoice).where(NotificationChoice.user_id == user.id))
    session.add_all(NotificationChoice(user_id=user.id, kind=kind.name, wanted=kind.name in ticked)
                    for kind in shown(user))
    session.flush()

"""What admins see of notifications that did not go out."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicpost.models import Notification, User
from civicpost.notifications.kinds import KINDS, choices_for


@dataclass(frozen=True)
class Trouble:
    failed: int
    retrying: int
    last_error: str | None

    @property
    def any(self) -> bool:
        return bool(self.failed or self.retrying)


def trouble(session: Session) -> Trouble:
    counts = {status: count for status, count in session.execute(
        select(Notification.status, func.count()).where(Notification.status.in_(("failed", "retrying")))
        .group_by(Notification.status))}
    last = session.scalar(
        select(Notification.last_error).where(Notification.status.in_(("failed", "retrying")))
        .order_by(Notification.id.desc()).limit(1))
    return Trouble(failed=counts.get("failed", 0), retrying=counts.get("retrying", 0), last_error=last)


def account_view(session: Session, user: User) -> dict[str, Any]:
    """What the account page's Notifications section shows."""
    return {"notification_choices": choices_for(session, user), "notification_kinds": KINDS,
            "notification_trouble": trouble(session) if user.is_admin else None}

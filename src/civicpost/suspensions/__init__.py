"""Suspensions: a pause of every ordinary scheduled post, city-wide or for chosen departments.

This module holds only what the worker's guard reads before each claim's sends
(`in_force`); starting, ending and releasing are in service.py.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.models import Suspension

# The unended ones only (index ix_suspensions_active); `until` is compared here, not in SQL.
_ACTIVE = select(Suspension.id, Suspension.department_ids, Suspension.until) \
    .where(Suspension.ended_at.is_(None)).order_by(Suspension.id)


@dataclass(frozen=True)
class InForce:
    """The suspensions in force at one moment: (id, department ids or None for the whole city)."""

    items: tuple[tuple[int, frozenset[int] | None], ...]

    def __bool__(self) -> bool:
        return bool(self.items)

    def holder(self, department_id: int) -> int | None:
        """The id of the first suspension that covers this department, if any."""
        for suspension_id, departments in self.items:
            if departments is None or department_id in departments:
                return suspension_id
        return None


def in_force(session: Session, now: datetime | None = None) -> InForce:
    """The suspensions in force now: not ended, and their `until` (if any) not reached."""
    now = now or utcnow()
    return InForce(tuple(
        (row.id, None if row.department_ids is None else frozenset(row.department_ids))
        for row in session.execute(_ACTIVE) if row.until is None or row.until > now
    ))

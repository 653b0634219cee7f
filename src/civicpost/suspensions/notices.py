"""Telling people a suspension started or ended, through the notifications outbox (sent later by a worker).

Who: every active approver and administrator, every active member of the covered departments (of every
department for the whole city), and the covered departments' chat hooks. A pause is something everyone who
posts must know at once, so nobody's notification choices filter it out, and nothing waits for a digest.
"""

from typing import Any, Literal

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.models import Department, DepartmentHook, Notification, Role, Suspension, User, user_departments

EVENTS = {"start": "suspension_start", "end": "suspension_end"}


def queue(session: Session, suspension: Suspension, moment: Literal["start", "end"]) -> int:
    """Write the rows for this start or end; returns how many."""
    covered = suspension.department_ids
    departments = select(Department.id, Department.name).order_by(Department.name)
    if covered is not None:
        departments = departments.where(Department.id.in_(covered))
    names = {i: n for i, n in session.execute(departments)}
    members = select(user_departments.c.user_id)
    if covered is not None:
        members = members.where(user_departments.c.department_id.in_(covered))
    people = session.scalars(select(User.id).where(
        User.active.is_(True), or_(User.role.in_((Role.approver, Role.admin)), User.id.in_(members)))
        .order_by(User.id)).all()
    hooked = session.scalars(select(DepartmentHook.department_id).where(DepartmentHook.department_id.in_(list(names)))
                             .order_by(DepartmentHook.department_id)).all()
    facts: dict[str, Any] = {
        "suspension_id": suspension.id, "reason": suspension.reason,
        "departments": None if covered is None else sorted(names.values()),
        "started_at": suspension.started_at.isoformat(),
        "until": suspension.until.isoformat() if suspension.until else None,
        "ended_at": suspension.ended_at.isoformat() if suspension.ended_at else None,
        "ended_how": suspension.ended_how,
    }
    now = utcnow()
    rows = [{"user_id": user_id, "department_id": None} for user_id in people] + \
        [{"user_id": None, "department_id": department_id} for department_id in hooked]
    if rows:
        session.execute(insert(Notification), [
            {"event": EVENTS[moment], "announcement_id": None, "facts": facts, "emergency": True, "digest": False,
             "next_attempt_at": now, **row} for row in rows])
    return len(rows)

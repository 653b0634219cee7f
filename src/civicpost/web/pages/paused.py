"""The banner every staff page shows while scheduled posts are paused: who, why, since when, which departments.

Read once per page in a read session of its own: one query on the index of unended suspensions (and, only
while one is in force, the names it shows).
"""

from typing import Any

from fastapi import Request
from sqlalchemy import select

from civicpost.db import utcnow
from civicpost.models import Department, Suspension, User


def banner(request: Request) -> list[dict[str, Any]]:
    now = utcnow()
    with request.app.state.read_sessions() as session:
        rows = [(s, name) for s, name in session.execute(
            select(Suspension, User.name).outerjoin(User, User.id == Suspension.started_by_id)
            .where(Suspension.ended_at.is_(None)).order_by(Suspension.id))
            if s.until is None or s.until > now]
        if not rows:
            return []
        wanted = {i for s, _ in rows for i in (s.department_ids or [])}
        names = {i: n for i, n in session.execute(
            select(Department.id, Department.name).where(Department.id.in_(wanted)))} if wanted else {}
    return [{"id": s.id, "reason": s.reason, "since": s.started_at, "until": s.until, "by": name or "someone",
             "departments": None if s.department_ids is None else sorted(names.get(i, "?") for i in s.department_ids)}
            for s, name in rows]

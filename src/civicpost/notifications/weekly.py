"""The weekly mail of quiet channels and access about to lapse (SPEC §8.3).

Each person hears of their own departments (admins: of every department),
once a week, from the first worker that finds the week's report not yet
written after Monday 8 a.m. in the city's time zone; a week with nothing
quiet and nothing expiring sends nothing.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from civicpost import quiet
from civicpost.models import InstanceValue, Notification, User
from civicpost.notifications.kinds import Event, wanted_by

SEND_AT = timedelta(hours=8)  # after midnight on Monday, the city's time


def week_of(now: datetime, zone: ZoneInfo) -> str | None:
    """The week whose report is due at `now` (`2026-W49`), or None before Monday 8 a.m. of it."""
    local = now.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    if local < monday + SEND_AT:
        return None
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def queue_weekly(session: Session, *, now: datetime, zone: ZoneInfo) -> int:
    """Write this week's reports, once; returns how many were written (0: not due, done already, or nothing to say)."""
    week = week_of(now, zone)
    if week is None or not _claim(session, f"weekly-quiet:{week}", now):
        return 0
    found = [q for q in quiet.survey(session, now=now) if q.stale or q.expiring]
    if not found:
        return 0
    by_department: dict[int, list[quiet.Quiet]] = defaultdict(list)
    for q in found:
        by_department[q.department_id].append(q)
    people = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    rows = []
    for person in wanted_by(session, people, "quiet"):
        mine = sorted(by_department) if person.is_admin else sorted(d.id for d in person.departments
                                                                     if d.id in by_department)
        if mine:
            rows.append({"event": Event.quiet.value, "user_id": person.id, "facts": _facts(week, mine, by_department),
                         "emergency": False, "digest": False, "next_attempt_at": now})
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)


def _facts(week: str, departments: list[int], found: dict[int, list[quiet.Quiet]]) -> dict[str, Any]:
    return {"week": week, "departments": [
        {"name": found[d][0].department,
         "quiet": [{"channel": q.name, "platform": q.platform, "days": q.days, "never": q.days_since_post is None}
                   for q in found[d] if q.stale],
         "expiring": [{"channel": q.name, "platform": q.platform, "days": q.expires_in_days}
                      for q in found[d] if q.expiring]}
        for d in departments]}


def _claim(session: Session, key: str, now: datetime) -> bool:
    """True for the one caller that writes `key` first (several workers may try at once)."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    written = session.scalar(make(InstanceValue).values(key=key, value=now.isoformat())
                             .on_conflict_do_nothing(index_elements=["key"]).returning(InstanceValue.key))
    return written is not None

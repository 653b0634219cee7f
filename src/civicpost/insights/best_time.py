"""The best-time hint of the draft form: when a department's own posts did best lately.

Only a claim the history supports is made: a weekday and two-hour slot with
at least MIN_POSTS posts in the last WEEKS weeks, whose median engagement is
at least CLEARLY times the department's median over the same weeks.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.insights.summary import median
from civicpost.models import Department
from civicpost.models.metrics import PostEngagement

WEEKS = 16
MIN_POSTS = 5
CLEARLY = 1.25
SLOT_HOURS = 2


@dataclass(frozen=True)
class BestTime:
    department: str  # its name, as people know it
    weekday: int  # Monday is 0, in the city's zone
    start_hour: int  # the slot is start_hour to start_hour + SLOT_HOURS
    end_hour: int
    times: float  # the slot's median over the department's, to one decimal
    posts: int  # in the slot
    slot_median: float
    department_median: float


def best_time(session: Session, *, department: Department, now: datetime | None = None) -> BestTime | None:
    """The department's best slot of the last WEEKS weeks, or None when nothing is clearly better."""
    now = now or datetime.now(UTC)
    rows = session.execute(select(PostEngagement.weekday, PostEngagement.hour, PostEngagement.engagement).where(
        PostEngagement.department_id == department.id,
        PostEngagement.published_at >= now - timedelta(weeks=WEEKS),
        PostEngagement.published_at <= now,
    )).all()
    overall = median(engagement for _, _, engagement in rows)
    if not overall:  # no posts, or a median of 0: no multiple of it means anything
        return None
    by_hour: dict[tuple[int, int], list[int]] = {}
    for weekday, hour, engagement in rows:
        by_hour.setdefault((weekday, hour), []).append(engagement)
    best: tuple[float, int, int, int] | None = None  # (median, posts, weekday, start hour)
    for weekday in range(7):
        # Slots stay within the day: 10 p.m. to midnight is the last.
        for start in range(24 - SLOT_HOURS + 1):
            values = [v for hour in range(start, start + SLOT_HOURS) for v in by_hour.get((weekday, hour), [])]
            if len(values) < MIN_POSTS:
                continue
            middle = median(values)
            assert middle is not None
            # Ties go to the slot with more posts, then to the earlier one.
            if best is None or (middle, len(values)) > (best[0], best[1]):
                best = (middle, len(values), weekday, start)
    if best is None or best[0] < CLEARLY * overall:
        return None
    middle, count, weekday, start = best
    return BestTime(department=department.name, weekday=weekday, start_hour=start, end_hour=start + SLOT_HOURS,
                    times=round(middle / overall, 1), posts=count, slot_median=middle, department_median=overall)


def for_form(session: Session, *, chosen: Department | None, choices: list[Department]) -> BestTime | None:
    """The hint for a draft form: of the department chosen, or the only one the person drafts for."""
    department = chosen or (choices[0] if len(choices) == 1 else None)
    return best_time(session, department=department) if department is not None else None

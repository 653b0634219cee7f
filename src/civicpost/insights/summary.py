"""Medians of engagement per post, by department and platform, weekday and hour, and week.

Whole weeks are read from the counts kept current with `post_engagement`
(posts per bucket of engagement): the medians per department and platform,
platform and overall from `insight_week_counts`; the weekly trend and the heat
map of the whole city from `insight_slot_counts` (a few spans of weeks, every
department together), of chosen departments from `insight_week_counts` and
`insight_counts`. Each is one GROUP BY, summed by the database. The days of a filter
outside whole weeks are summed from `insight_counts` too: a day of the city is
one weekday of one week there. A median
is then read from the counts per bucket (insights/sketch.py): within
sketch.ERROR of the exact one, on both databases alike. `median` is the exact
one, percentile_cont(0.5), for the best-time hint.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from civicpost.insights import blocks, sketch
from civicpost.insights.filters import Filters
from civicpost.models import Announcement, Department, InsightCount, InsightSlotCount, InsightWeekCount
from civicpost.models.metrics import PostEngagement

TOP_POSTS = 10
# Medians are rounded so that the two databases' last bits never show.
DIGITS = 4
PER_FOLLOWER_DIGITS = 6


@dataclass(frozen=True)
class Group:
    posts: int
    median: float | None  # engagement per post
    per_follower: float | None  # engagement per follower per post, over the posts whose followers are known


@dataclass(frozen=True)
class TopPost:
    delivery_id: int
    announcement_id: int
    title: str
    department: str  # slug
    department_name: str
    platform: str
    engagement: int
    published_at: datetime


@dataclass
class Summary:
    overall: Group
    by_department_platform: dict[tuple[int, str], Group] = field(default_factory=dict)
    by_platform: dict[str, Group] = field(default_factory=dict)
    slots: dict[tuple[int, int], Group] = field(default_factory=dict)  # (weekday, hour) in the city's zone
    weeks: dict[date, Group] = field(default_factory=dict)  # the Monday of each week, in the city's zone
    top: list[TopPost] = field(default_factory=list)
    departments: dict[int, Department] = field(default_factory=dict)


def median(values: Iterable[float]) -> float | None:
    """percentile_cont(0.5): the middle value, or the two middle ones interpolated as PostgreSQL does."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = 0.5 * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    first = float(ordered[lower])
    if lower == upper:
        return first
    return first + (float(ordered[upper]) - first) * (position - lower)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _group(posts: int, middle: float | None, per_follower: float | None) -> Group:
    return Group(posts, _rounded(middle, DIGITS), _rounded(per_follower, PER_FOLLOWER_DIGITS))


def _where(query: Select, filters: Filters) -> Select:
    query = query.where(PostEngagement.published_at >= filters.start, PostEngagement.published_at < filters.end)
    if filters.department_ids is not None:
        query = query.where(PostEngagement.department_id.in_(filters.department_ids))
    if filters.platform is not None:
        query = query.where(PostEngagement.platform == filters.platform)
    return query


# The sets each count is summed into: (department, platform), platform, (weekday, hour), week, everything.
_SETS = ("dp", "p", "s", "w", "all")


class _Tally:
    """Posts per bucket of engagement and of engagement per follower, for every set of `_SETS`."""

    def __init__(self) -> None:
        self.engagement: dict[tuple, Counter[int]] = defaultdict(Counter)
        self.per_follower: dict[tuple, Counter[int]] = defaultdict(Counter)

    def add(self, department_id: int, platform: str, week: date, weekday: int, hour: int, bucket: int,
            follower_bucket: int, posts: int) -> None:
        self.add_week(department_id, platform, week, bucket, follower_bucket, posts)
        self.count((("s", weekday, hour),), bucket, follower_bucket, posts)

    def add_week(self, department_id: int, platform: str, week: date, bucket: int, follower_bucket: int,
                 posts: int) -> None:
        self.count((("dp", department_id, platform), ("p", platform), ("w", week), ("all",)), bucket,
                   follower_bucket, posts)

    def count(self, groups: Iterable[tuple], bucket: int | None, follower_bucket: int | None, posts: int) -> None:
        """Add `posts` to each group's count of `bucket` and of `follower_bucket` (None: leave that one)."""
        for group in groups:
            if bucket is not None:
                self.engagement[group][bucket] += posts
            if follower_bucket is not None and follower_bucket != sketch.UNKNOWN:
                self.per_follower[group][follower_bucket] += posts

    def summary(self) -> Summary:
        summary = Summary(overall=Group(0, None, None))
        for group in self.engagement.keys() | self.per_follower.keys():
            counts = self.engagement.get(group, Counter())
            kind, *rest = group
            found = _group(sum(counts.values()), sketch.median(counts),
                           sketch.median(self.per_follower.get(group, {}), per_follower=True))
            if kind == "dp":
                summary.by_department_platform[(rest[0], rest[1])] = found
            elif kind == "p":
                summary.by_platform[rest[0]] = found
            elif kind == "s":
                summary.slots[(rest[0], rest[1])] = found
            elif kind == "w":
                summary.weeks[rest[0]] = found
            else:
                summary.overall = found
        return summary


def whole_weeks(filters: Filters) -> tuple[date, date] | None:
    """The first and last Monday of the weeks wholly inside the filter's days, if any."""
    first = filters.first_day + timedelta(days=(7 - filters.first_day.weekday()) % 7)
    last = filters.last_day - timedelta(days=6 + (filters.last_day.weekday() - 6) % 7)
    return (first, last) if first <= last else None


def _scoped(query: Select, filters: Filters, table: Any) -> Select:
    if filters.department_ids is not None:
        query = query.where(table.department_id.in_(filters.department_ids))
    if filters.platform is not None:
        query = query.where(table.platform == filters.platform)
    return query


def edge_days(filters: Filters) -> list[tuple[date, int, int]]:
    """The filter's days outside whole weeks, as (Monday, first weekday, last weekday): at most two weeks' worth."""
    weeks = whole_weeks(filters)
    found = []
    for day in (filters.first_day, filters.last_day):
        monday = day - timedelta(days=day.weekday())
        if weeks is not None and weeks[0] <= monday <= weeks[1]:
            continue
        first, last = max(filters.first_day, monday), min(filters.last_day, monday + timedelta(days=6))
        if (monday, first.weekday(), last.weekday()) not in found:
            found.append((monday, first.weekday(), last.weekday()))
    return found


def counts_queries(filters: Filters, weeks: tuple[date, date] | None) -> dict[str, Select]:
    """The sums of the counts of the filter's days: each one GROUP BY (hashed, no sorting); only sums are fetched.

    "departments" gives the medians per (department, platform), and the
    platform's and overall ones summed from those in Python; "weeks" the weekly
    trend and "slots" the heat map; "edge ..." the same for the days outside
    whole weeks, from the hours' counts (a day is a weekday of a week).
    """
    d, c = InsightWeekCount, InsightCount
    queries: dict[str, Select] = {}
    edges = edge_days(filters)
    if edges:
        days = or_(*(and_(c.week == monday, c.weekday.between(first, last)) for monday, first, last in edges))
        queries["edge departments"] = _summed(filters, days, c, c.department_id, c.platform, c.bucket,
                                              c.follower_bucket)
        queries["edge weeks"] = _summed(filters, days, c, c.week, c.bucket, c.follower_bucket)
        queries["edge slots"] = _summed(filters, days, c, c.weekday, c.hour, c.bucket, c.follower_bucket)
    if weeks is None:
        return queries
    queries["departments"] = _summed(filters, d.week.between(*weeks), d, d.department_id, d.platform, d.bucket,
                                     d.follower_bucket)
    if filters.department_ids is not None:
        queries["weeks"] = _summed(filters, d.week.between(*weeks), d, d.week, d.bucket, d.follower_bucket)
        queries["slots"] = _summed(filters, c.week.between(*weeks), c, c.weekday, c.hour, c.bucket, c.follower_bucket)
        return queries
    t = InsightSlotCount
    city = (t.platform == (filters.platform or blocks.EVERY_PLATFORM))
    queries["weeks"] = (select(t.start, t.kind, t.bucket, func.sum(t.posts))
                        .where(city, t.span == 1, t.start.between(*weeks), t.weekday == blocks.WHOLE_WEEK)
                        .group_by(t.start, t.kind, t.bucket))
    queries["slots"] = (select(t.weekday, t.hour, t.kind, t.bucket, func.sum(t.posts))
                        .where(city, tuple_(t.span, t.start).in_(blocks.cover(*weeks)), t.weekday != blocks.WHOLE_WEEK)
                        .group_by(t.weekday, t.hour, t.kind, t.bucket))
    return queries


def _summed(filters: Filters, where: Any, table: Any, *keys: Any) -> Select:
    return _scoped(select(*keys, func.sum(table.posts)).where(where), filters, table).group_by(*keys)


def _from_summaries(session: Session, filters: Filters) -> Summary:
    tally = _Tally()
    queries = counts_queries(filters, whole_weeks(filters))
    for name, query in queries.items():
        if name.endswith("departments"):
            for department_id, platform, bucket, follower_bucket, posts in session.execute(query):
                tally.count((("dp", department_id, platform), ("p", platform), ("all",)), bucket, follower_bucket,
                            posts)
        elif name.startswith("edge") or filters.department_ids is not None:
            for *group, bucket, follower_bucket, posts in session.execute(query):
                tally.count(((name.split()[-1][0], *group),), bucket, follower_bucket, posts)
        else:
            for *group, kind, bucket, posts in session.execute(query):
                tally.count(((name[0], *group),), *_kind(kind, bucket), posts)
    return tally.summary()


def _kind(kind: int, bucket: int) -> tuple[int | None, int | None]:
    return (bucket, None) if kind == blocks.ENGAGEMENT else (None, bucket)


def top_posts(session: Session, filters: Filters, *, limit: int = TOP_POSTS) -> list[TopPost]:
    query = _where(select(
        PostEngagement.delivery_id, PostEngagement.announcement_id, Announcement.title, Department.slug,
        Department.name, PostEngagement.platform, PostEngagement.engagement, PostEngagement.published_at,
    ).join(Announcement, Announcement.id == PostEngagement.announcement_id)
     .join(Department, Department.id == PostEngagement.department_id), filters)
    query = query.order_by(
        PostEngagement.engagement.desc(), PostEngagement.published_at.desc(), PostEngagement.delivery_id.desc()
    ).limit(limit)
    return [TopPost(*row) for row in session.execute(query)]


def summarize(session: Session, filters: Filters, *, zone: ZoneInfo) -> Summary:
    """Every aggregate of the insights page and API for `filters` (already scoped to the reader)."""
    summary = _from_summaries(session, filters)
    summary.top = top_posts(session, filters)
    ids = {department_id for department_id, _ in summary.by_department_platform}
    if ids:
        summary.departments = {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(ids)))}
    return summary


def posts(session: Session, filters: Filters) -> Iterable:
    """Every post in `filters`, oldest first, with its announcement's title and department (for CSV)."""
    query = _where(select(
        PostEngagement.delivery_id, PostEngagement.announcement_id, Announcement.title,
        Department.slug.label("department"), PostEngagement.platform, PostEngagement.channel_id,
        PostEngagement.published_at, PostEngagement.weekday,
        PostEngagement.hour, PostEngagement.engagement, PostEngagement.views, PostEngagement.clicks,
        PostEngagement.followers, PostEngagement.stage,
    ).join(Announcement, Announcement.id == PostEngagement.announcement_id)
     .join(Department, Department.id == PostEngagement.department_id), filters)
    return session.execute(query.order_by(PostEngagement.published_at, PostEngagement.delivery_id))

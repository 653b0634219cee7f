"""Medians of engagement per post, by department and platform, weekday and hour, and week.

Everything is read from `post_engagement` (one row per published post). A
median is PostgreSQL's percentile_cont(0.5) there, in one scan with GROUPING
SETS; on SQLite the rows are grouped here and `median` interpolates exactly as
percentile_cont does, so both databases give the same numbers.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Float, Select, case, cast, func, select, tuple_
from sqlalchemy.orm import Session

from civicpost.insights.filters import Filters
from civicpost.models import Announcement, Department
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


def _per_follower():
    # NULL where followers are unknown: percentile_cont skips NULLs.
    return case((PostEngagement.followers > 0,
                 cast(PostEngagement.engagement, Float) / PostEngagement.followers), else_=None)


def _postgres(session: Session, filters: Filters, zone: ZoneInfo) -> Summary:
    week = cast(func.date_trunc("week", func.timezone(zone.key, PostEngagement.published_at)), Date)
    keys = (PostEngagement.department_id, PostEngagement.platform, PostEngagement.weekday, PostEngagement.hour, week)
    query = _where(select(
        *keys,
        func.grouping(*keys).label("sets"),
        func.count().label("posts"),
        func.percentile_cont(0.5).within_group(PostEngagement.engagement).label("median"),
        func.percentile_cont(0.5).within_group(_per_follower()).label("per_follower"),
    ), filters).group_by(func.grouping_sets(
        tuple_(PostEngagement.department_id, PostEngagement.platform), tuple_(PostEngagement.platform),
        tuple_(PostEngagement.weekday, PostEngagement.hour), tuple_(week), tuple_(),
    ))
    summary = Summary(overall=Group(0, None, None))
    # GROUPING() has one bit per key, the first key highest; a set bit means "not grouped by".
    for department_id, platform, weekday, hour, monday, sets, posts, middle, per_follower in session.execute(query):
        group = _group(posts, middle, per_follower)
        if sets == 0b00111:
            summary.by_department_platform[(department_id, platform)] = group
        elif sets == 0b10111:
            summary.by_platform[platform] = group
        elif sets == 0b11001:
            summary.slots[(weekday, hour)] = group
        elif sets == 0b11110:
            summary.weeks[monday] = group
        elif sets == 0b11111:
            summary.overall = group
    return summary


def _grouped_here(session: Session, filters: Filters, zone: ZoneInfo) -> Summary:
    query = _where(select(
        PostEngagement.department_id, PostEngagement.platform, PostEngagement.weekday, PostEngagement.hour,
        PostEngagement.published_at, PostEngagement.engagement, _per_follower(),
    ), filters)
    buckets: dict[tuple, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for department_id, platform, weekday, hour, published_at, engagement, per_follower in session.execute(query):
        local_day = published_at.astimezone(zone).date()
        monday = local_day - timedelta(days=local_day.weekday())
        for key in (("dp", department_id, platform), ("p", platform), ("s", weekday, hour), ("w", monday), ("all",)):
            engagements, per_followers = buckets[key]
            engagements.append(engagement)
            if per_follower is not None:
                per_followers.append(per_follower)
    summary = Summary(overall=Group(0, None, None))
    for key, (engagements, per_followers) in buckets.items():
        group = _group(len(engagements), median(engagements), median(per_followers))
        kind, *rest = key
        if kind == "dp":
            summary.by_department_platform[(rest[0], rest[1])] = group
        elif kind == "p":
            summary.by_platform[rest[0]] = group
        elif kind == "s":
            summary.slots[(rest[0], rest[1])] = group
        elif kind == "w":
            summary.weeks[rest[0]] = group
        else:
            summary.overall = group
    return summary


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
    if session.get_bind().dialect.name == "postgresql":
        summary = _postgres(session, filters, zone)
    else:
        summary = _grouped_here(session, filters, zone)
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

"""The insights as CSV: one row per post, then the aggregates, each row saying which it is.

Columns: kind, department, platform, announcement_id, title, link,
published_at, week, weekday, hour, posts, engagement, median_engagement,
median_per_follower, views, clicks, followers. `kind` is `post` (one published
post: its engagement, views, clicks and followers near publishing), then
`department_platform`, `platform`, `slot` (weekday 0 = Monday and hour, in
the city's zone), `week` (its Monday) and `all`, with the number of posts and
their medians. A cell that a spreadsheet would run as a formula (starting
with = + - @, a tab or a carriage return) is prefixed with an apostrophe.
"""

import csv
import io
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from civicpost.insights.summary import Group, Summary

COLUMNS = (
    "kind", "department", "platform", "announcement_id", "title", "link", "published_at", "week", "weekday", "hour",
    "posts", "engagement", "median_engagement", "median_per_follower", "views", "clicks", "followers",
)
RISKY = ("=", "+", "-", "@", "\t", "\r")


def safe(value: object) -> str:
    """A cell a spreadsheet shows as text: never a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(RISKY) else text


def announcement_link(base_url: str, announcement_id: int) -> str:
    return f"{base_url.rstrip('/')}/staff/announcements/{announcement_id}"


def _aggregate(kind: str, group: Group, **cells: object) -> dict[str, object]:
    return {"kind": kind, "posts": group.posts, "median_engagement": group.median,
            "median_per_follower": group.per_follower, **cells}


def to_csv(summary: Summary, posts: Iterable, *, zone: ZoneInfo, base_url: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows: list[dict[str, object]] = []
    for post in posts:
        rows.append({
            "kind": "post", "department": post.department, "platform": post.platform,
            "announcement_id": post.announcement_id, "title": post.title,
            "link": announcement_link(base_url, post.announcement_id),
            "published_at": post.published_at.astimezone(zone).isoformat(), "weekday": post.weekday,
            "hour": post.hour, "posts": 1, "engagement": post.engagement, "views": post.views,
            "clicks": post.clicks, "followers": post.followers,
        })
    for (department_id, platform), group in sorted(summary.by_department_platform.items(),
                                                   key=lambda item: (summary.departments[item[0][0]].slug,
                                                                     item[0][1])):
        rows.append(_aggregate("department_platform", group, department=summary.departments[department_id].slug,
                               platform=platform))
    for platform, group in sorted(summary.by_platform.items()):
        rows.append(_aggregate("platform", group, platform=platform))
    for (weekday, hour), group in sorted(summary.slots.items()):
        rows.append(_aggregate("slot", group, weekday=weekday, hour=hour))
    for monday, group in sorted(summary.weeks.items()):
        rows.append(_aggregate("week", group, week=monday.isoformat()))
    rows.append(_aggregate("all", summary.overall))
    for row in rows:
        writer.writerow([safe(row.get(column)) for column in COLUMNS])
    return out.getvalue()

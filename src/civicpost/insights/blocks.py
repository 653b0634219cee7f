"""The city's counts over spans of weeks (insight_slot_counts), for the heat map and the weekly trend.

A span of 2^k weeks (k = 0 .. 6) starts on a Monday a multiple of 2^k weeks
after EPOCH; a run of whole weeks is cut into at most two spans of each length
(`cover`), so the city's 26 weeks are read from a few spans, not 26 weeks of
every department. Kept current by rollup.apply with the other counts.
"""

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from civicpost.insights import sketch

EPOCH = date(2001, 1, 1)  # a Monday
SPANS = (1, 2, 4, 8, 16, 32, 64)
EVERY_PLATFORM = ""
WHOLE_WEEK = -1
ENGAGEMENT, PER_FOLLOWER = 0, 1
KEYS = ("platform", "span", "start", "weekday", "hour", "kind", "bucket")

SlotKey = tuple[str, int, date, int, int, int, int]


def start_of(week: date, span: int) -> date:
    """The first Monday of the span of `span` weeks that holds `week`."""
    return week - timedelta(weeks=((week - EPOCH).days // 7) % span)


def cover(first: date, last: date) -> list[tuple[int, date]]:
    """The fewest spans (span, start) that make up the weeks from Monday `first` to Monday `last`."""
    found = []
    week = first
    while week <= last:
        span = max(s for s in SPANS if start_of(week, s) == week and week + timedelta(weeks=s - 1) <= last)
        found.append((span, week))
        week += timedelta(weeks=span)
    return found


def keys(platform: str, week: date, weekday: int, hour: int, bucket: int, follower_bucket: int) -> Iterable[SlotKey]:
    """Every count one post of these is in."""
    kinds = [(ENGAGEMENT, bucket)]
    if follower_bucket != sketch.UNKNOWN:
        kinds.append((PER_FOLLOWER, follower_bucket))
    for where in (platform, EVERY_PLATFORM):
        for kind, value in kinds:
            yield where, 1, week, WHOLE_WEEK, WHOLE_WEEK, kind, value
            for span in SPANS:
                yield where, span, start_of(week, span), weekday, hour, kind, value


def changes(change: Counter) -> Counter[SlotKey]:
    """insight_counts' changes (keyed as rollup.Key) as changes of insight_slot_counts."""
    found: Counter[SlotKey] = Counter()
    for (_department, platform, week, weekday, hour, bucket, follower_bucket), n in change.items():
        if n:
            for k in keys(platform, week, weekday, hour, bucket, follower_bucket):
                found[k] += n
    return found


def fill(session: Session | Connection) -> None:
    """insight_week_counts and insight_slot_counts summed from insight_counts by the database (both empty before)."""
    dialect = session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    if dialect == "postgresql":
        start = f"c.week - ((c.week - date '{EPOCH}') / 7 % s.span) * 7"
    else:
        start = (f"date(c.week, '-' || ((CAST(julianday(c.week) - julianday('{EPOCH}') AS INTEGER) / 7 % s.span) * 7)"
                 " || ' days')")
    spans = " UNION ALL ".join(f"SELECT {span}" + (" AS span" if span == 1 else "") for span in SPANS)
    session.execute(text(
        "INSERT INTO insight_week_counts (department_id, platform, week, bucket, follower_bucket, posts) "
        "SELECT department_id, platform, week, bucket, follower_bucket, sum(posts) FROM insight_counts "
        "GROUP BY department_id, platform, week, bucket, follower_bucket "
        "ORDER BY department_id, platform, week, bucket, follower_bucket"))
    # Each count of insight_counts goes to its platform and to every platform (e), as an engagement and a
    # per-follower bucket (k), to its hour and (one-week spans only) its whole week (w), in each span (s).
    session.execute(text(f"""
        INSERT INTO insight_slot_counts (platform, span, start, weekday, hour, kind, bucket, posts)
        SELECT platform, span, start, weekday, hour, kind, bucket, sum(posts) FROM (
            SELECT CASE e.every WHEN 1 THEN '{EVERY_PLATFORM}' ELSE c.platform END AS platform, s.span,
                   {start} AS start,
                   CASE w.whole WHEN 1 THEN {WHOLE_WEEK} ELSE c.weekday END AS weekday,
                   CASE w.whole WHEN 1 THEN {WHOLE_WEEK} ELSE c.hour END AS hour, k.kind,
                   CASE k.kind WHEN {ENGAGEMENT} THEN c.bucket ELSE c.follower_bucket END AS bucket, c.posts
            FROM insight_counts c
            CROSS JOIN (SELECT 0 AS every UNION ALL SELECT 1) e
            CROSS JOIN (SELECT {ENGAGEMENT} AS kind UNION ALL SELECT {PER_FOLLOWER}) k
            CROSS JOIN (SELECT 0 AS whole UNION ALL SELECT 1) w
            CROSS JOIN ({spans}) s
            WHERE NOT (k.kind = {PER_FOLLOWER} AND c.follower_bucket = {sketch.UNKNOWN})
              AND NOT (w.whole = 1 AND s.span > 1)
        ) spread
        GROUP BY platform, span, start, weekday, hour, kind, bucket
        ORDER BY platform, span, start, weekday, hour, kind, bucket
    """))

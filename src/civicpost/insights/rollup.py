"""Keeping insight_counts current: one count per (department, platform, week,
weekday, hour, engagement bucket, per-follower bucket), changed in the same
transaction as the post_engagement rows it counts; with them insight_week_counts,
the same counts without the weekday and hour, and insight_slot_counts, the
city's over spans of weeks (insights/blocks.py).

A post's week is the Monday of its local day, found from its UTC time and its
local weekday (the city's, stored with it), so nothing here needs the zone.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicpost.insights import blocks, sketch
from civicpost.models import InsightCount, InsightSlotCount, InsightWeekCount, PostEngagement

_KEYS = ("department_id", "platform", "week", "weekday", "hour", "bucket", "follower_bucket")
# insight_week_counts: the same without the weekday and hour.
_WEEK_KEYS = ("department_id", "platform", "week", "bucket", "follower_bucket")
_CHUNK = 5000


class Counted(NamedTuple):
    """What of a post_engagement row its count depends on."""

    department_id: int
    platform: str
    published_at: datetime
    weekday: int
    hour: int
    engagement: int
    followers: int | None


COLUMNS = (PostEngagement.department_id, PostEngagement.platform, PostEngagement.published_at,
           PostEngagement.weekday, PostEngagement.hour, PostEngagement.engagement, PostEngagement.followers)


def counted(row: Any) -> Counted:
    return Counted(row.department_id, row.platform, row.published_at, row.weekday, row.hour, row.engagement or 0,
                   row.followers)


def week_of(published_at: datetime, weekday: int) -> date:
    """The Monday of the post's local day: of the UTC day and its two neighbours, the one with its weekday."""
    utc_day = published_at.date()
    local = next(d for d in (utc_day, utc_day - timedelta(days=1), utc_day + timedelta(days=1))
                 if d.weekday() == weekday)
    return local - timedelta(days=weekday)


Key = tuple[int, str, date, int, int, int, int]


def key(post: Counted) -> Key:
    return (post.department_id, post.platform, week_of(post.published_at, post.weekday), post.weekday, post.hour,
            sketch.bucket(post.engagement), sketch.per_follower_bucket(post.engagement, post.followers))


def apply(session: Session | Connection, *, removed: Iterable[Counted] = (), added: Iterable[Counted] = ()) -> None:
    """Take `removed` posts out of the counts and put `added` in (a post read again is both)."""
    change: Counter[Key] = Counter()
    for post in removed:
        change[key(post)] -= 1
    for post in added:
        change[key(post)] += 1
    weekly: Counter[tuple] = Counter()
    for k, n in change.items():
        weekly[_week_key(k)] += n
    # Sorted keys: two collectors' transactions lock the rows in the same order and cannot deadlock.
    _change(session, InsightCount, _KEYS, change)
    _change(session, InsightWeekCount, _WEEK_KEYS, weekly)
    _change(session, InsightSlotCount, blocks.KEYS, blocks.changes(change))


def _week_key(k: Key) -> tuple:
    department_id, platform, week, _weekday, _hour, bucket, follower_bucket = k
    return department_id, platform, week, bucket, follower_bucket


def _change(session: Session | Connection, table: Any, keys: Sequence[str], change: Counter) -> None:
    rows: list[dict[str, Any]] = [dict(zip(keys, k, strict=True), posts=n) for k, n in sorted(change.items()) if n]
    if not rows:
        return
    _upsert(session, table, keys, rows)
    emptied = [tuple(r[k] for k in keys) for r in rows if r["posts"] < 0]
    if emptied:
        columns = [getattr(table, k) for k in keys]
        session.execute(delete(table).where(tuple_(*columns).in_(emptied), table.posts <= 0))


def _upsert(session: Session | Connection, table: Any, keys: Sequence[str], rows: Sequence[dict]) -> None:
    dialect = session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), _CHUNK):
        statement = insert(table).values(list(rows[start:start + _CHUNK]))
        session.execute(statement.on_conflict_do_update(
            index_elements=list(keys), set_={"posts": table.posts + statement.excluded.posts}))


def forget(session: Session, delivery_ids: Sequence[int]) -> int:
    """Retracted posts leave the insights: their summary row and their counts."""
    if not delivery_ids:
        return 0
    gone = session.execute(select(*COLUMNS).where(PostEngagement.delivery_id.in_(delivery_ids))).all()
    if gone:
        apply(session, removed=[counted(row) for row in gone])
        session.execute(delete(PostEngagement).where(PostEngagement.delivery_id.in_(delivery_ids))
                        .execution_options(synchronize_session=False))
    return len(gone)


def rebuild(session: Session | Connection, *, weekly: bool = True) -> int:
    """Every count again from post_engagement (after a migration, or to check). Answers how many posts.

    Without `weekly`, insight_week_counts and insight_slot_counts are left alone
    (the migration that made insight_counts runs before they exist)."""
    session.execute(delete(InsightCount))
    if weekly:
        session.execute(delete(InsightWeekCount))
        session.execute(delete(InsightSlotCount))
    counts: Counter[Key] = Counter()
    posts = 0
    result = session.execute(select(*COLUMNS).execution_options(yield_per=_CHUNK))
    for row in result:
        counts[key(counted(row))] += 1
        posts += 1
    rows = [dict(zip(_KEYS, k, strict=True), posts=n) for k, n in sorted(counts.items())]
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(InsightCount), rows[start:start + _CHUNK])
    if weekly:
        blocks.fill(session)
    return posts


def rebuild_connection(connection: Connection) -> int:
    """insight_counts alone, for the migration that made it."""
    return rebuild(connection, weekly=False)

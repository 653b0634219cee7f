"""Readings as rows (SPEC §8.3): which posts and channels are due, leased so
that several workers never read the same batch, and what a reading leaves.

The rules are the deliveries' (engine/claims.py): a claim leases rows and
commits; the platform is read outside any transaction (collector.py); what
was read is written in a new transaction, and only for the rows whose lease
is still ours.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicpost.insights import rollup
from civicpost.models import (
    Announcement,
    Channel,
    Delivery,
    DeliveryStatus,
    MetricChannel,
    MetricJob,
    MetricSnapshot,
    PostEngagement,
    TrackedLink,
)
from civicpost.models.metrics import ENGAGEMENT, STAGES
from civicpost.platforms import Counts, where

# The stage writes go through Core: one UPDATE for many rows (executemany).
_JOBS = cast(Table, MetricJob.__table__)
# How long after publishing each stage is read.
AFTER = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
FOLLOWERS_EVERY = timedelta(days=1)
# A post is swept this long before its first reading is due, never while it is fresh: the
# minutes after a large announcement goes out are the publishing path's (the sweep's
# anti-join over 30,000 posts still going out cost a quarter of the throughput).
SWEEP_LEAD = timedelta(minutes=10)
# A reading that failed waits this long, doubling, up to a day; after this many tries the stage is skipped.
RETRY = timedelta(minutes=5)
MAX_ATTEMPTS = 6


def readable_platforms() -> list[str]:
    return sorted(where(lambda s: s.capabilities.metrics))


def _lock(query: Any, dialect: str, table: Any) -> Any:
    # SKIP LOCKED: another worker's claim takes other rows. SQLite claims under BEGIN IMMEDIATE.
    return query.with_for_update(skip_locked=True, of=table) if dialect == "postgresql" else query


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def stage_due(published_at: datetime, now: datetime, *, after: int = -1) -> int:
    """The stage to read next after stage `after`: the latest one already due
    (a post found late is not read at 1 h, 24 h and 7 d all at once), else the next."""
    latest = max((n for n, name in enumerate(STAGES) if published_at + AFTER[name] <= now and n > after),
                 default=None)
    return latest if latest is not None else after + 1


# --- finding what to read --------------------------------------------------------


def sweep(session: Session, *, now: datetime) -> int:
    """Jobs for published posts that have none and were never read (once their
    first reading is within SWEEP_LEAD), and a follower reading for each channel
    that can be read; off the publishing path."""
    dialect = session.get_bind().dialect.name
    platforms = readable_platforms()
    new = session.execute(
        select(Delivery.id, Delivery.channel_id, Delivery.published_at)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Channel.platform.in_(platforms), Delivery.status == DeliveryStatus.published,
               Delivery.remote_id.is_not(None), Delivery.published_at > now - AFTER["30d"],
               Delivery.published_at <= now - (AFTER[STAGES[0]] - SWEEP_LEAD),
               Delivery.retract_requested_at.is_(None),
               ~exists().where(MetricJob.delivery_id == Delivery.id),
               ~exists().where(PostEngagement.delivery_id == Delivery.id))
        .limit(5000)
    ).all()
    if new:
        rows = []
        for row in new:
            stage = stage_due(row.published_at, now)
            rows.append({"delivery_id": row.id, "channel_id": row.channel_id, "stage": stage,
                         "due_at": row.published_at + AFTER[STAGES[stage]], "attempts": 0})
        # Two workers sweeping at once: the second one's rows are already there.
        session.execute(_insert(dialect)(MetricJob).values(rows).on_conflict_do_nothing())
    channels = session.scalars(
        select(Channel.id).where(Channel.platform.in_(platforms), Channel.active.is_(True),
                                 ~exists().where(MetricChannel.channel_id == Channel.id))
    ).all()
    if channels:
        session.execute(_insert(dialect)(MetricChannel)
                        .values([{"channel_id": c, "due_at": now, "attempts": 0} for c in channels])
                        .on_conflict_do_nothing())
    return len(new)


# --- claiming --------------------------------------------------------------------


@dataclass
class Post:
    delivery_id: int
    remote_id: str
    stage: int
    attempts: int
    published_at: datetime


@dataclass
class Batch:
    """Due readings of one channel: its posts (by the platform's batch size) or its followers."""

    channel: Channel
    posts: list[Post] = field(default_factory=list)
    followers: bool = False


def claim(session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: float) -> list[Batch]:
    """Lease up to `limit` due post readings and the due follower readings; the caller commits."""
    dialect = session.get_bind().dialect.name
    until = now + timedelta(seconds=lease_seconds)
    free = or_(MetricJob.lease_expires_at.is_(None), MetricJob.lease_expires_at < now)
    picked = session.scalars(_lock(
        select(MetricJob.delivery_id).where(MetricJob.due_at <= now, free)
        .order_by(MetricJob.due_at, MetricJob.delivery_id).limit(limit), dialect, MetricJob)).all()
    batches: dict[int, Batch] = {}
    if picked:
        session.execute(update(MetricJob).where(MetricJob.delivery_id.in_(picked))
                        .values(lease_owner=owner, lease_expires_at=until, attempts=MetricJob.attempts + 1)
                        .execution_options(synchronize_session=False))
        rows = session.execute(
            select(MetricJob, Delivery.remote_id, Delivery.published_at, Delivery.status,
                   Delivery.retract_requested_at, Channel)
            .join(Delivery, Delivery.id == MetricJob.delivery_id).join(Channel, Channel.id == MetricJob.channel_id)
            .where(MetricJob.delivery_id.in_(picked)).order_by(MetricJob.due_at)).all()
        gone = []
        for job, remote_id, published_at, status, retracting, channel in rows:
            if (status != DeliveryStatus.published or retracting is not None or not remote_id
                    or published_at is None or not channel.active):
                gone.append(job.delivery_id)  # retracted, deleted or switched off: no more readings
                continue
            batch = batches.setdefault(channel.id, Batch(channel))
            batch.posts.append(Post(job.delivery_id, remote_id, job.stage, job.attempts, published_at))
        if gone:
            session.execute(delete(MetricJob).where(MetricJob.delivery_id.in_(gone)))
    free_channel = or_(MetricChannel.lease_expires_at.is_(None), MetricChannel.lease_expires_at < now)
    channel_ids = session.scalars(_lock(
        select(MetricChannel.channel_id).where(MetricChannel.due_at <= now, free_channel)
        .order_by(MetricChannel.due_at).limit(limit), dialect, MetricChannel)).all()
    if channel_ids:
        session.execute(update(MetricChannel).where(MetricChannel.channel_id.in_(channel_ids))
                        .values(lease_owner=owner, lease_expires_at=until, attempts=MetricChannel.attempts + 1)
                        .execution_options(synchronize_session=False))
        switched_off = []
        for channel in session.scalars(select(Channel).where(Channel.id.in_(channel_ids))):
            if channel.active and channel.platform in readable_platforms():
                batches.setdefault(channel.id, Batch(channel)).followers = True
            else:
                switched_off.append(channel.id)  # the sweep makes a reading again if it is switched back on
        if switched_off:
            session.execute(delete(MetricChannel).where(MetricChannel.channel_id.in_(switched_off)))
    return list(batches.values())


# --- writing what was read ---------------------------------------------------------


def ours(session: Session, delivery_ids: Sequence[int], *, owner: str) -> set[int]:
    """The post readings still leased to `owner`, locked until the commit."""
    dialect = session.get_bind().dialect.name
    return set(session.scalars(_lock(
        select(MetricJob.delivery_id).where(MetricJob.delivery_id.in_(delivery_ids), MetricJob.lease_owner == owner),
        dialect, MetricJob)))


def record_posts(session: Session, channel: Channel, read: dict[int, Counts], posts: Sequence[Post], *,
                 owner: str, now: datetime, zone: ZoneInfo) -> int:
    """Snapshots, the summary and the next stage of each post read, where the lease
    is still ours; a post the platform no longer has stops being read. Answers how many were written."""
    held = ours(session, [p.delivery_id for p in posts], owner=owner)
    mine = [p for p in posts if p.delivery_id in held]
    if not mine:
        return 0
    read = with_clicks(session, channel.id, read)
    snapshots = [{"channel_id": channel.id, "delivery_id": p.delivery_id, "taken_at": now, "stage": STAGES[p.stage],
                  "name": name, "value": value}
                 for p in mine if p.delivery_id in read for name, value in read[p.delivery_id].items()]
    if snapshots:
        session.execute(insert(MetricSnapshot), snapshots)
    summarise(session, channel, {p.delivery_id: read[p.delivery_id] for p in mine if p.delivery_id in read},
              stage={p.delivery_id: STAGES[p.stage] for p in mine}, zone=zone)
    done, advanced = [], []
    for p in mine:
        nxt = stage_due(p.published_at, now, after=p.stage)
        if p.delivery_id not in read or nxt >= len(STAGES):
            done.append(p.delivery_id)
        else:
            advanced.append({"job": p.delivery_id, "next": nxt, "due": p.published_at + AFTER[STAGES[nxt]]})
    if done:
        session.execute(delete(MetricJob).where(MetricJob.delivery_id.in_(done)))
    if advanced:
        # One statement, executed for every post (executemany).
        session.connection().execute(
            update(_JOBS).where(_JOBS.c.delivery_id == bindparam("job"))
            .values(stage=bindparam("next"), due_at=bindparam("due", type_=MetricJob.due_at.type), attempts=0,
                    lease_owner=None, lease_expires_at=None, last_error=None), advanced)
    return len(mine)


def with_clicks(session: Session, channel_id: int, read: dict[int, Counts]) -> dict[int, Counts]:
    """The counts read, plus each post's clicks on its tracked link (`/r/{code}`), one query for the batch.

    Our own count is the one kept: a platform that counts clicks too sees the same link."""
    if not read:
        return read
    clicks: dict[int, int] = dict(session.execute(
        select(Delivery.id, TrackedLink.clicks)
        .join(TrackedLink, and_(TrackedLink.announcement_id == Delivery.announcement_id,
                                TrackedLink.channel_id == Delivery.channel_id))
        .where(Delivery.id.in_(read), Delivery.channel_id == channel_id)).all())
    return {delivery_id: counts | {"clicks": clicks[delivery_id]} if delivery_id in clicks else counts
            for delivery_id, counts in read.items()}


def summarise(session: Session, channel: Channel, read: dict[int, Counts], *, stage: dict[int, str],
              zone: ZoneInfo) -> None:
    """Upsert one PostEngagement row per post read (department, platform, weekday and hour in the city's zone)."""
    if not read:
        return
    rows = session.execute(select(Delivery.id, Delivery.announcement_id, Delivery.published_at,
                                  Announcement.department_id)
                           .join(Announcement, Announcement.id == Delivery.announcement_id)
                           .where(Delivery.id.in_(read))).all()
    existing = {e.delivery_id: e for e in session.scalars(select(PostEngagement)
                                                           .where(PostEngagement.delivery_id.in_(read)))}
    fresh = [row.published_at for row in rows if row.id not in existing]
    near = FollowerReadings(session, channel.id, min(fresh), max(fresh)) if fresh else None
    # The counts insights read change with the rows, in this transaction.
    before = [rollup.counted(e) for e in existing.values()]
    after = []
    for row in rows:
        counts = read[row.id]
        summary = existing.get(row.id)
        if summary is None:
            local = row.published_at.astimezone(zone)
            summary = PostEngagement(delivery_id=row.id, announcement_id=row.announcement_id,
                                     department_id=row.department_id, channel_id=channel.id,
                                     platform=channel.platform, published_at=row.published_at,
                                     weekday=local.weekday(), hour=local.hour,
                                     followers=near.nearest(row.published_at) if near else None)
            session.add(summary)
        summary.engagement = sum(counts.get(name, 0) for name in ENGAGEMENT)
        summary.views = counts.get("views", summary.views)
        summary.clicks = counts.get("clicks", summary.clicks)
        summary.stage = stage[row.id]
        after.append(rollup.counted(summary))
    rollup.apply(session, removed=before, added=after)


class FollowerReadings:
    """A channel's follower readings around some posts' publishing, read once for a batch."""

    def __init__(self, session: Session, channel_id: int, first: datetime, last: datetime) -> None:
        base = select(MetricSnapshot.taken_at, MetricSnapshot.value).where(
            MetricSnapshot.channel_id == channel_id, MetricSnapshot.name == "followers",
            MetricSnapshot.delivery_id.is_(None))
        # Daily readings: those within the span, and the nearest one on each side of it.
        inside = session.execute(base.where(MetricSnapshot.taken_at.between(first, last))).all()
        before = session.execute(base.where(MetricSnapshot.taken_at < first)
                                 .order_by(MetricSnapshot.taken_at.desc()).limit(1)).all()
        after = session.execute(base.where(MetricSnapshot.taken_at > last)
                                .order_by(MetricSnapshot.taken_at).limit(1)).all()
        self.readings = [(taken_at, value) for taken_at, value in [*before, *inside, *after]]

    def nearest(self, moment: datetime) -> int | None:
        if not self.readings:
            return None
        return min(self.readings, key=lambda r: abs((r[0] - moment).total_seconds()))[1]


def record_followers(session: Session, channel_id: int, value: int | None, *, owner: str, now: datetime,
                     stage: str = "daily", latest_post_at: datetime | None = None) -> bool:
    """The channel's follower count and its account's latest post, if its reading is still
    leased to `owner`; the next reading in a day."""
    dialect = session.get_bind().dialect.name
    held = session.scalars(_lock(select(MetricChannel.channel_id).where(
        MetricChannel.channel_id == channel_id, MetricChannel.lease_owner == owner), dialect, MetricChannel)).first()
    if held is None:
        return False
    saw_post(session, channel_id, latest_post_at)
    if value is not None:
        session.add(MetricSnapshot(channel_id=channel_id, delivery_id=None, taken_at=now, stage=stage,
                                   name="followers", value=value))
        # Posts read before the channel's first follower reading learn it now.
        unknown = [rollup.counted(row) for row in session.execute(
            select(*rollup.COLUMNS).where(PostEngagement.channel_id == channel_id,
                                          PostEngagement.followers.is_(None)))]
        rollup.apply(session, removed=unknown, added=[post._replace(followers=value) for post in unknown])
        session.execute(update(PostEngagement).where(PostEngagement.channel_id == channel_id,
                                                     PostEngagement.followers.is_(None))
                        .values(followers=value).execution_options(synchronize_session=False))
    session.execute(update(MetricChannel).where(MetricChannel.channel_id == channel_id)
                    .values(due_at=now + FOLLOWERS_EVERY, attempts=0, lease_owner=None, lease_expires_at=None,
                            last_error=None))
    return True


def saw_post(session: Session, channel_id: int, latest_post_at: datetime | None) -> None:
    """Keep the account's latest post, unless an earlier reading saw a later one (a post deleted since)."""
    if latest_post_at is None:
        return
    session.execute(update(Channel).where(Channel.id == channel_id, or_(
        Channel.last_post_seen_at.is_(None), Channel.last_post_seen_at < latest_post_at))
        .values(last_post_seen_at=latest_post_at).execution_options(synchronize_session=False))


def access_ends(session: Session, channel_id: int, ends: datetime | None) -> None:
    """When the channel's access ends, as its platform said today (the weekly report reads it)."""
    session.execute(update(Channel).where(Channel.id == channel_id).values(token_expires_at=ends)
                    .execution_options(synchronize_session=False))


def failed(session: Session, batch: Batch, message: str, *, owner: str, now: datetime,
           wait_until: datetime | None = None) -> None:
    """A reading that did not happen: said in plain words on each row still ours, tried again later.

    `wait_until` is a platform's 429: every reading of the channel waits until then,
    and the try is not counted."""
    posts = [p.delivery_id for p in batch.posts]
    mine = and_(MetricJob.lease_owner == owner, MetricJob.delivery_id.in_(posts))
    if wait_until is not None:
        session.execute(update(MetricJob).where(MetricJob.channel_id == batch.channel.id)
                        .values(due_at=func.max(MetricJob.due_at, wait_until) if _is_sqlite(session)
                                else func.greatest(MetricJob.due_at, wait_until))
                        .execution_options(synchronize_session=False))
        session.execute(update(MetricJob).where(mine).values(
            lease_owner=None, lease_expires_at=None, last_error=message, attempts=MetricJob.attempts - 1))
        session.execute(update(MetricChannel).where(MetricChannel.channel_id == batch.channel.id)
                        .values(waiting_until=wait_until,
                                due_at=func.max(MetricChannel.due_at, wait_until) if _is_sqlite(session)
                                else func.greatest(MetricChannel.due_at, wait_until)))
        _release_channel(session, batch, owner=owner, message=message if batch.followers else None)
        return
    for post in batch.posts:
        delay = min(RETRY * 2 ** max(0, post.attempts - 1), timedelta(days=1))
        values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None, "last_error": message,
                                  "due_at": now + delay}
        if post.attempts >= MAX_ATTEMPTS:
            # This stage is lost; the next one may still be read.
            nxt = stage_due(post.published_at, now, after=post.stage)
            if nxt >= len(STAGES):
                session.execute(delete(MetricJob).where(mine, MetricJob.delivery_id == post.delivery_id))
                continue
            values |= {"stage": nxt, "attempts": 0, "due_at": max(now + delay, post.published_at + AFTER[STAGES[nxt]])}
        session.execute(update(MetricJob).where(mine, MetricJob.delivery_id == post.delivery_id).values(**values))
    if batch.followers:
        _release_channel(session, batch, owner=owner, message=message, retry_at=now + RETRY)


def _release_channel(session: Session, batch: Batch, *, owner: str, message: str | None,
                     retry_at: datetime | None = None) -> None:
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if message is not None:
        values["last_error"] = message
    if retry_at is not None:
        values["due_at"] = retry_at
    session.execute(update(MetricChannel).where(MetricChannel.channel_id == batch.channel.id,
                                                MetricChannel.lease_owner == owner).values(**values))


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def published(session: Session, *, channel_ids: Iterable[int] | None = None) -> list[tuple[Channel, list[Post]]]:
    """Every published post that can be read, by channel (`civicpost insights collect --now`)."""
    query = (select(Delivery.id, Delivery.remote_id, Delivery.published_at, Channel)
             .join(Channel, Channel.id == Delivery.channel_id)
             .where(Channel.platform.in_(readable_platforms()), Channel.active.is_(True),
                    Delivery.status == DeliveryStatus.published, Delivery.remote_id.is_not(None),
                    Delivery.retract_requested_at.is_(None), Delivery.published_at.is_not(None))
             .order_by(Delivery.channel_id, Delivery.id))
    if channel_ids is not None:
        query = query.where(Channel.id.in_(list(channel_ids)))
    found: dict[int, tuple[Channel, list[Post]]] = {}
    for delivery_id, remote_id, published_at, channel in session.execute(query):
        if remote_id is None or published_at is None:
            continue
        found.setdefault(channel.id, (channel, []))[1].append(Post(delivery_id, remote_id, -1, 0, published_at))
    return list(found.values())

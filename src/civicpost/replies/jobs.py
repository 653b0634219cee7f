"""Replies readings as rows: which posts are due, leased so that several workers
never read the same post, and what a reading leaves.

The rules are the metrics readings' (insights/jobs.py): a claim leases rows and
commits; the platform is read outside any transaction (collector.py); what was
read is written in a new transaction, only for the rows whose lease is still
ours. A post is read at 1 h, 24 h and 7 d after publishing; its job row stays
after the last reading (stage DONE) so the sweep does not make it again.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicpost.models import Channel, Delivery, DeliveryStatus, Reply, ReplyJob
from civicpost.platforms import Reply as Read
from civicpost.platforms import where

READINGS = (timedelta(hours=1), timedelta(hours=24), timedelta(days=7))
DONE = len(READINGS)
# A post is swept shortly before its first reading, and not once its last reading is a day past.
SWEEP_LEAD = timedelta(minutes=10)
TOO_OLD = READINGS[-1] + timedelta(days=1)
# A reading that failed waits this long, doubling, up to a day; after this many tries that reading is skipped.
RETRY = timedelta(minutes=5)
MAX_ATTEMPTS = 6


def readable_platforms() -> list[str]:
    return sorted(where(lambda s: s.capabilities.replies))


def stage_due(published_at: datetime, now: datetime, *, after: int = -1) -> int:
    """The reading to do next after `after`: the latest one already due (a post found late is
    read once, not at every reading it missed), else the next one; DONE after the last."""
    due = [n for n, wait in enumerate(READINGS) if published_at + wait <= now and n > after]
    return max(due) if due else after + 1


def due_time(published_at: datetime, stage: int) -> datetime:
    return published_at + READINGS[min(stage, DONE - 1)]


def _lock(query: Any, session: Session) -> Any:
    # SKIP LOCKED: another worker's claim takes other rows. SQLite claims under BEGIN IMMEDIATE.
    postgres = session.get_bind().dialect.name == "postgresql"
    return query.with_for_update(skip_locked=True, of=ReplyJob) if postgres else query


def sweep(session: Session, *, now: datetime) -> int:
    """Jobs for published posts on channels whose replies can be read, once their first reading nears."""
    new = session.execute(
        select(Delivery.id, Delivery.channel_id, Delivery.published_at)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Channel.platform.in_(readable_platforms()), Delivery.status == DeliveryStatus.published,
               Delivery.remote_id.is_not(None), Delivery.remote_deleted_at.is_(None),
               Delivery.published_at > now - TOO_OLD, Delivery.published_at <= now - (READINGS[0] - SWEEP_LEAD),
               Delivery.retract_requested_at.is_(None), ~exists().where(ReplyJob.delivery_id == Delivery.id))
        .limit(5000)).all()
    if new:
        rows = []
        for row in new:
            stage = stage_due(row.published_at, now)
            rows.append({"delivery_id": row.id, "channel_id": row.channel_id, "stage": stage,
                         "due_at": due_time(row.published_at, stage), "attempts": 0})
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        # Two workers sweeping at once: the second one's rows are already there.
        session.execute(insert(ReplyJob).values(rows).on_conflict_do_nothing())
    return len(new)


@dataclass
class Post:
    delivery_id: int
    announcement_id: int
    remote_id: str
    stage: int
    attempts: int
    published_at: datetime


@dataclass
class Batch:
    """A channel's posts whose replies are due to be read."""

    channel: Channel
    posts: list[Post] = field(default_factory=list)


def claim(session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: float) -> list[Batch]:
    """Lease up to `limit` due readings; the caller commits. Posts no longer there stop being read."""
    free = or_(ReplyJob.lease_expires_at.is_(None), ReplyJob.lease_expires_at < now)
    picked = session.scalars(_lock(
        select(ReplyJob.delivery_id).join(Channel, Channel.id == ReplyJob.channel_id)
        .where(ReplyJob.stage < DONE, ReplyJob.due_at <= now, free, Channel.replies_unreadable.is_(None))
        .order_by(ReplyJob.due_at, ReplyJob.delivery_id).limit(limit), session)).all()
    if not picked:
        return []
    session.execute(update(ReplyJob).where(ReplyJob.delivery_id.in_(picked))
                    .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_seconds),
                            attempts=ReplyJob.attempts + 1)
                    .execution_options(synchronize_session=False))
    batches: dict[int, Batch] = {}
    stopped = []
    rows = session.execute(
        select(ReplyJob, Delivery, Channel).join(Delivery, Delivery.id == ReplyJob.delivery_id)
        .join(Channel, Channel.id == ReplyJob.channel_id).where(ReplyJob.delivery_id.in_(picked))
        .order_by(ReplyJob.due_at)).all()
    for job, delivery, channel in rows:
        if (delivery.status != DeliveryStatus.published or delivery.retract_requested_at is not None
                or delivery.remote_deleted_at is not None or not delivery.remote_id
                or delivery.published_at is None or not channel.active):
            stopped.append(job.delivery_id)  # retracted, deleted or switched off: no more readings
            continue
        batches.setdefault(channel.id, Batch(channel)).posts.append(
            Post(delivery.id, delivery.announcement_id, delivery.remote_id, job.stage, job.attempts,
                 delivery.published_at))
    if stopped:
        _finish(session, stopped)
    return list(batches.values())


def _finish(session: Session, delivery_ids: Sequence[int]) -> None:
    session.execute(update(ReplyJob).where(ReplyJob.delivery_id.in_(delivery_ids))
                    .values(stage=DONE, lease_owner=None, lease_expires_at=None)
                    .execution_options(synchronize_session=False))


def ours(session: Session, post: Post, *, owner: str) -> bool:
    """Whether the post's reading is still leased to `owner`, locked until the commit."""
    return session.scalar(_lock(select(ReplyJob.delivery_id).where(
        ReplyJob.delivery_id == post.delivery_id, ReplyJob.lease_owner == owner), session)) is not None


def keep(session: Session, channel: Channel, post: Post, found: Sequence[Read], *, now: datetime) -> int:
    """Add the replies not seen before and bring the others up to date (a resident may edit);
    what civicpost hid or removed keeps its record. Answers how many were new."""
    existing = {r.remote_id: r for r in session.scalars(select(Reply).where(Reply.delivery_id == post.delivery_id))}
    new = 0
    for read in found:
        reply = existing.get(read.remote_id)
        if reply is None:
            reply = Reply(delivery_id=post.delivery_id, announcement_id=post.announcement_id, channel_id=channel.id,
                          platform=channel.platform, remote_id=read.remote_id, first_seen_at=now)
            session.add(reply)
            existing[read.remote_id] = reply
            new += 1
        reply.author_handle = read.author_handle[:300]
        reply.author_name = read.author_name[:300]
        reply.created_at = read.created_at
        reply.text = read.text
        reply.url = read.url
        reply.last_seen_at = now
    session.flush()
    return new


def advance(session: Session, post: Post, *, now: datetime) -> None:
    nxt = stage_due(post.published_at, now, after=post.stage)
    session.execute(update(ReplyJob).where(ReplyJob.delivery_id == post.delivery_id).values(
        stage=nxt, due_at=due_time(post.published_at, nxt), attempts=0, lease_owner=None,
        lease_expires_at=None, last_error=None))


def remote_deleted(session: Session, post: Post, *, now: datetime) -> None:
    """The platform no longer has the post: noted on the delivery, and it is read no more."""
    session.execute(update(Delivery).where(Delivery.id == post.delivery_id, Delivery.remote_deleted_at.is_(None))
                    .values(remote_deleted_at=now))
    _finish(session, [post.delivery_id])


def unreadable(session: Session, channel_id: int, message: str, *, now: datetime) -> None:
    """The account may not read replies: said once on the channel; its readings wait for an operator."""
    session.execute(update(Channel).where(Channel.id == channel_id, Channel.replies_unreadable.is_(None))
                    .values(replies_unreadable=message, replies_unreadable_at=now))
    session.execute(update(ReplyJob).where(ReplyJob.channel_id == channel_id)
                    .values(lease_owner=None, lease_expires_at=None, last_error=message))


def failed(session: Session, batch: Batch, posts: Sequence[Post], message: str, *, owner: str, now: datetime,
           wait_until: datetime | None = None) -> None:
    """Readings that did not happen, tried again later. `wait_until` is a platform's 429: every
    reading of the channel waits until then, and the try is not counted."""
    mine = and_(ReplyJob.lease_owner == owner, ReplyJob.delivery_id.in_([p.delivery_id for p in posts]))
    if wait_until is not None:
        later = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
        session.execute(update(ReplyJob).where(ReplyJob.channel_id == batch.channel.id, ReplyJob.stage < DONE)
                        .values(due_at=later(ReplyJob.due_at, wait_until))
                        .execution_options(synchronize_session=False))
        session.execute(update(ReplyJob).where(mine).values(
            lease_owner=None, lease_expires_at=None, last_error=message, attempts=ReplyJob.attempts - 1))
        return
    for post in posts:
        values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None, "last_error": message,
                                  "due_at": now + min(RETRY * 2 ** max(0, post.attempts - 1), timedelta(days=1))}
        if post.attempts >= MAX_ATTEMPTS:
            nxt = stage_due(post.published_at, now, after=post.stage)  # this reading is lost; the next may work
            values |= {"stage": nxt, "attempts": 0, "due_at": max(values["due_at"], due_time(post.published_at, nxt))}
        session.execute(update(ReplyJob).where(mine, ReplyJob.delivery_id == post.delivery_id).values(**values))


def published(session: Session) -> list[Batch]:
    """Every published post whose replies can be read, by channel (`civicpost replies collect --now`)."""
    rows = session.execute(
        select(Delivery.id, Delivery.announcement_id, Delivery.remote_id, Delivery.published_at, Channel)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(Channel.platform.in_(readable_platforms()), Channel.active.is_(True),
               Delivery.status == DeliveryStatus.published, Delivery.remote_id.is_not(None),
               Delivery.remote_deleted_at.is_(None), Delivery.retract_requested_at.is_(None),
               Delivery.published_at.is_not(None))
        .order_by(Delivery.channel_id, Delivery.id)).all()
    batches: dict[int, Batch] = {}
    for delivery_id, announcement_id, remote_id, published_at, channel in rows:
        if remote_id is None or published_at is None:
            continue
        batches.setdefault(channel.id, Batch(channel)).posts.append(
            Post(delivery_id, announcement_id, remote_id, -1, 0, published_at))
    return list(batches.values())

"""Posts a platform allows one account in 24 hours (a spec's `daily_limit`), checked before approval.

Instagram publishes at most 50 posts an account in any 24 hours through its
API, Threads 250; past that Meta refuses the post, and the delivery would
fail at the worst moment. So approving an announcement that would take a
channel over its platform's limit is a blocking problem instead.

What counts is civicpost's own deliveries to the channel: those that went
out (by when they went out; a retracted post counted when it was made) and
those on their way (pending, sending, retrying, or unknown, which may have
posted), by when they are due. Posts made in the platform's own app are not
seen here; the channel's connection test reads the platform's own count.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from civicpost.content import Problem
from civicpost.db import utcnow
from civicpost.models import Channel, Delivery, DeliveryStatus
from civicpost.platforms import spec

WINDOW = timedelta(hours=24)
ON_THE_WAY = (DeliveryStatus.pending, DeliveryStatus.sending, DeliveryStatus.retrying, DeliveryStatus.unknown)


def daily_limit_problems(
    session: Session, *, channels: Sequence[Channel], moment: datetime, announcement_id: int | None = None,
    now: datetime | None = None,
) -> dict[int, Problem]:
    """A blocking problem for each channel (by id) that one more post at `moment`
    would take over its platform's limit in some 24 hours around it.

    `moment` is when the new post goes out (the announcement's publish time,
    or now); `announcement_id` names the announcement being approved, whose
    own earlier deliveries are not counted against it.
    """
    limited = {c.id: c for c in channels if spec(c.platform).daily_limit}
    if not limited:
        return {}
    now = now or utcnow()
    times = _post_times(session, list(limited), moment=moment, announcement_id=announcement_id, now=now)
    problems = {}
    for channel_id, channel in limited.items():
        platform = spec(channel.platform)
        limit = platform.daily_limit or 0
        busiest = _busiest_day_with(moment, times.get(channel_id, []))
        if busiest > limit:
            problems[channel_id] = Problem(
                "daily_limit", "error",
                f"{platform.label} allows {limit} posts in 24 hours on an account; with this one, the channel "
                f"{channel.name} would have {busiest} (counting what civicpost published and has scheduled).",
                "Publish it later, or remove this channel from the announcement.")
    return problems


def _post_times(session: Session, channel_ids: list[int], *, moment: datetime, announcement_id: int | None,
                now: datetime) -> dict[int, list[datetime]]:
    """When each channel's other posts went out or go out, within a day of `moment`."""
    start, end = moment - WINDOW, moment + WINDOW
    query = select(Delivery.channel_id, Delivery.status, Delivery.published_at, Delivery.next_attempt_at).where(
        Delivery.channel_id.in_(channel_ids),
        or_(and_(Delivery.published_at.is_not(None), Delivery.published_at > start, Delivery.published_at < end),
            and_(Delivery.published_at.is_(None), Delivery.status.in_(ON_THE_WAY), Delivery.next_attempt_at < end)),
    )
    if announcement_id is not None:
        query = query.where(Delivery.announcement_id != announcement_id)
    times: dict[int, list[datetime]] = {}
    for channel_id, _status, published_at, next_attempt_at in session.execute(query):
        # One overdue goes out as soon as a worker takes it: now.
        when = published_at if published_at is not None else max(next_attempt_at, now)
        if start < when < end:
            times.setdefault(channel_id, []).append(when)
    return times


def _busiest_day_with(moment: datetime, others: list[datetime]) -> int:
    """The most posts in any 24 hours that hold `moment`, counting the new one there.

    The busiest such window starts at one of the posts (or at `moment`), so
    only those starts are tried.
    """
    starts = [t for t in others if moment - WINDOW < t <= moment] + [moment]
    return max(1 + sum(1 for t in others if start <= t < start + WINDOW) for start in starts)

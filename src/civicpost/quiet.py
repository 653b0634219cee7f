"""Channels gone quiet and access about to lapse (SPEC §8.3): a city's
accounts must be kept current, or residents stop trusting them.

A channel's last post is the later of civicpost's own last publication there
and, where the platform tells us, the account's latest post (posts made in
the platform's own app count too). A channel that never posted is counted
from the day it was added. Retired channels are left out.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicpost.models import Channel, Delivery, DeliveryStatus

# Access that ends within this many days is named in the weekly report.
EXPIRY_WARNING_DAYS = 14


@dataclass(frozen=True)
class Quiet:
    channel_id: int
    name: str
    platform: str
    department_id: int
    department: str
    # Whole days since the last post (None: never posted; `days` then counts from when it was added).
    days_since_post: int | None
    days: int
    stale: bool
    # Whole days until the platform says its access ends (None: the platform does not say).
    expires_in_days: int | None

    @property
    def expiring(self) -> bool:
        return self.expires_in_days is not None and self.expires_in_days <= EXPIRY_WARNING_DAYS


def survey(session: Session, *, now: datetime, department_ids: Iterable[int] | None = None,
           channel_ids: Iterable[int] | None = None, active_only: bool = True) -> list[Quiet]:
    """Every active channel (of these departments, or these channels), the quietest first."""
    query = select(Channel).order_by(Channel.id)
    if active_only:
        query = query.where(Channel.active.is_(True))
    if department_ids is not None:
        query = query.where(Channel.department_id.in_(sorted(set(department_ids))))
    if channel_ids is not None:
        query = query.where(Channel.id.in_(sorted(set(channel_ids))))
    channels = list(session.scalars(query))
    ours = last_published(session, [c.id for c in channels])
    found = [_quiet(channel, ours.get(channel.id), now) for channel in channels]
    return sorted(found, key=lambda q: (-q.days, q.channel_id))


def last_published(session: Session, channel_ids: list[int]) -> dict[int, datetime]:
    """civicpost's latest publication on each channel."""
    if not channel_ids:
        return {}
    rows = session.execute(
        select(Delivery.channel_id, func.max(Delivery.published_at))
        .where(Delivery.channel_id.in_(channel_ids), Delivery.status == DeliveryStatus.published)
        .group_by(Delivery.channel_id))
    return {channel_id: latest for channel_id, latest in rows if latest is not None}


def of_channel(session: Session, channel: Channel, *, now: datetime) -> Quiet:
    return _quiet(channel, last_published(session, [channel.id]).get(channel.id), now)


def _quiet(channel: Channel, ours: datetime | None, now: datetime) -> Quiet:
    seen = [moment for moment in (ours, channel.last_post_seen_at) if moment is not None]
    last = max(seen) if seen else None
    since_post = _whole_days(now - last) if last is not None else None
    days = since_post if since_post is not None else _whole_days(now - channel.created_at)
    expires = channel.token_expires_at
    return Quiet(
        channel_id=channel.id, name=channel.name, platform=channel.platform, department_id=channel.department_id,
        department=channel.department.name, days_since_post=since_post, days=days,
        stale=days >= channel.stale_after_days,
        expires_in_days=_whole_days(expires - now) if expires is not None else None,
    )


def _whole_days(span: timedelta) -> int:
    return span // timedelta(days=1)

"""The publishing engine's steps (SPEC §3, §7): claim, guard, send, record.

The deliveries table is the queue. A claim takes due rows under a lease and
commits; the platform is called outside any transaction; the outcome is
recorded only while the lease is still ours. A delivery whose worker died
mid-request comes back with `reconcile` set: the platform is asked whether the
post is there before anything is sent again, and where nobody can tell, the
delivery becomes `unknown` for a person. Nothing is ever blindly re-posted.
"""

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.models import OPEN_DELIVERY, Announcement, Channel, Delivery, DeliveryStatus, Media, State
from civicpost.platforms import (
    RECONCILABLE,
    CredentialsError,
    MaybePosted,
    MediaItem,
    Outgoing,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "civicpost_due"
LIVE_STATES = (State.scheduled, State.publishing)


@dataclass(frozen=True)
class Job:
    delivery_id: int
    kind: Literal["publish", "retract"]
    reconcile: bool


def notify_due(session: Session) -> None:
    """Wake PostgreSQL workers when this transaction commits (LISTEN/NOTIFY)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def _lock(query, session: Session):
    # SKIP LOCKED lets many workers claim side by side, each taking other rows.
    # SQLite has no row locks; its claim runs under BEGIN IMMEDIATE instead.
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Delivery)
    return query


def claim_due(session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: int) -> list[Job]:
    """Lease up to `limit` due deliveries to `owner`; the caller commits."""
    if limit <= 0:
        return []
    lease_until = now + timedelta(seconds=lease_seconds)
    live_channel = or_(Channel.paused_until.is_(None), Channel.paused_until <= now)
    # Leases that ran out: their worker died or hung mid-request.
    expired = list(
        session.scalars(
            _lock(
                select(Delivery.id)
                .where(Delivery.status == DeliveryStatus.sending, Delivery.lease_expires_at < now)
                .order_by(Delivery.lease_expires_at)
                .limit(limit),
                session,
            )
        )
    )
    due = list(
        session.scalars(
            _lock(
                select(Delivery.id)
                .join(Channel, Channel.id == Delivery.channel_id)
                .where(Delivery.status.in_(OPEN_DELIVERY), Delivery.next_attempt_at <= now, live_channel)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(limit - len(expired)),
                session,
            )
        )
    )
    retracts = list(
        session.scalars(
            _lock(
                select(Delivery.id)
                .where(
                    Delivery.status == DeliveryStatus.published,
                    Delivery.retract_requested_at.is_not(None),
                    Delivery.next_attempt_at <= now,
                    or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
                )
                .limit(max(0, limit - len(expired) - len(due))),
                session,
            )
        )
    )
    jobs: list[Job] = []
    if expired:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(expired))
            .values(lease_owner=owner, lease_expires_at=lease_until, reconcile=True, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        jobs += [Job(i, "publish", True) for i in expired]
    if due:
        rows = session.execute(select(Delivery.id, Delivery.reconcile, Delivery.announcement_id).where(Delivery.id.in_(due))).all()
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(due))
            .values(status=DeliveryStatus.sending, lease_owner=owner, lease_expires_at=lease_until, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        # Bump the version too, so an edit racing this claim gets a 409.
        session.execute(
            update(Announcement)
            .where(Announcement.id.in_({r.announcement_id for r in rows}), Announcement.state == State.scheduled)
            .values(state=State.publishing, version=Announcement.version + 1)
            .execution_options(synchronize_session=False)
        )
        jobs += [Job(r.id, "publish", r.reconcile) for r in rows]
    if retracts:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(retracts))
            .values(lease_owner=owner, lease_expires_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        jobs += [Job(i, "retract", False) for i in retracts]
    return jobs


def next_due(session: Session, *, now: datetime) -> datetime | None:
    """When the earliest waiting delivery, retraction or lease expiry comes due."""
    candidates = [
        session.scalar(select(func.min(Delivery.next_attempt_at)).where(Delivery.status.in_(OPEN_DELIVERY))),
        session.scalar(select(func.min(Delivery.lease_expires_at)).where(Delivery.status == DeliveryStatus.sending)),
        session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status == DeliveryStatus.published, Delivery.retract_requested_at.is_not(None)
            )
        ),
    ]
    paused = session.scalar(select(func.min(Channel.paused_until)).where(Channel.paused_until > now))
    found = [c for c in candidates if c is not None]
    if not found:
        return None
    soonest = min(found)
    if paused is not None and soonest <= now:
        # Everything due may be waiting on a paused channel.
        return max(soonest, min(paused, now + timedelta(seconds=5)))
    return soonest


@dataclass
class Prepared:
    """Everything a send needs, read in one short transaction before the call."""

    delivery: Delivery
    channel: Channel
    outgoing: Outgoing


def prepare(session: Session, job: Job, *, owner: str, settings: Settings) -> Prepared | None | Literal["stop"]:
    """The guard before sending: what to send, None to leave it, or "stop" when the
    announcement was cancelled, retracted or edited after the claim.

    Reads only: two small queries (a third with media), so it runs in a read
    transaction and does not queue behind SQLite's write lock.
    """
    delivery = session.get(Delivery, job.delivery_id)
    if delivery is None or delivery.lease_owner != owner:
        return None
    announcement = session.execute(
        select(Announcement.state, Announcement.approved_fingerprint, Announcement.title, Announcement.link)
        .where(Announcement.id == delivery.announcement_id)
    ).one()
    if job.kind == "publish":
        if delivery.status != DeliveryStatus.sending:
            return None
        if announcement.state not in LIVE_STATES or announcement.approved_fingerprint != delivery.fingerprint:
            return "stop"
    elif delivery.status != DeliveryStatus.published or delivery.retract_requested_at is None:
        return None
    rendition: dict[str, Any] = delivery.rendition
    media_ids = [m["id"] for m in rendition.get("media", [])]
    mime = dict(session.execute(select(Media.id, Media.mime_type).where(Media.id.in_(media_ids))).all()) if media_ids else {}
    outgoing = Outgoing(
        key=delivery.key,
        text=rendition.get("text", ""),
        parts=rendition.get("parts"),
        media=[
            MediaItem(path=settings.media_dir / m["id"], mime_type=mime.get(m["id"], "image/jpeg"), alt_text=m.get("alt_text", ""))
            for m in rendition.get("media", [])
        ],
        title=announcement.title,
        link=announcement.link,
        extra=rendition.get("extra") or {},
        created_at=delivery.created_at,
        already_posted=list(rendition.get("remote_part_ids") or []) if job.kind == "publish" else [],
    )
    return Prepared(delivery=delivery, channel=delivery.channel, outgoing=outgoing)


def stop_before_sending(session: Session, delivery: Delivery, *, owner: str) -> None:
    _finish(session, delivery, owner, status=DeliveryStatus.cancelled,
            last_error="stopped before sending: the announcement was cancelled or changed")


BATCH = "civicpost.batch"


@dataclass
class Batch:
    """Work that a batch of outcomes defers to its end, done once and in id
    order: two workers' batches then lock channels and announcements in the
    same order and cannot deadlock."""

    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    announcements: set[int] = field(default_factory=set)


def begin_batch(session: Session) -> None:
    session.info[BATCH] = Batch()


def end_batch(session: Session) -> None:
    batch: Batch = session.info.pop(BATCH)
    for channel_id in sorted(batch.channels):
        _update_channel(session, channel_id, batch.channels[channel_id])
    for announcement_id in sorted(batch.announcements):
        settle(session, announcement_id)


def _channel(session: Session, channel_id: int, **values: Any) -> None:
    batch: Batch | None = session.info.get(BATCH)
    if batch is None:
        _update_channel(session, channel_id, values)
    else:
        batch.channels.setdefault(channel_id, {}).update(values)


def _update_channel(session: Session, channel_id: int, values: dict[str, Any]) -> None:
    session.execute(update(Channel).where(Channel.id == channel_id).values(**values).execution_options(synchronize_session=False))


def _settle_soon(session: Session, announcement_id: int) -> None:
    batch: Batch | None = session.info.get(BATCH)
    if batch is None:
        settle(session, announcement_id)
    else:
        batch.announcements.add(announcement_id)


# Writing a channel's last success on every delivery would hold that channel's
# row lock through each outcome and serialise a busy channel's workers.
HEALTH_EVERY = timedelta(seconds=5)


def _finish(session: Session, delivery: Delivery, owner: str, **values: Any) -> bool:
    """Write an outcome only while the lease is ours; False if it was lost."""
    values.setdefault("lease_owner", None)
    values.setdefault("lease_expires_at", None)
    values["updated_at"] = utcnow()
    done = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.lease_owner == owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        log.warning("delivery %s: lease lost before the outcome was recorded; another worker will reconcile", delivery.id)
    return bool(done)


def backoff(attempts: int, settings: Settings, *, at_least: float | None = None) -> float:
    """Exponential with equal jitter, so many failures do not all retry at once."""
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** max(0, attempts - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, at_least or 0)


def record_published(session: Session, prepared: Prepared, receipt: Receipt, *, owner: str, settings: Settings, found: bool = False) -> None:
    delivery, channel = prepared.delivery, prepared.channel
    now = utcnow()
    remote_url = receipt.remote_url
    if remote_url is None and channel.platform == "feed":
        remote_url = f"{settings.base_url.rstrip('/')}/announcements/{delivery.announcement_id}"
    rendition = dict(delivery.rendition)
    if receipt.part_ids:
        rendition["remote_part_ids"] = list(receipt.part_ids)
    if not _finish(session, delivery, owner, status=DeliveryStatus.published, remote_id=receipt.remote_id,
                   remote_url=remote_url, published_at=now, last_error=None, reconcile=False, rendition=rendition):
        return
    if channel.needs_attention or channel.last_success_at is None or now - channel.last_success_at > HEALTH_EVERY:
        _channel(session, channel.id, last_success_at=now, needs_attention=False)
    audit.record(
        session, actor=None, action="delivery.published", object_type="announcement", object_id=delivery.announcement_id,
        fingerprint=delivery.fingerprint,
        detail={"delivery": delivery.id, "channel": channel.id, "platform": channel.platform, "remote_url": remote_url,
                "found_on_platform": found},
    )
    _settle_soon(session, delivery.announcement_id)


def record_failure(session: Session, prepared: Prepared, error: Exception, *, owner: str, settings: Settings) -> str:
    """Decide retry, fail or unknown from the error; returns the new status."""
    delivery, channel = prepared.delivery, prepared.channel
    now = utcnow()
    message = str(error) or type(error).__name__
    partial = _partial_values(delivery, getattr(error, "partial", None))
    if isinstance(error, RateLimited):
        wait = error.retry_after if error.retry_after is not None else backoff(delivery.attempts, settings)
        paused_until = now + timedelta(seconds=wait)
        _channel(session, channel.id, paused_until=paused_until)
        # Waiting out a rate limit is not the post's fault: it costs no attempt.
        _finish(session, delivery, owner, status=DeliveryStatus.retrying, attempts=max(0, delivery.attempts - 1),
                next_attempt_at=paused_until, last_error=f"rate limited: {message}", **partial)
        return DeliveryStatus.retrying
    if isinstance(error, PermanentError):
        _channel(session, channel.id, last_error=message, last_error_at=now,
                 **({"needs_attention": True} if isinstance(error, CredentialsError) else {}))
        _finish(session, delivery, owner, status=DeliveryStatus.failed, last_error=message, reconcile=False, **partial)
        _audit_outcome(session, delivery, channel, "delivery.failed", message)
        _settle_soon(session, delivery.announcement_id)
        return DeliveryStatus.failed
    maybe_posted = isinstance(error, MaybePosted) or not isinstance(error, TransientError)
    _channel(session, channel.id, last_error=message, last_error_at=now)
    if delivery.attempts >= settings.max_attempts:
        status = DeliveryStatus.unknown if maybe_posted else DeliveryStatus.failed
        note = f"gave up after {delivery.attempts} attempts: {message}"
        _finish(session, delivery, owner, status=status, last_error=note, **partial)
        _audit_outcome(session, delivery, channel, f"delivery.{status}", note)
        _settle_soon(session, delivery.announcement_id)
        return status
    retry_after = getattr(error, "retry_after", None)
    _finish(session, delivery, owner, status=DeliveryStatus.retrying, last_error=message,
            next_attempt_at=now + timedelta(seconds=backoff(delivery.attempts, settings, at_least=retry_after)),
            reconcile=delivery.reconcile or maybe_posted, **partial)
    return DeliveryStatus.retrying


def _partial_values(delivery: Delivery, partial: Receipt | None) -> dict[str, Any]:
    """Keep the ids of the parts a failed thread did post: the next attempt
    continues after them, and a retract can delete them."""
    known = list(delivery.rendition.get("remote_part_ids") or [])
    if partial is None or len(partial.part_ids) <= len(known):
        return {}
    return {"rendition": {**delivery.rendition, "remote_part_ids": list(partial.part_ids)}, "remote_id": partial.part_ids[0]}


def record_unknown(session: Session, prepared: Prepared, reason: str, *, owner: str) -> None:
    delivery = prepared.delivery
    _finish(session, delivery, owner, status=DeliveryStatus.unknown, last_error=reason)
    _audit_outcome(session, delivery, prepared.channel, "delivery.unknown", reason)
    _settle_soon(session, delivery.announcement_id)


def record_retracted(session: Session, prepared: Prepared, *, owner: str, error: Exception | None = None, settings: Settings) -> None:
    delivery = prepared.delivery
    if error is None:
        _finish(session, delivery, owner, status=DeliveryStatus.retracted, retract_requested_at=None, last_error=None)
        _audit_outcome(session, delivery, prepared.channel, "delivery.retracted", None)
    elif isinstance(error, TransientError):
        _finish(session, delivery, owner, last_error=f"could not delete yet: {error}",
                next_attempt_at=utcnow() + timedelta(seconds=backoff(1, settings, at_least=error.retry_after)))
    else:
        note = f"could not delete the post: {error}"
        _finish(session, delivery, owner, retract_requested_at=None, last_error=note)
        _audit_outcome(session, delivery, prepared.channel, "delivery.retract_failed", note)


def _audit_outcome(session: Session, delivery: Delivery, channel: Channel, action: str, message: str | None) -> None:
    audit.record(
        session, actor=None, action=action, object_type="announcement", object_id=delivery.announcement_id,
        fingerprint=delivery.fingerprint,
        detail={"delivery": delivery.id, "channel": channel.id, "platform": channel.platform, "error": message},
    )


def settle(session: Session, announcement_id: int) -> None:
    """Move the announcement to published or failed once its deliveries are done.

    The announcement row is locked first so two workers finishing its last two
    deliveries at once cannot both miss that it is complete.
    """
    row = session.execute(
        select(Announcement.state, Announcement.approved_fingerprint)
        .where(Announcement.id == announcement_id)
        .with_for_update()
    ).one_or_none()
    if row is None or row.state not in LIVE_STATES:
        return
    statuses = set(
        session.scalars(
            select(Delivery.status).where(
                Delivery.announcement_id == announcement_id, Delivery.fingerprint == row.approved_fingerprint
            )
        )
    )
    if statuses and statuses <= {DeliveryStatus.published}:
        new = State.published
    elif statuses and statuses <= {DeliveryStatus.published, DeliveryStatus.failed, DeliveryStatus.cancelled}:
        new = State.failed if DeliveryStatus.failed in statuses else State.published
    else:
        return
    session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id)
        .values(state=new, version=Announcement.version + 1)
        .execution_options(synchronize_session=False)
    )
    audit.record(session, actor=None, action=new.value, object_type="announcement", object_id=announcement_id,
                 fingerprint=row.approved_fingerprint)


def reconcilable(platform: str) -> bool:
    return platform in RECONCILABLE


def retry(session: Session, delivery: Delivery, *, actor) -> None:
    """A person looked at a failed or unknown delivery and asks for another try."""
    from civicpost.errors import Conflict, Forbidden

    if not actor.can_approve:
        raise Forbidden("only approvers and admins may retry deliveries")
    if delivery.status not in (DeliveryStatus.failed, DeliveryStatus.unknown):
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; only a failed or unknown delivery can be retried")
    announcement = session.get(Announcement, delivery.announcement_id)
    if announcement.approved_fingerprint != delivery.fingerprint or announcement.state not in (
        State.publishing, State.published, State.failed
    ):
        raise Conflict("the announcement was changed, cancelled or retracted since this delivery was approved")
    was = delivery.status
    now = utcnow()
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = now
    # After `unknown` a person has looked; still, ask the platform first where it can tell.
    delivery.reconcile = was == DeliveryStatus.unknown and reconcilable(delivery.channel.platform)
    if announcement.state != State.publishing:
        announcement.state = State.publishing
    audit.record(session, actor=actor, action="delivery.retry", object_type="announcement", object_id=announcement.id,
                 fingerprint=delivery.fingerprint, detail={"delivery": delivery.id, "was": was})
    notify_due(session)



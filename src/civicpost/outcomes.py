"""Recording what a send did (SPEC §3): published, retry, failed, unknown,
retracted; and settling the announcement once its deliveries are done.

Every write is guarded by the lease: an outcome is recorded only while the
delivery is still leased to the worker that sent it. A worker's recorder
writes outcomes in batches; work a batch shares (channel health, settling
announcements) is done once at its end, in id order.
"""

import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.links import http_url
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, State
from civicpost.platforms import CredentialsError, MaybePosted, PermanentError, RateLimited, Receipt, TransientError
from civicpost.publishing import LIVE_STATES, Prepared
from civicpost.retraction import TakenBack

log = logging.getLogger(__name__)


def stop_before_sending(session: Session, delivery: Delivery, *, owner: str) -> None:
    # Never sent, so a retract has nothing to take back here.
    _finish(session, delivery, owner, status=DeliveryStatus.cancelled, retract_requested_at=None,
            last_error="stopped before sending: the announcement was cancelled, retracted or changed")


BATCH = "civicpost.batch"


@dataclass
class Batch:
    """Work that a batch of outcomes defers to its end, done once and in id
    order: two workers' batches then lock channels and announcements in the
    same order and cannot deadlock."""

    held: set[int]  # deliveries still leased to this worker, locked by this transaction
    # Of those, the ones whose announcement was retracted while they were sent.
    retracting: set[int] = field(default_factory=set)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    announcements: set[int] = field(default_factory=set)
    # A post to take back landed (or may have): the worker looks for take-backs at once.
    take_back_due: bool = False


# Statements a batch runs every time, built once (building and keying them cost as much as running them).
# The lock also orders the batch against a retract: whichever commits first, the other sees it.
_HELD = (
    select(Delivery.id, Delivery.retract_requested_at)
    .where(Delivery.id.in_(bindparam("delivery_ids", expanding=True)), Delivery.lease_owner == bindparam("owner"))
    .order_by(Delivery.id)
    .with_for_update()
)
_LOCK_ANNOUNCEMENTS = (
    select(Announcement.id, Announcement.state, Announcement.approved_fingerprint)
    .where(Announcement.id.in_(bindparam("announcement_ids", expanding=True)))
    .order_by(Announcement.id)
    .with_for_update()
)
_DELIVERY_STATUSES = select(Delivery.announcement_id, Delivery.fingerprint, Delivery.status).where(
    Delivery.announcement_id.in_(bindparam("announcement_ids", expanding=True))
)
_SETTLE = (
    update(Announcement.__table__)
    .where(Announcement.__table__.c.id.in_(bindparam("announcement_ids", expanding=True)))
    .values(state=bindparam("new_state"), version=Announcement.__table__.c.version + 1)
)


def begin_batch(session: Session, *, owner: str, delivery_ids: list[int]) -> None:
    """Check every lease of the batch at once, and lock those rows until the commit."""
    held = session.execute(_HELD, {"delivery_ids": sorted(set(delivery_ids)), "owner": owner}).all()
    session.info[BATCH] = Batch(held={row.id for row in held},
                                retracting={row.id for row in held if row.retract_requested_at is not None})
    audit.collect(session)


def end_batch(session: Session) -> bool:
    """Write the batch; True when a post it recorded is now to be taken back."""
    batch: Batch = session.info.pop(BATCH)
    _write_deliveries(session, batch.updates)
    for channel_id in sorted(batch.channels):
        _update_channel(session, channel_id, batch.channels[channel_id])
    if batch.announcements:
        settle(session, *batch.announcements)
    audit.write_collected(session)
    return batch.take_back_due


def _retracting(session: Session, delivery: Delivery) -> bool:
    """Was the announcement retracted while this delivery was on its way? (Known in a batch only.)"""
    batch: Batch | None = session.info.get(BATCH)
    return batch is not None and delivery.id in batch.retracting


def _take_back_soon(session: Session) -> None:
    batch: Batch | None = session.info.get(BATCH)
    if batch is not None:
        batch.take_back_due = True


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


def _write_deliveries(session: Session, updates: list[tuple[int, dict[str, Any]]]) -> None:
    """One UPDATE sent many times (executemany) for the outcomes that set the same columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for delivery_id, values in updates:
        groups.setdefault(tuple(sorted(values)), []).append({"delivery_id": delivery_id, **{f"new_{k}": v for k, v in values.items()}})
    for columns, rows in groups.items():
        session.execute(_delivery_update(columns), rows)


@cache
def _delivery_update(columns: tuple[str, ...]) -> Update:
    table = Delivery.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("delivery_id"))
        .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
    )


def _finish(session: Session, delivery: Delivery, owner: str, **values: Any) -> bool:
    """Write an outcome only while the lease is ours; False if it was lost."""
    values.setdefault("lease_owner", None)
    values.setdefault("lease_expires_at", None)
    values["updated_at"] = utcnow()
    batch: Batch | None = session.info.get(BATCH)
    if batch is not None:
        if delivery.id not in batch.held:
            log.warning("delivery %s: lease lost before the outcome was recorded; another worker will reconcile", delivery.id)
            return False
        batch.updates.append((delivery.id, values))
        return True
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
    # A link is shown to residents and staff: only an http(s) address is kept
    # (a platform or webhook could answer "javascript:..."); the post still counts as published.
    remote_url = http_url(receipt.remote_url)
    rendition = dict(delivery.rendition)
    if receipt.part_ids:
        rendition["remote_part_ids"] = list(receipt.part_ids)
    if not _finish(session, delivery, owner, status=DeliveryStatus.published, remote_id=receipt.remote_id,
                   remote_url=remote_url, published_at=now, last_error=None, reconcile=False, rendition=rendition):
        return
    if _retracting(session, delivery):
        _take_back_soon(session)  # it landed after the retract: delete it now, not at the next sweep
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
    if _retracting(session, delivery):
        return _failed_after_retract(session, prepared, error, message, partial, owner=owner)
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


def _failed_after_retract(session: Session, prepared: Prepared, error: Exception, message: str,
                          partial: dict[str, Any], *, owner: str) -> str:
    """A send that failed after its announcement was retracted is never tried
    again; if it may have posted (or posted part of a thread), the worker
    looks for the post and deletes it."""
    delivery = prepared.delivery
    maybe_posted = isinstance(error, MaybePosted) or not isinstance(error, PermanentError | TransientError)
    if maybe_posted or partial or delivery.remote_id:
        _finish(session, delivery, owner, status=DeliveryStatus.unknown, next_attempt_at=utcnow(),
                reconcile=maybe_posted or delivery.reconcile, **partial,
                last_error=f"retracted while this send was on its way ({message}); looking for the post to delete it")
        _take_back_soon(session)
        return DeliveryStatus.unknown
    _finish(session, delivery, owner, status=DeliveryStatus.cancelled, retract_requested_at=None, reconcile=False,
            last_error=f"announcement retracted before this channel published ({message})")
    _audit_outcome(session, delivery, prepared.channel, "delivery.cancelled", message)
    return DeliveryStatus.cancelled


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


def record_retracted(session: Session, prepared: Prepared, *, owner: str, settings: Settings,
                     result: TakenBack | None = None, error: Exception | None = None) -> None:
    """The outcome of taking a post back: `result` when the platform answered, `error` when it did not."""
    delivery, channel = prepared.delivery, prepared.channel
    if result is not None and result.outcome == "deleted":
        found = {}
        if delivery.remote_id is None and result.remote_ids:
            # Found on the platform after a send that did not say: keep where it was.
            found = {"remote_id": result.remote_ids[0],
                     "rendition": {**delivery.rendition, "remote_part_ids": list(result.remote_ids)}}
        _finish(session, delivery, owner, status=DeliveryStatus.retracted, retract_requested_at=None,
                retracted_at=utcnow(), last_error=None, reconcile=False, **found)
        _audit_outcome(session, delivery, channel, "delivery.retracted", None)
    elif result is not None and result.outcome == "not_posted":
        _finish(session, delivery, owner, status=DeliveryStatus.cancelled, retract_requested_at=None,
                last_error=result.note, reconcile=False)
        _audit_outcome(session, delivery, channel, "delivery.not_posted", result.note)
    elif result is not None:
        # A person must look; the record says where.
        _finish(session, delivery, owner, status=DeliveryStatus.unknown, retract_requested_at=None,
                last_error=result.note, reconcile=False)
        _audit_outcome(session, delivery, channel, "delivery.unknown", result.note)
    else:
        # A send taken back from its claim may have posted: it stays out of the queue.
        unsent = {"status": DeliveryStatus.unknown} if delivery.status == DeliveryStatus.sending else {}
        if isinstance(error, TransientError):
            _finish(session, delivery, owner, last_error=f"could not delete yet: {error}", **unsent,
                    retract_requested_at=delivery.retract_requested_at or utcnow(),
                    next_attempt_at=utcnow() + timedelta(seconds=backoff(1, settings, at_least=error.retry_after)))
        elif isinstance(error, CredentialsError):
            # The post is still up: try again now and then, so it goes once someone fixes the channel.
            note = f"could not delete the post: {error}; fix the channel's credentials and it is tried again"
            _finish(session, delivery, owner, last_error=note, **unsent,
                    retract_requested_at=delivery.retract_requested_at or utcnow(),
                    next_attempt_at=utcnow() + timedelta(seconds=settings.retry_max_seconds))
            _channel(session, channel.id, last_error=str(error), last_error_at=utcnow(), needs_attention=True)
            _audit_outcome(session, delivery, channel, "delivery.retract_failed", note)
        else:
            note = f"could not delete the post: {error}"
            _finish(session, delivery, owner, retract_requested_at=None, last_error=note, **unsent)
            _audit_outcome(session, delivery, channel, "delivery.retract_failed", note)


def _audit_outcome(session: Session, delivery: Delivery, channel: Channel, action: str, message: str | None) -> None:
    audit.record(
        session, actor=None, action=action, object_type="announcement", object_id=delivery.announcement_id,
        fingerprint=delivery.fingerprint,
        detail={"delivery": delivery.id, "channel": channel.id, "platform": channel.platform, "error": message},
    )


def settle(session: Session, *announcement_ids: int) -> None:
    """Move announcements to published or failed once their deliveries are done.

    The announcement rows are locked first (in id order) so two workers
    finishing an announcement's last two deliveries at once cannot both miss
    that it is complete. A batch of outcomes settles all its announcements in
    four statements, however many there are.
    """
    rows = session.execute(_LOCK_ANNOUNCEMENTS, {"announcement_ids": sorted(announcement_ids)}).all()
    live = {row.id: row.approved_fingerprint for row in rows if row.state in LIVE_STATES}
    if not live:
        return
    statuses: dict[int, set[str]] = {}
    for announcement_id, fingerprint, status in session.execute(_DELIVERY_STATUSES, {"announcement_ids": list(live)}):
        if fingerprint == live[announcement_id]:
            statuses.setdefault(announcement_id, set()).add(status)
    done: dict[State, list[int]] = {}
    for announcement_id, found in statuses.items():
        if found <= {DeliveryStatus.published}:
            done.setdefault(State.published, []).append(announcement_id)
        elif found <= {DeliveryStatus.published, DeliveryStatus.failed, DeliveryStatus.cancelled}:
            new = State.failed if DeliveryStatus.failed in found else State.published
            done.setdefault(new, []).append(announcement_id)
    for new, ids in done.items():
        session.execute(_SETTLE, {"announcement_ids": ids, "new_state": new})
        for announcement_id in ids:
            audit.record(session, actor=None, action=new.value, object_type="announcement", object_id=announcement_id,
                         fingerprint=live[announcement_id])

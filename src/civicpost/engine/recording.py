"""Writing outcomes (SPEC §3): each a decision of outcomes.py, for a delivery
still leased to the worker that sent it; then settling announcements once
their deliveries are done.

A worker's recorder writes outcomes in batches, one transaction each; the
work a batch shares (channel health, settling announcements) is done once at
its end, in id order: two workers' batches then lock channels and
announcements in the same order and cannot deadlock.
"""

import logging
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.orm import Session

from civicpost import audit, notifications, public_site
from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.engine.claims import LIVE_STATES
from civicpost.engine.guard import Send, Stop
from civicpost.engine.outcomes import Decision, Facts, Happened, Health, decide
from civicpost.insights import rollup
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, State

log = logging.getLogger(__name__)

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
# A delivery entering or leaving these changes the public site (its lists, feeds, directory and links).
_SEEN_PUBLICLY = (DeliveryStatus.published, DeliveryStatus.retracted)
_ANNOUNCEMENTS = cast(Table, Announcement.__table__)
_SETTLE = (
    update(_ANNOUNCEMENTS)
    .where(_ANNOUNCEMENTS.c.id.in_(bindparam("announcement_ids", expanding=True)))
    .values(state=bindparam("new_state"), version=_ANNOUNCEMENTS.c.version + 1)
)


class Batch:
    """Outcomes written in one transaction. Opening it checks every lease of
    the batch at once and locks those rows until the commit."""

    def __init__(self, session: Session, *, owner: str, delivery_ids: list[int]) -> None:
        self.session = session
        held = session.execute(_HELD, {"delivery_ids": sorted(set(delivery_ids)), "owner": owner}).all()
        self._held = {row.id for row in held}
        # Of those, the ones whose announcement was retracted while they were sent.
        self._retracting = {row.id for row in held if row.retract_requested_at is not None}
        self._updates: list[tuple[int, dict[str, Any]]] = []
        self._channels: dict[int, dict[str, Any]] = {}
        self._announcements: set[int] = set()
        # A post to take back landed (or may have): the worker looks for take-backs at once.
        self.take_back_due = False
        audit.collect(session)

    def record(self, ready: Send | Stop, happened: Happened, *, settings: Settings) -> None:
        """Decide what `happened` means for the delivery and write it (at the batch's end)."""
        delivery, now = ready.delivery, utcnow()
        facts = _facts(ready, retracting=delivery.id in self._retracting)
        decision = decide(happened, facts, settings=settings, now=now)
        if decision.channel is not None:
            # What the platform said of the channel holds even when the lease was lost.
            self._channels.setdefault(delivery.channel_id, {}).update(_health(decision.channel, now))
        if delivery.id not in self._held:
            log.warning("delivery %s: lease lost before the outcome was recorded; another worker will reconcile",
                        delivery.id)
            return
        self._updates.append((delivery.id, _columns(delivery, decision, now)))
        if decision.event is not None:
            channel = delivery.channel
            detail = {"delivery": delivery.id, "channel": channel.id, "platform": channel.platform, **decision.detail}
            audit.record(self.session, actor=None, action=decision.event, object_type="announcement",
                         object_id=delivery.announcement_id, fingerprint=delivery.fingerprint, detail=detail)
        if decision.settle:
            self._announcements.add(delivery.announcement_id)
        self.take_back_due = self.take_back_due or decision.take_back_soon

    def write(self) -> bool:
        """Write the batch; True when a post it recorded is now to be taken back."""
        _write_deliveries(self.session, self._updates)
        if self._announcements or any(values.get("status") in _SEEN_PUBLICLY or values.get("remote_url")
                                      for _, values in self._updates):
            public_site.changed(self.session)
        # A post taken back leaves the insights with it.
        rollup.forget(self.session, [delivery_id for delivery_id, values in self._updates
                                     if values.get("status") == DeliveryStatus.retracted])
        # Before the channels' rows change: only a channel not yet marked tells anyone.
        notifications.queue(self.session, event=notifications.Event.channel_attention, channel_errors={
            channel_id: values.get("last_error") for channel_id, values in self._channels.items()
            if values.get("needs_attention")})
        for channel_id in sorted(self._channels):
            self.session.execute(update(Channel).where(Channel.id == channel_id).values(**self._channels[channel_id])
                                 .execution_options(synchronize_session=False))
        if self._announcements:
            settle(self.session, *self._announcements)
        audit.write_collected(self.session)
        return self.take_back_due


def _facts(ready: Send | Stop, *, retracting: bool = False) -> Facts:
    """What the rules need of a delivery, from what the guard read."""
    delivery, channel = ready.delivery, ready.delivery.channel
    return Facts(
        status=DeliveryStatus(delivery.status), attempts=delivery.attempts, reconcile=delivery.reconcile,
        remote_id=delivery.remote_id,
        part_ids=tuple(delivery.rendition.get("remote_part_ids") or ()),
        retract_requested_at=delivery.retract_requested_at, take_back=isinstance(ready, Send) and ready.take_back,
        retracting=retracting, channel_needs_attention=channel.needs_attention,
        channel_last_success_at=channel.last_success_at,
    )


def _columns(delivery: Delivery, decision: Decision, now: datetime) -> dict[str, Any]:
    """The delivery's columns a decision sets; its lease ends with it."""
    values: dict[str, Any] = {"last_error": decision.note, "lease_owner": None, "lease_expires_at": None,
                              "updated_at": now}
    if decision.status is not None:
        values["status"] = decision.status
    if decision.retry_at is not None:
        values["next_attempt_at"] = decision.retry_at
    if decision.attempts is not None:
        values["attempts"] = decision.attempts
    if decision.reconcile is not None:
        values["reconcile"] = decision.reconcile
    if decision.post is not None:
        values.update(remote_id=decision.post.remote_id, remote_url=decision.post.url)
        if decision.post.part_ids:
            values["rendition"] = {**delivery.rendition, "remote_part_ids": list(decision.post.part_ids)}
    if decision.held_by is not None:
        values["held_by"] = decision.held_by
    if decision.published_at is not None:
        values["published_at"] = decision.published_at
    if decision.retracted_at is not None:
        values["retracted_at"] = decision.retracted_at
    if decision.retract_done:
        values["retract_requested_at"] = None
    elif decision.retract_requested_at is not None:
        values["retract_requested_at"] = decision.retract_requested_at
    return values


def _health(health: Health, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if health.error is not None:
        values.update(last_error=health.error, last_error_at=now)
    if health.needs_attention:
        values["needs_attention"] = True
    if health.paused_until is not None:
        values["paused_until"] = health.paused_until
    if health.working:
        values.update(last_success_at=now, needs_attention=False)
    return values


def _write_deliveries(session: Session, updates: list[tuple[int, dict[str, Any]]]) -> None:
    """One UPDATE sent many times (executemany) for the outcomes that set the same columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for delivery_id, values in updates:
        groups.setdefault(tuple(sorted(values)), []).append(
            {"delivery_id": delivery_id, **{f"new_{k}": v for k, v in values.items()}}
        )
    for columns, rows in groups.items():
        session.execute(_delivery_update(columns), rows)


@cache
def _delivery_update(columns: tuple[str, ...]) -> Update:
    table = cast(Table, Delivery.__table__)
    return (
        update(table)
        .where(table.c.id == bindparam("delivery_id"))
        .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns})
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
        notifications.queue(session, event=new.value, announcement_ids=ids)

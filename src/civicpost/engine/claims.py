"""Claims and leases (SPEC §3, §7): the deliveries table is the queue.

A claim takes due rows under a lease and commits; the platform is called
outside any transaction (see sending.py); the outcome is recorded only while
the lease is still ours (see recording.py). A delivery whose worker died
mid-request comes back with `reconcile` set: the platform is asked whether the
post is there before anything is sent again. Nothing is ever blindly re-posted.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Literal, cast

from sqlalchemy import Integer, ScalarSelect, Table, Update, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from civicpost.models import (
    EMERGENCY_LANE,
    OPEN_DELIVERY,
    ORDINARY_LANE,
    Announcement,
    Channel,
    Delivery,
    DeliveryStatus,
    State,
)

LIVE_STATES = (State.scheduled, State.publishing)
# Where a delivery marked by a retract (retract_requested_at) waits for the
# worker to take its post back: published, or one that may have posted
# (unknown, a failed thread with parts out, a send whose worker died).
TAKE_BACK = (DeliveryStatus.published, DeliveryStatus.unknown, DeliveryStatus.failed)


@dataclass(frozen=True)
class Job:
    delivery_id: int
    kind: Literal["publish", "retract"]
    reconcile: bool
    # The worker sends emergency-lane jobs before any it claimed earlier and has not started.
    lane: int = ORDINARY_LANE

    @property
    def emergency(self) -> bool:
        return self.lane == EMERGENCY_LANE


def _lock(query, dialect: str):
    # SKIP LOCKED lets many workers claim side by side, each taking other rows.
    # SQLite has no row locks; its claim runs under BEGIN IMMEDIATE instead.
    if dialect == "postgresql":
        return query.with_for_update(skip_locked=True, of=Delivery)
    return query


# Written into the SQL, not bound: only then may a planner (SQLite's, or
# PostgreSQL's for a prepared statement) use the partial index of open deliveries.
_IS_OPEN = Delivery.status.in_(
    bindparam("open", [s.value for s in OPEN_DELIVERY], expanding=True, literal_execute=True)
)


# The claim's writes go through Core: no ORM bookkeeping for rows it never loads.
_DELIVERIES = cast(Table, Delivery.__table__)
_ANNOUNCEMENTS = cast(Table, Announcement.__table__)


@cache
def _claim_statements(dialect: str) -> tuple[Update, Update]:
    """The claim's two statements, built once per dialect (a claim runs many times a second).

    The first takes the due rows and leases them in one statement: the
    sub-select picks (and, on PostgreSQL, locks, skipping rows another worker
    holds), the UPDATE takes them and hands back what the worker needs. The
    second moves their announcements to publishing and bumps the version, so
    an edit racing the claim gets a 409.
    """
    now = bindparam("now", type_=Delivery.next_attempt_at.type)
    picked = _lock(
        select(Delivery.id)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(
            _IS_OPEN, Delivery.next_attempt_at <= now, or_(Channel.paused_until.is_(None), Channel.paused_until <= now)
        )
        # The emergency lane first, however much ordinary work is overdue (index ix_deliveries_open_lane).
        .order_by(Delivery.lane, Delivery.next_attempt_at, Delivery.id)
        .limit(bindparam("limit", type_=Integer)),
        dialect,
    )
    take = (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.id.in_(picked.scalar_subquery()))
        .values(status=DeliveryStatus.sending, lease_owner=bindparam("claim_owner"),
                lease_expires_at=bindparam("claim_until", type_=Delivery.lease_expires_at.type),
                attempts=_DELIVERIES.c.attempts + 1)
        .returning(_DELIVERIES.c.id, _DELIVERIES.c.reconcile, _DELIVERIES.c.announcement_id,
                   _DELIVERIES.c.next_attempt_at, _DELIVERIES.c.lane)
    )
    mark_publishing = (
        update(_ANNOUNCEMENTS)
        .where(_ANNOUNCEMENTS.c.id.in_(bindparam("announcement_ids", expanding=True)),
               _ANNOUNCEMENTS.c.state == State.scheduled)
        .values(state=State.publishing, version=_ANNOUNCEMENTS.c.version + 1)
    )
    return take, mark_publishing


def claim_due(
    session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: int, sweep: bool = True
) -> list[Job]:
    """Lease up to `limit` due deliveries to `owner`; the caller commits.

    `sweep` also looks for leases that ran out and for posts to take back; a
    busy worker does that once a second, not at every claim.
    """
    if limit <= 0:
        return []
    lease_until = now + timedelta(seconds=lease_seconds)
    dialect = session.get_bind().dialect.name
    # Leases that ran out: their worker died or hung mid-request. One of a
    # retracted announcement is taken back below instead of reconciled here.
    expired: list[tuple[int, int]] = []
    if sweep:
        expired = [
            (row.id, row.lane)
            for row in session.execute(
                _lock(
                    select(Delivery.id, Delivery.lane)
                    .where(Delivery.status == DeliveryStatus.sending, Delivery.lease_expires_at < now,
                           Delivery.retract_requested_at.is_(None))
                    .order_by(Delivery.lease_expires_at)
                    .limit(limit),
                    dialect,
                )
            )
        ]
    take, mark_publishing = _claim_statements(dialect)
    connection = session.connection()
    due = sorted(
        connection.execute(take, {"now": now, "limit": limit - len(expired), "claim_owner": owner,
                                  "claim_until": lease_until}).all(),
        key=lambda r: (r.lane, r.next_attempt_at, r.id),
    )
    retracts: list[int] = []
    if sweep:
        retracts = list(
            session.scalars(
                _lock(
                    select(Delivery.id)
                    .where(
                        Delivery.status.in_((*TAKE_BACK, DeliveryStatus.sending)),
                        Delivery.retract_requested_at.is_not(None),
                        Delivery.next_attempt_at <= now,
                        or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
                    )
                    .limit(max(0, limit - len(expired) - len(due))),
                    dialect,
                )
            )
        )
    jobs: list[Job] = []
    if expired:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([i for i, _ in expired]))
            .values(lease_owner=owner, lease_expires_at=lease_until, reconcile=True, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        jobs += [Job(i, "publish", True, lane) for i, lane in expired]
    if due:
        # Bump the version too, so an edit racing this claim gets a 409.
        connection.execute(mark_publishing, {"announcement_ids": sorted({r.announcement_id for r in due})})
        jobs += [Job(r.id, "publish", r.reconcile, r.lane) for r in due]
    if retracts:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(retracts))
            # A send whose worker died after the retract may have posted: it is looked for, not resent.
            .values(lease_owner=owner, lease_expires_at=lease_until,
                    status=case((Delivery.status == DeliveryStatus.sending, DeliveryStatus.unknown),
                                else_=Delivery.status))
            .execution_options(synchronize_session=False)
        )
        jobs += [Job(i, "retract", False) for i in retracts]
    return jobs


def _earliest_open(lane: int) -> ScalarSelect[datetime]:
    return select(func.min(Delivery.next_attempt_at)).where(_IS_OPEN, Delivery.lane == lane).scalar_subquery()


def next_due(session: Session, *, now: datetime) -> datetime | None:
    """When the earliest waiting delivery, retraction or lease expiry comes due (one statement)."""
    emergency, ordinary, lease_ends, retract, paused = session.execute(
        select(
            # Each lane's earliest: one step down ix_deliveries_open_lane each (no second index to write).
            _earliest_open(EMERGENCY_LANE),
            _earliest_open(ORDINARY_LANE),
            select(func.min(Delivery.lease_expires_at))
            .where(Delivery.status == DeliveryStatus.sending)
            .scalar_subquery(),
            select(func.min(Delivery.next_attempt_at))
            .where(Delivery.status.in_(TAKE_BACK), Delivery.retract_requested_at.is_not(None))
            .scalar_subquery(),
            select(func.min(Channel.paused_until)).where(Channel.paused_until > now).scalar_subquery(),
        )
    ).one()
    found = [c for c in (emergency, ordinary, lease_ends, retract) if c is not None]
    if not found:
        return None
    soonest = min(found)
    if paused is not None and soonest <= now:
        # Everything due may be waiting on a paused channel.
        return max(soonest, min(paused, now + timedelta(seconds=5)))
    return soonest


def release(session: Session, job: Job, *, owner: str) -> None:
    """Give back a claim that never reached the platform."""
    # One that was to be reconciled may have posted before: if its
    # announcement was retracted meanwhile, it waits to be taken back.
    released = DeliveryStatus.retrying if job.reconcile else DeliveryStatus.pending
    session.execute(
        update(Delivery)
        .where(Delivery.id == job.delivery_id, Delivery.lease_owner == owner, Delivery.status == DeliveryStatus.sending)
        .values(status=_unless_retracted(released) if job.reconcile else released,
                lease_owner=None, lease_expires_at=None, attempts=Delivery.attempts - 1)
        .execution_options(synchronize_session=False)
    )


def release_all(session: Session, *, owner: str) -> None:
    """Give back every lease `owner` still holds at its stop: those jobs crashed
    mid-send and may have posted, so each is reconciled."""
    session.execute(
        update(Delivery)
        .where(Delivery.lease_owner == owner, Delivery.status == DeliveryStatus.sending)
        .values(status=_unless_retracted(DeliveryStatus.retrying), lease_owner=None, lease_expires_at=None,
                reconcile=True)
        .execution_options(synchronize_session=False)
    )


def renew(session: Session, delivery_ids: list[int], *, owner: str, until: datetime) -> None:
    """Extend the leases `owner` still holds on these deliveries."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.lease_owner == owner)
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )


def _unless_retracted(status: DeliveryStatus):
    """`status`, or `unknown` for a delivery a retract marked: a send that may
    have posted goes back to the queue only while its announcement stands."""
    return case((Delivery.retract_requested_at.is_(None), status), else_=DeliveryStatus.unknown)

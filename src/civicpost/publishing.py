"""The publishing engine's steps (SPEC §3, §7): claim, guard, send, record
(recording is in outcomes.py).

The deliveries table is the queue. A claim takes due rows under a lease and
commits; the platform is called outside any transaction; the outcome is
recorded only while the lease is still ours. A delivery whose worker died
mid-request comes back with `reconcile` set: the platform is asked whether the
post is there before anything is sent again, and where nobody can tell, the
delivery becomes `unknown` for a person. Nothing is ever blindly re-posted.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import Integer, Update, bindparam, case, func, or_, select, text, update
from sqlalchemy.orm import Session, defaultload

from civicpost import audit, media_urls
from civicpost.config import Settings
from civicpost.db import utcnow, wake_after_commit
from civicpost.models import OPEN_DELIVERY, Announcement, Channel, Delivery, DeliveryStatus, Media, State
from civicpost.platforms import MediaItem, Outgoing, spec

NOTIFY_CHANNEL = "civicpost_due"
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


def notify_due(session: Session) -> None:
    """Wake PostgreSQL workers when this transaction commits (LISTEN/NOTIFY)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def _lock(query, dialect: str):
    # SKIP LOCKED lets many workers claim side by side, each taking other rows.
    # SQLite has no row locks; its claim runs under BEGIN IMMEDIATE instead.
    if dialect == "postgresql":
        return query.with_for_update(skip_locked=True, of=Delivery)
    return query


# Written into the SQL, not bound: only then may a planner (SQLite's, or
# PostgreSQL's for a prepared statement) use the partial index of open deliveries.
_IS_OPEN = Delivery.status.in_(bindparam("open", [s.value for s in OPEN_DELIVERY], expanding=True, literal_execute=True))


# The claim's writes go through Core: no ORM bookkeeping for rows it never loads.
_DELIVERIES = Delivery.__table__
_ANNOUNCEMENTS = Announcement.__table__


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
        .where(_IS_OPEN, Delivery.next_attempt_at <= now, or_(Channel.paused_until.is_(None), Channel.paused_until <= now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
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
                   _DELIVERIES.c.next_attempt_at)
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
    expired: list[int] = []
    if sweep:
        expired = list(
            session.scalars(
                _lock(
                    select(Delivery.id)
                    .where(Delivery.status == DeliveryStatus.sending, Delivery.lease_expires_at < now,
                           Delivery.retract_requested_at.is_(None))
                    .order_by(Delivery.lease_expires_at)
                    .limit(limit),
                    dialect,
                )
            )
        )
    take, mark_publishing = _claim_statements(dialect)
    connection = session.connection()
    due = sorted(
        connection.execute(take, {"now": now, "limit": limit - len(expired), "claim_owner": owner,
                                  "claim_until": lease_until}).all(),
        key=lambda r: (r.next_attempt_at, r.id),
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
            .where(Delivery.id.in_(expired))
            .values(lease_owner=owner, lease_expires_at=lease_until, reconcile=True, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        jobs += [Job(i, "publish", True) for i in expired]
    if due:
        # Bump the version too, so an edit racing this claim gets a 409.
        connection.execute(mark_publishing, {"announcement_ids": sorted({r.announcement_id for r in due})})
        jobs += [Job(r.id, "publish", r.reconcile) for r in due]
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


def next_due(session: Session, *, now: datetime) -> datetime | None:
    """When the earliest waiting delivery, retraction or lease expiry comes due (one statement)."""
    waiting, lease_ends, retract, paused = session.execute(
        select(
            select(func.min(Delivery.next_attempt_at)).where(_IS_OPEN).scalar_subquery(),
            select(func.min(Delivery.lease_expires_at))
            .where(Delivery.status == DeliveryStatus.sending)
            .scalar_subquery(),
            select(func.min(Delivery.next_attempt_at))
            .where(Delivery.status.in_(TAKE_BACK), Delivery.retract_requested_at.is_not(None))
            .scalar_subquery(),
            select(func.min(Channel.paused_until)).where(Channel.paused_until > now).scalar_subquery(),
        )
    ).one()
    found = [c for c in (waiting, lease_ends, retract) if c is not None]
    if not found:
        return None
    soonest = min(found)
    if paused is not None and soonest <= now:
        # Everything due may be waiting on a paused channel.
        return max(soonest, min(paused, now + timedelta(seconds=5)))
    return soonest


# One statement, built once: the deliveries (with their channels) and what the
# guard needs of their announcements, read right before the sends start.
_GUARD = (
    select(Delivery, Announcement.state, Announcement.approved_fingerprint, Announcement.title, Announcement.link)
    .join(Announcement, Announcement.id == Delivery.announcement_id)
    .where(Delivery.id.in_(bindparam("delivery_ids", expanding=True)))
    # A send needs the channel, not the channel's department.
    .options(defaultload(Delivery.channel).lazyload(Channel.department))
)


@dataclass
class Prepared:
    """Everything a send needs, read in one short transaction before the call."""

    delivery: Delivery
    channel: Channel
    outgoing: Outgoing
    # Take the post back instead of sending: a retract job, or a send to
    # reconcile whose announcement was retracted meanwhile.
    take_back: bool = False


def prepare(session: Session, job: Job, *, owner: str, settings: Settings) -> Prepared | None | Literal["stop"]:
    """The guard before sending: what to send, None to leave it, or "stop" when the
    announcement was cancelled, retracted or edited after the claim."""
    return prepare_all(session, [job], owner=owner, settings=settings)[0]


def prepare_all(
    session: Session, jobs: list[Job], *, owner: str, settings: Settings
) -> list[Prepared | None | Literal["stop"]]:
    """`prepare` for jobs about to start together, in their order.

    Reads only: one query for all of them (a second with media), so it runs
    in a read transaction and does not queue behind SQLite's write lock.
    """
    rows = {row.Delivery.id: row for row in session.execute(_GUARD, {"delivery_ids": [j.delivery_id for j in jobs]})}
    media_ids = {m["id"] for row in rows.values() for m in row.Delivery.rendition.get("media", [])}
    mime = dict(session.execute(select(Media.id, Media.mime_type).where(Media.id.in_(media_ids))).all()) if media_ids else {}
    return [_guarded(job, rows.get(job.delivery_id), owner=owner, settings=settings, mime=mime) for job in jobs]


def _guarded(job: Job, row, *, owner: str, settings: Settings, mime: dict[str, str]) -> Prepared | None | Literal["stop"]:
    if row is None or row.Delivery.lease_owner != owner:
        return None
    delivery, announcement = row.Delivery, row
    take_back = job.kind == "retract"
    if not take_back:
        if delivery.status != DeliveryStatus.sending:
            return None
        if announcement.state == State.retracted and job.reconcile:
            # An earlier attempt may have posted: look for it and delete it.
            take_back = True
        elif announcement.state not in LIVE_STATES or announcement.approved_fingerprint != delivery.fingerprint:
            return "stop"
    elif delivery.status not in TAKE_BACK or delivery.retract_requested_at is None:
        return None
    rendition: dict[str, Any] = delivery.rendition
    outgoing = Outgoing(
        key=delivery.key,
        text=rendition.get("text", ""),
        parts=rendition.get("parts"),
        media=[
            MediaItem(path=settings.media_dir / m["id"], mime_type=mime.get(m["id"], "image/jpeg"),
                      alt_text=m.get("alt_text", ""),
                      url=media_urls.signed_url(settings.base_url, settings.fernet_key(), m["id"]))
            for m in rendition.get("media", [])
        ],
        title=announcement.title,
        link=announcement.link,
        extra=rendition.get("extra") or {},
        created_at=delivery.created_at,
        already_posted=[] if take_back else list(rendition.get("remote_part_ids") or []),
        public_url=f"{settings.base_url.rstrip('/')}/announcements/{delivery.announcement_id}",
    )
    return Prepared(delivery=delivery, channel=delivery.channel, outgoing=outgoing, take_back=take_back)


def reconcilable(platform: str) -> bool:
    return spec(platform).capabilities.find


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
    wake_after_commit(session)



"""The guard before a send (SPEC §3): read, right before the platform call,
whether each claimed job is still to go out, and everything the call needs.

Reads only: one query for a whole claim (a second with media), so it runs in
a read transaction and does not queue behind SQLite's write lock.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, defaultload

from civicpost import media_urls, suspensions
from civicpost.config import Settings
from civicpost.engine.claims import LIVE_STATES, TAKE_BACK, Job
from civicpost.models import Announcement, Channel, Delivery, DeliveryStatus, Media, State, Suspension
from civicpost.platforms import MediaItem, Outgoing


@dataclass(frozen=True)
class Send:
    """Everything a platform call needs, read in one short transaction before it."""

    delivery: Delivery
    outgoing: Outgoing
    # Ask the platform whether an earlier attempt posted before sending again.
    reconcile: bool = False
    # Take the post back instead of sending: a retract job, or a send to
    # reconcile whose announcement was retracted meanwhile.
    take_back: bool = False

    @property
    def channel(self) -> Channel:
        return self.delivery.channel


@dataclass(frozen=True)
class Skip:
    """Nothing to do: the lease was lost, or the delivery moved on without this worker."""

    delivery_id: int


@dataclass(frozen=True)
class Stop:
    """Do not send: the announcement was cancelled, retracted or edited after the claim, or (`held_by`)
    a suspension of its department holds it."""

    delivery: Delivery
    held_by: int | None = None


Ready = Send | Skip | Stop

# One statement, built once: the deliveries (with their channels) and what the
# guard needs of their announcements, read right before the sends start, and
# whether any suspension is unended (the partial index ix_suspensions_active;
# almost always none, so the suspensions themselves are read only then).
_GUARD = (
    select(Delivery, Announcement.state, Announcement.approved_fingerprint, Announcement.title, Announcement.link,
           Announcement.department_id, Announcement.emergency,
           exists().where(Suspension.ended_at.is_(None)).label("suspended"))
    .join(Announcement, Announcement.id == Delivery.announcement_id)
    .where(Delivery.id.in_(bindparam("delivery_ids", expanding=True)))
    # A send needs the channel, not the channel's department.
    .options(defaultload(Delivery.channel).lazyload(Channel.department))
)


def prepare(session: Session, job: Job, *, owner: str, settings: Settings) -> Ready:
    """What to do with one claimed job now."""
    return prepare_all(session, [job], owner=owner, settings=settings)[0]


def prepare_all(session: Session, jobs: list[Job], *, owner: str, settings: Settings) -> list[Ready]:
    """`prepare` for jobs about to start together, in their order."""
    rows = {row.Delivery.id: row for row in session.execute(_GUARD, {"delivery_ids": [j.delivery_id for j in jobs]})}
    media_ids = {m["id"] for row in rows.values() for m in row.Delivery.rendition.get("media", [])}
    mime = (
        dict(session.execute(select(Media.id, Media.mime_type).where(Media.id.in_(media_ids))).all())
        if media_ids
        else {}
    )
    # The suspensions in force, read in the same transaction: a suspension committed before the
    # guard's statement stops every ordinary send it covers.
    paused = (suspensions.in_force(session)
              if any(row.suspended for row in rows.values())
              and any(not j.emergency and j.kind == "publish" for j in jobs) else None)
    return [_guarded(job, rows.get(job.delivery_id), owner=owner, settings=settings, mime=mime, paused=paused)
            for job in jobs]


def _guarded(job: Job, row, *, owner: str, settings: Settings, mime: dict[str, str],
             paused: suspensions.InForce | None) -> Ready:
    if row is None or row.Delivery.lease_owner != owner:
        return Skip(job.delivery_id)
    delivery, announcement = row.Delivery, row
    take_back = job.kind == "retract"
    if not take_back:
        if delivery.status != DeliveryStatus.sending:
            return Skip(job.delivery_id)
        if announcement.state == State.retracted and job.reconcile:
            # An earlier attempt may have posted: look for it and delete it.
            take_back = True
        elif announcement.state not in LIVE_STATES or announcement.approved_fingerprint != delivery.fingerprint:
            return Stop(delivery)
        elif paused and not announcement.emergency and not job.emergency:
            holder = paused.holder(announcement.department_id)
            if holder is not None:
                return Stop(delivery, held_by=holder)
    elif delivery.status not in TAKE_BACK or delivery.retract_requested_at is None:
        return Skip(job.delivery_id)
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
    return Send(delivery=delivery, outgoing=outgoing, reconcile=job.reconcile and not take_back, take_back=take_back)

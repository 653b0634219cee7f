"""The recipients' rows of fan-out deliveries: made in one statement, claimed in batches, recorded.

A fan-out delivery is handed over when its rows are made: it stays `sending` with the lease owner
`fanout` and no lease end (so no worker's sweep takes it for a dead send) and becomes `published`
(or `failed`, when nothing could be sent) once every row is final.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.engine.recording import settle
from civicpost.models import (
    EMERGENCY_LANE,
    Channel,
    Delivery,
    DeliveryStatus,
    SendState,
    Subscriber,
    SubscriberSend,
    Subscription,
    Topic,
)
from civicpost.models.subscriber_send import FINAL_SEND, OPEN_SEND
from civicpost.sms import limits, plan

HANDED_OVER = "fanout"
MAX_BOUNCES = 3
_OPEN = [s.value for s in OPEN_SEND]
_SENDS = cast(Table, SubscriberSend.__table__)


def topic_ids(session: Session, channel: Channel) -> list[int]:
    """The channel's topics by slug; none named: its department's topic."""
    slugs = list(channel.settings.get("topics") or [])
    if slugs:
        return list(session.scalars(select(Topic.id).where(Topic.slug.in_(slugs))))
    return list(session.scalars(select(Topic.id).where(Topic.department_id == channel.department_id)))


def expand(session: Session, *, delivery_id: int, owner: str, settings: Settings,
           now: datetime | None = None) -> int | None:
    """Make one row per confirmed recipient of the delivery's channel (and, where the channel texts,
    one per confirmed number) and hand the delivery over; answers how many rows, or None when the
    delivery is no longer this worker's to expand."""
    now = now or utcnow()
    delivery = session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update(of=Delivery))
    if delivery is None or delivery.status != DeliveryStatus.sending or delivery.lease_owner != owner:
        return None
    already = session.scalar(select(exists().where(SubscriberSend.delivery_id == delivery_id)))
    count = 0
    if not already:
        topics = topic_ids(session, delivery.channel)
        wanted = select(Subscription.subscriber_id).where(Subscription.topic_id.in_(topics))
        emergency = delivery.lane == EMERGENCY_LANE
        # Without a mail server nothing leaves the machine: the rows say so, and the counts show it.
        mailless = not settings.smtp_host
        email = (SendState.skipped if mailless else SendState.pending, Subscriber.email_encrypted,
                 Subscriber.email_confirmed_at.is_not(None), Subscriber.bounces < MAX_BOUNCES)
        error = "no mail server: set CIVICPOST_SMTP_HOST to send residents' mail" if mailless else None
        if emergency:
            count = _insert(session, delivery, "email", email[0], now, 0, wanted, *email[1:], error=error)
        else:
            # A resident who chose a digest (or every resident of a digest channel) gets it with the day's others.
            digesting = delivery.channel.settings.get("mode") == "digest"
            chose = Subscriber.mode == "digest"
            count = _insert(session, delivery, "email", email[0], now, 0, wanted, *email[1:],
                            *(() if not digesting else (false(),)), ~chose, error=error)
            count += _insert(session, delivery, "email", email[0], next_digest(settings, now), 0, wanted, *email[1:],
                             *(() if digesting else (chose,)), error=error, digest=True)
        if delivery.channel.settings.get("sms") and plan.ready(settings):
            text = plan.text_of(delivery.rendition, public_url(settings, delivery.announcement_id))
            found = plan.estimate(session, settings, topic_ids=topics, text=text, now=now)
            over = found.over_cap and not emergency
            hours = limits.effective(session, settings).quiet_hours
            due = None if emergency else plan.quiet_until(settings, now, hours=hours)
            count += _insert(session, delivery, "sms", SendState.skipped if over else SendState.pending, due or now,
                             found.segments, wanted, Subscriber.phone_encrypted,
                             Subscriber.phone_confirmed_at.is_not(None), Subscriber.sms_stopped_at.is_(None),
                             error=over_cap(found.cap, found.month_used) if over else None)
    # No lease end: the rows carry the leases now; a sweep must not take this delivery for a dead send.
    delivery.lease_owner, delivery.lease_expires_at = HANDED_OVER, None
    session.flush()
    finish(session, [delivery_id], now=now)
    return count


def over_cap(cap: int, used: int) -> str:
    return (f"over the city's monthly SMS cap ({cap} segments, {used} used): raise the cap (staff page Topics, "
            "or PUT /api/v1/texting) or wait for next month")


def public_url(settings: Settings, announcement_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/announcements/{announcement_id}"


def next_digest(settings: Settings, now: datetime) -> datetime:
    """The next daily digest: CIVICPOST_DIGEST_HOUR in the city's time zone, today or tomorrow."""
    local = now.astimezone(settings.zone)
    at = local.replace(hour=settings.digest_hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at = (local + timedelta(days=1)).replace(hour=settings.digest_hour, minute=0, second=0, microsecond=0)
    return at.astimezone(now.tzinfo)


def _insert(session: Session, delivery: Delivery, medium: str, state: SendState, due: datetime, segments: int,
            wanted: Any, address: Any, *conditions: Any, error: str | None = None, digest: bool = False) -> int:
    """One INSERT ... SELECT of a medium's rows: the confirmed subscribers among `wanted`."""
    lane = EMERGENCY_LANE if delivery.lane == EMERGENCY_LANE else 1
    recipients = select(
        literal(delivery.id, Integer), literal(delivery.announcement_id, Integer), Subscriber.id,
        literal(medium), literal(state.value), literal(lane, Integer), literal(0, Integer),
        literal(due, SubscriberSend.next_attempt_at.type), false(), literal(segments, Integer),
        literal(error, Text), literal(digest), literal(utcnow(), SubscriberSend.created_at.type),
    ).where(Subscriber.id.in_(wanted), address.is_not(None), *conditions)
    columns = ["delivery_id", "announcement_id", "subscriber_id", "medium", "state", "lane", "attempts",
               "next_attempt_at", "reclaimed", "segments", "last_error", "digest", "created_at"]
    inserted = session.execute(insert(SubscriberSend).from_select(columns, recipients))
    return getattr(inserted, "rowcount", 0) or 0


def anything_due(session: Session, *, now: datetime) -> bool:
    """Whether any row waits to be claimed (one read of the claim's index)."""
    return bool(session.scalar(select(exists().where(
        SubscriberSend.state.in_(bindparam("open", _OPEN, expanding=True, literal_execute=True)),
        SubscriberSend.next_attempt_at <= now))))


@dataclass(frozen=True)
class Claimed:
    id: int
    delivery_id: int
    subscriber_id: int
    attempts: int
    reclaimed: bool
    medium: str = "email"


def claim(session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: float,
          medium: str = "email") -> list[Claimed]:
    """Lease up to `limit` due rows to `owner` (the caller commits). A row still `sending` whose lease
    ran out comes back marked `reclaimed`: its worker died, and the message may have gone."""
    picked = (
        select(SubscriberSend.id)
        .where(SubscriberSend.state.in_(bindparam("open", _OPEN, expanding=True, literal_execute=True)),
               SubscriberSend.next_attempt_at <= now, SubscriberSend.medium == medium,
               SubscriberSend.digest.is_(False))
        .order_by(SubscriberSend.lane, SubscriberSend.next_attempt_at, SubscriberSend.id)
        .limit(limit)
    )
    return _lease(session, picked, owner=owner, now=now, lease_seconds=lease_seconds)


def claim_digests(session: Session, *, owner: str, now: datetime, residents: int,
                  lease_seconds: float) -> list[Claimed]:
    """Lease every due digest row of up to `residents` residents: each resident's day in one claim."""
    whose = select(SubscriberSend.subscriber_id).where(
        SubscriberSend.state.in_(_OPEN), SubscriberSend.next_attempt_at <= now, SubscriberSend.digest.is_(True),
    ).group_by(SubscriberSend.subscriber_id).order_by(SubscriberSend.subscriber_id).limit(residents)
    chosen = list(session.scalars(whose))
    if not chosen:
        return []
    picked = select(SubscriberSend.id).where(
        SubscriberSend.subscriber_id.in_(chosen), SubscriberSend.state.in_(_OPEN),
        SubscriberSend.next_attempt_at <= now, SubscriberSend.digest.is_(True))
    return _lease(session, picked, owner=owner, now=now, lease_seconds=lease_seconds)


def _lease(session: Session, picked: Select, *, owner: str, now: datetime, lease_seconds: float) -> list[Claimed]:
    """Lease the rows `picked` selects (skipping rows another worker holds, on PostgreSQL), in id order."""
    if session.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    until = now + timedelta(seconds=lease_seconds)
    table = _SENDS
    rows = session.execute(
        update(table).where(table.c.id.in_(picked.scalar_subquery()))
        .values(reclaimed=table.c.reclaimed | (table.c.state == SendState.sending.value),
                state=SendState.sending.value, claimed_by=owner, lease_until=until, next_attempt_at=until,
                attempts=table.c.attempts + 1)
        .returning(table.c.id, table.c.delivery_id, table.c.subscriber_id, table.c.attempts, table.c.reclaimed,
                   table.c.medium)
    ).all()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


@dataclass(frozen=True)
class Result:
    row: Claimed
    # None: sent; else the server's words (never the address)
    error: str | None = None
    permanent: bool = False
    # Nothing to send to any more (`error` says why): the row ends `skipped`.
    skipped: bool = False
    # A text: the provider's id of its last part, and how many SMS it took.
    remote_id: str | None = None
    segments: int | None = None


def record(session: Session, results: Iterable[Result], *, owner: str, now: datetime, max_attempts: int,
           retry_base_seconds: float, retry_max_seconds: float) -> None:
    """Write a batch of outcomes while the rows are still ours; finish the deliveries they complete."""
    results = list(results)
    table = _SENDS
    mine = and_(table.c.claimed_by == owner, table.c.state == SendState.sending.value)
    sent = [r.row.id for r in results if r.error is None and r.row.medium == "email"]
    if sent:
        session.execute(update(table).where(table.c.id.in_(sent), mine).values(
            state=SendState.sent.value, sent_at=now, claimed_by=None, lease_until=None, last_error=None))
        # Accepted mail: bounces are counted "in a row".
        session.execute(update(Subscriber).where(
            Subscriber.id.in_([r.row.subscriber_id for r in results if r.error is None and r.row.medium == "email"]),
            Subscriber.bounces > 0).values(bounces=0).execution_options(synchronize_session=False))
    texts = [{"row_id": r.row.id, "new_remote": r.remote_id, "new_segments": r.segments or 1}
             for r in results if r.error is None and r.row.medium == "sms"]
    if texts:
        session.connection().execute(
            update(table).where(table.c.id == bindparam("row_id"), mine)
            .values(state=SendState.sent.value, sent_at=now, claimed_by=None, lease_until=None, last_error=None,
                    remote_id=bindparam("new_remote"), segments=bindparam("new_segments")), texts)
    failures: list[dict[str, Any]] = []
    bounced: list[int] = []
    for r in results:
        if r.error is None:
            continue
        if r.skipped:
            failures.append({"row_id": r.row.id, "new_state": SendState.skipped.value, "new_next": now,
                             "new_error": r.error[:500]})
            continue
        final = r.permanent or r.row.attempts >= max_attempts
        wait = min(retry_max_seconds, retry_base_seconds * 2 ** (r.row.attempts - 1))
        failures.append({"row_id": r.row.id, "new_state": SendState.failed.value if final else SendState.pending.value,
                         "new_next": now + timedelta(seconds=wait), "new_error": r.error[:500]})
        if r.permanent and r.row.medium == "email":
            bounced.append(r.row.subscriber_id)
    if failures:
        session.connection().execute(
            update(table).where(table.c.id == bindparam("row_id"), mine)
            .values(state=bindparam("new_state"), next_attempt_at=bindparam("new_next"),
                    last_error=bindparam("new_error"), claimed_by=None, lease_until=None),
            failures)
    if bounced:
        session.execute(update(Subscriber).where(Subscriber.id.in_(bounced))
                        .values(bounces=Subscriber.bounces + 1).execution_options(synchronize_session=False))
    finish(session, {r.row.delivery_id for r in results}, now=now)


def renew(session: Session, row_ids: list[int], *, owner: str, until: datetime) -> None:
    """Extend the leases `owner` still holds: rows waiting for a connection (or the texts' pace) must
    not look abandoned and go twice."""
    if not row_ids:
        return
    table = _SENDS
    session.execute(update(table).where(table.c.id.in_(row_ids), table.c.claimed_by == owner,
                                        table.c.state == SendState.sending.value)
                    .values(lease_until=until, next_attempt_at=until))


def release(session: Session, rows: Iterable[Claimed], *, owner: str) -> None:
    """Give back rows claimed and never sent (a worker stopping)."""
    ids = [r.id for r in rows]
    if not ids:
        return
    table = _SENDS
    session.execute(update(table).where(table.c.id.in_(ids), table.c.claimed_by == owner,
                                        table.c.state == SendState.sending.value)
                    .values(state=SendState.pending.value, claimed_by=None, lease_until=None,
                            next_attempt_at=utcnow(), attempts=table.c.attempts - 1))


def finish(session: Session, delivery_ids: Iterable[int], *, now: datetime) -> None:
    """Deliveries whose every row is final become published (or failed when none was sent)."""
    # A digest row does not hold the delivery: the announcement is out when everyone else has it.
    open_rows = exists().where(SubscriberSend.delivery_id == Delivery.id, SubscriberSend.state.in_(_OPEN),
                               SubscriberSend.digest.is_(False))
    done = session.execute(
        select(Delivery.id, Delivery.announcement_id).where(
            Delivery.id.in_(sorted(set(delivery_ids))), Delivery.status == DeliveryStatus.sending,
            Delivery.lease_owner == HANDED_OVER, ~open_rows)
    ).all()
    if not done:
        return
    for delivery_id, _ in done:
        tally = counts_for(session, SubscriberSend.delivery_id == delivery_id)
        nothing_sent = tally["sent"] == 0 and tally["failed"] > 0 and tally["pending"] == 0
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
            status=DeliveryStatus.failed if nothing_sent else DeliveryStatus.published,
            published_at=None if nothing_sent else now, lease_owner=None, lease_expires_at=None,
            remote_id=f"{tally['sent']} sent, {tally['failed']} failed, {tally['skipped']} skipped"
                      + (f", {tally['pending']} in digests" if tally["pending"] else ""),
            last_error=f"no message could be sent ({tally['failed']} failed)" if nothing_sent else None,
        ).execution_options(synchronize_session=False))
    settle(session, *sorted({announcement_id for _, announcement_id in done}))


def counts_for(session: Session, *where: Any) -> dict[str, int]:
    """sent, failed, skipped, pending (waiting or being sent) and `maybe_twice` (claimed again after a
    worker died: their message may have gone twice) of the rows chosen by `where`."""
    tally = {"sent": 0, "failed": 0, "skipped": 0, "pending": 0, "maybe_twice": 0}
    rows = session.execute(
        select(SubscriberSend.state, func.count(), func.count().filter(SubscriberSend.reclaimed))
        .where(*where).group_by(SubscriberSend.state)
    ).all()
    for state, number, reclaimed in rows:
        tally["pending" if state in _OPEN else state] += number
        tally["maybe_twice"] += reclaimed
    return tally


def counts(session: Session, announcement_id: int) -> dict[str, int]:
    """The counts of an announcement's fan-out, for its page and the API."""
    return counts_for(session, SubscriberSend.announcement_id == announcement_id)


__all__ = ["FINAL_SEND", "Claimed", "Result", "claim", "counts", "expand", "finish", "record", "release"]

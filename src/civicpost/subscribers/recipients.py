"""What the `subscribers` channel (the fan-out) asks of the people: who to send to, and what happened.

Only confirmed addresses are ever answered: an email address confirmed by its link and bounced
fewer than three times in a row, a number confirmed by START and not stopped.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.models import Subscriber, Subscription
from civicpost.subscribers import consent
from civicpost.subscribers.addresses import normalise_phone
from civicpost.subscribers.crypto import SubscriberBox

MAX_BOUNCES = 3


@dataclass(frozen=True)
class Recipient:
    id: int
    link_nonce: str
    email: str | None  # None: no confirmed, deliverable address
    phone: str | None  # None: no confirmed number, or STOP


def confirmed_recipients(session: Session, box: SubscriberBox, topic_ids: Iterable[int], *,
                         batch: int = 500) -> Iterator[Recipient]:
    """Every subscriber of any of the topics with something to send to, each once, by id."""
    wanted = select(Subscription.subscriber_id).where(Subscription.topic_id.in_(list(topic_ids)))
    query = (select(Subscriber).where(Subscriber.id.in_(wanted)).order_by(Subscriber.id)
             .execution_options(yield_per=batch))
    for subscriber in session.scalars(query):
        recipient = as_recipient(box, subscriber)
        if recipient.email or recipient.phone:
            yield recipient


def as_recipient(box: SubscriberBox, subscriber: Subscriber) -> Recipient:
    email = phone = None
    if subscriber.email_encrypted and subscriber.email_confirmed_at and subscriber.bounces < MAX_BOUNCES:
        email = box.open(subscriber.email_encrypted)
    if subscriber.phone_encrypted and subscriber.phone_confirmed_at and subscriber.sms_stopped_at is None:
        phone = box.open(subscriber.phone_encrypted)
    return Recipient(subscriber.id, subscriber.link_nonce, email, phone)


def record_bounce(session: Session, *, subscriber_id: int) -> int:
    """A hard bounce of email; answers the count (at MAX_BOUNCES the address is skipped)."""
    session.execute(update(Subscriber).where(Subscriber.id == subscriber_id)
                    .values(bounces=Subscriber.bounces + 1))
    return session.scalar(select(Subscriber.bounces).where(Subscriber.id == subscriber_id)) or 0


def record_delivered(session: Session, *, subscriber_id: int) -> None:
    """A mail accepted: the bounces counted are no longer "in a row"."""
    session.execute(update(Subscriber).where(Subscriber.id == subscriber_id, Subscriber.bounces > 0)
                    .values(bounces=0))


def _by_phone(session: Session, box: SubscriberBox, phone: str) -> Subscriber | None:
    try:
        number = normalise_phone(phone)
    except ValueError:
        return None
    return session.scalar(select(Subscriber).where(Subscriber.phone_digest == box.digest(number)))


def stop_sms(session: Session, box: SubscriberBox, *, phone: str, now: datetime | None = None) -> bool:
    """STOP from a number: no more SMS to it. Answers whether the number was known."""
    subscriber = _by_phone(session, box, phone)
    if subscriber is None:
        return False
    if subscriber.sms_stopped_at is None:
        subscriber.sms_stopped_at = now or utcnow()
        consent.record(session, subscriber, action="stop", source="sms", ip=None)
    return True


def start_sms(session: Session, box: SubscriberBox, *, phone: str, now: datetime | None = None) -> bool:
    """START (or YES) from a number: confirms it (SMS double opt-in) and lifts a STOP."""
    subscriber = _by_phone(session, box, phone)
    if subscriber is None:
        return False
    at = now or utcnow()
    if subscriber.sms_stopped_at is not None or subscriber.phone_confirmed_at is None:
        subscriber.sms_stopped_at = None
        subscriber.phone_confirmed_at = subscriber.phone_confirmed_at or at
        consent.record(session, subscriber, action="start", source="sms", ip=None)
    return True

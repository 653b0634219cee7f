"""Who subscribes, for admins: addresses opened only here, one page at a time."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from civicpost.models import Subscriber, Subscription, Topic
from civicpost.subscribers.crypto import SubscriberBox


@dataclass(frozen=True)
class Entry:
    id: int
    email: str | None
    phone: str | None
    email_confirmed_at: datetime | None
    phone_confirmed_at: datetime | None
    sms_stopped: bool
    bounces: int
    topics: list[str]
    created_at: datetime


def _of(topic: Topic | None):
    query = select(Subscriber)
    if topic is not None:
        query = query.where(Subscriber.id.in_(select(Subscription.subscriber_id)
                                              .where(Subscription.topic_id == topic.id)))
    return query


def counts(session: Session, *, topic: Topic | None) -> tuple[int, int]:
    everyone = _of(topic).subquery()
    sure = or_(everyone.c.email_confirmed_at.is_not(None), everyone.c.phone_confirmed_at.is_not(None))
    total, confirmed = session.execute(select(func.count(), func.count().filter(sure)).select_from(everyone)).one()
    return total, confirmed


def page(session: Session, box: SubscriberBox, *, topic: Topic | None, after: int, limit: int) -> list[Entry]:
    found = list(session.scalars(_of(topic).where(Subscriber.id > after).order_by(Subscriber.id).limit(limit)))
    slugs: dict[int, list[str]] = {}
    if found:
        for subscriber_id, slug in session.execute(
                select(Subscription.subscriber_id, Topic.slug).join(Topic, Topic.id == Subscription.topic_id)
                .where(Subscription.subscriber_id.in_([s.id for s in found])).order_by(Topic.slug)):
            slugs.setdefault(subscriber_id, []).append(slug)
    return [Entry(s.id, box.open(s.email_encrypted) if s.email_encrypted else None,
                  box.open(s.phone_encrypted) if s.phone_encrypted else None, s.email_confirmed_at,
                  s.phone_confirmed_at, s.sms_stopped_at is not None, s.bounces, slugs.get(s.id, []), s.created_at)
            for s in found]

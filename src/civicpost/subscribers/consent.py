"""The consent record: every subscribe, confirm, change, unsubscribe, forget, import, stop, start."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.models import Subscriber, SubscriberConsent, Subscription, Topic

ACTIONS = ("subscribe", "confirm", "change", "unsubscribe", "forget", "import", "stop", "start")


def topic_slugs(session: Session, subscriber_id: int) -> list[str]:
    return list(session.scalars(
        select(Topic.slug).join(Subscription, Subscription.topic_id == Topic.id)
        .where(Subscription.subscriber_id == subscriber_id).order_by(Topic.slug)))


def record(session: Session, subscriber: Subscriber, *, action: str, source: str, ip: str | None,
           topics: list[str] | None = None) -> SubscriberConsent:
    assert action in ACTIONS, action
    session.flush()
    row = SubscriberConsent(
        subscriber_id=subscriber.id, email_digest=subscriber.email_digest, phone_digest=subscriber.phone_digest,
        action=action, source=source[:200], ip=ip[:64] if ip else None,
        topics=" ".join(topic_slugs(session, subscriber.id) if topics is None else topics))
    session.add(row)
    return row

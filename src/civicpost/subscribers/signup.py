"""Signing up, confirming, changing topics, unsubscribing and being forgotten.

Every answer a resident sees is the same whether or not the address was known: what differs
(a mail, or none) happens in their inbox. A sign-up never changes what a confirmed subscriber
receives: the topics chosen travel in the signed confirmation link and take effect when the
owner of the address confirms.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from civicpost import throttle
from civicpost.db import utcnow
from civicpost.errors import Invalid
from civicpost.models import Subscriber, SubscriberConsent, Subscription, Topic
from civicpost.subscribers import consent
from civicpost.subscribers.addresses import normalise_email, normalise_phone
from civicpost.subscribers.crypto import SubscriberBox

# A confirmation mail never goes twice within this to one address.
RESEND_AFTER = timedelta(minutes=10)
MAX_TOPICS = 200


class TooSoon(Exception):
    """Too many sign-ups from here or for this address; `wait` says how long."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(throttle.in_words(wait))
        self.wait = wait


@dataclass(frozen=True)
class SignUp:
    """What to send after the commit: a confirmation mail to `email` (None: nothing to send)."""

    subscriber: Subscriber | None
    email: str | None
    topic_ids: list[int]


def topics_by_slug(session: Session, slugs: list[str]) -> list[Topic]:
    wanted = list(dict.fromkeys(s.strip() for s in slugs if s.strip()))
    if len(wanted) > MAX_TOPICS:
        raise Invalid(f"choose at most {MAX_TOPICS} topics", errors=[{"field": "topics", "message": "too many"}])
    found = {t.slug: t for t in session.scalars(select(Topic).where(Topic.slug.in_(wanted)))} if wanted else {}
    missing = [s for s in wanted if s not in found]
    if missing:
        shown = ", ".join(repr(m[:64]) for m in missing[:5])
        raise Invalid(f"there is no topic {shown}; choose from the list",
                      errors=[{"field": "topics", "message": f"unknown topic {m[:64]!r}"} for m in missing[:20]])
    return [found[s] for s in wanted]


def check_form(*, email: str, phone: str, topic_slugs: list[str], consented: bool, sms: bool,
               phone_prefix: str) -> tuple[str | None, str | None]:
    """The address and number as stored, or Invalid listing every field to fix."""
    errors: list[dict[str, str]] = []
    address = number = None
    if email.strip() or not (sms and phone.strip()):
        try:
            address = normalise_email(email)
        except ValueError as exc:
            errors.append({"field": "email", "message": str(exc)})
    if sms and phone.strip():
        try:
            number = normalise_phone(phone, prefix=phone_prefix)
        except ValueError as exc:
            errors.append({"field": "phone", "message": str(exc)})
    if not topic_slugs:
        errors.append({"field": "topics", "message": "choose at least one topic"})
    if not consented:
        errors.append({"field": "consent", "message": "tick the box to agree to receive these messages"})
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
    return address, number


def sign_up(session: Session, box: SubscriberBox, *, email: str | None, phone: str | None, topics: list[Topic],
            ip: str | None, now: datetime | None = None) -> SignUp:
    """Record the wish and the consent; answers the confirmation mail to send, if one is due.

    Raises TooSoon when this address or client has signed up too often lately.
    """
    now = now or utcnow()
    email_digest = box.digest(email) if email else None
    phone_digest = box.digest(phone) if phone else None
    keys = throttle.sign_up_keys(digests=[d for d in (email_digest, phone_digest) if d], address=ip)
    wait = throttle.wait_for(session, keys, now=now)
    if wait:
        raise TooSoon(wait)
    throttle.record_failure(session, keys, now=now)
    slugs = [t.slug for t in topics]
    subscriber = None
    if email_digest:
        subscriber = session.scalar(select(Subscriber).where(Subscriber.email_digest == email_digest))
    elif phone_digest:
        subscriber = session.scalar(select(Subscriber).where(Subscriber.phone_digest == phone_digest))
        if subscriber is not None:
            # A known number: nothing changes on a stranger's word (its owner texts START or uses a link).
            return SignUp(None, None, [])
    if subscriber is None:
        subscriber = Subscriber(email_encrypted=box.seal(email) if email else None, email_digest=email_digest,
                                link_nonce=secrets.token_urlsafe(24))
        session.add(subscriber)
        session.flush()
        if not email:
            # Number only: its topics are kept now, and nothing is sent until the resident texts START.
            _add_topics(session, subscriber, topics)
    if phone and phone_digest and subscriber.phone_digest is None and _number_free(session, phone_digest):
        subscriber.phone_encrypted, subscriber.phone_digest = box.seal(phone), phone_digest
    consent.record(session, subscriber, action="subscribe", source="web", ip=ip, topics=slugs)
    if not email:
        return SignUp(subscriber, None, [])
    sent = subscriber.email_confirmation_sent_at
    if sent is not None and now - sent < RESEND_AFTER:
        return SignUp(subscriber, None, [])
    subscriber.email_confirmation_sent_at = now
    return SignUp(subscriber, email, [t.id for t in topics])


def _number_free(session: Session, phone_digest: str) -> bool:
    return session.scalar(select(Subscriber.id).where(Subscriber.phone_digest == phone_digest)) is None


def _add_topics(session: Session, subscriber: Subscriber, topics: list[Topic]) -> None:
    have = set(session.scalars(select(Subscription.topic_id).where(Subscription.subscriber_id == subscriber.id)))
    for topic in topics:
        if topic.id not in have:
            session.add(Subscription(subscriber_id=subscriber.id, topic_id=topic.id))
    session.flush()


def confirm(session: Session, subscriber: Subscriber, *, topic_ids: list[int], ip: str | None,
            now: datetime | None = None) -> None:
    """The owner of the address followed the link and pressed the button: the topics take effect."""
    topics = list(session.scalars(select(Topic).where(Topic.id.in_(topic_ids)))) if topic_ids else []
    if subscriber.email_confirmed_at is None or subscriber.bounces:
        subscriber.email_confirmed_at = now or utcnow()
        subscriber.bounces = 0
    _add_topics(session, subscriber, topics)
    consent.record(session, subscriber, action="confirm", source="web", ip=ip)


def change_topics(session: Session, subscriber: Subscriber, *, topics: list[Topic], ip: str | None) -> None:
    wanted = {t.id for t in topics}
    session.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber.id,
                                               Subscription.topic_id.not_in(wanted)))
    _add_topics(session, subscriber, topics)
    consent.record(session, subscriber, action="change" if wanted else "unsubscribe", source="web", ip=ip)


MODES = ("immediate", "digest")


def change_mode(subscriber: Subscriber, *, mode: str) -> None:
    """How the resident hears: each announcement at once, or one daily digest (emergencies always at once)."""
    if mode not in MODES:
        raise Invalid("choose each announcement as it is published, or one message a day",
                      errors=[{"field": "mode", "message": "choose one of the two"}])
    subscriber.mode = mode


def unsubscribe(session: Session, subscriber: Subscriber, *, source: str, ip: str | None) -> None:
    """Every topic, at once (one-click or the manage page); the address stays until "forget me"."""
    had = consent.topic_slugs(session, subscriber.id)
    session.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber.id))
    consent.record(session, subscriber, action="unsubscribe", source=source, ip=ip, topics=had)


def forget(session: Session, subscriber: Subscriber, *, ip: str | None) -> None:
    """Delete the address and number for good; the consent records keep only the digests."""
    consent.record(session, subscriber, action="forget", source="web", ip=ip, topics=[])
    session.flush()
    session.delete(subscriber)
    session.flush()


def consent_history(session: Session, *, email_digest: str) -> list[SubscriberConsent]:
    return list(session.scalars(select(SubscriberConsent).where(SubscriberConsent.email_digest == email_digest)
                                .order_by(SubscriberConsent.at, SubscriberConsent.id)))


def sweep_unconfirmed(session: Session, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete sign-ups nobody confirmed (no confirmed address or number) made before `older_than` ago;
    imported rows are the city's own decision and stay. Their consent records stay, by digest only."""
    cutoff = (now or utcnow()) - older_than
    imported = select(SubscriberConsent.subscriber_id).where(SubscriberConsent.action == "import",
                                                             SubscriberConsent.subscriber_id.is_not(None))
    stale = list(session.scalars(select(Subscriber).where(
        Subscriber.email_confirmed_at.is_(None), Subscriber.phone_confirmed_at.is_(None),
        Subscriber.created_at < cutoff, Subscriber.id.not_in(imported))))
    for subscriber in stale:
        session.delete(subscriber)
    session.flush()
    return len(stale)

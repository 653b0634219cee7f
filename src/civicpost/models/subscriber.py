"""Residents who subscribe to topics, what they chose, and the consent they gave (SPEC §8.7).

Addresses and numbers are kept encrypted (`*_encrypted`, Fernet under a key derived from
CIVICPOST_SECRET_KEY); `*_digest` is a keyed HMAC of the normalised value, for lookup and
uniqueness, so the plain value is needed only to send (civicpost.subscribers.crypto).
"""

from datetime import datetime

from sqlalchemy import Connection, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, event, insert, update
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow
from civicpost.models.department import Department


class Topic(Base):
    """What a resident subscribes to: one per department (its slug) and any an admin adds."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The department whose announcements it carries; None: a topic an admin added.
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscriber(Base):
    """One resident: an email address, a mobile number, or both, each confirmed on its own."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the last confirmation mail went (never twice within 10 minutes to one address).
    email_confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set when the resident answers START (or YES) to the first message (SMS double opt-in).
    phone_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the last text asking to confirm the number went (never twice within 10 minutes to one number).
    sms_confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The resident sent STOP: no SMS until START.
    sms_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Random; with the secret key it makes the manage and one-click unsubscribe links. A new nonce
    # makes every earlier link useless (civicpost.subscribers.links).
    link_nonce: Mapped[str] = mapped_column(String(64))
    # Hard bounces of email in a row; at three the address is skipped until it is confirmed again.
    bounces: Mapped[int] = mapped_column(default=0, server_default="0")
    # `immediate` or `digest`: how the resident prefers to hear (emergencies always go at once).
    mode: Mapped[str] = mapped_column(String(16), default="immediate", server_default="immediate")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("subscriber_id", "topic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubscriberConsent(Base):
    """One act of consent or its withdrawal, kept as the law requires.

    Outlives the subscriber: after "forget me" `subscriber_id` is None and only the digests remain,
    which prove what was agreed without holding the address.
    """

    __tablename__ = "subscriber_consents"
    __table_args__ = (Index("ix_subscriber_consents_subscriber_id_at", "subscriber_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    email_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    # subscribe, confirm, change, unsubscribe, forget, import, stop, start
    action: Mapped[str] = mapped_column(String(16))
    # Where it happened: `web`, `one-click`, `import: <the CSV's consent_source>`, `sms`, ...
    source: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))
    # The topic slugs chosen at that moment, separated by spaces.
    topics: Mapped[str] = mapped_column(Text, default="", server_default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(Department, "after_insert")
def _give_department_its_topic(_mapper: Mapper[Department], connection: Connection, department: Department) -> None:
    """Every department has its topic, however it was made (the API, the CLI, a migration, a test)."""
    adopted = connection.execute(
        update(Topic).where(Topic.slug == department.slug, Topic.department_id.is_(None))
        .values(department_id=department.id))
    if not adopted.rowcount:
        connection.execute(insert(Topic).values(
            slug=department.slug, name=department.name, description="", department_id=department.id,
            created_at=utcnow()))

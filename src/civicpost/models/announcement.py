from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicpost.db import Base, UTCDateTime, utcnow
from civicpost.models.channel import Channel
from civicpost.models.department import Department
from civicpost.models.enums import State
from civicpost.models.user import User


class Media(Base):
    """An uploaded image, stored content-addressed under media_dir/<sha256>."""

    __tablename__ = "media"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mime_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    # Written once, offered again whenever the image is reused (an announcement keeps its own copy).
    alt_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Media belongs to the department it was uploaded for; only that
    # department's announcements may use it.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Announcement(Base):
    __tablename__ = "announcements"
    __table_args__ = (
        Index("ix_announcements_state_id", "state", "id"),
        Index("ix_announcements_department_id_id", "department_id", "id"),
        Index("ix_announcements_department_state_id", "department_id", "state", "id"),
        Index("ix_announcements_follows_id", "follows_id"),
        # The alerts in effect (civicpost.alerts.current), newest first, without reading every announcement.
        Index("ix_announcements_emergency_id", "emergency", "id"),
        # Only the alerts themselves (migration 0035): what the public home reads on every render. The
        # predicate is the query's as SQLAlchemy writes it on each database, so both planners use it.
        Index("ix_announcements_alerts", "id",
              postgresql_where=text("emergency IS true AND alert IS NOT NULL AND follows_id IS NULL"),
              sqlite_where=text("emergency IS 1 AND alert IS NOT NULL AND follows_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2048))
    language: Mapped[str] = mapped_column(String(16), default="en")
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emergency: Mapped[bool] = mapped_column(default=False)
    # CAP 1.2 details of an emergency (schemas.AlertIn as JSON, `expires` in UTC); None: no alert.
    alert: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=State.draft)
    # A legal hold (an admin's, audited): never disposed of while it lasts, whatever its retention.
    legal_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    # A retraction: when, and why in the city's words (shown on the announcement's public address,
    # which answers 410); an admin may withdraw even that notice for a legal reason (audited).
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retraction_reason: Mapped[str | None] = mapped_column(Text)
    notice_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every change; a transition checks it so two approvers racing
    # cannot both win (compare-and-set in the UPDATE's WHERE clause).
    version: Mapped[int] = mapped_column(default=1)

    approved_fingerprint: Mapped[str | None] = mapped_column(String(64))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # Set by a break-glass publish: an approver other than the publisher signs it off afterwards.
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A plain id (see migration 0013): SQLite cannot add a named foreign key to this table in place.
    reviewed_by_id: Mapped[int | None]
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A follow-up of a published alert (update, all_clear or correction) names the alert it follows. A plain id
    # (see migration 0015): SQLite cannot add a foreign key to this table in place.
    follows_id: Mapped[int | None]
    follow_kind: Mapped[str | None] = mapped_column(String(16))
    # An event it announces (all optional): shown on the page and in the topics' calendars (iCal).
    event_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    department: Mapped[Department] = relationship(lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    reviewed_by: Mapped[User | None] = relationship(
        primaryjoin="foreign(Announcement.reviewed_by_id) == User.id", viewonly=True)
    translations: Mapped[list["Translation"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Translation.language"
    )
    targets: Mapped[list["Target"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Target.channel_id"
    )
    media: Mapped[list["AnnouncementMedia"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AnnouncementMedia.position"
    )


class Translation(Base):
    __tablename__ = "announcement_translations"
    __table_args__ = (UniqueConstraint("announcement_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE")
    )
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class Target(Base):
    """A channel an announcement goes to, with its optional verbatim override."""

    __tablename__ = "announcement_targets"
    __table_args__ = (UniqueConstraint("announcement_id", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE")
    )
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="RESTRICT"), index=True)
    override_text: Mapped[str | None] = mapped_column(Text)

    channel: Mapped[Channel] = relationship(lazy="joined")


class AnnouncementMedia(Base):
    __tablename__ = "announcement_media"
    __table_args__ = (UniqueConstraint("announcement_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE")
    )
    media_id: Mapped[str] = mapped_column(ForeignKey("media.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int]
    alt_text: Mapped[str] = mapped_column(Text, default="")

    file: Mapped[Media] = relationship(lazy="joined")

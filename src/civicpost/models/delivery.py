from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicpost.db import Base, UTCDateTime, utcnow
from civicpost.models.announcement import Announcement
from civicpost.models.channel import Channel
from civicpost.models.enums import DeliveryStatus

EMERGENCY_LANE = 0
ORDINARY_LANE = 1


class Delivery(Base):
    """One rendition's trip to one channel; its retry state is data on this row."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # The worker's claim: the open deliveries, emergency lane first, then
        # the earliest due, read in order and no further than the claim needs.
        # Without it every claim read and sorted the whole queue (23 ms of
        # PostgreSQL CPU with 30,000 waiting). The worker's sleep reads the
        # earliest due time per lane from it too: one index written per status
        # change, not two (migration 0032 dropped ix_deliveries_open_due).
        Index(
            "ix_deliveries_open_lane",
            "lane",
            "next_attempt_at",
            "id",
            postgresql_where=text("status IN ('pending', 'retrying')"),
            sqlite_where=text("status IN ('pending', 'retrying')"),
        ),
        # Posts waiting to be taken back: the sweep and the next-due time read
        # only these, not every published delivery.
        Index(
            "ix_deliveries_take_back_due",
            "next_attempt_at",
            postgresql_where=text("retract_requested_at IS NOT NULL"),
            sqlite_where=text("retract_requested_at IS NOT NULL"),
        ),
        Index("ix_deliveries_announcement_id", "announcement_id"),
        # Each channel's newest post with a URL (the public directory's profile links), one step each.
        Index(
            "ix_deliveries_latest_post",
            "channel_id",
            "id",
            postgresql_where=text("status = 'published' AND remote_url IS NOT NULL"),
            sqlite_where=text("status = 'published' AND remote_url IS NOT NULL"),
        ),
        # The public lists and feeds: the newest published posts, read in order (civicpost.feed.latest).
        Index("ix_deliveries_status_published_at", "status", "published_at", "id"),
        UniqueConstraint("key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Sent as the idempotency key / record key so a retry cannot post twice.
    key: Mapped[str] = mapped_column(String(36))
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The exact rendition approved for this channel: what the worker sends.
    rendition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    # Which lane the claim takes it from: EMERGENCY_LANE before ORDINARY_LANE,
    # whatever is due in the ordinary lane. Set when the announcement is released.
    lane: Mapped[int] = mapped_column(SmallInteger, default=1, server_default=text("1"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_id: Mapped[str | None] = mapped_column(String(300))
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    last_error: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last attempt may have reached the platform (a timeout after sending,
    # a worker that died mid-request): look for the post before any retry.
    reconcile: Mapped[bool] = mapped_column(default=False)
    # Set by `retract`: the worker deletes the post, then the status becomes retracted.
    retract_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the post was deleted from the platform.
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The suspension (its id) that stopped it (status held), kept after its release for the record.
    held_by: Mapped[int | None] = mapped_column(index=True)
    # When civicpost noticed the post was gone from the platform (deleted there, not by civicpost).
    remote_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    announcement: Mapped[Announcement] = relationship(lazy="raise_on_sql")
    channel: Mapped[Channel] = relationship(lazy="joined")

"""Residents' replies to the city's posts, kept as part of the public record.

`replies` holds each reply as the platform showed it when it was last read,
with what civicpost did to it (hidden, removed: who, when, why);
`reply_jobs` holds the next reading due for each published post, leased as
the metrics readings are, and deleted after the last one.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow
from civicpost.models.metrics import BigId


class Reply(Base):
    __tablename__ = "replies"
    __table_args__ = (
        UniqueConstraint("delivery_id", "remote_id", name="uq_replies_delivery_id_remote_id"),
        Index("ix_replies_announcement_id", "announcement_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    remote_id: Mapped[str] = mapped_column(String(300))
    author_handle: Mapped[str] = mapped_column(String(300))
    author_name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2048))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hide_reason: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    remove_reason: Mapped[str | None] = mapped_column(Text)


class ReplyJob(Base):
    """The next replies reading due for a published post (stage: index into READINGS)."""

    __tablename__ = "reply_jobs"
    __table_args__ = (Index("ix_reply_jobs_due_at", "due_at"),)

    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    stage: Mapped[int] = mapped_column(SmallInteger, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

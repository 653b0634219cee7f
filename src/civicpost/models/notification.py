"""Notifications to staff: the outbox, each person's choices, a department's chat hook."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow


class Notification(Base):
    """One message to one person (email) or one department's hook, written in
    the transaction of the event that causes it and sent later by a worker."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index(
            "ix_notifications_open_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status IN ('pending', 'retrying')"),
            sqlite_where=text("status IN ('pending', 'retrying')"),
        ),
        Index("ix_notifications_user_id_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(32))
    # Exactly one of the two: a person's mail, or a department's hook.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    # What the message says, as it was when the event happened (title, reason, channel, error).
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    # Gathered with the person's other digest rows into one mail.
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationChoice(Base):
    """A person's own choice for one kind of notification; without a row the default holds."""

    __tablename__ = "notification_choices"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    wanted: Mapped[bool] = mapped_column(Boolean)


class DepartmentHook(Base):
    """A department's Slack or Teams incoming webhook. The address is itself the
    secret (anyone who has it can post), so it is sealed like channel credentials."""

    __tablename__ = "department_hooks"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)
    url_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Shown to admins instead of the address.
    host: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicpost.db import Base, UTCDateTime, utcnow
from civicpost.models.user import User


class AnnouncementVersion(Base):
    """The announcement as it stood after each change: its text, translations, overrides,
    media with alt text and every channel's rendition, with the fingerprint an approver
    signs. Written once, never updated: the record of who wrote which words."""

    __tablename__ = "announcement_versions"
    __table_args__ = (UniqueConstraint("announcement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    number: Mapped[int]
    # Who made the change; None only for a change no person made (none today).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Why this version exists: "create" or "edit".
    reason: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)

    author: Mapped[User | None] = relationship(lazy="joined")

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicpost.db import Base, UTCDateTime, utcnow
from civicpost.models.department import Department


class Channel(Base):
    """One account on one platform, owned by one department.

    `credentials_encrypted` is a Fernet token; the plain credentials exist only
    in memory while an adapter is built and are never serialised.
    """

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16), default="en")
    credentials_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_attention: Mapped[bool] = mapped_column(default=False)
    # A 429 pauses this channel alone until the platform's reset time.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The platform refused to let this account read replies (its access level), in its words; not asked again
    # until an operator runs `civicpost replies collect --now`.
    replies_unreadable: Mapped[str | None] = mapped_column(Text)
    replies_unreadable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The announcement's link goes out as this service's /r/{code}, so its clicks are counted per channel.
    track_links: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Silent this many days (no post through civicpost nor, where the platform tells us, in its own app): stale.
    stale_after_days: Mapped[int] = mapped_column(default=30, server_default=text("30"))
    # The account's latest post as its platform reports it, posts made in the platform's own app included.
    last_post_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the platform says the channel's access stops working.
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship(lazy="joined")

    @property
    def health_status(self) -> str:
        if self.needs_attention:
            return "needs_attention"
        if self.last_success_at is None:
            return "unknown"
        return "ok"

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow


class TrackedLink(Base):
    """An announcement's link as one channel sends it (`/r/{code}`), and how
    many times people followed it. Nothing about who followed it is kept."""

    __tablename__ = "tracked_links"
    __table_args__ = (Index("ix_tracked_links_announcement_id", "announcement_id"),)

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

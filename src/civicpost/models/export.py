from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow


class Export(Base):
    """One signed records export: asked for by an administrator (or run by the command line),
    written by one worker under a lease, then offered for download."""

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as text, like the audit trail: who asked, even if the account goes.
    requested_by: Mapped[str] = mapped_column(String(320))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    department_slug: Mapped[str | None] = mapped_column(String(64))
    # pending (waiting for a worker), running, finished, failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    # Written by `civicpost export` to a file the operator chose: not offered for download.
    by_command: Mapped[bool] = mapped_column(default=False)
    file_path: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

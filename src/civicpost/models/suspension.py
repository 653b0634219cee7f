from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow


class Suspension(Base):
    """A pause of scheduled posts, city-wide (`department_ids` None) or for some departments.

    Active while `ended_at` is unset and `until` (if any) has not passed. A
    delivery it stops becomes `held` and records the suspension in `held_by`.
    """

    __tablename__ = "suspensions"
    __table_args__ = (
        # The guard reads the active ones before every claim: only those, never the history.
        Index("ix_suspensions_active", "started_at",
              postgresql_where=text("ended_at IS NULL"), sqlite_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    # Department ids; None: the whole city.
    department_ids: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # "person" or "until" (ended by its set time) once ended.
    ended_how: Mapped[str | None] = mapped_column(String(16))

    def covers(self, department_id: int) -> bool:
        return self.department_ids is None or department_id in self.department_ids

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow


class SignInThrottle(Base):
    """Failed sign-ins counted per account, per address and per pair of them.

    Keyed by what was typed (a hash of the normalised email), not by user, so
    an unknown account is throttled exactly like a known one."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

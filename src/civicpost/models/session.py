from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow


class StaffSession(Base):
    """A signed-in browser. The cookie holds only a random token; its SHA-256
    is the key here, so ending a session (logout, deactivation, a new
    password) is deleting its row, and a copied cookie stops working at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    # What a page keeps for the next one (flash messages); nothing secret.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # How this browser signed in (see User.last_sign_in_method).
    method: Mapped[str] = mapped_column(String(24), default="password", server_default="password")
    # The password was right and a second factor is still to be given: such a session
    # reaches only the second-factor page and sign-out.
    factor_due: Mapped[bool] = mapped_column(default=False, server_default=false())

from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicpost.db import Base, UTCDateTime, utcnow
from civicpost.models.department import Department, user_departments
from civicpost.models.enums import Role


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.staff)
    active: Mapped[bool] = mapped_column(default=True)
    # May publish an emergency announcement alone (break glass, SPEC §8.4); granted by an admin.
    emergency_publisher: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Loaded when first read: an approver's request never needs them.
    departments: Mapped[list[Department]] = relationship(
        secondary=user_departments, order_by=Department.slug
    )

    @property
    def department_slugs(self) -> list[str]:
        return [d.slug for d in self.departments]

    def is_member(self, department_id: int) -> bool:
        return any(d.id == department_id for d in self.departments)

    @property
    def can_approve(self) -> bool:
        return self.role in (Role.approver, Role.admin)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def can_flag_emergency(self) -> bool:
        return self.can_approve or self.emergency_publisher


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")

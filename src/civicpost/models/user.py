from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, ForeignKey, Index, String, bindparam, false, inspect, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicpost.db import Base, UTCDateTime, utcnow
from civicpost.models.department import Department, user_departments
from civicpost.models.enums import Role

# Built once: constructing a statement costs more than running this one.
_MEMBERSHIP = select(user_departments.c.user_id).where(
    user_departments.c.user_id == bindparam("user_id"),
    user_departments.c.department_id == bindparam("department_id"),
)
_DEPARTMENT_IDS = select(user_departments.c.department_id).where(user_departments.c.user_id == bindparam("user_id"))

# Not an argon2 hash, so no password ever matches it (an account made by single sign-on).
NO_PASSWORD = "!"


class _Person(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def emergency_publisher(self) -> bool: ...


class RoleRules:
    """What a person's role lets them do: for a User, and for a Reader (the plain
    row a list page or a new draft signs its caller in as)."""

    @property
    def can_approve(self: _Person) -> bool:
        return self.role in (Role.approver, Role.admin)

    @property
    def is_admin(self: _Person) -> bool:
        return self.role == Role.admin

    @property
    def can_flag_emergency(self: _Person) -> bool:
        return self.role in (Role.approver, Role.admin) or self.emergency_publisher


def membership(reader: Connection, *, user_id: int, department_id: int) -> bool:
    """Whether the person is a member of the department: one indexed lookup."""
    return reader.execute(_MEMBERSHIP, {"user_id": user_id, "department_id": department_id}).first() is not None


def department_ids(reader: Connection, *, user_id: int) -> list[int]:
    """The ids of the person's departments, read through `reader`."""
    return list(reader.execute(_DEPARTMENT_IDS, {"user_id": user_id}).scalars())


@dataclass(frozen=True)
class Reader(RoleRules):
    """The person a token belongs to as four plain columns, not a User: all a
    list page or a new draft asks of its author (who they are, may they approve,
    which departments are theirs). Loading the User as an ORM object cost a list
    page more than its own query (docs/benchmarks.md). Made by tokens.reader."""

    id: int
    email: str
    role: str
    emergency_publisher: bool
    reader: Connection  # where their departments are asked about

    def is_member(self, department_id: int) -> bool:
        return membership(self.reader, user_id=self.id, department_id=department_id)

    def department_ids(self) -> list[int]:
        return department_ids(self.reader, user_id=self.id)


class User(RoleRules, Base):
    __tablename__ = "users"
    __table_args__ = (Index("ix_users_sso", "sso_provider", "sso_subject", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.staff)
    active: Mapped[bool] = mapped_column(default=True)
    # May publish an emergency announcement alone (break glass, SPEC §8.4); granted by an admin.
    emergency_publisher: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Single sign-on (SPEC §8.6): the provider ("oidc" or "saml") and its stable id for this person.
    # A person made at first sign-on has no password: password_hash holds NO_PASSWORD.
    sso_provider: Mapped[str | None] = mapped_column(String(16))
    sso_subject: Mapped[str | None] = mapped_column(String(255))
    # How this person last signed in ("password", "password+totp", "password+passkey",
    # "password+recovery", "oidc", "saml"), shown on the staff pages.
    last_sign_in_method: Mapped[str | None] = mapped_column(String(24))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded when first read: an approver's request never needs them.
    departments: Mapped[list[Department]] = relationship(
        secondary=user_departments, order_by=Department.slug
    )

    @property
    def department_slugs(self) -> list[str]:
        return [d.slug for d in self.departments]

    def _membership_reader(self) -> Connection | None:
        """Where to ask about the person's departments with one indexed lookup (about a fifth of the
        cost of loading every one of them as an entity, docs/benchmarks.md); None when the collection
        is loaded or changed in this session, which then answers."""
        state = inspect(self)
        if state.persistent and "departments" not in state.dict:
            session = state.session
            assert session is not None  # persistent: it has one
            return session.connection()
        return None

    def is_member(self, department_id: int) -> bool:
        if (reader := self._membership_reader()) is not None:
            return membership(reader, user_id=self.id, department_id=department_id)
        return any(d.id == department_id for d in self.departments)

    def department_ids(self) -> list[int]:
        """The ids of the person's departments (what a staff member's list is narrowed to)."""
        if (reader := self._membership_reader()) is not None:
            return department_ids(reader, user_id=self.id)
        return [d.id for d in self.departments]


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
    # What the token may do: "read", "draft", "approve" (space-separated, SPEC §8.6); None for a
    # token made before scopes, which may do what its owner may.
    scopes: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship(lazy="joined")

"""The shapes of /api/v1/users and /api/v1/tokens: what comes in, and what goes out."""

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from civicpost import tokens
from civicpost.models import ApiToken, Role, User
from civicpost.schemas import Name, Slug, Strict


class UserPatch(Strict):
    name: Name | None = None
    role: Role | None = None
    departments: list[Slug] | None = Field(default=None, max_length=100)
    active: bool | None = None
    emergency_publisher: bool | None = Field(
        default=None, description="may publish an emergency announcement alone (break glass); audited"
    )


class TokenIn(Strict):
    name: Name = Field(description="what the token is for, e.g. 'newsletter sync'")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=tokens.MAX_DAYS, description="leave out for a token that does not expire"
    )


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    departments: list[str]
    active: bool
    emergency_publisher: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User, zone: ZoneInfo) -> "UserOut":
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=Role(user.role),
            departments=user.department_slugs,
            active=user.active,
            emergency_publisher=user.emergency_publisher,
            created_at=user.created_at.astimezone(zone),
        )


class UserList(BaseModel):
    items: list[UserOut]


class TokenOut(BaseModel):
    id: int
    user: str = Field(description="the email of the person the token acts as")
    name: str
    prefix: str = Field(description="the token's first characters, to recognise it")
    status: tokens.TokenStatus
    created_at: datetime
    last_used_at: datetime | None = Field(description="to about a minute")
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken, zone: ZoneInfo) -> "TokenOut":
        def local(value: datetime | None) -> datetime | None:
            return value.astimezone(zone) if value else None

        return cls(
            id=token.id,
            user=token.user.email,
            name=token.name,
            prefix=token.prefix,
            status=tokens.status(token),
            created_at=token.created_at.astimezone(zone),
            last_used_at=local(token.last_used_at),
            expires_at=local(token.expires_at),
            revoked_at=local(token.revoked_at),
        )


class NewToken(TokenOut):
    token: str = Field(description="the token itself: shown this once, store it now")


class TokenList(BaseModel):
    items: list[TokenOut]

"""The shapes of /api/v1/users and /api/v1/tokens: what comes in, and what goes out."""

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from civicpost import tokens
from civicpost.identity import methods, scopes
from civicpost.identity.scopes import Scope
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
    scopes: list[Scope] = Field(
        default=list(scopes.WEB_DEFAULT), min_length=1, max_length=3,
        description="what the token may do: read (look only), draft (write drafts, media and comments, submit), "
        "approve (approve, publish, retract, suspend, administer; needs a second factor or single sign-on). "
        "Leave out for read and draft",
    )


class SignInOut(BaseModel):
    """How a person signs in."""

    sso: str | None = Field(description="the single sign-on provider (oidc or saml), or null for a password")
    second_factors: list[Literal["totp", "passkey"]] = Field(
        description="confirmed second factors, each kind once: totp (an authenticator app), passkey"
    )
    second_factor_required: bool = Field(
        description="a password account that approves, administers or publishes emergencies must have one"
    )
    last_method: str | None = Field(
        description="how they last signed in: password, password+totp, password+passkey, password+recovery, "
        "oidc or saml; null if never"
    )
    last_at: datetime | None

    @classmethod
    def of(cls, sign_in: methods.SignIn, zone: ZoneInfo) -> "SignInOut":
        return cls(
            sso=sign_in.sso,
            second_factors=list(sign_in.second_factors),  # type: ignore[arg-type]  # FACTOR_KINDS
            second_factor_required=sign_in.factor_required,
            last_method=sign_in.last_method,
            last_at=sign_in.last_at.astimezone(zone) if sign_in.last_at else None,
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
    sign_in: SignInOut

    @classmethod
    def of(cls, user: User, zone: ZoneInfo, *, factors: tuple[str, ...] = ()) -> "UserOut":
        """`factors`: the person's confirmed second factors (identity.methods.factor_kinds)."""
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=Role(user.role),
            departments=user.department_slugs,
            active=user.active,
            emergency_publisher=user.emergency_publisher,
            created_at=user.created_at.astimezone(zone),
            sign_in=SignInOut.of(methods.sign_in_of(user, factors), zone),
        )


class UserList(BaseModel):
    items: list[UserOut]


class TokenOut(BaseModel):
    id: int
    user: str = Field(description="the email of the person the token acts as")
    name: str
    prefix: str = Field(description="the token's first characters, to recognise it")
    status: tokens.TokenStatus
    scopes: list[Scope] | None = Field(
        description="what the token may do (read, draft, approve); null for a token made before scopes, "
        "which may do what its owner may"
    )
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
            scopes=list(s) if (s := scopes.of_token(token.scopes)) is not None else None,
            created_at=token.created_at.astimezone(zone),
            last_used_at=local(token.last_used_at),
            expires_at=local(token.expires_at),
            revoked_at=local(token.revoked_at),
        )


class NewToken(TokenOut):
    token: str = Field(description="the token itself: shown this once, store it now")


class TokenList(BaseModel):
    items: list[TokenOut]

"""How each person signs in, for the staff pages and GET /api/v1/users: single sign-on or a
password, which second factors they have confirmed, and how and when they last signed in."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.identity.factors import required as factor_required
from civicpost.models import PASSKEY, TOTP, SecondFactor, User

FACTOR_KINDS = (TOTP, PASSKEY)
FACTOR_LABELS = {TOTP: "authenticator app", PASSKEY: "passkey"}
SSO_LABELS = {"oidc": "single sign-on (OpenID Connect)", "saml": "single sign-on (SAML)"}
LAST_METHOD_LABELS = {
    "password": "password",
    "password+totp": "password and authenticator app",
    "password+passkey": "password and passkey",
    "password+recovery": "password and a recovery code",
    "oidc": "single sign-on (OpenID Connect)",
    "saml": "single sign-on (SAML)",
}


@dataclass(frozen=True)
class SignIn:
    sso: str | None
    second_factors: tuple[str, ...]  # confirmed kinds, each once: "totp", "passkey"
    last_method: str | None
    last_at: datetime | None
    factor_required: bool

    @property
    def missing_factor(self) -> bool:
        return self.sso is None and not self.second_factors

    @property
    def way(self) -> str:
        """One phrase for the pages: 'single sign-on (SAML)', 'password', 'password and passkey'."""
        if self.sso is not None:
            return SSO_LABELS.get(self.sso, f"single sign-on ({self.sso})")
        if not self.second_factors:
            return "password only"
        return "password and " + " or ".join(FACTOR_LABELS[k] for k in self.second_factors)

    @property
    def last_method_label(self) -> str | None:
        if self.last_method is None:
            return None
        return LAST_METHOD_LABELS.get(self.last_method, self.last_method)


def factor_kinds(session: Session, user_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """Each person's confirmed second factors, by kind (one query for any number of people)."""
    ids = list(user_ids)
    found: dict[int, set[str]] = {}
    if ids:
        rows = session.execute(
            select(SecondFactor.user_id, SecondFactor.kind)
            .where(SecondFactor.user_id.in_(ids), SecondFactor.confirmed_at.is_not(None))
            .distinct()
        )
        for user_id, kind in rows:
            found.setdefault(user_id, set()).add(kind)
    return {i: tuple(k for k in FACTOR_KINDS if k in found.get(i, ())) for i in ids}


def sign_in_of(user: User, factors: tuple[str, ...]) -> SignIn:
    return SignIn(
        sso=user.sso_provider,
        second_factors=factors,
        last_method=user.last_sign_in_method,
        last_at=user.last_sign_in_at,
        factor_required=factor_required(user),
    )


def of_users(session: Session, users: Iterable[User]) -> dict[int, SignIn]:
    people = list(users)
    kinds = factor_kinds(session, (u.id for u in people))
    return {u.id: sign_in_of(u, kinds[u.id]) for u in people}


def of_user(session: Session, user: User) -> SignIn:
    return of_users(session, [user])[user.id]

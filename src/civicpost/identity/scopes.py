"""What an API token may do: `read`, `draft`, `approve` (SPEC §8.6).

`read` is looking only; `draft` is writing and changing drafts, media and
comments, and submitting; `approve` is everything an approver or admin does that
changes what the public sees or who may do what. `draft` and `approve` each
include reading, so a program that approves can first read what it approves;
neither includes the other. A token made before scopes (`ApiToken.scopes` is
None) may do whatever its owner may.

Only a person who may approve (approvers, admins, emergency publishers) may
hold an `approve` token. One made through the web pages or the API also needs
its owner to sign in strongly: single sign-on or a confirmed second factor, so
a stolen password alone cannot mint a token that publishes. The command line is
the server operator's act and skips that rule.
"""

from collections.abc import Iterable
from typing import Literal, get_args

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from civicpost.errors import Invalid
from civicpost.models import Reader, SecondFactor, User

Scope = Literal["read", "draft", "approve"]
READ: Scope = "read"
DRAFT: Scope = "draft"
APPROVE: Scope = "approve"
ALL: tuple[Scope, ...] = get_args(Scope)

# A token asked for through the web or the API without naming scopes: what anyone may hold
# without a second factor. Approve is always asked for by name.
WEB_DEFAULT: tuple[Scope, ...] = (READ, DRAFT)

HOW_TO_ADD_A_FACTOR = (
    "add an authenticator app or a passkey under 'Second factors' on your account page "
    "(/staff/account), or sign in with single sign-on, then make the token again; "
    "the server's operator can also make one with `civicpost token create EMAIL --scope approve`"
)


def ordered(scopes: Iterable[str]) -> tuple[Scope, ...]:
    """The scopes named, each once, in the order read, draft, approve; an unknown name is refused."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(ALL))
    if unknown:
        raise Invalid(
            f"unknown scope {', '.join(repr(u) for u in unknown)}; use read, draft or approve",
            errors=[{"field": "scopes", "message": "use read, draft or approve"}],
        )
    return tuple(s for s in ALL if s in wanted)


def stored(scopes: Iterable[Scope]) -> str:
    return " ".join(ordered(scopes))


def of_token(text: str | None) -> tuple[Scope, ...] | None:
    """A token's scopes as stored; None for a token made before scopes."""
    if text is None:
        return None
    return tuple(s for s in ALL if s in text.split())


def allows(held: tuple[Scope, ...] | None, needed: Scope) -> bool:
    if held is None:
        return True
    if needed == READ:
        return bool(held)  # every scope includes reading
    return needed in held


def may_hold(user: User | Reader) -> tuple[Scope, ...]:
    """The scopes this person's role lets a token of theirs carry."""
    if user.can_approve or user.emergency_publisher:
        return ALL
    return (READ, DRAFT)


def check_may_hold(user: User, scopes: tuple[Scope, ...]) -> None:
    if not scopes:
        raise Invalid(
            "choose at least one scope: read, draft or approve",
            errors=[{"field": "scopes", "message": "choose at least one of read, draft, approve"}],
        )
    if APPROVE in scopes and APPROVE not in may_hold(user):
        raise Invalid(
            f"{user.email} is {user.role}: only approvers, administrators and emergency publishers "
            "may have a token with the approve scope; choose read and draft",
            errors=[{"field": "scopes", "message": "the approve scope is for approvers, administrators "
                                                   "and emergency publishers"}],
        )


def signs_in_strongly(session: Session, user: User) -> bool:
    """Single sign-on, or at least one confirmed second factor."""
    if user.sso_provider is not None:
        return True
    return bool(session.scalar(select(exists().where(
        SecondFactor.user_id == user.id, SecondFactor.confirmed_at.is_not(None)))))


def check_web_token(session: Session, user: User, scopes: tuple[Scope, ...]) -> None:
    """The rules for a token made through the web pages or the API (not the command line)."""
    check_may_hold(user, scopes)
    if APPROVE in scopes and not signs_in_strongly(session, user):
        raise Invalid(
            f"a token with the approve scope needs you to have a second factor or single sign-on: "
            f"{HOW_TO_ADD_A_FACTOR}",
            errors=[{"field": "scopes", "message": "add a second factor on your account page first"}],
        )

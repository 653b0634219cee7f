"""Departments, users, and checking a password at sign-in (API tokens: civicpost.tokens)."""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, Row, bindparam, func, select
from sqlalchemy.orm import Session

from civicpost import audit, throttle, tokens
from civicpost.db import utcnow
from civicpost.errors import Conflict, Invalid, NotFound
from civicpost.models import Department, Role, User
from civicpost.security import hash_password, unknown_account_hash, verify_password


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_department(session: Session, *, actor: User | None, slug: str, name: str) -> Department:
    if session.scalar(select(Department.id).where(Department.slug == slug)) is not None:
        raise Conflict(f"a department with slug '{slug}' already exists")
    department = Department(slug=slug, name=name)
    session.add(department)
    session.flush()
    audit.record(
        session, actor=actor, actor_label=tokens.CLI, action="department.create", object_type="department",
        object_id=department.id, detail={"slug": slug, "name": name},
    )
    return department


def departments_by_slug(session: Session, slugs: list[str]) -> list[Department]:
    wanted = list(dict.fromkeys(slugs))
    found = {d.slug: d for d in session.scalars(select(Department).where(Department.slug.in_(wanted)))}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise Invalid(
            f"unknown department {', '.join(repr(m) for m in missing)}; create it first",
            errors=[{"field": "departments", "message": f"unknown department '{m}'"} for m in missing],
        )
    return [found[s] for s in wanted]


# Built once: constructing a statement (and its cache key) costs about what running it does.
_BY_SLUG = select(Department).where(Department.slug == bindparam("slug"))


def department_by_slug(session: Session, slug: str) -> Department:
    return _found(session.scalar(_BY_SLUG, {"slug": slug}), slug)


_NAMED = select(Department.id, Department.name).where(Department.slug == bindparam("slug"))


def department_named(connection: Connection, slug: str) -> Row[int, str]:
    """As department_by_slug, its id and name as a plain row (for a request that only reads lists)."""
    return _found(connection.execute(_NAMED, {"slug": slug}).first(), slug)


_Found = TypeVar("_Found")


def _found(department: _Found | None, slug: str) -> _Found:
    if department is None:
        raise NotFound(f"no department with slug '{slug}'")
    return department


def create_user(
    session: Session,
    *,
    actor: User | None,
    email: str,
    name: str,
    role: Role,
    departments: list[str],
    password: str,
) -> User:
    email = normalise_email(email)
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"a user with email '{email}' already exists")
    if role == Role.staff and not departments:
        raise Invalid(
            "a staff member must belong to at least one department",
            errors=[{"field": "departments", "message": "name at least one department"}],
        )
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password),
        departments=departments_by_slug(session, departments),
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor=actor, actor_label=tokens.CLI, action="user.create", object_type="user", object_id=user.id,
        detail={"email": email, "role": str(role), "departments": departments},
    )
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user with email '{normalise_email(email)}'")
    return user


# One sentence whether or not the account exists, so the answer tells a guesser nothing.
NO_MATCH = "That email and password do not match an account. Check both and try again."


@dataclass
class SignIn:
    user: User | None
    error: str | None = None
    retry_after: int | None = None  # seconds, when the attempt was asked to wait


def sign_in(session: Session, *, email: str, password: str, keys: throttle.Keys, now: datetime | None = None) -> SignIn:
    """Check a password under the sign-in throttle; the caller commits either way."""
    now = now or utcnow()
    wait = throttle.wait_for(session, keys, now=now)
    if wait:
        verify_password(unknown_account_hash(), password)
        return SignIn(
            None,
            f"Too many sign-in attempts. Wait {throttle.in_words(wait)}, then try again. "
            "If you have forgotten your password, ask an administrator to set a new one.",
            retry_after=math.ceil(wait.total_seconds()),
        )
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    known = user if user is not None and user.active else None
    if not verify_password(known.password_hash if known else unknown_account_hash(), password) or known is None:
        throttle.record_failure(session, keys, now=now)
        return SignIn(None, NO_MATCH)
    throttle.forget(session, keys)
    throttle.sweep(session, now=now)
    return SignIn(known)


# Tokens live in civicpost.tokens; these names stay for the callers that make
# tokens for fixtures, the demo and benchmarks.
create_token = tokens.create_token
user_for_token = tokens.user_for_token

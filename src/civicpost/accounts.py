"""Departments, users and API tokens."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.db import utcnow
from civicpost.errors import Conflict, Invalid, NotFound
from civicpost.models import ApiToken, Department, Role, User
from civicpost.security import hash_password, hash_token, new_token, verify_password


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_department(session: Session, *, actor: User | None, slug: str, name: str) -> Department:
    if session.scalar(select(Department.id).where(Department.slug == slug)) is not None:
        raise Conflict(f"a department with slug '{slug}' already exists")
    department = Department(slug=slug, name=name)
    session.add(department)
    session.flush()
    audit.record(
        session, actor=actor, action="department.create", object_type="department",
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


def department_by_slug(session: Session, slug: str) -> Department:
    department = session.scalar(select(Department).where(Department.slug == slug))
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
        session, actor=actor, action="user.create", object_type="user", object_id=user.id,
        detail={"email": email, "role": str(role), "departments": departments},
    )
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user with email '{normalise_email(email)}'")
    return user


MAX_FAILED_SIGN_INS = 5
LOCK_FOR = timedelta(minutes=15)
# Verifying against this when the email is unknown keeps both answers equally
# slow. It is written out, not computed at import: argon2 takes 64 MiB while it
# hashes, which would be the peak memory of every process that imports this.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$rSX0jYmNLABJ0q43UP20fQ$HFu+IK4f5GFUwpws0OqojqEDWWFi4zTZOywcvfJPQAs"


@dataclass
class SignIn:
    user: User | None
    error: str | None = None


def sign_in(session: Session, *, email: str, password: str) -> SignIn:
    """Check a password, counting failures; the caller commits either way."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return SignIn(None, "That email and password do not match an account. Check both and try again.")
    if not verify_password(user.password_hash, password):
        return SignIn(None, "That email and password do not match an account. Check both and try again.")
    return SignIn(user)


def create_token(session: Session, *, user: User, name: str = "") -> str:
    """Make a token for `user`; returns the token itself, which is never stored."""
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:10], name=name))
    session.flush()
    audit.record(
        session, actor=user, action="token.create", object_type="user", object_id=user.id,
        detail={"prefix": token[:10], "name": name},
    )
    return token


# Built once: constructing a statement costs more than running this one.
_USER_BY_TOKEN = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active.is_(True))
)


def user_for_token(session: Session, token: str) -> User | None:
    # One indexed lookup on every API request: the user, not the token row.
    return session.scalar(_USER_BY_TOKEN, {"token_hash": hash_token(token)})

"""A person arriving by single sign-on: their civicpost role and departments from the identity
provider's claim, their account made at first sign-in and kept in step at every later one.

The provider is the source of truth for role and departments (SPEC §8.6): each sign-in sets them
from the claim, and a change is audited. What only civicpost grants (emergency publishing) and
whether the account is switched on stay civicpost's: a deactivated person is refused whatever
the provider says.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.accounts import normalise_email
from civicpost.db import utcnow
from civicpost.models import NO_PASSWORD, Department, Role, User

DEPARTMENT_PREFIX = "department:"
_RANK = {Role.staff: 1, Role.approver: 2, Role.admin: 3}


@dataclass(frozen=True)
class Grant:
    """What the claim's values give: the highest role named, and the departments named."""

    role: Role | None
    departments: tuple[str, ...]
    ignored: tuple[str, ...] = field(default=())  # values that name nothing civicpost knows


def grant_of(values: list[str], role_map: dict[str, str]) -> Grant:
    """Read a claim's values through `role_map` (value -> role or department:<slug>); a value the
    map does not name is read as itself. Naming only departments makes a person staff."""
    role: Role | None = None
    departments: list[str] = []
    ignored: list[str] = []
    for value in values:
        meaning = role_map.get(value, value)
        if meaning.startswith(DEPARTMENT_PREFIX) and len(meaning) > len(DEPARTMENT_PREFIX):
            departments.append(meaning[len(DEPARTMENT_PREFIX):])
        elif meaning in Role.__members__:
            named = Role(meaning)
            role = named if role is None or _RANK[named] > _RANK[role] else role
        else:
            ignored.append(value)
    if role is None and departments:
        role = Role.staff
    return Grant(role, tuple(dict.fromkeys(departments)), tuple(ignored))


@dataclass(frozen=True)
class Refused:
    """Why a person who proved who they are still may not sign in, in words for them."""

    reason: str  # "no_role", "no_department", "deactivated", "email_taken"
    message: str


def provision(
    session: Session, *, provider: str, subject: str, email: str, name: str, grant: Grant,
    link_by_email: bool,
) -> User | Refused:
    """The account for (`provider`, `subject`), made or brought in step with `grant`.

    An account without a single sign-on link and the same email is linked to this one only when
    `link_by_email` (the provider vouches for its emails: the city's own tenant, or a verified
    email claim); otherwise the email being taken refuses the sign-in rather than hand someone
    else's account over. Nothing is written when the answer is Refused.
    """
    email = normalise_email(email)
    user = session.scalar(select(User).where(User.sso_provider == provider, User.sso_subject == subject))
    if user is None and email:
        by_email = session.scalar(select(User).where(User.email == email))
        if by_email is not None:
            if by_email.sso_subject is not None or not link_by_email:
                return Refused("email_taken", f"Another civicpost account already uses {email}. Ask a civicpost "
                                              "administrator to link it to your single sign-on account.")
            user = by_email
    if user is not None and not user.active:
        return Refused("deactivated", "Your civicpost account is switched off. Ask a civicpost administrator "
                                      "to switch it on again.")
    if grant.role is None:
        return Refused("no_role", "Your sign-in worked, but your account is not given a civicpost role. Ask your "
                                  "IT department to assign you a civicpost role (staff, approver or admin) and "
                                  "your department.")
    departments = list(session.scalars(select(Department).where(Department.slug.in_(grant.departments))
                                       .order_by(Department.slug))) if grant.departments else []
    if grant.role == Role.staff and not departments:
        return Refused("no_department", "Your sign-in worked, but your account names no civicpost department "
                                        "that exists. Ask your IT department to assign you to your department.")
    if user is None:
        user = User(email=email, name=name or email.split("@")[0], role=grant.role, password_hash=NO_PASSWORD,
                    departments=departments, sso_provider=provider, sso_subject=subject)
        session.add(user)
        session.flush()
        audit.record(session, actor=user, action="user.create", object_type="user", object_id=user.id,
                     detail={"email": email, "role": str(grant.role), "departments": list(grant.departments),
                             "by": provider})
        return user
    before = {"role": user.role, "departments": user.department_slugs, "email": user.email}
    user.sso_provider, user.sso_subject = provider, subject
    user.role = grant.role
    user.departments = departments
    if email and email != user.email and session.scalar(select(User.id).where(User.email == email)) is None:
        user.email = email
    if name:
        user.name = name
    after = {"role": str(user.role), "departments": [d.slug for d in departments], "email": user.email}
    if after != {**before, "role": str(before["role"])}:
        audit.record(session, actor=user, action="user.sso_update", object_type="user", object_id=user.id,
                     detail={"before": {**before, "role": str(before["role"])}, "after": after, "by": provider,
                             "at": utcnow().isoformat()})
    return user

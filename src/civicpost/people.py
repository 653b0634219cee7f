"""A person's life in civicpost after they are created: role, departments,
deactivation, passwords, sign-in waits. Every change is audited on the user.

The guards are the ones a city expects: an administrator cannot lock
themselves out (deactivate or demote themselves), the last active
administrator cannot be removed, and a staff member keeps a department.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from civicpost import audit, staff_sessions, throttle, tokens
from civicpost.accounts import departments_by_slug
from civicpost.errors import Conflict, Invalid, NotFound
from civicpost.models import Role, User
from civicpost.security import hash_password, verify_password
from civicpost.tokens import CLI

# The one permission granted person by person (SPEC §8.4); roles cover the rest.
EMERGENCY_PUBLISHER = "emergency_publisher"
PERMISSIONS = (EMERGENCY_PUBLISHER,)

MIN_PASSWORD = 12
MAX_PASSWORD = 1024


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def listed(session: Session) -> list[User]:
    return list(session.scalars(select(User).options(selectinload(User.departments)).order_by(User.name, User.id)))


def _record(session: Session, *, actor: User | None, action: str, user: User, detail: dict) -> None:
    audit.record(session, actor=actor, actor_label=CLI, action=action, object_type="user", object_id=user.id,
                 detail=detail)


def _other_active_admins(session: Session, user: User) -> int:
    # Locked on PostgreSQL, so two admins demoting each other at once cannot
    # both see the other as the one who remains (SQLite writers take turns).
    ids = session.scalars(
        select(User.id).where(User.role == Role.admin, User.active.is_(True), User.id != user.id).with_for_update()
    ).all()
    return len(ids)


def update_user(
    session: Session,
    *,
    actor: User | None,
    user: User,
    name: str | None = None,
    role: Role | None = None,
    departments: list[str] | None = None,
    active: bool | None = None,
    emergency_publisher: bool | None = None,
) -> User:
    """Change what was given (None: unchanged); refuses a change that breaks a guard."""
    new_role = Role(role) if role is not None else Role(user.role)
    new_active = user.active if active is None else active
    loses_admin = user.is_admin and user.active and (new_role != Role.admin or not new_active)
    if actor is not None and actor.id == user.id:
        if not new_active:
            raise Conflict("you cannot deactivate your own account; another administrator must do it")
        if user.is_admin and new_role != Role.admin:
            raise Conflict("you cannot give up your own administrator role; another administrator must change it")
    if loses_admin and _other_active_admins(session, user) == 0:
        raise Conflict(
            f"{user.email} is the last active administrator; make someone else an administrator first"
        )
    new_departments = departments_by_slug(session, departments) if departments is not None else list(user.departments)
    if new_role == Role.staff and not new_departments:
        raise Invalid(
            "a staff member must belong to at least one department",
            errors=[{"field": "departments", "message": "choose at least one department for a staff member"}],
        )

    changes: dict[str, dict] = {}
    if name is not None and name != user.name:
        changes["name"] = {"from": user.name, "to": name}
        user.name = name
    if new_role != user.role:
        changes["role"] = {"from": str(user.role), "to": str(new_role)}
        user.role = new_role
    if departments is not None and [d.slug for d in new_departments] != user.department_slugs:
        changes["departments"] = {"from": user.department_slugs, "to": [d.slug for d in new_departments]}
        user.departments = new_departments
    if changes:
        _record(session, actor=actor, action="user.update", user=user, detail=changes)
    if emergency_publisher is not None and emergency_publisher != user.emergency_publisher:
        user.emergency_publisher = emergency_publisher
        _record(session, actor=actor, action="user.grant" if emergency_publisher else "user.revoke", user=user,
                detail={"permission": EMERGENCY_PUBLISHER})
    if new_active != user.active:
        user.active = new_active
        if new_active:
            _record(session, actor=actor, action="user.reactivate", user=user, detail={})
        else:
            # Stop at once: no page, no API call, not even one already under way on a token.
            ended = staff_sessions.end_all(session, user_id=user.id)
            revoked = tokens.revoke_all(session, user_id=user.id)
            _record(session, actor=actor, action="user.deactivate", user=user,
                    detail={"sessions_ended": ended, "tokens_revoked": revoked})
    session.flush()
    return user


def check_password(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            f"the password is too short: use at least {MIN_PASSWORD} characters",
            errors=[{"field": field, "message": f"use at least {MIN_PASSWORD} characters"}],
        )
    if len(password) > MAX_PASSWORD:
        raise Invalid(
            f"the password is too long: use at most {MAX_PASSWORD} characters",
            errors=[{"field": field, "message": f"use at most {MAX_PASSWORD} characters"}],
        )


def reset_password(session: Session, *, actor: User | None, user: User, password: str) -> int:
    """An administrator sets a new password: every session of the person ends. Returns how many."""
    check_password(password)
    user.password_hash = hash_password(password)
    ended = staff_sessions.end_all(session, user_id=user.id)
    _record(session, actor=actor, action="user.password_reset", user=user, detail={"sessions_ended": ended})
    session.flush()
    return ended


def change_own_password(session: Session, *, user: User, current: str, new: str, keep_session: int | None) -> int:
    """The person changes their own password; their other sessions end, the one in use stays."""
    if not verify_password(user.password_hash, current):
        raise Invalid(
            "the current password is not right",
            errors=[{"field": "current_password", "message": "enter the password you signed in with"}],
        )
    check_password(new, field="new_password")
    if verify_password(user.password_hash, new):
        raise Invalid(
            "the new password is the same as the current one",
            errors=[{"field": "new_password", "message": "choose a password different from the current one"}],
        )
    user.password_hash = hash_password(new)
    ended = staff_sessions.end_all(session, user_id=user.id, keep=keep_session)
    _record(session, actor=user, action="user.password_change", user=user, detail={"other_sessions_ended": ended})
    session.flush()
    return ended


def unlock(session: Session, *, actor: User | None, user: User) -> int:
    """Lift the sign-in waits on the person's account (from every address). Returns keys cleared."""
    cleared = throttle.unlock(session, email=user.email)
    _record(session, actor=actor, action="user.unlock", user=user, detail={"cleared": cleared})
    session.flush()
    return cleared

"""The break-glass admin: with single sign-on required, the one account that may still sign in
with a password (for the day the identity provider is down). Every such sign-in is audited and
told at once to every other active admin, so a stolen break-glass password cannot be used quietly.
"""

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.accounts import normalise_email
from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.models import Notification, Role, User

EVENT = "break_glass_sign_in"
PASSWORD_OFF = ("Password sign-in is switched off here: use the \u201cSign in with single sign-on\u201d button. "
                "If single sign-on does not work for you, ask your IT department.")


def password_allowed(settings: Settings, *, email: str) -> bool:
    if not settings.sso_required:
        return True
    named = normalise_email(settings.break_glass_admin)
    return bool(named) and normalise_email(email) == named


def record_sign_in(session: Session, *, user: User, address: str | None) -> None:
    """Audit a password sign-in made while single sign-on is required, and tell the other admins."""
    now = utcnow()
    audit.record(session, actor=user, action=EVENT, object_type="user", object_id=user.id,
                 detail={"email": user.email, "ip": address})
    others = session.scalars(select(User.id).where(User.active.is_(True), User.role == Role.admin,
                                                   User.id != user.id).order_by(User.id)).all()
    facts = {"name": user.name, "email": user.email, "at": now.isoformat(), "ip": address}
    if others:
        session.execute(insert(Notification), [
            {"event": EVENT, "user_id": admin, "department_id": None, "announcement_id": None, "facts": facts,
             "emergency": True, "digest": False, "next_attempt_at": now} for admin in others])

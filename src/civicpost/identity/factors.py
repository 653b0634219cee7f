"""Second factors for password accounts: authenticator-app codes (TOTP) and recovery codes.

A TOTP secret is sealed with the app's CredentialBox the moment it is shown and
counts only once a first code confirms it. A code is accepted one 30-second
step either side of now (clocks drift), and the step it matched is stored, so
the same code (or an older one) never works twice, even from two requests at
once: the step moves forward in one UPDATE that only one of them can win.

Recovery codes stand in for a lost device: ten, shown once, stored as SHA-256
(they are random, so no slow hash is needed), each usable once; a new set
replaces the old. Passkeys live in civicpost.identity.passkeys.
"""

import hashlib
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import CursorResult, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from civicpost import audit, staff_sessions
from civicpost.db import utcnow
from civicpost.errors import NotFound
from civicpost.models import NO_PASSWORD, User
from civicpost.models.identity import TOTP, RecoveryCode, SecondFactor
from civicpost.security import CredentialBox

STEP_SECONDS = 30
RECOVERY_CODES = 10
# Recovery codes: lowercase letters and digits without the look-alikes (0/o, 1/l/i).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def required(user: User) -> bool:
    """Whether this person must have a second factor: someone with a password who approves, administers
    or publishes emergencies. The one rule for the staff-session gate (web/visits.py, which applies it to
    password sign-ins while CIVICPOST_SECOND_FACTOR_REQUIRED is on), the account page, and the users
    pages' and GET /api/v1/users' "required" marks. An account made by single sign-on has no password:
    its provider does its own second step."""
    return user.password_hash != NO_PASSWORD and (user.can_approve or user.emergency_publisher)


def confirmed(session: Session, *, user_id: int) -> list[SecondFactor]:
    return list(session.scalars(
        select(SecondFactor)
        .where(SecondFactor.user_id == user_id, SecondFactor.confirmed_at.is_not(None))
        .order_by(SecondFactor.created_at, SecondFactor.id)
    ))


def has_factor(session: Session, *, user_id: int) -> bool:
    return bool(session.scalar(select(exists().where(
        SecondFactor.user_id == user_id, SecondFactor.confirmed_at.is_not(None)))))


def _record(session: Session, *, user: User, actor: User | None, action: str, detail: dict,
            actor_label: str | None = None) -> None:
    audit.record(session, actor=actor, actor_label=actor_label, action=action, object_type="user",
                 object_id=user.id, detail=detail)


# --- Authenticator apps (TOTP) -------------------------------------------------


def start_totp(session: Session, *, user: User, box: CredentialBox) -> SecondFactor:
    """A new secret to show (QR code and text); an earlier one never confirmed is dropped."""
    session.execute(delete(SecondFactor).where(
        SecondFactor.user_id == user.id, SecondFactor.kind == TOTP, SecondFactor.confirmed_at.is_(None)))
    factor = SecondFactor(user_id=user.id, kind=TOTP, name="Authenticator app",
                          secret=box.seal({"secret": pyotp.random_base32()}))
    session.add(factor)
    session.flush()
    return factor


def pending_totp(session: Session, *, user_id: int, factor_id: int) -> SecondFactor:
    factor = session.scalar(select(SecondFactor).where(
        SecondFactor.id == factor_id, SecondFactor.user_id == user_id, SecondFactor.kind == TOTP,
        SecondFactor.confirmed_at.is_(None)))
    if factor is None:
        raise NotFound("that authenticator set-up has ended; start again with “Add an authenticator app”")
    return factor


def secret_of(factor: SecondFactor, box: CredentialBox) -> str:
    return str(box.open(factor.secret)["secret"])


def enrolment_uri(secret: str, *, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG: the page loads no image from anywhere, and the secret stays on it."""
    return segno.make(uri, error="m", micro=False).svg_inline(scale=4, border=4, dark="#000", light="#fff",
                                                              omitsize=False)


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, *, after: int | None, now: datetime) -> int | None:
    code = _normalised(code)
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _claim_step(session: Session, factor: SecondFactor, step: int, now: datetime) -> bool:
    """Move the factor's last step forward to `step`; False if another request already used it."""
    result: CursorResult = session.execute(  # type: ignore[assignment]  # an UPDATE gives a CursorResult
        update(SecondFactor)
        .where(SecondFactor.id == factor.id,
               or_(SecondFactor.last_step.is_(None), SecondFactor.last_step < step))
        .values(last_step=step, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    factor.last_step, factor.last_used_at = step, now
    return True


def confirm_totp(session: Session, *, user: User, factor: SecondFactor, code: str, box: CredentialBox,
                 name: str = "", now: datetime | None = None) -> bool:
    now = now or utcnow()
    step = _matching_step(secret_of(factor, box), code, after=factor.last_step, now=now)
    if step is None or not _claim_step(session, factor, step, now):
        return False
    factor.confirmed_at = now
    factor.name = name.strip()[:100] or "Authenticator app"
    _record(session, user=user, actor=user, action="factor.add", detail={"kind": TOTP, "name": factor.name})
    return True


def check_totp(session: Session, *, user: User, code: str, box: CredentialBox,
               now: datetime | None = None) -> SecondFactor | None:
    """The confirmed authenticator this code came from, its step now used; None if no match."""
    now = now or utcnow()
    for factor in confirmed(session, user_id=user.id):
        if factor.kind != TOTP:
            continue
        step = _matching_step(secret_of(factor, box), code, after=factor.last_step, now=now)
        if step is not None and _claim_step(session, factor, step, now):
            return factor
    return None


# --- Recovery codes -------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(b"civicpost-recovery\x00" + _normalised(code).encode()).hexdigest()


def new_recovery_codes(session: Session, *, user: User) -> list[str]:
    """Ten new codes (shown once, never stored readable); every earlier code stops working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c)) for c in codes)
    session.flush()
    _record(session, user=user, actor=user, action="factor.recovery_codes", detail={"count": RECOVERY_CODES})
    return codes


def recovery_codes_left(session: Session, *, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0


def use_recovery_code(session: Session, *, user: User, code: str, now: datetime | None = None) -> bool:
    normalised = _normalised(code)
    if not (len(normalised) == 10 and normalised.isascii() and normalised.isalnum()):
        return False
    now = now or utcnow()
    result: CursorResult = session.execute(  # type: ignore[assignment]  # an UPDATE gives a CursorResult
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(normalised),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now)
    )
    if result.rowcount != 1:
        return False
    left = recovery_codes_left(session, user_id=user.id)
    _record(session, user=user, actor=user, action="factor.recovery_code_use", detail={"left": left})
    return True


# --- Removing ---------------------------------------------------------------------


def remove(session: Session, *, user: User, factor_id: int) -> SecondFactor:
    """Remove one of the person's own factors; with the last one go the recovery codes (they stand in
    for a factor, and would otherwise come back to life with the next one)."""
    factor = session.scalar(select(SecondFactor).where(
        SecondFactor.id == factor_id, SecondFactor.user_id == user.id, SecondFactor.confirmed_at.is_not(None)))
    if factor is None:
        raise NotFound("you have no such second factor; it may have been removed already")
    session.delete(factor)
    session.flush()
    if not has_factor(session, user_id=user.id):
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    _record(session, user=user, actor=user, action="factor.remove", detail={"kind": factor.kind, "name": factor.name})
    return factor


def reset(session: Session, *, user: User, actor: User | None, actor_label: str | None) -> dict[str, int]:
    """The operator's act for someone who lost every factor and code: all of them go, and so do the
    person's sessions (a browser signed in with the lost device must not stay signed in)."""
    factors: CursorResult = session.execute(  # type: ignore[assignment]
        delete(SecondFactor).where(SecondFactor.user_id == user.id))
    codes: CursorResult = session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))  # type: ignore[assignment]
    ended = staff_sessions.end_all(session, user_id=user.id)
    counts = {"factors": factors.rowcount or 0, "recovery_codes": codes.rowcount or 0, "sessions_ended": ended}
    _record(session, user=user, actor=actor, actor_label=actor_label, action="factor.reset", detail=counts)
    return counts


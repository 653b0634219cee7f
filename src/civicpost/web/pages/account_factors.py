"""The "Second factors" section of /staff/account: add an authenticator app or a passkey, remove one,
make new recovery codes.

The first factor added comes with ten recovery codes, shown on the page that
answers (once, like a new API token). Removing a factor or replacing the codes
asks for the password (or a current authenticator code) again: a browser left
signed in must not be enough to weaken the account or to keep a way back in.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from civicpost import throttle
from civicpost.errors import ServiceError
from civicpost.identity import factors, passkeys
from civicpost.models import User
from civicpost.security import verify_password
from civicpost.web.deps import SessionDep
from civicpost.web.pages.account import account_page
from civicpost.web.pages.common import Csrf, StaffUser, flash, redirect, sentence
from civicpost.web.pages.second_factor import keep_challenge, take_challenge

# Included by auth.router, under /staff.
router: APIRouter = APIRouter(include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
FormId = Annotated[int, Form(ge=1, le=2**31 - 1)]
Name = Annotated[str, Form(max_length=400)]
SECTION = "/staff/account#second-factors"


def _shown(request: Request, session: Session, user: User, form: dict[str, Any],
           status_code: int = 200) -> HTMLResponse:
    return account_page(request, session, user, factor_form=form, status_code=status_code)


def _totp_setup(request: Request, user: User, factor_id: int, secret: str) -> dict[str, Any]:
    issuer = f"{request.app.state.settings.city_name} civicpost"
    uri = factors.enrolment_uri(secret, email=user.email, issuer=issuer)
    spaced = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return {"factor_id": factor_id, "qr_svg": factors.qr_svg(uri), "secret": spaced}


def _after_adding(request: Request, session: Session, user: User, *, had_factor: bool, what: str) -> Response:
    if had_factor:
        flash(request, f"{what} is added. You can use it the next time you sign in.")
        return redirect(SECTION)
    # The first factor: the codes that stand in for it, shown on this answer only.
    codes = factors.new_recovery_codes(session, user=user)
    return _shown(request, session, user, {"added": what, "recovery_codes": codes})


@router.post("/account/totp", dependencies=[Csrf])
def start_authenticator(request: Request, session: SessionDep, user: StaffUser) -> Response:
    box = request.app.state.box
    factor = factors.start_totp(session, user=user, box=box)
    setup = _totp_setup(request, user, factor.id, factors.secret_of(factor, box))
    return _shown(request, session, user, {"totp": setup})


@router.post("/account/totp/confirm", dependencies=[Csrf])
def confirm_authenticator(
    request: Request, session: SessionDep, user: StaffUser, factor_id: FormId,
    code: Annotated[str, Form(max_length=100)] = "", name: Name = "",
) -> Response:
    box = request.app.state.box
    factor = factors.pending_totp(session, user_id=user.id, factor_id=factor_id)
    setup = _totp_setup(request, user, factor.id, factors.secret_of(factor, box))
    keys = throttle.factor_keys(email=user.email)
    if wait := throttle.wait_for(session, keys):
        error = f"Too many wrong codes. Wait {throttle.in_words(wait)}, then type the newest code."
        return _shown(request, session, user, {"totp": setup, "errors": {"code": error}, "name": name}, 429)
    if len(name.strip()) > 100:
        error = "Give the app a name of up to 100 characters (for example: phone)"
        return _shown(request, session, user, {"totp": setup, "errors": {"totp_name": error}, "name": name}, 422)
    had_factor = factors.has_factor(session, user_id=user.id)
    if not factors.confirm_totp(session, user=user, factor=factor, code=code, box=box, name=name):
        if code.strip():
            throttle.record_failure(session, keys)
        error = ("That code is not right: type the six digits the app shows now for this account"
                 if code.strip() else "Type the six-digit code the app shows after you scan the QR code")
        return _shown(request, session, user, {"totp": setup, "errors": {"code": error}, "name": name}, 422)
    throttle.forget(session, keys)
    return _after_adding(request, session, user, had_factor=had_factor, what="The authenticator app")


@router.post("/account/passkeys/options", dependencies=[Csrf])
def passkey_options(request: Request, session: SessionDep, user: StaffUser) -> Response:
    options, challenge = passkeys.registration_options(session, user=user, settings=request.app.state.settings)
    keep_challenge(request, purpose="register", challenge=challenge)
    return Response(options, media_type="application/json")


@router.post("/account/passkeys", dependencies=[Csrf])
def add_passkey(
    request: Request, session: SessionDep, user: StaffUser,
    credential: Annotated[str, Form()] = "", name: Name = "",
) -> Response:
    challenge = take_challenge(request, purpose="register")
    if challenge is None:
        error = "That passkey request has ended. Press “Add a passkey” again."
        return _shown(request, session, user, {"errors": {"passkey": error}}, 400)
    if len(name.strip()) > 100:
        error = "Give the passkey a name of up to 100 characters (for example: work laptop)"
        return _shown(request, session, user, {"errors": {"passkey": error}}, 422)
    had_factor = factors.has_factor(session, user_id=user.id)
    try:
        passkeys.register(session, user=user, settings=request.app.state.settings, credential=credential,
                          challenge=challenge, name=name)
    except ServiceError as exc:
        return _shown(request, session, user, {"errors": {"passkey": sentence(exc.detail)}}, exc.status)
    return _after_adding(request, session, user, had_factor=had_factor, what="The passkey")


def _proven(request: Request, session: Session, user: User, proof: str) -> str | None:
    """None when `proof` is the person's password or a current authenticator code; else what to say."""
    keys = throttle.factor_keys(email=user.email)
    if wait := throttle.wait_for(session, keys):
        return f"Too many wrong attempts. Wait {throttle.in_words(wait)}, then try again"
    if not proof:
        return "Type your password, or a code from your authenticator app, to confirm it is you"
    if verify_password(user.password_hash, proof) or factors.check_totp(
            session, user=user, code=proof, box=request.app.state.box) is not None:
        throttle.forget(session, keys)
        return None
    throttle.record_failure(session, keys)
    return "That is neither your password nor a current code from your authenticator app"


@router.post("/account/factors/{factor_id}/remove", dependencies=[Csrf])
def remove_factor(
    factor_id: Id, request: Request, session: SessionDep, user: StaffUser,
    proof: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    if (error := _proven(request, session, user, proof)) is not None:
        return _shown(request, session, user, {"errors": {f"proof-{factor_id}": error}}, 401)
    removed = factors.remove(session, user=user, factor_id=factor_id)
    left = factors.has_factor(session, user_id=user.id)
    tail = "" if left else " You have no second factor now, and your recovery codes were removed with it."
    flash(request, f"Removed “{removed.name}”.{tail}")
    return redirect(SECTION)


@router.post("/account/recovery-codes", dependencies=[Csrf])
def replace_recovery_codes(
    request: Request, session: SessionDep, user: StaffUser, proof: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    if not factors.has_factor(session, user_id=user.id):
        first = "Add an authenticator app or a passkey first: recovery codes stand in for one"
        return _shown(request, session, user, {"errors": {"proof-codes": first}}, 409)
    if (error := _proven(request, session, user, proof)) is not None:
        return _shown(request, session, user, {"errors": {"proof-codes": error}}, 401)
    codes = factors.new_recovery_codes(session, user=user)
    return _shown(request, session, user, {"recovery_codes": codes})

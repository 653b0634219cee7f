"""The second step of a password sign-in: a code from the authenticator app, a passkey, or a recovery code.

The session made by the right password has `factor_due` set, and the staff
session middleware (web/visits.py) lets it reach only these pages and sign-out.
Giving a factor starts a new session (a new token), so the half-signed-in one
is worth nothing afterwards. Wrong codes are counted per account under the
sign-in throttle's rules (civicpost.throttle.factor_keys).
"""

import math
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from civicpost import throttle
from civicpost.errors import ServiceError
from civicpost.identity import factors, passkeys
from civicpost.models import User
from civicpost.models.identity import PASSKEY, TOTP
from civicpost.web import visits
from civicpost.web.deps import SessionDep
from civicpost.web.pages import auth as auth_pages
from civicpost.web.pages.common import Csrf, StaffUser, redirect, render, safe_next

# Included by auth.router, under /staff.
router: APIRouter = APIRouter(include_in_schema=False)

PAGE = visits.SECOND_FACTOR_PAGE
CHALLENGE_KEY = "passkey_challenge"
WRONG_CODE = ("That code is not right. Check that the app shows this account ({email}) and type the newest "
              "code; each code works once.")
WRONG_RECOVERY = "That recovery code is not right or was used already. Each code works once; check the letters."
WRONG_PASSKEY = "That passkey did not check out. Try it again, or use a code from your authenticator app."


def page_url(next_url: str) -> str:
    return f"{PAGE}?next={quote(next_url, safe='/')}"


def keep_challenge(request: Request, *, purpose: str, challenge: str) -> None:
    """A passkey challenge for this session, replacing any earlier one (it is not secret: it must be fresh)."""
    visit = visits.current(request)
    if visit is not None:
        visit.data = {**visit.data, CHALLENGE_KEY: {"purpose": purpose, "challenge": challenge}}
        visit.changed = True


def take_challenge(request: Request, *, purpose: str) -> str | None:
    """The session's challenge for `purpose`, removed so it is used once."""
    visit = visits.current(request)
    if visit is None or CHALLENGE_KEY not in visit.data:
        return None
    kept = visit.data[CHALLENGE_KEY]
    visit.data = {k: v for k, v in visit.data.items() if k != CHALLENGE_KEY}
    visit.changed = True
    return kept.get("challenge") if isinstance(kept, dict) and kept.get("purpose") == purpose else None


def _page(request: Request, session: Session, user: User, *, next_url: str, error: str | None = None,
          error_field: str = "code", status_code: int = 200, retry_after: int | None = None) -> HTMLResponse:
    kinds = {f.kind for f in factors.confirmed(session, user_id=user.id)}
    context: dict[str, Any] = {
        "next": next_url, "error": error, "error_field": error_field, "has_totp": TOTP in kinds,
        "has_passkey": PASSKEY in kinds, "codes_left": factors.recovery_codes_left(session, user_id=user.id),
    }
    # No `user` for the layout: the navigation is for people who finished signing in.
    response = render(request, "staff/second_factor.html", {**context, "person": user}, status_code=status_code)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _due(request: Request) -> bool:
    visit = visits.current(request)
    return visit is not None and visit.factor_due


def _waiting(request: Request, session: Session, user: User, next_url: str, field: str) -> HTMLResponse | None:
    wait = throttle.wait_for(session, throttle.factor_keys(email=user.email))
    if not wait:
        return None
    error = f"Too many wrong codes. Wait {throttle.in_words(wait)}, then try again."
    return _page(request, session, user, next_url=next_url, error=error, error_field=field, status_code=429,
                 retry_after=math.ceil(wait.total_seconds()))


def _refused(request: Request, session: Session, user: User, next_url: str, error: str, field: str) -> HTMLResponse:
    # Rendered, not raised: the counted failure must be committed.
    throttle.record_failure(session, throttle.factor_keys(email=user.email))
    return _page(request, session, user, next_url=next_url, error=error, error_field=field, status_code=401)


def _accepted(request: Request, session: Session, user: User, *, method: str, next_url: str,
              message: tuple[str, str] | None = None) -> Response:
    throttle.forget(session, throttle.factor_keys(email=user.email))
    return auth_pages.signed_in(request, session, user=user, method=method, next_url=next_url, message=message)


def recovery_code_used(left: int) -> str:
    """What a person reads on the first page after signing in with a recovery code."""
    if left == 0:
        return ("You used your last recovery code. Make new ones below now (and add a new authenticator app or "
                "passkey if you lost a device): without codes, a lost device locks you out.")
    codes = "one recovery code" if left == 1 else f"{left} recovery codes"
    return (f"That recovery code is used up; you have {codes} left. If you lost a device, remove it and add a new "
            "one on your account page, under Second factors.")


@router.get(PAGE.removeprefix("/staff"), response_class=HTMLResponse)
def second_factor_form(request: Request, session: SessionDep, user: StaffUser, next: str | None = None) -> Response:
    if not _due(request):
        return redirect(safe_next(next))
    return _page(request, session, user, next_url=safe_next(next))


@router.post(PAGE.removeprefix("/staff"), dependencies=[Csrf])
def give_code(
    request: Request, session: SessionDep, user: StaffUser,
    code: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/staff/",
) -> Response:
    next_url = safe_next(next)
    if not _due(request):
        return redirect(next_url)
    if (waiting := _waiting(request, session, user, next_url, "code")) is not None:
        return waiting
    if not code.strip():
        return _page(request, session, user, next_url=next_url, status_code=422,
                     error="Type the six-digit code your authenticator app shows now.")
    if factors.check_totp(session, user=user, code=code, box=request.app.state.box) is None:
        return _refused(request, session, user, next_url, WRONG_CODE.format(email=user.email), "code")
    return _accepted(request, session, user, method="password+totp", next_url=next_url)


@router.post(PAGE.removeprefix("/staff") + "/recovery", dependencies=[Csrf])
def give_recovery_code(
    request: Request, session: SessionDep, user: StaffUser,
    recovery_code: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/staff/",
) -> Response:
    next_url = safe_next(next)
    if not _due(request):
        return redirect(next_url)
    if (waiting := _waiting(request, session, user, next_url, "recovery_code")) is not None:
        return waiting
    if not recovery_code.strip():
        return _page(request, session, user, next_url=next_url, status_code=422, error_field="recovery_code",
                     error="Type one of your recovery codes, for example abcde-fghjk.")
    if not factors.use_recovery_code(session, user=user, code=recovery_code):
        return _refused(request, session, user, next_url, WRONG_RECOVERY, "recovery_code")
    # They go on where they were heading, told how many codes remain; with none left, to make new ones.
    left = factors.recovery_codes_left(session, user_id=user.id)
    if left == 0:
        return _accepted(request, session, user, method="password+recovery", message=("error", recovery_code_used(0)),
                         next_url="/staff/account#second-factors")
    return _accepted(request, session, user, method="password+recovery", next_url=next_url,
                     message=("success", recovery_code_used(left)))


@router.post(PAGE.removeprefix("/staff") + "/passkey/options", dependencies=[Csrf])
def passkey_sign_in_options(request: Request, session: SessionDep, user: StaffUser) -> Response:
    if not _due(request):
        return JSONResponse({"detail": "you are already signed in"}, status_code=409)
    options, challenge = passkeys.authentication_options(session, user=user, settings=request.app.state.settings)
    keep_challenge(request, purpose="sign-in", challenge=challenge)
    return Response(options, media_type="application/json")


@router.post(PAGE.removeprefix("/staff") + "/passkey", dependencies=[Csrf])
def give_passkey(
    request: Request, session: SessionDep, user: StaffUser,
    credential: Annotated[str, Form()] = "",
    next: Annotated[str, Form(max_length=2048)] = "/staff/",
) -> Response:
    next_url = safe_next(next)
    if not _due(request):
        return redirect(next_url)
    if (waiting := _waiting(request, session, user, next_url, "passkey")) is not None:
        return waiting
    challenge = take_challenge(request, purpose="sign-in")
    if challenge is None:
        return _page(request, session, user, next_url=next_url, status_code=400, error_field="passkey",
                     error="That passkey request has ended. Press “Use a passkey” again.")
    try:
        factor = passkeys.authenticate(session, user=user, settings=request.app.state.settings,
                                       credential=credential, challenge=challenge)
    except ServiceError:
        factor = None
    if factor is None:
        return _refused(request, session, user, next_url, WRONG_PASSKEY, "passkey")
    return _accepted(request, session, user, method="password+passkey", next_url=next_url)

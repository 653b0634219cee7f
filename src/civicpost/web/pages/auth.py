"""Sign in and out.

Signing in checks the password under the sign-in throttle (civicpost.throttle)
and starts a new server-side session with a new token; signing out deletes the
session's row, so a copy of the cookie is worth nothing afterwards.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from civicpost import accounts, staff_sessions, throttle
from civicpost.db import utcnow
from civicpost.identity import break_glass, factors
from civicpost.models import User
from civicpost.web import visits
from civicpost.web.deps import SessionDep
from civicpost.web.pages import account, account_factors, second_factor
from civicpost.web.pages.common import Csrf, LoginCsrf, login_csrf_token, redirect, render, safe_next

router = APIRouter(prefix="/staff", include_in_schema=False)
router.include_router(account.router)
router.include_router(account_factors.router)
router.include_router(second_factor.router)

# Proof that this browser signed in to an account before (see throttle.py).
KNOWN_BROWSER_COOKIE = "civicpost_browser"
KNOWN_BROWSER_FOR = timedelta(days=365)


def login_page(request: Request, *, next_url: str, email: str = "", error: str | None = None,
               signed_out: bool = False, status_code: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    context = {"next": next_url, "email": email, "error": error, "signed_out": signed_out,
               "csrf_token": login_csrf_token(request), "sso": bool(settings.oidc_issuer),
               "sso_required": settings.sso_required}
    return render(request, "staff/login.html", context, status_code=status_code)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None, signed_out: bool = False) -> HTMLResponse:
    return login_page(request, next_url=safe_next(next), signed_out=signed_out)


@router.post("/login", dependencies=[LoginCsrf])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/staff/",
) -> Response:
    state = request.app.state
    address = request.client.host if request.client else None
    # Single sign-on required: only the break-glass admin may use a password (identity/break_glass.py).
    if not break_glass.password_allowed(state.settings, email=email):
        return login_page(request, next_url=safe_next(next), email=email, error=break_glass.PASSWORD_OFF,
                          status_code=403)
    browser = throttle.known_browser(state.session_key, email=email, cookie=request.cookies.get(KNOWN_BROWSER_COOKIE))
    keys = throttle.keys_for(email=email, address=address, browser=browser)
    result = accounts.sign_in(session, email=email, password=password, keys=keys)
    if result.user is None:
        # Rendered, not raised: the counted failure must be committed.
        refused = login_page(request, next_url=safe_next(next), email=email, error=result.error,
                             status_code=429 if result.retry_after else 401)
        if result.retry_after:
            refused.headers["Retry-After"] = str(result.retry_after)
        return refused
    if state.settings.sso_required:
        break_glass.record_sign_in(session, user=result.user, address=address)
    # Second factor (issue 18): someone who has one gives it before this session reaches any other page.
    if factors.has_factor(session, user_id=result.user.id):
        return signed_in(request, session, user=result.user, method="password", email=email, factor_due=True,
                         next_url=second_factor.page_url(safe_next(next)))
    return signed_in(request, session, user=result.user, method="password", next_url=safe_next(next), email=email)


def signed_in(
    request: Request, session: Session, *, user: User, method: str, next_url: str, email: str | None = None,
    factor_due: bool = False, message: tuple[str, str] | None = None,
) -> Response:
    """Start the session of someone who just proved who they are (by `method`) and send them on.

    Every way of signing in ends here: password, single sign-on, a second factor. With `factor_due`
    the session reaches only the second-factor page until a factor is given. `email`, for a
    password sign-in, marks this browser as one that has signed in to that account before. `message`
    (kind, text) is shown on the first page of the new session.
    """
    state = request.app.state
    address = request.client.host if request.client else None
    # A new token every time: a session planted before sign-in is never the one signed in.
    staff_sessions.end(session, token=request.cookies.get(visits.COOKIE))
    if (old := visits.current(request)) is not None:
        old.ended = True
    token = staff_sessions.start(
        session, user=user, ip=address, user_agent=request.headers.get("user-agent"),
        idle=visits.idle_timeout(state), method=method, factor_due=factor_due,
        data={"flash": [{"kind": message[0], "message": message[1]}]} if message else None,
    )
    if not factor_due:
        user.last_sign_in_method, user.last_sign_in_at = method, utcnow()
    secure = visits.is_secure(state)
    response = redirect(next_url)
    response.set_cookie(visits.COOKIE, token, path="/", httponly=True, samesite="lax", secure=secure)
    if email is not None:
        remembered = throttle.remember_browser(
            state.session_key, email=email, cookie=request.cookies.get(KNOWN_BROWSER_COOKIE)
        )
        response.set_cookie(KNOWN_BROWSER_COOKIE, remembered, max_age=int(KNOWN_BROWSER_FOR.total_seconds()),
                            path="/staff/login", httponly=True, samesite="lax", secure=secure)
    return response


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, session: SessionDep) -> Response:
    staff_sessions.end(session, token=request.cookies.get(visits.COOKIE))
    if (visit := visits.current(request)) is not None:
        visit.ended = True
    response = redirect("/staff/login?signed_out=true")
    response.delete_cookie(
        visits.COOKIE, path="/", httponly=True, samesite="lax", secure=visits.is_secure(request.app.state)
    )
    return response

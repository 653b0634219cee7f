"""What every staff page shares: who is signed in, CSRF, rendering, flashes.

A signed-in browser is a row in `staff_sessions` found through a random token
in its cookie (web/visits.py loads it before the page and saves what the page
changed after). The sign-in form has no session yet, so it is protected by a
double-submit cookie instead: a random value in a cookie, and its HMAC under
the server's key in the form.
"""

import hashlib
import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from civicpost.db import utcnow
from civicpost.errors import Forbidden
from civicpost.models import User
from civicpost.web import visits
from civicpost.web.deps import SessionDep
from civicpost.web.pages import paused

LOGIN_COOKIE = "civicpost_login"


class SignInRequired(Exception):
    """Handled by sending the browser to the sign-in page, then back."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfFailed(Exception):
    pass


def _login_token(request: Request, cookie: str) -> str:
    return hmac.new(request.app.state.session_key, b"login-form\x00" + cookie.encode(), hashlib.sha256).hexdigest()


def login_csrf_token(request: Request) -> str:
    """The sign-in form's token; makes the cookie it pairs with if the browser has none (render sets it)."""
    cookie = request.cookies.get(LOGIN_COOKIE) or getattr(request.state, "new_login_cookie", None)
    if not cookie or len(cookie) > 100:
        cookie = request.state.new_login_cookie = secrets.token_urlsafe(32)
    return _login_token(request, cookie)


def csrf_token(request: Request) -> str:
    visit = visits.current(request)
    return visit.csrf if visit else login_csrf_token(request)


async def _sent_token(request: Request) -> str:
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        form = await request.form()
        sent = str(form.get("csrf_token", ""))
    return sent


async def verify_csrf(request: Request) -> None:
    """Every state-changing staff request carries its session's token (form field or header)."""
    visit = visits.current(request)
    sent = await _sent_token(request)
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged form may send any).
    if visit is None or not hmac.compare_digest(visit.csrf.encode(), sent.encode()):
        raise CsrfFailed


async def verify_login_csrf(request: Request) -> None:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = await _sent_token(request)
    if (
        not cookie
        or len(cookie) > 100
        or not hmac.compare_digest(_login_token(request, cookie).encode(), sent.encode())
    ):
        raise CsrfFailed


def staff_user(request: Request, session: SessionDep) -> User:
    visit = visits.current(request)
    user = session.get(User, visit.user_id) if visit else None
    if user is None or not user.active:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return user


StaffUser = Annotated[User, Depends(staff_user)]
Csrf = Depends(verify_csrf)
LoginCsrf = Depends(verify_login_csrf)


def approver_only(user: StaffUser) -> User:
    if not user.can_approve:
        raise Forbidden("This page is for approvers in the communications office.")
    return user


def admin_only(user: StaffUser) -> User:
    if not user.is_admin:
        raise Forbidden("This page is for administrators.")
    return user


ApproverUser = Annotated[User, Depends(approver_only)]
AdminPageUser = Annotated[User, Depends(admin_only)]


def flash(request: Request, message: str, kind: str = "success") -> None:
    """A message for the next page this browser sees (kept in its session row; never a secret)."""
    visit = visits.current(request)
    if visit is not None:
        visit.data = {**visit.data, "flash": [*visit.data.get("flash", []), {"kind": kind, "message": message}]}
        visit.changed = True


def _take_flashes(request: Request) -> list[dict[str, str]]:
    visit = visits.current(request)
    if visit is None or not visit.data.get("flash"):
        return []
    flashes = visit.data["flash"]
    visit.data = {k: v for k, v in visit.data.items() if k != "flash"}
    visit.changed = True
    return flashes


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           user: User | None = None) -> HTMLResponse:
    context = dict(context or {})
    context.setdefault("user", user)
    context.setdefault("csrf_token", csrf_token(request))
    context["flashes"] = _take_flashes(request)
    context["now"] = utcnow()
    if user is not None and template.startswith("staff/"):
        context.setdefault("paused", paused.banner(request))
    response = request.app.state.pages.TemplateResponse(request, template, context, status_code=status_code)
    new_cookie = getattr(request.state, "new_login_cookie", None)
    if new_cookie:
        response.set_cookie(LOGIN_COOKIE, new_cookie, path="/staff/login", httponly=True, samesite="strict",
                            secure=visits.is_secure(request.app.state))
    return response


def redirect(url: str) -> RedirectResponse:
    # 303: after a form POST the browser follows with a GET (no resubmission on reload).
    return RedirectResponse(url, status_code=303)


def sign_in_url(next_url: str) -> str:
    return f"/staff/login?next={quote(next_url, safe='/')}"


def safe_next(next_url: str | None) -> str:
    """Only same-site paths: a sign-in link must not bounce people elsewhere."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return "/staff/"


def sentence(text: str) -> str:
    """A service's message ("the title is empty") as a page shows it: "The title is empty"."""
    return text[:1].upper() + text[1:]

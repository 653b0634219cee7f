"""What every staff page shares: who is signed in, CSRF, rendering, flashes.

Sessions are Starlette's signed cookie (HttpOnly, SameSite=Lax, Secure when
the service runs behind https). The cookie holds the user id, a CSRF token and
a fragment of the password hash, so changing a password ends old sessions.
"""

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from civicpost.db import utcnow
from civicpost.errors import Forbidden
from civicpost.models import User
from civicpost.web.deps import SessionDep


class SignInRequired(Exception):
    """Handled by sending the browser to the sign-in page, then back."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfFailed(Exception):
    pass


def session_marker(user: User) -> str:
    return user.password_hash[-16:]


def start_session(request: Request, user: User) -> None:
    request.session.clear()
    request.session.update(uid=user.id, pv=session_marker(user), csrf=secrets.token_urlsafe(32))


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Every state-changing staff request carries the session's token (form field or header)."""
    expected = request.session.get("csrf", "")
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        form = await request.form()
        sent = str(form.get("csrf_token", ""))
    if not expected or not hmac.compare_digest(expected, sent):
        raise CsrfFailed


def staff_user(request: Request, session: SessionDep) -> User:
    uid = request.session.get("uid")
    user = session.get(User, uid) if uid else None
    if user is None or not user.active or request.session.get("pv") != session_marker(user):
        request.session.clear()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return user


StaffUser = Annotated[User, Depends(staff_user)]
Csrf = Depends(verify_csrf)


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
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           user: User | None = None) -> HTMLResponse:
    context = dict(context or {})
    context.setdefault("user", user)
    context["csrf_token"] = csrf_token(request)
    context["flashes"] = request.session.pop("flash", [])
    context["now"] = utcnow()
    return request.app.state.pages.TemplateResponse(request, template, context, status_code=status_code)


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

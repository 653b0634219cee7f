"""Your account, for everyone signed in: change your password, make, see and
revoke your own API tokens (SPEC §8.1), and your private calendar address.

A new token or calendar address is shown on the page that answers the form,
once, and is never kept anywhere a later page could show it again (not even in
the session).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from civicpost import calendar_feed, people, throttle, tokens
from civicpost.errors import ServiceError
from civicpost.identity import factors, passkeys, scopes
from civicpost.models import User
from civicpost.notifications.status import account_view
from civicpost.web import visits
from civicpost.web.deps import SessionDep
from civicpost.web.pages.admin_forms import service_errors, validation_errors
from civicpost.web.pages.common import Csrf, StaffUser, flash, redirect, render
from civicpost.web.people_schemas import TokenIn

# Included by auth.router, under /staff.
router = APIRouter(include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def account_page(request: Request, session: Session, user: User, *, errors: dict[str, str] | None = None,
                 token_form: dict[str, Any] | None = None, new_token: str | None = None,
                 new_calendar_url: str | None = None, status_code: int = 200,
                 factor_form: dict[str, Any] | None = None) -> HTMLResponse:
    context: dict[str, Any] = {
        **second_factors_view(request, session, user, factor_form or {}),
        "tokens": tokens.listed(session, user_id=user.id),
        "token_status": tokens.status,
        "errors": errors or {},
        "token_form": token_form or {"name": "", "expires_in_days": "", "scopes": list(scopes.WEB_DEFAULT)},
        "may_hold": scopes.may_hold(user),
        "signs_in_strongly": scopes.signs_in_strongly(session, user),
        "new_token": new_token,
        "max_days": tokens.MAX_DAYS,
        "zone": request.app.state.settings.zone,
        "calendar_feed": calendar_feed.current(session, user=user),
        "new_calendar_url": new_calendar_url,
        **account_view(session, user),
    }
    return render(request, "staff/account.html", context, user=user, status_code=status_code)


def second_factors_view(request: Request, session: Session, user: User, form: dict[str, Any]) -> dict[str, Any]:
    """What the "Second factors" section shows; `form` carries a set-up under way, new codes, errors."""
    visit = visits.current(request)
    return {
        "factors": factors.confirmed(session, user_id=user.id),
        "factor_required": factors.required(user),
        # The session was checked before this request; a factor added by it ends the warning at once.
        "factor_missing": visit is not None and visit.factor_missing and not factors.has_factor(
            session, user_id=user.id),
        "recovery_left": factors.recovery_codes_left(session, user_id=user.id),
        "factor_form": form,
        # None, or why this address cannot hold a passkey (a site named by its IP address).
        "passkey_unavailable": passkeys.unavailable(request.app.state.settings),
    }


@router.get("/account", response_class=HTMLResponse)
def show_account(request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
    return account_page(request, session, user)


@router.post("/account/password", dependencies=[Csrf])
def change_password(
    request: Request,
    session: SessionDep,
    user: StaffUser,
    current_password: Annotated[str, Form(max_length=2048)] = "",
    new_password: Annotated[str, Form(max_length=2048)] = "",
    confirm_password: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    # Guessing the current password here is throttled like guessing it at sign-in.
    keys = throttle.keys_for(email=user.email, address=request.client.host if request.client else None)
    wait = throttle.wait_for(session, keys)
    if wait:
        errors = {"current_password": f"Too many wrong attempts: wait {throttle.in_words(wait)}, then try again"}
        return account_page(request, session, user, errors=errors, status_code=429)
    if new_password != confirm_password:
        errors = {"confirm_password": "Type the same new password twice"}
        return account_page(request, session, user, errors=errors, status_code=422)
    visit = visits.current(request)
    try:
        ended = people.change_own_password(session, user=user, current=current_password, new=new_password,
                                           keep_session=visit.id if visit else None)
    except ServiceError as exc:
        errors = service_errors(exc, field="new_password")
        if "current_password" in errors:
            # Rendered, not raised: the counted failure must be committed.
            throttle.record_failure(session, keys)
        return account_page(request, session, user, errors=errors, status_code=exc.status)
    others = f" {ended} other browser{'s were' if ended != 1 else ' was'} signed out." if ended else ""
    flash(request, f"Your password is changed. This browser stays signed in.{others}")
    return redirect("/staff/account")


@router.post("/account/tokens", dependencies=[Csrf])
def create_token(
    request: Request,
    session: SessionDep,
    user: StaffUser,
    name: Annotated[str, Form(max_length=400)] = "",
    expires_in_days: Annotated[str, Form(max_length=20)] = "",
    scope: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    form = {"name": name, "expires_in_days": expires_in_days, "scopes": scope}
    days = expires_in_days.strip()
    errors = {}
    if days and not (days.isascii() and days.isdigit() and 1 <= int(days) <= tokens.MAX_DAYS):
        errors["expires_in_days"] = f"Enter a whole number of days from 1 to {tokens.MAX_DAYS}, or leave it empty"
    if not scope or not set(scope) <= set(scopes.ALL):
        errors["scopes"] = "Choose what the token may do: at least one of read, draft and approve"
    try:
        # The API's own model, so the form is held to the same rules as POST /api/v1/tokens.
        body = TokenIn(name=name, expires_in_days=int(days) if days and not errors else None,
                       scopes=scope if "scopes" not in errors else list(scopes.WEB_DEFAULT))  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = {**validation_errors(exc), **errors}
    if errors:
        if "name" in errors:
            errors["name"] = "Say what the token is for, in up to 200 characters (for example: newsletter sync)"
        return account_page(request, session, user, errors=errors, token_form=form, status_code=422)
    try:
        chosen = scopes.ordered(body.scopes)
        scopes.check_web_token(session, user, chosen)
    except ServiceError as exc:
        return account_page(request, session, user, errors={"scopes": exc.detail[0].upper() + exc.detail[1:]},
                            token_form=form, status_code=exc.status)
    token, _ = tokens.create(session, user=user, name=body.name, expires_in_days=body.expires_in_days, scopes=chosen)
    return account_page(request, session, user, new_token=token)


@router.post("/account/tokens/{token_id}/revoke", dependencies=[Csrf])
def revoke_token(token_id: Id, request: Request, session: SessionDep, user: StaffUser) -> Response:
    token = tokens.get(session, token_id, owner=user)
    tokens.revoke(session, token=token, actor=user)
    flash(request, f"Revoked the token {token.prefix}… ({token.name or 'no name'}). It stops working at once.")
    return redirect("/staff/account")


@router.post("/account/calendar-feed", dependencies=[Csrf])
def make_calendar_address(request: Request, session: SessionDep, user: StaffUser) -> Response:
    key = calendar_feed.issue(session, user=user)
    base = request.app.state.settings.base_url.rstrip("/")
    return account_page(request, session, user, new_calendar_url=f"{base}/staff/calendar.ics?key={key}")


@router.post("/account/calendar-feed/revoke", dependencies=[Csrf])
def stop_calendar_address(request: Request, session: SessionDep, user: StaffUser) -> Response:
    if calendar_feed.revoke(session, user=user):
        flash(request, "Your calendar address is stopped: calendar apps subscribed to it get nothing more.")
    else:
        flash(request, "You had no calendar address to stop.")
    return redirect("/staff/account")

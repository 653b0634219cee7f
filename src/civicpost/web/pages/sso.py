"""Signing in through the city's identity provider (OpenID Connect).

/staff/login/oidc starts an attempt: a state, a nonce and a PKCE verifier kept server-side
(models.OidcState, the state only as its hash), the state also in a short-lived cookie so the
answer must come back to the browser that asked. The callback spends the state in one UPDATE
(a replay finds it spent, in any process), exchanges the code, verifies the ID token and signs
the person in. No network call runs inside a database transaction.
"""

import hmac
import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import delete, select, update

from civicpost.config import Settings
from civicpost.db import rows_changed, utcnow
from civicpost.identity import oidc
from civicpost.identity.provision import Refused, grant_of, provision
from civicpost.models import OidcState
from civicpost.web import visits
from civicpost.web.deps import request_transaction
from civicpost.web.pages.auth import signed_in
from civicpost.web.pages.common import redirect, render, safe_next

log = logging.getLogger(__name__)

router = APIRouter(prefix="/staff/login/oidc", include_in_schema=False)

COOKIE = "civicpost_oidc"
COOKIE_PATH = "/staff/login/oidc"
ATTEMPT_LIFETIME = timedelta(minutes=10)
# Spent and abandoned attempts are kept a day (a replay then still reads "already used"), then deleted.
KEPT_FOR = timedelta(days=1)


def redirect_uri(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + "/staff/login/oidc/callback"


def refused(request: Request, reason: str, *, status_code: int, message: str | None = None) -> HTMLResponse:
    """A page that says what happened and what to do; the attempt's cookie goes with it."""
    response = render(request, "staff/sso_refused.html", {"reason": reason, "message": message},
                      status_code=status_code)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=visits.is_secure(request.app.state))
    return response


@router.get("", response_class=HTMLResponse)
async def start(request: Request, next: Annotated[str | None, Query(max_length=2048)] = None) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.oidc_issuer:
        return refused(request, "not_set_up", status_code=404)
    provider = oidc.provider_for(settings)
    try:
        attempt = await run_in_threadpool(provider.begin, redirect_uri=redirect_uri(settings))
    except oidc.OidcError as exc:
        log.warning("single sign-on could not start: %s", exc.reason)
        return refused(request, "unreachable", status_code=503)
    await run_in_threadpool(_keep, request, attempt, safe_next(next))
    response = redirect(attempt.url)
    response.set_cookie(COOKIE, attempt.state, max_age=int(ATTEMPT_LIFETIME.total_seconds()), path=COOKIE_PATH,
                        httponly=True, samesite="lax", secure=visits.is_secure(request.app.state))
    return response


def _keep(request: Request, attempt: oidc.Attempt, next_url: str) -> None:
    with request_transaction(request, write=True) as session:
        session.execute(delete(OidcState).where(OidcState.created_at < utcnow() - KEPT_FOR))
        session.add(OidcState(state_hash=oidc.state_hash(attempt.state), nonce=attempt.nonce,
                              code_verifier=attempt.code_verifier, next_url=next_url))


@router.get("/callback", response_class=HTMLResponse)
async def callback(
    request: Request,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4096)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.oidc_issuer:
        return refused(request, "not_set_up", status_code=404)
    cookie = request.cookies.get(COOKIE, "")
    if not state or not cookie or not hmac.compare_digest(cookie.encode(), state.encode()):
        return refused(request, "unknown_state", status_code=400)
    attempt = await run_in_threadpool(_spend, request, state)
    if attempt is None:
        return refused(request, "spent_state", status_code=400)
    nonce, verifier, next_url = attempt
    if error:
        log.info("single sign-on ended at the provider: %s", error[:60])
        reason = "cancelled" if error == "access_denied" else "provider_error"
        return refused(request, reason, status_code=403 if reason == "cancelled" else 400)
    if not code:
        return refused(request, "provider_error", status_code=400)
    provider = oidc.provider_for(settings)
    try:
        claims = await run_in_threadpool(provider.finish, code=code, redirect_uri=redirect_uri(settings),
                                         code_verifier=verifier, nonce=nonce)
    except oidc.Unreachable as exc:
        log.warning("single sign-on: the provider did not answer: %s", exc.reason)
        return refused(request, "unreachable", status_code=503)
    except oidc.OidcError as exc:
        log.warning("single sign-on refused an answer: %s", exc.reason)
        return refused(request, "untrusted", status_code=400)
    return await run_in_threadpool(_sign_in, request, settings, claims, next_url)


def _spend(request: Request, state: str) -> tuple[str, str, str] | None:
    """Mark the attempt used, if it is outstanding and fresh; its nonce, verifier and next page."""
    hashed = oidc.state_hash(state)
    now = utcnow()
    with request_transaction(request, write=True) as session:
        spent = session.execute(update(OidcState).where(
            OidcState.state_hash == hashed, OidcState.used_at.is_(None),
            OidcState.created_at > now - ATTEMPT_LIFETIME).values(used_at=now))
        if rows_changed(spent) != 1:
            return None
        row = session.execute(select(OidcState.nonce, OidcState.code_verifier, OidcState.next_url)
                              .where(OidcState.state_hash == hashed)).one()
        return row.nonce, row.code_verifier, row.next_url


def _sign_in(request: Request, settings: Settings, claims: dict, next_url: str) -> Response:
    email = oidc.email_of(claims)
    if not email:
        return refused(request, "no_email", status_code=403)
    grant = grant_of(oidc.claim_values(claims, settings.oidc_roles_claim), settings.oidc_role_map)
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    with request_transaction(request, write=True) as session:
        user = provision(session, provider="oidc", subject=oidc.subject_of(claims), email=email,
                         name=(name or "")[:200], grant=grant,
                         link_by_email=oidc.vouches_for_email(claims, settings.oidc_issuer))
        if isinstance(user, Refused):
            return refused(request, user.reason, status_code=403, message=user.message)
        response = signed_in(request, session, user=user, method="oidc", next_url=safe_next(next_url))
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=visits.is_secure(request.app.state))
    return response

"""The staff session behind each request to /staff (and /media): loaded before the page, saved after it.

The `civicpost_session` cookie holds only a random token (HttpOnly,
SameSite=Lax, Secure behind https, path /); everything else lives in the
`staff_sessions` row (see civicpost.staff_sessions). This middleware finds the
row before a staff page runs and, once the page is done (its own transaction
committed), writes back in a short transaction of its own what the page
changed: flash messages, and the last-seen time at most once a minute. A
cookie that no longer matches a live session is cleared on the way out.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.requests import HTTPConnection, cookie_parser
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicpost import staff_sessions
from civicpost.db import transaction, utcnow
from civicpost.identity import factors
from civicpost.models import User

log = logging.getLogger(__name__)

COOKIE = "civicpost_session"
SCOPE_KEY = "civicpost.visit"


@dataclass
class Visit:
    """This request's view of its staff session; pages change it through common.py."""

    id: int
    user_id: int
    csrf: str
    data: dict[str, Any] = field(default_factory=dict)
    last_seen_at: datetime | None = None
    changed: bool = False
    ended: bool = False
    # The password was right; a second factor is still to give (only its page is open).
    factor_due: bool = False
    # Signed in with a password by someone who must have a second factor and has none yet.
    factor_missing: bool = False


def current(connection: HTTPConnection) -> Visit | None:
    visit = connection.scope.get(SCOPE_KEY)
    return None if visit is None or visit.ended else visit


def idle_timeout(state: State) -> timedelta:
    return timedelta(minutes=state.settings.session_idle_minutes)


def cookie_header(value: str, *, secure: bool, clear: bool = False) -> bytes:
    cookie: SimpleCookie = SimpleCookie()
    cookie[COOKIE] = value
    morsel = cookie[COOKIE]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "lax"
    if secure:
        morsel["secure"] = True
    if clear:
        morsel["max-age"] = 0
    return morsel.OutputString().encode("latin-1")


# What a session may still reach while a second factor is due (or missing), and where the rest goes.
SECOND_FACTOR_PAGE = "/staff/login/second-factor"
OPEN_WHILE_FACTOR_DUE = ("/staff/login", "/staff/logout")
OPEN_WHILE_FACTOR_MISSING = ("/staff/account", "/staff/login", "/staff/logout")


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def factor_gate(scope: Scope, visit: Visit) -> str | None:
    """Where this request goes instead, if its session may not reach it yet; None: go ahead."""
    path = scope["path"]
    if visit.factor_due and not _under(path, OPEN_WHILE_FACTOR_DUE):
        if scope["method"] not in ("GET", "HEAD"):
            return SECOND_FACTOR_PAGE
        query = scope.get("query_string", b"").decode("latin-1")
        return f"{SECOND_FACTOR_PAGE}?next={quote(path + (f'?{query}' if query else ''), safe='/')}"
    if visit.factor_missing and not _under(path, OPEN_WHILE_FACTOR_MISSING):
        return "/staff/account#second-factors"
    return None


def is_secure(state: State) -> bool:
    return state.settings.base_url.startswith("https://")


class StaffSessions:
    # Staff pages, and images not yet public: their department's staff may see them.
    def __init__(self, app: ASGIApp, *, state: State, prefixes: tuple[str, ...] = ("/staff", "/media/")) -> None:
        self.app = app
        self.state = state
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        token = cookie_parser(HTTPConnection(scope).headers.get("cookie", "")).get(COOKIE)
        visit = await run_in_threadpool(self._load, token) if token else None
        scope[SCOPE_KEY] = visit
        dead_cookie = bool(token) and visit is None

        async def send_after_saving(message: Message) -> None:
            if message["type"] == "http.response.start":
                latest = scope.get(SCOPE_KEY)
                if latest is not None and not latest.ended:
                    now = utcnow()
                    due = latest.last_seen_at is None or staff_sessions.touch_due(latest.last_seen_at, now=now)
                    if latest.changed or due:
                        await run_in_threadpool(self._save, latest, now if due else latest.last_seen_at)
                headers = list(message.get("headers", []))
                sets_cookie = any(
                    k.lower() == b"set-cookie" and v.startswith(COOKIE.encode() + b"=") for k, v in headers
                )
                if dead_cookie and not sets_cookie:
                    headers.append((b"set-cookie", cookie_header("", secure=is_secure(self.state), clear=True)))
                    message["headers"] = headers
            await send(message)

        if visit is not None and (elsewhere := factor_gate(scope, visit)) is not None:
            await RedirectResponse(elsewhere, status_code=303)(scope, receive, send_after_saving)
            return
        await self.app(scope, receive, send_after_saving)

    def _load(self, token: str) -> Visit | None:
        with self.state.read_sessions() as session:
            row = staff_sessions.find(session, token=token, idle=idle_timeout(self.state))
            if row is None:
                return None
            return Visit(id=row.id, user_id=row.user_id, csrf=row.csrf, data=dict(row.data or {}),
                         last_seen_at=row.last_seen_at, factor_due=row.factor_due,
                         factor_missing=self._factor_missing(session, row.user_id, method=row.method,
                                                             factor_due=row.factor_due))

    def _factor_missing(self, session: Session, user_id: int, *, method: str | None, factor_due: bool) -> bool:
        # Asked at every page, so someone made an approver since signing in is asked at their next one.
        # A single sign-on session is left to the identity provider, which does its own second factor.
        if factor_due or not self.state.settings.second_factor_required or not (method or "").startswith("password"):
            return False
        user = session.get(User, user_id)
        return user is not None and factors.required(user) and not factors.has_factor(session, user_id=user_id)

    def _save(self, visit: Visit, last_seen_at: datetime) -> None:
        try:
            with transaction(self.state.write_sessions) as session:
                staff_sessions.save(session, session_id=visit.id, data=visit.data, last_seen_at=last_seen_at)
        except SQLAlchemyError:
            # A lost flash message or last-seen time must not fail the page that was already done.
            log.warning("could not save staff session %s", visit.id, exc_info=True)

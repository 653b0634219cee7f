"""Request-scoped dependencies: one session (one commit point) and the caller."""

import asyncio
import functools
import inspect
import typing
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from civicpost import tokens
from civicpost.config import Settings
from civicpost.db import WriteLockBusy, lock_now_or_never, transaction, utcnow
from civicpost.identity import scopes
from civicpost.models import Reader, User
from civicpost.rendering import Renderer
from civicpost.security import CredentialBox
from civicpost.web import route_scopes

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@contextmanager
def request_transaction(request: Request, *, write: bool, touch: bool = True) -> Iterator[Session]:
    """The one way a request opens and commits a session: a `transaction()`
    (read or write), then the caller's token use in a transaction of its own
    (unless `touch` is False: then the caller writes it, `_touch_token`).

    On SQLite a writing request takes the write lock at its first statement
    (BEGIN IMMEDIATE), so two writers queue instead of failing on upgrade.
    """
    state = request.app.state
    try:
        with transaction(state.write_sessions if write else state.read_sessions) as session:
            yield session
    finally:
        if touch:
            _touch_token(request)


@contextmanager
def request_connection(request: Request, *, touch: bool = True) -> Iterator[Connection]:
    """A request that only reads, on a plain Connection rather than a Session:
    the same one transaction (a BEGIN on SQLite; none on PostgreSQL, whose reads
    run each statement in its own), without the Session's setting up and
    committing around it (about 45 µs, a fourteenth of a SQLite list page's CPU
    in-process; docs/benchmarks.md). Then the caller's token use, as
    request_transaction."""
    if request.method not in SAFE_METHODS:
        raise RuntimeError("a Connection is for requests that only read; a write takes a SessionDep")
    try:
        with request.app.state.read_engine.connect() as connection, connection.begin():
            yield connection
    finally:
        if touch:
            _touch_token(request)


def get_session(request: Request) -> Iterator[Session]:
    """Commits once when the handler returns; rolls back if it raises.

    Scope "function" makes FastAPI run the commit before the response is sent,
    so a failed commit is an error answer, never a 200 for unsaved work.
    """
    with request_transaction(request, write=request.method not in SAFE_METHODS) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_connection(request: Request) -> Iterator[Connection]:
    """For a handler that only reads (a GET): see request_connection."""
    with request_connection(request) as connection:
        yield connection


ConnectionDep = Annotated[Connection, Depends(get_connection, scope="function")]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_renderer(request: Request) -> Renderer:
    return request.app.state.renderer


async def get_box(request: Request) -> CredentialBox:
    return request.app.state.box


# These three only read app state: async, so they cost no trip through the thread pool.
SettingsDep = Annotated[Settings, Depends(get_settings)]
RendererDep = Annotated[Renderer, Depends(get_renderer)]
BoxDep = Annotated[CredentialBox, Depends(get_box)]


def current_user(request: Request, session: SessionDep) -> User:
    return _signed_in(request, lambda token: tokens.bearer(session, token)).user


def current_reader(request: Request, connection: ConnectionDep) -> Reader:
    """The caller as a models.Reader (four columns: who, their email and role),
    for a handler that asks no more of its caller (a list page, a new draft): the
    same checks and answers as current_user, without loading a User. one_trip
    hands it the request's Connection, or its Session's for a write."""
    return _signed_in(request, lambda token: tokens.reader(connection, token)).user


def _signed_in(
    request: Request, find: Callable[[str], tokens.Bearer[tokens.Person] | None]
) -> tokens.Bearer[tokens.Person]:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            detail="sign in: send 'Authorization: Bearer <token>' (make a token with `civicpost token create EMAIL`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = find(token.strip())
    if found is None:
        raise HTTPException(
            401,
            detail="that token is unknown or revoked; make a new one with `civicpost token create EMAIL`",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    now = utcnow()
    if found.expires_at is not None and found.expires_at <= now:
        expired = found.expires_at.astimezone(request.app.state.settings.zone)
        raise HTTPException(
            401,
            detail=f"that token expired on {expired:%Y-%m-%d %H:%M %Z}; "
            "make a new one on your account page "
            "(/staff/account) or with `civicpost token create EMAIL --expires-in-days N`",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="The token expired"'},
        )
    held = scopes.of_token(found.scopes)
    request.state.token_scopes = held
    route = request.scope.get("route")
    _check_scope(found.user, held, route_scopes.needed(request.method, getattr(route, "path_format", "")))
    if tokens.touch_due(found, now=now):
        # Written after the request's own transaction, never inside it (see `_touch_token`).
        request.state.token_to_touch = found.token_id
    return found


def _check_scope(user: User | Reader, held: tuple[scopes.Scope, ...] | None, needed: scopes.Scope) -> None:
    if scopes.allows(held, needed):
        return
    doing = route_scopes.DOING[needed]
    if needed in scopes.may_hold(user):
        how = (f"make a token with it on your account page (/staff/account), through POST /api/v1/tokens, "
               f"or with `civicpost token create EMAIL --scope {needed}`")
    else:
        how = "only tokens of approvers, administrators and emergency publishers carry it"
    raise HTTPException(
        403,
        detail=f"this token's scopes are {' '.join(held or ()) or 'none'}; {doing} needs the '{needed}' scope: {how}",
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed}"'},
    )


def require_scope(request: Request, user: User, needed: scopes.Scope) -> None:
    """For a handler whose route needs more for some objects than its line in route_scopes says."""
    _check_scope(user, getattr(request.state, "token_scopes", None), needed)


def _touch_token(request: Request) -> None:
    token_id = getattr(request.state, "token_to_touch", None)
    if token_id is not None:
        del request.state.token_to_touch
        tokens.touch(request.app.state.write_sessions, token_id=token_id)


CurrentUser = Annotated[User, Depends(current_user)]
CurrentReader = Annotated[Reader, Depends(current_reader)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(403, detail="only an admin may do this")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


# --- One trip through a thread per API request --------------------------------
#
# FastAPI runs each sync dependency and the handler in its own trip through
# AnyIO's thread pool, and the commit in another: four trips, each a few
# hundred microseconds of event-loop and thread hand-over, cost more CPU than
# the list query itself. `one_trip` runs the session, the caller's sign-in, the
# handler and the commit in one thread, on a pool no larger than the database
# pool, so a thread never waits for a connection held by a request that waits
# for a thread.

_CALLER_DEPS: dict[Any, str] = {
    get_session: "session", get_connection: "connection", current_user: "user", admin_user: "admin",
    current_reader: "reader",
}
# What only reads app state is handed over in the thread too: as FastAPI
# dependencies each costs a resolution per request, for an attribute read.
_STATE_DEPS: dict[Any, str] = {get_settings: "settings", get_renderer: "renderer", get_box: "box"}
# API requests beyond this many wait for a thread holding no connection (the
# session is made in the thread). More threads only queue for the interpreter
# lock: 4 answered 196 requests/s where 16 answered 158. One pool per process.
REQUEST_THREADS = 4
_threads = ThreadPoolExecutor(max_workers=REQUEST_THREADS, thread_name_prefix="civicpost-request")


def _role(annotation: Any) -> str | None:
    """'session', 'connection', 'user', 'admin' or 'reader' for SessionDep / ConnectionDep / CurrentUser /
    AdminUser / CurrentReader parameters;
    'settings', 'renderer' or 'box' for SettingsDep / RendererDep / BoxDep (app state)."""
    if typing.get_origin(annotation) is not Annotated:
        return None
    for extra in annotation.__metadata__:
        dependency = getattr(extra, "dependency", None)
        role = _CALLER_DEPS.get(dependency) or _STATE_DEPS.get(dependency)
        if role:
            return role
    return None


def one_trip(handler: Callable[..., Any] | None = None, /, *,
             on_loop: Callable[[dict[str, Any]], bool] | None = None) -> Any:
    """Decorate a sync API handler that takes SessionDep / CurrentUser / AdminUser.

    FastAPI sees the other parameters (path, query, body) plus the request;
    the session and caller are made in the request's one thread, and
    SettingsDep / RendererDep / BoxDep are read from app state there.

    `on_loop` (given the request's other arguments) marks a request short and
    bounded enough to run on the event loop itself: the trip through a thread
    costs a list page about a fifth of its CPU and a create about a tenth
    (docs/benchmarks.md), and under the interpreter lock a thread runs no
    sooner than the loop would. It runs there only while the pool has a
    connection idle, so the loop never waits for one, and never waits for a
    lock: reads take none (the token's use, a write, goes through a thread);
    a write does only on SQLite, where it takes the write lock at once or goes
    through a thread after all (`db.lock_now_or_never`). On PostgreSQL a write
    may wait for a row another transaction holds, so it always takes a thread.
    """
    if handler is None:
        return functools.partial(one_trip, on_loop=on_loop)
    signature = inspect.signature(handler)
    hints = typing.get_type_hints(handler, include_extras=True)
    roles = {name: role for name, p in signature.parameters.items() if (role := _role(hints.get(name, p.annotation)))}
    request_name = next((n for n, p in signature.parameters.items() if hints.get(n) is Request), None)
    kept = [p.replace(annotation=hints.get(n, p.annotation)) for n, p in signature.parameters.items() if n not in roles]
    if request_name is None:
        request_name = "_request"
        kept.insert(0, inspect.Parameter(request_name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request))
    # Parameters without defaults first, as Python requires of a signature.
    kept.sort(key=lambda p: p.default is not inspect.Parameter.empty)
    signs_in = any(role in ("user", "admin") for role in roles.values())
    reads_in = "reader" in roles.values()
    # A handler that only reads may take a Connection rather than a Session.
    plain = "connection" in roles.values()
    assert not (signs_in and reads_in), "a handler takes its caller as a User or as a Reader, not both"
    assert not (plain and "session" in roles.values()), "a handler takes a Session or a Connection, not both"

    def run(request: Request, kwargs: dict[str, Any], touch: bool = True) -> Any:
        opened: Any = (
            request_connection(request, touch=touch) if plain
            else request_transaction(request, write=request.method not in SAFE_METHODS, touch=touch)
        )
        with opened as held:
            caller: User | Reader | None = (
                current_user(request, held) if signs_in
                else current_reader(request, held if plain else held.connection()) if reads_in else None
            )
            for name, role in roles.items():
                if role in ("session", "connection"):
                    kwargs[name] = held
                elif role in _STATE_DEPS.values():
                    kwargs[name] = getattr(request.app.state, role)
                elif role == "admin":
                    assert isinstance(caller, User)  # signs_in
                    kwargs[name] = admin_user(caller)
                else:
                    kwargs[name] = caller
            return handler(**kwargs)

    @functools.wraps(handler)
    async def endpoint(**kwargs: Any) -> Any:
        request = kwargs[request_name] if request_name in signature.parameters else kwargs.pop(request_name)
        loop = asyncio.get_running_loop()
        if on_loop is not None and _loop_may_run(request) and on_loop(kwargs):
            try:
                with lock_now_or_never():
                    return run(request, kwargs, touch=False)
            except WriteLockBusy:
                pass  # another connection is writing: wait for it on a request thread (nothing was done yet)
            finally:
                if getattr(request.state, "token_to_touch", None) is not None:
                    await loop.run_in_executor(_threads, _touch_token, request)
        return await loop.run_in_executor(_threads, run, request, kwargs)

    endpoint.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
    del endpoint.__wrapped__  # FastAPI must read the signature above, not the handler's
    return endpoint


def _loop_may_run(request: Request) -> bool:
    """Reads, and writes on SQLite, while a connection is idle (see one_trip)."""
    if request.method not in SAFE_METHODS and request.app.state.engine.dialect.name != "sqlite":
        return False
    return _connection_idle(request)


def _connection_idle(request: Request) -> bool:
    """Whether the pool holds a connection no one uses (taking it cannot wait)."""
    checkedin = getattr(request.app.state.engine.pool, "checkedin", None)
    return checkedin is not None and checkedin() > 0


async def in_request_thread(request: Request, work: Callable[[Session, User], Any], *, write: bool) -> Any:
    """Run `work(session, caller)` in one trip through the request threads, in a
    transaction of its own (read or write) that commits when it returns.

    For a handler whose slow part must hold no transaction and no request
    thread (an image upload's decode): it signs in and reads in one short
    trip, does the slow part elsewhere, and writes in another short trip.
    """

    def run() -> Any:
        with request_transaction(request, write=write) as session:
            return work(session, current_user(request, session))

    return await asyncio.get_running_loop().run_in_executor(_threads, run)

"""Request-scoped dependencies: one session (one commit point) and the caller."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from civicpost import accounts
from civicpost.config import Settings
from civicpost.models import User
from civicpost.rendering import Renderer
from civicpost.security import CredentialBox

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Commits once when the handler returns; rolls back if it raises.

    Scope "function" makes FastAPI run the commit before the response is sent,
    so a failed commit is an error answer, never a 200 for unsaved work.
    Making a session touches no database, so only the commit (or rollback)
    takes a trip through the thread pool. On SQLite a writing request takes
    the write lock at its first statement (BEGIN IMMEDIATE), so two writers
    queue instead of failing on upgrade.
    """
    state = request.app.state
    factory = state.read_sessions if request.method in SAFE_METHODS else state.write_sessions
    session = factory()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_end, session, commit=False)
        raise
    await run_in_threadpool(_end, session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


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
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401,
            detail="sign in: send 'Authorization: Bearer <token>' (make a token with `civicpost token create EMAIL`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user = accounts.user_for_token(session, token.strip())
    if user is None:
        raise HTTPException(
            401,
            detail="that token is unknown or revoked; make a new one with `civicpost token create EMAIL`",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(403, detail="only an admin may do this")
    return user


AdminUser = Annotated[User, Depends(admin_user)]

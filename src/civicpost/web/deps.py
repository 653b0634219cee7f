"""Request-scoped dependencies: one session (one commit point) and the caller."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from civicpost import accounts
from civicpost.config import Settings
from civicpost.models import User
from civicpost.rendering import Renderer
from civicpost.security import CredentialBox

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_session(request: Request) -> Iterator[Session]:
    """Commits once when the handler returns; rolls back if it raises.

    Scope "function" makes FastAPI run the commit before the response is sent,
    so a failed commit is an error answer, never a 200 for unsaved work.
    On SQLite a writing request takes the write lock up front (BEGIN
    IMMEDIATE), so two writers queue instead of failing on upgrade.
    """
    state = request.app.state
    factory = state.read_sessions if request.method in SAFE_METHODS else state.write_sessions
    with factory() as session, session.begin():
        yield session


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

"""People and their API tokens under /api/v1 (SPEC §8.1 "User lifecycle")."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from civicpost import accounts, people, tokens
from civicpost.errors import Forbidden, Invalid
from civicpost.identity import methods, scopes
from civicpost.web.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, one_trip, require_scope
from civicpost.web.params import IdPath as Id
from civicpost.web.people_schemas import (
    NewToken,
    TokenIn,
    TokenList,
    TokenOut,
    UserList,
    UserOut,
    UserPatch,
)
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


@router.get("/users", response_model=UserList)
@one_trip
def list_users(session: SessionDep, _: AdminUser, settings: SettingsDep) -> UserList:
    """Everyone, with how each signs in (`sign_in`): single sign-on or password, second factors, last sign-in."""
    users = people.listed(session)
    factors = methods.factor_kinds(session, (u.id for u in users))
    return UserList(items=[UserOut.of(u, settings.zone, factors=factors[u.id]) for u in users])


@router.patch("/users/{user_id}", response_model=UserOut)
@one_trip
def update_user(user_id: Id, body: UserPatch, session: SessionDep, admin: AdminUser, settings: SettingsDep) -> UserOut:
    """Change name, role, departments, `active` or `emergency_publisher`; deactivating ends the person's
    sessions and revokes their tokens."""
    user = people.get_user(session, user_id)
    people.update_user(
        session,
        actor=admin,
        user=user,
        name=body.name,
        role=body.role,
        departments=body.departments,
        active=body.active,
        emergency_publisher=body.emergency_publisher,
    )
    return UserOut.of(user, settings.zone, factors=methods.factor_kinds(session, [user.id])[user.id])


@router.get("/tokens", response_model=TokenList)
@one_trip
def list_tokens(
    session: SessionDep,
    caller: CurrentUser,
    settings: SettingsDep,
    user: Annotated[str | None, Query(max_length=320, description="an email (admins only, for someone else's)")] = None,
) -> TokenList:
    """Your own tokens; an admin sees everyone's, or one person's with `?user=`."""
    if user is not None and accounts.normalise_email(user) != caller.email and not caller.is_admin:
        raise Forbidden("only an admin may list other people's tokens; leave out ?user= to see your own")
    owner_id: int | None
    if user is not None:
        owner_id = accounts.user_by_email(session, user).id
    else:
        owner_id = None if caller.is_admin else caller.id
    return TokenList(items=[TokenOut.of(t, settings.zone) for t in tokens.listed(session, user_id=owner_id)])


@router.post("/tokens", status_code=201, response_model=NewToken)
@one_trip
def create_token(
    body: TokenIn, request: Request, session: SessionDep, caller: CurrentUser, settings: SettingsDep
) -> NewToken:
    """A new token for yourself; the answer is the only time the token is shown.

    `scopes` defaults to read and draft. The approve scope is for approvers, administrators and emergency
    publishers who have a second factor or single sign-on (422 otherwise, saying how to add one). A token
    cannot make one that may do more than itself."""
    wanted = scopes.ordered(body.scopes)
    scopes.check_may_hold(caller, wanted)
    held = getattr(request.state, "token_scopes", None)
    beyond = [s for s in wanted if not scopes.allows(held, s)]
    if beyond:
        raise Invalid(
            f"this token cannot make a token with more scopes than its own ({' '.join(held or ())}); "
            f"leave out {' '.join(beyond)}, or make the token on your account page (/staff/account)",
            errors=[{"field": "scopes", "message": "ask for no scope the token you send lacks"}],
        )
    scopes.check_web_token(session, caller, wanted)
    token, record = tokens.create(
        session, user=caller, name=body.name, expires_in_days=body.expires_in_days, scopes=wanted
    )
    return NewToken(token=token, **TokenOut.of(record, settings.zone).model_dump())


@router.delete("/tokens/{token_id}", response_model=TokenOut)
@one_trip
def revoke_token(
    token_id: Id, request: Request, session: SessionDep, caller: CurrentUser, settings: SettingsDep
) -> TokenOut:
    """Revoke one of your tokens (an admin: anyone's, with the approve scope); it stops working at once."""
    token = tokens.get(session, token_id, owner=None if caller.is_admin else caller)
    if token.user_id != caller.id:
        require_scope(request, caller, scopes.APPROVE)
    tokens.revoke(session, token=token, actor=caller)
    return TokenOut.of(token, settings.zone)

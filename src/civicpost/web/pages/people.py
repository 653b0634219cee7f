"""One person, for administrators: role and departments, deactivate or reactivate,
lift sign-in waits, set a new password, revoke their API tokens (SPEC §8.1).

Each form goes through the same services as the API and the command line
(civicpost.people, civicpost.tokens), so the guards and the audit are the same.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit, people, staff_sessions, throttle, tokens
from civicpost.errors import ServiceError
from civicpost.identity import methods
from civicpost.models import Department, Role, User
from civicpost.web import visits
from civicpost.web.deps import SessionDep
from civicpost.web.pages.admin_forms import service_errors, validation_errors
from civicpost.web.pages.common import AdminPageUser, Csrf, flash, redirect, render
from civicpost.web.people_schemas import UserPatch

router = APIRouter(include_in_schema=False)

ROLE_LABELS = {
    Role.staff: "Staff: drafts for their departments",
    Role.approver: "Approver: approves for every department",
    Role.admin: "Administrator: manages departments, users and channels",
}
# Ids are 32-bit in the database: a larger one is refused here.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def user_page(request: Request, session: Session, admin: User, person: User, *, form: dict[str, Any] | None = None,
              errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    context = {
        "person": person,
        "is_self": person.id == admin.id,
        "roles": ROLE_LABELS,
        "departments": list(session.scalars(select(Department).order_by(Department.name))),
        "form": form or {"name": person.name, "role": person.role, "departments": person.department_slugs},
        "errors": errors or {},
        "sessions": staff_sessions.count(session, user_id=person.id, idle=visits.idle_timeout(request.app.state)),
        "sign_ins": throttle.account_state(session, email=person.email),
        "sign_in": methods.of_user(session, person),
        "tokens": tokens.listed(session, user_id=person.id),
        "token_status": tokens.status,
        "history": audit.trail(session, object_type="user", object_id=person.id)[-15:][::-1],
        "zone": settings.zone,
    }
    return render(request, "staff/user.html", context, user=admin, status_code=status_code)


def _refused(request: Request, session: Session, admin: User, person: User, exc: ServiceError, *, field: str,
             form: dict[str, Any] | None = None) -> HTMLResponse:
    session.rollback()
    person = people.get_user(session, person.id)
    return user_page(request, session, admin, person, form=form, errors=service_errors(exc, field=field),
                     status_code=exc.status)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def show_user(user_id: Id, request: Request, session: SessionDep, admin: AdminPageUser) -> HTMLResponse:
    return user_page(request, session, admin, people.get_user(session, user_id))


@router.post("/users/{user_id}", dependencies=[Csrf])
def update_user(
    user_id: Id,
    request: Request,
    session: SessionDep,
    admin: AdminPageUser,
    name: Annotated[str, Form(max_length=400)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    departments: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    person = people.get_user(session, user_id)
    form = {"name": name, "role": role, "departments": departments}
    try:
        # The API's own model, so a form is held to the same rules as a PATCH.
        body = UserPatch.model_validate(form)
    except ValidationError as exc:
        return user_page(request, session, admin, person, form=form, errors=validation_errors(exc), status_code=422)
    try:
        people.update_user(
            session, actor=admin, user=person, name=body.name, role=body.role, departments=body.departments
        )
    except ServiceError as exc:
        return _refused(request, session, admin, person, exc, field="role", form=form)
    flash(request, f"Saved the changes to {person.name}.")
    return redirect(f"/staff/users/{person.id}")


@router.post("/users/{user_id}/active", dependencies=[Csrf])
def set_active(
    user_id: Id, request: Request, session: SessionDep, admin: AdminPageUser,
    active: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    person = people.get_user(session, user_id)
    try:
        people.update_user(session, actor=admin, user=person, active=active == "yes")
    except ServiceError as exc:
        return _refused(request, session, admin, person, exc, field="form")
    if person.active:
        flash(request, f"{person.name} can sign in again. Their old API tokens stay revoked; they can make new ones.")
    else:
        flash(request, f"Deactivated {person.name}: they were signed out everywhere and their API tokens were revoked.")
    return redirect(f"/staff/users/{person.id}")


@router.post("/users/{user_id}/permissions", dependencies=[Csrf])
def set_permissions(
    user_id: Id, request: Request, session: SessionDep, admin: AdminPageUser,
    emergency_publisher: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    person = people.get_user(session, user_id)
    people.update_user(session, actor=admin, user=person, emergency_publisher=emergency_publisher == "yes")
    if person.emergency_publisher:
        flash(request, f"{person.name} is an emergency publisher: they may publish an emergency alone.")
    else:
        flash(request, f"{person.name} is no longer an emergency publisher.")
    return redirect(f"/staff/users/{person.id}")


@router.post("/users/{user_id}/unlock", dependencies=[Csrf])
def unlock(user_id: Id, request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    person = people.get_user(session, user_id)
    people.unlock(session, actor=admin, user=person)
    flash(request, f"Lifted every sign-in wait on {person.email}. They can sign in at once.")
    return redirect(f"/staff/users/{person.id}")


@router.post("/users/{user_id}/password", dependencies=[Csrf])
def reset_password(
    user_id: Id, request: Request, session: SessionDep, admin: AdminPageUser,
    password: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    person = people.get_user(session, user_id)
    if person.id == admin.id:
        errors = {"password": "Change your own password on your account page, which asks for the current one"}
        return user_page(request, session, admin, person, errors=errors, status_code=409)
    try:
        people.reset_password(session, actor=admin, user=person, password=password)
    except ServiceError as exc:
        return _refused(request, session, admin, person, exc, field="password")
    flash(request, f"Set a new password for {person.name} and signed them out everywhere. "
                   "Give it to them in person or by phone, never by email.")
    return redirect(f"/staff/users/{person.id}")


@router.post("/users/{user_id}/tokens/{token_id}/revoke", dependencies=[Csrf])
def revoke_token(user_id: Id, token_id: Id, request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    person = people.get_user(session, user_id)
    token = tokens.get(session, token_id, owner=person)
    tokens.revoke(session, token=token, actor=admin)
    flash(request, f"Revoked the token {token.prefix}… ({token.name or 'no name'}). It stops working at once.")
    return redirect(f"/staff/users/{person.id}")

"""Administering: departments and users here, channels in admin_channels (SPEC §2, §5).

Forms go through the same schemas and services as the API, so the rules and
the audit events are the same; a refused form comes back with each message
next to its field.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicpost import accounts
from civicpost.errors import Conflict, ServiceError
from civicpost.identity import methods
from civicpost.models import Channel, Department, Role, User, user_departments
from civicpost.schemas import DepartmentIn, UserIn
from civicpost.web.deps import SessionDep
from civicpost.web.pages import admin_channels, people
from civicpost.web.pages.admin_forms import service_errors, validation_errors
from civicpost.web.pages.common import AdminPageUser, Csrf, flash, redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)
router.include_router(admin_channels.router)
router.include_router(people.router)

ROLE_LABELS = people.ROLE_LABELS


def _departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.name)))


def _department_rows(session: Session) -> list[dict[str, Any]]:
    channels: dict[int, int] = dict(
        session.execute(select(Channel.department_id, func.count()).group_by(Channel.department_id)).all()
    )
    members: dict[int, int] = dict(
        session.execute(
            select(user_departments.c.department_id, func.count()).group_by(user_departments.c.department_id)
        ).all()
    )
    return [
        {"department": d, "channels": channels.get(d.id, 0), "members": members.get(d.id, 0)}
        for d in _departments(session)
    ]


def departments_page(request: Request, session: Session, user: User, *, form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    context = {"rows": _department_rows(session), "form": form or {"slug": "", "name": ""}, "errors": errors or {}}
    return render(request, "staff/departments.html", context, user=user, status_code=status_code)


@router.get("/departments", response_class=HTMLResponse)
def list_departments(request: Request, session: SessionDep, user: AdminPageUser) -> HTMLResponse:
    return departments_page(request, session, user)


@router.post("/departments", dependencies=[Csrf])
def create_department(
    request: Request,
    session: SessionDep,
    user: AdminPageUser,
    slug: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    form = {"slug": slug, "name": name}
    try:
        body = DepartmentIn(slug=slug, name=name)
        department = accounts.create_department(session, actor=user, slug=body.slug, name=body.name)
    except ValidationError as exc:
        return departments_page(request, session, user, form=form, errors=validation_errors(exc), status_code=422)
    except Conflict:
        errors = {"slug": f"A department with the short name '{slug.strip()}' already exists; choose another"}
        return departments_page(request, session, user, form=form, errors=errors, status_code=409)
    flash(request, f"Added the department {department.name}.")
    return redirect("/staff/departments")


def users_page(request: Request, session: Session, user: User, *, form: dict[str, Any] | None = None,
               errors: dict[str, str] | None = None, status_code: int = 200,
               only_missing_factor: bool = False) -> HTMLResponse:
    everyone = session.scalars(select(User).order_by(User.name, User.id)).all()
    sign_ins = methods.of_users(session, everyone)
    # Who has no second factor yet: active password accounts (single sign-on has the provider's own).
    missing = [u for u in everyone if u.active and sign_ins[u.id].missing_factor]
    context = {
        "users": missing if only_missing_factor else everyone,
        "sign_ins": sign_ins,
        "missing": missing,
        "missing_required": [u for u in missing if sign_ins[u.id].factor_required],
        "only_missing_factor": only_missing_factor,
        "departments": _departments(session),
        "roles": ROLE_LABELS,
        "form": form or {"email": "", "name": "", "role": Role.staff, "departments": []},
        "errors": errors or {},
    }
    return render(request, "staff/users.html", context, user=user, status_code=status_code)


@router.get("/users", response_class=HTMLResponse)
def list_users(
    request: Request, session: SessionDep, user: AdminPageUser,
    second_factor: Annotated[str, Query(max_length=20, description="'missing': only who has none yet")] = "",
) -> HTMLResponse:
    return users_page(request, session, user, only_missing_factor=second_factor == "missing")


@router.post("/users", dependencies=[Csrf])
def create_user(
    request: Request,
    session: SessionDep,
    user: AdminPageUser,
    email: Annotated[str, Form(max_length=400)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    role: Annotated[str, Form(max_length=32)] = Role.staff,
    departments: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    # The password is never sent back into the form.
    form = {"email": email, "name": name, "role": role, "departments": departments}
    try:
        body = UserIn.model_validate({**form, "password": password})
        created = accounts.create_user(
            session, actor=user, email=body.email, name=body.name, role=body.role,
            departments=body.departments, password=body.password,
        )
    except ValidationError as exc:
        return users_page(request, session, user, form=form, errors=validation_errors(exc), status_code=422)
    except Conflict:
        errors = {"email": "There is already an account with this email address"}
        return users_page(request, session, user, form=form, errors=errors, status_code=409)
    except ServiceError as exc:
        return users_page(
            request, session, user, form=form, errors=service_errors(exc, field="form"), status_code=exc.status
        )
    flash(
        request,
        f"Added {created.name} ({created.email}) as {created.role}. "
        "Give them the initial password in person or by phone.",
    )
    return redirect("/staff/users")

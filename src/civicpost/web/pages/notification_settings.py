"""Notification pages: each person's choices on /staff/account, and a
department's Slack or Teams hook, set by an admin."""

import re
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from civicpost import accounts, notifications
from civicpost.errors import Invalid
from civicpost.models import Department, DepartmentHook, User
from civicpost.notifications import hooks
from civicpost.security import CredentialBox
from civicpost.web.deps import SessionDep
from civicpost.web.pages import account
from civicpost.web.pages.common import AdminPageUser, Csrf, StaffUser, flash, redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)

Slug = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
KIND_NAME = re.compile(r"^[a-z_]{1,32}$")


@router.post("/account/notifications", dependencies=[Csrf])
def save_choices(
    request: Request,
    session: SessionDep,
    user: StaffUser,
    kinds: Annotated[list[Annotated[str, Form(max_length=100)]], Form(max_length=50)] = [],  # noqa: B006
) -> Response:
    allowed = {kind.name for kind in notifications.shown(user)}
    unknown = [k for k in kinds if k not in allowed]
    if unknown:
        shown = ", ".join(k for k in unknown if KIND_NAME.match(k)) or "an unreadable value"
        error = (f"These are not notifications you can choose: {shown}. "
                 "Tick only the boxes on this page and save again")
        return account.account_page(request, session, user, errors={"kinds": error}, status_code=422)
    notifications.save_choices(session, user, set(kinds))
    flash(request, "Your notification choices are saved.")
    return redirect("/staff/account#notifications-heading")


def _box(request: Request) -> CredentialBox:
    return CredentialBox(request.app.state.settings.fernet_key())


def hook_page(request: Request, session: Session, user: User, department: Department, *,
              errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    context = {"department": department, "hook": session.get(DepartmentHook, department.id),
               "posts": hooks.last_posts(session, department.id), "errors": errors or {},
               "zone": request.app.state.settings.zone}
    return render(request, "staff/department_notifications.html", context, user=user, status_code=status_code)


@router.get("/departments/{slug}/notifications", response_class=HTMLResponse)
def show_hook(slug: Slug, request: Request, session: SessionDep, user: AdminPageUser) -> HTMLResponse:
    return hook_page(request, session, user, accounts.department_by_slug(session, slug))


@router.post("/departments/{slug}/notifications", dependencies=[Csrf])
def set_hook(
    slug: Slug,
    request: Request,
    session: SessionDep,
    user: AdminPageUser,
    url: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    department = accounts.department_by_slug(session, slug)
    settings = request.app.state.settings
    try:
        hook = hooks.set_hook(session, actor=user, department=department, url=url, box=_box(request),
                              allow_private_network=settings.allow_private_network)
    except Invalid as exc:
        return hook_page(request, session, user, department, errors={"url": exc.detail}, status_code=422)
    flash(request, f"{department.name} now posts to the hook at {hook.host} when a delivery fails or a "
                   "channel needs attention.")
    return redirect(f"/staff/departments/{slug}/notifications")


@router.post("/departments/{slug}/notifications/remove", dependencies=[Csrf])
def remove_hook(slug: Slug, request: Request, session: SessionDep, user: AdminPageUser) -> Response:
    department = accounts.department_by_slug(session, slug)
    removed = hooks.remove_hook(session, actor=user, department=department)
    flash(request, f"Removed {department.name}'s hook." if removed else f"{department.name} had no hook.")
    return redirect(f"/staff/departments/{slug}/notifications")

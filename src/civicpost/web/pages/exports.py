"""The staff page of records exports (administrators): each export's progress and download,
and a form to start one; a worker writes it, as for `POST /api/v1/exports`."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.errors import ServiceError
from civicpost.exports import jobs
from civicpost.models import Department, User
from civicpost.web import api_exports
from civicpost.web.deps import SessionDep, SettingsDep
from civicpost.web.pages.admin_forms import service_errors
from civicpost.web.pages.common import AdminPageUser, Csrf, flash, redirect, render
from civicpost.web.params import IdPath

router = APIRouter(prefix="/staff", include_in_schema=False)


def exports_page(request: Request, session: Session, user: User, settings: Any, *,
                 form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    rows = [api_exports.export_out(e, settings) for e in api_exports.recent(session)]
    departments = list(session.scalars(select(Department).order_by(Department.name)))
    context = {"rows": rows, "errors": errors or {},
               "department_options": [("", "Every department")] + [(d.slug, d.name) for d in departments],
               "form": form or {"from": "", "to": "", "department": ""}}
    return render(request, "staff/exports.html", context, user=user, status_code=status_code)


@router.get("/exports", response_class=HTMLResponse)
def list_exports(request: Request, session: SessionDep, user: AdminPageUser, settings: SettingsDep) -> HTMLResponse:
    return exports_page(request, session, user, settings)


def _day(value: str, label: str, errors: dict[str, str], field: str) -> date | None:
    text = value.strip()
    if not text:
        errors[field] = f"Enter the {label} as a date, for example 2026-01-31"
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = f"The {label} must be a real date written as YYYY-MM-DD, for example 2026-01-31"
        return None


@router.post("/exports", dependencies=[Csrf])
def start_export(
    request: Request, session: SessionDep, user: AdminPageUser, settings: SettingsDep,
    date_from: Annotated[str, Form(alias="from", max_length=40)] = "",
    date_to: Annotated[str, Form(alias="to", max_length=40)] = "",
    department: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    form = {"from": date_from, "to": date_to, "department": department}
    errors: dict[str, str] = {}
    first = _day(date_from, "first day", errors, "from")
    last = _day(date_to, "last day", errors, "to")
    if errors or first is None or last is None:
        return exports_page(request, session, user, settings, form=form, errors=errors, status_code=422)
    try:
        export = jobs.request(session, actor=user, date_from=first, date_to=last, department=department or None)
    except ServiceError as exc:
        field = "department" if "department" in exc.detail else "to"
        return exports_page(request, session, user, settings, form=form,
                            errors=service_errors(exc, field=field), status_code=422)
    flash(request, f"Export {export.id} is waiting for a worker; its progress shows below.")
    return redirect("/staff/exports")


@router.get("/exports/{export_id}/download")
def download(export_id: IdPath, session: SessionDep, user: AdminPageUser) -> FileResponse:
    return api_exports.export_file(session, export_id)

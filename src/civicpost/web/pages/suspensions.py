"""The staff page of suspensions: what is paused now and before, a form to pause scheduled posts, an End
button, and for an ended suspension what it held with the choices to let it go (the API's services).

Everyone signed in may read the page (the banner on every staff page links here); only approvers and
administrators see and may use its forms.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.errors import Forbidden, ServiceError
from civicpost.models import Department, Suspension, User
from civicpost.suspensions import service
from civicpost.web.deps import SessionDep
from civicpost.web.pages._draft_time import from_local_input
from civicpost.web.pages.admin_forms import service_errors
from civicpost.web.pages.announcements import PostedForm
from civicpost.web.pages.common import Csrf, StaffUser, flash, redirect, render
from civicpost.web.params import IdPath

router = APIRouter(prefix="/staff", include_in_schema=False)

FUTURE = "Choose a time in the future, or leave it empty to pause until someone ends it"
WHEN_WORDS = {"now": "Publish now", "as_scheduled": "As scheduled (now if its time has passed)",
              "at": "At a new time", "back_to_author": "Back to its author, with a note"}


def _approver(user: User) -> None:
    if not user.can_approve:
        raise Forbidden("Only approvers and administrators may pause, end or release scheduled posts.")


def row(session: Session, suspension: Suspension, names: dict[int, str]) -> dict[str, Any]:
    started_by = session.get(User, suspension.started_by_id) if suspension.started_by_id else None
    ended_by = session.get(User, suspension.ended_by_id) if suspension.ended_by_id else None
    return {
        "s": suspension, "active": service.is_in_force(suspension),
        "departments": None if suspension.department_ids is None
        else sorted(names.get(i, f"department {i}") for i in suspension.department_ids),
        "started_by": started_by.name if started_by else "an operator at the command line",
        "ended_by": ended_by.name if ended_by else ("its set end time" if suspension.ended_how == "until" else ""),
        "held": service.held_report(session, suspension),
    }


def page(request: Request, session: Session, user: User, *, form: dict[str, Any] | None = None,
         errors: dict[str, str] | None = None, release_errors: dict[int, dict[str, str]] | None = None,
         status_code: int = 200) -> HTMLResponse:
    departments = list(session.scalars(select(Department).order_by(Department.name)))
    names = {d.id: d.name for d in departments}
    rows = [row(session, s, names) for s in service.listing(session)]
    context = {
        "active_rows": [r for r in rows if r["active"]], "past_rows": [r for r in rows if not r["active"]],
        "departments": departments, "may_act": user.can_approve, "errors": errors or {},
        "release_errors": release_errors or {}, "when_words": WHEN_WORDS,
        "zone_name": request.app.state.settings.zone.key,
        "form": form or {"reason": "", "scope": "city", "departments": [], "until": ""},
    }
    return render(request, "staff/suspensions.html", context, user=user, status_code=status_code)


@router.get("/suspensions", response_class=HTMLResponse)
def suspensions(request: Request, session: SessionDep, user: StaffUser,
                scope: Annotated[str, Query(max_length=16)] = "city") -> HTMLResponse:
    form: dict[str, Any] = {"reason": "", "scope": "departments" if scope == "departments" else "city",
                            "departments": [], "until": ""}
    return page(request, session, user, form=form)


@router.post("/suspensions", dependencies=[Csrf])
def start(request: Request, session: SessionDep, user: StaffUser,
          reason: Annotated[str, Form(max_length=2000)] = "",
          scope: Annotated[str, Form(max_length=16)] = "city",
          departments: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006 (FastAPI reads a copy)
          until: Annotated[str, Form(max_length=40)] = "") -> Response:
    _approver(user)
    form = {"reason": reason, "scope": scope, "departments": departments, "until": until}
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "Say why scheduled posts are paused; staff see it on every page"
    elif len(reason.strip()) > 500:
        errors["reason"] = f"Use at most 500 characters (it has {len(reason.strip())})"
    if scope not in ("city", "departments"):
        errors["scope"] = "Choose the whole city or some departments"
    elif scope == "departments" and not departments:
        errors["departments"] = "Tick at least one department, or choose the whole city"
    ends = from_local_input(until, request.app.state.settings.zone)
    if ends.error:
        errors["until"] = ends.error
    elif ends.instant is not None and ends.instant <= utcnow():
        errors["until"] = FUTURE
    if not errors:
        try:
            suspension = service.start(session, actor=user, reason=reason,
                                       departments=departments if scope == "departments" else None,
                                       until=ends.instant)
        except ServiceError as exc:
            errors = service_errors(exc, field="reason")
            if "until" in errors:
                errors["until"] = FUTURE
        else:
            flash(request, f"Scheduled posts are paused (suspension {suspension.id}). Emergencies still go out.")
            return redirect("/staff/suspensions")
    return page(request, session, user, form=form, errors=errors, status_code=422)


@router.post("/suspensions/{suspension_id}/end", dependencies=[Csrf])
def end(suspension_id: IdPath, request: Request, session: SessionDep, user: StaffUser) -> Response:
    _approver(user)
    suspension = service.end(session, actor=user, suspension=service.get(session, suspension_id))
    count = len(service.held(session, suspension))
    flash(request, f"Suspension {suspension.id} ended. It holds {count} item{'' if count == 1 else 's'}: "
                   "nothing goes out until you release it below.")
    return redirect(f"/staff/suspensions#suspension-{suspension.id}")


@router.post("/suspensions/{suspension_id}/release", dependencies=[Csrf])
def release(suspension_id: IdPath, request: Request, session: SessionDep, user: StaffUser,
            posted: PostedForm) -> Response:
    _approver(user)
    suspension = service.get(session, suspension_id)
    which = str(posted.get("which", "chosen"))
    when = str(posted.get("when", ""))
    errors: dict[str, str] = {}
    chosen: list[int] | str = "all"
    if which != "all":
        raw = [str(v) for v in posted.getlist("deliveries")]
        chosen = [int(v) for v in raw if v.isascii() and v.isdigit() and len(v) < 18]
        if not chosen or len(chosen) != len(raw):
            errors["deliveries"] = "Tick the items to release, or use “Release all”"
    if when not in WHEN_WORDS:
        errors["when"] = "Choose how to release them"
    at = from_local_input(str(posted.get("at", ""))[:40], request.app.state.settings.zone)
    if when == "at" and (at.error or at.instant is None):
        errors["at"] = at.error or "Enter the new time, for example 2026-12-01 09:00"
    note = str(posted.get("note", "")).strip()[:2000] or None
    if not errors:
        try:
            done = service.release(session, actor=user, suspension=suspension,
                                   deliveries=chosen,  # type: ignore[arg-type]
                                   when=when,  # type: ignore[arg-type]
                                   at=at.instant if when == "at" else None, note=note)
        except ServiceError as exc:
            errors = service_errors(exc, field="deliveries")
        else:
            if done["sent_back"]:
                flash(request, f"{len(done['sent_back'])} announcement(s) went back to their authors as drafts.")
            else:
                flash(request, f"{done['released']} item(s) released: {WHEN_WORDS[when].lower()}.")
            return redirect(f"/staff/suspensions#suspension-{suspension.id}")
    return page(request, session, user, release_errors={suspension.id: errors}, status_code=422)

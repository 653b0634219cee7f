"""The approval queue (communications office): review, approve, or send back with a reason."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from civicpost import contributors
from civicpost.config import Settings
from civicpost.drafting import previews, workflow
from civicpost.errors import Invalid, ServiceError
from civicpost.fanout import estimates
from civicpost.models import Announcement, Department, State, User
from civicpost.schemas import RejectIn
from civicpost.suspensions import service as suspensions_service
from civicpost.web.dates import human
from civicpost.web.deps import SessionDep
from civicpost.web.pages import live
from civicpost.web.pages._draft_diff import changes_since_approval
from civicpost.web.pages._draft_form import friendly
from civicpost.web.pages.announcements import PostedForm, show_page, viewable
from civicpost.web.pages.common import ApproverUser, Csrf, StaffUser, csrf_token, flash, redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)


def review(session, renderer, announcement: Announcement, *, contributed: bool,
           settings: Settings | None = None) -> dict[str, Any]:
    shown = previews.of_announcement(renderer, announcement)
    cards = shown.cards
    return {
        "a": announcement,
        "cards": cards,
        # The approve form sends back the fingerprint of exactly what this page shows.
        "fingerprint": shown.fingerprint,
        "changes": changes_since_approval(session, announcement, cards),
        "contributed": contributed,
        # Texts to residents: their count, cost and time, seen before approving.
        "texts": estimates.before_approval(session, settings, announcement, cards) if settings else [],
    }


def queue_page(request: Request, session, user: User, *, refusal: dict | None = None,
               status_code: int = 200, department: Department | None = None) -> HTMLResponse:
    context = queue_context(request, session, user, refusal=refusal, department=department)
    return render(request, "staff/approvals.html", context, status_code=status_code, user=user)


def queue_context(request: Request, session, user: User, *, refusal: dict | None = None,
                  department: Department | None = None) -> dict[str, Any]:
    query = select(Announcement).where(Announcement.state == State.submitted)
    if department is not None:
        query = query.where(Announcement.department_id == department.id)
    rows = session.scalars(
        query.order_by(Announcement.emergency.desc(), Announcement.publish_at.asc().nulls_first(), Announcement.id)
        .limit(100)
    ).all()
    wrote = contributors.of_many(session, list(rows))
    items = [review(session, request.app.state.renderer, a, contributed=user.id in wrote[a.id],
                    settings=request.app.state.settings) for a in rows]
    context = {
        "items": items,
        "refusal": refusal,
        "departments": session.scalars(select(Department).order_by(Department.name)).all(),
        "department": department.slug if department else "",
        "department_name": department.name if department else "",
    }
    return context


@router.get("/approvals", response_class=HTMLResponse)
def queue(
    request: Request, session: SessionDep, user: ApproverUser,
    department: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    return queue_page(request, session, user, department=_department(session, department))


@router.get("/approvals/live", response_class=HTMLResponse)
def queue_live(
    request: Request, session: SessionDep, user: ApproverUser,
    department: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    context = queue_context(request, session, user, department=_department(session, department))
    context |= {"user": user, "csrf_token": csrf_token(request)}
    return live.fragment(request, "staff/_queue_live.html", context)


def _department(session, slug: str) -> Department | None:
    if not slug:
        return None
    chosen = session.scalar(select(Department).where(Department.slug == slug))
    if chosen is None:
        raise Invalid(f"there is no department '{slug[:64]}': choose one from the list, or every department")
    return chosen


def _back(request: Request, session, user: User, a: Announcement, posted, refusal: dict | None = None) -> Response:
    from_page = posted.get("back") == "announcement"
    if refusal is not None:
        if from_page:
            return show_page(request, session, user, a, refusal=refusal, status_code=422)
        return queue_page(request, session, user, refusal=refusal, status_code=422)
    return redirect(f"/staff/announcements/{a.id}" if from_page else "/staff/approvals")


@router.post("/announcements/{announcement_id:int}/approve", dependencies=[Csrf])
def approve(announcement_id: int, request: Request, session: SessionDep,
            user: StaffUser, posted: PostedForm) -> Response:
    a = viewable(session, user, announcement_id)
    seen = str(posted.get("fingerprint") or "")
    if not seen:
        flash(request, "Nothing was approved: the form did not say which version you reviewed. "
                       "Reload the page, read it again and approve what it shows.", "error")
        return _back(request, session, user, a, posted)
    confirmed = posted.get("confirm_suspended") == "yes"
    pause = None if a.emergency or not user.can_approve else suspensions_service.covering(session, a.department_id)
    if pause is not None and not confirmed and a.state == State.submitted:
        # Approving now would only make it wait, held: ask first, on a page of its own (no JavaScript needed).
        return render(request, "staff/approve_suspended.html",
                      {"a": a, "pause": pause, "fingerprint": seen, "back": str(posted.get("back") or "queue")},
                      user=user)
    try:
        with session.begin_nested():
            workflow.approve(session, actor=user, announcement=a, renderer=request.app.state.renderer,
                             seen_fingerprint=seen, confirm_suspended=confirmed)
    except Invalid as exc:
        if not exc.errors or not any("code" in e for e in exc.errors):
            flash(request, exc.detail, "error")
            return _back(request, session, user, a, posted)
        refusal = {"id": a.id, "kind": "approve", "detail": exc.detail, "errors": exc.errors}
        return _back(request, session, user, a, posted, refusal)
    except ServiceError as exc:
        flash(request, exc.detail[:1].upper() + exc.detail[1:], "error")
        return _back(request, session, user, a, posted)
    when = human(a.publish_at, request.app.state.settings.zone) if a.publish_at else None
    if pause is not None:
        flash(request, f"Approved “{a.title}”. It waits, held by suspension {pause.id}, until a person releases it "
                       "after the pause ends.")
    else:
        flash(request, f"Approved “{a.title}”. It will publish {'on ' + when if when else 'now'}.")
    return _back(request, session, user, a, posted)


@router.post("/announcements/{announcement_id:int}/reject", dependencies=[Csrf])
def reject(
    announcement_id: int, request: Request, session: SessionDep, user: StaffUser, posted: PostedForm
) -> Response:
    a = viewable(session, user, announcement_id)
    reason = str(posted.get("reason") or "").strip()
    if not reason:
        refusal = {
            "id": a.id,
            "kind": "reject",
            "detail": "Write why it goes back, so the author knows what to change.",
        }
        return _back(request, session, user, a, posted, refusal)
    if len(reason) > 2000:
        refusal = {"id": a.id, "kind": "reject", "detail": "Keep the reason to 2,000 characters.", "reason": reason}
        return _back(request, session, user, a, posted, refusal)
    try:
        reason = RejectIn(reason=reason).reason  # the API's rules: no control characters
    except ValidationError as exc:
        refusal = {"id": a.id, "kind": "reject", "detail": friendly(exc.errors()[0]), "reason": reason}
        return _back(request, session, user, a, posted, refusal)
    try:
        with session.begin_nested():
            workflow.reject(session, actor=user, announcement=a, reason=reason)
    except ServiceError as exc:
        flash(request, exc.detail[:1].upper() + exc.detail[1:], "error")
    else:
        flash(request, f"Sent “{a.title}” back to {a.author.name} with your reason.")
    return _back(request, session, user, a, posted)

"""Staff pages for one announcement: write it (with a live preview), read it, and move it along."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from civicpost import alerts, audit, contributors
from civicpost.drafting import access, break_glass, comments, follow_ups, previews, versions, workflow
from civicpost.errors import Invalid, NotFound, ServiceError
from civicpost.fanout import estimates
from civicpost.models import Delivery, State, User
from civicpost.replies import listing as replies_listing
from civicpost.web.deps import SessionDep
from civicpost.web.pages import _draft_page as page
from civicpost.web.pages import live
from civicpost.web.pages._draft_diff import changes_since_approval
from civicpost.web.pages._draft_form import MAX_LIBRARY, DraftForm, from_announcement, from_form
from civicpost.web.pages.common import Csrf, StaffUser, flash, redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)



async def posted_form(request: Request) -> FormData:
    try:
        return await request.form()
    except ClientDisconnect:
        # The browser left mid-upload (often a live preview overtaken by a real submit): nobody to answer.
        raise HTTPException(400, "The browser stopped sending the form.") from None


PostedForm = Annotated[FormData, Depends(posted_form)]


@router.get("/announcements/new", response_class=HTMLResponse)
def new_form(request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
    """`?department=&library=<image id>`: the media library's "use in a new announcement" starts here."""
    departments = access.drafting_departments(session, user)
    asked = request.query_params.get("department", "")
    chosen = asked if any(d.slug == asked for d in departments) else ""
    form = DraftForm(department=chosen or (departments[0].slug if len(departments) == 1 else ""))
    form.library = list(dict.fromkeys(request.query_params.getlist("library")))[:MAX_LIBRARY]
    page.attach_library(session, user, form)
    return page.form_page(request, session, user, form)


@router.post("/announcements/new", dependencies=[Csrf])
def create(request: Request, session: SessionDep, user: StaffUser, posted: PostedForm) -> Response:
    settings, renderer = request.app.state.settings, request.app.state.renderer
    form = from_form(posted, zone=settings.zone, alerts=user.can_flag_emergency)
    page.attach_upload(session, request, user, form)
    page.attach_library(session, user, form)
    action = str(posted.get("action", "save"))
    if action == "preview" or form.busy:
        return page.form_page(request, session, user, form, cards=page.form_cards(session, renderer, user, form))
    announcement = page.create(session, settings=settings, renderer=renderer, user=user, form=form,
                               submit=action == "submit")
    if announcement is None:
        cards = page.form_cards(session, renderer, user, form)
        return page.form_page(request, session, user, form, cards=cards, status_code=422)
    return _saved(request, announcement, form)


@router.get("/announcements/{announcement_id:id}/edit", response_class=HTMLResponse)
def edit_form(announcement_id: int, request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
    announcement = page.editable(user, access.get(session, announcement_id))
    form = from_announcement(announcement, zone=request.app.state.settings.zone, alerts=user.can_flag_emergency)
    cards = previews.of_announcement(request.app.state.renderer, announcement).cards
    return page.form_page(request, session, user, form, announcement=announcement, cards=cards)


@router.post("/announcements/{announcement_id:id}/edit", dependencies=[Csrf])
def edit(announcement_id: int, request: Request, session: SessionDep, user: StaffUser, posted: PostedForm) -> Response:
    settings, renderer = request.app.state.settings, request.app.state.renderer
    announcement = page.editable(user, access.get(session, announcement_id))
    form = from_form(posted, zone=settings.zone, alerts=user.can_flag_emergency)
    form.department = announcement.department.slug
    page.attach_upload(session, request, user, form)
    page.attach_library(session, user, form)
    action = str(posted.get("action", "save"))
    if action == "preview" or form.busy:
        cards = page.form_cards(session, renderer, user, form)
        return page.form_page(request, session, user, form, announcement=announcement, cards=cards)
    if not page.update(session, settings=settings, renderer=renderer, user=user, announcement=announcement,
                       form=form, submit=action == "submit"):
        cards = page.form_cards(session, renderer, user, form)
        return page.form_page(request, session, user, form, announcement=announcement, cards=cards, status_code=422)
    return _saved(request, announcement, form)


def _saved(request: Request, announcement, form: DraftForm) -> Response:
    if announcement.state == State.submitted:
        flash(request, "Submitted for approval. An approver in the communications office will review it.")
    else:
        flash(request, "Saved as a draft.")
    if form.time.note:
        flash(request, form.time.note, "info")
    return redirect(f"/staff/announcements/{announcement.id}")


@router.post("/announcements/preview", dependencies=[Csrf], response_class=HTMLResponse)
def preview(request: Request, session: SessionDep, user: StaffUser, posted: PostedForm) -> HTMLResponse:
    """The preview cards as an HTML fragment for drafting.js; nothing is stored (uploads are ignored)."""
    form = from_form(posted, zone=request.app.state.settings.zone)
    page.attach_library(session, user, form)  # ticked library images show in the preview at once
    cards = page.form_cards(session, request.app.state.renderer, user, form)
    context = {"cards": cards, "heading_level": 3, "previewed": True}
    return request.app.state.pages.TemplateResponse(request, "staff/_preview_cards.html", context)


def viewable(session, user: User, announcement_id: int):
    announcement = access.get(session, announcement_id)
    access.ensure_can_view(user, announcement)
    return announcement


def show_page(request: Request, session, user: User, announcement, *, confirm: str | None = None,
              refusal=None, status_code: int = 200, comment: dict[str, str] | None = None) -> HTMLResponse:
    """`comment`: a comment refused, as typed ("text") with what to fix ("error")."""
    shown = previews.of_announcement(request.app.state.renderer, announcement)
    cards = shown.cards
    is_author = announcement.author_id == user.id
    may_edit = is_author or user.can_approve
    deciding = user.can_approve and announcement.state == State.submitted
    contributed = deciding and user.id in contributors.of(session, announcement)
    context = {
        **live.deliveries_part(request, session, user, announcement),
        "cards": cards,
        "fingerprint": shown.fingerprint,
        "events": audit.trail(session, object_type="announcement", object_id=announcement.id),
        "versions": versions.of(session, announcement.id),
        "changes": changes_since_approval(session, announcement, cards)
        if announcement.state == State.submitted
        else None,
        "confirm": confirm,
        "refusal": refusal,
        "can": {
            "edit": may_edit and announcement.state in workflow.EDITABLE and announcement.follows_id is None,
            "submit": may_edit and announcement.state == State.draft,
            "cancel": announcement.state
            in (
                (State.draft, State.submitted, State.rejected, State.scheduled)
                if user.can_approve
                else (State.draft, State.submitted, State.rejected)
                if is_author
                else ()
            ),
            "retract": user.can_approve and announcement.state in live.RETRACTABLE,
            "approve": deciding and not contributed,
            "publish_now": break_glass.may_publish_now(user, announcement),
            "follow_up": follow_ups.open_to(session, user, announcement),
            "sign_off": (user.can_approve and announcement.review_due_at is not None
                         and announcement.reviewed_at is None and announcement.approved_by_id != user.id),
        },
        "contributed": contributed,
        # Texts to residents: their count, cost and time, seen before approving.
        "texts": estimates.before_approval(session, request.app.state.settings, announcement, cards)
        if deciding else [],
        "thread": alerts.follow_ups(session, announcement) if announcement.alert else [],
        "review_hours": request.app.state.settings.emergency_review_hours,
        "comments": comments.listed(session, announcement),
        "replies": replies_listing.of_announcement(session, announcement),
        "comment": comment or {"text": "", "error": ""},
    }
    return render(request, "staff/announcement.html", context, status_code=status_code, user=user)


@router.get("/announcements/{announcement_id:id}", response_class=HTMLResponse)
def show(announcement_id: int, request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
    return show_page(request, session, user, viewable(session, user, announcement_id))


def act(request: Request, session, announcement, step, done: str) -> Response:
    """Run one workflow step; a refusal is a message on the announcement page, not an error page."""
    try:
        with session.begin_nested():
            step()
    except ServiceError as exc:
        flash(request, exc.detail[:1].upper() + exc.detail[1:], "error")
    else:
        flash(request, done)
    return redirect(f"/staff/announcements/{announcement.id}")


@router.post("/announcements/{announcement_id:id}/submit", dependencies=[Csrf])
def submit(announcement_id: int, request: Request, session: SessionDep, user: StaffUser) -> Response:
    a = viewable(session, user, announcement_id)
    try:
        with session.begin_nested():
            workflow.submit(session, actor=user, announcement=a, renderer=request.app.state.renderer)
    except Invalid as exc:
        if exc.errors and any("code" in e for e in exc.errors):
            # The problems an approver would be refused for, listed where the author can fix them.
            refusal = {"id": a.id, "kind": "submit", "detail": exc.detail, "errors": exc.errors}
            return show_page(request, session, user, a, refusal=refusal, status_code=422)
        flash(request, exc.detail[:1].upper() + exc.detail[1:], "error")
    except ServiceError as exc:
        flash(request, exc.detail[:1].upper() + exc.detail[1:], "error")
    else:
        flash(request, "Submitted for approval.")
    return redirect(f"/staff/announcements/{a.id}")


@router.get("/announcements/{announcement_id:id}/cancel", response_class=HTMLResponse)
def cancel_confirm(announcement_id: int, request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
    return show_page(request, session, user, viewable(session, user, announcement_id), confirm="cancel")


@router.post("/announcements/{announcement_id:id}/cancel", dependencies=[Csrf])
def cancel(
    announcement_id: int, request: Request, session: SessionDep, user: StaffUser, posted: PostedForm
) -> Response:
    a = viewable(session, user, announcement_id)
    if posted.get("confirmed") != "yes":
        return show_page(request, session, user, a, confirm="cancel")
    step = partial(workflow.cancel, session, actor=user, announcement=a)
    return act(request, session, a, step, "Cancelled. Nothing more will be published for it.")


@router.get("/announcements/{announcement_id:id}/retract", response_class=HTMLResponse)
def retract_confirm(announcement_id: int, request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
    return show_page(request, session, user, viewable(session, user, announcement_id), confirm="retract")


@router.post("/announcements/{announcement_id:id}/retract", dependencies=[Csrf])
def retract(announcement_id: int, request: Request, session: SessionDep, user: StaffUser,
            posted: PostedForm) -> Response:
    a = viewable(session, user, announcement_id)
    if posted.get("confirmed") != "yes":
        return show_page(request, session, user, a, confirm="retract")
    # One paragraph of printable words: what the public notice quotes.
    reason = " ".join("".join(c for c in str(posted.get("reason") or "") if c.isprintable() or c.isspace())
                      .split())[:2000] or None
    step = partial(follow_ups.retract, session, actor=user, announcement=a, renderer=request.app.state.renderer,
                   reason=reason)
    return act(request, session, a, step, "Retracted. The posts are being deleted; the record stays.")


@router.post("/deliveries/{delivery_id:id}/retry", dependencies=[Csrf])
def retry(delivery_id: int, request: Request, session: SessionDep, user: StaffUser) -> Response:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or not access.can_view(user, access.get(session, delivery.announcement_id)):
        raise NotFound(f"There is no delivery {delivery_id}.")  # another department's answers the same
    a = viewable(session, user, delivery.announcement_id)
    step = partial(workflow.retry, session, actor=user, delivery=delivery)
    return act(request, session, a, step, f"Delivery to {delivery.channel.name} will be tried again.")

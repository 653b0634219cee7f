"""Saving the announcement form through the same services as the JSON API, and showing it again."""

from functools import partial
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import decoding, media, media_library, uploads
from civicpost.drafting import access, previews, workflow
from civicpost.drafting.previews import Card
from civicpost.errors import Conflict, ServiceError
from civicpost.insights import best_time
from civicpost.models import Announcement, Channel, Department, Media, State, User
from civicpost.platforms import SPECS
from civicpost.rendering import Renderer
from civicpost.schemas import AnnouncementIn, AnnouncementPatch
from civicpost.web.dates import human, zone_label
from civicpost.web.pages import _draft_alert
from civicpost.web.pages._draft_form import DraftForm
from civicpost.web.pages._draft_time import to_local_input
from civicpost.web.pages.common import render


def form_cards(session: Session, renderer: Renderer, user: User, form: DraftForm) -> list[Card]:
    return previews.of_unsaved(session, renderer, user=user, unsaved=form.unsaved()).cards


def channel_groups(session: Session, departments: list[Department]) -> list[dict[str, Any]]:
    """Active channels per department, then per platform, in a stable order."""
    rows = session.scalars(
        select(Channel)
        .where(Channel.department_id.in_([d.id for d in departments]), Channel.active.is_(True))
        .order_by(Channel.name, Channel.id)
    ).all()
    groups = []
    for department in departments:
        mine = [c for c in rows if c.department_id == department.id]
        platforms = [
            {"platform": p, "label": spec.label, "channels": [c for c in mine if c.platform == p]}
            for p, spec in SPECS.items()
            if any(c.platform == p for c in mine)
        ]
        groups.append({"department": department, "platforms": platforms})
    return groups


def form_department(session: Session, form: DraftForm) -> Department | None:
    slug = form.department.strip()
    return session.scalar(select(Department).where(Department.slug == slug)) if slug else None


def media_rows(session: Session, ids: list[str], *, department: Department | None, user: User) -> dict[str, Media]:
    """The form's images that its department may use; any other id is shown as nothing at all."""
    if department is None:
        return {}
    return uploads.usable(session, ids, department_id=department.id, actor=user)


def form_page(request: Request, session: Session, user: User, form: DraftForm, *,
              announcement: Announcement | None = None, cards: list[Card] | None = None,
              status_code: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    departments = [announcement.department] if announcement else access.drafting_departments(session, user)
    department = announcement.department if announcement else form_department(session, form)
    context = {
        "form": form,
        "announcement": announcement,
        "departments": departments,
        "groups": channel_groups(session, departments),
        "files": media_rows(session, [m["id"] for m in form.media], department=department, user=user),
        "library": library_choices(session, user, form, department),
        "zone_label": zone_label(settings.zone),
        "publish_human": human(form.time.instant, settings.zone),
        "cards": cards,
        "previewed": cards is not None,
        "best_time": best_time.for_form(session, chosen=department, choices=departments),
        "alert_choices": _draft_alert.CHOICES,
    }
    response = render(request, "staff/announcement_form.html", context, status_code=status_code, user=user)
    if form.busy:
        response.status_code = 503
        response.headers["Retry-After"] = str(decoding.RETRY_AFTER_SECONDS)
    return response


def attach_upload(session: Session, request: Request, user: User, form: DraftForm) -> None:
    """Store a chosen image as POST /api/v1/media does, for the form's department, and add it to the form's images.

    The Media row is written even when the rest of the form is refused: the
    re-shown form refers to the stored image, so it need not be chosen again.
    """
    if form.upload is None:
        return
    settings = request.app.state.settings
    try:
        department = uploads.department_for(session, user=user, slug=form.department)
    except ServiceError as exc:
        form.add_error("image_file", _upload_refusal(exc))
        return
    # End the sign-in's transaction before the slow part: on SQLite it holds the
    # only write lock, and every other writer would wait for this decode.
    session.commit()
    prepare = partial(uploads.prepare, form.upload.file, department_id=department.id, media_dir=settings.media_dir,
                      max_bytes=settings.max_upload_bytes)
    try:
        stored = request.app.state.decodes.run(prepare)
    except decoding.Busy as busy:
        form.busy = True
        form.add_error("image_file", f"{busy.message} Everything else you wrote is kept; choose the image again.")
        return
    except media.MediaError as exc:
        form.add_error("image_file", exc.message)
        return
    row = uploads.record(session, stored=stored, department_id=department.id, user=user)
    # The same picture uploaded again brings back the alt text written for it before.
    form.media.append({"id": stored.id, "alt_text": form.image_alt or row.alt_text})
    form.image_alt = ""


def library_choices(session: Session, user: User, form: DraftForm, department: Department | None) -> list[Media]:
    """The department's latest images not already on the form, to tick; none until a department is chosen
    (and none of a department whose images this person may not see, whatever the form names)."""
    if department is None or not media_library.may_browse(user, department):
        return []
    attached = {m["id"] for m in form.media}
    return [m for m in media_library.for_picker(session, department) if m.id not in attached]


def attach_library(session: Session, user: User, form: DraftForm) -> None:
    """Add the images ticked in the media library list, each with the alt text stored for it (editable after)."""
    if not form.library:
        return
    department = form_department(session, form)
    if department is None:
        form.add_error("library", "Choose the department this announcement is for, then choose its images again.")
        return
    if not media_library.may_browse(user, department):
        form.add_error("library", f"You are not a member of {department.name}, so you cannot use its images.")
        return
    found = uploads.usable(session, form.library, department_id=department.id, actor=user)
    attached = {m["id"] for m in form.media}
    for media_id in form.library:
        row = found.get(media_id)
        if row is None:
            form.add_error("library", f"The image {media_id[:12]} is not in the media library of {department.name}; "
                                      "choose one from the list.")
        elif media_id not in attached:
            form.media.append({"id": row.id, "alt_text": row.alt_text})
            attached.add(media_id)


def _upload_refusal(error: ServiceError) -> str:
    if error.errors and error.errors[0].get("field") == "department":
        return "Choose the department this announcement is for, then choose the image again."
    return error.detail[:1].upper() + error.detail[1:] + "."


def create(session: Session, *, settings, renderer, user: User, form: DraftForm, submit: bool) -> Announcement | None:
    """The new announcement, or None with the form's errors filled in and nothing written."""
    try:
        body = AnnouncementIn.model_validate(form.payload())
    except ValidationError as exc:
        form.take_validation_error(exc)
        return None
    if form.has_errors:
        return None
    try:
        # A savepoint: if submitting fails, the draft is not left behind either.
        with session.begin_nested():
            announcement, _ = workflow.create(session, author=user, data=body, zone=settings.zone, renderer=renderer)
            if submit:
                workflow.submit(session, actor=user, announcement=announcement, renderer=renderer)
    except ServiceError as exc:
        form.take_service_error(exc)
        return None
    return announcement


def update(session: Session, *, settings, renderer, user: User, announcement: Announcement, form: DraftForm,
           submit: bool) -> bool:
    payload = form.payload(with_department=False)
    if form.publish_at.strip() == to_local_input(announcement.publish_at, settings.zone):
        # Unchanged: a time that has passed since it was set is not an error now.
        payload.pop("publish_at")
    try:
        patch = AnnouncementPatch.model_validate(payload)
    except ValidationError as exc:
        form.take_validation_error(exc)
        return False
    if form.has_errors:
        return False
    try:
        with session.begin_nested():
            workflow.edit(session, actor=user, announcement=announcement, patch=patch, zone=settings.zone,
                          renderer=renderer)
            if submit and announcement.state == State.rejected:
                raise ServiceError("Nothing changed. Change the announcement to answer the reason it was sent "
                                   "back, then submit it again.")
            if submit and announcement.state == State.draft:
                workflow.submit(session, actor=user, announcement=announcement, renderer=renderer)
    except ServiceError as exc:
        form.take_service_error(exc)
        return False
    return True


def editable(user: User, announcement: Announcement) -> Announcement:
    access.ensure_can_edit(user, announcement)
    if announcement.state not in workflow.EDITABLE:
        raise Conflict(f"This announcement is {announcement.state} and can no longer be edited.")
    return announcement

"""The comment form on a staff announcement page."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from civicpost.drafting import comments
from civicpost.errors import Invalid
from civicpost.web.deps import SessionDep
from civicpost.web.pages.announcements import PostedForm, show_page, viewable
from civicpost.web.pages.common import Csrf, StaffUser, flash, redirect, sentence

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.post("/announcements/{announcement_id:id}/comments", dependencies=[Csrf])
def add(announcement_id: int, request: Request, session: SessionDep, user: StaffUser, posted: PostedForm) -> Response:
    announcement = viewable(session, user, announcement_id)
    text = posted.get("body")
    typed = text if isinstance(text, str) else ""
    try:
        comments.add(session, author=user, announcement=announcement, body=typed)
    except Invalid as exc:
        error = sentence(exc.detail) + "."
        return show_page(request, session, user, announcement, status_code=422,
                         comment={"text": typed, "error": error})
    flash(request, "Comment added. It is part of the announcement's history.")
    return redirect(f"/staff/announcements/{announcement.id}#comments-heading")

"""/staff/media: the department's images, their alt text, and where they are used."""

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import media_library
from civicpost.drafting import access
from civicpost.errors import Forbidden, Invalid, NotFound
from civicpost.models import Department, Media, User
from civicpost.schemas import parse_id
from civicpost.web.deps import SessionDep
from civicpost.web.pages.announcements import PostedForm
from civicpost.web.pages.common import Csrf, StaffUser, flash, redirect, render, sentence

router = APIRouter(prefix="/staff", include_in_schema=False)
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def size(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.1f} MB" if size_bytes >= 100_000 else f"{max(1, round(size_bytes / 1000))} kB"


def chosen_department(session: Session, user: User, slug: str) -> Department | None:
    slug = slug.strip()
    if not slug:
        return None
    # A slug is short ASCII: anything else (a NUL, which PostgreSQL refuses) is not looked up at all.
    department = session.scalar(select(Department).where(Department.slug == slug)) if SLUG.fullmatch(slug) else None
    if department is None:
        raise NotFound(f"There is no department '{slug[:64]}'. Choose one from the list on the media page.")
    if not media_library.may_browse(user, department):
        raise Forbidden(f"You are not a member of {department.name}, so its images are not shown to you. "
                        "Choose one of your own departments.")
    return department


@router.get("/media", response_class=HTMLResponse)
def library(request: Request, session: SessionDep, user: StaffUser, department: str = "",
            page: str = "1") -> HTMLResponse:
    chosen = chosen_department(session, user, department)
    number = parse_id(page.strip())
    if number is None:
        raise Invalid(f"The page number must be a whole number such as 2, not '{page[:20]}'.")
    shown = media_library.page(session, user=user, department=chosen, number=number)
    context = {
        "active": "media",
        "departments": media_library.departments_for(session, user),
        "chosen": chosen,
        "library": shown,
        "total": media_library.count(session, user=user, department=chosen),
        "size": size,
    }
    return render(request, "staff/media.html", context, user=user)


def _item_page(request: Request, session: Session, user: User, row: Media, *, typed: str | None = None, error: str = "",
               status_code: int = 200) -> HTMLResponse:
    department = session.get(Department, row.department_id) if row.department_id else None
    context = {
        "active": "media",
        "m": row,
        "department": department,
        "uses": media_library.uses_of(session, user, [row.id]).get(row.id, []),
        "may_draft": department is not None and access.can_draft_for(user, department),
        "alt_text": row.alt_text if typed is None else typed,
        "error": error,
        "size": size,
    }
    return render(request, "staff/media_item.html", context, status_code=status_code, user=user)


@router.get("/media/{media_id}", response_class=HTMLResponse)
def item(media_id: str, request: Request, session: SessionDep, user: StaffUser) -> HTMLResponse:
    return _item_page(request, session, user, media_library.get_visible(session, media_id, user=user))


@router.post("/media/{media_id}", dependencies=[Csrf])
def save_alt_text(media_id: str, request: Request, session: SessionDep, user: StaffUser,
                  posted: PostedForm) -> Response:
    row = media_library.get_visible(session, media_id, user=user)
    sent = posted.get("alt_text")
    typed = sent if isinstance(sent, str) else ""
    try:
        media_library.set_alt_text(session, user=user, media=row, alt_text=typed)
    except Invalid as exc:
        error = sentence(exc.detail) + "."
        return _item_page(request, session, user, row, typed=typed, error=error, status_code=422)
    flash(request, "Alt text saved. It is offered whenever this image is chosen again; "
                   "announcements that already use the image keep their own.")
    return redirect(f"/staff/media/{row.id}")

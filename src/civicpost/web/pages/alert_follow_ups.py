"""An alert's follow-ups on the staff pages: the update and all-clear forms, and the admins' wording page."""

import re
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from civicpost import alert_wording
from civicpost.drafting import follow_ups
from civicpost.errors import Invalid
from civicpost.models import User
from civicpost.web.deps import SessionDep
from civicpost.web.pages.announcements import PostedForm, act, viewable
from civicpost.web.pages.common import AdminPageUser, Csrf, StaffUser, flash, redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)

LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
KIND_LABELS = {"update": "Update", "all_clear": "All clear", "correction": "Correction",
               "correction_body": "Text of a correction"}


def _text(posted, name: str) -> str:
    value = posted.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/announcements/{announcement_id:id}/alert-update", dependencies=[Csrf])
def alert_update(announcement_id: int, request: Request, session: SessionDep, user: StaffUser,
                 posted: PostedForm) -> Response:
    a = viewable(session, user, announcement_id)
    body = _text(posted, "body")
    if not body:
        flash(request, "Write what has changed before posting an update.", "error")
        return redirect(f"/staff/announcements/{a.id}")
    step = partial(follow_ups.post_update, session, actor=user, alert=a, body=body[:20_000], changes={},
                   renderer=request.app.state.renderer)
    return act(request, session, a, step, "Update posted: it is going out now on every channel the alert reached.")


@router.post("/announcements/{announcement_id:id}/all-clear", dependencies=[Csrf])
def all_clear(announcement_id: int, request: Request, session: SessionDep, user: StaffUser,
              posted: PostedForm) -> Response:
    a = viewable(session, user, announcement_id)
    step = partial(follow_ups.all_clear, session, actor=user, alert=a, body=_text(posted, "body")[:20_000] or None,
                   renderer=request.app.state.renderer)
    return act(request, session, a, step, "All clear posted: it is going out now, and the alert has ended.")


def _wording_page(request: Request, session: Session, user: User, *, form: dict[str, dict[str, str]] | None = None,
                  new_language: str = "", errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    context: dict[str, Any] = {
        "wording": form if form is not None else alert_wording.effective(session),
        "kind_labels": KIND_LABELS, "new_language": new_language, "errors": errors or {},
        "placeholders": alert_wording.PLACEHOLDERS,
    }
    return render(request, "staff/alert_wording.html", context, user=user, status_code=status_code)


@router.get("/admin/alert-wording", response_class=HTMLResponse)
def wording_page(request: Request, session: SessionDep, user: AdminPageUser) -> HTMLResponse:
    return _wording_page(request, session, user)


@router.post("/admin/alert-wording", dependencies=[Csrf])
def save_wording(request: Request, session: SessionDep, user: AdminPageUser, posted: PostedForm) -> Response:
    form: dict[str, dict[str, str]] = {}
    for key, value in posted.multi_items():
        language, _, kind = key.partition(".")
        if kind in KIND_LABELS and isinstance(value, str) and language != "new":
            form.setdefault(language, {})[kind] = value.strip()
    new_language = _text(posted, "new_language")
    errors: dict[str, str] = {}
    if new_language:
        if not LANGUAGE.fullmatch(new_language) or len(new_language) > 16:
            errors["new_language"] = "give a language tag such as es, fr or pt-BR"
        else:
            form.setdefault(new_language, {}).update({kind: _text(posted, f"new.{kind}") for kind in KIND_LABELS})
    unknown = [language for language in form if language != "new" and not LANGUAGE.fullmatch(language)]
    for language in unknown:
        del form[language]
    wording = {language: {k: v for k, v in kinds.items() if v} for language, kinds in form.items()}
    if not errors:
        try:
            with session.begin_nested():
                alert_wording.save(session, {k: v for k, v in wording.items() if v}, actor=user)
        except Invalid as exc:
            errors = {e["field"].removeprefix("languages."): e["message"] for e in exc.errors or []}
    if errors:
        return _wording_page(request, session, user, form=form, new_language=new_language, errors=errors,
                             status_code=422)
    flash(request, "Saved the wording of alert follow-ups.")
    return redirect("/staff/admin/alert-wording")

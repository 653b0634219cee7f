"""/staff/topics: what residents subscribe to, with counts; an admin adds a topic (SPEC §8.7) and sets the
city's texting limits (the monthly SMS cap and quiet hours)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.errors import Conflict, Invalid
from civicpost.models import User
from civicpost.sms import limits, plan
from civicpost.subscribers import topics
from civicpost.web.api_subscribers import TopicIn
from civicpost.web.deps import SessionDep
from civicpost.web.pages.admin_forms import validation_errors
from civicpost.web.pages.common import AdminPageUser, Csrf, flash, redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)


def _page(request: Request, session: Session, user: User, *, form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, texting: dict[str, str] | None = None,
          texting_errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    settings = request.app.state.settings
    found = limits.effective(session, settings)
    context = {"rows": topics.counts(session), "form": form or {"slug": "", "name": "", "description": ""},
               "errors": errors or {}, "limits": found, "sms_ready": plan.ready(settings),
               "used": plan.used_this_month(session, settings, utcnow()),
               "texting": texting or {"monthly_cap": str(found.monthly_cap), "quiet_hours": found.quiet_hours},
               "texting_errors": texting_errors or {}}
    return render(request, "staff/topics.html", context, user=user, status_code=status_code)


@router.get("/topics", response_class=HTMLResponse)
def list_topics(request: Request, session: SessionDep, user: AdminPageUser) -> HTMLResponse:
    return _page(request, session, user)


@router.post("/topics", dependencies=[Csrf])
def create_topic(request: Request, session: SessionDep, user: AdminPageUser,
                 slug: Annotated[str, Form(max_length=200)] = "", name: Annotated[str, Form(max_length=400)] = "",
                 description: Annotated[str, Form(max_length=2000)] = "") -> Response:
    form = {"slug": slug, "name": name, "description": description}
    try:
        body = TopicIn(slug=slug, name=name, description=description)
        topic = topics.create(session, actor=user, slug=body.slug, name=body.name, description=body.description)
    except ValidationError as exc:
        return _page(request, session, user, form=form, errors=validation_errors(exc), status_code=422)
    except Conflict:
        errors = {"slug": f"A topic or department with the short name '{slug.strip()}' already exists; "
                          "choose another"}
        return _page(request, session, user, form=form, errors=errors, status_code=409)
    flash(request, f"Added the topic {topic.name}.")
    return redirect("/staff/topics")


@router.post("/topics/texting", dependencies=[Csrf])
def save_texting(request: Request, session: SessionDep, user: AdminPageUser,
                 monthly_cap: Annotated[str, Form(max_length=40)] = "",
                 quiet_hours: Annotated[str, Form(max_length=40)] = "") -> Response:
    form = {"monthly_cap": monthly_cap, "quiet_hours": quiet_hours}
    cap_text = "".join(monthly_cap.replace(",", "").split())
    if not cap_text.isascii() or not cap_text.isdigit():
        return _page(request, session, user, texting=form, status_code=422, texting_errors={
            "monthly_cap": "Give a whole number of SMS a month, for example 20000, or 0 for no cap"})
    try:
        limits.save(session, request.app.state.settings, monthly_cap=int(cap_text), quiet_hours=quiet_hours,
                    actor=user)
    except Invalid as exc:
        errors = {e["field"]: e["message"][:1].upper() + e["message"][1:] for e in exc.errors or []}
        return _page(request, session, user, texting=form, texting_errors=errors, status_code=422)
    flash(request, "Saved the texting limits: they hold from the next text sent.")
    return redirect("/staff/topics#texting-heading")

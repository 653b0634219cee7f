"""/staff/topics: what residents subscribe to, with counts; an admin adds a topic (SPEC §8.7)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from civicpost.errors import Conflict
from civicpost.models import User
from civicpost.subscribers import topics
from civicpost.web.api_subscribers import TopicIn
from civicpost.web.deps import SessionDep
from civicpost.web.pages.admin_forms import validation_errors
from civicpost.web.pages.common import AdminPageUser, Csrf, flash, redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)


def _page(request: Request, session: Session, user: User, *, form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    context = {"rows": topics.counts(session), "form": form or {"slug": "", "name": "", "description": ""},
               "errors": errors or {}}
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

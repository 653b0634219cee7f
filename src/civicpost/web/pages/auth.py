"""Sign in and out."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from civicpost import accounts
from civicpost.web.deps import SessionDep
from civicpost.web.pages.common import Csrf, redirect, render, safe_next, start_session

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "staff/login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", dependencies=[Csrf])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/staff/",
) -> Response:
    result = accounts.sign_in(session, email=email, password=password)
    if result.user is None:
        # Rendered, not raised: the failure count must be committed.
        return render(request, "staff/login.html", {"next": safe_next(next), "email": email, "error": result.error},
                      status_code=401)
    start_session(request, result.user)
    return redirect(safe_next(next))


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request) -> Response:
    request.session.clear()
    return redirect("/staff/login")

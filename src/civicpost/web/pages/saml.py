"""SAML sign-in pages: send the person to the identity provider, take its answer, publish civicpost's metadata.

Present only when CIVICPOST_SAML_IDP_METADATA is set (app.state.saml). The answer arrives as a POST from
the identity provider's site, so it carries no CSRF token and no civicpost cookie: what ties it to this
sign-in is its InResponseTo, a request civicpost sent minutes ago and accepts once (identity/saml.py).
"""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from civicpost.config import Settings
from civicpost.identity import provision
from civicpost.identity.saml import ACS_PATH, METADATA_PATH, START_PATH, SamlRefused, ServiceProvider
from civicpost.web.deps import SessionDep, request_transaction
from civicpost.web.pages.auth import signed_in
from civicpost.web.pages.common import render, safe_next
from civicpost.web.problems import error_page

router = APIRouter(include_in_schema=False)

# Refusals that are about the person's account, not the answer itself.
_ACCOUNT_REASONS = {"no_role", "no_department", "deactivated", "email_taken"}


def _provider(request: Request) -> ServiceProvider | None:
    return getattr(request.app.state, "saml", None)


def _refused(request: Request, message: str, *, status_code: int) -> HTMLResponse:
    return render(request, "staff/sign_in_refused.html", {"message": message}, status_code=status_code)


@router.get(START_PATH)
def start(request: Request, next: Annotated[str | None, Query(max_length=2048)] = None) -> Response:
    provider = _provider(request)
    if provider is None:
        return error_page(request, 404, "SAML sign-in is not set up here. Sign in with your email and password.")
    # A GET that writes (the request to remember), hence a write transaction of its own.
    with request_transaction(request, write=True) as session:
        location = provider.start(session, next_url=safe_next(next))
    return RedirectResponse(location, status_code=303)


@router.post(ACS_PATH)
def assertion_consumer(
    request: Request, session: SessionDep,
    SAMLResponse: Annotated[str, Form(max_length=500_000)] = "",  # noqa: N803 (the binding's field name)
) -> Response:
    provider = _provider(request)
    if provider is None:
        return error_page(request, 404, "SAML sign-in is not set up here. Sign in with your email and password.")
    if not SAMLResponse.strip():
        return _refused(request, "No sign-in answer arrived from the identity provider. Start again from "
                                 "civicpost's sign-in page.", status_code=400)
    try:
        person, next_url = provider.accept(session, saml_response=SAMLResponse)
    except SamlRefused as refusal:
        return _refused(request, refusal.message, status_code=400)
    settings: Settings = request.app.state.settings
    grant = provision.grant_of(person.roles, settings.oidc_role_map)
    # The metadata file names one identity provider, the city's own directory, whose signed assertion
    # vouches for the email in it: an existing password account with that email becomes this person's.
    user = provision.provision(session, provider="saml", subject=person.subject, email=person.email,
                               name=person.name, grant=grant, link_by_email=True)
    if isinstance(user, provision.Refused):
        return _refused(request, user.message, status_code=403)
    return signed_in(request, session, user=user, method="saml", next_url=next_url)


@router.get(METADATA_PATH)
def metadata(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return error_page(request, 404, "SAML sign-in is not set up here.")
    return Response(provider.metadata_xml(), media_type="application/samlmetadata+xml")

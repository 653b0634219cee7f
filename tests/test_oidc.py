"""Single sign-on with OpenID Connect against a real provider on 127.0.0.1 (tests/oidc_provider.py):
people made and kept in step from the roles claim, every untrustworthy answer refused with a page
that says what to do, and CIVICPOST_SSO_REQUIRED leaving only the break-glass admin a password."""

import re
from collections.abc import Iterator
from email import message_from_bytes
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from civicpost.config import ConfigError, Settings
from civicpost.db import make_sessionmaker, transaction
from civicpost.models import AuditEvent, Role, StaffSession, User
from civicpost.notifications.sender import Sender
from tests.factories import PASSWORD
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider
from tests.pages import csrf_of
from tests.platforms.servers import SmtpServer, running_smtp_server

BASE = "http://127.0.0.1:8000"
PERSON = {"sub": "ab12cd", "email": "robin@city.example", "email_verified": True, "name": "Robin Park",
          "roles": ["staff", "department:parks"]}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider(redirect_uri=BASE + "/staff/login/oidc/callback") as running:
        yield running


@pytest.fixture
def settings(settings: Settings, provider: Provider) -> Settings:
    provider.reset(dict(PERSON))
    return settings.model_copy(update={
        "oidc_issuer": provider.issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": SecretStr(CLIENT_SECRET),
        "base_url": BASE})


def to_provider(client: TestClient, next_url: str | None = None) -> str:
    """Start at civicpost; the address the provider sends the browser back to."""
    start = "/staff/login/oidc" + (f"?{urlencode({'next': next_url})}" if next_url is not None else "")
    r = client.get(start, follow_redirects=False)
    assert r.status_code == 303, r.text
    answer = httpx.get(r.headers["location"], follow_redirects=False)  # the real provider, over HTTP
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def back_at(client: TestClient, callback: str):
    url = urlsplit(callback)
    assert f"{url.scheme}://{url.netloc}" == BASE and url.path == "/staff/login/oidc/callback"
    return client.get(f"{url.path}?{url.query}", follow_redirects=False)


def sso_sign_in(client: TestClient, next_url: str | None = None):
    return back_at(client, to_provider(client, next_url))


def refusal(response) -> str:
    found = re.search(r'id="sso-refused" data-reason="[^"]*">([^<]*)<', response.text)
    assert found, response.text
    return found.group(1)


def the_user(sessions, email: str) -> User | None:
    with sessions() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is not None:
            _ = user.department_slugs
        return user


def test_the_sign_in_page_offers_single_sign_on_without_script(client, city):
    page = client.get("/staff/login?next=/staff/approvals")
    assert re.search(r'<a class="button" id="sso-sign-in" href="/staff/login/oidc\?next=/staff/approvals">'
                     r'Sign in with single sign-on</a>', page.text)


def test_a_first_sign_in_makes_the_person_with_the_role_and_department_from_the_roles_claim(
        client, city, sessions, provider):
    r = sso_sign_in(client, next_url="/staff/announcements")
    assert r.status_code == 303 and r.headers["location"] == "/staff/announcements"
    user = the_user(sessions, "robin@city.example")
    assert user is not None and user.role == Role.staff and user.department_slugs == ["parks"]
    assert user.name == "Robin Park" and user.last_sign_in_method == "oidc"
    assert user.sso_provider == "oidc" and user.sso_subject == f"{provider.issuer}|ab12cd"
    with sessions() as session:
        assert session.scalar(select(StaffSession.method).where(StaffSession.user_id == user.id)) == "oidc"
    assert "Robin Park" in client.get("/staff/").text
    # PKCE was asked for and the token endpoint checked it (the provider refuses a wrong verifier).
    assert provider.authorize_requests[-1]["code_challenge_method"] == "S256"


def test_a_later_sign_in_brings_role_and_departments_in_step_and_is_audited(client, city, sessions, provider):
    assert sso_sign_in(client).status_code == 303
    provider.person["roles"] = ["approver", "department:police"]
    with TestClient(client.app) as later:
        assert sso_sign_in(later).status_code == 303
    user = the_user(sessions, "robin@city.example")
    assert user is not None and user.role == Role.approver and user.department_slugs == ["police"]
    with sessions() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.sso_update")).all()
    assert event.detail["before"]["role"] == "staff" and event.detail["after"]["role"] == "approver"


def test_a_role_map_reads_another_claim(app, settings, client, city, sessions, provider):
    app.state.settings = settings.model_copy(update={
        "oidc_roles_claim": "groups", "oidc_role_map": {"City Comms": "approver", "Parks Team": "department:parks"}})
    provider.person = {**PERSON, "roles": None, "groups": ["City Comms", "Parks Team", "Everyone"]}
    assert sso_sign_in(client).status_code == 303
    user = the_user(sessions, "robin@city.example")
    assert user is not None and user.role == Role.approver and user.department_slugs == ["parks"]


def test_someone_without_a_civicpost_role_is_told_whom_to_ask(client, city, sessions, provider):
    provider.person["roles"] = ["Everyone"]
    r = sso_sign_in(client)
    assert r.status_code == 403 and "Ask your IT department to assign you a civicpost role" in refusal(r)
    assert the_user(sessions, "robin@city.example") is None
    assert "civicpost_session=" not in r.headers.get("set-cookie", "")


def test_a_switched_off_account_is_refused_whatever_the_provider_says(client, city, sessions, provider):
    assert sso_sign_in(client).status_code == 303
    with transaction(sessions) as session:
        session.scalars(select(User).where(User.email == "robin@city.example")).one().active = False
    with TestClient(client.app) as later:
        r = sso_sign_in(later)
    assert r.status_code == 403 and "switched off" in refusal(r)


def test_an_existing_password_account_is_linked_only_when_the_provider_vouches_for_the_email(
        client, city, sessions, provider):
    provider.person = {**PERSON, "email": "pat@city.example", "email_verified": False}
    r = sso_sign_in(client)
    assert r.status_code == 403 and "Another civicpost account already uses pat@city.example" in refusal(r)
    provider.person["email_verified"] = True
    with TestClient(client.app) as later:
        assert sso_sign_in(later).status_code == 303
    user = the_user(sessions, "pat@city.example")
    assert user is not None and user.id == city.parks_staff.id and user.sso_provider == "oidc"


@pytest.mark.parametrize("flaw", ["signature", "audience", "expired"])
def test_an_id_token_that_fails_a_check_signs_nobody_in(client, city, sessions, provider, flaw):
    provider.flaw = flaw
    r = sso_sign_in(client)
    assert r.status_code == 400
    assert "could not be verified, so you were not signed in" in refusal(r)
    assert the_user(sessions, "robin@city.example") is None
    assert "Traceback" not in r.text and "Error" not in refusal(r)


def test_an_answer_made_for_another_nonce_is_refused(client, city, sessions):
    r = client.get("/staff/login/oidc", follow_redirects=False)
    authorize = urlsplit(r.headers["location"])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    query["nonce"] = "a-nonce-civicpost-never-sent"
    answer = httpx.get(authorize._replace(query=urlencode(query)).geturl(), follow_redirects=False)
    r = back_at(client, answer.headers["location"])
    assert r.status_code == 400 and "could not be verified" in refusal(r)
    assert the_user(sessions, "robin@city.example") is None


def test_a_replayed_callback_is_refused_even_with_the_attempts_cookie(client, city, provider):
    callback = to_provider(client)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert back_at(client, callback).status_code == 303
    with TestClient(client.app) as thief:
        thief.cookies.set("civicpost_oidc", state, path="/staff/login/oidc")
        r = back_at(thief, callback)
    assert r.status_code == 400 and "already used or has expired" in refusal(r)
    assert "civicpost_session=" not in r.headers.get("set-cookie", "")


def test_a_state_this_browser_did_not_start_is_refused(client, city, provider):
    callback = to_provider(client)
    with TestClient(client.app) as other:
        r = back_at(other, callback)  # no attempt cookie: a sign-in pushed on someone else
        assert r.status_code == 400 and "not started in this browser" in refusal(r)
        other.cookies.set("civicpost_oidc", "never-issued", path="/staff/login/oidc")
        r = other.get("/staff/login/oidc/callback?state=never-issued&code=x", follow_redirects=False)
        assert r.status_code == 400 and "already used or has expired" in refusal(r)
    assert provider.token_requests == 0  # refused before any code was exchanged


def test_cancelling_at_the_provider_says_so(client, city, provider):
    provider.deny = True
    r = sso_sign_in(client)
    assert r.status_code == 403 and "You cancelled signing in" in refusal(r)


def test_next_is_kept_and_an_address_elsewhere_is_dropped(client, city):
    r = sso_sign_in(client, next_url="//evil.example/staff")
    assert r.status_code == 303 and r.headers["location"] == "/staff/"


def test_the_provider_down_is_a_page_not_an_error(app, settings, client, city):
    app.state.settings = settings.model_copy(update={"oidc_issuer": "http://127.0.0.1:9"})
    r = client.get("/staff/login/oidc", follow_redirects=False)
    assert r.status_code == 503 and "did not answer" in refusal(r)


# --- configuration --------------------------------------------------------------------------


def test_a_role_map_value_that_names_no_role_stops_the_start():
    with pytest.raises(ValidationError, match="staff, approver, admin or department:<slug>"):
        Settings(oidc_role_map={"Everyone": "superuser"})


def test_an_issuer_without_client_credentials_stops_the_start():
    with pytest.raises(ValidationError, match="CIVICPOST_OIDC_CLIENT_ID and CIVICPOST_OIDC_CLIENT_SECRET"):
        Settings(oidc_issuer="https://login.microsoftonline.com/tenant/v2.0")


def test_sso_required_without_a_provider_refuses_to_serve(tmp_path):
    from typer.testing import CliRunner

    from civicpost import cli, config

    config.get_settings.cache_clear()
    env = {"CIVICPOST_SSO_REQUIRED": "true", "CIVICPOST_ENV": "development",
           "CIVICPOST_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    try:
        result = CliRunner().invoke(cli.app, ["serve"], env=env)
    finally:
        config.get_settings.cache_clear()
    assert result.exit_code != 0 and "set CIVICPOST_OIDC_ISSUER" in result.output
    with pytest.raises(ConfigError):
        Settings(sso_required=True).check_sign_in()


# --- single sign-on required: the break-glass admin ------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def required(app, settings):
    app.state.settings = settings.model_copy(update={"sso_required": True, "break_glass_admin": "Admin@City.example"})
    return app.state.settings


def password_sign_in(client: TestClient, email: str):
    page = client.get("/staff/login")
    return client.post("/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                             "next": "/staff/"}, follow_redirects=False)


def test_with_sso_required_a_password_is_refused_with_the_way_in(required, client, city, sessions):
    r = password_sign_in(client, city.approver.email)
    assert r.status_code == 403
    assert "Password sign-in is switched off here" in r.text and 'id="sso-sign-in"' in r.text
    with sessions() as session:
        assert session.scalar(select(StaffSession.id)) is None
    assert sso_sign_in(client).status_code == 303


def test_the_break_glass_admin_signs_in_audited_and_the_other_admins_are_mailed(
        required, client, city, sessions, people, smtp, engine):
    other = people.person(Role.admin, email="second-admin@city.example")
    r = password_sign_in(client, city.admin.email)
    assert r.status_code == 303 and r.headers["location"] == "/staff/"
    with sessions() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "break_glass_sign_in")).all()
        assert event.actor_id == city.admin.id
    mail = required.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_starttls": False,
                                       "smtp_from": "civicpost@city.example"})
    write = engine.execution_options(sqlite_begin="IMMEDIATE") if engine.dialect.name == "sqlite" else engine
    while Sender(mail, make_sessionmaker(write), name="sender", batch=50).run_once():
        pass
    told = {rcpt: message_from_bytes(e.content) for e in smtp.behaviour.messages for rcpt in e.rcpt_tos}
    assert set(told) == {other.email}
    assert told[other.email]["Subject"].startswith("Break-glass sign-in:")
    assert "admin@city.example" in told[other.email].get_payload(decode=True).decode()

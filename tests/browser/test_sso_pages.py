"""Single sign-on as a person meets it, in Chromium: the sign-in page's button with passwords turned
off for all but the break-glass admin, the round trip through a real OpenID Connect provider on
127.0.0.1 (tests/oidc_provider.py), and the page that says why a sign-in was refused. Each page
passes axe in light and dark and fits a 390-px phone.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pydantic import SecretStr
from sqlalchemy import Engine, select

from civicpost import accounts
from civicpost.config import Settings
from civicpost.db import make_sessionmaker, transaction
from civicpost.models import Role, User
from tests.browser.conftest import PASSWORD, bind_free_port, serve_in_thread
from tests.conftest import TEST_SECRET, empty_tables
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider

pytestmark = pytest.mark.browser

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
BREAK_GLASS = "emergency-admin@city.example"
PERSON = {"sub": "sso-robin", "email": "robin@city.example", "email_verified": True, "name": "Robin Park",
          "roles": ["staff", "department:parks"]}


@dataclass
class Server:
    url: str
    provider: Provider
    engine: Engine


@pytest.fixture(scope="module")
def server(engine: Engine, database_url: str, tmp_path_factory) -> Iterator[Server]:
    sock = bind_free_port()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with running_provider(redirect_uri=url + "/staff/login/oidc/callback") as provider:
        settings = Settings(env="test", database_url=database_url, secret_key=TEST_SECRET, base_url=url,
                            city_name="Springfield", media_dir=tmp_path_factory.mktemp("media"),
                            allow_private_network=True, oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID,
                            oidc_client_secret=SecretStr(CLIENT_SECRET), sso_required=True,
                            break_glass_admin=BREAK_GLASS, second_factor_required=False)
        from civicpost.web import create_app

        with transaction(make_sessionmaker(engine)) as session:
            accounts.create_department(session, actor=None, slug="parks", name="Parks and Recreation")
            for email, role in ((BREAK_GLASS, Role.admin), ("pat@city.example", Role.staff)):
                accounts.create_user(session, actor=None, email=email, name=email.split("@")[0], role=role,
                                     departments=["parks"] if role == Role.staff else [], password=PASSWORD)
        app = create_app(settings, engine=engine, with_worker=False)
        try:
            running, thread = serve_in_thread(app, sock)
            try:
                yield Server(url=url, provider=provider, engine=engine)
            finally:
                running.should_exit = True
                thread.join(timeout=10)
        finally:
            sock.close()
            empty_tables(engine)


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    server.provider.reset(dict(PERSON))
    made = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    made.set_default_timeout(10_000)
    yield made
    made.close()


def reads_well(page: Page) -> None:
    """No WCAG 2.1 A/AA violation axe can find in either colour scheme, nothing wider than a 390-px phone."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
        assert violations == [], (scheme, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations])
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    wide = page.evaluate("() => Math.max(window.innerWidth, document.documentElement.scrollWidth)")
    assert wide <= 390, wide
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_sign_in_page_offers_single_sign_on_and_reads_well(context: BrowserContext, server: Server):
    page = context.new_page()
    page.goto("/staff/login?next=/staff/calendar")
    button = page.get_by_role("link", name="Sign in with single sign-on")
    expect(button).to_be_visible()
    expect(page.get_by_text("only for the emergency administrator account")).to_be_visible()
    reads_well(page)


def test_a_person_signs_in_through_the_provider_and_arrives_where_they_were_going(context: BrowserContext,
                                                                                   server: Server):
    page = context.new_page()
    page.goto("/staff/login?next=/staff/calendar")
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.wait_for_url("**/staff/calendar**")
    assert server.provider.token_requests == 1  # the code was exchanged at the provider, once
    expect(page.get_by_role("button", name=re.compile("^Sign out"))).to_be_visible()
    with transaction(make_sessionmaker(server.engine)) as session:
        robin = session.scalar(select(User).where(User.email == PERSON["email"]))
        assert robin is not None and robin.sso_provider == "oidc" and robin.department_slugs == ["parks"]
        assert robin.last_sign_in_method == "oidc"


def test_a_refusal_says_what_happened_and_whom_to_ask_and_reads_well(context: BrowserContext, server: Server):
    server.provider.person = {**PERSON, "sub": "sso-norole", "email": "norole@city.example", "roles": []}
    page = context.new_page()
    page.goto("/staff/login")
    with page.expect_response(lambda r: "/staff/login/oidc/callback" in r.url) as answer:
        page.get_by_role("link", name="Sign in with single sign-on").click()
    assert answer.value.status == 403
    expect(page.get_by_text("not given a civicpost role")).to_be_visible()
    expect(page.get_by_text("IT department")).to_be_visible()
    reads_well(page)


def test_with_sso_required_a_password_is_refused_except_for_the_break_glass_admin(context: BrowserContext,
                                                                                  server: Server):
    page = context.new_page()
    for email, lands in (("pat@city.example", False), (BREAK_GLASS, True)):
        page.goto("/staff/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        if lands:
            expect(page.get_by_role("button", name=re.compile("^Sign out"))).to_be_visible()
        else:
            expect(page.get_by_role("alert")).to_contain_text("single sign-on")
            reads_well(page)
